"""What the tests that compare convc with ONNX Runtime share: compiling a
model for a target (`cpu+bounds-checks` adds --bounds-checks), running it
with `convc run` and with ONNX Runtime (onnxruntime-node in bench/, through
bench/ort_run.js) on .npy inputs, and the relative error they are judged by."""
import os
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
HAVE_ORT = os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node"))
CUDA = os.environ.get("CONVC_CUDA_PATH", "/usr/local/cuda")
HAVE_CUDA = os.path.isfile(os.path.join(CUDA, "nvvm/libdevice/libdevice.10.bc"))
SKIP = 77  # ctest's SKIP_RETURN_CODE


def skip_without_ort():
    """SKIP (after saying why) when onnxruntime-node is missing, else None."""
    if HAVE_ORT:
        return None
    print("SKIPPED: onnxruntime-node is not installed (cd bench && npm ci)")
    return SKIP


def save_inputs(work, prefix, feeds):
    """Each array as WORK/PREFIX_NAME.npy; the NAME=FILE arguments."""
    files = []
    for name, value in feeds.items():
        path = os.path.join(work, f"{prefix}_{name}.npy")
        np.save(path, value)
        files.append(f"{name}={path}")
    return files


def compile_model(tool, model, lib, target="cpu", extra=()):
    base = target.split("+")[0]
    flags = [f"--target={base}", *extra]
    if base == "cuda":
        flags.append(f"--cuda-path={CUDA}")
    if target.endswith("+bounds-checks"):
        flags.append("--bounds-checks")
    return subprocess.run([tool, "compile", model, "-o", lib, *flags],
                          capture_output=True, text=True)


def run_convc(tool, lib, files, out_dir):
    return subprocess.run([tool, "run", lib, *["--input=" + f for f in files],
                           "--output-dir=" + out_dir], capture_output=True, text=True)


def run_ort(model, files, out_dir):
    return subprocess.run(["node", os.path.join(BENCH, "ort_run.js"), model, out_dir, *files],
                          capture_output=True, text=True, cwd=BENCH)


def rel_error(have, want):
    """max |have - want| / max(1, max |want|); inf when the shapes differ."""
    if have.shape != want.shape:
        return np.inf
    if not want.size:
        return 0.0
    h, w = have.astype(np.float64), want.astype(np.float64)
    return float(np.abs(h - w).max()) / max(1.0, float(np.abs(w).max()))


def check_export(tool, work, name, model, inputs, tolerance, extra=()):
    """Compiles MODEL (input x, output y) for the CPU, the CPU with
    --bounds-checks, the GPU kernel loops and, with a toolkit, CUDA (compiled
    only: it runs in scripts/gpu-check); runs each CPU build on every array
    of INPUTS against ONNX Runtime. Returns the failures and the compile
    output of the plain CPU build (its --report, say)."""
    failures, cpu_log = [], ""
    targets = ["cpu", "cpu+bounds-checks", "gpu-kernels-on-cpu"] + (["cuda"] if HAVE_CUDA else [])
    for target in targets:
        lib = os.path.join(work, f"{name}.{target}.so")
        built = compile_model(tool, model, lib, target, extra)
        if built.returncode:
            failures.append(f"{name} [{target}]: compile failed: {built.stderr.strip()[-300:]}")
            continue
        if target == "cpu":
            cpu_log = built.stderr
        if target == "cuda":
            continue
        for x in inputs:
            files = save_inputs(work, name, {"x": x})
            ort_dir, out_dir = (os.path.join(work, f"{name}_{w}") for w in ("ort", target))
            ort, got = run_ort(model, files, ort_dir), run_convc(tool, lib, files, out_dir)
            where = f"{name} [{target}] x{list(x.shape)}"
            if ort.returncode or got.returncode:
                failures.append(f"{where}: ONNX Runtime rc {ort.returncode}, convc rc "
                                f"{got.returncode}: {got.stderr.strip()[-300:]}")
                continue
            have = np.load(os.path.join(out_dir, "y.npy"))
            want = np.load(os.path.join(ort_dir, "y.npy"))
            err = rel_error(have, want)
            print(f"  {where}: rel. error {err:.1e}")
            if not err <= tolerance:
                failures.append(f"{where}: shapes {have.shape} vs {want.shape}, "
                                f"rel. error {err:.2e}")
    return failures, cpu_log


def expect_compile_refused(tool, work, name, path, message):
    """Compiling PATH for the CPU must fail (rc 1) with MESSAGE in the
    error; the failures (none or one)."""
    built = compile_model(tool, path, os.path.join(work, name + ".so"), "cpu", ["--quiet"])
    print(f"  {name}: rc {built.returncode}: {built.stderr.strip()[-200:]}")
    if built.returncode != 1 or message not in built.stderr:
        return [f"{name}: not refused with '{message}': {built.stderr.strip()[-300:]}"]
    return []


def report(failures):
    """Prints each failure and their count; the exit status (1 if any)."""
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    return 1 if failures else 0
