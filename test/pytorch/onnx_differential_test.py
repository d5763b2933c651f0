"""Differential testing against ONNX Runtime on random graphs
(onnx_random_graphs.py says what they contain).

Graphs are merged BATCH at a time into one model (their inputs and outputs
side by side), compiled once per target with --bounds-checks (the CPU and
the GPU kernel loops on the CPU: every load and store of the generated code
checked) and run at three random sizes each against ONNX Runtime: max
|convc - ort| <= 1e-4 * max(1, max |ort|) per graph. Half the
batches get a fourth run breaking one graph's inputs the way ONNX forbids
(sizes that do not broadcast, an index out of range): both must refuse.
convc must exit 0 or 1 (a clean error); a bounds-check abort or a crash is
a mismatch whatever ONNX Runtime says. When a batch fails to compile or a
run is refused, its graphs are tried one by one to find which.

usage: onnx_differential_test.py CONVC_TOOL WORKDIR [--graphs N] [--seed S]
       [--batch N]
A mismatch prints the graph's seed; rerun it alone with --seed N --graphs 1.
CI runs a bounded slice; docs/testing.md gives the long runs. Skips (exit 77)
without onnxruntime-node.
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_compare import compile_model, rel_error, run_convc, run_ort, save_inputs, \
    skip_without_ort  # noqa: E402
from onnx_random_graphs import RandomGraph, merge  # noqa: E402

TARGETS = ["cpu+bounds-checks", "gpu-kernels-on-cpu+bounds-checks"]
TOLERANCE = 1e-4


class Runner:
    def __init__(self, tool, work):
        self.tool, self.work = tool, work
        self.mismatches, self.runs, self.refusals = Reported(), 0, 0

    def build(self, name, graphs):
        """Writes and compiles the merged model; (path, {target: lib}) or
        (path, error) when a target refuses it."""
        path = os.path.join(self.work, name + ".onnx")
        with open(path, "wb") as f:
            f.write(merge(graphs, name).SerializeToString())
        libs = {}
        for target in TARGETS:
            lib = os.path.join(self.work, f"{name}.{target}.so")
            built = compile_model(self.tool, path, lib, target, ["--quiet"])
            if built.returncode:
                return path, f"[{target}] compile failed: {built.stderr.strip()[-300:]}"
            libs[target] = lib
        return path, libs

    def run(self, name, path, libs, feeds, tag):
        """Runs every target and ONNX Runtime on FEEDS: (ort, {target: run})."""
        files = save_inputs(self.work, f"{name}_{tag}", feeds)
        ort = run_ort(path, files, os.path.join(self.work, f"{name}_{tag}_ort"))
        got = {t: run_convc(self.tool, lib, files, os.path.join(self.work, f"{name}_{tag}_{t}"))
               for t, lib in libs.items()}
        self.runs += 1
        return ort, got

    def compare(self, name, graphs, ort, got, tag, where):
        """Records a mismatch for each graph whose output differs from ONNX
        Runtime's; the runs all succeeded."""
        for g in graphs:
            want = np.load(os.path.join(self.work, f"{name}_{tag}_ort", g.output + ".npy"))
            for t in got:
                have = np.load(os.path.join(self.work, f"{name}_{tag}_{t}", g.output + ".npy"))
                err = rel_error(have, want)
                if not err <= TOLERANCE:
                    self.mismatches.append(f"seed {g.seed} [{t}] {where(g)}: error {err:.2e} "
                                           f"(shapes {have.shape} vs {want.shape})")

    def agree_on_refusal(self, label, ort, got):
        """True when every run refused cleanly alongside ONNX Runtime or all
        succeeded; records a mismatch otherwise."""
        ok = True
        for t, r in got.items():
            if r.returncode not in (0, 1):  # an abort (bounds check) or a crash
                self.mismatches.append(f"{label} [{t}]: convc rc {r.returncode}: "
                                       f"{r.stderr.strip()[-300:]}")
                ok = False
            elif bool(r.returncode) != bool(ort.returncode):
                self.mismatches.append(f"{label} [{t}]: ONNX Runtime rc {ort.returncode}, "
                                       f"convc rc {r.returncode}: {r.stderr.strip()[-300:]}")
                ok = False
        return ok

    def check_alone(self, g, feeds_list):
        """One graph in its own model on FEEDS_LIST (its share of each feed)."""
        name = f"g{g.seed}"
        path, libs = self.build(name, [g])
        if isinstance(libs, str):
            self.mismatches.append(f"seed {g.seed}: {libs}")
            return
        for i, feeds in enumerate(feeds_list):
            mine = {k: v for k, v in feeds.items() if k.startswith(g.p)}
            ort, got = self.run(name, path, libs, mine, i)
            label = f"seed {g.seed} {shapes(mine)}"
            if not self.agree_on_refusal(label, ort, got):
                continue
            if ort.returncode:
                self.refusals += 1
                continue
            self.compare(name, [g], ort, got, i, lambda _: shapes(mine))

    def check_batch(self, name, graphs, rng):
        feeds_list = [merged_feeds(graphs, rng) for _ in range(3)]
        path, libs = self.build(name, graphs)
        if isinstance(libs, str):  # find which graph, and whether ONNX refuses it too
            for g in graphs:
                self.check_alone(g, feeds_list)
            return
        for i, feeds in enumerate(feeds_list):
            ort, got = self.run(name, path, libs, feeds, i)
            if ort.returncode or any(r.returncode for r in got.values()):
                for g in graphs:
                    self.check_alone(g, [feeds])
                continue
            self.compare(name, graphs, ort, got, i, lambda g: shapes(feeds, g.p))
        if rng.random() < 0.5:
            self.check_refusal(name, path, libs, graphs, rng)

    def check_refusal(self, name, path, libs, graphs, rng):
        """One graph's inputs broken the way ONNX forbids; the others valid."""
        def breakable(g):  # a live index input, or a live y with a Q
            live = g.live_inputs()
            return live & g.index_inputs or ("y" in live and g.y_rank > 1)
        candidates = [g for g in graphs if breakable(g)]
        if not candidates:
            return
        victim = candidates[int(rng.integers(len(candidates)))]
        live = victim.live_inputs()
        can_size = "y" in live and victim.y_rank > 1
        bad = "index" if live & victim.index_inputs and (not can_size or rng.random() < 0.5) \
            else "size"
        feeds = {}
        for g in graphs:
            feeds.update(g.feed(rng, bad if g is victim else None))
        ort, got = self.run(name, path, libs, feeds, "bad")
        label = f"seed {victim.seed} broken ({bad}) {shapes(feeds, victim.p)}"
        if self.agree_on_refusal(label, ort, got) and ort.returncode:
            self.refusals += 1


