"""Names and definitions in a graph, the way hand-built or converted models
write them: input and output names holding spaces, newlines and leading or
trailing blanks (the library's signature table must keep them whole: they
once read back as other dtypes and shapes, an out-of-bounds read with exit
code 0), output names that come out as one file name, nodes listed out of
topological order, the "ai.onnx" domain alias, a dim of -1, and a
model-local function named as a standard op (ONNX Runtime runs the op):
ONNX Runtime's numbers, from the CLI and from Python. A value defined
twice (two nodes, a node over a graph input or an initializer, an input
listed twice, an If branch's local value named as an outer one), a sparse
initializer, no default opset, external data without a length or behind a
link that leads out of the model's directory: each refused or read as
ONNX Runtime does. Python: convc.compile(output=) over a library a Module
has loaded, and a library replaced at its path, load the new code.

usage: onnx_graph_names_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import ort_compare as oc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = np.array([[1.5, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)


def model(nodes, inputs, outputs, initializers=(), opset=17, domains=None, functions=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=domains or [helper.make_opsetid("", opset)],
                          functions=list(functions))
    m.ir_version = 8
    return m


def tensor(name, shape=(2, 3)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def save(work, name, m):
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    return path


def compare(tool, work, name, path, feeds, want, ort=True):
    """convc run on FEEDS against WANT ({output name: array}, numpy's), and
    with ORT, ONNX Runtime's agreeing (so the model is one it runs)."""
    files = [f"{k}={os.path.join(work, f'{name}_in{i}.npy')}" for i, k in enumerate(feeds)]
    for i, v in enumerate(feeds.values()):
        np.save(os.path.join(work, f"{name}_in{i}.npy"), v)
    out_dir = os.path.join(work, name + "_convc")
    shutil.rmtree(out_dir, ignore_errors=True)
    got = oc.run_convc(tool, path, files, out_dir)
    if got.returncode:
        return [f"{name}: convc rc {got.returncode}: {got.stderr.strip()[-300:]}"]
    failures, taken = [], set()
    for i, (out, expected) in enumerate(want.items()):
        # The file is the output's name with '/' as '_'; a name that makes
        # an earlier output's file gets its index.
        file = out.replace("/", "_")
        file = file if file not in taken else f"{file}.{i}"
        taken.add(file)
        have_path = os.path.join(out_dir, file + ".npy")
        if not os.path.exists(have_path):
            failures.append(f"{name}: no {file}.npy ({got.stdout.strip()})")
            continue
        err = oc.rel_error(np.load(have_path), expected)
        print(f"  {name} {out!r}: rel. error {err:.1e}")
        if not err <= 1e-6:
            failures.append(f"{name} {out!r}: rel. error {err:.2e}")
    if ort:
        ort_dir = os.path.join(work, name + "_ort")
        run = oc.run_ort(path, files, ort_dir)
        for out, expected in want.items():
            if run.returncode or oc.rel_error(np.load(os.path.join(ort_dir, out + ".npy")),
                                              expected) > 1e-6:
                failures.append(f"{name}: ONNX Runtime disagrees with numpy on {out!r}: "
                                f"{run.stderr.strip()[-200:]}")
    return failures


def check_names(tool, work):
    """Names the signature table once split into fields and lines."""
    failures = []
    for i, (inp, out) in enumerate([("x i8 2,3", "y"), ("x", "y i64 2,3"),
                                    ("src tokens", " lead"), ("a f32 2,3\noutput q", "trail "),
                                    ("100%", "%41")]):
        m = model([helper.make_node("Relu", [inp], [out])], [tensor(inp)], [tensor(out)])
        failures += compare(tool, work, f"names{i}", save(work, f"names{i}", m), {inp: X},
                            {out: np.maximum(X, 0)}, ort="\n" not in inp)
    # Two outputs whose files would be one: "a/b" and "a_b".
    m = model([helper.make_node("Relu", ["x"], ["a/b"]), helper.make_node("Neg", ["x"], ["a_b"])],
              [tensor("x")], [tensor("a/b"), tensor("a_b")])
    failures += compare(tool, work, "collide", save(work, "collide", m), {"x": X},
                        {"a/b": np.maximum(X, 0), "a_b": -X}, ort=False)
    return failures


def check_python(tool, work):
    """The same names through the Python API, inputs given as a dict."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(tool)), "python"))
    import convc
    failures = []
    m = model([helper.make_node("Add", ["src tokens", "entry"], ["y\tout"])],
              [tensor("src tokens"), tensor("entry")], [tensor("y\tout")])
    lib = convc.compile(save(work, "py_names", m), output=os.path.join(work, "py_names.so"))
    got = convc.Module(lib).run("main", {"src tokens": X, "entry": 2 * X})
    if list(got) != ["y\tout"] or not np.array_equal(got["y\tout"], 3 * X):
        failures.append(f"python names: got {got}")
    # A library compiled over one a Module has loaded, and one renamed
    # over it: each load runs the new code.
    first = convc.Module(convc.compile(save(work, "py_neg", model(
        [helper.make_node("Neg", ["x"], ["y"])], [tensor("x")], [tensor("y")])),
        output=os.path.join(work, "py_same.so")))
    first.run("main", x=X)
    convc.compile(save(work, "py_relu", model([helper.make_node("Relu", ["x"], ["y"])],
                                              [tensor("x")], [tensor("y")])),
                  output=os.path.join(work, "py_same.so"))
    again = convc.Module(os.path.join(work, "py_same.so")).run("main", x=X)["y"]
    if not np.array_equal(again, np.maximum(X, 0)) or \
            not np.array_equal(first.run("main", x=X)["y"], -X):
        failures.append(f"python reload: got {again} after Relu replaced Neg")
    try:
        convc.Module(lib, threads=-3)
        failures.append("python threads=-3 accepted")
    except ValueError as e:
        print(f"  threads=-3: {e}")
    return failures


def check_graph_forms(tool, work):
    """Valid forms ONNX Runtime runs: nodes out of order, "ai.onnx",
    a dim of -1, a default-domain function named Relu."""
    failures = []
    nodes = [helper.make_node("Add", ["h", "x"], ["y"]), helper.make_node("Relu", ["x"], ["h"])]
    failures += compare(tool, work, "out_of_order",
                        save(work, "out_of_order", model(nodes, [tensor("x")], [tensor("y")])),
                        {"x": X}, {"y": np.maximum(X, 0) + X})
    m = model([helper.make_node("Relu", ["x"], ["y"], domain="ai.onnx")], [tensor("x")],
              [tensor("y")], domains=[helper.make_opsetid("ai.onnx", 17)])
    failures += compare(tool, work, "ai_onnx", save(work, "ai_onnx", m), {"x": X},
                        {"y": np.maximum(X, 0)})
    m = model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x", (-1, 3))],
              [tensor("y", (-1, 3))])
    failures += compare(tool, work, "minus_one", save(work, "minus_one", m), {"x": X},
                        {"y": np.maximum(X, 0)})
    shadow = helper.make_function("", "Relu", ["a"], ["b"], [helper.make_node("Neg", ["a"], ["b"])],
                                  [helper.make_opsetid("", 17)])
    m = model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x")], [tensor("y")],
              functions=[shadow])
    failures += compare(tool, work, "function_named_relu", save(work, "function_named_relu", m),
                        {"x": X}, {"y": np.maximum(X, 0)})
    return failures


def check_refusals(tool, work):
    failures = []
    twice = "is defined twice"
    cases = {
        "two_nodes": model([helper.make_node("Relu", ["x"], ["y"]),
                            helper.make_node("Neg", ["x"], ["y"])], [tensor("x")], [tensor("y")]),
        "over_input": model([helper.make_node("Relu", ["x"], ["x"]),
                             helper.make_node("Neg", ["x"], ["y"])], [tensor("x")], [tensor("y")]),
        "over_initializer": model([helper.make_node("Relu", ["x"], ["w"]),
                                   helper.make_node("Add", ["x", "w"], ["y"])],
                                  [tensor("x")], [tensor("y")],
                                  [numpy_helper.from_array(X, "w")]),
        "input_twice": model([helper.make_node("Relu", ["x"], ["y"])],
                             [tensor("x"), tensor("x")], [tensor("y")]),
    }
    # An If branch defining a local 'h' named as the outer 'h', which the
    # Add after the If reads (as the branch's -x it gave wrong numbers).
    branch = helper.make_graph([helper.make_node("Neg", ["x"], ["h"]),
                                helper.make_node("Add", ["h", "h"], ["t"])], "then", [],
                               [tensor("t")])
    cond = numpy_helper.from_array(np.array(True), "c")
    cases["if_branch_shadow"] = model(
        [helper.make_node("Relu", ["x"], ["h"]),
         helper.make_node("If", ["c"], ["b"], then_branch=branch, else_branch=branch),
         helper.make_node("Add", ["b", "h"], ["y"])], [tensor("x")], [tensor("y")], [cond])
    for name, m in cases.items():
        failures += oc.expect_compile_refused(tool, work, name, save(work, name, m), twice)
    m = model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x")], [tensor("y")])
    del m.opset_import[:]
    failures += oc.expect_compile_refused(tool, work, "no_opset", save(work, "no_opset", m),
                               "imports no version of the default ONNX opset")
    m = model([helper.make_node("Add", ["x", "w"], ["y"])], [tensor("x")], [tensor("y")])
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.0], np.float32), "w"),
                                       numpy_helper.from_array(np.array([4], np.int64)), [2, 3])
    m.graph.sparse_initializer.append(sparse)
    failures += oc.expect_compile_refused(tool, work, "sparse", save(work, "sparse", m),
                               "sparse initializer 'w'")
    return failures


def check_external_data(tool, work):
    """A tensor stored outside without a length reads its own bytes (the
    file holds more); one behind a link that leads out is refused."""
    failures = []
    folder = os.path.join(work, "external")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    w = numpy_helper.from_array(2 * X, "w")
    m = model([helper.make_node("Add", ["x", "w"], ["y"])], [tensor("x")], [tensor("y")], [w])
    with open(os.path.join(folder, "w.bin"), "wb") as f:
        f.write((2 * X).tobytes() + b"trailing bytes of another tensor")
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value="w.bin")
    path = os.path.join(folder, "no_length.onnx")
    onnx.save(m, path)
    failures += compare(tool, work, "no_length", path, {"x": X}, {"y": 3 * X})
    outside = os.path.join(work, "outside")
    os.makedirs(outside, exist_ok=True)
    shutil.copy(os.path.join(folder, "w.bin"), outside)
    link = os.path.join(folder, "link")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(outside, link)
    t.external_data[0].value = "link/w.bin"
    path = os.path.join(folder, "through_link.onnx")
    onnx.save(m, path)
    failures += oc.expect_compile_refused(tool, work, "through_link", path,
                               "leads out of the model's directory")
    return failures


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    failures = check_names(tool, work)
    failures += check_python(tool, work)
    failures += check_graph_forms(tool, work)
    failures += check_refusals(tool, work)
    failures += check_external_data(tool, work)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
