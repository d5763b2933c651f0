#!/usr/bin/env python3
"""Reverses digit sequences with the bundled model through `convc generate`.

usage: reverse_digits.py CONVC MODEL.so [--beam N] "3 1 4 1 5" ...
Digit d is token 4 + d; sources end with </s> (2). Prints each input, the
model's output and whether it is the reversed input.
"""
import argparse
import subprocess
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("convc")
    p.add_argument("model")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda (the model's target)")
    p.add_argument("sequences", nargs="+")
    a = p.parse_args()
    args = [a.convc, "generate", a.model, "--beam", str(a.beam), "--max-len", "16",
            "--device", a.device]
    digits = [s.split() for s in a.sequences]
    for ds in digits:
        args += ["--src", " ".join(str(4 + int(d)) for d in ds) + " 2"]
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode:
        sys.stderr.write(run.stderr)
        return run.returncode
    hyps = [line.split("\t")[2].split() for line in run.stdout.splitlines()
            if line.startswith("H-")]
    correct = 0
    for ds, hyp in zip(digits, hyps):
        out = [str(int(t) - 4) for t in hyp]
        ok = out == ds[::-1]
        correct += ok
        print(f"  {' '.join(ds):<24} -> {' '.join(out):<24} {'ok' if ok else 'WRONG'}")
    print(f"{correct}/{len(digits)} reversed correctly (beam {a.beam}); {run.stderr.strip()}")
    return 0 if correct == len(digits) else 1


if __name__ == "__main__":
    sys.exit(main())
