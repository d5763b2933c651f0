"""A ConvSeq2Seq exported as encoder.onnx + decoder.onnx (standard ops),
packaged by `convc compile encoder.onnx --decoder decoder.onnx`, generates
PyTorch's tokens through `convc generate` (greedy and beam 3), for LightConv,
DynamicConv and TaLK models with random weights (scaled up so that generations
vary), and variants (no GLU, untied output, 1-3 layers, 2-8 heads, decoder
kernels 2-7, fairseq's positional-embedding forms and its
LightweightConv1d, a [1, 1, d] gain on the embeddings), on left-padded batches of
different source lengths. The packaged
decoder must run incrementally (decode_step derived from the raised decoder),
while PyTorch's reference recomputes the full decoder at every step.

The TaLK decoder once caught a miscompile here: CSE merged equal tensor.empty
ops, and bufferization let a later op overwrite the embedding output while a
projection still read it as its residual (fixed by
empty-tensor-to-alloc-tensor before CSE, lowering/Pipelines.cpp).

usage: onnx_seq2seq_test.py CONVC_TOOL WORKDIR
"""
import math
import os
import subprocess
import sys
import types

import torch
import torch.nn.functional as F

from convc_torch import onnx_export, ops, seq2seq


def scaled_by_traced_size(self, q, k, v, key_pad):
    """Attention with q scaled by R ** -0.5, R read off the traced shape:
    exported as Cast and Pow of the size, float math the importer leaves to
    convc-fold-constant-scalars (the attention did not raise)."""
    B, Tq, C = q.shape
    R = C // self.heads
    qh = q.view(B, Tq, self.heads, R).transpose(1, 2) * (R ** -0.5)
    kh = k.view(B, -1, self.heads, R).transpose(1, 2)
    vh = v.view(B, -1, self.heads, R).transpose(1, 2)
    scores = (qh @ kh.transpose(-1, -2)).masked_fill(key_pad[:, None, None, :], float("-inf"))
    return (torch.softmax(scores, -1) @ vh).transpose(1, 2).reshape(B, Tq, C)


class FairseqTablePositions(seq2seq.ConvSeq2Seq):
    """fairseq's SinusoidalPositionalEmbedding as users export it: the table
    computed once in float32 (init_size rows, the pad row zero), positions
    from make_positions in int32, index_select of the flattened positions
    viewed back to [B, T, d], and the sum not masked (E[pad] is zero); the
    decoder's attention scaled by a traced size."""

    def __init__(self, *args, init_size=40, **kwargs):
        super().__init__(*args, **kwargs)
        half = self.d // 2
        w = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000) / (half - 1)))
        angles = torch.arange(init_size, dtype=torch.float).unsqueeze(1) * w.unsqueeze(0)
        table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        table[seq2seq.PAD] = 0
        self.register_buffer("table", table)

        for layer in self.decoder:
            layer.attention = types.MethodType(scaled_by_traced_size, layer)

    def embed_tokens(self, tokens):
        mask = tokens.ne(seq2seq.PAD).int()
        positions = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + seq2seq.PAD
        pe = self.table.index_select(0, positions.view(-1)).view(tokens.size(0),
                                                                 tokens.size(1), -1)
        return math.sqrt(self.d) * F.embedding(tokens, self.embed) + pe


class FlattenedPositions(seq2seq.ConvSeq2Seq):
    """convc_torch's embedding (the table computed for the sequence, the
    sum masked) with the positions read as fairseq reads them:
    index_select of the flattened positions, viewed back."""

    def embed_tokens(self, tokens):
        mask = tokens.ne(seq2seq.PAD)
        positions = torch.cumsum(mask.long(), dim=1) * mask.long() + seq2seq.PAD
        table = ops.sinusoidal_positions(seq2seq.PAD + tokens.shape[1] + 1, self.d).float()
        table[seq2seq.PAD] = 0
        pe = table.index_select(0, positions.view(-1)).view(tokens.size(0), tokens.size(1), -1)
        x = math.sqrt(self.d) * F.embedding(tokens, self.embed) + pe
        return x * mask.unsqueeze(-1).float()


def heads_in_batch(self, u):
    """fairseq's LightweightConv1d: [B, C, T] viewed as [B * C / H, H, T],
    a grouped conv with one kernel per head (channel c meets head c % H, not
    c // R), viewed back, a bias added; the causal pad on the view's time."""
    B, T, C = u.shape
    x = F.pad(u.transpose(1, 2).contiguous().view(-1, self.heads, T), (self.left, self.right))
    w = torch.softmax(self.conv_w, dim=-1).unsqueeze(1)
    y = F.conv1d(x, w, groups=self.heads).view(B, C, -1) + self.conv_bias.view(1, -1, 1)
    return y.transpose(1, 2)


