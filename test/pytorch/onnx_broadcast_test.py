"""Broadcasting over symbolic dimensions that are 1 (or wrong) at run time.

Hand-built ONNX graphs whose elementwise operands have independent symbolic
sizes (`a: [B, T, 4]`, `b: [B, U, 4]`), compiled once by convc for the CPU
and for the GPU kernel loops on the CPU, then run at sizes where the
dimensions are equal, where one is 1 (ONNX broadcasts it), and where they
do not broadcast (the call must fail with an error naming the node and both
sizes, and write no output). Compatible runs are compared with numpy's
broadcasting, the rule ONNX specifies, and with ONNX Runtime
(onnxruntime-node) when it is installed: max |convc - reference| <= 1e-6.

usage: onnx_broadcast_test.py CONVC_TOOL WORKDIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
HAVE_ORT = os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node"))


def graph(op, inputs, output_shape, name, elem=TensorProto.FLOAT):
    g = helper.make_graph(
        [helper.make_node(op, [n for n, _ in inputs], ["y"], name=name)], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info("y", elem, output_shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def relu_plus(name):
    """y = a + Relu(a)[..., :1] style: the same origin on one side, a
    symbolic-size operand on the other (x + Relu(b))."""
    g = helper.make_graph(
        [helper.make_node("Relu", ["b"], ["rb"], name="relu_b"),
         helper.make_node("Add", ["a", "rb"], ["y"], name=name)], "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["B", "T", 4]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["B", "U", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", "V", 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


# (model, name of the failing node, numpy reference, runs: (inputs, True if
# it runs, else False (the error names the node) or the error's text))
rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


CASES = [
    ("add", graph("Add", [("a", ["B", "T", 4]), ("b", ["B", "U", 4])],
                  ["B", "V", 4], "add_ab"),
     "add_ab", lambda a, b: a + b,
     [({"a": f32(2, 5, 4), "b": f32(2, 1, 4)}, True),
      ({"a": f32(2, 1, 4), "b": f32(2, 7, 4)}, True),
      ({"a": f32(3, 5, 4), "b": f32(3, 5, 4)}, True),
      ({"a": f32(2, 5, 4), "b": f32(2, 3, 4)}, False),
      # Both batch dims are declared 'B': the model says they are one size,
      # so 2 against 1 is refused by the runtime's signature check.
      ({"a": f32(2, 5, 4), "b": f32(1, 5, 4)}, "input 'b': dimension 0")]),
    # Rank broadcasting: [T, 4] against [B, T, 4], both T symbolic.
    ("rank", graph("Mul", [("a", ["T", 4]), ("b", ["B", "U", 4])],
                   ["B", "V", 4], "mul_rank"),
     "mul_rank", lambda a, b: a * b,
     [({"a": f32(1, 4), "b": f32(2, 6, 4)}, True),
      ({"a": f32(6, 4), "b": f32(2, 1, 4)}, True),
      ({"a": f32(4, 4), "b": f32(2, 6, 4)}, False)]),
    # A static size against a symbolic one: [B, 4] and [B, U].
    ("static", graph("Sub", [("a", ["B", 4]), ("b", ["B", "U"])],
                     ["B", 4], "sub_static"),
     "sub_static", lambda a, b: a - b,
     [({"a": f32(3, 4), "b": f32(3, 1)}, True),
      ({"a": f32(3, 4), "b": f32(3, 4)}, True),
      ({"a": f32(3, 4), "b": f32(3, 2)}, False)]),
    # A comparison (bool inside, cast out) and Where over three operands.
    ("where", graph("Where", [("c", ["B", "T"]), ("a", ["B", "U"]),
                              ("b", ["W", "V"])], ["B", "T"], "where_abc"),
     "where_abc", lambda c, a, b: np.where(c != 0, a, b),
     [({"c": f32(3, 5), "a": f32(3, 1), "b": f32(1, 5)}, True),
      ({"c": f32(3, 5), "a": f32(3, 5), "b": f32(3, 2)}, False)]),
    # MatMul with numpy's batch broadcasting, vectors, and a contracted size
    # that must agree.
    ("matmul_batch", graph("MatMul", [("a", ["P", 3, 4]), ("b", ["Q", 4, 5])],
                           ["R", 3, 5], "mm_batch"),
     "mm_batch", lambda a, b: a @ b,
     [({"a": f32(1, 3, 4), "b": f32(2, 4, 5)}, True),
      ({"a": f32(3, 3, 4), "b": f32(1, 4, 5)}, True),
      ({"a": f32(2, 3, 4), "b": f32(2, 4, 5)}, True),
      ({"a": f32(2, 3, 4), "b": f32(3, 4, 5)}, False)]),
    # LightConv in fairseq's T, B, C layout: K shifted slices stacked, times
    # the [H, K, 1] kernel: rank 5 by rank 3.
    ("matmul_rank5", graph("MatMul", [("a", ["T", "B", 2, 1, 3]), ("b", [2, 3, 1])],
                           ["T", "B", 2, 1, 1], "mm_rank5"),
     "mm_rank5", lambda a, b: a @ b,
     [({"a": f32(5, 2, 2, 1, 3), "b": f32(2, 3, 1)}, True)]),
    ("matmul_vectors", graph("MatMul", [("a", ["K"]), ("b", ["B", "L", 5])],
                             ["B", 5], "mm_vec"),
     "mm_vec", lambda a, b: a @ b,
     [({"a": f32(4), "b": f32(3, 4, 5)}, True),
      ({"a": f32(3), "b": f32(3, 4, 5)}, False)]),
    ("matmul_column", graph("MatMul", [("a", ["B", 3, "K"]), ("b", ["L"])],
                            ["B", 3], "mm_col"),
     "mm_col", lambda a, b: a @ b,
     [({"a": f32(2, 3, 4), "b": f32(4)}, True)]),
    # The operand of another op (Relu) keeps its symbolic size's origin.
    ("relu_plus", relu_plus("add_relu"), "add_relu",
     lambda a, b: a + np.maximum(b, 0),
     [({"a": f32(2, 5, 4), "b": f32(2, 1, 4)}, True),
      ({"a": f32(2, 5, 4), "b": f32(2, 2, 4)}, False)]),
]


def fix_where(model):
    """Where's condition is bool: a copy that casts the float input `c` to
    bool (the model itself is left alone: fixing it again, for the next
    target, defined `cb` twice, which convc refuses as ONNX Runtime does)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    g = fixed.graph
    g.node.insert(0, helper.make_node("Cast", ["c"], ["cb"], to=TensorProto.BOOL,
                                      name="cast_c"))
    g.node[1].input[0] = "cb"
    return fixed


