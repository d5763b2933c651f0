#!/usr/bin/env python3
"""convc against PyTorch eager and ONNX Runtime, and against the machine.

For each conv op (C=512, H=8, K=31, TaLK Lmax=Rmax=31, f32), a projection
(Linear 512 -> 2048) and a fairseq LightConv encoder layer (GLU, LightConv,
residual + LayerNorm, ReLU FFN 2048, residual + LayerNorm), at B=1 with
T = 10, 100, 1000, 10000 and at B=16, T=256, with the same thread count
everywhere (default 2):
  convc   the op compiled once by `convc compile` (dynamic B and T), timed
          in-process by `convc bench`
  convc from ONNX
          the ORT model below (the standard export) compiled by `convc
          compile` instead of the MLIR: what raising recovers (`--report`)
  torch   PyTorch eager, the module as a PyTorch model writes it
          (frontends/pytorch/convc_torch/ops.py; DynamicConv as fairseq's
          unfolded path), torch.set_num_threads
  ort     the same module exported with torch.onnx.export (dynamic axes),
          run by ONNX Runtime (onnxruntime-node, CPU) with intraOpNumThreads
  blas    (projection only) the same product as one sgemm call through
          numpy's BLAS (OpenBLAS), OPENBLAS_NUM_THREADS = threads
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

# numpy's BLAS (Debian's OpenBLAS) is the sgemm reference: same threads.
_threads_arg = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1])
                     if a == "--threads"), "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_arg)

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))
from convc_torch import ops  # noqa: E402

C, H, K, L = 512, 8, 31, 31
FFN = 2048
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
    """Eager: fairseq's unfolded path (a strided window view of the padded
    input, one bmm per position and head). Export: the same math with
    explicit shifted slices, which torch.onnx can express."""

    def __init__(self):
        super().__init__()
        self.wq = torch.nn.Parameter(0.05 * torch.randn(H * K, C))
        self.exporting = False

    def forward(self, x):
        if self.exporting:
            return ops.dynamic_conv(x, self.wq, None, H, K, K // 2)
        B, T, _ = x.shape
        w = torch.softmax(torch.nn.functional.linear(x, self.wq).view(B * T * H, K, 1), dim=1)
        xp = torch.nn.functional.pad(x, (0, 0, K // 2, K - 1 - K // 2))
        windows = xp.unfold(1, K, 1)  # [B, T, C, K], a view
        y = torch.bmm(windows.reshape(B * T * H, C // H, K), w)
        return y.view(B, T, C)


class TaLK(torch.nn.Module):
    def forward(self, x, offsets):
        return ops.talk_conv(x, offsets, L, L, False)


class Projection(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(C, FFN)

    def forward(self, x):
        return self.fc(x)


class EncoderLayer(torch.nn.Module):
    """fairseq's LightConv encoder layer (post-norm, no padding)."""

    def __init__(self):
        super().__init__()
        self.linear1 = torch.nn.Linear(C, 2 * C)
        self.conv = LightConv()
        self.linear2 = torch.nn.Linear(C, C)
        self.ln1 = torch.nn.LayerNorm(C)
        self.fc1 = torch.nn.Linear(C, FFN)
        self.fc2 = torch.nn.Linear(FFN, C)
        self.ln2 = torch.nn.LayerNorm(C)
        with torch.no_grad():
            for lin in [self.linear1, self.linear2, self.fc1, self.fc2]:
                lin.weight.mul_(0.5)

    def forward(self, x):
        u = torch.nn.functional.glu(self.linear1(x), dim=-1)
        h = self.ln1(x + self.linear2(self.conv(u)))
        return self.ln2(h + self.fc2(torch.relu(self.fc1(h))))

    def convc_weights(self):
        """The MLIR entry's weight inputs, in order."""
        ps = [self.linear1.weight, self.linear1.bias, self.conv.w,
              self.linear2.weight, self.linear2.bias, self.ln1.weight, self.ln1.bias,
              self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias,
              self.ln2.weight, self.ln2.bias]
        names = ["w1", "b1", "cw", "w2", "b2", "g1", "be1", "wf1", "bf1", "wf2",
                 "bf2", "g2", "be2"]
        return {n: p.detach().numpy().copy() for n, p in zip(names, ps)}


