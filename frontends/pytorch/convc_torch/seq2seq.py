"""A small fairseq-style LightConv sequence-to-sequence model in PyTorch, its
reference greedy and beam search, and its export to the convc dialect.

Dictionary conventions follow fairseq: pad = 1, eos = 2 (also the first
decoder input), tokens >= 3 are symbols. Layouts are BTC.

The exported MLIR has three functions, weights as constants:
  encode(src_tokens [B, S] i64) -> (enc [B, S, d], enc_pad [B, S])
  decode(tokens [B, T] i64, enc, enc_pad) -> logits [B, T, V]
and `convc compile --decode-step=decode` derives decode_init / decode_step.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import ops

PAD, EOS = 1, 2


class ConvLayer(torch.nn.Module):
    """fairseq's conv layer; conv is "lightweight", "dynamic" or "talk"
    (TaLK: Lmax = Rmax = kernel // 2, causal Lmax = kernel - 1, swish FFN)."""

    def __init__(self, d, heads, kernel, ffn, causal, cross_attention,
                 conv="lightweight", glu=True):
        super().__init__()
        self.heads, self.kernel, self.causal = heads, kernel, causal
        self.conv, self.glu = conv, glu
        self.padding = kernel - 1 if causal else kernel // 2
        self.left = kernel - 1 if causal else kernel // 2
        self.right = 0 if causal else kernel // 2
        self.linear1 = torch.nn.Linear(d, 2 * d if glu else d)
        self.conv_w = torch.nn.Parameter(torch.randn(heads, kernel))
        if conv == "dynamic":
            self.conv_wq = torch.nn.Linear(d, heads * kernel, bias=False)
        if conv == "talk":
            self.offsets = torch.nn.Linear(d, heads if causal else 2 * heads)
        self.linear2 = torch.nn.Linear(d, d)
        self.ln1 = torch.nn.LayerNorm(d)
        self.attn = None
        if cross_attention:
            self.attn = torch.nn.ModuleDict({
                "q": torch.nn.Linear(d, d), "k": torch.nn.Linear(d, d),
                "v": torch.nn.Linear(d, d), "o": torch.nn.Linear(d, d)})
            self.ln_attn = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, ffn)
        self.fc2 = torch.nn.Linear(ffn, d)
        self.ln2 = torch.nn.LayerNorm(d)

    def mix(self, u):
        if self.conv == "dynamic":
            return ops.dynamic_conv(u, self.conv_wq.weight, None, self.heads, self.kernel,
                                    self.padding)
        if self.conv == "talk":
            return ops.talk_conv(u, torch.sigmoid(self.offsets(u)), self.left, self.right,
                                 self.causal)
        return ops.lightweight_conv(u, self.conv_w, self.padding)

    def forward(self, x, pad_mask=None, enc=None, enc_pad=None):
        u = self.linear1(x)
        if self.glu:
            u = F.glu(u, dim=-1)
        if pad_mask is not None:
            u = u.masked_fill(pad_mask.unsqueeze(-1), 0.0)
        x = self.ln1(x + self.linear2(self.mix(u)))
        if self.attn is not None:
            a = self.attention(self.attn["q"](x), self.attn["k"](enc), self.attn["v"](enc), enc_pad)
            x = self.ln_attn(x + self.attn["o"](a))
        f = self.fc1(x)
        f = f * torch.sigmoid(f) if self.conv == "talk" else F.relu(f)
        return self.ln2(x + self.fc2(f))

    def attention(self, q, k, v, key_pad):
        B, Tq, d = q.shape
        R = d // self.heads
        qh = q.view(B, Tq, self.heads, R).transpose(1, 2)
        kh = k.view(B, -1, self.heads, R).transpose(1, 2)
        vh = v.view(B, -1, self.heads, R).transpose(1, 2)
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(R)
        scores = scores.masked_fill(key_pad[:, None, None, :], float("-inf"))
        return (torch.softmax(scores, -1) @ vh).transpose(1, 2).reshape(B, Tq, d)


