#!/usr/bin/env python3
"""A random ConvSeq2Seq model exported to MLIR, plus PyTorch's greedy and
beam-search outputs for a few sources, for test/e2e/GenerateTest.cpp.

For each model kind (LightConv with GLU and tied output; DynamicConv without
GLU, untied; TaLK) writes DIR/<kind>/model.mlir and DIR/<kind>/cases.txt, one
line per case:
    <beam> <max_len> | <source tokens> | <expected tokens>
"""
import argparse
import os

import torch

from convc_torch import seq2seq


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    total = 0
    for kind, conv, glu, tied in [("light", "lightweight", True, True),
                                  ("dynamic", "dynamic", False, False),
                                  ("talk", "talk", True, True)]:
        torch.manual_seed(7)
        # 40 tokens: the choosing steps reduce a row in chunks of 32, so
        # a row is two chunks, the second partial.
        model = seq2seq.ConvSeq2Seq(vocab=40, d=32, heads=4, enc_kernel=3, dec_kernel=4,
                                    layers=2, ffn=64, conv=conv, glu=glu, tied=tied).eval()
        total += write(model, os.path.join(a.out, kind))
    print(f"wrote {total} cases to {a.out}")


def write(model, out):
    with torch.no_grad():
        # Larger weights make a random model's outputs vary (so greedy and
        # beam search disagree somewhere); a small eos row keeps it going.
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.mul_(2.0)
        model.embed.mul_(2.0)
        model.embed[seq2seq.EOS] *= 0.3
        if model.output is not None:
            model.output.mul_(2.0)
            model.output[seq2seq.EOS] *= 0.3
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.mlir"), "w") as f:
        f.write(seq2seq.to_mlir(model))
    sources = [[5, 9, 3, 2], [7, 7, 12, 4, 16, 2], [11, 2], [3, 4, 5, 6, 7, 8, 9, 2]]
    lines = []
    for beam in (1, 2, 4):
        for src in sources:
            tokens, _ = seq2seq.beam_search(model, src, beam, max_len=10)
            lines.append(f"{beam} 10 | {' '.join(map(str, src))} | {' '.join(map(str, tokens))}")
    # Greedy is beam 1: check the plain greedy decoder agrees.
    for src in sources:
        assert seq2seq.greedy(model, torch.tensor([src]), 10)[0] == \
            seq2seq.beam_search(model, src, 1, 10)[0], src
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


if __name__ == "__main__":
    main()
