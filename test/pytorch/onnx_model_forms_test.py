"""What a model file may hold besides one plain graph, the way exporters
write it: model-local functions (torch.onnx.export with
export_modules_as_functions, and hand-built functions that call functions,
reference attributes (with IR 9 attribute defaults), leave an optional
input out, hold an If reading the body's values, and pass an input through (against numpy: ONNX Runtime does
not load that)) and tensors stored outside the
model (onnx.save_model with save_as_external_data, in a subdirectory).
Each is checked against ONNX Runtime at two shapes on the CPU, the CPU with
bounds checks and the GPU kernel loops, and compiled for CUDA where the
toolkit is. A function that calls itself, calls that double 40 times, a
function defined twice (IR 10 overloads), one that imports another opset,
one that never computes an output, external data outside the model's
directory, missing or cut short: each fails to compile, saying why.

usage: onnx_model_forms_test.py CONVC_TOOL WORKDIR
Skips (exit 77) without onnxruntime-node.
"""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

import ort_compare as oc

C = 8


class Block(torch.nn.Module):
    """LayerNorm, GLU projection, depthwise conv over time, residual."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.LayerNorm(C)
        self.proj = torch.nn.Linear(C, 2 * C)
        self.conv = torch.nn.Conv1d(C, C, 3, padding=1, groups=C)

    def forward(self, x):
        h = torch.nn.functional.glu(self.proj(self.norm(x)), dim=-1)
        return x + self.conv(h.transpose(1, 2)).transpose(1, 2)


class TwoBlocks(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = Block(), Block()

    def forward(self, x):
        return torch.softmax(self.second(self.first(x)), dim=-1)


def inputs(rng):
    return [rng.standard_normal((b, t, C)).astype(np.float32) for b, t in [(1, 5), (3, 12)]]


def export(work, name, **options):
    path = os.path.join(work, name + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(TwoBlocks().eval(), (torch.randn(2, 7, C),), path,
                          input_names=["x"], output_names=["y"], opset_version=15,
                          dynamic_axes={"x": {0: "B", 1: "T"}, "y": {0: "B", 1: "T"}},
                          **options)
    return path


def check_torch_functions(tool, work, rng):
    """export_modules_as_functions: each module a function in its own domain,
    called from the graph. torch 1.13 ignores output_names there, so the
    output is renamed to y."""
    path = export(work, "module_functions", export_modules_as_functions=True)
    model = onnx.load(path)
    if len(model.functions) < 3:
        return [f"module_functions: torch wrote {len(model.functions)} functions, "
                "the test expects the modules as functions"]
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = ["y" if o == old else o for o in node.output]
    model.graph.output[0].name = "y"
    onnx.save(model, path)
    return oc.check_export(tool, work, "module_functions", path, inputs(rng), 1e-5,
                           ["--quiet"])[0]


def function(name, inputs, outputs, nodes, attributes=(), opset=15):
    return helper.make_function("local", name, inputs, outputs, nodes,
                                [helper.make_opsetid("", opset),
                                 helper.make_opsetid("local", 1)], list(attributes))


def ref(name, attr_type, ref_name):
    attr = onnx.AttributeProto()
    attr.name, attr.ref_attr_name, attr.type = name, ref_name, attr_type
    return attr


def leaky():
    """Leaky(a) -> b: LeakyRelu whose alpha is the call's `alpha`."""
    node = helper.make_node("LeakyRelu", ["a"], ["b"])
    node.attribute.append(ref("alpha", onnx.AttributeProto.FLOAT, "alpha"))
    return function("Leaky", ["a"], ["b"], [node], ["alpha"])


