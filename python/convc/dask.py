"""Translating a corpus across machines with Dask (docs/scale-out.md).

    from distributed import Client
    import convc.dask
    client = Client("scheduler:8786")
    results = convc.dask.translate(client, "model.so", sources, beam_size=4)

The corpus is cut into batches of `batch_size` sources; each worker loads
the model once (a worker plugin) and translates the batches the scheduler
gives it; the results come back in the sources' order. A worker lost
mid-run has its batches run again elsewhere (Dask's scheduler reschedules
the tasks of a dead worker). The model file must be readable by every
worker at the same path (a shared file system, or copied beforehand).
"""
import hashlib
import re
import uuid

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from . import Translator

__all__ = ["translate", "TranslatorPlugin"]


class TranslatorPlugin(WorkerPlugin):
    """Loads a convc.Translator once per worker (on registration, and on
    every worker that joins later)."""

    def __init__(self, model, device="cpu", threads=None, dictionary=None, sentencepiece=None):
        self.args = (model, device, threads, dictionary, sentencepiece)
        self.name = "convc-" + hashlib.sha256(repr(self.args).encode()).hexdigest()[:16]
        self.translator = None

    def setup(self, worker):
        model, device, threads, dictionary, sentencepiece = self.args
        self.translator = Translator(model, device=device, threads=threads,
                                     dictionary=dictionary, sentencepiece=sentencepiece)


def _translate_batch(batch, first, plugin_name, options):
    plugin = get_worker().plugins[plugin_name]
    try:
        return plugin.translator.translate_batch(batch, **options)
    except ValueError as e:
        # Name the source by its place in the corpus, not in the batch.
        message = str(e)
        found = re.match(r"source (\d+)", message)
        if found:
            raise ValueError(f"source {first + int(found.group(1))}"
                             f"{message[found.end():]}") from None
        raise ValueError(f"sources {first}..{first + len(batch) - 1}: {message}") from None


def translate(client, model, sources, batch_size=64, device="cpu", threads=None,
              dictionary=None, sentencepiece=None, **options):
    """Translates `sources` (token lists, or strings with a dictionary) on
    the cluster of `client`; one convc.TranslationResult per source, in
    order. `options` are Translator.translate_batch's."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    sources = list(sources)
    plugin = TranslatorPlugin(model, device, threads, dictionary, sentencepiece)
    client.register_worker_plugin(plugin, name=plugin.name)
    run = uuid.uuid4().hex[:8]
    batches = [sources[i:i + batch_size] for i in range(0, len(sources), batch_size)]
    futures = [client.submit(_translate_batch, batch, i * batch_size, plugin.name, options,
                             key=f"convc-translate-{run}-{i}", pure=False)
               for i, batch in enumerate(batches)]
    results = client.gather(futures)
    return [r for batch in results for r in batch]
