#!/usr/bin/env python3
"""convc against PyTorch eager and ONNX Runtime, and against the machine.

For each conv op (C=512, H=8, K=31, TaLK Lmax=Rmax=31, f32) at B=1 with
T = 10, 100, 1000, 10000 and at B=16, T=256, with the same thread count
everywhere (default 2):
  convc   the op compiled once by `convc compile` (dynamic B and T), timed
          in-process by `convc bench`
  torch   PyTorch eager, the module as a PyTorch model writes it
          (frontends/pytorch/convc_torch/ops.py), torch.set_num_threads
  ort     the same module exported with torch.onnx.export (dynamic axes),
          run by ONNX Runtime (onnxruntime-node, CPU) with intraOpNumThreads
  bound   max(bytes moved / measured copy bandwidth,
              multiply-adds * 2 / measured peak FMA rate), from convc-membw
Each timing is the median of timed runs after warm-up runs.

usage: bench/run_benchmarks.py [--threads 2] [--quick] [--build build]
Writes bench/results/results.json, docs/performance.md and
docs/performance.png.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))
from convc_torch import ops  # noqa: E402

C, H, K, L = 512, 8, 31, 31
SHAPES = [(1, 10), (1, 100), (1, 1000), (1, 10000), (16, 256)]


class LightConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(H, K))

    def forward(self, x):
        # Grouped conv over the softmaxed kernel, each head's taps shared by
        # its R = C / H channels (shapes spelled out so the export keeps them).
        w = torch.softmax(self.w, dim=-1).unsqueeze(1).expand(H, C // H, K)
        xp = torch.nn.functional.pad(x.transpose(1, 2), (K // 2, K // 2))
        y = torch.nn.functional.conv1d(xp, w.reshape(C, 1, K), groups=C)
        return y.transpose(1, 2)


class DynamicConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wq = torch.nn.Parameter(0.05 * torch.randn(H * K, C))

    def forward(self, x):
        return ops.dynamic_conv(x, self.wq, None, H, K, K // 2)


class TaLK(torch.nn.Module):
    def forward(self, x, offsets):
        return ops.talk_conv(x, offsets, L, L, False)


def mlir_for(op):
    x = "tensor<?x?x512xf32>"
    if op == "lightconv":
        args = f'%x: {x} {{convc.name = "x"}}, %w: tensor<8x31xf32> {{convc.name = "w"}}'
        body = f"convc.lightweight_conv %x, %w {{heads = 8 : i64, padding = 15 : i64}} : {x}, tensor<8x31xf32>"
    elif op == "dynamicconv":
        args = f'%x: {x} {{convc.name = "x"}}, %w: tensor<248x512xf32> {{convc.name = "w"}}'
        body = (f"convc.dynamic_conv %x, %w {{heads = 8 : i64, kernel_size = 31 : i64, "
                f"padding = 15 : i64}} : {x}, tensor<248x512xf32>")
    else:
        args = f'%x: {x} {{convc.name = "x"}}, %o: tensor<?x?x16xf32> {{convc.name = "o"}}'
        body = f"convc.talk_conv %x, %o {{left_max = 31 : i64, right_max = 31 : i64}} : {x}, tensor<?x?x16xf32>"
    return f"func.func @main({args}) -> {x} {{\n  %y = {body}\n  return %y : {x}\n}}\n"


def work(op, B, T):
    """(bytes moved at minimum, multiply-adds) of one call."""
    act = B * T * C * 4
    if op == "lightconv":
        return 2 * act, B * T * C * K
    if op == "dynamicconv":
        return 2 * act + H * K * C * 4, B * T * (C * H * K + C * K)
    return 2 * act + B * T * 2 * H * 4, B * T * C * 4


def inputs_for(op, B, T, rng):
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    if op == "lightconv":
        return {"x": x, "w": rng.standard_normal((H, K)).astype(np.float32)}
    if op == "dynamicconv":
        return {"x": x, "w": (0.05 * rng.standard_normal((H * K, C))).astype(np.float32)}
    return {"x": x, "o": rng.uniform(0, 1, (B, T, 2 * H)).astype(np.float32)}


def runs_for(T, B):
    return (3, 20) if B * T <= 1000 else (2, 10)


def time_torch(module, args, warmup, runs):
    with torch.no_grad():
        for _ in range(warmup):
            module(*args)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            module(*args)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def parse(text, key):
    for line in text.splitlines():
        if line.startswith(key + "="):
            return float(line.split("=", 1)[1])
    raise RuntimeError(f"no {key}= in output:\n{text}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="B=1 T=100 and T=1000 only")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = p.parse_args()
    convc = os.path.join(a.build, "bin", "convc")
    membw = os.path.join(a.build, "bin", "convc-membw")
    node_dir = os.path.join(ROOT, "bench")
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "onnxruntime-node")):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=node_dir, check=True)
    torch.set_num_threads(a.threads)
    shapes = [(1, 100), (1, 1000)] if a.quick else SHAPES

    machine = subprocess.run([membw, "--threads", str(a.threads)], check=True,
                             capture_output=True, text=True).stdout
    bw, peak = parse(machine, "copy_GBps"), parse(machine, "fma_GFLOPs")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {a.threads} threads: copy {bw:.1f} GB/s, FMA {peak:.0f} GFLOP/s")

    rng = np.random.default_rng(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for op, module in [("lightconv", LightConv()), ("dynamicconv", DynamicConv()),
                           ("talk", TaLK())]:
            src = os.path.join(tmp, op + ".mlir")
            lib = os.path.join(tmp, op + ".so")
            with open(src, "w") as f:
                f.write(mlir_for(op))
            subprocess.run([convc, "compile", "--quiet", src, "-o", lib], check=True)
            onnx_path = os.path.join(tmp, op + ".onnx")
            example = inputs_for(op, 1, 64, rng)
            ex_args = (torch.from_numpy(example["x"]),) + (
                (torch.from_numpy(example["o"]),) if op == "talk" else ())
            names = ["x", "o"] if op == "talk" else ["x"]
            torch.onnx.export(module, ex_args, onnx_path, input_names=names,
                              output_names=["y"], opset_version=17,
                              dynamic_axes={n: {0: "B", 1: "T"} for n in names + ["y"]})
            for B, T in shapes:
                warmup, runs = runs_for(T, B)
                data = inputs_for(op, B, T, rng)
                files = []
                for name, arr in data.items():
                    path = os.path.join(tmp, f"{op}_{name}.npy")
                    np.save(path, arr)
                    files += ["--input", f"{name}={path}"]
                out = subprocess.run([convc, "bench", lib, *files, "--threads", str(a.threads),
                                      "--warmup", str(warmup), "--runs", str(runs)],
                                     check=True, capture_output=True, text=True).stdout
                t_convc = parse(out, "median_ms")
                if op == "lightconv":
                    module.w.data = torch.from_numpy(data["w"])
                if op == "dynamicconv":
                    module.wq.data = torch.from_numpy(data["w"])
                targs = [torch.from_numpy(data["x"])] + ([torch.from_numpy(data["o"])] if op == "talk" else [])
                t_torch = time_torch(module, targs, warmup, runs)
                specs = [f"x:{B}x{T}x{C}:-1:1"] + ([f"o:{B}x{T}x{2 * H}:0:1"] if op == "talk" else [])
                out = subprocess.run(["node", os.path.join(node_dir, "ort_bench.js"), onnx_path,
                                      str(a.threads), str(warmup), str(runs), *specs],
                                     check=True, capture_output=True, text=True, cwd=node_dir).stdout
                t_ort = parse(out, "median_ms")
                nbytes, macs = work(op, B, T)
                bound = max(nbytes / (bw * 1e9), 2 * macs / (peak * 1e9)) * 1e3
                r = dict(op=op, B=B, T=T, convc_ms=t_convc, torch_ms=t_torch, ort_ms=t_ort,
                         bound_ms=bound, bytes=nbytes, macs=macs)
                results.append(r)
                print(f"{op:12s} B={B:<3d} T={T:<6d} convc {t_convc:9.3f} ms  torch {t_torch:9.3f} ms"
                      f"  ort {t_ort:9.3f} ms  bound {bound:7.3f} ms  "
                      f"x{t_torch / t_convc:6.1f} torch  x{t_ort / t_convc:6.1f} ort"
                      f"  {t_convc / bound:5.2f} x bound", flush=True)

    meta = dict(cpu=cpu, threads=a.threads, copy_GBps=bw, fma_GFLOPs=peak,
                torch=torch.__version__, date=time.strftime("%Y-%m-%d"),
                shapes=shapes)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "results.json"), "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=1)
    if not a.quick:
        write_report(meta, results)


def write_report(meta, results):
    names = {"lightconv": "LightConv K=31", "dynamicconv": "DynamicConv K=31",
             "talk": "TaLK Lmax=Rmax=31"}
    rows = []
    for r in results:
        rows.append(f"| {names[r['op']]} | {r['B']} | {r['T']} | {r['convc_ms']:.3f} | "
                    f"{r['torch_ms']:.3f} | {r['ort_ms']:.3f} | {r['bound_ms']:.3f} | "
                    f"{r['torch_ms'] / r['convc_ms']:.1f} | {r['ort_ms'] / r['convc_ms']:.1f} | "
                    f"{r['convc_ms'] / r['bound_ms']:.2f} |")
    table = "\n".join(rows)
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read() if os.path.exists(path) else ""
    begin, end = "<!-- BEGIN GENERATED TABLE -->", "<!-- END GENERATED TABLE -->"
    generated = (f"{begin}\nMeasured {meta['date']} on {meta['cpu']}, {meta['threads']} threads; "
                 f"copy bandwidth {meta['copy_GBps']:.1f} GB/s, peak FMA {meta['fma_GFLOPs']:.0f} "
                 f"GFLOP/s (convc-membw); PyTorch {meta['torch']}, ONNX Runtime (onnxruntime-node) "
                 f"1.30.0.\n\n"
                 "| op | B | T | convc ms | PyTorch ms | ORT ms | bound ms | x PyTorch | x ORT | convc / bound |\n"
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
                 f"{table}\n\n![convc vs PyTorch vs ONNX Runtime](performance.png)\n{end}")
    if begin in text:
        text = text[:text.index(begin)] + generated + text[text.index(end) + len(end):]
    else:
        text += "\n" + generated + "\n"
    with open(path, "w") as f:
        f.write(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot written (apt-get install python3-matplotlib)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, op in zip(axes, ["lightconv", "dynamicconv", "talk"]):
        rs = [r for r in results if r["op"] == op and r["B"] == 1]
        ts = [r["T"] for r in rs]
        for key, label, style in [("convc_ms", "convc", "o-"), ("torch_ms", "PyTorch eager", "s--"),
                                  ("ort_ms", "ONNX Runtime", "^--"), ("bound_ms", "machine bound", "k:")]:
            ax.loglog(ts, [r[key] for r in rs], style, label=label)
        ax.set_title(f"{names[op]}, B=1, C=512, {meta['threads']} threads")
        ax.set_xlabel("T")
        ax.set_ylabel("ms (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(ROOT, "docs", "performance.png"), dpi=90)
    print("wrote docs/performance.md and docs/performance.png")


if __name__ == "__main__":
    main()
