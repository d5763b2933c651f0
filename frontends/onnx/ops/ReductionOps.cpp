//===- ReductionOps.cpp - reductions and normalisation --------------------===//
//
// Reductions, (Log)Softmax, CumSum and LayerNormalization; a LayerNorm over
// the last axis becomes the fused convc.layer_norm directly.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

namespace convc::onnx_import {

Value GraphImporter::cumSum(const onnx::NodeProto &node, Location loc,
                       ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1]) {
    emitError(loc) << "CumSum needs x and axis";
    return {};
  }
  auto axisValues = constantInts(inputs[1]);
  if (!axisValues || axisValues->size() != 1) {
    notConstant(loc, "CumSum axis");
    return {};
  }
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  Type element = type.getElementType();
  if (!element.isF32() && !element.isInteger(64)) {
    emitError(loc) << "CumSum needs float32 or int64 data";
    return {};
  }
  int64_t rank = type.getRank(), axis = (*axisValues)[0];
  if (axis < -rank || axis >= rank) {
    emitError(loc) << "CumSum axis " << axis << " is out of range for rank "
                   << rank;
    return {};
  }
  if (axis < 0)
    axis += rank;
  auto intAttr = [&](StringRef name) {
    const auto *a = findAttr(node, name);
    return a && a->i() != 0;
  };
  bool exclusive = intAttr("exclusive"), reverse = intAttr("reverse");
  // The running sum over time of a [B, T, C] f32 sequence (what TaLK's
  // export starts with) is convc.prefix_sum: a parallel, vectorised scan.
  if (axis == 1 && rank == 3 && element.isF32() && !exclusive && !reverse)
    return PrefixSumOp::create(b, loc, x, b.getF64FloatAttr(1.0));
  // A scan along `axis`: one slice (size 1 on the axis) per step, the
  // running sum carried by an scf.for. Sequential in the axis only.
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  SmallVector<OpFoldResult> sliceSizes = sizes;
  sliceSizes[axis] = b.getIndexAttr(1);
  SmallVector<int64_t> sliceShape = llvm::to_vector(type.getShape());
  sliceShape[axis] = 1;
  auto sliceType = RankedTensorType::get(sliceShape, element);
  SmallVector<Value> sliceDynamic;
  for (auto [i, size] : llvm::enumerate(sliceSizes))
    if (ShapedType::isDynamic(sliceShape[i]))
      sliceDynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  Value acc0 = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, sliceType, sliceDynamic)
                       .getResult())
                   .getResult(0);
  Value out0 = tensor::EmptyOp::create(b, loc, sizes, element);
  Value n = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, c0, n, c1, ValueRange{acc0, out0},
      [&](OpBuilder &lb, Location l, Value i, ValueRange carried) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
        Value pos = reverse ? Value(arith::SubIOp::create(
                                  b, l, arith::SubIOp::create(b, l, n, c1), i))
                            : i;
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
        offsets[axis] = pos;
        SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
        Value slice = tensor::ExtractSliceOp::create(b, l, sliceType, x,
                                                     offsets, sliceSizes,
                                                     strides);
        auto add = [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          if (element.isF32())
            return arith::AddFOp::create(nb, nl, a[0], a[1]);
          return arith::AddIOp::create(nb, nl, a[0], a[1]);
        };
        auto insert = [&](Value v) -> Value {
          return tensor::InsertSliceOp::create(b, l, v, carried[1], offsets,
                                               sliceSizes, strides);
        };
        // Exclusive: the sum so far is written before it is updated, so the
        // update stays in place (the loop carries one buffer).
        Value out = exclusive ? insert(carried[0]) : Value();
        // acc += slice, in place.
        SmallVector<AffineMap> maps(
            2, AffineMap::getMultiDimIdentityMap(rank, ctx));
        Value sum =
            linalg::GenericOp::create(
                b, l, TypeRange{sliceType}, ValueRange{slice},
                ValueRange{carried[0]}, maps,
                SmallVector<utils::IteratorType>(
                    rank, utils::IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  linalg::YieldOp::create(nb, nl, ValueRange{add(nb, nl, a)});
                })
                .getResult(0);
        if (!exclusive)
          out = insert(sum);
        scf::YieldOp::create(b, l, ValueRange{sum, out});
      });
  return loop.getResult(1);
}

