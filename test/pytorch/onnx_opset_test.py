"""Opsets 7 to 21 on hand-built graphs (the installed onnx package writes
opset 17 at most, so the models are assembled by hand): the reductions with
axes as an input (and none, with noop_with_empty_axes), integer reductions,
Pad with an axes input and (opset 7) with attributes, Clip's attribute
bounds (opset 7), Slice's attributes (opset 9), Split with
num_outputs and an uneven last part, Gelu (opset 20, erf and tanh forms),
Softmax's 2-D rows before opset 13, noop_with_empty_axes on ReduceL1 and
ReduceSumSquare (|x|, x^2), Split parts of a computed tensor as outputs, sines of large arguments,
GroupNormalization (opset 18: per-group scale and bias; 21: per channel; and
its refusals: groups that do not divide C, parameters of the other opset's
size, a symbolic C), a Reshape
shape made of Expand and Split of constants, int64 and bool constants
folded on the host (variadic Min/Max, Where), OneHot of float indices. Each
runs in convc
(CPU and GPU kernel loops) and is compared with numpy and, when
onnxruntime-node is installed, ONNX Runtime: max |difference| <= 1e-5.

usage: onnx_opset_test.py CONVC_TOOL WORKDIR
"""
import math
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
HAVE_ORT = os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node"))
rng = np.random.default_rng(1)


