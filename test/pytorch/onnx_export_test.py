"""Exports a block of convc ops from PyTorch through the convc ONNX domain,
compiles it with the convc tool and checks the result against PyTorch.

Exported at B=2, T=13 with symbolic batch and time; checked at B=3, T=29.

usage: onnx_export_test.py CONVC_TOOL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch

from convc_torch import onnx_export as cx


class Block(torch.nn.Module):
    """GLU -> LightweightConv -> DynamicConv -> TaLK, with residuals."""

    def __init__(self, C=16, H=4, K=5):
        super().__init__()
        self.H, self.K = H, K
        self.proj = torch.nn.Linear(C, 2 * C)
        self.light_w = torch.nn.Parameter(torch.randn(H, K))
        self.light_b = torch.nn.Parameter(torch.randn(C) * 0.1)
        self.dyn = torch.nn.Linear(C, H * K)
        self.offsets = torch.nn.Linear(C, 2 * H)

    def forward(self, x):
        h = cx.glu(self.proj(x))
        h = cx.lightweight_conv(h, self.light_w, self.light_b, padding=2) + x
        h = cx.dynamic_conv(h, self.dyn.weight, self.dyn.bias, self.H, self.K,
                            padding=self.K - 1) + h
        off = torch.sigmoid(self.offsets(h))
        return cx.talk_conv(h, off, left_max=3, right_max=2) + h


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = Block().eval()
    x = torch.randn(2, 13, 16)
    path = os.path.join(work, "block.onnx")
    # Batch and time stay symbolic: the check runs at another length.
    torch.onnx.export(model, (x,), path, input_names=["x"],
                      output_names=["y"], opset_version=17,
                      dynamic_axes={"x": {0: "B", 1: "T"}, "y": {0: "B", 1: "T"}},
                      custom_opsets={cx.DOMAIN: 1})
    import onnx
    ops = [(n.domain, n.op_type) for n in onnx.load(path).graph.node]
    convc_ops = sorted({op for d, op in ops if d == cx.DOMAIN})
    assert convc_ops == ["DynamicConv", "GLU", "LightweightConv", "TaLKConv"], ops

    x = torch.randn(3, 29, 16)
    with torch.no_grad():
        expected = model(x).numpy()
    np.save(os.path.join(work, "x.npy"), x.numpy())
    lib = os.path.join(work, "block.so")
    subprocess.run([tool, "compile", path, "-o", lib, "--quiet"], check=True)
    subprocess.run([tool, "run", lib, "--input=x=" + os.path.join(work, "x.npy"),
                    "--output-dir=" + work], check=True,
                   stdout=subprocess.DEVNULL)
    got = np.load(os.path.join(work, "y.npy"))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    err = np.abs(got - expected).max()
    print(f"convc vs PyTorch through the convc ONNX domain: max |diff| {err:.2e}")
    if not err < 1e-4:
        sys.exit(f"FAIL: max |diff| {err} >= 1e-4")


if __name__ == "__main__":
    main()