LAYER_MLIR = """func.func @main(%x: {x} {{convc.name = "x"}}, %w1: tensor<1024x512xf32> {{convc.name = "w1"}},
    %b1: tensor<1024xf32> {{convc.name = "b1"}}, %cw: tensor<8x31xf32> {{convc.name = "cw"}},
    %w2: tensor<512x512xf32> {{convc.name = "w2"}}, %b2: {v} {{convc.name = "b2"}},
    %g1: {v} {{convc.name = "g1"}}, %be1: {v} {{convc.name = "be1"}},
    %wf1: tensor<{f}x512xf32> {{convc.name = "wf1"}}, %bf1: tensor<{f}xf32> {{convc.name = "bf1"}},
    %wf2: tensor<512x{f}xf32> {{convc.name = "wf2"}}, %bf2: {v} {{convc.name = "bf2"}},
    %g2: {v} {{convc.name = "g2"}}, %be2: {v} {{convc.name = "be2"}}) -> {x} {{
  %p = convc.linear %x, %w1 bias %b1 : {x}, tensor<1024x512xf32>, tensor<1024xf32> -> tensor<?x?x1024xf32>
  %u = convc.glu %p : tensor<?x?x1024xf32>
  %c = convc.lightweight_conv %u, %cw {{heads = 8 : i64, padding = 15 : i64}} : {x}, tensor<8x31xf32>
  %v = convc.linear %c, %w2 bias %b2 : {x}, tensor<512x512xf32>, {v} -> {x}
  %s1 = arith.addf %x, %v : {x}
  %h = convc.layer_norm %s1, %g1, %be1 : {x}, {v}, {v}
  %f = convc.linear %h, %wf1 bias %bf1 {{activation = #convc<activation relu>}} : {x}, tensor<{f}x512xf32>, tensor<{f}xf32> -> tensor<?x?x{f}xf32>
  %o = convc.linear %f, %wf2 bias %bf2 : tensor<?x?x{f}xf32>, tensor<512x{f}xf32>, {v} -> {x}
  %s2 = arith.addf %h, %o : {x}
  %y = convc.layer_norm %s2, %g2, %be2 : {x}, {v}, {v}
  return %y : {x}
}}
""".format(x="tensor<?x?x512xf32>", v="tensor<512xf32>", f=FFN)


def mlir_for(op):
    x = "tensor<?x?x512xf32>"
    if op == "layer":
        return LAYER_MLIR
    if op == "linear":
        args = (f'%x: {x} {{convc.name = "x"}}, %w: tensor<{FFN}x512xf32> {{convc.name = "w"}}, '
                f'%b: tensor<{FFN}xf32> {{convc.name = "b"}}')
        y = f"tensor<?x?x{FFN}xf32>"
        return (f"func.func @main({args}) -> {y} {{\n  %y = convc.linear %x, %w bias %b : "
                f"{x}, tensor<{FFN}x512xf32>, tensor<{FFN}xf32> -> {y}\n  return %y : {y}\n}}\n")
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
    if op == "linear":
        return act + B * T * FFN * 4 + FFN * C * 4, B * T * C * FFN
    if op == "layer":
        weights = 4 * (2 * C * C + C * C + 2 * C * FFN)
        return 2 * act + weights, B * T * (2 * C * C + C * K + C * C + 2 * C * FFN)
    if op == "lightconv":
        return 2 * act, B * T * C * K
    if op == "dynamicconv":
        return 2 * act + H * K * C * 4, B * T * (C * H * K + C * K)
    return 2 * act + B * T * 2 * H * 4, B * T * C * 4


