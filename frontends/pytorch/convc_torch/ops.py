"""Functional forms of the convc ops in PyTorch (BTC layout).

Math: docs/semantics.md. Each function is
written in the style a PyTorch model uses, not as a transcription of the C++
reference, so the two check each other.
"""
import math

import torch
import torch.nn.functional as F


def _shift_pad(x, left, right):
    """Zero-pads the time axis of a [B, T, C] tensor."""
    return F.pad(x, (0, 0, left, right))


def depthwise_conv(x, w, padding, dilation=1, bias=None):
    """Grouped conv1d, one kernel w[c] per channel; P counts taps."""
    K = w.shape[1]
    xp = _shift_pad(x, padding * dilation, (K - 1 - padding) * dilation)
    y = F.conv1d(xp.transpose(1, 2), w.unsqueeze(1), bias, dilation=dilation,
                 groups=x.shape[2])
    return y.transpose(1, 2)


def lightweight_conv(x, W, padding, weight_softmax=True, bias=None):
    """LightweightConv as exporters see it: softmax over all K taps, kernel
    expanded to every channel of its head (contiguous blocks), grouped conv."""
    H, K = W.shape
    C = x.shape[2]
    w = torch.softmax(W.float(), dim=-1).to(W.dtype) if weight_softmax else W
    # channel c -> head c // R (expand + reshape keeps shapes static for export)
    w_per_channel = w.unsqueeze(1).expand(H, C // H, K).reshape(C, K)
    return depthwise_conv(x, w_per_channel, padding, 1, bias)


def _unfold_time(x, K, padding):
    """[B, T, C] -> [B, T, C, K] windows x[t + k - P] (zero padded)."""
    T = x.shape[1]
    xp = _shift_pad(x, padding, K - 1 - padding)
    return torch.stack([xp[:, k:k + T, :] for k in range(K)], dim=-1)


def lightweight_conv_unfolded(x, W, padding, weight_softmax=True):
    """LightweightConv in the shifted-slices form (fairseq's unfolded path,
    in BTC): K shifted views of the padded input, weighted per head and
    summed. The same values as lightweight_conv; exports to Slices."""
    B, T, C = x.shape
    H, K = W.shape
    w = torch.softmax(W, dim=-1) if weight_softmax else W
    windows = _unfold_time(x, K, padding).view(B, T, H, C // H, K)
    return (windows * w.view(1, 1, H, 1, K)).sum(-1).view(B, T, C)


def dynamic_kernels(x, Wq, bias, heads, K):
    """Position-specific kernels [B, T, H, K] = softmax_k(Linear(x))."""
    B, T, _ = x.shape
    logits = F.linear(x, Wq, bias).view(B, T, heads, K)
    return torch.softmax(logits, dim=-1)


def dynamic_kernel_conv(x, kernels, padding):
    B, T, C = x.shape
    H, K = kernels.shape[2], kernels.shape[3]
    windows = _unfold_time(x, K, padding).view(B, T, H, C // H, K)
    return (windows * kernels.unsqueeze(3)).sum(-1).view(B, T, C)


def dynamic_conv(x, Wq, bias, heads, K, padding):
    return dynamic_kernel_conv(x, dynamic_kernels(x, Wq, bias, heads, K), padding)


def talk_offsets(x, Wo, bo):
    return torch.sigmoid(F.linear(x, Wo, bo))


def prefix_sum(x, scale=1.0):
    return torch.cumsum(x * scale, dim=1)


def window_diff(S, offsets, left_max, right_max, causal):
    """S~(e) - S~(a - 1) with linear interpolation, via gather on a prefix sum
    that has S[-1] = 0 prepended (index u + 1 holds S[u]). Offsets are
    clamped to [0, 1], NaN to 0, as compiled talk_conv does; not in a trace,
    where the clamp would hide the window sums from convc-raise-talk (which
    raises them only for offsets it proves in [0, 1])."""
    B, T, C = S.shape
    H = offsets.shape[2] if causal else offsets.shape[2] // 2
    R = C // H
    if not torch.jit.is_tracing():
        offsets = torch.nan_to_num(offsets, nan=0.0).clamp(0, 1)
    def per_channel(o):  # head h's offset for its R channels
        return o.unsqueeze(-1).expand(B, T, H, R).reshape(B, T, C)

    lt = per_channel(offsets[..., :H])
    t = torch.arange(T, dtype=S.dtype, device=S.device).view(1, T, 1)
    a = torch.clamp(t - lt * left_max, 0, T - 1)
    if causal:
        e = t.expand(B, T, C)
    else:
        rt = per_channel(offsets[..., H:])
        e = torch.clamp(t + rt * right_max, 0, T - 1)
    Sp = torch.cat([torch.zeros_like(S[:, :1]), S], dim=1)

    def interp(u):
        lo, hi = torch.floor(u), torch.ceil(u)
        frac = u - lo
        s_lo = torch.gather(Sp, 1, (lo + 1).long())
        s_hi = torch.gather(Sp, 1, (hi + 1).long())
        return (1 - frac) * s_lo + frac * s_hi

    return interp(e) - interp(a - 1)


def talk_conv(x, offsets, left_max, right_max, causal):
    kn = left_max + right_max + 1
    return window_diff(prefix_sum(x, 1.0 / kn), offsets, left_max, right_max,
                       causal)


def glu(x):
    return F.glu(x, dim=-1)


def sinusoidal_positions(num, d):
    half = d // 2
    w = torch.exp(torch.arange(half, dtype=torch.float64) *
                  -(math.log(10000.0) / (half - 1)))
    angles = torch.arange(num, dtype=torch.float64).unsqueeze(1) * w.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if d % 2:
        table = torch.cat([table, torch.zeros(num, 1, dtype=table.dtype)], dim=1)
    return table


def embed_tokens(tokens, E, padding_idx):
    """fairseq: sqrt(d) E[tok] + PE(pos); positions count non-pad tokens from
    padding_idx + 1; pad tokens get zero rows."""
    d = E.shape[1]
    mask = tokens.ne(padding_idx)
    positions = torch.cumsum(mask.long(), dim=1) * mask.long() + padding_idx
    table = sinusoidal_positions(padding_idx + tokens.shape[1] + 1, d).to(E.device, E.dtype)
    table[padding_idx] = 0
    x = math.sqrt(d) * F.embedding(tokens, E) + table[positions]
    return x * mask.unsqueeze(-1).to(x.dtype)


def rms_norm(x, gamma, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gamma
