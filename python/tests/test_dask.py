"""convc.dask.translate on a LocalCluster of two worker processes over
loopback, one of them killed mid-run."""
import os
import signal
import threading
import time

import pytest

import convc

distributed = pytest.importorskip("distributed")
import convc.dask  # noqa: E402


def corpus(n):
    rng = __import__("random").Random(5)
    return [[4 + rng.randrange(10) for _ in range(rng.randrange(2, 9))] + [2] for _ in range(n)]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as c, distributed.Client(c) as client:
        yield client


def test_results_come_back_in_order(cluster, reverse_digits):
    sources = corpus(60)
    want = [r.hypotheses for r in convc.Translator(reverse_digits).translate_batch(
        sources, beam_size=2)]
    got = convc.dask.translate(cluster, reverse_digits, sources, batch_size=7, beam_size=2)
    assert [r.hypotheses for r in got] == want
    # Both workers took part.
    pids = set(cluster.run(os.getpid).values())
    assert len(pids) == 2


def test_errors_name_the_source_in_the_corpus(cluster, reverse_digits):
    sources = corpus(20)
    sources[10] = [4, "x", 2]
    with pytest.raises(ValueError, match=r"^source 10, position 1: 'x' is not a token id"):
        convc.dask.translate(cluster, reverse_digits, sources, batch_size=7)


def test_a_killed_worker_has_its_share_retried(cluster, reverse_digits):
    sources = corpus(3000)
    want = [r.hypotheses for r in convc.Translator(reverse_digits).translate_batch(
        sources, beam_size=4)]
    victim = sorted(cluster.run(os.getpid).items())[0]
    done = {}

    def run():
        done["results"] = convc.dask.translate(cluster, reverse_digits, sources,
                                               batch_size=5, beam_size=4)

    t = threading.Thread(target=run)
    t.start()
    # Kill the victim as soon as it holds batches of this corpus.
    deadline = time.time() + 60
    while not cluster.processing().get(victim[0]) and time.time() < deadline:
        time.sleep(0.01)
    assert "results" not in done, "the corpus was done before the kill"
    os.kill(victim[1], signal.SIGKILL)
    t.join(timeout=240)
    assert not t.is_alive(), "translation did not finish after the kill"
    assert [r.hypotheses for r in done["results"]] == want
    # The nanny started another worker in the killed one's place.
    deadline, pids = time.time() + 60, set()
    while time.time() < deadline:
        try:
            pids = set(cluster.run(os.getpid).values())
        except (OSError, distributed.comm.core.CommClosedError):
            pids = set()  # the dead worker not yet removed
        if len(pids) == 2 and victim[1] not in pids:
            break
        time.sleep(0.5)
    assert len(pids) == 2 and victim[1] not in pids