class ConvSeq2Seq(torch.nn.Module):
    def __init__(self, vocab, d=64, heads=4, enc_kernel=3, dec_kernel=3,
                 layers=2, ffn=128, conv="lightweight", glu=True, tied=True):
        super().__init__()
        self.vocab, self.d = vocab, d
        self.embed = torch.nn.Parameter(torch.randn(vocab, d) * d ** -0.5)
        with torch.no_grad():
            self.embed[PAD].zero_()
        self.output = None if tied else torch.nn.Parameter(torch.randn(vocab, d) * d ** -0.5)
        self.encoder = torch.nn.ModuleList(
            [ConvLayer(d, heads, enc_kernel, ffn, False, False, conv, glu) for _ in range(layers)])
        self.decoder = torch.nn.ModuleList(
            [ConvLayer(d, heads, dec_kernel, ffn, True, True, conv, glu) for _ in range(layers)])

    def embed_tokens(self, tokens):
        return ops.embed_tokens(tokens, self.embed, PAD).float()

    def encode(self, src):
        pad = src.eq(PAD)
        x = self.embed_tokens(src)
        for layer in self.encoder:
            x = layer(x, pad_mask=pad)
        return x, pad

    def decode(self, prev, enc, enc_pad):
        x = self.embed_tokens(prev)
        for layer in self.decoder:
            x = layer(x, enc=enc, enc_pad=enc_pad)
        return x @ (self.embed if self.output is None else self.output).t()

    def forward(self, src, prev):
        enc, pad = self.encode(src)
        return self.decode(prev, enc, pad)


