#!/usr/bin/env python3
"""Exports the bundled reverse-digits model (examples/reverse_digits.pt) as
encoder.onnx + decoder.onnx with standard ONNX ops, the way a user arrives
with an exported model; `convc compile encoder.onnx --decoder decoder.onnx`
packages them for `convc generate`.

usage: export_reverse_digits_onnx.py OUT_DIR
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))

import torch  # noqa: E402

from convc_torch import onnx_export, seq2seq  # noqa: E402
from train_reverse_digits import VOCAB  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model = seq2seq.ConvSeq2Seq(VOCAB, d=64, heads=4, enc_kernel=3, dec_kernel=3,
                                layers=2, ffn=128)
    model.load_state_dict(torch.load(os.path.join(ROOT, "examples", "reverse_digits.pt")))
    model.eval()
    onnx_export.export_seq2seq(model, os.path.join(out, "encoder.onnx"),
                               os.path.join(out, "decoder.onnx"))
    for name in ("encoder.onnx", "decoder.onnx"):
        path = os.path.join(out, name)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