/// ONNX CumSum.
LogicalResult GraphImporter::importCumSum(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  return define(node, cumSum(node, loc, inputs));
}

/// ONNX Softmax, LogSoftmax.
LogicalResult GraphImporter::importSoftmax(const onnx::NodeProto &node,
                                           Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  Value result;
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << op << " needs one float input";
  int64_t rank = cast<RankedTensorType>(inputs[0].getType()).getRank();
  const auto *attr = findAttr(node, "axis");
  // Before opset 13 the axis defaults to 1 and splits the input into 2-D
  // rows: dims [axis, rank) are normalised together.
  int64_t axis = attr ? attr->i() : opset < 13 ? 1 : -1;
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return emitError(loc) << op << " axis out of range for rank " << rank;
  auto type = cast<RankedTensorType>(inputs[0].getType());
  if (opset < 13 && axis < rank - 1) {
    // Over the trailing dims as one: collapsed, normalised, expanded back.
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < axis; ++d)
      groups.push_back({d});
    groups.push_back(llvm::to_vector(llvm::seq<int64_t>(axis, rank)));
    Value rows = tensor::CollapseShapeOp::create(b, loc, inputs[0], groups);
    Value normalised = softmax(loc, rows, axis, op == "LogSoftmax");
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(b, loc, inputs[0]);
    result = reshape(loc, normalised, type, [&] { return sizes; });
    return result ? define(node, result) : failure();
  }
  if (op == "Softmax" && axis == rank - 1 && !type.isDynamicDim(axis) &&
      type.getElementType().isF32())
    // Over a static last axis (kernel taps, DynamicConv's logits): the
    // convc op, which the conv it feeds can fuse.
    result = KernelSoftmaxOp::create(b, loc, inputs[0]);
  else
    result = softmax(loc, inputs[0], axis, op == "LogSoftmax");
  return define(node, result);
}