def outer():
    """Outer(x, hi, lo) -> y: Leaky twice (alpha passed on, then the
    default), Clip by lo (left out by the calls) and hi, and an If on a
    constant whose branch reads a body value."""
    twice = helper.make_node("Leaky", ["x"], ["t"], domain="local")
    twice.attribute.append(ref("alpha", onnx.AttributeProto.FLOAT, "alpha"))
    then = helper.make_graph([helper.make_node("Abs", ["u"], ["r"])], "then", [],
                             [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Neg", ["u"], ["r2"])], "else", [],
                              [helper.make_tensor_value_info("r2", TensorProto.FLOAT, None)])
    nodes = [twice,
             helper.make_node("Leaky", ["t"], ["d"], domain="local"),
             helper.make_node("Clip", ["d", "lo", "hi"], ["u"]),
             helper.make_node("Constant", [], ["c"],
                              value=numpy_helper.from_array(np.array(True))),
             helper.make_node("If", ["c"], ["v"], then_branch=then, else_branch=other),
             helper.make_node("Mul", ["v", "x"], ["y"])]
    return function("Outer", ["x", "hi", "lo"], ["y"], nodes, ["alpha"])


def functions_model(work, name, graph_nodes, functions, opset=15):
    graph = helper.make_graph(
        graph_nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", C])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array(1.5, np.float32), "hi")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    helper.make_opsetid("local", 1)],
                              functions=functions)
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    return path


def check_hand_built_functions(tool, work, rng):
    call_a = helper.make_node("Outer", ["x", "hi"], ["ya"], domain="local",
                              name="call_a", alpha=0.25)
    call_b = helper.make_node("Outer", ["x", "hi"], ["yb"], domain="local", name="call_b")
    nodes = [call_a, call_b, helper.make_node("Sum", ["ya", "yb", "x"], ["y"])]
    path = functions_model(work, "nested_functions", nodes, [outer(), leaky()])
    return oc.check_export(tool, work, "nested_functions", path,
                           [3 * x for x in inputs(rng)], 1e-6, ["--quiet"])[0]


def varint(n):
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def check_attribute_defaults(tool, work, rng):
    """Leaky with alpha defaulting to 0.3 (IR 9's FunctionProto field 11,
    attribute_proto, which onnx 1.12 does not know and keeps as an unknown
    field): a call that sets no alpha takes 0.3, not LeakyRelu's 0.01."""
    alpha = helper.make_attribute("alpha", 0.3).SerializeToString()
    with_default = onnx.FunctionProto()
    with_default.ParseFromString(leaky().SerializeToString() + b"\x5a" +
                                 varint(len(alpha)) + alpha)
    nodes = [helper.make_node("Leaky", ["x"], ["h"], domain="local", alpha=0.25),
             helper.make_node("Leaky", ["x"], ["g"], domain="local"),
             helper.make_node("Sub", ["h", "g"], ["y"])]
    path = functions_model(work, "attribute_defaults", nodes, [with_default])
    model = onnx.load(path)
    model.ir_version = 9
    onnx.save(model, path)
    return oc.check_export(tool, work, "attribute_defaults", path, inputs(rng), 1e-6,
                           ["--quiet"])[0]


def check_pass_through(tool, work, rng):
    """Pass(a, b) -> (s, a): an output that is an input, which ONNX Runtime
    does not load; numpy is the reference."""
    body = [helper.make_node("Add", ["a", "b"], ["s"])]
    passing = function("Pass", ["a", "b"], ["s", "a"], body)
    nodes = [helper.make_node("Pass", ["x", "hi"], ["s", "same"], domain="local"),
             helper.make_node("Mul", ["s", "same"], ["y"])]
    path = functions_model(work, "pass_through", nodes, [passing])
    failures = []
    for target in ["cpu", "gpu-kernels-on-cpu"]:
        lib = os.path.join(work, f"pass_through.{target}.so")
        built = oc.compile_model(tool, path, lib, target, ["--quiet"])
        if built.returncode:
            failures.append(f"pass_through [{target}]: {built.stderr.strip()[-300:]}")
            continue
        x = rng.standard_normal((2, 3, C)).astype(np.float32)
        out = os.path.join(work, f"pass_through_{target}")
        got = oc.run_convc(tool, lib, oc.save_inputs(work, "pass_through", {"x": x}), out)
        err = np.inf if got.returncode else oc.rel_error(np.load(os.path.join(out, "y.npy")),
                                                         (x + 1.5) * x)
        print(f"  pass_through [{target}]: rel. error {err:.1e}")
        if not err <= 1e-6:
            failures.append(f"pass_through [{target}]: rel. error {err}, {got.stderr[-200:]}")
    return failures


def check_function_refusals(tool, work):
    failures = []
    selfish = function("Self", ["a"], ["b"], [helper.make_node("Self", ["a"], ["b"], domain="local")])
    path = functions_model(work, "recursive_function",
                           [helper.make_node("Self", ["x"], ["y"], domain="local", name="me")],
                           [selfish])
    failures += oc.expect_compile_refused(tool, work, "recursive_function", path,
                                       "nest deeper than 64")
    # D0 calls D1 twice, ..., D39 calls D40 twice: 2^40 calls.
    doubling = [function(f"D{i}", ["a"], ["b"],
                         [helper.make_node(f"D{i + 1}", ["a"], ["h"], domain="local"),
                          helper.make_node(f"D{i + 1}", ["h"], ["b"], domain="local")])
                for i in range(40)]
    doubling.append(function("D40", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])]))
    path = functions_model(work, "doubling_functions",
                           [helper.make_node("D0", ["x"], ["y"], domain="local")], doubling)
    failures += oc.expect_compile_refused(tool, work, "doubling_functions", path,
                                       "inlining the model's functions makes more than "
                                       "1048576 nodes and calls")
    twice = [function("Twice", ["a"], ["b"], [helper.make_node(op, ["a"], ["b"])])
             for op in ("Relu", "Neg")]
    path = functions_model(work, "function_twice",
                           [helper.make_node("Twice", ["x"], ["y"], domain="local")], twice)
    failures += oc.expect_compile_refused(tool, work, "function_twice", path,
                                       "the model defines function 'local.Twice' more than "
                                       "once (overloads are not supported)")
    older = function("Older", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], opset=13)
    path = functions_model(work, "function_opset",
                           [helper.make_node("Older", ["x"], ["y"], domain="local", name="n")],
                           [older])
    failures += oc.expect_compile_refused(tool, work, "function_opset", path,
                                       "node 'n' calls function 'local.Older', which imports "
                                       "opset 13 where the model imports 15")
    lazy = function("Lazy", ["a"], ["b", "never"], [helper.make_node("Relu", ["a"], ["b"])])
    path = functions_model(work, "function_output",
                           [helper.make_node("Lazy", ["x"], ["z", "y"], domain="local", name="n")],
                           [lazy])
    failures += oc.expect_compile_refused(tool, work, "function_output", path,
                                       "never computes its output 'never'")
    return failures


