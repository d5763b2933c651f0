"""Random valid ONNX graphs for differential testing (the NNSmith approach:
build only graphs whose every node is valid for every size the inputs may
take, so any disagreement with ONNX Runtime is a bug on one side).

A graph with prefix p takes p+"x": [B, T, C] and p+"y" with its own symbolic
sizes ([P, Q, C], a rank-2 [Q, C] or a rank-1 [C]); some also take index
inputs: p+"cidx" [C] (channel picks), p+"tidx" [T] (time picks) and p+"eidx"
[B, T, C] (GatherElements over time), all int64 and all fed at run time.
Nodes: unary math, binary ops with numpy broadcasting, Max/Min, Where over a
comparison, reductions with keepdims, Softmax, MatMul by a constant [C, C]
weight, and on rank-3 values shape arithmetic (a time shift by Pad and a
Slice ending at Shape[1]; a Reshape to [-1, C] and back to Shape), channel
Gathers by constant or fed indices, CumSum over time and a depthwise time
Conv between Transposes. Every value stays broadcastable against [B, T, C].
Graphs with distinct prefixes share nothing, so many can be merged into one
model (one compile, one ONNX Runtime session) and compared output by output.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

UNARY = ["Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Floor", "Ceil", "Sin", "Cos"]
BINARY = ["Add", "Sub", "Mul", "Max", "Min"]
REDUCE = ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"]
CHANNELS = [1, 2, 3, 4, 5, 8, 9, 17]


class RandomGraph:
    """One random graph: its nodes, initializers, inputs and one output."""

    def __init__(self, seed, prefix=""):
        self.seed, self.p = seed, prefix
        self.rng = rng = np.random.default_rng(seed)
        self.C = C = int(rng.choice(CHANNELS))
        self.y_rank = int(rng.integers(1, 4))
        self.nodes, self.inits, self.values = [], [], [prefix + "x", prefix + "y"]
        self.rank = {prefix + "x": 3, prefix + "y": self.y_rank}
        self.index_inputs = set()
        self.n = 0
        for _ in range(int(rng.integers(3, 9))):
            self.step()
        self.output = self.values[-1]
        p, y_shape = prefix, [[prefix + "P", prefix + "Q", C], [prefix + "Q", C], [C]]
        self.inputs = [helper.make_tensor_value_info(p + "x", TensorProto.FLOAT,
                                                     [p + "B", p + "T", C]),
                       helper.make_tensor_value_info(p + "y", TensorProto.FLOAT,
                                                     y_shape[3 - self.y_rank])]
        index_shapes = {"cidx": [C], "tidx": [p + "T"], "eidx": [p + "B", p + "T", C]}
        for kind in sorted(self.index_inputs):
            self.inputs.append(helper.make_tensor_value_info(p + kind, TensorProto.INT64,
                                                             index_shapes[kind]))

    # -- building blocks ----------------------------------------------------
    def name(self, what):
        self.n += 1
        return f"{self.p}{what}{self.n}"

    def add(self, op, inputs, rank, float_out=True, **attrs):
        out = self.name("v")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op.lower() + "_"),
                                           **attrs))
        if float_out:  # bool and intermediate values are not picked again
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

    def index_input(self, kind):
        self.index_inputs.add(kind)
        return self.p + kind

    # -- steps ----------------------------------------------------------------
    def shape_step(self, kind, a):
        """Shape-preserving ops on a rank-3 value [X, Y, C] whose sizes come
        from Shape at run time, and gathers whose indices are fed."""
        C, x = self.C, self.p + "x"
        if kind == "shift":
            k = int(self.rng.integers(1, 3))
            padded = self.add("Pad", [a, self.ints(0, k, 0, 0, 0, 0)], 3, float_out=False)
            shape = self.add("Shape", [a], 1, float_out=False)
            t = self.add("Gather", [shape, self.ints(1)], 1, float_out=False)
            return self.add("Slice", [padded, self.ints(0), t, self.ints(1)], 3)
        if kind == "gather":
            picks = self.rng.integers(-C, C, size=C).astype(np.int64)
            return self.add("Gather", [a, self.const(picks)], 3, axis=2)
        if kind == "fed_gather":  # channel picks from an input, any value in [-C, C)
            return self.add("Gather", [a, self.index_input("cidx")], 3, axis=2)
        if kind == "time_gather":  # x's time steps picked by a [T] input
            return self.add("Gather", [x, self.index_input("tidx")], 3, axis=1)
        if kind == "elements":  # GatherElements over x's time, indices [B, T, C]
            return self.add("GatherElements", [x, self.index_input("eidx")], 3, axis=1)
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
                                "cumsum", "conv", "fed_gather", "time_gather", "elements"])
        a, b, c = self.pick(), self.pick(), self.pick()
        r = self.rank[a]
        if kind in ("shift", "gather", "reshape", "cumsum", "conv", "fed_gather",
                    "time_gather", "elements"):
            if r == 3:
                return self.shape_step(kind, a)
            kind = "unary"
        if kind == "unary":
            return self.add(str(self.rng.choice(UNARY)), [a], r)
        if kind == "binary":
            return self.add(str(self.rng.choice(BINARY)), [a, b], max(r, self.rank[b]))
        if kind == "where":
            cond = self.add("Less", [a, b], max(r, self.rank[b]), float_out=False)
            return self.add("Where", [cond, b, c], max(r, self.rank[b], self.rank[c]))
        if kind == "reduce" and r > 1:
            # Not the channel axis: MatMul by [C, C] needs it whole.
            axis = int(self.rng.integers(-r, -1))
            op = str(self.rng.choice(REDUCE))
            if op == "ReduceSum":  # axes is an input from opset 13
                return self.add(op, [a, self.ints(axis)], r, keepdims=1)
            return self.add(op, [a], r, axes=[axis], keepdims=1)
        if kind in ("softmax", "reduce"):
            return self.add("Softmax", [a], r, axis=-1)
        w = self.const((self.rng.standard_normal((self.C, self.C)) * 0.5).astype(np.float32))
        return self.add("MatMul", [a, w], r)

    def live_inputs(self):
        """The inputs the output depends on. Nodes off that path are dead:
        convc does not run them (ONNX Runtime does, so it refuses a bad
        index that only a dead Gather reads)."""
        producer = {out: n for n in self.nodes for out in n.output}
        live, todo = set(), [self.output]
        while todo:
            v = todo.pop()
            if v in live:
                continue
            live.add(v)
            if v in producer:
                todo.extend(producer[v].input)
        return {v[len(self.p):] for v in live if v.startswith(self.p)} & \
            ({"x", "y"} | self.index_inputs)

    # -- inputs ---------------------------------------------------------------
    def feed(self, rng, bad=None):
        """Random inputs: B in 1..3, T in 1..6 or now and then up to 40, y's
        sizes 1 or equal to x's at random (broadcasting decided at run time),
        indices anywhere in [-n, n). BAD breaks one thing ONNX forbids:
        "size" (y's Q neither 1 nor T) or "index" (one index at n or -n-1 in
        a live index input)."""
        C = self.C
        B = int(rng.integers(1, 4))
        T = int(rng.integers(1, 7)) if rng.random() < 0.8 else int(rng.integers(7, 41))
        P = B if rng.random() < 0.5 else 1
        Q = T if rng.random() < 0.5 else 1
        if bad == "size":
            Q = T + 1
        y = [(P, Q, C), (Q, C), (C,)][3 - self.y_rank]
        p = self.p
        f = {p + "x": rng.standard_normal((B, T, C)).astype(np.float32),
             p + "y": rng.standard_normal(y).astype(np.float32)}
        sizes = {"cidx": ((C,), C), "tidx": ((T,), T), "eidx": ((B, T, C), T)}
        for kind in sorted(self.index_inputs):
            shape, n = sizes[kind]
            f[p + kind] = rng.integers(-n, n, size=shape).astype(np.int64)
        if bad == "index":
            kind = sorted(self.index_inputs & self.live_inputs())[0]
            v = f[p + kind].reshape(-1)
            v[rng.integers(v.size)] = sizes[kind][1] if rng.random() < 0.5 else -sizes[kind][1] - 1
        return f


def merge(graphs, name):
    """One opset-17 model holding every graph, inputs and outputs side by side."""
    nodes = [n for g in graphs for n in g.nodes]
    inits = [i for g in graphs for i in g.inits]
    inputs = [i for g in graphs for i in g.inputs]
    outputs = [helper.make_tensor_value_info(g.output, TensorProto.FLOAT, None) for g in graphs]
    model = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model
