"""Hand-built graphs whose sizes or values only go wrong at run time, each
run by convc and by ONNX Runtime: valid inputs give ONNX Runtime's numbers;
invalid ones fail the call (non-zero exit, no output file) with a message
naming the node, where before they read or wrote out of bounds, trapped
(SIGFPE) or gave wrong numbers with exit code 0:

- Concat of inputs whose symbolic non-axis sizes differ (wrote past the
  result), Gemm whose contracted symbolic sizes differ (read past A's rows),
  Gemm with beta 0 over a C holding NaN (NaN out) or with C omitted as ""
  (the importer crashed);
- Range with a run-time delta of 0 (SIGFPE), a span past int64 (an empty
  result), a float count that is infinite; integer Div and Mod by 0 and
  INT64_MIN / -1 (SIGFPE); an Expand to 2^63 elements (heap corruption: a
  compile error now);
- ScatterND at a constant index outside a symbolic dim (was clamped into
  it), a negative one (was refused, though valid);
- Slice and Gather of a bool mask (were refused), a Reshape of symbolic
  dims to a scalar (failed in the memref lowering);
- a Pad that crops past the end of a static dim into the other side's
  pads (was refused);
- a Conv after a Pad that crops as it pads, run on an input too short for
  the kernel (an empty output with exit code 0);
- Log of subnormal inputs (-87.3 for all: the polynomial clamped them to
  FLT_MIN) and LayerNormalization with epsilon 0 (was refused); a Softmax
  over a vocabulary of 20001 (took 19 s to compile at 20000); sums over
  long run-time axes (ReduceSum, LogSoftmax, MatMul), which rounded once
  per term; a Tanh before a Squeeze of a symbolic batch or a Conv of
  symbolic channels, which wrote past its buffer before the size check, and
  a 1-D Reshape to a constant size, which was not checked at all; Slice
  steps near INT64_MIN (the host folding overflowed negating them);
  fairseq's positional embedding from a constant table, raised to
  convc.embedding, on a sequence the table is too short for; a Reshape
  whose symbolic dims trade places (an expand_shape paired them: a wrong
  shape with exit code 0), and a -1 split off a symbolic dim that the
  other sizes do not divide ([7] -> [-1, 3] dropped an element).

On the CPU, the CPU with bounds checks and the GPU kernel loops.

usage: onnx_runtime_checks_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

import ort_compare as oc

I64, F32, BOOL = TP.INT64, TP.FLOAT, TP.BOOL
TARGETS = ["cpu", "cpu+bounds-checks", "gpu-kernels-on-cpu"]


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs],
                              [numpy_helper.from_array(v, n) for n, v in inits])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    return m


def concat():
    return model([helper.make_node("Concat", ["x", "z"], ["y"], axis=1, name="cat")],
                 [("x", F32, ["B", "T", 4]), ("z", F32, ["C", "U", 4])],
                 [("y", F32, None)])


def gemm():
    return model([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="gemm")],
                 [("x", F32, ["M", "K"]), ("w", F32, ["N", "L"])], [("y", F32, None)])


def gemm_beta0():
    return model([helper.make_node("Gemm", ["x", "w", "c"], ["y"], beta=0.0, name="gemm")],
                 [("x", F32, ["M", "K"]), ("w", F32, ["K", "N"]), ("c", F32, ["M", "N"])],
                 [("y", F32, None)])


def gemm_omitted_c():
    return model([helper.make_node("Gemm", ["x", "w", ""], ["y"], alpha=2.0, name="gemm")],
                 [("x", F32, ["M", "K"]), ("w", F32, ["K", "N"])], [("y", F32, None)])


def int_range():
    return model([helper.make_node("Range", ["s", "e", "d"], ["y"], name="range")],
                 [("s", I64, []), ("e", I64, []), ("d", I64, [])], [("y", I64, None)])


def float_range():
    return model([helper.make_node("Range", ["s", "e", "d"], ["y"], name="frange")],
                 [("s", F32, []), ("e", F32, []), ("d", F32, [])], [("y", F32, None)])


def div_mod():
    return model([helper.make_node("Div", ["a", "b"], ["q"], name="div"),
                  helper.make_node("Mod", ["a", "b"], ["r"], name="mod")],
                 [("a", I64, ["N"]), ("b", I64, ["N"])], [("q", I64, None), ("r", I64, None)])


def scatter_nd(index):
    idx = np.array([[0, index]], np.int64)
    upd = np.full((1, 4), 7.0, np.float32)
    return model([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], name="scatter")],
                 [("x", F32, ["B", "T", 4])], [("y", F32, None)], [("i", idx), ("u", upd)])


def bool_mask():
    """A padding mask sliced to the last 3 positions and gathered at 1,
    returned as float."""
    s = [("st", np.array([-3], np.int64)), ("en", np.array([2**62], np.int64)),
         ("ax", np.array([1], np.int64)), ("at", np.array([1], np.int64))]
    return model([helper.make_node("Equal", ["t", "pad"], ["m"]),
                  helper.make_node("Slice", ["m", "st", "en", "ax"], ["ms"], name="slice"),
                  helper.make_node("Gather", ["ms", "at"], ["mg"], axis=1, name="gather"),
                  helper.make_node("Cast", ["ms"], ["y"], to=F32),
                  helper.make_node("Cast", ["mg"], ["g"], to=F32)],
                 [("t", I64, ["B", "T"])], [("y", F32, None), ("g", F32, None)],
                 s + [("pad", np.array(1, np.int64))])


def to_scalar():
    return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="scalar")],
                 [("x", F32, ["B", "T"])], [("y", F32, None)],
                 [("shape", np.zeros((0,), np.int64))])


def cropped_conv():
    """Pad by +2 before and -1 (a crop) after the time, then a depthwise
    K = 3 conv: at T = 1 the padded input holds 2 < 3 positions."""
    w = rng.standard_normal((4, 1, 3)).astype(np.float32)
    return model([helper.make_node("Pad", ["x", "pads"], ["p"], name="crop"),
                  helper.make_node("Conv", ["p", "w"], ["y"], group=4, name="dw_conv")],
                 [("x", F32, ["B", 4, "T"])], [("y", F32, None)],
                 [("pads", np.array([0, 0, 2, 0, 0, -1], np.int64)), ("w", w)])


def pad_past_end():
    """Crops past the end of a static dim of 4, eating into the other side's
    pads: 2 pads then 5 off the end leave one pad value, 6 off the front
    then 3 pads leave one, 1 pad then 5 off the end leave nothing (was
    refused: "Pad crops 5 from dim 1 of size 4")."""
    pads = {"one_before": [0, 2, 0, -5], "one_after": [0, -6, 0, 3], "none": [0, 1, 0, -5]}
    return model([helper.make_node("Pad", ["x", name, "seven"], [f"y_{name}"], name=name)
                  for name in pads],
                 [("x", F32, [2, 4])], [(f"y_{name}", F32, None) for name in pads],
                 [(name, np.array(v, np.int64)) for name, v in pads.items()] +
                 [("seven", np.array(7, np.float32))])


def log():
    return model([helper.make_node("Log", ["x"], ["y"], name="log")],
                 [("x", F32, ["N"])], [("y", F32, None)])


def layer_norm_eps0():
    """eps = 0, as torch.nn.LayerNorm(eps=0) exports it (was refused)."""
    return model([helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=0.0,
                                   axis=-1, name="ln")],
                 [("x", F32, ["B", 8])], [("y", F32, None)],
                 [("g", f(8)), ("b", f(8))])


def vocabulary_softmax():
    """A Softmax over a static vocabulary of 20001 logits (not a multiple of
    the lanes): it compiled for 19 s at 20000, all chunks unrolled."""
    return model([helper.make_node("Softmax", ["x"], ["y"], axis=-1, name="softmax")],
                 [("x", F32, ["B", 20001])], [("y", F32, None)])


def long_sum():
    return model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0, name="sum")],
                 [("x", F32, ["N"])], [("y", F32, None)], [("axes", np.array([0], np.int64))])


def long_log_softmax():
    return model([helper.make_node("LogSoftmax", ["x"], ["y"], axis=-1, name="log_softmax")],
                 [("x", F32, ["B", "N"])], [("y", F32, None)])


def long_matmul():
    return model([helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul")],
                 [("a", F32, [1, "K"]), ("b", F32, ["K", 1])], [("y", F32, None)])


def squeeze_tanh():
    """torch's x.tanh().squeeze(0) with a symbolic batch."""
    return model([helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
                  helper.make_node("Squeeze", ["t", "axes"], ["y"], name="squeeze")],
                 [("x", F32, ["B", "T", 16])], [("y", F32, None)],
                 [("axes", np.array([0], np.int64))])


