"""Differential testing against ONNX Runtime on random graphs.

Each graph takes x: [B, T, C] and y with its own symbolic sizes ([P, Q, C],
a rank-2 [Q, C] or a rank-1 [C]), and chains random nodes over them:
unary math, binary ops with numpy broadcasting, Max/Min, Where over a
comparison, reductions with keepdims, Softmax, MatMul by a constant [C, C]
weight, and on rank-3 values shape arithmetic (a time shift by Pad and a
Slice ending at Shape[1]; a Reshape to [-1, C] and back to Shape), a channel
Gather (negative indices too), CumSum over time and a depthwise time Conv
between Transposes. Every value stays broadcastable
against [B, T, C]. Each graph is compiled once by convc and run at several
sizes, y's symbolic sizes 1 or equal to x's at random (so broadcasting is
decided at run time), and compared with ONNX Runtime: max |convc - ort| <=
1e-4 * max(1, max |ort|). A mismatch prints the graph's seed; rerun one
with --seed N --graphs 1.

usage: onnx_differential_test.py CONVC_TOOL WORKDIR [--graphs N] [--seed S]
CI runs 20 graphs; docs/testing.md gives the long run. Skips (exit 77)
without onnxruntime-node.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")

UNARY = ["Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Floor", "Ceil", "Sin", "Cos"]
BINARY = ["Add", "Sub", "Mul", "Max", "Min"]
REDUCE = ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"]


class Graph:
    def __init__(self, rng, C):
        self.rng, self.C = rng, C
        self.nodes, self.inits, self.values = [], [], []
        self.rank = {}
        self.n = 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def add(self, op, inputs, rank, float_out=True, **attrs):
        out = self.name("v")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op.lower() + "_"),
                                           **attrs))
        if float_out:  # bool values feed Where alone
            self.values.append(out)
        self.rank[out] = rank
        return out

    def pick(self):
        return self.values[self.rng.integers(len(self.values))]

    def const(self, array):
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, *values):
        return self.const(np.array(values, np.int64))

    def shape_step(self, kind, a):
        """Shape-preserving ops on a rank-3 value [X, Y, C] whose sizes come
        from Shape at run time: a time shift (Pad, then a Slice ending at
        Shape[1]), a channel Gather, a Reshape round trip through [-1, C]
        and back to Shape, CumSum over time, a depthwise time Conv."""
        C = self.C
        if kind == "shift":
            k = int(self.rng.integers(1, 3))
            padded = self.add("Pad", [a, self.ints(0, k, 0, 0, 0, 0)], 3, float_out=False)
            shape = self.add("Shape", [a], 1, float_out=False)
            t = self.add("Gather", [shape, self.ints(1)], 1, float_out=False)
            return self.add("Slice", [padded, self.ints(0), t, self.ints(1)], 3)
        if kind == "gather":
            picks = self.rng.integers(-C, C, size=C).astype(np.int64)
            return self.add("Gather", [a, self.const(picks)], 3, axis=2)
        if kind == "reshape":
            shape = self.add("Shape", [a], 1, float_out=False)
            flat = self.add("Reshape", [a, self.ints(-1, C)], 2, float_out=False)
            return self.add("Reshape", [self.add("Relu", [flat], 2, float_out=False), shape], 3)
        if kind == "cumsum":
            return self.add("CumSum", [a, self.const(np.array(1, np.int64))], 3,
                            reverse=int(self.rng.integers(0, 2)))
        K = int(self.rng.choice([1, 3, 5]))
        w = self.const((self.rng.standard_normal((C, 1, K)) * 0.5).astype(np.float32))
        bct = self.add("Transpose", [a], 3, float_out=False, perm=[0, 2, 1])
        conv = self.add("Conv", [bct, w], 3, float_out=False, group=C,
                        pads=[K // 2, K // 2])
        return self.add("Transpose", [conv], 3, perm=[0, 2, 1])

    def step(self):
        kind = self.rng.choice(["unary", "binary", "binary", "where", "reduce",
                                "softmax", "matmul", "shift", "gather", "reshape",
                                "cumsum", "conv"])
        a, b, c = self.pick(), self.pick(), self.pick()
        r = self.rank[a]
        if kind in ("shift", "gather", "reshape", "cumsum", "conv"):
            if r == 3:
                return self.shape_step(kind, a)
            kind = "unary"
        if kind == "unary":
            return self.add(str(self.rng.choice(UNARY)), [a], r)
        if kind == "binary":
            return self.add(str(self.rng.choice(BINARY)), [a, b],
                            max(r, self.rank[b]))
        if kind == "where":
            cond = self.add("Less", [a, b], max(r, self.rank[b]), float_out=False)
            return self.add("Where", [cond, b, c],
                            max(r, self.rank[b], self.rank[c]))
        if kind == "reduce" and r > 1:
            # Not the channel axis: MatMul by [C, C] needs it whole.
            axis = int(self.rng.integers(-r, -1))
            op = str(self.rng.choice(REDUCE))
            if op == "ReduceSum":  # axes is an input from opset 13
                axes = self.name("axes")
                self.inits.append(numpy_helper.from_array(np.array([axis], np.int64), axes))
                return self.add(op, [a, axes], r, keepdims=1)
            return self.add(op, [a], r, axes=[axis], keepdims=1)
        if kind in ("softmax", "reduce"):
            return self.add("Softmax", [a], r, axis=-1)
        w = self.name("w")
        self.inits.append(numpy_helper.from_array(
            (self.rng.standard_normal((self.C, self.C)) * 0.5).astype(np.float32), w))
        return self.add("MatMul", [a, w], r)


def make(seed):
    rng = np.random.default_rng(seed)
    C = int(rng.integers(1, 5))
    y_rank = int(rng.integers(1, 4))
    y_shape = [["P", "Q", C], ["Q", C], [C]][3 - y_rank]
    g = Graph(rng, C)
    g.values = ["x", "y"]
    g.rank = {"x": 3, "y": y_rank}
    for _ in range(int(rng.integers(3, 9))):
        g.step()
    out = g.values[-1]
    graph = helper.make_graph(
        g.nodes, f"g{seed}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", C]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        initializer=g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m, C, y_rank, out


def feeds(rng, C, y_rank):
    for _ in range(3):
        B, T = int(rng.integers(1, 4)), int(rng.integers(1, 7))
        P = B if rng.random() < 0.5 else 1
        Q = T if rng.random() < 0.5 else 1
        y = [(P, Q, C), (Q, C), (C,)][3 - y_rank]
        yield {"x": rng.standard_normal((B, T, C)).astype(np.float32),
               "y": rng.standard_normal(y).astype(np.float32)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tool")
    p.add_argument("work")
    p.add_argument("--graphs", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if not os.path.isdir(os.path.join(BENCH, "node_modules", "onnxruntime-node")):
        print("SKIPPED: onnxruntime-node is not installed")
        sys.exit(77)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    mismatches, runs = [], 0
    for seed in range(a.seed, a.seed + a.graphs):
        m, C, y_rank, out = make(seed)
        path = os.path.join(a.work, f"g{seed}.onnx")
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
        lib = os.path.join(a.work, f"g{seed}.so")
        built = subprocess.run([a.tool, "compile", path, "-o", lib, "--quiet"],
                               capture_output=True, text=True)
        if built.returncode:
            mismatches.append(f"seed {seed}: compile failed: {built.stderr.strip()[-200:]}")
            continue
        rng = np.random.default_rng(seed + 1000003)
        for i, inputs in enumerate(feeds(rng, C, y_rank)):
            files = []
            for k, v in inputs.items():
                fn = os.path.join(a.work, f"g{seed}_{i}_{k}.npy")
                np.save(fn, v)
                files.append(f"{k}={fn}")
            oc, oo = (os.path.join(a.work, f"g{seed}_{i}_{w}") for w in ("convc", "ort"))
            ort = subprocess.run(["node", os.path.join(BENCH, "ort_run.js"), path, oo, *files],
                                 capture_output=True, text=True, cwd=BENCH)
            got = subprocess.run([a.tool, "run", lib, "--threads=1",
                                  *["--input=" + f for f in files], "--output-dir=" + oc],
                                 capture_output=True, text=True)
            runs += 1
            shapes = " ".join(f"{k}{list(v.shape)}" for k, v in inputs.items())
            if ort.returncode or got.returncode:
                # Both refusing is agreement (sizes that do not broadcast).
                if bool(ort.returncode) != bool(got.returncode):
                    mismatches.append(f"seed {seed} {shapes}: ONNX Runtime rc {ort.returncode}, "
                                      f"convc rc {got.returncode}: {got.stderr.strip()[-200:]}")
                continue
            want = np.load(os.path.join(oo, out + ".npy"))
            have = np.load(os.path.join(oc, out + ".npy"))
            scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
            err = (float(np.abs(have - want).max()) / scale if want.size else 0.0) \
                if have.shape == want.shape else np.inf
            if not err <= 1e-4:
                mismatches.append(f"seed {seed} {shapes}: error {err:.2e} "
                                  f"(shapes {have.shape} vs {want.shape})")
    for line in mismatches:
        print("MISMATCH", line)
    print(f"{a.graphs} graphs, {runs} runs, {len(mismatches)} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
