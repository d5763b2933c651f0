"""Exports convc ops from PyTorch to ONNX as nodes of the "convc" domain.

The generic ONNX export of a LightweightConv, DynamicConv or TaLK conv is a
long chain of Pad/Conv/Gather/CumSum nodes; these functions make
torch.onnx.export emit one node per op instead, which convc imports exactly
(docs/onnx.md, "The convc domain"). Outside tracing they are the ops.py math,
so a model written with them trains as usual.

    y = convc_torch.onnx_export.lightweight_conv(x, W, bias, padding=2)
    torch.onnx.export(model, args, "m.onnx",
                      custom_opsets={"convc": 1}, opset_version=17)

Under tracing they call torch.ops.convc.* (registered with torch.library, so
the tracer records one node and does not look inside), whose ONNX symbolics
are registered below.
"""
import torch
from torch.onnx import symbolic_helper

from . import ops

DOMAIN = "convc"

_lib = torch.library.Library(DOMAIN, "DEF")
_lib.define("glu(Tensor x) -> Tensor")
_lib.define("lightweight_conv(Tensor x, Tensor W, Tensor bias, int padding, "
            "bool weight_softmax) -> Tensor")
_lib.define("dynamic_conv(Tensor x, Tensor Wq, Tensor bias, int heads, "
            "int kernel_size, int padding) -> Tensor")
_lib.define("talk_conv(Tensor x, Tensor offsets, int left_max, int right_max, "
            "bool causal) -> Tensor")
_lib.impl("glu", ops.glu, "CPU")
_lib.impl("lightweight_conv",
          lambda x, W, b, p, s: ops.lightweight_conv(x, W, p, s, b), "CPU")
_lib.impl("dynamic_conv", ops.dynamic_conv, "CPU")
_lib.impl("talk_conv", ops.talk_conv, "CPU")


def _int(v):
    return int(symbolic_helper._maybe_get_const(v, "i"))


def _bool(v):
    return int(bool(symbolic_helper._maybe_get_const(v, "b")))


def _register_symbolics():
    reg = torch.onnx.register_custom_op_symbolic
    reg(DOMAIN + "::glu", lambda g, x: g.op("convc::GLU", x), 1)
    reg(DOMAIN + "::lightweight_conv",
        lambda g, x, W, b, p, s: g.op("convc::LightweightConv", x, W, b,
                                      padding_i=_int(p),
                                      weight_softmax_i=_bool(s)), 1)
    reg(DOMAIN + "::dynamic_conv",
        lambda g, x, Wq, b, h, k, p: g.op("convc::DynamicConv", x, Wq, b,
                                          heads_i=_int(h),
                                          kernel_size_i=_int(k),
                                          padding_i=_int(p)), 1)
    reg(DOMAIN + "::talk_conv",
        lambda g, x, off, l, r, c: g.op("convc::TaLKConv", x, off,
                                        left_max_i=_int(l), right_max_i=_int(r),
                                        causal_i=_bool(c)), 1)


_register_symbolics()


def glu(x):
    if torch.jit.is_tracing():
        return torch.ops.convc.glu(x)
    return ops.glu(x)


def lightweight_conv(x, W, bias, padding, weight_softmax=True):
    """x [B, T, C], W [H, K], bias [C]; P = padding taps on the left."""
    if torch.jit.is_tracing():
        return torch.ops.convc.lightweight_conv(x, W, bias, padding,
                                                weight_softmax)
    return ops.lightweight_conv(x, W, padding, weight_softmax, bias)


def dynamic_conv(x, Wq, bias, heads, kernel_size, padding):
    """x [B, T, C], Wq [H*K, C], bias [H*K]."""
    if torch.jit.is_tracing():
        return torch.ops.convc.dynamic_conv(x, Wq, bias, heads, kernel_size,
                                            padding)
    return ops.dynamic_conv(x, Wq, bias, heads, kernel_size, padding)


def talk_conv(x, offsets, left_max, right_max, causal=False):
    """x [B, T, C], offsets in [0, 1]: [B, T, 2H] ([B, T, H] when causal)."""
    if torch.jit.is_tracing():
        return torch.ops.convc.talk_conv(x, offsets, left_max, right_max,
                                         causal)
    return ops.talk_conv(x, offsets, left_max, right_max, causal)


def export_seq2seq(model, encoder_path, decoder_path, opset=17, time_major=False):
    """Exports a convc_torch.seq2seq.ConvSeq2Seq as encoder.onnx (src_tokens
    [B, S] -> encoder_out [B, S, d], encoder_padding_mask [B, S] int64) and a
    full-sequence decoder.onnx (prev_tokens [B, T], encoder_out,
    encoder_padding_mask -> logits [B, T, V]), standard ONNX ops, symbolic
    batch and lengths. `convc compile encoder.onnx --decoder decoder.onnx`
    packages them into one module for `convc generate`. The mask crosses as
    int64 (convc passes float32 and int64 tensors). `time_major`: encoder_out
    crosses as [S, B, d], fairseq's layout (the package transposes it)."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, src_tokens):
            enc, pad = self.model.encode(src_tokens)
            return enc.transpose(0, 1) if time_major else enc, pad.to(torch.int64)

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, prev_tokens, encoder_out, encoder_padding_mask):
            if time_major:
                encoder_out = encoder_out.transpose(0, 1)
            return self.model.decode(prev_tokens, encoder_out,
                                     encoder_padding_mask.bool())

    src = torch.tensor([[5, 6, 7, 2], [1, 8, 9, 2]])
    prev = torch.tensor([[2, 9, 8], [2, 7, 6]])
    enc_axes = {1: "B", 0: "S"} if time_major else {0: "B", 1: "S"}
    with torch.no_grad():
        enc, pad = model.encode(src)
        if time_major:
            enc = enc.transpose(0, 1)
        torch.onnx.export(Encoder().eval(), (src,), encoder_path,
                          input_names=["src_tokens"],
                          output_names=["encoder_out", "encoder_padding_mask"],
                          opset_version=opset,
                          dynamic_axes={"src_tokens": {0: "B", 1: "S"},
                                        "encoder_out": enc_axes,
                                        "encoder_padding_mask": {0: "B", 1: "S"}})
        torch.onnx.export(Decoder().eval(), (prev, enc, pad.to(torch.int64)),
                          decoder_path,
                          input_names=["prev_tokens", "encoder_out",
                                       "encoder_padding_mask"],
                          output_names=["logits"], opset_version=opset,
                          dynamic_axes={"prev_tokens": {0: "B", 1: "T"},
                                        "encoder_out": enc_axes,
                                        "encoder_padding_mask": {0: "B", 1: "S"},
                                        "logits": {0: "B", 1: "T"}})
