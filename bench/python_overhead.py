#!/usr/bin/python3
"""What translating through the Python API costs over the same call in C++.

The bundled model, the same batch of sources and options both ways, one
thread each: C++ is `convc generate --warmup 3` (the generator's own time,
printed by the tool: convc::generateNBest in-process), Python is
convc.Translator.translate_batch timed with perf_counter around the call
(after 3 warm-up calls). Each side's median over RUNS repetitions; the
ratio is Python / C++ (docs/performance.md records it).

usage: python_overhead.py BUILD_DIR [--runs N] [--sources N] [--beam K]
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--sources", type=int, default=32)
    p.add_argument("--beam", type=int, default=4)
    a = p.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(os.path.abspath(a.build), "python"))
    import convc

    rng = random.Random(1)
    sources = [[4 + rng.randrange(10) for _ in range(rng.randrange(3, 10))] + [2]
               for _ in range(a.sources)]
    lib = convc.compile(os.path.join(root, "examples", "reverse_digits.mlir"),
                        decode_step="decode")
    translator = convc.Translator(lib, threads=1)
    options = dict(beam_size=a.beam, max_decoding_length=16)
    for _ in range(3):
        translator.translate_batch(sources, **options)
    py = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        translator.translate_batch(sources, **options)
        py.append((time.perf_counter() - t0) * 1000)
    tool = os.path.join(a.build, "bin", "convc")
    args = [tool, "generate", lib, "--threads", "1", "--beam", str(a.beam), "--max-len", "16",
            "--warmup", "3"]
    for s in sources:
        args += ["--src", " ".join(map(str, s))]
    cpp = []
    for _ in range(a.runs):
        out = subprocess.run(args, capture_output=True, text=True, check=True).stderr
        cpp.append(float(re.search(r"in ([0-9.]+) ms", out).group(1)))
    mp, mc = statistics.median(py), statistics.median(cpp)
    print(f"{a.sources} sources, beam {a.beam}, 1 thread: C++ {mc:.2f} ms, Python {mp:.2f} ms, "
          f"Python / C++ = {mp / mc:.3f} (medians of {a.runs})")


if __name__ == "__main__":
    main()
