#!/usr/bin/env python3
"""Seq2Seq generation: convc against PyTorch eager incremental decoding and
ONNX Runtime re-running the full-sequence decoder per step.

Model: ConvSeq2Seq (frontends/pytorch/convc_torch/seq2seq.py), d = 512,
H = 8, 6 encoder + 6 decoder LightConv layers, K = 31 (encoder centred,
decoder causal), FFN 2048, vocabulary 1000, random weights (the eos row
scaled down so sentences run to the length limit). Sources of 32, 128 and
512 tokens, B = 1, 64 generated tokens, greedy and beam 4, 2 threads.

  convc  `convc compile --decode-step=decode` (weights as inputs), then
         `convc generate --params` (encoder once, derived decode_step with
         explicit conv states and cached encoder K/V, states reordered
         between beams)
  torch  PyTorch eager, incremental as fairseq decodes: per layer the last
         K-1 conv inputs and the encoder K/V cached, states reordered with
         index_select; same search algorithm
  ort    the exported encoder and full decoder in ONNX Runtime
         (onnxruntime-node), the decoder re-run on the whole prefix each
         step (greedy only: ORT has no beam search of its own)
  package  the same two ONNX files compiled by `convc compile encode.onnx
         --decoder decode.onnx`: raised to convc ops, decoded incrementally
Each system runs in its own process; peak memory is that process's maximum
resident set size (/usr/bin/time). Each timed run follows one in-process
warm-up translation (torch and ORT warm up likewise); median of 3 runs.

usage: bench/seq2seq_benchmarks.py [--threads 2] [--quick]
Writes bench/results/seq2seq.json and the Seq2Seq section of
docs/performance.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from convc_torch import ops, seq2seq  # noqa: E402

VOCAB, D, H, K, LAYERS, FFN = 1000, 512, 8, 31, 6, 2048
GEN = 64


def build_model():
    torch.manual_seed(0)
    model = seq2seq.ConvSeq2Seq(VOCAB, d=D, heads=H, enc_kernel=K, dec_kernel=K,
                                layers=LAYERS, ffn=FFN).eval()
    with torch.no_grad():
        model.embed[seq2seq.EOS] *= 0.01
    return model


def source(length):
    rng = np.random.default_rng(length)
    return [int(t) for t in rng.integers(3, VOCAB, length - 1)] + [seq2seq.EOS]


# --- PyTorch incremental decoding (fairseq style) ---------------------------

class Incremental:
    """Decoder state: per layer the last K-1 conv inputs and the encoder K/V."""

    def __init__(self, model, enc, enc_pad, rows):
        self.m = model
        self.enc_pad = enc_pad.repeat_interleave(rows, 0)
        self.kv = []
        for layer in model.decoder:
            k = layer.attn["k"](enc).repeat_interleave(rows, 0)
            v = layer.attn["v"](enc).repeat_interleave(rows, 0)
            self.kv.append((k, v))
        n = enc.shape[0] * rows
        self.windows = [torch.zeros(n, layer.kernel - 1, D) for layer in model.decoder]

    def step(self, tokens, t):
        m = self.m
        pe = ops.sinusoidal_positions(seq2seq.PAD + t + 2, D)[seq2seq.PAD + t + 1].float()
        x = (D ** 0.5) * F.embedding(tokens, m.embed) + pe
        x = x[:, None]
        for i, layer in enumerate(m.decoder):
            u = F.glu(layer.linear1(x), dim=-1)
            window = torch.cat([self.windows[i], u], 1)
            self.windows[i] = window[:, 1:]
            w = torch.softmax(layer.conv_w, -1).unsqueeze(1).expand(H, D // H, layer.kernel)
            y = (window.transpose(1, 2) * w.reshape(1, D, layer.kernel)).sum(-1)[:, None]
            x = layer.ln1(x + layer.linear2(y))
            k, v = self.kv[i]
            a = layer.attention(layer.attn["q"](x), k, v, self.enc_pad)
            x = layer.ln_attn(x + layer.attn["o"](a))
            x = layer.ln2(x + layer.fc2(F.relu(layer.fc1(x))))
        return (x[:, 0] @ m.embed.t()).double().log_softmax(-1)

    def reorder(self, rows):
        self.windows = [w.index_select(0, rows) for w in self.windows]


@torch.no_grad()
def torch_generate(model, src, beam, max_len):
    enc, pad = model.encode(torch.tensor([src]))
    inc = Incremental(model, enc, pad, beam)
    beams = [([], 0.0)] + [([], float("-inf"))] * (beam - 1)
    finished = []
    for t in range(max_len + 1):
        tokens = torch.tensor([b[0][-1] if b[0] else seq2seq.EOS for b in beams])
        lp = inc.step(tokens, t)
        cands = []
        for k, (toks, score) in enumerate(beams):
            if score == float("-inf"):
                continue
            top = lp[k].topk(2 * beam + 2)
            for s, v in zip(top.values.tolist(), top.indices.tolist()):
                if v != seq2seq.PAD and (t < max_len or v == seq2seq.EOS):
                    cands.append((score + s, k, v))
            if t == max_len:
                cands.append((score + lp[k, seq2seq.EOS].item(), k, seq2seq.EOS))
        cands.sort(key=lambda c: -c[0])
        nxt, rows = [], []
        for score, k, v in cands[:2 * beam]:
            if len(nxt) >= beam:
                break
            if v == seq2seq.EOS:
                if len(finished) < beam:
                    finished.append((beams[k][0], score))
                continue
            nxt.append((beams[k][0] + [v], score))
            rows.append(k)
        if len(finished) >= beam or not nxt:
            break
        rows += [0] * (beam - len(rows))
        inc.reorder(torch.tensor(rows))
        beams = nxt + [([], float("-inf"))] * (beam - len(nxt))
    return max(finished, key=lambda h: h[1] / (len(h[0]) + 1))[0]


def worker(args):
    """One timed torch run in this process; prints JSON."""
    torch.set_num_threads(args.threads)
    model = build_model()
    src = source(args.src_len)
    torch_generate(model, src, args.beam, 4)  # warm-up
    times, out = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        out = torch_generate(model, src, args.beam, GEN)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"ms": statistics.median(times), "tokens": len(out) + 1, "out": out}))


def timed(cmd, cwd=None):
    """Runs cmd under /usr/bin/time; returns (stdout, stderr, peak MB)."""
    run = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M"] + cmd,
                         capture_output=True, text=True, cwd=cwd, check=True)
    rss = int(run.stderr.strip().splitlines()[-1].split("=")[1])
    return run.stdout, run.stderr, rss / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--src-len", type=int, default=32, help=argparse.SUPPRESS)
    p.add_argument("--beam", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a)
    convc = os.path.join(a.build, "bin", "convc")
    model = build_model()
    lengths = [32] if a.quick else [32, 128, 512]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        text, weights = seq2seq.to_mlir(model, weights_as_inputs=True)
        params = os.path.join(tmp, "params")
        os.makedirs(params)
        for name, array in weights.items():
            np.save(os.path.join(params, name + ".npy"), array)
        mlir = os.path.join(tmp, "model.mlir")
        with open(mlir, "w") as f:
            f.write(text)
        lib = os.path.join(tmp, "model.so")
        subprocess.run([convc, "compile", "--quiet", mlir, "--decode-step=decode", "-o", lib], check=True)
        # ONNX exports: encoder, and the full decoder run per step.
        enc_onnx, dec_onnx = os.path.join(tmp, "encode.onnx"), os.path.join(tmp, "decode.onnx")

        class Enc(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, src):
                enc, pad = self.m.encode(src)
                return enc, pad.float()

        class Dec(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, tokens, enc, enc_pad):
                return self.m.decode(tokens, enc, enc_pad > 0.5)

        with torch.no_grad():
            src0 = torch.tensor([source(32)])
            torch.onnx.export(Enc(model), (src0,), enc_onnx, input_names=["src_tokens"],
                              output_names=["enc", "enc_pad"], opset_version=17,
                              dynamic_axes={"src_tokens": {0: "B", 1: "S"}, "enc": {0: "B", 1: "S"},
                                            "enc_pad": {0: "B", 1: "S"}})
            enc, pad = model.encode(src0)
            torch.onnx.export(Dec(model), (torch.tensor([[2, 5, 6]]), enc, pad.float()), dec_onnx,
                              input_names=["tokens", "enc", "enc_pad"], output_names=["logits"],
                              opset_version=17,
                              dynamic_axes={"tokens": {0: "B", 1: "T"}, "enc": {0: "B", 1: "S"},
                                            "enc_pad": {0: "B", 1: "S"}, "logits": {0: "B", 1: "T"}})
        # The same two ONNX files packaged by convc (weights as constants):
        # the raised decoder runs incrementally.
        lib_onnx = os.path.join(tmp, "package.so")
        t0 = time.time()
        subprocess.run([convc, "compile", "--quiet", enc_onnx, "--decoder", dec_onnx, "-o",
                        lib_onnx], check=True)
        package_compile_s = time.time() - t0
        print(f"packaged encoder.onnx + decoder.onnx in {package_compile_s:.1f} s", flush=True)
        for length in lengths:
            src = source(length)
            for beam in (1, 4):
                cmd = [convc, "generate", lib, "--params", params, "--src", " ".join(map(str, src)),
                       "--beam", str(beam), "--max-len", str(GEN), "--threads", str(a.threads),
                       "--warmup", "1"]
                runs = []
                for i in range(4):
                    out, err, rss = timed(cmd)
                    line = [l for l in err.splitlines() if l.startswith("convc generate:")][0]
                    ms = float(line.split(" tokens in ")[1].split(" ms")[0])
                    tokens = int(line.split(" tokens in ")[0].split()[-1])
                    hyp = [int(x) for x in out.splitlines()[1].split("\t")[2].split()]
                    if i:
                        runs.append((ms, rss))
                c_ms, c_rss = statistics.median(r[0] for r in runs), max(r[1] for r in runs)
                cmd = [convc, "generate", lib_onnx, "--src", " ".join(map(str, src)),
                       "--beam", str(beam), "--max-len", str(GEN), "--threads", str(a.threads),
                       "--warmup", "1"]
                package = []
                for i in range(4):
                    out, err, rss = timed(cmd)
                    line = [l for l in err.splitlines() if l.startswith("convc generate:")][0]
                    assert "incremental decoder" in line, line
                    if i:
                        package.append(float(line.split(" tokens in ")[1].split(" ms")[0]))
                    package_hyp = [int(x) for x in out.splitlines()[1].split("\t")[2].split()]
                out, _, t_rss = timed([sys.executable, __file__, "--worker", "--src-len", str(length),
                                       "--beam", str(beam), "--threads", str(a.threads)])
                tw = json.loads(out)
                r = dict(src_len=length, beam=beam, tokens=tokens, convc_ms=c_ms, convc_mb=c_rss,
                         package_ms=statistics.median(package), package_same=package_hyp == hyp,
                         torch_ms=tw["ms"], torch_mb=t_rss, same_output=tw["out"] == hyp)
                if beam == 1:
                    out, _, o_rss = timed(["node", os.path.join(ROOT, "bench", "ort_generate.js"),
                                           enc_onnx, dec_onnx, str(a.threads), str(GEN),
                                           " ".join(map(str, src))], cwd=os.path.join(ROOT, "bench"))
                    ow = json.loads(out)
                    r.update(ort_ms=ow["ms"], ort_mb=o_rss, ort_same=ow["out"] == hyp)
                results.append(r)
                print(json.dumps(r), flush=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "seq2seq.json"), "w") as f:
        json.dump(results, f, indent=1)
    if not a.quick:
        write_report(results, a.threads, package_compile_s)


def write_report(results, threads, package_compile_s):
    rows = []
    for r in results:
        tps = lambda ms: r["tokens"] / (ms / 1e3)
        ort = (f"{tps(r['ort_ms']):.0f} | {r['ort_ms'] / r['tokens']:.2f} | {r['ort_mb']:.0f} | "
               f"{r['ort_ms'] / r['convc_ms']:.1f}") if "ort_ms" in r else "- | - | - | -"
        rows.append(f"| {r['src_len']} | {r['beam']} | {r['tokens']} | {tps(r['convc_ms']):.0f} | "
                    f"{r['convc_ms'] / r['tokens']:.2f} | {r['convc_mb']:.0f} | {tps(r['torch_ms']):.0f} | "
                    f"{r['torch_ms'] / r['tokens']:.2f} | {r['torch_mb']:.0f} | "
                    f"{r['torch_ms'] / r['convc_ms']:.1f} | {ort} | {'yes' if r['same_output'] else 'no'} |")
    begin, end = "<!-- BEGIN SEQ2SEQ TABLE -->", "<!-- END SEQ2SEQ TABLE -->"
    table = (f"{begin}\n"
             f"d = 512, H = 8, 6 + 6 layers, K = 31, FFN 2048, vocabulary 1000, random weights; "
             f"B = 1, {GEN} generated tokens (+ eos); {threads} threads; time = encoder + all decoding steps, "
             "one in-process warm-up translation, then the median of 3 runs; memory = peak RSS of the process.\n\n"
             "| source | beam | tokens | convc tok/s | convc ms/step | convc MB | PyTorch tok/s | "
             "PyTorch ms/step | PyTorch MB | x PyTorch | ORT tok/s | ORT ms/step | ORT MB | x ORT | "
             "same tokens as PyTorch |\n"
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
             + "\n".join(rows) + "\n\n"
             "From ONNX: the encoder.onnx and full-sequence decoder.onnx that ONNX Runtime runs, "
             f"packaged by `convc compile encode.onnx --decoder decode.onnx` ({package_compile_s:.0f} s, "
             "weights as constants). The decoder's embedding, convs and attention raise to convc ops, "
             "so the package decodes incrementally (derived `decode_step`), unlike ONNX Runtime.\n\n"
             "| source | beam | convc from MLIR ms | convc from ONNX ms | ONNX / MLIR | x ORT (from ONNX) | "
             "same tokens |\n| --- | --- | --- | --- | --- | --- | --- |\n"
             + "\n".join(
                 f"| {r['src_len']} | {r['beam']} | {r['convc_ms']:.1f} | {r['package_ms']:.1f} | "
                 f"{r['package_ms'] / r['convc_ms']:.2f} | "
                 + (f"{r['ort_ms'] / r['package_ms']:.1f}" if "ort_ms" in r else "-")
                 + f" | {'yes' if r['package_same'] else 'no'} |" for r in results)
             + f"\n{end}")
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read()
    if begin in text:
        text = text[:text.index(begin)] + table + text[text.index(end) + len(end):]
    else:
        text += "\n## Seq2Seq generation\n\nRegenerate with `/usr/bin/python3 bench/seq2seq_benchmarks.py`.\n\n" + table + "\n"
    with open(path, "w") as f:
        f.write(text)
    print("wrote the Seq2Seq section of docs/performance.md")


if __name__ == "__main__":
    main()
