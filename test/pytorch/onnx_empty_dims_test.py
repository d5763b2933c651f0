"""Tensors that are empty at run time inside the graph: convc refuses graph
inputs with a size 0, but a slice like x[:, 3:] at T <= 3 or x[:, :T // 4]
at T < 4 is empty, and the ops after it must give ONNX Runtime's numbers
(empty outputs, sums of nothing, -inf maxima) or refuse as it does. Reads
at checked indices (Gather, GatherElements, ScatterElements, ScatterND,
ArgMax) fail the call naming the node: the scatters and ArgMax before their
loop (clamping an index keeps it in bounds only in a dim that has elements;
--bounds-checks builds aborted on the read before), Gather and
GatherElements through their per-element check (see READS_FIRST). A flip
(Slice with step -1) of an empty dim is empty: it gave one garbage row. ScatterElements with updates empty
in another dim than the axis changes nothing (it read the empty indices).
Edge padding of an empty dim is refused (it gave zeros). Sizes that come
out negative at run time fail naming the node: a Conv or MaxPool input
shorter than the kernel (a following sum gave zeros; a second conv
corrupted the heap) and torch.ones(B, T - 4, C) (a Concat gave a wrong
shape). A sort of an empty dim reads nothing (it read one element). Negative pads
crop (constant mode), also a whole static dim, and a crop longer than the dim is refused. Each module is exported by PyTorch
and run at T = 1, 3 and 5 on the CPU, the CPU with bounds checks and the
GPU kernel loops. A mean over nothing is NaN, as in PyTorch (ONNX Runtime
gives 0).

usage: onnx_empty_dims_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import ort_compare as oc

C = 4


class FlipTail(torch.nn.Module):
    def forward(self, x):
        return x[:, 3:].flip(1)


class ReducedTail(torch.nn.Module):
    def forward(self, x):
        t = x[:, 3:]
        return torch.cat([t.sum(1), t.amax(1), t.amin(1), torch.logsumexp(t, 1)], 1)


class AttentionOverTail(torch.nn.Module):
    def forward(self, x):
        k = x[:, 3:]
        return torch.softmax(x @ k.transpose(1, 2), -1) @ k + x


class BlockOnTail(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.proj = torch.nn.LayerNorm(C), torch.nn.Linear(C, 2 * C)

    def forward(self, x):
        t = F.glu(self.proj(self.norm(x[:, 3:])), -1)
        return F.pad(torch.cumsum(t, 1), (0, 0, 1, 1))


class MeanOfTail(torch.nn.Module):
    def forward(self, x):
        return x[:, 3:].mean(1)


class EmptyUpdates(torch.nn.Module):
    """scatter_add along C of updates that are empty in T: nothing changes
    (the loop read the empty indices before)."""

    def forward(self, x):
        idx = torch.zeros_like(x[:, 3:, :1]).long()
        return x.scatter_add(2, idx, x[:, 3:, :1]).scatter(2, idx, 5.0)


class SortedTail(torch.nn.Module):
    def forward(self, x):
        return x[:, 3:].sort(1, descending=True)[0]


class Cropped(torch.nn.Module):
    """Negative pads crop: one step off the front (all of it at T = 1), two
    channels off the end."""

    def forward(self, x):
        return F.pad(x, (1, -2, -1, 1), value=3.0)


class CroppedAway(torch.nn.Module):
    """All C channels cropped off the end and three padded on in front: all
    padding (the static empty dim was refused as an out-of-bounds offset)."""

    def forward(self, x):
        return F.pad(x, (3, -C), value=7.0)


class StaticallyEmpty(torch.nn.Module):
    """No channels (x[..., C:]) or no batch (x[:0]) is a static size 0: a
    CumSum, sort and TopK along T and a Conv over a batch of nothing are
    empty (were refused: upstream's slice verifier calls offset 0 into a
    dim of 0 out of bounds)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(C, C, 3, padding=1)

    def forward(self, x):
        t = x[..., C:]
        top = t.topk(1, dim=1)[0].expand(-1, x.shape[1], -1)
        tails = torch.cat([x, t.cumsum(1), t.sort(1)[0], top], 2)
        return torch.cat([self.conv(x[:0].transpose(1, 2)).transpose(1, 2), tails], 0)