def tanh_conv():
    return model([helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
                  helper.make_node("Conv", ["t", "w"], ["y"], pads=[1, 1], name="conv")],
                 [("x", F32, ["B", "C", "T"])], [("y", F32, None)], [("w", f(4, 4, 3))])


def reshape_1d():
    return model([helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
                  helper.make_node("Reshape", ["t", "shape"], ["r"], name="resh"),
                  helper.make_node("Tanh", ["r"], ["y"], name="tanh2")],
                 [("x", F32, ["N"])], [("y", F32, None)], [("shape", np.array([6], np.int64))])


def huge_steps():
    """Slices whose steps are near INT64_MIN: of the input (an op) and of
    a constant (folded on the host, where -step overflowed)."""
    big = np.array([-2**63 + 1], np.int64)
    return model([helper.make_node("Slice", ["x", "s", "e", "a", "k"], ["y"], name="slice_x"),
                  helper.make_node("Slice", ["c", "s", "e", "z", "k"], ["w"], name="slice_c")],
                 [("x", F32, ["B", 6])], [("y", F32, None), ("w", I64, None)],
                 [("c", np.arange(10, 70, 10, dtype=np.int64)), ("s", np.array([4], np.int64)),
                  ("e", np.array([-2**63], np.int64)), ("a", np.array([1], np.int64)),
                  ("z", np.array([0], np.int64)), ("k", big)])