/// ONNX ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSum, ReduceSumSquare.
LogicalResult GraphImporter::importReduce(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  Value result;
  // Axes: an attribute, or a constant input (ReduceSum from opset 13, every
  // reduction from opset 18).
  bool takesAxes = op == "ReduceSum" ? opset >= 13 : opset >= 18;
  bool axesInput = takesAxes && inputs.size() == 2 && inputs[1];
  if (inputs.empty() || !inputs[0] ||
      (inputs.size() > 1 && inputs[1] && !axesInput))
    return emitError(loc) << op << " takes its axes as an attribute before "
                          << (op == "ReduceSum" ? "opset 13" : "opset 18")
                          << " and as an input from it; this model uses opset "
                          << opset;
  // Integers (token counts: mask.long().sum(-1)) sum, take max and min in
  // int64; a mean of integers would round, which ONNX leaves unsaid.
  bool integer = isa<IntegerType>(getElementTypeOrSelf(inputs[0].getType())) &&
                 !getElementTypeOrSelf(inputs[0].getType()).isInteger(1);
  if (!isFloat(inputs[0]) && !(integer && op != "ReduceMean"))
    return emitError(loc) << op << " needs a float input"
                          << (op == "ReduceMean" ? "" : " or an integer one")
                          << " (this one is "
                          << getElementTypeOrSelf(inputs[0].getType()) << ")";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  llvm::SmallBitVector reduced(rank, false);
  SmallVector<int64_t> axes;
  bool haveAxes = false;
  const auto *noop = findAttr(node, "noop_with_empty_axes");
  if (takesAxes && !axesInput && noop && noop->i() != 0) {
    // No axes and noop_with_empty_axes: the input as it is.
    values[node.output(0)] = inputs[0];
    return success();
  }
  if (axesInput) {
    std::optional<SmallVector<int64_t>> axesValues = constantInts(inputs[1]);
    if (!axesValues)
      return notConstant(loc, op + " axes");
    axes = *axesValues;
    haveAxes = !axes.empty();
    if (axes.empty() && noop && noop->i() != 0) {
      values[node.output(0)] = inputs[0];
      return success();
    }
  } else if (const auto *attr = findAttr(node, "axes")) {
    axes.assign(attr->ints().begin(), attr->ints().end());
    haveAxes = true;
  }
  if (haveAxes) {
    for (int64_t axis : axes) {
      if (axis < 0)
        axis += rank;
      if (axis < 0 || axis >= rank)
        return emitError(loc) << op << " axis out of range";
      reduced.set(axis);
    }
  } else {
    reduced.set();
  }
  const auto *kd = findAttr(node, "keepdims");
  bool keep = kd ? kd->i() != 0 : true;
  bool sum = op == "ReduceMean" || op == "ReduceSum" ||
             op == "ReduceSumSquare";
  bool product = op == "ReduceProd";
  double start = sum       ? 0.0
                 : product ? 1.0
                 : op == "ReduceMax" ? -INFINITY
                                     : INFINITY;
  result = reduce(
      loc, inputs[0], reduced, keep, start, {},
      [&](OpBuilder &nb, Location l, ValueRange a, Value acc) -> Value {
        if (integer && op == "ReduceSumSquare")
          return arith::AddIOp::create(
              nb, l, arith::MulIOp::create(nb, l, a[0], a[0]), acc);
        if (integer && sum)
          return arith::AddIOp::create(nb, l, a[0], acc);
        if (product)
          return integer ? Value(arith::MulIOp::create(nb, l, a[0], acc))
                         : Value(arith::MulFOp::create(nb, l, a[0], acc));
        if (integer)
          return op == "ReduceMax"
                     ? arith::MaxSIOp::create(nb, l, a[0], acc).getResult()
                     : arith::MinSIOp::create(nb, l, a[0], acc).getResult();
        if (op == "ReduceSumSquare")
          return arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, a[0], a[0]), acc);
        if (sum)
          return arith::AddFOp::create(nb, l, a[0], acc);
        if (op == "ReduceMax")
          return arith::MaximumFOp::create(nb, l, a[0], acc);
        return arith::MinimumFOp::create(nb, l, a[0], acc);
      });
  if (op == "ReduceMean") {
    Value count = reducedCount(loc, inputs[0], reduced);
    result = elementwise(loc, {result}, [&](OpBuilder &nb, Location l,
                                            ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], count);
    });
  }
  return define(node, result);
}

