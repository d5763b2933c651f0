"""Exports a block of convc ops from PyTorch through the convc ONNX domain,
compiles it with the convc tool and checks the result against PyTorch.

Exported at B=2, T=13 with symbolic batch and time; checked at B=3, T=29.
Also checks the standard export of 1-D Conv layers (no convc domain).

usage: onnx_export_test.py CONVC_TOOL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import torch

from convc_torch import onnx_export as cx


class Block(torch.nn.Module):
    """GLU -> LightweightConv -> DynamicConv -> TaLK, with residuals.
    `wide_offsets`: TaLK's offsets are 3 tanh(..), mostly outside [0, 1],
    which convc_torch's eager op and compiled code both clamp."""

    def __init__(self, C=16, H=4, K=5, wide_offsets=False):
        super().__init__()
        self.H, self.K, self.wide_offsets = H, K, wide_offsets
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
        off = (3 * torch.tanh(self.offsets(h)) if self.wide_offsets else
               torch.sigmoid(self.offsets(h)))
        return cx.talk_conv(h, off, left_max=3, right_max=2) + h


class StandardConvs(torch.nn.Module):
    """What exporters emit for conv layers without the convc domain: 1-D
    Conv nodes (depthwise dilated, grouped with bias) in BCT layout, and a
    GLU from Slice nodes."""

    def __init__(self, C=16):
        super().__init__()
        self.depthwise = torch.nn.Conv1d(C, C, 5, padding=4, dilation=2,
                                         groups=C, bias=False)
        self.grouped = torch.nn.Conv1d(C, 2 * C, 3, padding=1, groups=4)

    def forward(self, x):
        h = self.depthwise(x.transpose(1, 2))
        h = self.grouped(torch.relu(h)).transpose(1, 2)
        # A GLU written with slices on symbolic B and T; the split point
        # exports as Shape -> Gather -> Div -> Cast -> Unsqueeze, folded.
        C = h.shape[-1] // 2
        return h[..., :C] * torch.sigmoid(h[..., C:])


class EmbeddedConvs(torch.nn.Module):
    """Token ids -> nn.Embedding (a Gather) -> the standard convs."""

    def __init__(self, vocab=50, C=16):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, C)
        self.convs = StandardConvs(C)

    def forward(self, tokens):
        return self.convs(self.embed(tokens))