def main():
    tool, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = 0
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        for name, model, node, ref, runs in CASES:
            if name == "where":
                model = fix_where(model)
            path = os.path.join(work, name + ".onnx")
            onnx.save(model, path)
            lib = os.path.join(work, f"{name}_{target}.so")
            subprocess.run([tool, "compile", path, "-o", lib, "--quiet",
                            "--target=" + target], check=True)
            for i, (inputs, ok) in enumerate(runs):
                files = []
                for k, v in inputs.items():
                    f = os.path.join(work, f"{name}_{i}_{k}.npy")
                    np.save(f, v)
                    files.append(f"{k}={f}")
                out = os.path.join(work, f"{name}_{target}_{i}")
                run = subprocess.run([tool, "run", lib, "--threads=1",
                                      *["--input=" + f for f in files],
                                      "--output-dir=" + out],
                                     capture_output=True, text=True)
                shapes = " ".join(f"{k}{list(v.shape)}" for k, v in inputs.items())
                if ok is not True:
                    expected = ok or f"'{node}'"
                    good = (run.returncode != 0 and expected in run.stderr
                            and not os.path.exists(os.path.join(out, "y.npy")))
                    print(f"{target:19} {name:10} {shapes:30} refused: "
                          f"{run.stderr.strip().splitlines()[-1] if run.stderr else '(no message)'}")
                    failures += not good
                    continue
                if run.returncode:
                    print(f"{target:19} {name:10} {shapes:30} FAILED: {run.stderr.strip()}")
                    failures += 1
                    continue
                got = np.load(os.path.join(out, "y.npy"))
                want = ref(*inputs.values()).astype(np.float32)
                err = float(np.abs(got - want).max()) if got.shape == want.shape else np.inf
                line = f"{target:19} {name:10} {shapes:30} max|convc - numpy| = {err:.1e}"
                if HAVE_ORT and target == "cpu":
                    ort_out = os.path.join(work, f"{name}_ort_{i}")
                    subprocess.run(["node", os.path.join(BENCH, "ort_run.js"), path,
                                    ort_out, *files], check=True, cwd=BENCH)
                    ort = np.load(os.path.join(ort_out, "y.npy"))
                    ort_err = float(np.abs(got - ort).max()) if got.shape == ort.shape else np.inf
                    line += f", ONNX Runtime {ort_err:.1e}"
                    err = max(err, ort_err)
                print(line)
                failures += not err <= 1e-6
    print("PASS" if failures == 0 else f"FAIL: {failures} run(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