MATCHING = [FlipTail, ReducedTail, AttentionOverTail, BlockOnTail, EmptyUpdates, SortedTail,
            Cropped, CroppedAway, StaticallyEmpty]


class LastOfHalf(torch.nn.Module):
    def forward(self, x):
        return x[:, : x.shape[1] // 4][:, -1]


class ArgmaxOfTail(torch.nn.Module):
    def forward(self, x):
        return x[:, 3:].argmax(1).float()


class GatherElementsOfTail(torch.nn.Module):
    def forward(self, x):
        t = x[:, 3:]
        return torch.gather(t, 1, torch.zeros(t.shape[0], 1, t.shape[2], dtype=torch.long))


class ScatterIntoTail(torch.nn.Module):
    def forward(self, x):
        t = x[:, 3:]
        return t.scatter(1, torch.zeros(t.shape[0], 1, t.shape[2], dtype=torch.long), 5.0)


class AssignIntoTail(torch.nn.Module):
    def forward(self, x):
        t = x[:, 3:].clone()
        t[torch.arange(t.shape[0]), torch.zeros(t.shape[0], dtype=torch.long)] = 2.0
        return t


class EdgePaddedTail(torch.nn.Module):
    def forward(self, x):
        return F.pad(x[:, 3:].transpose(1, 2), (2, 1), mode="replicate").transpose(1, 2)


class ConvOverShort(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(C, C, 5)

    def forward(self, x):
        return self.conv(x.transpose(1, 2)).sum(2)


class PoolOverShort(torch.nn.Module):
    def forward(self, x):
        return F.max_pool1d(x.transpose(1, 2), 5, 1).sum(2)


class NegativeOnes(torch.nn.Module):
    def forward(self, x):
        return torch.cat([x, torch.ones(x.shape[0], x.shape[1] - 4, C)], 1)


class ExpandedNegative(torch.nn.Module):
    def forward(self, x):  # T - 5 is -1 ("keep the dim") nowhere in T = 1, 3, 5
        return torch.cat([x[:, :1].expand(x.shape[0], x.shape[1] - 5, C), x], 1)


class CroppedShort(torch.nn.Module):
    def forward(self, x):
        return F.pad(x, (0, 0, -2, -2))


# Refused at T = 1 and 3 (as ONNX Runtime refuses them), with these words.
REFUSED = [(LastOfHalf, "'/Gather_1': Gather indexes a dim of size 0"),
           (ArgmaxOfTail, "'/ArgMax': ArgMax over a dim of size 0"),
           (GatherElementsOfTail, "'/GatherElements': GatherElements indexes a dim of size 0"),
           (ScatterIntoTail, "'/ScatterElements': ScatterElements indexes a dim of size 0"),
           (AssignIntoTail, "'/ScatterND': ScatterND indexes a dim of size 0"),
           (EdgePaddedTail, "'/Pad': Pad edge of 2 + 1 in dim 2 of size 0 (edge pads need "
                            "an element to repeat)"),
           (ConvOverShort, "is shorter than the kernel's span 5"),
           (PoolOverShort, "is shorter than the window 5"),
           (NegativeOnes, "'/ConstantOfShape': ConstantOfShape size"),
           (ExpandedNegative, "'/Expand': Expand size -"),
           (CroppedShort, "'/Pad': Pad crops 4 from dim 1 of size")]

TARGETS = ["cpu", "cpu+bounds-checks", "gpu-kernels-on-cpu"]


def same(have, want):
    """Equal shapes, non-finite values in the same places and equal there,
    the finite ones within 1e-5 relative."""
    if have.shape != want.shape:
        return False
    finite = np.isfinite(want)
    if not np.array_equal(finite, np.isfinite(have)):
        return False
    if not np.array_equal(have[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)]):
        return False
    return oc.rel_error(np.where(finite, have, 0), np.where(finite, want, 0)) <= 1e-5


def export(work, module):
    path = os.path.join(work, type(module).__name__ + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(2, 7, C),), path, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "B", 1: "T"}},
                          opset_version=14)
    return path