class HeadSplit(torch.nn.Module):
    """x.view(B, T, H, C // H) with B, T, C read from x.shape: a Reshape
    whose target is built by Shape -> Gather -> Unsqueeze -> Concat."""

    def forward(self, x):
        B, T, C = x.shape
        h = x.view(B, T, 4, C // 4).transpose(2, 3)
        return torch.tanh(h.reshape(B, T, C))


class PlainLightweightConv(torch.nn.Module):
    """convc_torch.ops.lightweight_conv exported as plain ONNX: Softmax of
    the weight, Expand + Reshape to channels, Pad, grouped Conv."""

    def __init__(self, H=4, K=5):
        super().__init__()
        self.W = torch.nn.Parameter(torch.randn(H, K))

    def forward(self, x):
        from convc_torch import ops
        return ops.lightweight_conv(x, self.W, padding=2)


CUDA_TOOLKIT = os.path.exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc")


def check(tool, work, name, model, export_x, check_x, custom, static=False):
    """Exports with symbolic B and T, compiles, runs at check_x's shape.
    `static`: exported as torch.onnx.export does by default, every size
    fixed at export_x's, and run there, for the CPU and for the GPU
    kernels compiled for the CPU (and compiled for CUDA when the toolkit is
    here): a static export takes other import paths."""
    path = os.path.join(work, name + ".onnx")
    torch.onnx.export(model, (export_x,), path, input_names=["x"],
                      output_names=["y"], opset_version=17,
                      dynamic_axes=None if static else
                      {"x": {0: "B", 1: "T"}, "y": {0: "B", 1: "T"}},
                      custom_opsets={cx.DOMAIN: 1} if custom else None)
    if static:
        check_x = export_x
    with torch.no_grad():
        expected = model(check_x).numpy()
    xin = os.path.join(work, name + "_x.npy")
    np.save(xin, check_x.numpy())
    for target in ["cpu", "gpu-kernels-on-cpu"] if static else ["cpu"]:
        lib = os.path.join(work, f"{name}.{target}.so")
        out = os.path.join(work, f"{name}.{target}_out")
        subprocess.run([tool, "compile", path, "-o", lib, "--quiet",
                        "--target=" + target], check=True)
        subprocess.run([tool, "run", lib, "--input=x=" + xin,
                        "--output-dir=" + out],
                       check=True, stdout=subprocess.DEVNULL)
        got = np.load(os.path.join(out, "y.npy"))
        assert got.shape == expected.shape, (got.shape, expected.shape)
        err = np.abs(got - expected).max()
        print(f"{name} ({target}): convc vs PyTorch max |diff| {err:.2e}")
        if not err < 1e-4:
            sys.exit(f"FAIL: {name} ({target}): max |diff| {err} >= 1e-4")
    if static and CUDA_TOOLKIT:
        subprocess.run([tool, "compile", path, "-o",
                        os.path.join(work, name + ".cuda.so"), "--quiet",
                        "--target=cuda"], check=True)
        print(f"{name}: compiles for CUDA")
    return path


class PlainDynamicConv(torch.nn.Module):
    """convc_torch.ops.dynamic_conv exported as plain ONNX."""

    def __init__(self, C=16, H=4, K=5):
        super().__init__()
        self.Wq = torch.nn.Parameter(torch.randn(H * K, C) * 0.1)
        self.H, self.K = H, K

    def forward(self, x):
        from convc_torch import ops
        return ops.dynamic_conv(x, self.Wq, None, self.H, self.K, self.K - 1)


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = Block().eval()
    x = torch.randn(2, 13, 16)
    path = check(tool, work, "block", model, x, torch.randn(3, 29, 16),
                 custom=True)
    import onnx
    ops = [(n.domain, n.op_type) for n in onnx.load(path).graph.node]
    convc_ops = sorted({op for d, op in ops if d == cx.DOMAIN})
    assert convc_ops == ["DynamicConv", "GLU", "LightweightConv", "TaLKConv"], ops

    check(tool, work, "block_wide_offsets", Block(wide_offsets=True).eval(),
          x, torch.randn(3, 29, 16), custom=True)

    path = check(tool, work, "standard_convs", StandardConvs().eval(), x,
                 torch.randn(3, 29, 16), custom=False)
    kinds = [n.op_type for n in onnx.load(path).graph.node]
    assert kinds.count("Conv") == 2 and kinds.count("Slice") == 2, kinds
    assert "Shape" in kinds and "Cast" in kinds, kinds

    path = check(tool, work, "plain_lightweight_conv", PlainLightweightConv(),
                 x, torch.randn(3, 29, 16), custom=False)
    kinds = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Softmax", "Conv", "Pad"} <= kinds, kinds
    check(tool, work, "head_split", HeadSplit(), x, torch.randn(3, 29, 16),
          custom=False)
    check(tool, work, "embedded_convs", EmbeddedConvs().eval(),
          torch.randint(0, 50, (2, 13)), torch.randint(0, 50, (3, 29)),
          custom=False)

    # Static exports (torch.onnx.export's default: no dynamic_axes).
    for name, model, custom in [("block", Block().eval(), True),
                                ("standard_convs", StandardConvs().eval(), False),
                                ("plain_lightweight_conv", PlainLightweightConv(), False),
                                ("plain_dynamic_conv", PlainDynamicConv(), False)]:
        check(tool, work, "static_" + name, model, x, None, custom, static=True)


if __name__ == "__main__":
    main()
