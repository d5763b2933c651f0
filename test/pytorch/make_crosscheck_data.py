#!/usr/bin/env python3
"""Writes inputs and PyTorch outputs for the reference cross-check.

For every case: DIR/<case>.<tensor>.npy, and one line in DIR/cases.txt:
    <case> <op> key=value ...
The C++ test (test/unit/TorchCrossCheckTest.cpp) recomputes each output with
the C++ reference and compares at 1e-5. PyTorch runs in float32, as exported
models do.
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

from convc_torch import ops

rng = torch.Generator().manual_seed(1234)


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, generator=rng) * (hi - lo) + lo


class Writer:
    def __init__(self, out):
        self.out = out
        os.makedirs(out, exist_ok=True)
        self.lines = []

    def case(self, name, op, tensors, **attrs):
        for key, value in tensors.items():
            if value is None:
                continue
            array = np.ascontiguousarray(value.detach().numpy())
            array = array.astype(np.int64 if array.dtype.kind == "i" else np.float32)
            np.save(os.path.join(self.out, f"{name}.{key}.npy"), array)
        attr_text = " ".join(f"{k}={int(v)}" for k, v in attrs.items())
        self.lines.append(f"{name} {op} {attr_text}".strip())

    def close(self):
        with open(os.path.join(self.out, "cases.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def conv_cases(w):
    for i, (B, T, C, K, P, r, bias) in enumerate(
            [(2, 13, 12, 5, 2, 1, True), (1, 7, 10, 3, 2, 3, False),
             (3, 1, 8, 4, 3, 1, True), (2, 9, 5, 9, 0, 2, False)]):
        x, wt = rand(B, T, C), rand(C, K)
        b = rand(C) if bias else None
        w.case(f"depthwise{i}", "depthwise_conv",
               dict(x=x, w=wt, bias=b, y=ops.depthwise_conv(x, wt, P, r, b)),
               padding=P, dilation=r)

    for i, (B, T, C, H, K, P, sm, bias) in enumerate(
            [(2, 16, 16, 4, 7, 3, True, True), (1, 5, 24, 8, 31, 30, True, False),
             (2, 9, 6, 3, 3, 0, False, False), (1, 40, 32, 4, 31, 15, True, False),
             (2, 3, 12, 2, 1, 0, True, False)]):
        x, W = rand(B, T, C), rand(H, K, lo=-3, hi=3)
        b = rand(C) if bias else None
        w.case(f"lightweight{i}", "lightweight_conv",
               dict(x=x, w=W, bias=b, y=ops.lightweight_conv(x, W, P, sm, b)),
               padding=P, weight_softmax=sm)

    for i, (B, T, C, H, K, P, bias) in enumerate(
            [(2, 12, 16, 4, 5, 4, False), (1, 3, 8, 2, 7, 6, False),
             (2, 10, 12, 3, 3, 1, True), (1, 33, 32, 8, 31, 30, False)]):
        x, Wq = rand(B, T, C), rand(H * K, C)
        b = rand(H * K) if bias else None
        w.case(f"dynamic{i}", "dynamic_conv",
               dict(x=x, w=Wq, bias=b, y=ops.dynamic_conv(x, Wq, b, H, K, P)),
               heads=H, kernel_size=K, padding=P)

    for i, (B, T, C, H, L, R, causal) in enumerate(
            [(2, 20, 16, 4, 5, 4, False), (2, 20, 8, 2, 6, 0, True),
             (1, 3, 8, 2, 31, 31, False), (1, 64, 32, 4, 31, 31, False),
             (2, 1, 4, 2, 3, 0, True)]):
        x = rand(B, T, C)
        Wo, bo = rand(H if causal else 2 * H, C), rand(H if causal else 2 * H)
        o = ops.talk_offsets(x, Wo, bo)
        w.case(f"talk{i}", "talk_conv",
               dict(x=x, wo=Wo, bo=bo, offsets=o,
                    y=ops.talk_conv(x, o, L, R, causal)),
               left_max=L, right_max=R, causal=causal)

    for i, (B, T, C, H, L, R, causal) in enumerate(
            [(2, 11, 8, 2, 4, 3, False), (1, 9, 6, 3, 5, 0, True)]):
        S = ops.prefix_sum(rand(B, T, C), 0.5)
        o = rand(B, T, H if causal else 2 * H, lo=0, hi=1)
        w.case(f"window_diff{i}", "window_diff",
               dict(s=S, offsets=o, y=ops.window_diff(S, o, L, R, causal)),
               left_max=L, right_max=R, causal=causal)

    x = rand(2, 7, 5)
    w.case("prefix_sum0", "prefix_sum", dict(x=x, y=ops.prefix_sum(x, 0.25)),
           scale_inverse=4)
    x = rand(2, 5, 12, lo=-4, hi=4)
    w.case("glu0", "glu", dict(x=x, y=ops.glu(x)))
    x = rand(3, 4, 9, lo=-6, hi=6)
    w.case("kernel_softmax0", "kernel_softmax", dict(x=x, y=torch.softmax(x, -1)))
    x = rand(2, 6, 16)
    k = torch.softmax(rand(2, 6, 8, 5, lo=-2, hi=2), -1)
    w.case("dynamic_kernel_conv0", "dynamic_kernel_conv",
           dict(x=x, kernels=k, y=ops.dynamic_kernel_conv(x, k, 2)), padding=2)

def layer_cases(w):
    """fairseq conv layers: GLU in-projection, conv, out-projection, residual
    + LayerNorm, FFN (ReLU; swish for TaLK) + residual + LayerNorm."""
    B, T, C, H = 2, 9, 16, 4
    for name, kind, K, P, L, R, causal in [
            ("layer_light", "lightweight", 5, 2, 0, 0, False),
            ("layer_dynamic", "dynamic", 4, 3, 0, 0, True),
            ("layer_talk", "talk", 1, 0, 3, 2, False)]:
        x = rand(B, T, C)
        t = dict(x=x, in_w=rand(2 * C, C, lo=-0.5, hi=0.5), in_b=rand(2 * C),
                 out_w=rand(C, C, lo=-0.5, hi=0.5), out_b=rand(C),
                 ln1_g=rand(C, lo=0.5, hi=1.5), ln1_b=rand(C),
                 fc1_w=rand(2 * C, C, lo=-0.5, hi=0.5), fc1_b=rand(2 * C),
                 fc2_w=rand(C, 2 * C, lo=-0.5, hi=0.5), fc2_b=rand(C),
                 ln2_g=rand(C, lo=0.5, hi=1.5), ln2_b=rand(C))
        pad = torch.zeros(B, T, dtype=torch.bool)
        pad[1, -2:] = True
        t["pad"] = pad.long()
        u = ops.glu(F.linear(x, t["in_w"], t["in_b"]))
        u = u.masked_fill(pad.unsqueeze(-1), 0.0)
        if kind == "lightweight":
            t["conv_w"] = rand(H, K, lo=-2, hi=2)
            v = ops.lightweight_conv(u, t["conv_w"], P)
        elif kind == "dynamic":
            t["conv_w"] = rand(H * K, C)
            v = ops.dynamic_conv(u, t["conv_w"], None, H, K, P)
        else:
            t["talk_wo"], t["talk_bo"] = rand(2 * H, C), rand(2 * H)
            v = ops.talk_conv(u, ops.talk_offsets(u, t["talk_wo"], t["talk_bo"]),
                              L, R, causal)
        h = F.layer_norm(x + F.linear(v, t["out_w"], t["out_b"]), (C,),
                         t["ln1_g"], t["ln1_b"], 1e-5)
        f = F.linear(h, t["fc1_w"], t["fc1_b"])
        f = F.silu(f) if kind == "talk" else F.relu(f)
        t["y"] = F.layer_norm(h + F.linear(f, t["fc2_w"], t["fc2_b"]), (C,),
                              t["ln2_g"], t["ln2_b"], 1e-5)
        w.case(name, "conv_layer", t, kind={"lightweight": 0, "dynamic": 1,
                                             "talk": 2}[kind],
               heads=H, kernel_size=K, padding=P, left_max=L, right_max=R,
               causal=causal)


def other_cases(w):
    B, Tq, Tk, C, H = 2, 4, 6, 16, 4
    mha = torch.nn.MultiheadAttention(C, H, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(rand(*p.shape, lo=-0.5, hi=0.5))
    q, kv = rand(B, Tq, C), rand(B, Tk, C)
    pad = torch.zeros(B, Tk, dtype=torch.bool)
    pad[0, -3:] = True
    y, _ = mha(q, kv, kv, key_padding_mask=pad, need_weights=False)
    Wq, Wk, Wv = mha.in_proj_weight.chunk(3)
    bq, bk, bv = mha.in_proj_bias.chunk(3)
    w.case("attention0", "attention",
           dict(q=q, kv=kv, pad=pad.long(), wq=Wq, bq=bq, wk=Wk, bk=bk, wv=Wv,
                bv=bv, wo=mha.out_proj.weight, bo=mha.out_proj.bias, y=y),
           heads=H)

    tokens = torch.tensor([[1, 1, 5, 7, 3], [4, 9, 2, 6, 8]])
    E = rand(10, 16)
    w.case("embed0", "embedding",
           dict(tokens=tokens, e=E, y=ops.embed_tokens(tokens, E, 1)),
           padding_idx=1)

    x, g = rand(2, 3, 12), rand(12, lo=0.5, hi=1.5)
    w.case("rms_norm0", "rms_norm", dict(x=x, g=g, y=ops.rms_norm(x, g)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    w = Writer(args.out)
    with torch.no_grad():
        conv_cases(w)
        layer_cases(w)
        other_cases(w)
    w.close()
    print(f"wrote {len(w.lines)} cases to {args.out}")


if __name__ == "__main__":
    main()
