#!/usr/bin/python3
"""Builds the GPU check's artifacts (part of scripts/gpu-check).

On a machine with the toolchain (convc, numpy): compiles every model for
`--target=cuda` (or, for a dry run of the whole check here, for
`gpu-kernels-on-cpu`), writes the inputs of every check and benchmark case,
and the expected outputs from the CPU target (which the test suite checks
against the reference). The result is a directory a GPU machine with only
the NVIDIA driver can run: see run.sh in it.

    gpu_check.py OUT_DIR --convc build/bin/convc [--target cuda] [--quick]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Check cases: (model, entry, {input: array}, tolerance). Shapes keep
# T = 1, T < K and a remainder of the 256-thread blocks.
C = 64


def check_cases(rng):
    def x(B, T, width=C):
        return rng.standard_normal((B, T, width)).astype(np.float32)

    def u(*shape):
        return rng.uniform(0, 1, shape).astype(np.float32)

    def n(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    def tokens(B, T, vocab, pad=1):
        t = rng.integers(2, vocab, (B, T)).astype(np.int64)
        t[:, T - max(1, T // 4):] = pad  # trailing padding
        t[0, :] = rng.integers(2, vocab, T)  # one row without any
        return t

    cases = []
    ops = os.path.join(ROOT, "test/lit/tools/Inputs/all_ops.mlir")
    for B, T in [(1, 1), (2, 5), (3, 300)]:
        S = max(2, T // 2)
        tag = f"B{B}_T{T}"
        cases += [
            (ops, "depthwise", tag, [x(B, T), n(C, 5), n(C)]),
            (ops, "lightweight", tag, [x(B, T), n(4, 7)]),
            (ops, "dynamic", tag, [x(B, T), n(28, C, scale=0.1)]),
            (ops, "dynamic_kernels", tag, [x(B, T), n(B, T, 4, 7)]),
            (ops, "talk", tag, [x(B, T), u(B, T, 8), u(B, T, 4)]),
            (ops, "block", tag, [x(B, T), n(128, C, scale=0.1), n(128), n(C, C, scale=0.1),
                                 n(C), n(C), n(C)]),
            (ops, "embed_attend", tag, [tokens(B, T, 100), n(100, C), x(B, S), x(B, S),
                                        tokens(B, S, 100)]),
            (ops, "unfused", tag, [x(B, T), x(B, T, 2 * C), u(B, T, 4), n(C), n(C)]),
            (ops, "steps", tag, [x(B, 1), x(B, 6), n(4, 7), n(28, C, scale=0.1), u(B, 1, 4),
                                 np.cumsum(u(B, 7, C), axis=1).astype(np.float32),
                                 rng.integers(0, 20, B).astype(np.int64)]),
        ]
    rd = os.path.join(ROOT, "examples/reverse_digits.mlir")
    src = tokens(3, 9, 14)
    enc = (rng.standard_normal((3, 9, 64))).astype(np.float32)
    pad = (src == 1).astype(np.float32)
    # A standard PyTorch export (LightConv encoder layer) through ONNX.
    onnx_layer = os.path.join(ROOT, "test/lit/tools/Inputs/export_light_layer.onnx")
    cases += [(onnx_layer, "main", f"B{B}_T{T}", {"x": x(B, T, 16)})
              for B, T in [(1, 1), (2, 37)]]
    # Static shapes within one tile: several inlined block kernels in a row.
    static = os.path.join(ROOT, "test/lit/tools/Inputs/static_one_tile_kernels.mlir")
    cases += [(static, "main", "static", {"x": x(1, 4, 48), "w1": n(40, 48, scale=0.2),
                                          "w2": n(48, 40, scale=0.2), "o": u(1, 4, 6),
                                          "g": n(48), "b": n(48)})]
    # nn.MultiheadAttention's export: reshapes to sizes computed from
    # symbolic dims, whose shape buffers the host keeps.
    mha = os.path.join(ROOT, "test/lit/tools/Inputs/export_multihead_attention.onnx")
    key_pad = np.zeros((2, 7), np.int64)
    key_pad[1, 5:] = 1
    cases += [(mha, "main", "B2_T5_S7", {"q": x(2, 5, 16), "kv": x(2, 7, 16), "pad": key_pad})]
    cases += [(rd, "encode", "example", {"src_tokens": src}),
              (rd, "decode", "example", {"tokens": tokens(3, 7, 14), "enc": enc,
                                         "enc_pad": pad})]
    return cases


# f16 storage against f32 on the same (rounded) inputs: each stored
# intermediate and output rounds by up to 2^-12 relative, and attention's
# softmax amplifies errors in its f16 q and k by the logits' size. The dry
# run's worst is 4.9e-3 (embedding + attention at T = 300); 1e-2 is 20
# half-ulps.
HALF_TOLERANCE = "1e-2"
# bf16 keeps 8 significant bits to f16's 11: 8 times the f16 bound. The
# dry run's worst is 3.1e-2, at the same place.
BF16_TOLERANCE = "8e-2"


def to_f16(a):
    """f32 values rounded to f16 (and back to f32)."""
    return a.astype(np.float16).astype(np.float32)


def to_bf16(a):
    """f32 values rounded to bf16, to nearest even (NumPy has no bf16)."""
    a = np.ascontiguousarray(a, np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return np.where(np.isnan(a), a, bits.astype(np.uint32).view(np.float32))


# Benchmarks: the CPU benchmarks' TaLK and LightConv (C = 512, H = 8,
# K = Lmax = Rmax = 31) and DynamicConv's conv (its kernels given) at their
# shapes plus B = 32, T = 4096, and a copy kernel for the device's DRAM
# bandwidth.
BC, BH, BK, BL = 512, 8, 31, 31
BENCH_SHAPES = [(1, 10), (1, 100), (1, 1000), (1, 10000), (16, 256), (32, 4096)]
# The projections: decoding rows (B = 1, 16, 64) and an encoder batch.
PROJ_SHAPES = [(1, 1), (16, 1), (64, 1), (32, 512)]
PROJ_QUICK_SHAPES = [(1, 1), (4, 16)]


def bench_models():
    x = "tensor<?x?x512xf32>"
    talk = (f'func.func @main(%x: {x} {{convc.name = "x"}}, %o: tensor<?x?x16xf32> '
            f'{{convc.name = "o"}}) -> {x} {{\n'
            f"  %y = convc.talk_conv %x, %o {{left_max = {BL} : i64, right_max = {BL} : i64}}"
            f" : {x}, tensor<?x?x16xf32>\n  return %y : {x}\n}}\n")
    light = (f'func.func @main(%x: {x} {{convc.name = "x"}}, %w: tensor<8x31xf32> '
             f'{{convc.name = "w"}}) -> {x} {{\n'
             f"  %y = convc.lightweight_conv %x, %w {{heads = 8 : i64, padding = 15 : i64}}"
             f" : {x}, tensor<8x31xf32>\n  return %y : {x}\n}}\n")
    # DynamicConv's conv: position-specific kernels [B, T, H, K], given.
    z = "tensor<?x?x8x31xf32>"
    dynamic = (f'func.func @main(%x: {x} {{convc.name = "x"}}, %z: {z} '
               f'{{convc.name = "z"}}) -> {x} {{\n'
               f"  %y = convc.dynamic_kernel_conv %x, %z {{padding = 15 : i64}}"
               f" : {x}, {z}\n  return %y : {x}\n}}\n")
    # A projection (d 512 -> FFN 2048, bias, ReLU) in f32 and in bf16: the
    # bf16 one takes cuBLASLt's tensor cores where the machine has them.
    proj = {}
    for e in ["f32", "bf16"]:
        px, pw, pb, py = (f"tensor<?x?x512x{e}>", f"tensor<2048x512x{e}>",
                          f"tensor<2048x{e}>", f"tensor<?x?x2048x{e}>")
        proj["proj_" + e] = (
            f'func.func @main(%x: {px} {{convc.name = "x"}}, %w: {pw} '
            f'{{convc.name = "w"}}, %b: {pb} {{convc.name = "b"}}) -> {py} {{\n'
            f"  %y = convc.linear %x, %w bias %b {{activation = "
            f"#convc<activation relu>}} : {px}, {pw}, {pb} -> {py}\n"
            f"  return %y : {py}\n}}\n")
    # y = x + x: one read and one write per element.
    copy = ('func.func @main(%x: tensor<?xf32> {convc.name = "x"}) -> tensor<?xf32> {\n'
            "  %y = arith.addf %x, %x : tensor<?xf32>\n"
            "  return %y : tensor<?xf32>\n}\n")
    return {"talk": talk, "lightconv": light, "dynamic": dynamic, **proj, "copy": copy}


def write_gather_model(path):
    """y = Gather(x [B, T, 24], i [K], axis=1), an ONNX model."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Gather", ["x", "i"], ["y"], name="pick", axis=1)], "gather",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", 24]),
         helper.make_tensor_value_info("i", TensorProto.INT64, ["K"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


# Generation: issue 15's model (d = 512, H = 8, 6 + 6 LightConv layers,
# K = 31, FFN 2048, vocabulary 1000, weights as inputs), 64 tokens, greedy
# and beam 4 at B = 1, 16, 64; --quick (the CPU dry run): a small model.
GEN_FULL = dict(vocab=1000, d=512, heads=8, kernel=31, layers=6, ffn=2048, length=64,
                batches=[(1, 1), (16, 1), (64, 1), (1, 4), (16, 4), (64, 4)])
GEN_QUICK = dict(vocab=100, d=64, heads=4, kernel=7, layers=2, ffn=128, length=8,
                 batches=[(1, 1), (4, 1), (1, 2)])


def write_generation(out, a, target, compile_model):
    """The generation model compiled with its derived decode step, its
    weights as .random specs (uniform with each initialised weight's mean
    and variance: the artifacts stay small, the GPU machine makes them) and
    one case per batch and beam; returns the number of cases."""
    sys.path.insert(0, os.path.join(ROOT, "frontends", "pytorch"))
    import torch
    from convc_torch import seq2seq
    g = GEN_QUICK if a.quick else GEN_FULL
    torch.manual_seed(0)
    model = seq2seq.ConvSeq2Seq(g["vocab"], d=g["d"], heads=g["heads"], enc_kernel=g["kernel"],
                                dec_kernel=g["kernel"], layers=g["layers"], ffn=g["ffn"]).eval()
    text, weights = seq2seq.to_mlir(model, weights_as_inputs=True)
    src = os.path.join(out, "generation.mlir")
    with open(src, "w") as f:
        f.write(text)
    gpu_so = os.path.join(out, "models", "generation.so")
    run([a.convc, "compile", "--quiet", src, "-o", gpu_so, "--decode-step=decode"] + target)
    params = os.path.join(out, "generation", "params")
    os.makedirs(params)
    for name, w in weights.items():
        w = np.asarray(w, np.float64)
        half = float(np.sqrt(3.0) * w.std())
        with open(os.path.join(params, name + ".random"), "w") as f:
            f.write(" ".join(str(v) for v in (w.mean() - half, w.mean() + half) + w.shape) + "\n")
    for B, beam in g["batches"]:
        case = os.path.join(out, "generation", f"B{B}_beam{beam}")
        os.makedirs(case)
        with open(os.path.join(case, "batch"), "w") as f:
            f.write(f"{B} 32 {beam} {g['length']} {g['vocab']}\n")
    return len(g["batches"])


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gpu_check.py: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def save_inputs(case_dir, entry, arrays):
    """Writes inputs/<name>.npy (a list: input0, input1, ...); returns the
    names."""
    os.makedirs(os.path.join(case_dir, "inputs"), exist_ok=True)
    with open(os.path.join(case_dir, "entry"), "w") as f:
        f.write(entry + "\n")
    if isinstance(arrays, list):
        arrays = {f"input{i}": a for i, a in enumerate(arrays)}
    for name, a in arrays.items():
        np.save(os.path.join(case_dir, "inputs", name + ".npy"), a)
    return list(arrays)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--convc", default=os.path.join(ROOT, "build/bin/convc"))
    p.add_argument("--target", default="cuda", choices=["cuda", "gpu-kernels-on-cpu"])
    p.add_argument("--gpu-arch", default="sm_90")
    p.add_argument("--quick", action="store_true", help="no benchmark inputs above 64 MB")
    a = p.parse_args()
    out = os.path.abspath(a.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "models"))
    rng = np.random.default_rng(7)
    target = ["--target=" + a.target] + (["--gpu-arch=" + a.gpu_arch] if a.target == "cuda" else [])

    # Models: the GPU build and the CPU build that gives the expected outputs.
    compiled = {}

    def compile_model(src, name, cpu_too=True):
        if name in compiled:
            return compiled[name]
        gpu_so = os.path.join(out, "models", name + ".so")
        run([a.convc, "compile", "--quiet", src, "-o", gpu_so] + target)
        cpu_so = None
        if cpu_too:
            cpu_so = os.path.join(out, "cpu-" + name + ".so")
            run([a.convc, "compile", "--quiet", src, "-o", cpu_so])
        compiled[name] = (gpu_so, cpu_so)
        return compiled[name]

    def add_check(model, cpu_so, entry, tag, arrays, tolerance=None):
        """A check case: inputs, the GPU model's name, the CPU build's
        outputs as expected (and a tolerance other than run.sh's 2e-5)."""
        case_dir = os.path.join(out, "check", f"{model}.{entry}.{tag}")
        names = save_inputs(case_dir, entry, arrays)
        for fname, text in (("model", model), ("tolerance", tolerance)):
            if text:
                with open(os.path.join(case_dir, fname), "w") as f:
                    f.write(text + "\n")
        cmd = [a.convc, "run", cpu_so, "--entry", entry,
               "--output-dir", os.path.join(case_dir, "expected")]
        for n in names:
            cmd += ["--input", f"{n}={case_dir}/inputs/{n}.npy"]
        run(cmd)

    cases = check_cases(rng)
    for src, entry, tag, arrays in cases:
        model = os.path.splitext(os.path.basename(src))[0]
        _, cpu_so = compile_model(src, model)
        add_check(model, cpu_so, entry, tag, arrays)

    # Gather indices fed at run time: in range (negative too) they give the
    # CPU build's numbers; one out of range fails the call naming the node
    # and the index, through the kernels' device flag, as the CPU build does.
    gather = os.path.join(out, "gather.onnx")
    write_gather_model(gather)
    _, cpu_so = compile_model(gather, "gather")
    table = rng.standard_normal((2, 700, 24)).astype(np.float32)
    picks = rng.integers(-700, 700, 1500).astype(np.int64)
    add_check("gather", cpu_so, "main", "in_range", {"x": table, "i": picks})
    bad = picks.copy()
    bad[1234] = 700
    case_dir = os.path.join(out, "check", "gather.main.out_of_range")
    save_inputs(case_dir, "main", {"x": table, "i": bad})
    message = "Gather index 700 is out of range"
    cpu = subprocess.run([a.convc, "run", cpu_so, "--input", f"x={case_dir}/inputs/x.npy",
                          "--input", f"i={case_dir}/inputs/i.npy", "--output-dir",
                          os.path.join(out, "refused")], capture_output=True, text=True)
    if cpu.returncode != 1 or message not in cpu.stderr:
        sys.exit(f"gpu_check.py: the CPU build did not refuse the bad index: {cpu.stderr}")
    for fname, text in (("model", "gather"), ("expect_error", message)):
        with open(os.path.join(case_dir, fname), "w") as f:
            f.write(text + "\n")

    # f16 and bf16 storage: the all-ops model with every float tensor in the
    # storage type but the padding mask, on the B=2 and B=3 cases' inputs
    # rounded to it; the expected outputs are the f32 CPU build's on those
    # rounded inputs, so what differs is the storage of intermediates and
    # outputs.
    ops = os.path.join(ROOT, "test/lit/tools/Inputs/all_ops.mlir")
    with open(ops) as f:
        ops_text = f.read()
    extra_cases = 2  # the Gather cases
    for dtype, rounding, tolerance in (("f16", to_f16, HALF_TOLERANCE),
                                       ("bf16", to_bf16, BF16_TOLERANCE)):
        text = re.sub(rf"tensor<\?x\?x{dtype}>", "tensor<?x?xf32>",
                      ops_text.replace("xf32>", f"x{dtype}>"))
        model = f"all_ops_{dtype}"
        with open(os.path.join(out, model + ".mlir"), "w") as f:
            f.write(text)
        compile_model(os.path.join(out, model + ".mlir"), model, cpu_too=False)
        for src, entry, tag, arrays in cases:
            if src != ops or tag == "B1_T1":
                continue
            rounded = [rounding(a) if a.dtype == np.float32 else a for a in arrays]
            add_check(model, compiled["all_ops"][1], entry, tag, rounded, tolerance)
            extra_cases += 1
    # Static shapes: the all-ops model with every size fixed (B = 2, T = 5),
    # on the B=2, T=5 cases (not embed_attend, whose keys are 2 long),
    # against the dynamic CPU build.
    static_text = re.sub(r"tensor<\?x", "tensor<2x", ops_text.replace("tensor<?x?x", "tensor<2x5x"))
    with open(os.path.join(out, "all_ops_static.mlir"), "w") as f:
        f.write(static_text)
    compile_model(os.path.join(out, "all_ops_static.mlir"), "all_ops_static", cpu_too=False)
    for src, entry, tag, arrays in cases:
        if src == ops and tag == "B2_T5" and entry != "embed_attend":
            add_check("all_ops_static", compiled["all_ops"][1], entry, tag, arrays)
            extra_cases += 1
    n_check = len(cases) + extra_cases

    n_bench = 0
    for name, text in bench_models().items():
        src = os.path.join(out, name + ".mlir")
        with open(src, "w") as f:
            f.write(text)
        compile_model(src, "bench-" + name, cpu_too=False)
        shapes = ([(1, (1 << 22) if a.quick else (1 << 26))] if name == "copy"
                  else (PROJ_QUICK_SHAPES if a.quick else PROJ_SHAPES)
                  if name.startswith("proj") else BENCH_SHAPES)
        for B, T in shapes:
            if a.quick and B * T * (1 if name == "copy" else BC) * 4 > (64 << 20):
                continue
            case_dir = os.path.join(out, "bench", f"{name}.B{B}_T{T}")
            # Uniform random inputs, made by the runner on the GPU machine:
            # (lo, hi, shape) per named input.
            if name == "copy":
                specs = {"x": (-1, 1, (T,))}
            elif name == "talk":
                specs = {"x": (-1, 1, (B, T, BC)), "o": (0, 1, (B, T, 2 * BH))}
            elif name.startswith("proj"):
                specs = {"x": (-1, 1, (B, T, BC)), "w": (-0.05, 0.05, (2048, BC)),
                         "b": (-0.1, 0.1, (2048,))}
            elif name == "dynamic":
                specs = {"x": (-1, 1, (B, T, BC)), "z": (0, 2 / BK, (B, T, BH, BK))}
            else:
                specs = {"x": (-1, 1, (B, T, BC)), "w": (-1, 1, (BH, BK))}
            save_inputs(case_dir, "main", [])
            for n, (lo, hi, shape) in specs.items():
                with open(os.path.join(case_dir, "inputs", n + ".random"), "w") as f:
                    f.write(" ".join(str(v) for v in (lo, hi) + shape) + "\n")
            with open(os.path.join(case_dir, "model"), "w") as f:
                f.write("bench-" + name + "\n")
            n_bench += 1
    n_gen = write_generation(out, a, target, compile_model)
    for leftover in os.listdir(out):
        if leftover.startswith("cpu-"):
            os.remove(os.path.join(out, leftover))

    # What the GPU machine runs: the runtime, the runner, the torch baseline.
    os.makedirs(os.path.join(out, "bin"))
    os.makedirs(os.path.join(out, "lib"))
    build = os.path.dirname(os.path.dirname(os.path.abspath(a.convc)))
    shutil.copy(os.path.join(build, "bin", "convc-gpu-runner"), os.path.join(out, "bin"))
    for lib in os.listdir(os.path.join(build, "lib")):
        if lib.startswith("libconvc_runtime.so"):
            shutil.copy(os.path.join(build, "lib", lib), os.path.join(out, "lib"), follow_symlinks=True)
    shutil.copy(os.path.join(ROOT, "scripts", "gpu-check-run.sh"), os.path.join(out, "run.sh"))
    shutil.copy(os.path.join(ROOT, "bench", "gpu_torch_bench.py"), out)
    shutil.copytree(os.path.join(ROOT, "frontends", "pytorch", "convc_torch"),
                    os.path.join(out, "convc_torch"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(out, "target"), "w") as f:
        f.write(a.target + "\n")
    print(f"gpu-check artifacts: {out} ({n_check} check cases, {n_bench} benchmark cases, "
          f"{n_gen} generation cases, target {a.target})")


if __name__ == "__main__":
    main()