def check_external_data(tool, work, rng):
    """Every tensor (initializers and Constant nodes) in weights/blocks.bin."""
    failures = []
    folder = os.path.join(work, "external")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "weights"))
    model = onnx.load(export(work, "plain"))
    onnx.save_model(model, os.path.join(folder, "blocks.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights/blocks.bin",
                    size_threshold=0)
    path = os.path.join(folder, "blocks.onnx")
    stored = onnx.load(path, load_external_data=False)
    if sum(t.data_location == TensorProto.EXTERNAL for t in stored.graph.initializer) < 6:
        return ["external: onnx kept the weights inside the model"]
    failures += oc.check_export(tool, work, "external", path, inputs(rng), 1e-5, ["--quiet"])[0]

    # The same model without its data file beside it.
    alone = os.path.join(work, "alone.onnx")
    shutil.copy(path, alone)
    failures += oc.expect_compile_refused(tool, work, "external_missing", alone,
                                       "cannot read its external data file")
    # A location that climbs out of the model's directory.
    for t in stored.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = "../external/weights/blocks.bin"
    onnx.save(stored, os.path.join(folder, "escape.onnx"))
    failures += oc.expect_compile_refused(tool, work, "external_escape",
                                       os.path.join(folder, "escape.onnx"),
                                       "must be a relative path inside the model's directory")
    # The data file cut short: the last tensors' slices run past its end.
    cut = os.path.join(folder, "cut")
    os.makedirs(os.path.join(cut, "weights"), exist_ok=True)
    shutil.copy(path, cut)
    data = open(os.path.join(folder, "weights", "blocks.bin"), "rb").read()
    with open(os.path.join(cut, "weights", "blocks.bin"), "wb") as f:
        f.write(data[:len(data) // 2])
    failures += oc.expect_compile_refused(tool, work, "external_cut",
                                       os.path.join(cut, "blocks.onnx"), "runs past the end")
    return failures


def main():
    tool, work = sys.argv[1], sys.argv[2]
    if (skip := oc.skip_without_ort()) is not None:
        return skip
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    failures = check_torch_functions(tool, work, rng)
    failures += check_hand_built_functions(tool, work, rng)
    failures += check_attribute_defaults(tool, work, rng)
    failures += check_pass_through(tool, work, rng)
    failures += check_function_refusals(tool, work)
    failures += check_external_data(tool, work, rng)
    return oc.report(failures)


if __name__ == "__main__":
    sys.exit(main())