@torch.no_grad()
def greedy(model, src, max_len):
    """Reference greedy decoding (full decoder recomputed per step). As in
    fairseq (and runtime/src/Generate.cpp), padding is never generated."""
    enc, pad = model.encode(src)
    out = torch.full((src.shape[0], 1), EOS, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        logits = model.decode(out, enc, pad)[:, -1]
        logits[:, PAD] = float("-inf")
        nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        out = torch.cat([out, nxt[:, None]], 1)
        done |= nxt.eq(EOS)
        if done.all():
            break
    return [strip(row.tolist()[1:]) for row in out]


def strip(tokens):
    """Tokens up to (not including) the first eos."""
    result = []
    for t in tokens:
        if t in (EOS, PAD):
            break
        result.append(t)
    return result


# --- export to the convc dialect --------------------------------------------

# When set (by to_mlir(..., weights_as_inputs=True)), weights become named
# function inputs collected here instead of constants.
_WEIGHT_INPUTS = None


def _const(name, tensor):
    a = np.ascontiguousarray(tensor.detach().numpy().astype(np.float32))
    shape = "x".join(str(s) for s in a.shape)
    if _WEIGHT_INPUTS is not None:
        _WEIGHT_INPUTS[name] = a
        return ""
    return f'    %{name} = arith.constant dense<"0x{a.tobytes().hex().upper()}"> : tensor<{shape}xf32>\n'


def _weight_args(names, weights):
    return "".join(
        f', %{n}: tensor<{"x".join(str(s) for s in weights[n].shape)}xf32> {{convc.name = "{n}"}}'
        for n in names)


def _linear(lines, consts, name, lin, x, din, dout, extra="", act=None, out_width=None):
    consts.append(_const(name + "_w", lin.weight))
    consts.append(_const(name + "_b", lin.bias))
    w = out_width if out_width is not None else dout
    attr = f" {{activation = #convc<activation {act}>}}" if act else ""
    operands = f"%{x}, %{name}_w bias %{name}_b{extra[0] if extra else ''}"
    types = (f"tensor<?x?x{din}xf32>, tensor<{dout}x{din}xf32>, tensor<{dout}xf32>"
             + (extra[1] if extra else ""))
    lines.append(f"    %{name} = convc.linear {operands}{attr} : {types} -> tensor<?x?x{w}xf32>\n")
    return name


def to_mlir(model, weights_as_inputs=False):
    """The model as convc MLIR. With weights_as_inputs, weights are named
    inputs (returns (mlir, {name: array})) instead of constants: large models
    then compile in seconds and the caller feeds the weights."""
    global _WEIGHT_INPUTS
    _WEIGHT_INPUTS = {} if weights_as_inputs else None
    try:
        text = _to_mlir(model)
        return (text, _WEIGHT_INPUTS) if weights_as_inputs else text
    finally:
        _WEIGHT_INPUTS = None


def _to_mlir(model):
    d, V = model.d, model.vocab
    t = f"tensor<?x?x{d}xf32>"
    consts, body = [], []
    consts.append(_const("emb", model.embed))
    scale = math.sqrt(d)

    def layer_ops(prefix, layer, x, causal, enc=None):
        if layer.glu:
            u = _linear(body, consts, prefix + "l1", layer.linear1, x, d, 2 * d, act="glu", out_width=d)
        else:
            u = _linear(body, consts, prefix + "l1", layer.linear1, x, d, d)
        if not causal:
            body.append(f"    %{prefix}um = convc.mask_positions %{u}, %enc_pad : {t}, tensor<?x?xf32>\n")
            u = prefix + "um"
        H, K = layer.conv_w.shape
        if layer.conv == "dynamic":
            consts.append(_const(prefix + "wq", layer.conv_wq.weight))
            body.append(f"    %{prefix}c = convc.dynamic_conv %{u}, %{prefix}wq {{heads = {H} : i64, "
                        f"kernel_size = {K} : i64, padding = {layer.padding} : i64}} : {t}, "
                        f"tensor<{H * K}x{d}xf32>\n")
        elif layer.conv == "talk":
            n = layer.offsets.weight.shape[0]
            o = _linear(body, consts, prefix + "off", layer.offsets, u, d, n, act="sigmoid")
            causal = "causal, " if layer.causal else ""
            body.append(f"    %{prefix}c = convc.talk_conv %{u}, %{o} {{{causal}left_max = {layer.left} : i64, "
                        f"right_max = {layer.right} : i64}} : {t}, tensor<?x?x{n}xf32>\n")
        else:
            consts.append(_const(prefix + "cw", layer.conv_w))
            body.append(f"    %{prefix}c = convc.lightweight_conv %{u}, %{prefix}cw {{heads = {H} : i64, "
                        f"padding = {layer.padding} : i64}} : {t}, tensor<{H}x{K}xf32>\n")
        for n, ln in [("ln1", layer.ln1), ("ln2", layer.ln2)] + (
                [("lna", layer.ln_attn)] if layer.attn is not None else []):
            consts.append(_const(prefix + n + "_g", ln.weight))
            consts.append(_const(prefix + n + "_b", ln.bias))
        vec = f"tensor<{d}xf32>"
        ln = lambda n: (f" residual %{x_res[0]} layer_norm %{prefix}{n}_g, %{prefix}{n}_b",
                        f", {t}, {vec}, {vec}")
        x_res = [x]
        h = _linear(body, consts, prefix + "l2", layer.linear2, prefix + "c", d, d, extra=ln("ln1"))
        if layer.attn is not None:
            q = _linear(body, consts, prefix + "q", layer.attn["q"], h, d, d)
            k = _linear(body, consts, prefix + "k", layer.attn["k"], enc, d, d)
            v = _linear(body, consts, prefix + "v", layer.attn["v"], enc, d, d)
            body.append(f"    %{prefix}a = convc.attention %{q}, %{k}, %{v} key_padding %enc_pad "
                        f"{{heads = {layer.heads} : i64}} : {t}, {t}, {t}, tensor<?x?xf32>\n")
            x_res[0] = h
            h = _linear(body, consts, prefix + "ao", layer.attn["o"], prefix + "a", d, d, extra=ln("lna"))
        ffn = layer.fc1.weight.shape[0]
        f = _linear(body, consts, prefix + "f1", layer.fc1, h, d, ffn,
                    act="swish" if layer.conv == "talk" else "relu")
        x_res[0] = h
        return _linear(body, consts, prefix + "f2", layer.fc2, f, ffn, d, extra=ln("ln2"))

    emb_attrs = f"{{padding_idx = {PAD} : i64, scale = {scale!r} : f64, sinusoidal}}"
    # The source's: a token outside the vocabulary fails the call (it read
    # as a zero row, and generation answered with exit code 0). The
    # decoder's tokens are the generator's own, checked once, not per step.
    src_emb_attrs = "{check_ids, " + emb_attrs[1:]
    # encode
    body.append(f"    %enc_pad = convc.padding_mask %src {{padding_idx = {PAD} : i64}} : "
                f"tensor<?x?xi64> -> tensor<?x?xf32>\n")
    body.append(f"    %ex = convc.embedding %src, %emb {src_emb_attrs} : tensor<?x?xi64>, "
                f"tensor<{V}x{d}xf32> -> {t}\n")
    x = "ex"
    for i, layer in enumerate(model.encoder):
        x = layer_ops(f"e{i}", layer, x, False)
    enc_weights = list(_WEIGHT_INPUTS) if _WEIGHT_INPUTS is not None else []
    encode = ("  func.func @encode(%src: tensor<?x?xi64> {convc.name = \"src_tokens\"}"
              + (_weight_args(enc_weights, _WEIGHT_INPUTS) if enc_weights else "") + ") -> "
              f"({t} {{convc.name = \"enc\"}}, tensor<?x?xf32> {{convc.name = \"enc_pad\"}}) {{\n"
              + "".join(consts) + "".join(body) + f"    return %{x}, %enc_pad : {t}, tensor<?x?xf32>\n  }}\n")
    consts, body = [], []
    before = set(_WEIGHT_INPUTS) if _WEIGHT_INPUTS is not None else set()
    consts.append(_const("emb", model.embed))
    body.append(f"    %dx = convc.embedding %tokens, %emb {emb_attrs} : tensor<?x?xi64>, "
                f"tensor<{V}x{d}xf32> -> {t}\n")
    x = "dx"
    for i, layer in enumerate(model.decoder):
        x = layer_ops(f"d{i}", layer, x, True, enc="enc")
    out = "emb"
    if model.output is not None:
        consts.append(_const("out", model.output))
        out = "out"
    body.append(f"    %logits = convc.linear %{x}, %{out} : {t}, tensor<{V}x{d}xf32> -> tensor<?x?x{V}xf32>\n")
    dec_weights = ([n for n in _WEIGHT_INPUTS if n not in before or n == "emb"]
                   if _WEIGHT_INPUTS is not None else [])
    decode = ("  func.func @decode(%tokens: tensor<?x?xi64> {convc.name = \"tokens\"}, "
              f"%enc: {t} {{convc.name = \"enc\"}}, %enc_pad: tensor<?x?xf32> {{convc.name = \"enc_pad\"}}"
              + (_weight_args(dec_weights, _WEIGHT_INPUTS) if dec_weights else "") + ") "
              f"-> (tensor<?x?x{V}xf32> {{convc.name = \"logits\"}}) {{\n"
              + "".join(consts) + "".join(body)
              + f"    return %logits : tensor<?x?x{V}xf32>\n  }}\n")
    return "module {\n" + encode + decode + "}\n"


@torch.no_grad()
def beam_search(model, src, beam, max_len, length_penalty=1.0):
    """Reference beam search, the algorithm of runtime/src/Generate.cpp with
    the full decoder recomputed per step: 2 x beam candidates per step, eos
    candidates finish a hypothesis, the best finished hypothesis by
    score / (length + 1) ** length_penalty wins. Returns (tokens, score)."""
    enc, pad = model.encode(torch.tensor([src]))
    beams = [([], 0.0)] + [([], float("-inf"))] * (beam - 1)
    finished = []
    for t in range(max_len + 1):
        candidates = []
        for k, (tokens, score) in enumerate(beams):
            if score == float("-inf"):
                continue
            logits = model.decode(torch.tensor([[EOS] + tokens]), enc, pad)[0, -1]
            lp = torch.log_softmax(logits.double(), -1)
            # At the length limit eos is the only continuation.
            candidates += [(score + lp[v].item(), k, v) for v in range(len(lp))
                           if v != PAD and (t < max_len or v == EOS)]
        candidates.sort(key=lambda c: -c[0])
        nxt = []
        for score, k, v in candidates[:2 * beam]:
            if len(nxt) >= beam:
                break
            if v == EOS:
                if len(finished) < beam:
                    finished.append((beams[k][0], score))
                continue
            nxt.append((beams[k][0] + [v], score))
        if len(finished) >= beam or not nxt:
            break
        beams = nxt + [([], float("-inf"))] * (beam - len(nxt))
    return max(finished, key=lambda h: h[1] / (len(h[0]) + 1) ** length_penalty)
