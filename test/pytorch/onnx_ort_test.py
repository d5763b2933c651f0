"""Standard ONNX exports of every conv kind, an encoder layer and a small
Seq2Seq, compiled by convc and checked against ONNX Runtime.

Each PyTorch module is exported with torch.onnx.export (opset 17, symbolic
batch and time, no convc domain: what users' exporters emit) at B=2, T=13,
then run at other lengths (B=3, T=29 and B=1, T=40) by convc (`convc
compile` + `convc run`) and by ONNX Runtime (onnxruntime-node, CPU) on the
same inputs. Passes when max |convc - ort| <= 1e-4 * max(1, max |ort|) for
every output; prints the figures.

usage: onnx_ort_test.py CONVC_TOOL WORKDIR
Skips (exit 77) when onnxruntime-node is not installed in bench/.
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))
from convc_torch import ops, seq2seq  # noqa: E402

BENCH = os.path.join(ROOT, "bench")


class LightConv(torch.nn.Module):
    def __init__(self, H=4, K=5, padding=2):
        super().__init__()
        self.W = torch.nn.Parameter(torch.randn(H, K))
        self.padding = padding

    def forward(self, x):
        return ops.lightweight_conv(x, self.W, self.padding)


class LightConvSlices(LightConv):
    """The shifted-slices export form of the same LightweightConv."""

    def forward(self, x):
        return ops.lightweight_conv_unfolded(x, self.W, self.padding)


class LightConvTBC(LightConv):
    """fairseq's layout: x is [T, B, C]; a grouped Conv1d over the softmaxed,
    head-expanded kernel between permutes to and from [B, C, T]."""

    def forward(self, x):
        T, B, C = x.shape
        H, K = self.W.shape
        w = torch.softmax(self.W, dim=-1).unsqueeze(1).expand(H, C // H, K)
        xp = torch.nn.functional.pad(x.permute(1, 2, 0),
                                     (self.padding, K - 1 - self.padding))
        y = torch.nn.functional.conv1d(xp, w.reshape(C, 1, K), groups=C)
        return y.permute(2, 0, 1)


class DynamicConv(torch.nn.Module):
    def __init__(self, C=16, H=4, K=5, padding=2):
        super().__init__()
        self.wq = torch.nn.Linear(C, H * K)
        self.H, self.K, self.padding = H, K, padding

    def forward(self, x):
        return ops.dynamic_conv(x, self.wq.weight, self.wq.bias, self.H, self.K,
                                self.padding)


class TaLK(torch.nn.Module):
    def __init__(self, C=16, H=4, left=3, right=2, causal=False):
        super().__init__()
        self.off = torch.nn.Linear(C, H if causal else 2 * H)
        self.left, self.right, self.causal = left, right, causal

    def forward(self, x):
        return ops.talk_conv(x, torch.sigmoid(self.off(x)), self.left,
                             self.right if not self.causal else 0, self.causal)


class GLU(torch.nn.Module):
    def __init__(self, C=16):
        super().__init__()
        self.proj = torch.nn.Linear(C, 2 * C)

    def forward(self, x):
        return F.glu(self.proj(x), dim=-1)


class PadModes(torch.nn.Module):
    """Reflect and edge (replicate) padding of time, as Conv1d front-ends
    with padding_mode='reflect' / 'replicate' export them."""

    def forward(self, x):
        h = x.transpose(1, 2)
        return (F.pad(h, (3, 2), mode="reflect") +
                F.pad(h, (2, 3), mode="replicate")).transpose(1, 2)


class MultiheadAttention(torch.nn.Module):
    """torch.nn.MultiheadAttention (batch first, key padding mask): its
    export merges symbolic dims with constants in Reshapes ([T, B * H, R],
    [T * B, d])."""

    def __init__(self, C=16, H=4):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(C, H, batch_first=True)

    def forward(self, q, kv, pad):
        return self.attn(q, kv, kv, key_padding_mask=pad.bool(),
                         need_weights=False)[0]


class EncoderLayer(torch.nn.Module):
    def __init__(self, conv, C=16):
        super().__init__()
        self.layer = seq2seq.ConvLayer(C, 4, 5, 32, causal=False,
                                       cross_attention=False, conv=conv)

    def forward(self, x):
        return self.layer(x)


class Seq2Seq(torch.nn.Module):
    """Encoder + full-sequence decoder: logits for every target position."""

    def __init__(self):
        super().__init__()
        self.model = seq2seq.ConvSeq2Seq(vocab=20, d=16, heads=4, layers=1,
                                         ffn=32)

    def forward(self, src, prev):
        return self.model(src, prev)


def export(module, args, names, path, opset=17):
    torch.onnx.export(module, args, path, input_names=names,
                      output_names=["y"], opset_version=opset,
                      dynamic_axes={**{n: {0: "B", 1: "T" + n} for n in names},
                                    "y": {0: "B", 1: "Ty"}})


def run_both(tool, work, name, path, feeds):
    lib = os.path.join(work, name + ".so")
    compiled = subprocess.run([tool, "compile", path, "-o", lib, "--quiet"],
                              capture_output=True, text=True)
    if compiled.returncode:
        return None, compiled.stderr.strip().splitlines()[-1][:300]
    worst = 0.0
    for i, inputs in enumerate(feeds):
        files = []
        for k, v in inputs.items():
            f = os.path.join(work, f"{name}_{i}_{k}.npy")
            np.save(f, v)
            files.append(f"{k}={f}")
        out_c, out_o = (os.path.join(work, f"{name}_{i}_{w}") for w in ("convc", "ort"))
        subprocess.run([tool, "run", lib, *["--input=" + f for f in files],
                        "--output-dir=" + out_c], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["node", os.path.join(BENCH, "ort_run.js"), path, out_o, *files],
                       check=True, cwd=BENCH)
        got, want = (np.load(os.path.join(d, "y.npy")) for d in (out_c, out_o))
        if got.shape != want.shape:
            return None, f"shape {got.shape} != ONNX Runtime's {want.shape}"
        scale = max(1.0, float(np.abs(want).max()))
        worst = max(worst, float(np.abs(got - want).max()) / scale)
    return worst, None


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if not os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node")):
        print("SKIPPED: onnxruntime-node is not installed (cd bench && npm ci "
              "--ignore-scripts)")
        sys.exit(77)
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    C = 16
    cases = [
        ("lightweight_conv", LightConv()),
        ("lightweight_conv_causal", LightConv(padding=4)),
        ("lightweight_conv_slices", LightConvSlices()),
        ("lightweight_conv_slices_causal", LightConvSlices(padding=4)),
        ("lightweight_conv_tbc", LightConvTBC()),
        ("dynamic_conv", DynamicConv()),
        ("dynamic_conv_causal", DynamicConv(padding=4)),
        ("talk_conv", TaLK()),
        ("talk_conv_causal", TaLK(causal=True)),
        ("glu", GLU()),
        ("pad_reflect_edge", PadModes()),
        ("encoder_layer_lightweight", EncoderLayer("lightweight")),
        ("encoder_layer_dynamic", EncoderLayer("dynamic")),
        ("encoder_layer_talk", EncoderLayer("talk")),
        # Opset 13: LayerNorm exported as ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add.
        ("encoder_layer_lightweight_opset13", EncoderLayer("lightweight")),
    ]
    failures = []
    for name, module in cases:
        module.eval()
        path = os.path.join(work, name + ".onnx")
        export(module, (torch.randn(2, 13, C),), ["x"], path,
               opset=13 if name.endswith("_opset13") else 17)
        feeds = [{"x": rng.standard_normal((B, T, C)).astype(np.float32)}
                 for B, T in [(3, 29), (1, 40)]]
        err, why = run_both(tool, work, name, path, feeds)
        print(f"{name}: " + (f"max |convc - ort| / scale {err:.2e}" if why is None
                             else f"FAILED: {why}"))
        if why is not None or not err <= 1e-4:
            failures.append(name)

    # nn.MultiheadAttention, keys padded at the start of each row (never all).
    mha = MultiheadAttention().eval()
    path = os.path.join(work, "multihead_attention.onnx")
    export(mha, (torch.randn(2, 3, C), torch.randn(2, 5, C),
                 torch.zeros(2, 5, dtype=torch.int64)), ["q", "kv", "pad"], path)
    feeds = []
    for B, T, S in [(3, 7, 11), (1, 4, 9)]:
        pad = np.zeros((B, S), np.int64)
        for b in range(B):
            pad[b, :b] = 1
        feeds.append({"q": rng.standard_normal((B, T, C)).astype(np.float32),
                      "kv": rng.standard_normal((B, S, C)).astype(np.float32),
                      "pad": pad})
    err, why = run_both(tool, work, "multihead_attention", path, feeds)
    print("multihead_attention: " + (f"max |convc - ort| / scale {err:.2e}"
                                     if why is None else f"FAILED: {why}"))
    if why is not None or not err <= 1e-4:
        failures.append("multihead_attention")

    model = Seq2Seq().eval()
    path = os.path.join(work, "seq2seq.onnx")
    src = torch.randint(3, 20, (2, 7))
    prev = torch.randint(3, 20, (2, 5))
    export(model, (src, prev), ["src", "prev"], path)
    feeds = [{"src": rng.integers(3, 20, (B, S)).astype(np.int64),
              "prev": rng.integers(3, 20, (B, T)).astype(np.int64)}
             for B, S, T in [(3, 11, 6), (1, 4, 9)]]
    err, why = run_both(tool, work, "seq2seq", path, feeds)
    print("seq2seq: " + (f"max |convc - ort| / scale {err:.2e}" if why is None
                         else f"FAILED: {why}"))
    if why is not None or not err <= 1e-4:
        failures.append("seq2seq")
    if failures:
        sys.exit("FAIL: " + ", ".join(failures))


if __name__ == "__main__":
    main()
