"""Sizes computed from Shape, written the way model code writes them (T // 2,
T + 2, T - T % 2, torch.arange(T), min(i + 3, T) with torch.minimum,
clamp on int64 tensors, new_zeros(B, T, C), view(B * T, C)): exported with
torch.onnx.export (opset 17, symbolic batch and time), checked against ONNX
Runtime at two other shapes on the CPU and on the GPU kernel loops (on the
CPU), and compiled for --target=cuda when the CUDA toolkit is installed: the
shape arithmetic runs on the host, so the GPU target has no size to read
back from device memory. Reshapes that merge or split symbolic dims
(view(B * T, -1), view(T, B, C) of [B, T, C] data) are among them; a
reshape whose sizes do not hold its data's elements, and reflect pads as
long as a symbolic dim, fail the call naming the node. Sizes cast to narrower
int types wrap. Split takes sizes computed from the length (checked to add
up at run time).

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


def run_cases(tool, work, name, graph, opset, cases):
    """Saves GRAPH as NAME.onnx, compiles it for the CPU and the GPU kernel
    loops, and runs each case (label, inputs, expected): `expected` is a
    function of the outputs' directory that checks the results, or the
    texts the refusal must contain (no output may be written then).
    Returns the failures."""
    import onnx
    from onnx import helper
    path = os.path.join(work, name + ".onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"{name}.{target}.so")
        built = oc.compile_model(tool, path, lib, target)
        if built.returncode:
            failures.append(f"{name} [{target}]: compile failed: {built.stderr[-300:]}")
            continue
        for label, feeds, expected in cases:
            files = oc.save_inputs(work, name, feeds)
            out = os.path.join(work, f"{name}_{target}_{label}")
            run = oc.run_convc(tool, lib, files, out)
            if callable(expected):
                good = run.returncode == 0 and expected(out, path, files)
            else:
                good = (run.returncode != 0 and all(t in run.stderr for t in expected) and
                        not os.path.exists(os.path.join(out, "y.npy")))
            last = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
            print(f"  {name} [{target}] {label}: rc {run.returncode} {last}")
            if not good:
                failures.append(f"{name} [{target}] {label}: rc {run.returncode} {last}")
    return failures


def equals(want):
    """A case's check: y equals WANT exactly."""
    return lambda out, path, files: np.array_equal(np.load(os.path.join(out, "y.npy")), want)


def matches_ort(out, path, files):
    """A case's check: y within 1e-5 of ONNX Runtime's."""
    ort_dir = out + "_ort"
    oc.run_ort(path, files, ort_dir)
    return oc.rel_error(np.load(os.path.join(out, "y.npy")),
                        np.load(os.path.join(ort_dir, "y.npy"))) <= 1e-5


def check_reflect_pads(tool, work):
    """Pad reflect on a symbolic dim: pads as long as the dim fail the call
    (ONNX's rule, which ONNX Runtime enforces); shorter ones match numpy."""
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect", name="mirror")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([0, 2, 0, 0, 1, 0], np.int64), "pads")])
    x = {T: np.arange(2 * T * 4, dtype=np.float32).reshape(2, T, 4) for T in [5, 3, 2]}
    return run_cases(tool, work, "reflect", graph, 17, [
        *[(f"T={T}", {"x": x[T]}, equals(np.pad(x[T], ((0, 0), (2, 1), (0, 0)), mode="reflect")))
          for T in [5, 3]],
        ("T=2", {"x": x[2]}, ("'mirror'", "reflect pads must be shorter than the dim"))])


def check_short_conv(tool, work):
    """A dilated Conv over a symbolic length: inputs shorter than the
    kernel's span (7) fail the call, writing nothing (ONNX Runtime refuses
    them too); longer ones match ONNX Runtime."""
    from onnx import TensorProto, helper, numpy_helper
    w = np.random.default_rng(3).standard_normal((3, 2, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], dilations=[2], name="dilated")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 2, "T"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w")])
    x = {T: np.random.default_rng(T).standard_normal((1, 2, T)).astype(np.float32)
         for T in [9, 7, 5, 1]}
    return run_cases(tool, work, "short_conv", graph, 13, [
        (f"T={T}", {"x": x[T]}, matches_ort if T >= 7 else
         ("node 'dilated': Conv input padded to", "shorter than the kernel's span 7"))
        for T in [9, 7, 5, 1]])