def inputs_for(op, B, T, rng, module=None):
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    if op == "layer":
        return {"x": x, **module.convc_weights()}
    if op == "linear":
        return {"x": x, "w": module.fc.weight.detach().numpy().copy(),
                "b": module.fc.bias.detach().numpy().copy()}
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
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        for op, module in [("lightconv", LightConv()), ("dynamicconv", DynamicConv()),
                           ("talk", TaLK()), ("linear", Projection()),
                           ("layer", EncoderLayer())]:
            src = os.path.join(tmp, op + ".mlir")
            lib = os.path.join(tmp, op + ".so")
            with open(src, "w") as f:
                f.write(mlir_for(op))
            subprocess.run([convc, "compile", "--quiet", src, "-o", lib], check=True)
            onnx_path = os.path.join(tmp, op + ".onnx")
            example = inputs_for(op, 1, 64, rng, module)
            ex_args = (torch.from_numpy(example["x"]),) + (
                (torch.from_numpy(example["o"]),) if op == "talk" else ())
            names = ["x", "o"] if op == "talk" else ["x"]
            if hasattr(module, "exporting"):
                module.exporting = True
            torch.onnx.export(module, ex_args, onnx_path, input_names=names,
                              output_names=["y"], opset_version=17,
                              dynamic_axes={n: {0: "B", 1: "T"} for n in names + ["y"]})
            if hasattr(module, "exporting"):
                module.exporting = False
            lib_onnx = os.path.join(tmp, op + "_onnx.so")
            report = subprocess.run([convc, "compile", "--report", onnx_path, "-o", lib_onnx],
                                    check=True, capture_output=True, text=True).stderr
            report = next(l for l in report.splitlines() if "report" in l)
            reports[op] = report.split(": ", 2)[-1]
            print(f"{op} from ONNX: {reports[op]}", flush=True)
            for B, T in shapes:
                warmup, runs = runs_for(T, B)
                data = inputs_for(op, B, T, rng, module)
                files = []
                for name, arr in data.items():
                    path = os.path.join(tmp, f"{op}_{name}.npy")
                    np.save(path, arr)
                    files += ["--input", f"{name}={path}"]
                out = subprocess.run([convc, "bench", lib, *files, "--threads", str(a.threads),
                                      "--warmup", str(warmup), "--runs", str(runs)],
                                     check=True, capture_output=True, text=True).stdout
                t_convc = parse(out, "median_ms")
                # The ONNX model's only inputs are the activations (its
                # weights are initializers).
                onnx_files = [arg for n in names
                              for arg in ("--input", f"{n}={os.path.join(tmp, f'{op}_{n}.npy')}")]
                out = subprocess.run([convc, "bench", lib_onnx, *onnx_files, "--threads",
                                      str(a.threads), "--warmup", str(warmup), "--runs", str(runs)],
                                     check=True, capture_output=True, text=True).stdout
                t_onnx = parse(out, "median_ms")
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
                t_blas = None
                if op == "linear":
                    x2, w = data["x"].reshape(B * T, C), data["w"]
                    for _ in range(warmup):
                        x2 @ w.T
                    times = []
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        x2 @ w.T
                        times.append((time.perf_counter() - t0) * 1e3)
                    t_blas = statistics.median(times)
                nbytes, macs = work(op, B, T)
                bound = max(nbytes / (bw * 1e9), 2 * macs / (peak * 1e9)) * 1e3
                r = dict(op=op, B=B, T=T, convc_ms=t_convc, torch_ms=t_torch, ort_ms=t_ort,
                         bound_ms=bound, bytes=nbytes, macs=macs, blas_ms=t_blas,
                         convc_onnx_ms=t_onnx)
                results.append(r)
                print(f"{op:12s} B={B:<3d} T={T:<6d} convc {t_convc:9.3f} ms  torch {t_torch:9.3f} ms"
                      f"  ort {t_ort:9.3f} ms  bound {bound:7.3f} ms  "
                      f"x{t_torch / t_convc:6.1f} torch  x{t_ort / t_convc:6.1f} ort"
                      f"  {t_convc / bound:5.2f} x bound  from ONNX {t_onnx:9.3f} ms"
                      + (f"  blas {t_blas:.3f} ms ({t_blas / t_convc:.0%} of BLAS speed)"
                         if t_blas else ""), flush=True)

    meta = dict(cpu=cpu, threads=a.threads, copy_GBps=bw, fma_GFLOPs=peak,
                torch=torch.__version__, date=time.strftime("%Y-%m-%d"),
                shapes=shapes, onnx_reports=reports)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "results.json"), "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=1)
    if not a.quick:
        write_report(meta, results)


