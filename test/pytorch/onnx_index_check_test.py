"""Out-of-range indices are errors, not clamped reads: a Gather (any axis,
negative indices wrapping as ONNX says) whose indices come from a graph
input runs in convc and in ONNX Runtime; in range, the outputs match; with
one index out of range, both refuse, and convc's message names the node
and the index, with a non-zero exit and no output file. The same for token
ids into a PyTorch nn.Embedding export that convc raises to
convc.embedding. On the CPU and on the GPU kernel loops (on the CPU; the
CUDA kernels report through a device flag, checked by scripts/gpu-check).
Also two regressions the module fuzzer found: a call failing both a
per-element and an early-return check, and a negative TaLK decode position.

usage: onnx_index_check_test.py CONVC_TOOL WORKDIR
"""
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto as TP, helper, numpy_helper

import ort_compare as oc

rng = np.random.default_rng(3)


def gather_model(path, axis):
    data = numpy_helper.from_array(rng.standard_normal((5, 6, 3)).astype(np.float32), "data")
    g = helper.make_graph([helper.make_node("Gather", ["data", "idx"], ["y"], name="pick",
                                            axis=axis)],
                          "g", [helper.make_tensor_value_info("idx", TP.INT64, ["N"])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, None)], [data])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


class Embed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(20, 8, padding_idx=1)
        self.proj = torch.nn.Linear(8, 8)

    def forward(self, tokens):
        return self.proj(self.embed(tokens) * 3.0)


