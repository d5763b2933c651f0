#!/usr/bin/env python3
"""Inputs and a PyTorch check for examples/conv_block.mlir.

  conv_block_data.py make DIR --batch B --time T   writes DIR/<input>.npy
  conv_block_data.py check DIR OUTDIR              compares OUTDIR/<output>.npy
                                                   with PyTorch (convc_torch)
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "frontends", "pytorch"))
from convc_torch import ops  # noqa: E402

C, H, K = 512, 8, 31


def make(d, batch, time):
    rng = np.random.default_rng(0)
    f = lambda *s, lo=-1.0, hi=1.0: rng.uniform(lo, hi, s).astype(np.float32)
    os.makedirs(d, exist_ok=True)
    arrays = {
        "proj0": f(batch, time, 2 * C), "proj1": f(batch, time, 2 * C),
        "proj2": f(batch, time, 2 * C), "light_w": f(H, K, lo=-2, hi=2),
        "talk_offsets": f(batch, time, 2 * H, lo=0, hi=1),
        "dyn_wq": f(H * K, C, lo=-0.1, hi=0.1), "dw_w": f(C, 5), "dw_b": f(C),
    }
    for name, a in arrays.items():
        np.save(os.path.join(d, name + ".npy"), a)
    print(f"wrote {len(arrays)} inputs for B={batch} T={time} to {d}")


def check(d, out):
    t = {n[:-4]: torch.from_numpy(np.load(os.path.join(d, n)))
         for n in os.listdir(d) if n.endswith(".npy")}
    want = {
        "light": ops.lightweight_conv(ops.glu(t["proj0"]), t["light_w"], 15),
        "talk": ops.talk_conv(ops.glu(t["proj1"]), t["talk_offsets"], 31, 31, False),
        "dynamic": ops.depthwise_conv(
            ops.dynamic_conv(ops.glu(t["proj2"]), t["dyn_wq"], None, H, K, 30),
            t["dw_w"], 2, 4, t["dw_b"]),
    }
    worst = 0.0
    for name, ref in want.items():
        got = np.load(os.path.join(out, name + ".npy"))
        err = float(np.max(np.abs(got - ref.numpy()) / np.maximum(1.0, np.abs(ref.numpy()))))
        worst = max(worst, err)
        print(f"  {name:8s} {list(got.shape)}  max error vs PyTorch {err:.2e}")
    ok = worst <= 1e-4
    print("outputs match PyTorch" if ok else "MISMATCH against PyTorch")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--batch", type=int, default=2)
    m.add_argument("--time", type=int, default=100)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("out")
    a = p.parse_args()
    torch.set_num_threads(2)
    if a.cmd == "make":
        make(a.dir, a.batch, a.time)
        return 0
    return check(a.dir, a.out)


if __name__ == "__main__":
    sys.exit(main())