def write_report(meta, results):
    names = {"lightconv": "LightConv K=31", "dynamicconv": "DynamicConv K=31",
             "talk": "TaLK Lmax=Rmax=31", "linear": "Linear 512->2048",
             "layer": "LightConv encoder layer"}
    rows = []
    for r in results:
        rows.append(f"| {names[r['op']]} | {r['B']} | {r['T']} | {r['convc_ms']:.3f} | "
                    f"{r['torch_ms']:.3f} | {r['ort_ms']:.3f} | {r['bound_ms']:.3f} | "
                    f"{r['torch_ms'] / r['convc_ms']:.1f} | {r['ort_ms'] / r['convc_ms']:.1f} | "
                    f"{r['convc_ms'] / r['bound_ms']:.2f} |")
    table = "\n".join(rows)
    blas_rows = "\n".join(
        f"| {r['B']} | {r['T']} | {r['convc_ms']:.3f} | {r['blas_ms']:.3f} | "
        f"{r['blas_ms'] / r['convc_ms']:.0%} | {2 * r['macs'] / r['convc_ms'] / 1e6:.0f} |"
        for r in results if r["op"] == "linear")
    onnx_rows = "\n".join(
        f"| {names[r['op']]} | {r['B']} | {r['T']} | {r['convc_ms']:.3f} | "
        f"{r['convc_onnx_ms']:.3f} | {r['convc_onnx_ms'] / r['convc_ms']:.2f} | "
        f"{r['ort_ms'] / r['convc_onnx_ms']:.1f} |"
        for r in results)
    onnx_reports = "\n".join(f"- {names[op]}: {rep}" for op, rep in meta["onnx_reports"].items())
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read() if os.path.exists(path) else ""
    begin, end = "<!-- BEGIN GENERATED TABLE -->", "<!-- END GENERATED TABLE -->"
    generated = (f"{begin}\nMeasured {meta['date']} on {meta['cpu']}, {meta['threads']} threads; "
                 f"copy bandwidth {meta['copy_GBps']:.1f} GB/s, peak FMA {meta['fma_GFLOPs']:.0f} "
                 f"GFLOP/s (convc-membw); PyTorch {meta['torch']}, ONNX Runtime (onnxruntime-node) "
                 f"1.30.0.\n\n"
                 "| op | B | T | convc ms | PyTorch ms | ORT ms | bound ms | x PyTorch | x ORT | convc / bound |\n"
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
                 f"{table}\n\n"
                 "Projections (Linear 512 -> 2048 with bias) against one sgemm call of "
                 "the same product through OpenBLAS (numpy), same threads:\n\n"
                 "| B | T | convc ms | OpenBLAS sgemm ms | convc speed / BLAS speed | convc GFLOP/s |\n"
                 "| --- | --- | --- | --- | --- | --- |\n"
                 f"{blas_rows}\n\n"
                 "From ONNX: the same standard export ONNX Runtime runs, compiled by "
                 "`convc compile model.onnx` instead of from MLIR (weights are "
                 "initializers there, inputs in the MLIR). What `--report` says the "
                 "raising recovered:\n\n"
                 f"{onnx_reports}\n\n"
                 "| op | B | T | convc from MLIR ms | convc from ONNX ms | ONNX / MLIR | x ORT (from ONNX) |\n"
                 "| --- | --- | --- | --- | --- | --- | --- |\n"
                 f"{onnx_rows}\n\n"
                 f"![convc vs PyTorch vs ONNX Runtime](performance.png)\n{end}")
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
    fig, axes = plt.subplots(1, 5, figsize=(25, 4.5))
    for ax, op in zip(axes, ["lightconv", "dynamicconv", "talk", "linear", "layer"]):
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