def check_element_count(tool, work):
    """A Reshape whose sizes come from another input's Shape: when they do not
    hold the data's elements, the call fails naming the node, writing nothing."""
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
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    return run_cases(tool, work, "element_count", graph, 17, [
        ("s[3,2,4]", {"x": x, "s": np.zeros((3, 2, 4), np.float32)}, equals(x.reshape(6, 4))),
        ("s[2,5,4]", {"x": x, "s": np.zeros((2, 5, 4), np.float32)},
         ("'flatten_rows'", "24 elements cannot be reshaped to 40"))])

def check_split_by_sizes(tool, work):
    """Split at sizes computed from the length ([T // 3, T - 2 (T // 3),
    T // 3], then the middle part negated): parts of 0 included; sizes that
    do not add up to T ([T // 3, T, T // 3]) fail the call naming the node."""
    from onnx import TensorProto, helper, numpy_helper
    def graph(middle):
        i64 = lambda n, v: numpy_helper.from_array(np.array(v, np.int64), n)
        nodes = [helper.make_node("Shape", ["x"], ["shape"]),
                 helper.make_node("Gather", ["shape", "one"], ["t"]),
                 helper.make_node("Div", ["t", "three"], ["third"]),
                 helper.make_node("Mul", ["third", "two"], ["ends"]),
                 helper.make_node("Sub", ["t", "ends"], ["rest"]),
                 helper.make_node("Concat", ["third", middle, "third"], ["sizes"], axis=0),
                 helper.make_node("Split", ["x", "sizes"], ["a", "b", "c"], axis=1,
                                  name="thirds"),
                 helper.make_node("Neg", ["b"], ["nb"]),
                 helper.make_node("Concat", ["a", "nb", "c"], ["y"], axis=1)]
        return helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=[i64("one", [1]), i64("two", [2]), i64("three", [3])])
    def want(x):
        k = x.shape[1] // 3
        return np.concatenate([x[:, :k], -x[:, k:x.shape[1] - k], x[:, x.shape[1] - k:]], 1)
    x = {T: np.arange(2 * T * 4, dtype=np.float32).reshape(2, T, 4) for T in [7, 2, 1]}
    return (run_cases(tool, work, "split_by_sizes", graph("rest"), 13,
                      [(f"T={T}", {"x": x[T]}, equals(want(x[T]))) for T in [7, 2, 1]]) +
            run_cases(tool, work, "split_by_wrong_sizes", graph("t"), 13,
                      [("T=7", {"x": x[7]}, ("'thirds'", "Split sizes add up to 11, not to "
                                             "the input's size 7"))]))


def check_narrowing_casts(tool, work):
    """Sizes times 100 cast to each narrower int type and back to int64
    wrap as numpy's astype does (the sizes are symbolic, computed on the
    host)."""
    from onnx import TensorProto, helper, numpy_helper
    types = {"i8": (TensorProto.INT8, np.int8), "u8": (TensorProto.UINT8, np.uint8),
             "i16": (TensorProto.INT16, np.int16), "u16": (TensorProto.UINT16, np.uint16),
             "i32": (TensorProto.INT32, np.int32), "u32": (TensorProto.UINT32, np.uint32)}
    nodes = [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Mul", ["shape", "k"], ["big"])]
    for name, (onnx_type, _) in types.items():
        nodes += [helper.make_node("Cast", ["big"], [name], to=onnx_type),
                  helper.make_node("Cast", [name], [name + "_64"], to=TensorProto.INT64)]
    nodes.append(helper.make_node("Concat", [n + "_64" for n in types], ["y"], axis=0))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T"])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [12])],
        initializer=[numpy_helper.from_array(np.array([100, 40000000], np.int64), "k")])
    big = np.array([2, 7]) * np.array([100, 40000000])
    want = np.concatenate([big.astype(t).astype(np.int64) for _, t in types.values()])
    return run_cases(tool, work, "narrowing_casts", graph, 13, [
        ("x[2,7]", {"x": np.zeros((2, 7), np.float32)}, equals(want))])


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
    failures += check_reflect_pads(tool, work)
    failures += check_short_conv(tool, work)
    failures += check_narrowing_casts(tool, work)
    failures += check_split_by_sizes(tool, work)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