def huge_expand():
    return model([helper.make_node("Expand", ["x", "shape"], ["y"], name="huge")],
                 [("x", F32, [1, 1])], [("y", F32, None)],
                 [("shape", np.array([2, 2**62], np.int64))])


def swapped_view():
    """Reshape of a [n1, n2] grid (sizes from two Ranges, no graph-input
    dims) to Concat(Shape[1], Shape[0], -1): the -1 is 1, but the dims
    trade places, so no expand_shape may pair n1 with n2 (it did, giving
    a [2, 3, 1] result where ONNX Runtime gives [3, 2, 1])."""
    scalar = lambda name, v: (name, np.array(v, np.int64))
    return model([
        helper.make_node("Range", ["z", "n1", "o"], ["r1"], name="range1"),
        helper.make_node("Range", ["z", "n2", "o"], ["r2"], name="range2"),
        helper.make_node("Unsqueeze", ["r1", "axes1"], ["c1"], name="c1"),
        helper.make_node("Unsqueeze", ["r2", "axes0"], ["c2"], name="c2"),
        helper.make_node("Mul", ["c1", "n2"], ["c1s"], name="scale"),
        helper.make_node("Add", ["c1s", "c2"], ["x"], name="grid"),
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "one"], ["d1"], name="g1", axis=0),
        helper.make_node("Gather", ["s", "z"], ["d0"], name="g0", axis=0),
        helper.make_node("Unsqueeze", ["d1", "axes0"], ["u1"], name="u1"),
        helper.make_node("Unsqueeze", ["d0", "axes0"], ["u0"], name="u0"),
        helper.make_node("Concat", ["u1", "u0", "last"], ["shp"], name="cat", axis=0),
        helper.make_node("Reshape", ["x", "shp"], ["view"], name="swap"),
        helper.make_node("Mul", ["view", "weights"], ["y"], name="weigh")],
        [("n1", I64, []), ("n2", I64, [])], [("y", I64, None)],
        [scalar("z", 0), scalar("o", 1), scalar("one", 1), ("axes0", i64(0)),
         ("axes1", i64(1)), ("last", i64(-1)), ("weights", np.array([[1], [10]], np.int64))])


def split_by_three():
    return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="split3")],
                 [("x", F32, ["L"])], [("y", F32, None)],
                 [("shape", np.array([-1, 3], np.int64))])