/// ONNX LayerNormalization.
LogicalResult GraphImporter::importLayerNormalization(const onnx::NodeProto &node,
                                                      Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Opset 17: normalise over dims [axis, rank); Y = (X - mean) * invstd *
  // Scale (+ B), with optional outputs Mean and InvStdDev (keepdims shape).
  if (inputs.size() < 2 || !isFloat(inputs[0]) || !isFloat(inputs[1]) ||
      (inputs.size() > 2 && inputs[2] && !isFloat(inputs[2])))
    return emitError(loc) << "LayerNormalization needs float X, Scale and "
                             "optional B";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  int64_t axis = -1;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return emitError(loc) << "LayerNormalization axis out of range for rank "
                          << rank;
  float epsilon = 1e-5f;
  if (const auto *a = findAttr(node, "epsilon"))
    epsilon = a->f();
  if (const auto *a = findAttr(node, "stash_type"); a && a->i() != 1)
    return emitError(loc) << "LayerNormalization stash_type " << a->i()
                          << " is not supported (float32 statistics are)";
  // Over the last axis, with [C] scale and bias and only Y used (what
  // nn.LayerNorm exports): the fused convc kernel.
  bool onlyY = node.output_size() == 1 ||
               llvm::all_of(llvm::drop_begin(node.output()),
                            [](const std::string &o) { return o.empty(); });
  int64_t C = type.getDimSize(rank - 1);
  auto isVectorC = [&](Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    return t && t.getRank() == 1 && t.getDimSize(0) == C;
  };
  if (axis == rank - 1 && onlyY && !ShapedType::isDynamic(C) &&
      isVectorC(inputs[1]) &&
      (inputs.size() < 3 || !inputs[2] || isVectorC(inputs[2]))) {
    Value beta = inputs.size() > 2 && inputs[2]
                     ? inputs[2]
                     : Value(arith::ConstantOp::create(
                           b, loc,
                           DenseElementsAttr::get(
                               RankedTensorType::get({C}, b.getF32Type()),
                               0.0f)));
    result = LayerNormOp::create(b, loc, type, inputs[0], inputs[1], beta,
                                 Value(), b.getF64FloatAttr(epsilon));
    values[node.output(0)] = result;
    return success();
  }
  // Statistics over dims [axis, rank), kept as [d0 .. d(axis-1), 1 ...].
  llvm::SmallBitVector reduced(rank, false);
  reduced.set(axis, rank);
  Value count = reducedCount(loc, inputs[0], reduced);
  Value sum = reduce(loc, inputs[0], reduced, /*keepDims=*/true, 0.0, {},
                     [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
                       return Value(arith::AddFOp::create(nb, l, a[0], acc));
                     });
  Value mean = elementwise(loc, {sum}, [&](OpBuilder &nb, Location l,
                                           ValueRange a) -> Value {
    return arith::DivFOp::create(nb, l, a[0], count);
  });
  // Two-pass variance: the mean first, so large offsets do not cancel.
  Value squares = reduce(
      loc, inputs[0], reduced, /*keepDims=*/true, 0.0, {mean},
      [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
        Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
        return Value(arith::AddFOp::create(
            nb, l, arith::MulFOp::create(nb, l, d, d), acc));
      });
  Value invStd = elementwise(loc, {squares}, [&](OpBuilder &nb, Location l,
                                                 ValueRange a) -> Value {
    Value var = arith::DivFOp::create(nb, l, a[0], count);
    Value eps = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(epsilon));
    return math::RsqrtOp::create(nb, l,
                                 arith::AddFOp::create(nb, l, var, eps));
  });
  SmallVector<Value> operands = {inputs[0], mean, invStd, inputs[1]};
  bool hasBias = inputs.size() > 2 && inputs[2];
  if (hasBias)
    operands.push_back(inputs[2]);
  result = elementwise(loc, operands, [&](OpBuilder &nb, Location l,
                                          ValueRange a) -> Value {
    Value y = arith::MulFOp::create(
        nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), a[2]);
    y = arith::MulFOp::create(nb, l, y, a[3]);
    return hasBias ? Value(arith::AddFOp::create(nb, l, y, a[4])) : y;
  });
  if (node.output_size() > 1 && !node.output(1).empty())
    values[node.output(1)] = mean;
  if (node.output_size() > 2 && !node.output(2).empty())
    values[node.output(2)] = invStd;
  return define(node, result);
}

/// Reductions and normalisation.
NamedOps reductionOps() {
  using G = GraphImporter;
  return {
      {"CumSum", opEntry(&G::importCumSum, 11)},
      {"LayerNormalization", opEntry(&G::importLayerNormalization, 17)},
      {"LogSoftmax", opEntry(&G::importSoftmax)},
      {"ReduceMax", opEntry(&G::importReduce)},
      {"ReduceMean", opEntry(&G::importReduce)},
      {"ReduceMin", opEntry(&G::importReduce)},
      {"ReduceProd", opEntry(&G::importReduce)},
      {"ReduceSum", opEntry(&G::importReduce)},
      {"ReduceSumSquare", opEntry(&G::importReduce)},
      {"Softmax", opEntry(&G::importSoftmax, kMinOpset, {}, fold::softmaxWeights)},
  };
}

} // namespace convc::onnx_import
