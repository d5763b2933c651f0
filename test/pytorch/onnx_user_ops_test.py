"""Ops that model code reaches for outside convc_torch's blocks, exported the
way users write them (torch.onnx.export, opset 14-17, symbolic batch and
time): a causal mask from torch.triu / torch.tril (Trilu), greedy tokens
from argmax / argmin (ArgMax, ArgMin: int64 outputs), attention scores and
contexts through torch.einsum (batched, with heads, with an ellipsis, a
diagonal, a sum over a label), top-k scores and positions and torch.sort
(TopK by passes and by sorting), a
speech-style conv block (BatchNorm1d, Hardswish, PReLU, GroupNorm, a
global average, Mish), logsumexp, F.normalize, repeat and the other
activations, pooling over time (MaxPool with indices, AveragePool with
ceil_mode), scatter / scatter_add at token ids (ScatterElements), and the
last step and a mean over time squeezed (torch exports squeeze of a
symbolic dim as an If on its size), one_hot and the inverse trigonometric
functions, F.pad by an amount computed from the length, and in-place writes
with run-time indices (ScatterND), upsampling in time (ConvTranspose1d and
2d: strides, groups, dilation, output_padding). Each is
checked against ONNX Runtime at two shapes (one with a batch of 1) on the
CPU, the CPU with bounds checks and the GPU kernel loops, and compiled for
CUDA where the toolkit is. An Einsum whose label has two different symbolic
sizes, and a Tile to more memory than any machine has, fail the call naming
the node, and so does a squeeze of the symbolic time dim run at T = 5
(compiled for the If branch of T = 1, the size it was written for), and a
ScatterND at a row past the end.

usage: onnx_user_ops_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import math
import os
import sys
import warnings

import numpy as np
import torch

import ort_compare as oc

C = 4


class CausalAttention(torch.nn.Module):
    """Scores by einsum, future positions masked with a triu mask."""
    def forward(self, x):
        T = x.shape[1]
        scores = torch.einsum("btc,bsc->bts", x, x) / math.sqrt(C)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return torch.einsum("bts,bsc->btc", weights, x)


class BandedTril(torch.nn.Module):
    """tril with a negative and triu with a positive diagonal on a Gram
    matrix of the time steps."""
    def forward(self, x):
        gram = x @ x.transpose(1, 2)
        return torch.tril(gram, diagonal=-1) + 2 * torch.triu(gram, diagonal=2)


class GreedyTokens(torch.nn.Module):
    """The argmax of a vocabulary projection: int64 token ids."""
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(C, 11)

    def forward(self, x):
        return self.proj(x).argmax(dim=-1)


class QuietestStep(torch.nn.Module):
    """argmin over time, kept as a dim, used as an index."""
    def forward(self, x):
        at = x.abs().sum(-1).argmin(dim=1, keepdim=True)
        return torch.gather(x, 1, at.unsqueeze(-1).expand(-1, -1, C))


class HeadScores(torch.nn.Module):
    """Per-head scores and contexts with einsum over [B, T, H, D] views."""
    def forward(self, x):
        B, T, _ = x.shape
        q = x.view(B, T, 2, C // 2)
        w = torch.softmax(torch.einsum("bthd,bshd->bhts", q, q), dim=-1)
        return torch.einsum("bhts,bshd->bthd", w, q).reshape(B, T, C)


class EllipsisProjection(torch.nn.Module):
    """einsum('...c,cd->...d') with a weight, and a trace per batch."""
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(C, C))

    def forward(self, x):
        y = torch.einsum("...c,cd->...d", x, self.w)
        gram = torch.einsum("btc,btd->bcd", y, x)
        trace = torch.einsum("bii->b", gram)
        return y + trace[:, None, None] + torch.einsum("btc->bc", x)[:, None, :]


class TopScores(torch.nn.Module):
    """The 3 largest projections per step and their positions, as floats."""
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(C, 9)

    def forward(self, x):
        values, indices = torch.topk(self.proj(x), 3, dim=-1)
        smallest, _ = torch.topk(x, 2, dim=1, largest=False)
        return torch.cat([values, indices.float()], -1).sum(1, keepdim=True) + \
            smallest.sum(1, keepdim=True).sum(-1, keepdim=True)


class SortedScores(torch.nn.Module):
    """torch.sort over a projection (TopK with k = n: the sort path) and a
    top-40 (a constant k beyond the passes' 32), positions as floats."""
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(C, 48)

    def forward(self, x):
        scores = self.proj(x)
        ranked, order = torch.sort(scores, dim=-1, descending=True)
        best, at = torch.topk(scores, 40, dim=-1)
        return torch.cat([ranked, order.float(), best, at.float()], -1)


class BannedTokens(torch.nn.Module):
    """scatter_ of -100 at each step's best token (a repetition penalty),
    a one-hot by scatter, and scatter_add of steps into 3 buckets by
    position (duplicate indices summed)."""
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(C, 11)

    def forward(self, x):
        scores = self.proj(x)
        best = scores.argmax(-1, keepdim=True)
        banned = scores.scatter(-1, best, -100.0)
        one_hot = torch.zeros_like(scores).scatter(-1, best, 1.0)
        B, T, _ = x.shape
        bucket = (torch.arange(T, device=x.device) % 3).view(1, T, 1) + \
            torch.zeros_like(x, dtype=torch.long)
        sums = torch.zeros(B, 3, C, device=x.device).scatter_add(1, bucket, x)
        return torch.cat([banned + one_hot, sums.sum(1, keepdim=True).expand(B, T, C)], -1)


class ConvBatchNormBlock(torch.nn.Module):
    """A speech-style conv block: Conv1d, BatchNorm1d (eval), Hardswish,
    PReLU, GroupNorm (InstanceNormalization on a [N, groups, rest] view), a
    squeeze-excite gate from a global average, Mish."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(C, C, 3, padding=1)
        self.norm = torch.nn.BatchNorm1d(C)
        self.norm.running_mean.uniform_(-1, 1)
        self.norm.running_var.uniform_(0.5, 2)
        self.prelu = torch.nn.PReLU(C)
        self.group = torch.nn.GroupNorm(2, C)
        torch.nn.init.uniform_(self.group.weight, 0.5, 1.5)
        torch.nn.init.uniform_(self.group.bias, -0.5, 0.5)
        self.gate = torch.nn.Linear(C, C)
        self.eval()

    def forward(self, x):
        h = self.prelu(torch.nn.functional.hardswish(self.norm(self.conv(x.transpose(1, 2)))))
        h = self.group(h)
        s = torch.sigmoid(self.gate(torch.nn.functional.adaptive_avg_pool1d(h, 1).squeeze(-1)))
        return torch.nn.functional.mish(h * s.unsqueeze(-1)).transpose(1, 2)


class ScoresAndNorms(torch.nn.Module):
    """logsumexp of large logits, F.normalize (ReduceL2), repeat (Tile),
    softplus, selu, celu, softsign, hardsigmoid, sign and round."""
    def forward(self, x):
        big = 40 * x
        lse = torch.logsumexp(big, dim=-1, keepdim=True) + torch.logsumexp(big, dim=1)[:, None, :]
        unit = torch.nn.functional.normalize(x, dim=-1)
        tiled = x.repeat(1, 1, 2)[..., 1:C + 1]
        act = (torch.nn.functional.softplus(x) + torch.nn.functional.selu(x) +
               torch.nn.functional.celu(x, 0.5) + torch.nn.functional.softsign(x) +
               torch.nn.functional.hardsigmoid(x))
        return lse + unit + tiled + act + torch.sign(x) + torch.round(3 * x)


class PooledEncoder(torch.nn.Module):
    """Subsampling by pooling over time: MaxPool1d with padding and stride,
    AvgPool1d with ceil_mode (with and without the padding counted), a
    dilated MaxPool1d that also returns its indices."""
    def forward(self, x):
        h = x.transpose(1, 2)
        a = torch.nn.functional.max_pool1d(h, 3, stride=2, padding=1)
        b = torch.nn.functional.avg_pool1d(h, 3, stride=2, padding=1, ceil_mode=True)
        c = torch.nn.functional.avg_pool1d(h, 3, stride=2, padding=1, ceil_mode=True,
                                           count_include_pad=False)
        d, at = torch.nn.functional.max_pool1d(h, 2, stride=1, padding=1, dilation=2,
                                               return_indices=True)
        return torch.cat([a, b, c, d, at.float() / 10], dim=-1).transpose(1, 2)


class LastStepSqueezed(torch.nn.Module):
    """The last time step and the mean over time, each squeezed: If nodes
    on Shape(...)[1] == 1 with Squeeze and Identity branches."""
    def forward(self, x):
        return x[:, -1:].squeeze(1) * 2 + x.mean(1, keepdim=True).squeeze(1)


class OneHotAndTrig(torch.nn.Module):
    """one_hot of clamped ids (OneHot), numel (Shape, ReduceProd),
    softshrink and hardshrink, and atan, tan, asin, acos."""
    def forward(self, x):
        ids = x.abs().mul(3).long().clamp(max=5)
        hot = torch.nn.functional.one_hot(ids[..., 0], 6).float()
        n = x.numel() / x.shape[0]
        shrunk = torch.nn.functional.softshrink(x, 0.3) + torch.nn.functional.hardshrink(x, 0.2)
        trig = torch.atan(x) + torch.tan(x * 0.2) + torch.asin(torch.tanh(x)) + \
            torch.acos(torch.tanh(x) * 0.9)
        return torch.cat([hot, shrunk * n, trig], dim=-1)


class PaddedToBlocks(torch.nn.Module):
    """Time padded to a multiple of 4 computed from its length (Pad with
    pads from sizes, through torch's [n, 2] reordering of them), then
    blocks of 4 averaged."""
    def forward(self, x):
        B, T, _ = x.shape
        h = torch.nn.functional.pad(x, (0, 0, 0, (4 - T % 4) % 4))
        return h.view(B, -1, 4, C).mean(2)


class AssignedInForward(torch.nn.Module):
    """In-place writes whose indices only the run time knows (ScatterND):
    a column zeroed with a symbolic batch, a table built in forward with a
    row zeroed, and values added at token positions with duplicates
    (index_put with accumulate: reduction add)."""
    def forward(self, x):
        y = x.clone()
        y[:, 0] = 0.0
        table = torch.arange(2 * C, dtype=torch.float).view(2, C).repeat(2, 1)
        table[1, :] = 0
        B, T, _ = x.shape
        pos = (x[..., 0].abs() * 2).long().clamp(max=T - 1)
        rows = torch.arange(B).unsqueeze(1).expand(B, T)
        acc = torch.zeros(B, T).index_put((rows, pos), x[..., 1], accumulate=True)
        return y + table[1:2] + table[3:4] + acc.unsqueeze(-1)


class UpsampledInTime(torch.nn.Module):
    """Upsampling in time by ConvTranspose1d: stride 2 (the usual 2x),
    then grouped, dilated, stride 3 with output_padding, then no bias."""

    def __init__(self):
        super().__init__()
        self.up = torch.nn.ConvTranspose1d(C, 6, 4, stride=2, padding=1)
        self.grouped = torch.nn.ConvTranspose1d(6, 6, 3, stride=3, padding=2, dilation=2,
                                                groups=2, output_padding=1)
        self.back = torch.nn.ConvTranspose1d(6, C, 1, bias=False)

    def forward(self, x):
        return self.back(self.grouped(self.up(x.transpose(1, 2)))).transpose(1, 2)


class UpsampledPlane(torch.nn.Module):
    """ConvTranspose2d over [B, 1, T, C]: time doubled, channels kept."""

    def __init__(self):
        super().__init__()
        self.up = torch.nn.ConvTranspose2d(1, 2, (3, 2), stride=(2, 1), padding=(1, 0),
                                           output_padding=(1, 0))

    def forward(self, x):
        return self.up(x.unsqueeze(1)).sum(1)


MODULES = [(CausalAttention, 14), (BandedTril, 14), (GreedyTokens, 13),
           (QuietestStep, 13), (HeadScores, 13), (EllipsisProjection, 13),
           (TopScores, 13), (SortedScores, 13), (ConvBatchNormBlock, 14),
           (ScoresAndNorms, 14), (PooledEncoder, 13), (BannedTokens, 16),
           (LastStepSqueezed, 13), (OneHotAndTrig, 15), (PaddedToBlocks, 14),
           (AssignedInForward, 16), (UpsampledInTime, 13), (UpsampledPlane, 17)]


def save_model(work, name, graph, opset):
    """GRAPH as WORK/NAME.onnx at OPSET; its path."""
    from onnx import helper
    path = os.path.join(work, name + ".onnx")
    with open(path, "wb") as f:
        f.write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
                .SerializeToString())
    return path


def expect_refused(tool, work, name, path, x, messages):
    """Compiles PATH for the CPU and the GPU kernel loops and runs it on X:
    the call must fail (rc 1) with every one of MESSAGES in its error."""
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"{name}.{target}.so")
        built = oc.compile_model(tool, path, lib, target, ["--quiet"])
        if built.returncode:
            failures.append(f"{name} [{target}]: compile failed: {built.stderr[-300:]}")
            continue
        files = oc.save_inputs(work, name, {"x": x})
        got = oc.run_convc(tool, lib, files, os.path.join(work, name + "_out"))
        said = got.stderr.strip().splitlines()[-1:] or [""]
        print(f"  {name} [{target}]: rc {got.returncode}: {said[0]}")
        if got.returncode != 1 or not all(m in got.stderr for m in messages):
            failures.append(f"{name} [{target}]: not refused with {messages}")
    return failures


def check_label_sizes(tool, work):
    """'btc,btc->bc' of x and x[:, 1:]: t is T in one and T - 1 in the other."""
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("Slice", ["x", "one", "end", "axis"], ["later"]),
         helper.make_node("Einsum", ["x", "later"], ["y"], equation="btc,btc->bc")],
        "mismatched",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", C])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([v], np.int64), n)
                     for n, v in [("one", 1), ("end", 2 ** 62), ("axis", 1)]])
    path = save_model(work, "mismatched", graph, 13)
    return expect_refused(tool, work, "mismatched", path, np.ones((2, 5, C), np.float32),
                          ["Einsum's 't' has size 4 in input 1 and 5 in input 0"])


def check_huge_allocation(tool, work):
    """Tile of a symbolic [A, B] 2^44 times: 4e14 bytes, beyond any address
    space; the call fails naming the node and the sizes, before allocating
    (a null buffer crashed before; a byte count past 2^64 wrapped)."""
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("Tile", ["x", "repeats"], ["y"], name="tile_rows")], "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["A", "B"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([2 ** 44, 1], np.int64), "repeats")])
    path = save_model(work, "huge", graph, 13)
    return expect_refused(tool, work, "huge", path, np.ones((2, 3), np.float32),
                          ["node 'tile_rows': a buffer of", "would pass 2^47 bytes"])


class SqueezeTime(torch.nn.Module):
    def forward(self, x):
        return x.squeeze(1) * 3


def check_squeeze_branch(tool, work):
    """x.squeeze(1) with T symbolic: If(T == 1, Squeeze, Identity). convc
    compiles the branch the squeeze was written for (T = 1), which matches
    ONNX Runtime; T = 5 fails the call naming the If (its rank-3 result
    would not fit the compiled graph)."""
    path = os.path.join(work, "squeeze_time.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(SqueezeTime(), (torch.randn(2, 1, C),), path, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "B", 1: "T"}},
                          opset_version=13)
    rng = np.random.default_rng(1)
    at_one = [rng.standard_normal((B, 1, C)).astype(np.float32) for B in (1, 3)]
    failures = oc.check_export(tool, work, "squeeze_time", path, at_one, 1e-6, ["--quiet"])[0]
    return failures + expect_refused(tool, work, "squeeze_time", path,
                                     np.ones((2, 5, C), np.float32),
                                     ["If was compiled for its then branch"])


def check_threshold_branch(tool, work):
    """If(T > 10) (a torch.jit.script `if x.size(1) > 10`): no size convc
    probes takes the then branch, so the else branch alone is compiled and
    the compile warns, naming the node; T = 5 matches ONNX Runtime and
    T = 13 fails the call naming it."""
    from onnx import TensorProto, helper, numpy_helper
    f = TensorProto.FLOAT
    branch = lambda name, op, k: helper.make_graph(
        [helper.make_node(op, ["x", k], [name + "_y"])], name, [],
        [helper.make_tensor_value_info(name + "_y", f, None)])
    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["shape"]),
         helper.make_node("Gather", ["shape", "one"], ["t"]),
         helper.make_node("Greater", ["t", "ten"], ["long"]),
         helper.make_node("If", ["long"], ["y"], name="long_inputs",
                          then_branch=branch("then", "Mul", "two"),
                          else_branch=branch("else", "Sub", "two"))],
        "threshold", [helper.make_tensor_value_info("x", f, ["B", "T", C])],
        [helper.make_tensor_value_info("y", f, ["B", "T", C])],
        initializer=[numpy_helper.from_array(np.array(1, np.int64), "one"),
                     numpy_helper.from_array(np.array(10, np.int64), "ten"),
                     numpy_helper.from_array(np.array(2, np.float32), "two")])
    path = save_model(work, "threshold", graph, 13)
    failures = []
    built = oc.compile_model(tool, path, os.path.join(work, "threshold.so"), "cpu", ["--quiet"])
    warning = "node 'long_inputs'"
    if built.returncode or "If on sizes is compiled for its else branch alone" not in \
            built.stderr or warning not in built.stderr:
        failures.append(f"threshold: no warning naming the node: {built.stderr[-300:]}")
    rng = np.random.default_rng(2)
    short = [rng.standard_normal((B, 5, C)).astype(np.float32) for B in (1, 3)]
    failures += oc.check_export(tool, work, "threshold", path, short, 1e-6, ["--quiet"])[0]
    return failures + expect_refused(tool, work, "threshold", path,
                                     np.ones((2, 13, C), np.float32),
                                     ["node 'long_inputs': If was compiled for its else branch"])


def check_scatter_past_end(tool, work):
    """ScatterND at row B of [B, C] data (the index computed from the size):
    the call fails naming the node, nothing is written past the end."""
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["shape"]),
         helper.make_node("Slice", ["shape", "zero", "one"], ["rows"]),
         helper.make_node("Unsqueeze", ["rows", "zero"], ["at"]),
         helper.make_node("Slice", ["x", "zero", "one"], ["first"]),
         helper.make_node("ScatterND", ["x", "at", "first"], ["y"], name="write_past_end")],
        "past_end", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", C])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([v], np.int64), n)
                     for n, v in [("zero", 0), ("one", 1)]])
    path = save_model(work, "past_end", graph, 13)
    return expect_refused(tool, work, "past_end", path, np.ones((2, C), np.float32),
                          ["node 'write_past_end': ScatterND index 2 is out of range"])


def check_scatter_one_tuple(tool, work):
    """ScatterND with 1-D indices [k] computed from the size (the tuple loop's
    reshape of a single tuple): row B - 1 of [B, 3] plus row 0 (reduction
    add), and element B - 1 of [B] set to element 0; against numpy."""
    from onnx import TensorProto, helper, numpy_helper
    failures = []
    for name, shape, reduction in [("one_tuple_rows", ["B", 3], "add"),
                                   ("one_tuple_elements", ["B"], "none")]:
        graph = helper.make_graph(
            [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Slice", ["shape", "zero", "one"], ["rows"]),
             helper.make_node("Sub", ["rows", "one"], ["last"]),
             helper.make_node("Gather", ["x", "zero"], ["first"], axis=0),
             helper.make_node("Squeeze", ["first", "zero"], ["update"]),
             helper.make_node("ScatterND", ["x", "last", "update"], ["y"],
                              reduction=reduction)],
            name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=[numpy_helper.from_array(np.array([v], np.int64), n)
                         for n, v in [("zero", 0), ("one", 1)]])
        path = save_model(work, name, graph, 16)
        x = np.arange(12 if len(shape) == 2 else 5, dtype=np.float32).reshape(
            (4, 3) if len(shape) == 2 else (5,)) + 1
        want = x.copy()
        want[-1] = want[-1] + x[0] if reduction == "add" else x[0]
        for target in ["cpu+bounds-checks", "gpu-kernels-on-cpu"]:
            lib = os.path.join(work, f"{name}.{target}.so")
            out = os.path.join(work, f"{name}_{target}")
            built = oc.compile_model(tool, path, lib, target, ["--quiet"])
            got = built if built.returncode else oc.run_convc(
                tool, lib, oc.save_inputs(work, name, {"x": x}), out)
            same = not got.returncode and np.array_equal(np.load(os.path.join(out, "y.npy")), want)
            print(f"  {name} [{target}]: {'matches numpy' if same else 'differs'}")
            if not same:
                failures.append(f"{name} [{target}]: {got.stderr[-300:]}")
    return failures


def check_pool_nan(tool, work):
    """MaxPool with Indices over windows holding NaN: the maximum is NaN and
    its index the NaN's, as torch's max_pool1d(return_indices=True) has it
    (the index stayed INT64_MAX before)."""
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3], strides=[2])],
        "pool_nan", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C", "T"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("i", TensorProto.INT64, None)])
    path = save_model(work, "pool_nan", graph, 12)
    x = np.arange(2 * 3 * 9, dtype=np.float32).reshape(2, 3, 9)
    x[0, 1, 4] = x[1, 2, 0] = np.nan
    want_y, want_i = torch.nn.functional.max_pool1d(torch.from_numpy(x), 3, 2,
                                                     return_indices=True)
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"pool_nan.{target}.so")
        built = oc.compile_model(tool, path, lib, target, ["--quiet"])
        out = os.path.join(work, "pool_nan_out")
        got = built if built.returncode else oc.run_convc(
            tool, lib, oc.save_inputs(work, "pool_nan", {"x": x}), out)
        if got.returncode:
            failures.append(f"pool_nan [{target}]: {got.stderr[-300:]}")
            continue
        y, i = np.load(os.path.join(out, "y.npy")), np.load(os.path.join(out, "i.npy"))
        # torch's indices count within each (n, c) row; ONNX's flatten all.
        rows = np.arange(6).reshape(2, 3, 1) * 9
        same = np.array_equal(y, want_y.numpy(), equal_nan=True) and \
            np.array_equal(i, want_i.numpy() + rows)
        print(f"  pool_nan [{target}]: {'matches torch' if same else 'differs'}")
        if not same:
            failures.append(f"pool_nan [{target}]: {y.tolist()} {i.tolist()}")
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
    for cls, opset in MODULES:
        name = cls.__name__
        path = os.path.join(work, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(cls(), (torch.randn(2, 7, C),), path, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "B", 1: "T"}},
                              opset_version=opset)
        inputs = [rng.standard_normal((B, T, C)).astype(np.float32) for B, T in [(1, 5), (3, 12)]]
        failures += oc.check_export(tool, work, name, path, inputs, 1e-5, ["--quiet"])[0]
    failures += check_label_sizes(tool, work)
    failures += check_huge_allocation(tool, work)
    failures += check_pool_nan(tool, work)
    failures += check_squeeze_branch(tool, work)
    failures += check_threshold_branch(tool, work)
    failures += check_scatter_past_end(tool, work)
    failures += check_scatter_one_tuple(tool, work)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
