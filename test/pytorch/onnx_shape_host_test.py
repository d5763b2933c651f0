"""Sizes computed from Shape, written the way model code writes them (T // 2,
T + 2, T - T % 2, torch.arange(T), min(i + 3, T) with torch.minimum,
clamp on int64 tensors, new_zeros(B, T, C), view(B * T, C)): exported with
torch.onnx.export (opset 17, symbolic batch and time), checked against ONNX
Runtime at two other shapes on the CPU and on the GPU kernel loops (on the
CPU), and compiled for --target=cuda when the CUDA toolkit is installed: the
shape arithmetic runs on the host, so the GPU target has no size to read
back from device memory.

usage: onnx_shape_host_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import sys
import warnings

import numpy as np
import torch

import ort_compare as oc


class Positions(torch.nn.Module):
    def forward(self, x):
        T = x.shape[1]
        pos = torch.arange(T, device=x.device).float()
        return x * pos[None, :, None] / T


class FirstHalf(torch.nn.Module):
    def forward(self, x):
        return x[:, : x.shape[1] // 2] * 2.0


class EvenPrefix(torch.nn.Module):
    def forward(self, x):
        T = x.size(1)
        return torch.tanh(x[:, : T - T % 2])


class LastStep(torch.nn.Module):
    def forward(self, x):
        return x[:, -1:, :] + x


class ShiftedSum(torch.nn.Module):
    def forward(self, x):
        T = x.size(1)
        y = torch.nn.functional.pad(x, (0, 0, 2, 0))
        return y[:, :T] + y[:, 2:T + 2]


class WindowMeans(torch.nn.Module):
    """TaLK-like window sums from a cumsum with a zero row; window edges
    clamped with torch.clamp and torch.minimum on int64 positions."""
    def forward(self, x):
        B, T, C = x.shape
        cs = torch.cat([torch.zeros(B, 1, C), torch.cumsum(x, 1)], 1)
        i = torch.arange(T)
        lo = torch.clamp(i - 2, min=0)
        hi = torch.minimum(i + 3, torch.tensor(T))
        return (cs[:, hi] - cs[:, lo]) / (hi - lo).float()[None, :, None]


class NewZeros(torch.nn.Module):
    def forward(self, x):
        B, T, C = x.shape
        return x.new_zeros(B, T, 2 * C) + torch.cat([x, x], -1)


class FlatRows(torch.nn.Module):
    def forward(self, x):
        B, T, C = x.shape
        h = torch.relu(x.reshape(B * T, C))
        return h.view(B, T, C) + x.reshape(B, -1).view(B, T, C)


MODULES = [Positions, FirstHalf, EvenPrefix, LastStep, ShiftedSum, WindowMeans, NewZeros,
           FlatRows]


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if not oc.HAVE_CUDA:
        print(f"(no CUDA toolkit at {oc.CUDA}: the --target=cuda compiles are skipped)")
    failures = []
    for cls in MODULES:
        name = cls.__name__
        path = os.path.join(work, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(cls(), (torch.randn(2, 7, 4),), path, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "B", 1: "T"}},
                              opset_version=17)
        inputs = [rng.standard_normal((B, T, 4)).astype(np.float32) for B, T in [(1, 5), (3, 12)]]
        failures += oc.check_export(tool, work, name, path, inputs, 1e-5, ["--quiet"])[0]
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