def two_failures_in_one_call(tool, work):
    """An index out of range (a per-element check: the entry point runs on)
    and then sizes that do not broadcast (a check that returns at once): the
    call fails with the first message and a clean exit. (In the order the
    module fuzzer hit, the runtime once adopted the unset results of the
    early return; test/unit/RuntimeChecksTest.cpp holds that case.)"""
    path = os.path.join(work, "gather_add.onnx")
    data = numpy_helper.from_array(rng.standard_normal((5, 6, 3)).astype(np.float32), "data")
    g = helper.make_graph(
        [helper.make_node("Gather", ["data", "idx"], ["g"], name="pick", axis=1),
         helper.make_node("Add", ["g", "b"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("idx", TP.INT64, ["N"]),
         helper.make_tensor_value_info("b", TP.FLOAT, ["M", 3])],
        [helper.make_tensor_value_info("y", TP.FLOAT, None)], [data])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"gather_add.{target}.so")
        built = oc.compile_model(tool, path, lib, target, ["--quiet"])
        if built.returncode:
            failures.append(f"gather_add [{target}]: compile failed: {built.stderr[-300:]}")
            continue
        files = oc.save_inputs(work, "gather_add", {
            "idx": np.array([0, 9, 1, 2, 3], np.int64),
            "b": np.ones((3, 3), np.float32)})
        out = os.path.join(work, "gather_add_out")
        got = oc.run_convc(tool, lib, files, out)
        if got.returncode != 1 or "index 9" not in got.stderr or \
                os.path.exists(os.path.join(out, "y.npy")):
            failures.append(f"gather_add [{target}]: rc {got.returncode}, not refused with "
                            f"the index: {got.stderr.strip()[-300:]}")
        else:
            print(f"gather_add [{target}] two failures: refused: "
                  f"{got.stderr.strip().splitlines()[-1]}")
    return failures


def negative_decode_position(tool, work):
    """A TaLK decode step fed a negative position fails the call instead of
    writing below its ring buffer (the module fuzzer found the write)."""
    src = os.path.join(oc.ROOT, "test/lit/tools/Inputs/all_ops.mlir")
    lib = os.path.join(work, "steps.so")
    built = oc.compile_model(tool, src, lib, "cpu+bounds-checks", ["--quiet"])
    if built.returncode:
        return [f"all_ops: compile failed: {built.stderr[-300:]}"]
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    feeds = [f32(2, 1, 64), f32(2, 6, 64), f32(4, 7), f32(28, 64), f32(2, 1, 4),
             f32(2, 7, 64), np.array([4, -3], np.int64)]
    files = oc.save_inputs(work, "steps", {f"input{i}": a for i, a in enumerate(feeds)})
    got = subprocess.run([tool, "run", lib, "--entry", "steps",
                          *["--input=" + f for f in files],
                          "--output-dir=" + os.path.join(work, "steps_out")],
                         capture_output=True, text=True)
    if got.returncode != 1 or "position -3 is negative" not in got.stderr:
        return [f"talk_step with position -3: rc {got.returncode}: {got.stderr.strip()[-300:]}"]
    print(f"talk_step position -3: refused: {got.stderr.strip().splitlines()[-1]}")
    return []


def main():
    tool, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = []
    models = []
    for axis, size in [(0, 5), (1, 6)]:
        path = os.path.join(work, f"gather_axis{axis}.onnx")
        gather_model(path, axis)
        models.append((path, "idx", size, "pick", lambda n, size=size: np.array(
            [0, size - 1, -1, -size, 2][:n], np.int64)))
    path = os.path.join(work, "embedding.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Embed(), (torch.tensor([[2, 3, 4]]),), path,
                          input_names=["tokens"], output_names=["y"],
                          dynamic_axes={"tokens": {0: "B", 1: "T"}}, opset_version=17)
    models.append((path, "tokens", 20, "", lambda n: np.array([[2, 19, 0, 1, 7][:n]] * 2,
                                                                 np.int64)))
    for path, name, size, node, good in models:
        base = os.path.basename(path)[:-5]
        for target in ["cpu", "gpu-kernels-on-cpu"]:
            lib = os.path.join(work, f"{base}.{target}.so")
            built = oc.compile_model(tool, path, lib, target, ["--quiet"])
            if built.returncode:
                failures.append(f"{base} [{target}]: compile failed: {built.stderr[-300:]}")
                continue
            ok = good(5)
            bad = ok.copy()
            bad.flat[3] = size  # one past the end
            worse = ok.copy()
            worse.flat[1] = -size - 1
            for label, feed in [("in range", ok), ("index = size", bad),
                                ("index below -size", worse)]:
                files = oc.save_inputs(work, base, {name: feed})
                out = os.path.join(work, f"{base}_{target}_out")
                shutil.rmtree(out, ignore_errors=True)
                got = oc.run_convc(tool, lib, files, out)
                ort = oc.run_ort(path, files, os.path.join(work, "ort")) if oc.HAVE_ORT else None
                where = f"{base} [{target}] {label}"
                if label == "in range":
                    if got.returncode:
                        failures.append(f"{where}: failed: {got.stderr[-300:]}")
                    elif ort is not None:
                        want = np.load(os.path.join(work, "ort", "y.npy"))
                        have = np.load(os.path.join(out, "y.npy"))
                        if not oc.rel_error(have, want) <= 1e-5:
                            failures.append(f"{where}: differs from ONNX Runtime")
                    continue
                bad_value = int(feed.flat[3] if label == "index = size" else feed.flat[1])
                if got.returncode == 0 or os.path.exists(os.path.join(out, "y.npy")):
                    failures.append(f"{where}: convc ran (rc 0 or an output written)")
                elif str(bad_value) not in got.stderr or (node and node not in got.stderr):
                    failures.append(f"{where}: message does not name the index "
                                    f"{bad_value}/node: {got.stderr.strip()[-300:]}")
                else:
                    print(f"{where}: refused: {got.stderr.strip().splitlines()[-1]}")
                if ort is not None and ort.returncode == 0 and name == "idx":
                    failures.append(f"{where}: ONNX Runtime accepted it (test premise)")
    # fairseq's embedding (scaled, sinusoidal positions, pad mask), raised to
    # convc.embedding: a negative or too large id fails the call too (the
    # GPU kernel loops read it as a zero row, exit code 0).
    encoder = os.path.join(oc.ROOT, "test/lit/tools/Inputs/export_talk_seq2seq_encoder.onnx")
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"encoder.{target}.so")
        report = oc.compile_model(tool, encoder, lib, target, ["--report"])
        if report.returncode or "convc.embedding" not in report.stderr + report.stdout:
            failures.append(f"encoder [{target}]: not compiled with a raised embedding: "
                            f"{report.stderr[-300:]}")
            continue
        for tokens, says in [([[5, 6, 7, 2]], None), ([[5, -2, 7, 2]], "token id -2"),
                             ([[5, 99999, 7, 2]], "token id 99999")]:
            files = oc.save_inputs(work, "encoder", {"src_tokens": np.array(tokens, np.int64)})
            got = oc.run_convc(tool, lib, files, os.path.join(work, "enc_out"))
            if says is None and got.returncode:
                failures.append(f"encoder [{target}]: valid tokens refused: {got.stderr[-300:]}")
            if says is not None and (got.returncode == 0 or says not in got.stderr):
                failures.append(f"encoder [{target}] {tokens}: not refused with '{says}': "
                                f"{got.stderr[-300:]}")
    failures += two_failures_in_one_call(tool, work)
    failures += negative_decode_position(tool, work)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
