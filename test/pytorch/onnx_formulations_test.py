"""Conv seq2seq blocks written independently of convc_torch, the way papers'
code and users' models write them: LightweightConv in T,B,C as K shifted
slices stacked and contracted with torch.matmul (rank 5 by rank 4), and in
B,T,C through a grouped F.conv1d over heads; DynamicConv from a Linear's
softmaxed kernels over stacked causal windows; TaLK with prefix sums padded
by F.pad (not a concatenated zero row), edges from clamp / torch.minimum and
torch.gather; a T5 v1.1 block (RMSNorm, gated-GELU FFN); a dilated depthwise
Conv1d; fairseq's sinusoidal table computed in the forward with its padding
row zeroed; fairseq's attention with q scaled before the product; TaLK
with its sizes read from the input rather than the prefix sums; TaLK's
window sums with offsets outside [0, 1] (relu * 1.5, 2 * sigmoid). Each is exported with torch.onnx.export (opset 17, symbolic batch
and time), checked against ONNX Runtime at lengths and batches other than
the export's (relative error <= 1e-4 of the output scale) on the CPU and on
the GPU kernel loops (on the CPU), and compiled for --target=cuda where the
toolkit is. `--report` says, per model, which parts became convc ops and
what stays on the generic linalg path; the test prints it.

usage: onnx_formulations_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import math
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import ort_compare as oc
C, H, K = 16, 4, 5


class LightTBCUnfold(torch.nn.Module):
    """fairseq LightweightConv1dTBC-like: x [T, B, C]; softmaxed [H, K] weights; K shifted
    slices stacked then weighted (stack + matmul)."""
    def __init__(self):
        super().__init__(); self.w = torch.nn.Parameter(torch.randn(H, K))
    def forward(self, x):
        T, B, _ = x.shape
        w = F.softmax(self.w, -1)
        xp = F.pad(x, (0, 0, 0, 0, K // 2, K // 2))           # pad time
        win = torch.stack([xp[k:k + T] for k in range(K)], -1)  # T B C K
        win = win.view(T, B, H, C // H, K)
        return torch.matmul(win, w.view(1, 1, H, K, 1)).view(T, B, C)

class LightBTCConv(torch.nn.Module):
    """B,T,C with grouped conv1d (fairseq's lightconv 'conv' path)."""
    def __init__(self):
        super().__init__(); self.w = torch.nn.Parameter(torch.randn(H, 1, K))
    def forward(self, x):
        B, T, _ = x.shape
        w = F.softmax(self.w, -1)
        xr = x.transpose(1, 2).reshape(-1, H, T)   # B*C/H, H, T
        out = F.conv1d(xr, w, padding=K // 2, groups=H)
        return out.view(B, C, T).transpose(1, 2)

class DynUnfold(torch.nn.Module):
    """DynamicConv: position-specific softmaxed kernels from a Linear, unfold by stacking."""
    def __init__(self):
        super().__init__(); self.lin = torch.nn.Linear(C, H * K)
    def forward(self, x):
        B, T, _ = x.shape
        w = F.softmax(self.lin(x).view(B, T, H, K), -1)
        xp = F.pad(x, (0, 0, K - 1, 0))                       # causal
        win = torch.stack([xp[:, k:k + T] for k in range(K)], -1).view(B, T, H, C // H, K)
        return (win * w.unsqueeze(3)).sum(-1).reshape(B, T, C)

class TalkCumsumPad(torch.nn.Module):
    """TaLK: adaptive windows via prefix sums with F.pad (not a zero row cat), clamp via Clip."""
    def __init__(self, L=3, R=2):
        super().__init__(); self.off = torch.nn.Linear(C, 2 * H); self.L, self.R = L, R
    def forward(self, x):
        B, T, _ = x.shape
        o = torch.sigmoid(self.off(x)).view(B, T, H, 2)
        i = torch.arange(T, device=x.device).view(1, T, 1).float()
        lo = (i - o[..., 0] * self.L).clamp(min=0).floor().long()
        hi = torch.minimum((i + o[..., 1] * self.R).ceil().long(), torch.full_like(lo, T - 1))
        cs = F.pad(torch.cumsum(x, 1), (0, 0, 1, 0))                   # [B, T+1, C]
        cs = cs.view(B, T + 1, H, C // H)
        g = lambda idx: torch.gather(cs, 1, idx.unsqueeze(-1).expand(B, T, H, C // H))
        win = g(hi + 1) - g(lo)
        n = (hi - lo + 1).float().unsqueeze(-1)
        return (win / n).reshape(B, T, C)

class RMSNormFFN(torch.nn.Module):
    """T5 v1.1: RMSNorm then gated-GELU FFN, residual."""
    def __init__(self):
        super().__init__(); self.w = torch.nn.Parameter(torch.rand(C) + 0.5)
        self.wi = torch.nn.Linear(C, 32, bias=False); self.wg = torch.nn.Linear(C, 32, bias=False)
        self.wo = torch.nn.Linear(32, C, bias=False)
    def forward(self, x):
        h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w
        return x + self.wo(F.gelu(self.wg(h), approximate="tanh") * self.wi(h))

class DilatedDepthwise(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.c = torch.nn.Conv1d(C, C, 3, dilation=2, padding=2, groups=C)
    def forward(self, x):
        return self.c(x.transpose(1, 2)).transpose(1, 2)

class SinusoidalPadRow(torch.nn.Module):
    """fairseq's SinusoidalPositionalEmbedding.get_embedding over T + padding_idx + 1
    positions, computed in the forward, with `emb[padding_idx, :] = 0`: a ScatterND whose
    indices the exporter builds from an Add of a [[1]] constant and a Range."""
    def forward(self, x):
        T, half, pad = x.shape[1], C // 2, 1
        freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000.0) / (half - 1)))
        angle = torch.arange(T + pad + 1, dtype=torch.float).unsqueeze(1) * freq.unsqueeze(0)
        emb = torch.cat([torch.sin(angle), torch.cos(angle)], 1)
        emb[pad, :] = 0
        return x + emb[pad + 1:].unsqueeze(0)


def talk_window_sums(S, o, L, R, causal, sizes):
    """TaLK's interpolated window sums of the prefix sums S with offsets o
    ([B, T, 2H], causal [B, T, H]); `sizes` = (B, T, C), read where the
    caller's export should read them."""
    B, T, Cx = sizes
    per_channel = lambda v: v.unsqueeze(-1).expand(B, T, H, Cx // H).reshape(B, T, Cx)
    t = torch.arange(T, dtype=S.dtype).view(1, T, 1)
    a = torch.clamp(t - per_channel(o[..., :H]) * L, 0, T - 1)
    e = t.expand(B, T, Cx) if causal else torch.clamp(t + per_channel(o[..., H:]) * R, 0, T - 1)
    Sp = torch.cat([torch.zeros_like(S[:, :1]), S], dim=1)
    def interp(u):
        lo, hi = torch.floor(u), torch.ceil(u)
        frac = u - lo
        return (1 - frac) * torch.gather(Sp, 1, (lo + 1).long()) + \
            frac * torch.gather(Sp, 1, (hi + 1).long())
    return interp(e) - interp(a - 1)


class TalkShapesFromInput(torch.nn.Module):
    """TaLK's prefix-sum windows (scaled cumsum, a zero row concatenated,
    interpolated gathers) with B, T, C read from x.shape, not from the prefix sums
    (correct numbers; not yet raised to convc.talk_conv)."""
    def __init__(self, L=3, R=2):
        super().__init__(); self.off = torch.nn.Linear(C, 2 * H); self.L, self.R = L, R
    def forward(self, x):
        o = torch.sigmoid(self.off(x))
        S = torch.cumsum(x * (1.0 / (self.L + self.R + 1)), dim=1)
        return talk_window_sums(S, o, self.L, self.R, False, x.shape)


class TalkUnboundedOffsets(TalkShapesFromInput):
    """The window sums as exported from S's sizes, with offsets outside
    [0, 1]: relu(Linear(x)) * 1.5 (centred), 2 * sigmoid(Linear(x)) (causal).
    Compiled TaLK clamps its offsets to [0, 1], so these must keep the
    generic form (they are correct there)."""
    causal = False
    def forward(self, x):
        z = self.off(x)
        o = 2 * torch.sigmoid(z[..., :H]) if self.causal else F.relu(z) * 1.5
        S = torch.cumsum(x * (1.0 / (self.L + self.R + 1)), dim=1)
        return talk_window_sums(S, o, self.L, self.R, self.causal, S.shape)


class TalkCausalUnboundedOffsets(TalkUnboundedOffsets):
    causal = True


class FairseqScaledQAttention(torch.nn.Module):
    """fairseq MultiheadAttention's order: q scaled by head_dim ** -0.5 after its
    projection, not the scores (raised to convc.attention all the same)."""
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(C, C) for _ in range(3))
    def forward(self, x):
        B, T, _ = x.shape
        q = self.q(x) * (C // H) ** -0.5
        q = q.view(B, T, H, C // H).transpose(1, 2)
        k = self.k(x).view(B, T, H, C // H).permute(0, 2, 3, 1)
        v = self.v(x).view(B, T, H, C // H).transpose(1, 2)
        p = F.softmax(torch.matmul(q, k), -1)
        return torch.matmul(p, v).transpose(1, 2).reshape(B, T, C)


MODELS = [LightTBCUnfold, LightBTCConv, DynUnfold, TalkCumsumPad, RMSNormFFN, DilatedDepthwise,
          SinusoidalPadRow, FairseqScaledQAttention, TalkShapesFromInput, TalkUnboundedOffsets,
          TalkCausalUnboundedOffsets]


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    failures = []
    for cls in MODELS:
        name = cls.__name__
        tbc = "TBC" in name
        path = os.path.join(work, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(cls().eval(), (torch.randn(7, 2, C) if tbc else torch.randn(2, 7, C),),
                              path, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "T", 1: "B"} if tbc else {0: "B", 1: "T"}},
                              opset_version=17)
        inputs = [(rng.standard_normal((T, B, C)) if tbc else
                   rng.standard_normal((B, T, C))).astype(np.float32)
                  for B, T in [(1, 5), (3, 23)]]
        print(name)
        found, log = oc.check_export(tool, work, name, path, inputs, 1e-4, ["--report"])
        report = [line for line in log.splitlines() if "report" in line]
        print(f"  {report[0].split('convc: ')[-1] if report else '(no report)'}")
        failures += found
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
