#!/usr/bin/env python3
"""Trains the bundled example model: a small ConvSeq2Seq that reverses digit
sequences ("3 1 4 1 5" -> "5 1 4 1 3"), a task a reader checks by eye.

Tokens: fairseq's specials (0 <s>, 1 <pad>, 2 </s>, 3 <unk>), then digit i
is token 4 + i. Sources end with </s>; the decoder input starts with </s>.

usage: train_reverse_digits.py --out examples/reverse_digits.mlir [--steps N]
Runs in a few CPU minutes and writes the model as convc MLIR (weights as
constants) plus its state dict next to it (.pt) for the PyTorch reference.
"""
import argparse
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convc_torch import seq2seq  # noqa: E402

DIGITS, FIRST = 10, 4
VOCAB = FIRST + DIGITS


def batch(rng, size, min_len=3, max_len=10):
    """Left-padded sources, decoder inputs and targets."""
    lengths = [rng.randint(min_len, max_len) for _ in range(size)]
    S = max(lengths) + 1
    src = torch.full((size, S), seq2seq.PAD, dtype=torch.long)
    prev = torch.full((size, S), seq2seq.PAD, dtype=torch.long)
    tgt = torch.full((size, S), seq2seq.PAD, dtype=torch.long)
    for i, n in enumerate(lengths):
        digits = [FIRST + rng.randrange(DIGITS) for _ in range(n)]
        src[i, S - n - 1:] = torch.tensor(digits + [seq2seq.EOS])
        out = digits[::-1] + [seq2seq.EOS]
        tgt[i, :n + 1] = torch.tensor(out)
        prev[i, :n + 1] = torch.tensor([seq2seq.EOS] + out[:-1])
    return src, prev, tgt


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    torch.set_num_threads(2)
    model = seq2seq.ConvSeq2Seq(VOCAB, d=64, heads=4, enc_kernel=3, dec_kernel=3,
                                layers=2, ffn=128)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=a.steps)
    start = time.time()
    for step in range(a.steps):
        src, prev, tgt = batch(rng, 64)
        logits = model(src, prev)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1),
                               ignore_index=seq2seq.PAD)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == a.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.time() - start:.0f} s", flush=True)
    model.eval()
    src, _, tgt = batch(random.Random(123), 200)
    hyps = seq2seq.greedy(model, src, 12)
    refs = [seq2seq.strip(row.tolist()) for row in tgt]
    acc = sum(h == r for h, r in zip(hyps, refs)) / len(refs)
    print(f"held-out exact-match accuracy (greedy, 200 sequences): {acc:.3f}")
    with open(a.out, "w") as f:
        f.write(f"// Reverses digit sequences (token 4 + d is digit d; 2 is </s>).\n"
                f"// Trained by frontends/pytorch/train_reverse_digits.py "
                f"(seed {a.seed}, {a.steps} steps); held-out greedy exact match {acc:.3f}.\n")
        f.write(seq2seq.to_mlir(model))
    torch.save(model.state_dict(), os.path.splitext(a.out)[0] + ".pt")
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
