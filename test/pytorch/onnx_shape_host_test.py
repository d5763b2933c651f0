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


class MergedRowsInferred(torch.nn.Module):
    """view(B * T, -1): the types (?x?x4 -> ?x?) would also fit [B, T * 4]."""
    def forward(self, x):
        B, T, C = x.shape
        return torch.relu(x.view(B * T, -1)) * 2.0


class HeadsSoftmax(torch.nn.Module):
    """fairseq DynamicConv's softmax over taps: view(B * T * H, -1), back to [B, T, C]."""
    def forward(self, x):
        B, T, C = x.shape
        w = torch.softmax(x.view(B * T * 2, -1), dim=1)
        return w.view(B, T, C)


class SwappedView(torch.nn.Module):
    """view(T, B, C) of [B, T, C] data: the same rank and types, other sizes."""
    def forward(self, x):
        B, T, C = x.shape
        return x.view(T, B, C) * 1.5


class SplitInferred(torch.nn.Module):
    def forward(self, x):
        B, T, C = x.shape
        return x.view(B, -1, 2, C // 2).sum(2)


MODULES = [Positions, FirstHalf, EvenPrefix, LastStep, ShiftedSum, WindowMeans, NewZeros,
           FlatRows, MergedRowsInferred, HeadsSoftmax, SwappedView, SplitInferred]


def check_element_count(tool, work):
    """A Reshape whose sizes come from another input's Shape: when they do not
    hold the data's elements, the call fails naming the node, writing nothing."""
    import onnx
    from onnx import TensorProto, helper
    i64 = lambda n, v: helper.make_node("Constant", [], [n], value=helper.make_tensor(
        n, TensorProto.INT64, [len(v)], v))
    nodes = [helper.make_node("Shape", ["s"], ["shape"]), i64("lo", [0]), i64("hi", [2]),
             helper.make_node("Slice", ["shape", "lo", "hi"], ["bt"]),
             i64("c", [4]), i64("i0", [0]), i64("i1", [1]),
             helper.make_node("Gather", ["bt", "i0"], ["b"]),
             helper.make_node("Gather", ["bt", "i1"], ["t"]),
             helper.make_node("Mul", ["b", "t"], ["bt1"]),
             helper.make_node("Concat", ["bt1", "c"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], name="flatten_rows")]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 4]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, ["U", "V", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    path = os.path.join(work, "element_count.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"element_count.{target}.so")
        built = oc.compile_model(tool, path, lib, target)
        if built.returncode:
            failures.append(f"element_count [{target}]: compile failed: {built.stderr[-300:]}")
            continue
        x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
        for s_shape, ok in [((3, 2, 4), True), ((2, 5, 4), False)]:
            files = oc.save_inputs(work, "element_count", {"x": x, "s": np.zeros(s_shape, np.float32)})
            out = os.path.join(work, f"element_count_{target}_{ok}")
            run = oc.run_convc(tool, lib, files, out)
            if ok:
                good = (run.returncode == 0 and
                        np.array_equal(np.load(os.path.join(out, "y.npy")), x.reshape(6, 4)))
            else:
                good = (run.returncode != 0 and "'flatten_rows'" in run.stderr and
                        "24 elements cannot be reshaped to 40" in run.stderr and
                        not os.path.exists(os.path.join(out, "y.npy")))
            print(f"  element_count [{target}] s{list(s_shape)}: rc {run.returncode} "
                  f"{run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ''}")
            if not good:
                failures.append(f"element_count [{target}] s{list(s_shape)}: rc {run.returncode}")
    return failures


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
    failures += check_element_count(tool, work)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
