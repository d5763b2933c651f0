"""Element types real exports carry, on hand-built graphs: Cast from float32
to int32, int16, int8, uint8, float16, bfloat16 and bool and back (values
out of the narrow types' ranges included, so wrapping and rounding show),
and int32, int8, uint8, float16 and bool graph inputs and outputs (token ids
into a Gather, a bool mask into Where, narrow-int arithmetic, integer
MatMul, Relu and PRelu). Each model
runs in convc on the CPU and on the GPU kernel loops (on the CPU) and in ONNX
Runtime on the same inputs: outputs must have ONNX Runtime's dtype and shape
and equal values (float32 within 1e-6 relative).

usage: onnx_dtype_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

import ort_compare as oc
rng = np.random.default_rng(7)
vi = helper.make_tensor_value_info


def cases():
    x = (rng.standard_normal((3, 5)) * 150).astype(np.float32)
    x[0, :4] = [127.6, -128.4, 255.5, 300.0]  # around the narrow ranges
    for to in [TP.INT32, TP.INT16, TP.INT8, TP.UINT8, TP.FLOAT16, TP.BFLOAT16, TP.BOOL]:
        nodes = [helper.make_node("Cast", ["x"], ["c"], to=to),
                 helper.make_node("Cast", ["c"], ["y"], to=TP.FLOAT)]
        outs = [vi("y", TP.FLOAT, ["B", 5])]
        if to not in (TP.INT16, TP.BFLOAT16):  # numpy has no bfloat16; int16 does not cross
            nodes.append(helper.make_node("Identity", ["c"], ["z"]))
            outs.append(vi("z", to, ["B", 5]))
        yield (f"cast_{TP.DataType.Name(to).lower()}", nodes, [vi("x", TP.FLOAT, ["B", 5])],
               outs, {"x": x}, [])
    # int64 -> narrow ints wraps (two's complement), and back.
    big = np.array([0, 127, 128, 255, 256, -129, 70000, -70000, 2 ** 33 + 5], np.int64)
    for to in [TP.INT32, TP.INT8, TP.UINT8, TP.UINT16]:
        yield (f"wrap_{TP.DataType.Name(to).lower()}",
               [helper.make_node("Cast", ["i"], ["c"], to=to),
                helper.make_node("Cast", ["c"], ["y"], to=TP.INT64)],
               [vi("i", TP.INT64, ["N"])], [vi("y", TP.INT64, ["N"])], {"i": big}, [])
    emb = numpy_helper.from_array(rng.standard_normal((10, 4)).astype(np.float32), "emb")
    yield ("int32_token_ids", [helper.make_node("Gather", ["emb", "tok"], ["y"])],
           [vi("tok", TP.INT32, ["B", "T"])], [vi("y", TP.FLOAT, ["B", "T", 4])],
           {"tok": rng.integers(0, 10, (2, 3)).astype(np.int32)}, [emb])
    zero = numpy_helper.from_array(np.zeros((1,), np.float32), "zero")
    yield ("bool_mask", [helper.make_node("Where", ["m", "x", "zero"], ["y"]),
                         helper.make_node("Not", ["m"], ["n"])],
           [vi("m", TP.BOOL, ["B", 5]), vi("x", TP.FLOAT, ["B", 5])],
           [vi("y", TP.FLOAT, ["B", 5]), vi("n", TP.BOOL, ["B", 5])],
           {"m": rng.random((3, 5)) > 0.5, "x": x}, [zero])
    yield ("uint8_input", [helper.make_node("Cast", ["u"], ["y"], to=TP.FLOAT)],
           [vi("u", TP.UINT8, ["N"])], [vi("y", TP.FLOAT, ["N"])],
           {"u": np.array([0, 1, 128, 200, 255], np.uint8)}, [])
    yield ("int8_arith", [helper.make_node("Add", ["u", "u"], ["y"])],
           [vi("u", TP.INT8, ["N"])], [vi("y", TP.INT8, ["N"])],
           {"u": np.array([0, 1, -100, 127, -128], np.int8)}, [])
    yield ("float16_io", [helper.make_node("Mul", ["h", "h"], ["y"])],
           [vi("h", TP.FLOAT16, ["N"])], [vi("y", TP.FLOAT16, ["N"])],
           {"h": np.array([0.5, 1.25, -3, 100, 0.1], np.float16)}, [])
    yield ("int32_arith", [helper.make_node("Mul", ["a", "a"], ["m"]),
                           helper.make_node("Div", ["m", "b"], ["y"])],
           [vi("a", TP.INT32, ["N"]), vi("b", TP.INT32, ["N"])], [vi("y", TP.INT32, ["N"])],
           {"a": np.array([3, -7, 100, 5], np.int32), "b": np.array([2, 2, -3, 7], np.int32)}, [])
    # Integer MatMul (torch.matmul of long tensors), batched with a symbolic
    # batch and broadcast against one shared matrix; int32 sums that
    # overflow wrap as ONNX Runtime's int32 accumulation does.
    yield ("int64_matmul", [helper.make_node("MatMul", ["a", "b"], ["y"]),
                            helper.make_node("MatMul", ["a", "w"], ["z"])],
           [vi("a", TP.INT64, ["B", 3, 4]), vi("b", TP.INT64, ["B", 4, 5])],
           [vi("y", TP.INT64, ["B", 3, 5]), vi("z", TP.INT64, ["B", 3, 2])],
           {"a": rng.integers(-9, 10, (2, 3, 4)), "b": rng.integers(-9, 10, (2, 4, 5))},
           [numpy_helper.from_array(rng.integers(-9, 10, (4, 2)), "w")])
    yield ("int32_matmul_wraps", [helper.make_node("MatMul", ["a", "b"], ["y"])],
           [vi("a", TP.INT32, ["M", 3]), vi("b", TP.INT32, [3, 2])], [vi("y", TP.INT32, ["M", 2])],
           {"a": np.array([[2 ** 30, 2 ** 30, 3], [-7, 5, 1]], np.int32),
            "b": np.array([[3, 1], [2, -1], [5, 4]], np.int32)}, [])
    # Relu and PRelu of integers (opset 14's Relu; ONNX Runtime has int32).
    yield ("int32_relu", [helper.make_node("Relu", ["a"], ["y"])],
           [vi("a", TP.INT32, ["N"])], [vi("y", TP.INT32, ["N"])],
           {"a": np.array([3, -7, 0, 2 ** 31 - 1, -2 ** 31], np.int32)}, [])
    yield ("int64_prelu", [helper.make_node("PRelu", ["a", "s"], ["y"])],
           [vi("a", TP.INT64, ["N", 3])], [vi("y", TP.INT64, ["N", 3])],
           {"a": np.array([[3, -7, 0], [-2, 5, -9]], np.int64)},
           [numpy_helper.from_array(np.array([2, -3, 4], np.int64), "s")])


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    failures, runs = [], 0
    for name, nodes, inputs, outputs, feeds, inits in cases():
        m = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        files = oc.save_inputs(work, name, feeds)
        ort_dir = os.path.join(work, name + "_ort")
        ort = oc.run_ort(path, files, ort_dir)
        if ort.returncode:
            failures.append(f"{name}: ONNX Runtime failed: {ort.stderr.strip()[-300:]}")
            continue
        for target in ["cpu", "gpu-kernels-on-cpu"]:
            lib = os.path.join(work, f"{name}.{target}.so")
            out_dir = os.path.join(work, f"{name}_{target}")
            built = oc.compile_model(tool, path, lib, target, ["--quiet"])
            if built.returncode:
                failures.append(f"{name} [{target}]: compile failed: {built.stderr.strip()[-300:]}")
                continue
            got = oc.run_convc(tool, lib, files, out_dir)
            if got.returncode:
                failures.append(f"{name} [{target}]: run failed: {got.stderr.strip()[-300:]}")
                continue
            runs += 1
            for o in outputs:
                have = np.load(os.path.join(out_dir, o.name + ".npy"))
                want = np.load(os.path.join(ort_dir, o.name + ".npy"))
                if have.dtype != want.dtype or have.shape != want.shape:
                    failures.append(f"{name} [{target}] {o.name}: {have.dtype}{have.shape} "
                                    f"vs ONNX Runtime's {want.dtype}{want.shape}")
                    continue
                err = oc.rel_error(have, want)
                if not err <= 1e-6:
                    failures.append(f"{name} [{target}] {o.name}: {have.ravel()[:8]} vs "
                                    f"{want.ravel()[:8]} (rel. error {err:.2e})")
    for f in failures:
        print("FAIL", f)
    print(f"{runs} runs, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