def model(nodes, inputs, outputs, opset, inits=()):
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=[numpy_helper.from_array(v, n) for n, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    return m


def ints(*v):
    return np.array(v, dtype=np.int64)


def erf_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def group_norm(x, groups, scale, bias, eps):
    """x [B, C, T] normalised per (b, group); scale/bias per channel."""
    g = x.reshape(x.shape[0], groups, -1)
    n = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    return n.reshape(x.shape) * scale[None, :, None] + bias[None, :, None]


GN_SCALE = rng.standard_normal(6).astype(np.float32)
GN_BIAS = rng.standard_normal(6).astype(np.float32)


def group_norm_nodes(groups=3):
    return [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
            helper.make_node("GroupNormalization", ["xt", "s", "b"], ["y"],
                             num_groups=groups, epsilon=1e-3, name="gn")]


def tanh_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


X = rng.standard_normal((2, 7, 6)).astype(np.float32)
CASES = [
    ("reduce_mean_axes", 18,
     [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)],
     [("axes", ints(1))], ["y"], lambda x: [x.mean(axis=1, keepdims=True)]),
    ("reduce_max_axes", 18,
     [helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=0)],
     [("axes", ints(-1, 0))], ["y"], lambda x: [x.max(axis=(0, 2))]),
    ("reduce_sumsq_all", 18,
     [helper.make_node("ReduceSumSquare", ["x"], ["y"], keepdims=0)],
     [], ["y"], lambda x: [np.array((x * x).sum(), np.float32)]),
    ("pad_axes", 18,
     [helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"])],
     [("pads", ints(2, 0, 1, 3)), ("axes", ints(1, -1))], ["y"],
     lambda x: [np.pad(x, ((0, 0), (2, 1), (0, 3)))]),
    ("split_uneven", 18,
     [helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)],
     [], ["a", "b", "c"], lambda x: [x[:, 0:3], x[:, 3:6], x[:, 6:7]]),
    ("gelu_erf", 20, [helper.make_node("Gelu", ["x"], ["y"])], [], ["y"],
     lambda x: [erf_gelu(x)]),
    ("gelu_tanh", 20,
     [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [], ["y"],
     lambda x: [tanh_gelu(x)]),
    ("opset21_relu", 21, [helper.make_node("Relu", ["x"], ["y"])], [], ["y"],
     lambda x: [np.maximum(x, 0)]),
    # No axes input with noop_with_empty_axes: the input as it is.
    ("reduce_noop", 18,
     [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0, noop_with_empty_axes=1)],
     [], ["y"], lambda x: [x]),
    # Nothing reduced, the per-element step still applied (onnx/onnx#7137).
    ("reduce_l1_noop", 18,
     [helper.make_node("ReduceL1", ["x"], ["a"], noop_with_empty_axes=1),
      helper.make_node("ReduceSumSquare", ["x"], ["b"], noop_with_empty_axes=1),
      helper.make_node("Add", ["a", "b"], ["y"])],
     [], ["y"], lambda x: [np.abs(x) + x * x]),
    # Parts of a computed tensor returned as outputs: the first part's view
    # (strided, offset 0) came back read as if dense.
    ("split_of_result", 18,
     [helper.make_node("Relu", ["x"], ["r"]),
      helper.make_node("Split", ["r"], ["a", "b"], axis=1, num_outputs=2)],
     [], ["a", "b"], lambda x: [np.maximum(x, 0)[:, :4], np.maximum(x, 0)[:, 4:]]),
    # Integers summed (token counts: mask.long().sum(-1)) and maximised.
    ("reduce_int", 13,
     [helper.make_node("Greater", ["x", "zero"], ["pos"]),
      helper.make_node("Cast", ["pos"], ["n"], to=TensorProto.INT64),
      helper.make_node("ReduceSum", ["n", "axes"], ["count"], keepdims=0),
      helper.make_node("ReduceMax", ["n"], ["most"], axes=[-1], keepdims=0),
      helper.make_node("Mul", ["count", "most"], ["c"]),
      helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)],
     [("zero", np.array(0.0, np.float32)), ("axes", ints(-1))], ["y"],
     lambda x: [((x > 0).sum(-1) * (x > 0).max(-1)).astype(np.float32)]),
    # Before opset 13 Softmax normalises 2-D rows: dims [axis, rank) as one.
    ("softmax_2d_rows", 11, [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [], ["y"],
     lambda x: [np.exp(x - x.max((1, 2), keepdims=True)) /
                np.exp(x - x.max((1, 2), keepdims=True)).sum((1, 2), keepdims=True)]),
    ("log_softmax_default_axis", 11, [helper.make_node("LogSoftmax", ["x"], ["y"])], [], ["y"],
     lambda x: [x - x.max((1, 2), keepdims=True) -
                np.log(np.exp(x - x.max((1, 2), keepdims=True)).sum((1, 2), keepdims=True))]),
    # Before opset 11 Pad's pads and value are attributes.
    ("pad_attributes", 7,
     [helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 0, 0, 2, 3], value=0.5)], [], ["y"],
     lambda x: [np.pad(x, ((0, 0), (1, 2), (0, 3)), constant_values=0.5)]),
    # Before opset 11 Clip's bounds are attributes (they were ignored:
    # the input came back unclipped); one left out does not bound.
    ("clip_attributes", 7,
     [helper.make_node("Clip", ["x"], ["a"], min=-0.5, max=1.0),
      helper.make_node("Clip", ["x"], ["b"], min=0.25),
      helper.make_node("Clip", ["x"], ["c"], max=-0.25),
      helper.make_node("Sum", ["a", "b", "c"], ["y"])], [], ["y"],
     lambda x: [np.clip(x, -0.5, 1.0) + np.maximum(x, 0.25) + np.minimum(x, -0.25)]),
    # Before opset 10 Slice's starts, ends and axes are attributes (it was
    # refused); a slice of Shape still folds into a Reshape's shape.
    ("slice_attributes", 9,
     [helper.make_node("Slice", ["x"], ["a"], starts=[1, 0], ends=[1000, -1], axes=[1, 2]),
      helper.make_node("Shape", ["x"], ["s"]),
      helper.make_node("Slice", ["s"], ["b"], starts=[0], ends=[1]),
      helper.make_node("Concat", ["b", "minus_one"], ["shape"], axis=0),
      helper.make_node("Reshape", ["x", "shape"], ["r"])],
     [("minus_one", ints(-1))], ["a", "r"],
     lambda x: [x[:, 1:, :-1], x.reshape(x.shape[0], -1)]),
    # Sines of large arguments (positions times frequencies): exact
    # argument reduction; 0 past 2^31 and 1e-3 errors at 1e5 before.
    ("sin_cos_large", 17,
     [helper.make_node("Mul", ["x", "big"], ["a"]), helper.make_node("Sin", ["a"], ["s"]),
      helper.make_node("Mul", ["x", "huge"], ["b"]), helper.make_node("Cos", ["b"], ["c"]),
      helper.make_node("Add", ["s", "c"], ["y"])],
     [("big", np.array(3e4, np.float32)), ("huge", np.array(2e9, np.float32))], ["y"],
     lambda x: [np.sin((x.astype(np.float32) * np.float32(3e4)).astype(np.float64)) +
                np.cos((x.astype(np.float32) * np.float32(2e9)).astype(np.float64))]),
    # A shape made of Expand and Split of int64 constants (how
    # repeat_interleave's counts export), folded for the Reshape.
    ("shape_from_expand_split", 13,
     [helper.make_node("Expand", ["six", "two"], ["sixes"]),
      helper.make_node("Split", ["sixes"], ["a", "b"], axis=0),
      helper.make_node("Concat", ["minus_one", "a"], ["shape"], axis=0),
      helper.make_node("Reshape", ["x", "shape"], ["y"])],
     [("six", ints(6)), ("two", ints(2)), ("minus_one", ints(-1))], ["y"],
     lambda x: [x.reshape(-1, 6)]),
    # int64 constants folded on the host: a three-operand Min and a
    # one-operand Max (the fold took two operands, and read past one).
    ("min_max_constants", 13,
     [helper.make_node("Min", ["a", "b", "c"], ["m"]), helper.make_node("Max", ["a"], ["one"]),
      helper.make_node("Add", ["m", "one"], ["s"]),
      helper.make_node("Cast", ["s"], ["f"], to=TensorProto.FLOAT),
      helper.make_node("Add", ["x", "f"], ["y"])],
     [("a", ints(5, 1, 3, 0, -2, 7)), ("b", ints(4, 4, 4, 4, 4, 4)), ("c", ints(0, 9, 2, 8, -5, 1))],
     ["y"], lambda x: [x + np.array([5, 2, 5, 0, -7, 8])]),
    # Where between bool constants stays bool (it came out int64).
    ("where_bool_constants", 13,
     [helper.make_node("Where", ["cond", "t", "f"], ["w"]),
      helper.make_node("Not", ["w"], ["n"]),
      helper.make_node("Cast", ["n"], ["v"], to=TensorProto.FLOAT),
      helper.make_node("Add", ["x", "v"], ["y"])],
     [("cond", np.array([1, 1, 0, 0, 1, 0], bool)), ("t", np.array([1, 0, 1, 0, 1, 1], bool)),
      ("f", np.array([0, 0, 1, 1, 0, 0], bool))],
     ["y"], lambda x: [x + np.array([0, 1, 0, 0, 0, 1])]),
    # OneHot of float indices: only whole numbers hit (-1.0 counts from
    # depth); 0.5, -1.2 and 1.7 are off everywhere, not truncated.
    ("onehot_float_indices", 11,
     [helper.make_node("OneHot", ["ids", "depth", "values"], ["hot"]),
      helper.make_node("ReduceSum", ["hot"], ["v"], axes=[1], keepdims=0),
      helper.make_node("Add", ["x", "v"], ["y"])],
     [("ids", np.array([0.5, 1.0, -1.2, 2.0, 1.7, -1.0], np.float32)),
      ("depth", np.array(3.0, np.float32)), ("values", np.array([0.0, 1.0], np.float32))],
     ["y"], lambda x: [x + np.array([0, 1, 0, 1, 0, 1])]),
    # GroupNormalization over [B, 6, T] in 3 groups: opset 18 scales and
    # shifts per group, opset 21 per channel.
    ("group_norm_18", 18, group_norm_nodes(),
     [("s", GN_SCALE[:3]), ("b", GN_BIAS[:3])], ["y"],
     lambda x: [group_norm(x.transpose(0, 2, 1), 3, np.repeat(GN_SCALE[:3], 2),
                           np.repeat(GN_BIAS[:3], 2), 1e-3)]),
    ("group_norm_21", 21, group_norm_nodes(),
     [("s", GN_SCALE), ("b", GN_BIAS)], ["y"],
     lambda x: [group_norm(x.transpose(0, 2, 1), 3, GN_SCALE, GN_BIAS, 1e-3)]),
]