# Gather and GatherElements fail through their per-element check, after a
# read of one element of the empty dim, which --bounds-checks aborts on (a
# check before their loops stopped the embedding and TaLK raisings).
READS_FIRST = set()


def run_all(tool, work, cls, check):
    """Compiles CLS's export for each target and runs it at T = 1, 3, 5;
    CHECK(T, run, outdir, ort, ortdir, torch_y) returns a failure or None."""
    torch.manual_seed(0)
    module = cls().eval()
    path, name, failures = export(work, module), cls.__name__, []
    for target in TARGETS:
        if cls in READS_FIRST and target == "cpu+bounds-checks":
            continue
        lib = os.path.join(work, f"{name}.{target}.so")
        built = oc.compile_model(tool, path, lib, target, ["--quiet"])
        if built.returncode:
            failures.append(f"{name} [{target}]: compile failed: {built.stderr[-300:]}")
            continue
        for T in (1, 3, 5):
            x = np.random.default_rng(T).standard_normal((2, T, C)).astype(np.float32)
            files = oc.save_inputs(work, name, {"x": x})
            out, ortdir = (os.path.join(work, f"{name}_{w}_{T}") for w in (target, "ort"))
            if os.path.exists(os.path.join(out, "y.npy")):
                os.remove(os.path.join(out, "y.npy"))
            run, ort = oc.run_convc(tool, lib, files, out), oc.run_ort(path, files, ortdir)
            try:  # PyTorch refuses some ops over nothing (amax) that ONNX defines
                with torch.no_grad():
                    want = module(torch.from_numpy(x)).numpy()
            except (IndexError, RuntimeError):
                want = None
            said = run.stderr.strip().splitlines()[-1:] or [""]
            print(f"  {name} [{target}] T={T}: rc {run.returncode} {said[0][:120]}")
            problem = check(T, run, out, ort, ortdir, want)
            if problem:
                failures.append(f"{name} [{target}] T={T}: {problem}")
    return failures


def matches(T, run, out, ort, ortdir, want):
    if run.returncode or ort.returncode:
        return f"rc {run.returncode}, ONNX Runtime rc {ort.returncode}: {run.stderr[-200:]}"
    have = np.load(os.path.join(out, "y.npy"))
    if not same(have, np.load(os.path.join(ortdir, "y.npy"))) or \
            (want is not None and not same(have, want)):
        return f"differs: {have.shape} {have.ravel()[:6]}"
    return None


def matches_torch(T, run, out, ort, ortdir, want):
    if run.returncode:
        return f"rc {run.returncode}: {run.stderr[-200:]}"
    have = np.load(os.path.join(out, "y.npy"))
    return None if same(have, want) else f"differs from PyTorch: {have.ravel()[:6]}"


def refused_with(message):
    def check(T, run, out, ort, ortdir, want):
        if T == 5:
            return matches(T, run, out, ort, ortdir, want)
        if ort.returncode == 0:
            return "ONNX Runtime no longer refuses it: the test's premise changed"
        if run.returncode != 1 or message not in run.stderr:
            return f"not refused with '{message}': rc {run.returncode} {run.stderr[-200:]}"
        if os.path.exists(os.path.join(out, "y.npy")):
            return "refused, but wrote an output"
        return None
    return check


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    failures = []
    for cls in MATCHING:
        failures += run_all(tool, work, cls, matches)
    failures += run_all(tool, work, MeanOfTail, matches_torch)
    for cls, message in REFUSED:
        failures += run_all(tool, work, cls, refused_with(message))
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