def shape_entries(*entries, opset=13):
    """Nodes computing Shape(x)'s entries and their Concat `shape`: each
    entry is ("dim", i), ("half", i) (Shape(x)[i] / 2), ("minus1", i)
    (Shape(x)[i] - 1) or ("const", c)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"])]
    parts = []
    for k, (kind, v) in enumerate(entries):
        out = f"e{k}"
        if kind == "const":
            nodes.append(helper.make_node("Constant", [], [out], value=numpy_helper.from_array(
                np.array([v], np.int64), out)))
        else:
            nodes += [helper.make_node("Constant", [], [f"i{k}"], value=numpy_helper.from_array(
                          np.array([v], np.int64), f"i{k}")),
                      helper.make_node("Gather", ["s", f"i{k}"], [f"g{k}"])]
            if kind == "dim":
                nodes.append(helper.make_node("Identity", [f"g{k}"], [out]))
            else:
                nodes += [helper.make_node("Constant", [], [f"c{k}"], value=numpy_helper.from_array(
                              np.array([2 if kind == "half" else 1], np.int64), f"c{k}")),
                          helper.make_node("Div" if kind == "half" else "Sub",
                                           [f"g{k}", f"c{k}"], [out])]
        parts.append(out)
    nodes.append(helper.make_node("Concat", parts, ["shape"], axis=0))
    return nodes


def halved_view():
    """[a, b] viewed as [a, b / 2, 2] by Shape arithmetic (a group whose
    sizes no analysis relates): an odd b was a truncated view, exit 0."""
    return model(shape_entries(("dim", 0), ("half", 1), ("const", 2)) +
                 [helper.make_node("Reshape", ["x", "shape"], ["y"], name="halve")],
                 [("x", F32, ["a", "b"])], [("y", F32, None)], opset=13)


def static_by_computed():
    """A static x[4, 6] viewed as [-1, n], n = Shape(y)[0] computed at run
    time: the static inference multiplied the dynamic size's marker
    (INT64_MIN, undefined behaviour) and refused the model."""
    nodes = [helper.make_node("Shape", ["y"], ["s"]),
             helper.make_node("Concat", ["minus_one", "s"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["z"], name="by_n")]
    return model(nodes, [("x", F32, [4, 6]), ("y", F32, ["N"])], [("z", F32, None)],
                 [("minus_one", np.array([-1], np.int64))], opset=13)


def computed_zero():
    """[a, b] viewed as [b - 1, -1]: at b = 1 the 0 copies a (ONNX's rule
    without allowzero), which gave an error, not [a, 1]."""
    return model(shape_entries(("minus1", 1), ("const", -1)) +
                 [helper.make_node("Reshape", ["x", "shape"], ["y"], name="view")],
                 [("x", F32, ["a", "b"])], [("y", F32, None)], opset=13)


def infer_against_zero():
    """x[:, k:] (empty for k >= T) viewed as [-1, 4, T - k]: ONNX Runtime
    refuses to infer a -1 against a 0; convc made up [2 * B, 4, 0]."""
    nodes = [helper.make_node("Slice", ["x", "start", "end", "axis"], ["cut"]),
             helper.make_node("Shape", ["cut"], ["s"]),
             helper.make_node("Gather", ["s", "two"], ["t"]),
             helper.make_node("Concat", ["minus_one_four", "t"], ["shape"], axis=0),
             helper.make_node("Reshape", ["cut", "shape"], ["y"], name="view")]
    return model(nodes, [("x", F32, ["B", 8, "T"])], [("y", F32, None)],
                 [("start", np.array([5], np.int64)), ("end", np.array([2 ** 62], np.int64)),
                  ("axis", np.array([2], np.int64)), ("two", np.array([2], np.int64)),
                  ("minus_one_four", np.array([-1, 4], np.int64))], opset=13)


def split_in_two():
    return model([helper.make_node("Split", ["x"], ["y0", "y1"], axis=1, name="halves")],
                 [("x", F32, ["a", "b"])], [("y0", F32, None), ("y1", F32, None)], opset=13)


def table_positions():
    """fairseq's SinusoidalPositionalEmbedding with an 8-row table (pad 1):
    raised to convc.embedding, which has no table end, so a sequence of 7
    tokens (positions up to 8) fails the call as the Gather would."""
    import io
    import math
    import torch

    class Embed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            half = 4
            w = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000) / (half - 1)))
            angles = torch.arange(8, dtype=torch.float).unsqueeze(1) * w.unsqueeze(0)
            table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
            table[1] = 0
            self.register_buffer("table", table)
            self.register_buffer("E", torch.randn(5, 8, generator=torch.Generator().manual_seed(3)))
            self.E[1] = 0

        def forward(self, tokens):
            mask = tokens.ne(1).int()
            positions = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + 1
            pe = self.table.index_select(0, positions.view(-1)).view(tokens.size(0),
                                                                     tokens.size(1), -1)
            return 2.0 * torch.nn.functional.embedding(tokens, self.E) + pe

    buffer = io.BytesIO()
    torch.onnx.export(Embed(), (torch.tensor([[2, 3]]),), buffer, opset_version=13,
                      input_names=["tokens"], output_names=["y"],
                      dynamic_axes={"tokens": {0: "B", 1: "T"}})
    return onnx.load_from_string(buffer.getvalue())


rng = np.random.default_rng(5)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
i64 = lambda *v: np.array(v, np.int64)
s64 = lambda v: np.array(v, np.int64)  # rank 0
# name, model, feeds, the words convc's error must hold (None: match ORT),
# and the tolerance when not 1e-6.
CASES = [
    ("concat_ok", concat, {"x": f(2, 3, 4), "z": f(2, 2, 4)}, None),
    ("concat_short", concat, {"x": f(2, 3, 4), "z": f(1, 2, 4)},
     "node 'cat': Concat input 1 ('z') has 1 in dim 0 where input 0 ('x') has 2"),
    ("concat_long", concat, {"x": f(2, 3, 4), "z": f(3, 2, 4)}, "('z') has 3 in dim 0"),
    ("gemm_ok", gemm, {"x": f(2, 3), "w": f(5, 3)}, None),
    ("gemm_k", gemm, {"x": f(2, 50), "w": f(5, 3)},
     "node 'gemm': Gemm contracts A's dim 1 (50) with B's dim 1 (3)"),
    # beta 0 drops C, NaNs included (was NaN everywhere); an omitted C ("")
    # crashed the importer.
    ("gemm_beta0_nan", gemm_beta0, {"x": f(2, 3), "w": f(3, 4),
                                    "c": np.full((2, 4), np.nan, np.float32)}, None),
    ("gemm_omitted_c", gemm_omitted_c, {"x": f(2, 3), "w": f(3, 4)}, None),
    ("range_ok", int_range, {"s": s64(-3), "e": s64(9), "d": s64(4)}, None),
    ("range_zero", int_range, {"s": s64(0), "e": s64(5), "d": s64(0)},
     "node 'range': Range delta is 0"),
    ("range_span", int_range, {"s": s64(-2**62), "e": s64(2**62), "d": s64(2**61)},
     "does not fit int64"),
    ("frange_ok", float_range, {"s": np.array(0.5, np.float32), "e": np.array(3, np.float32),
                                "d": np.array(0.5, np.float32)}, None),
    ("frange_inf", float_range, {"s": np.array(0, np.float32),
                                 "e": np.array(np.inf, np.float32),
                                 "d": np.array(1, np.float32)}, "node 'frange': Range's element"),
    ("divmod_ok", div_mod, {"a": i64(7, -7, 9), "b": i64(2, 2, -4)}, None),
    ("div_zero", div_mod, {"a": i64(7, 1), "b": i64(2, 0)}, "integer Div of 1 by 0"),
    ("div_min", div_mod, {"a": i64(-2**63), "b": i64(-1)}, "by -1"),
    ("scatter_last", lambda: scatter_nd(-1), {"x": f(2, 3, 4)}, None),
    ("scatter_first", lambda: scatter_nd(0), {"x": f(1, 2, 4)}, None),
    ("scatter_past", lambda: scatter_nd(5), {"x": f(2, 3, 4)},
     "node 'scatter': ScatterND index 5 is out of range for a dim of size 3"),
    ("scatter_before", lambda: scatter_nd(-4), {"x": f(2, 3, 4)}, "ScatterND index -4"),
    ("bool_mask", bool_mask, {"t": i64([5, 1, 1, 7], [1, 3, 4, 1])}, None),
    ("crop_conv_ok", cropped_conv, {"x": f(2, 4, 5)}, None),
    ("crop_conv_short", cropped_conv, {"x": f(2, 4, 1)},
     "node 'dw_conv': Conv input padded to 2 in spatial dim 0 is shorter than the kernel's span 3"),
    ("pad_past_end", pad_past_end, {"x": f(2, 4)}, None),
    ("to_scalar", to_scalar, {"x": f(1, 1)}, None),
    # Subnormal inputs: the log polynomial clamped them to FLT_MIN (-87.3).
    ("log_subnormal", log, {"x": np.array([1e-45, 1e-42, 1e-40, 5e-39, 1.1e-38, 0.5, 3.0],
                                          np.float32)}, None),
    ("layer_norm_eps0", layer_norm_eps0, {"x": f(3, 8)}, None),
    # ONNX Runtime's own sum is 1.1e-6 off float64 here; the GPU loops'
    # f32 one-by-one sum was 1.4e-5 off.
    ("vocabulary_softmax", vocabulary_softmax, {"x": 5 * f(2, 20001)}, None, 3e-6),
    # Sums over long run-time axes, where one f32 rounding per term made
    # 2^24 + 4096 ones sum to 2^24 (rel. errors 2.4e-4, 1.5e-5, 2.4e-4).
    ("long_sum", long_sum, {"x": np.ones(2**24 + 4096, np.float32)}, None),
    ("long_log_softmax", long_log_softmax, {"x": np.zeros((1, 2**24 + 4096), np.float32)},
     None),
    ("long_matmul", long_matmul, {"a": np.ones((1, 2**24 + 4096), np.float32),
                                  "b": np.ones((2**24 + 4096, 1), np.float32)}, None),
    # Sizes a check establishes (a squeezed batch of 1, a channel count)
    # were cast into the producing Tanh, which then wrote three rows (eight
    # channels) into a buffer of one (four) before the check ran.
    ("squeeze_ok", squeeze_tanh, {"x": f(1, 5, 16)}, None),
    ("squeeze_batch_3", squeeze_tanh, {"x": f(3, 5, 16)},
     "node 'squeeze': Squeeze axis 0 has size 3, not 1"),
    ("conv_ok", tanh_conv, {"x": f(2, 4, 5)}, None),
    ("conv_8_channels", tanh_conv, {"x": f(2, 8, 5)},
     "node 'conv': Conv input has 8 channels, the weights take 4"),
    # A 1-D Reshape to a constant size was a cast: 5 elements read a 6th
    # (uninitialised), 9 lost 3, exit code 0.
    ("reshape_1d_ok", reshape_1d, {"x": f(6)}, None),
    ("reshape_1d_short", reshape_1d, {"x": f(5)},
     "node 'resh': a tensor of 5 elements cannot be reshaped to 6"),
    ("reshape_1d_long", reshape_1d, {"x": f(9)}, "a tensor of 9 elements"),
    ("huge_steps", huge_steps, {"x": f(3, 6)}, None),
    # [L] -> [-1, 3] with L = 7 dropped an element (an unchecked
    # expand_shape to [2, 3]); ONNX Runtime refuses it.
    ("halved_view_ok", halved_view, {"x": f(3, 4)}, None),
    ("halved_view_odd", halved_view, {"x": f(3, 5)},
     "node 'halve': input dims of 5 elements would become sizes of 4"),
    ("static_by_computed_ok", static_by_computed, {"x": f(4, 6), "y": f(3)}, None),
    ("static_by_computed_uneven", static_by_computed, {"x": f(4, 6), "y": f(5)},
     "node 'by_n': a tensor of 24 elements cannot be reshaped to 20"),
    ("computed_zero_copies", computed_zero, {"x": f(3, 1)}, None),
    ("computed_zero_other", computed_zero, {"x": f(3, 4)}, None),
    ("infer_against_zero_ok", infer_against_zero, {"x": f(2, 8, 7)}, None),
    ("infer_against_zero", infer_against_zero, {"x": f(2, 8, 5)},
     "node 'view': Reshape cannot infer its -1 entry when another size is 0"),
    ("split_in_two_even", split_in_two, {"x": f(2, 4)}, None),
    ("split_in_two_odd", split_in_two, {"x": f(2, 3)},
     "node 'halves': Split of 3 into 2 equal parts (uneven splits need opset 18)"),
    ("split3_ok", split_by_three, {"x": f(9)}, None),
    ("split3_short", split_by_three, {"x": f(7)},
     "node 'split3': a tensor of 7 elements cannot be reshaped to 6"),
    ("swapped_view", swapped_view, {"n1": s64(2), "n2": s64(3)}, None),
    ("table_positions_ok", table_positions, {"tokens": i64([2, 3, 4, 0, 2, 3], [1, 1, 4, 4, 3, 2])},
     None, 2e-6),
    ("table_positions_past", table_positions, {"tokens": i64([2, 3, 4, 0, 2, 3, 4])},
     "a sequence of 7 tokens may read a position past the sinusoid table's 8 rows"),
    ("to_scalar_2", to_scalar, {"x": f(2, 1)}, "node 'scalar': a tensor of 2 elements"),
]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, work = sys.argv[1], sys.argv[2]
    skip = oc.skip_without_ort()
    if skip is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    failures = []
    for name, build, feeds, says, *tolerance in CASES:
        path = os.path.join(work, f"{name}.onnx")
        onnx.save(build(), path)
        files = oc.save_inputs(work, name, feeds)
        ort_dir = os.path.join(work, f"{name}_ort")
        ort = oc.run_ort(path, files, ort_dir)
        if says is None and ort.returncode:
            failures.append(f"{name}: ONNX Runtime refused it: {ort.stderr[-300:]}")
            continue
        for target in TARGETS:
            lib = os.path.join(work, f"{name}.{target}.so")
            built = oc.compile_model(tool, path, lib, target)
            where = f"{name} [{target}]"
            if built.returncode:
                failures.append(f"{where}: compile failed: {built.stderr.strip()[-300:]}")
                continue
            out = os.path.join(work, f"{name}_{target}")
            shutil.rmtree(out, ignore_errors=True)
            got = oc.run_convc(tool, lib, files, out)
            if says is not None:
                wrote = os.path.isdir(out) and os.listdir(out)
                if got.returncode <= 0 or got.returncode > 1 or wrote or says not in got.stderr:
                    failures.append(f"{where}: rc {got.returncode}, outputs {wrote}, not "
                                    f"refused with '{says}': {got.stderr.strip()[-300:]}")
                else:
                    print(f"  {where}: refused: {got.stderr.strip().splitlines()[-1]}")
                continue
            if got.returncode:
                failures.append(f"{where}: rc {got.returncode}: {got.stderr.strip()[-300:]}")
                continue
            for output in sorted(os.listdir(ort_dir)):
                have = np.load(os.path.join(out, output))
                want = np.load(os.path.join(ort_dir, output))
                err = oc.rel_error(have, want)
                print(f"  {where} {output}: rel. error {err:.1e}")
                if not err <= (tolerance[0] if tolerance else 1e-6):
                    failures.append(f"{where} {output}: {have.shape} vs {want.shape}, "
                                    f"rel. error {err:.2e}")
    # Sizes no machine holds are a compile error naming the node, and so is
    # a crop of INT64_MIN (fuzzed: negated past int64 in the importer).
    crop_min = model([helper.make_node("Pad", ["x", "pads"], ["y"], name="crop_min")],
                     [("x", F32, [2, 4])], [("y", F32, None)],
                     [("pads", np.array([0, 1, 0, -2**63], np.int64))])
    for name, graph, says in [("huge", huge_expand(), "2^47 bytes"),
                              ("crop_min", crop_min, "more than any tensor holds")]:
        path = os.path.join(work, f"{name}.onnx")
        onnx.save(graph, path)
        built = oc.compile_model(tool, path, os.path.join(work, f"{name}.so"))
        if built.returncode == 0 or f"node '{name}'" not in built.stderr or \
                says not in built.stderr:
            failures.append(f"{name}: not refused at compile time: "
                            f"{built.stderr.strip()[-300:]}")
        else:
            print(f"  {name}: {built.stderr.strip().splitlines()[-1]}")
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