# Models convc refuses at compile time, with the words its error must hold.
REFUSED = [
    ("group_norm_4_groups", 21, group_norm_nodes(4), [("s", GN_SCALE), ("b", GN_BIAS)],
     "GroupNormalization's 6 channels do not split into 4 groups"),
    ("group_norm_18_per_channel", 18, group_norm_nodes(), [("s", GN_SCALE), ("b", GN_BIAS)],
     "GroupNormalization's scale and bias must be [3] (one per group before opset 21)"),
    ("group_norm_symbolic_c", 21, group_norm_nodes()[1:], [("s", GN_SCALE), ("b", GN_BIAS)],
     "GroupNormalization needs [N, C, ...] data with a static C"),
]


def main():
    tool, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = 0
    xf = os.path.join(work, "x.npy")
    np.save(xf, X)
    for name, opset, nodes, inits, outs, ref in CASES:
        path = os.path.join(work, name + ".onnx")
        with open(path, "wb") as f:
            f.write(model(nodes, [("x", ["B", "T", 6])], outs, opset,
                          inits).SerializeToString())
        want = ref(X.astype(np.float64))
        # ONNX Runtime has no bool Where kernel: numpy only there.
        use_ort = HAVE_ORT and name != "where_bool_constants"
        if use_ort:
            ort_dir = os.path.join(work, name + "_ort")
            subprocess.run(["node", os.path.join(BENCH, "ort_run.js"), path,
                            ort_dir, "x=" + xf], check=True, cwd=BENCH)
        for target in ["cpu", "gpu-kernels-on-cpu"]:
            lib = os.path.join(work, f"{name}_{target}.so")
            out = os.path.join(work, f"{name}_{target}")
            built = subprocess.run([tool, "compile", path, "-o", lib, "--quiet",
                                    "--target=" + target], capture_output=True, text=True)
            run = built if built.returncode else subprocess.run(
                [tool, "run", lib, "--input=x=" + xf, "--output-dir=" + out],
                capture_output=True, text=True)
            if run.returncode:
                print(f"{name:18} {target:19} FAILED: {run.stderr.strip()[-300:]}")
                failures += 1
                continue
            worst = 0.0
            for o, w in zip(outs, want):
                got = np.load(os.path.join(out, o + ".npy"))
                refs = [w] + ([np.load(os.path.join(ort_dir, o + ".npy"))] if use_ort else [])
                for r in refs:
                    worst = max(worst, float(np.abs(got - r).max())
                                if got.shape == r.shape else math.inf)
            print(f"{name:18} {target:19} opset {opset}: max difference {worst:.1e}"
                  + (" (numpy and ONNX Runtime)" if use_ort else " (numpy)"))
            failures += not worst <= 1e-5
    for name, opset, nodes, inits, says in REFUSED:
        path = os.path.join(work, name + ".onnx")
        with open(path, "wb") as f:
            f.write(model(nodes, [("x" if nodes[0].input[0] == "x" else "xt",
                                   ["B", "T", 6] if nodes[0].input[0] == "x" else ["B", "C", "T"])],
                          ["y"], opset, inits).SerializeToString())
        built = subprocess.run([tool, "compile", path, "-o", os.path.join(work, name + ".so"),
                                "--quiet"], capture_output=True, text=True)
        ok = built.returncode == 1 and says in built.stderr and "node 'gn'" in built.stderr
        print(f"{name:18} refused: {built.stderr.strip().splitlines()[-1] if built.stderr else ''}")
        failures += not ok
    print("PASS" if failures == 0 else f"FAIL: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