class Reported(list):
    """The mismatches, each printed when found (long runs)."""

    def append(self, line):
        print("MISMATCH", line, flush=True)
        super().append(line)


def merged_feeds(graphs, rng):
    feeds = {}
    for g in graphs:
        feeds.update(g.feed(rng))
    return feeds


def shapes(feeds, prefix=""):
    return " ".join(f"{k[len(prefix):]}{list(v.shape)}" for k, v in feeds.items()
                    if k.startswith(prefix))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tool")
    p.add_argument("work")
    p.add_argument("--graphs", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=25)
    a = p.parse_args()
    skipped = skip_without_ort()
    if skipped:
        sys.exit(skipped)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    runner, start = Runner(a.tool, a.work), time.time()
    seeds = list(range(a.seed, a.seed + a.graphs))
    for first in range(0, len(seeds), a.batch):
        batch = seeds[first:first + a.batch]
        graphs = [RandomGraph(s, f"g{s}_") for s in batch]
        runner.check_batch(f"b{batch[0]}", graphs, np.random.default_rng(batch[0] + 1000003))
        for f in os.listdir(a.work):  # keep the work directory small on long runs
            os.remove(os.path.join(a.work, f)) if not os.path.isdir(os.path.join(a.work, f)) \
                else shutil.rmtree(os.path.join(a.work, f))
        done = first + len(batch)
        if done % 500 < a.batch or done == len(seeds):
            print(f"{done} graphs, {runner.runs} runs, {runner.refusals} refused by both, "
                  f"{len(runner.mismatches)} mismatches, {time.time() - start:.0f} s", flush=True)
    print(f"{a.graphs} graphs (seeds {a.seed}-{a.seed + a.graphs - 1}), {runner.runs} runs on "
          f"{', '.join(TARGETS)}, {runner.refusals} refused by both, "
          f"{len(runner.mismatches)} mismatches")
    sys.exit(1 if runner.mismatches else 0)


if __name__ == "__main__":
    main()