class FairseqHeadsInBatch(seq2seq.ConvSeq2Seq):
    """LightweightConv written as fairseq's LightweightConv1d (the decoder
    kept its full form at every step: the grouped conv over heads folded
    into the batch was not raised)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for layer in list(self.encoder) + list(self.decoder):
            layer.mix = types.MethodType(heads_in_batch, layer)
            layer.conv_bias = torch.nn.Parameter(0.1 * torch.randn(self.d))


class ScaledEmbeddings(seq2seq.ConvSeq2Seq):
    """A learned gain of shape [1, 1, d] (nn.Parameter(torch.ones(1, 1, d)),
    as users write per-channel scales) on the embeddings: a broadcast read
    whose unit dims index at 0 (the decoder kept its full form at every
    step: the read was not known to act per position)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = torch.nn.Parameter(1 + 0.2 * torch.randn(1, 1, self.d))

    def embed_tokens(self, tokens):
        return super().embed_tokens(tokens) * self.gain


def generate(tool, lib, sources, beam, max_len):
    """The hypotheses, and whether the incremental decoder ran."""
    args = [tool, "generate", lib, "--beam", str(beam), "--max-len", str(max_len)]
    for s in sources:
        args += ["--src", " ".join(map(str, s))]
    run = subprocess.run(args, check=True, capture_output=True, text=True)
    return ([list(map(int, line.split("\t")[2].split()))
             for line in run.stdout.splitlines() if line.startswith("H-")],
            "incremental decoder" in run.stderr)


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failures = []
    # The three conv kinds, then variants of widths, heads, kernel sizes,
    # depth, GLU and the output projection that the raising must follow.
    variants = [(conv, dict(d=16, heads=4, layers=2, conv=conv))
                for conv in ["lightweight", "dynamic", "talk"]] + [
        ("lightweight_noglu_untied",
         dict(d=24, heads=2, layers=1, conv="lightweight", glu=False,
              tied=False, dec_kernel=5)),
        ("dynamic_3layers_untied",
         dict(d=32, heads=8, layers=3, conv="dynamic", tied=False,
              dec_kernel=4)),
        ("talk_noglu_k7", dict(d=16, heads=2, layers=1, conv="talk", glu=False,
                               dec_kernel=7)),
        # encoder_out time-major ([S, B, d], fairseq's layout): the package
        # returns it batch-major and transposes it back in the decoder (the
        # generator failed on it, or at S = B gathered the wrong rows).
        ("lightweight_time_major", dict(d=16, heads=4, layers=2, conv="lightweight")),
        # fairseq's own positional embedding forms (the decoder kept its
        # full form at every step: the positions were not raised).
        ("dynamic_fairseq_table", dict(d=16, heads=4, layers=2, conv="dynamic")),
        ("lightweight_flattened_positions", dict(d=16, heads=4, layers=1, conv="lightweight")),
        ("lightweight_heads_in_batch", dict(d=16, heads=4, layers=2, conv="lightweight",
                                            dec_kernel=4)),
        ("dynamic_scaled_embeddings", dict(d=16, heads=4, layers=1, conv="dynamic")),
    ]
    model_class = {"dynamic_fairseq_table": FairseqTablePositions,
                   "lightweight_flattened_positions": FlattenedPositions,
                   "lightweight_heads_in_batch": FairseqHeadsInBatch,
                   "dynamic_scaled_embeddings": ScaledEmbeddings}
    for conv, config in variants:
        torch.manual_seed(2)
        model = model_class.get(conv, seq2seq.ConvSeq2Seq)(
            vocab=16, ffn=2 * config["d"], **config).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(3.0)
            model.embed[seq2seq.PAD].zero_()
        enc, dec = (os.path.join(work, f"{conv}_{p}.onnx") for p in ("encoder", "decoder"))
        onnx_export.export_seq2seq(model, enc, dec, time_major=conv.endswith("time_major"))
        lib = os.path.join(work, f"{conv}.so")
        subprocess.run([tool, "compile", "--quiet", enc, "--decoder", dec, "-o", lib],
                       check=True)
        g = torch.Generator().manual_seed(7)
        sources = [torch.randint(3, 16, (n,), generator=g).tolist() + [seq2seq.EOS]
                   for n in (5, 9, 3)]
        max_len = 12
        got, incremental = generate(tool, lib, sources, 1, max_len)
        # The decoder's embedding, convs and attention are raised to convc
        # ops, so the package gets decode_init / decode_step.
        print(f"{conv}: incremental decoder {incremental}")
        if not incremental:
            failures.append(f"{conv} not incremental")
        with torch.no_grad():
            # The reference takes equal-length (left-padded) batches.
            S = max(map(len, sources))
            src = torch.tensor([[seq2seq.PAD] * (S - len(s)) + s for s in sources])
            want = seq2seq.greedy(model, src, max_len)
        print(f"{conv} greedy: convc {got} torch {want}")
        if got != want:
            failures.append(f"{conv} greedy")
        got, _ = generate(tool, lib, sources[:2], 3, max_len)
        with torch.no_grad():
            want = [seq2seq.beam_search(model, s, 3, max_len)[0] for s in sources[:2]]
        print(f"{conv} beam 3: convc {got} torch {want}")
        if got != want:
            failures.append(f"{conv} beam")
    if failures:
        sys.exit("FAIL: " + ", ".join(failures))


if __name__ == "__main__":
    main()
