//===- ReductionOps.cpp - reductions and normalisation --------------------===//
//
// Reductions, global pooling, (Log)Softmax, CumSum, and the normalisations
// (Layer, Batch, Instance, MeanVariance); a LayerNorm over the last axis
// becomes the fused convc.layer_norm directly.
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

/// log(sum(exp(x))) over the `reduced` dims, the maximum subtracted first
/// (torch.logsumexp of large logits stays finite), dropped unless `keep`.
Value GraphImporter::logSumExp(Location loc, Value x,
                               const llvm::SmallBitVector &reduced, bool keep) {
  Value max = reduce(loc, x, reduced, /*keepDims=*/true, -INFINITY, {},
                     [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
                       return Value(arith::MaximumFOp::create(nb, l, a[0], acc));
                     });
  // An all -inf (or inf) slice keeps its max, as exp(x - max) would be NaN.
  Value shift = elementwise(loc, {max}, [](OpBuilder &nb, Location l,
                                           ValueRange a) -> Value {
    Value finite = arith::CmpFOp::create(
        nb, l, arith::CmpFPredicate::OLT, math::AbsFOp::create(nb, l, a[0]),
        arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(INFINITY)));
    return arith::SelectOp::create(
        nb, l, finite, a[0],
        arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0)));
  });
  Value sum = reduce(loc, x, reduced, /*keepDims=*/true, 0.0, {shift},
                     [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
                       Value e = math::ExpOp::create(
                           nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                       return Value(arith::AddFOp::create(nb, l, e, acc));
                     });
  Value result = elementwise(loc, {sum, shift}, [](OpBuilder &nb, Location l,
                                                   ValueRange a) -> Value {
    return arith::AddFOp::create(nb, l, math::LogOp::create(nb, l, a[0]), a[1]);
  });
  return keep ? result : droppedDims(loc, result, reduced);
}

/// ONNX ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSum,
/// ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp.
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
  bool floatOnly = op == "ReduceMean" || op == "ReduceL2" ||
                   op == "ReduceLogSum" || op == "ReduceLogSumExp";
  if (!isFloat(inputs[0]) && !(integer && !floatOnly))
    return emitError(loc) << op << " needs a float input"
                          << (floatOnly ? "" : " or an integer one")
                          << " (this one is "
                          << getElementTypeOrSelf(inputs[0].getType()) << ")";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  llvm::SmallBitVector reduced(rank, false);
  SmallVector<int64_t> axes;
  bool haveAxes = false;
  // No axes with noop_with_empty_axes: nothing reduced, the per-element
  // step still applied (|x| for ReduceL1, x^2 for ReduceSumSquare), as
  // onnx/onnx#7137 settles and ONNX Runtime does.
  bool noop = takesAxes && intAttr(node, "noop_with_empty_axes", 0) != 0;
  if (axesInput) {
    std::optional<SmallVector<int64_t>> axesValues = constantInts(inputs[1]);
    if (!axesValues)
      return notConstant(loc, op + " axes");
    axes = *axesValues;
    haveAxes = !axes.empty() || noop;
  } else if (noop) {
    haveAxes = true;
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
  if (op == "ReduceLogSumExp")
    return define(node, logSumExp(loc, inputs[0], reduced, keep));
  bool sum = op == "ReduceMean" || op == "ReduceSum" ||
             op == "ReduceSumSquare" || op == "ReduceL1" || op == "ReduceL2" ||
             op == "ReduceLogSum";
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
        if (op == "ReduceL1")
          return integer ? Value(arith::AddIOp::create(
                               nb, l, math::AbsIOp::create(nb, l, a[0]), acc))
                         : Value(arith::AddFOp::create(
                               nb, l, math::AbsFOp::create(nb, l, a[0]), acc));
        if (integer && sum)
          return arith::AddIOp::create(nb, l, a[0], acc);
        if (product)
          return integer ? Value(arith::MulIOp::create(nb, l, a[0], acc))
                         : Value(arith::MulFOp::create(nb, l, a[0], acc));
        if (integer)
          return op == "ReduceMax"
                     ? arith::MaxSIOp::create(nb, l, a[0], acc).getResult()
                     : arith::MinSIOp::create(nb, l, a[0], acc).getResult();
        if (op == "ReduceSumSquare" || op == "ReduceL2")
          return arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, a[0], a[0]), acc);
        if (sum)
          return arith::AddFOp::create(nb, l, a[0], acc);
        if (op == "ReduceMax")
          return arith::MaximumFOp::create(nb, l, a[0], acc);
        return arith::MinimumFOp::create(nb, l, a[0], acc);
      });
  if (op == "ReduceL2" || op == "ReduceLogSum")
    result = elementwise(loc, {result}, [&](OpBuilder &nb, Location l,
                                            ValueRange a) -> Value {
      if (op == "ReduceL2")
        return math::SqrtOp::create(nb, l, a[0]);
      return math::LogOp::create(nb, l, a[0]);
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

/// Each of `params` is [C], C the data's dim 1 (checked at run time where
/// symbolic).
LogicalResult GraphImporter::checkChannelParams(const onnx::NodeProto &node,
                                                Location loc, Value x,
                                                ValueRange params) {
  const std::string &op = node.op_type();
  int64_t want = cast<RankedTensorType>(x.getType()).getDimSize(1);
  for (Value v : params) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != 1) {
      const auto *spatial = findAttr(node, "spatial");
      return emitError(loc)
             << op << "'s parameters must be [C], not " << t
             << (spatial && spatial->i() == 0
                     ? " (spatial = 0, statistics per element, is not "
                       "supported)"
                     : "");
    }
    int64_t c = t.getDimSize(0);
    if (!ShapedType::isDynamic(c) && !ShapedType::isDynamic(want)) {
      if (c != want)
        return emitError(loc) << op << " has " << want
                              << " channels and parameters of " << c;
      continue;
    }
    Value have = tensor::DimOp::create(b, loc, v, 0);
    Value channels = tensor::DimOp::create(b, loc, x, 1);
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, have, channels),
        ValueRange{have, channels},
        "node '" + nodeName(loc) + "': " + op +
            " parameters of {0} for {1} channels");
  }
  return success();
}

/// The mean and population variance of `x` over its `reduced` dims, kept
/// as 1: two passes (the mean first, so large offsets do not cancel),
/// summed in f64 (an f32 running sum over 1e5 frames loses about 1e-4).
std::pair<Value, Value>
GraphImporter::meanAndVariance(Location loc, Value x,
                               const llvm::SmallBitVector &reduced) {
  Type f64 = b.getF64Type(), f32 = b.getF32Type();
  Value count = arith::ExtFOp::create(b, loc, f64,
                                      reducedCount(loc, x, reduced));
  auto wide = [&](OpBuilder &nb, Location l, Value v) -> Value {
    return arith::ExtFOp::create(nb, l, f64, v);
  };
  auto divided = [&](Value v, Type to) {
    return elementwise(
        loc, {v},
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value q = arith::DivFOp::create(nb, l, a[0], count);
          return to == f64 ? q : Value(arith::TruncFOp::create(nb, l, to, q));
        },
        to);
  };
  Value mean = divided(
      reduce(
          loc, x, reduced, true, 0.0, {},
          [&](OpBuilder &nb, Location l, ValueRange a, Value acc) {
            return Value(arith::AddFOp::create(nb, l, wide(nb, l, a[0]), acc));
          },
          f64),
      f64);
  Value var = divided(
      reduce(
          loc, x, reduced, true, 0.0, {mean},
          [&](OpBuilder &nb, Location l, ValueRange a, Value acc) {
            Value d = arith::SubFOp::create(nb, l, wide(nb, l, a[0]), a[1]);
            return Value(arith::AddFOp::create(
                nb, l, arith::MulFOp::create(nb, l, d, d), acc));
          },
          f64),
      f32);
  Value meanF32 = elementwise(
      loc, {mean},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::TruncFOp::create(nb, l, f32, a[0]);
      },
      f32);
  return {meanF32, var};
}

/// The statistics of each (dim 0, dim 1) of `x` over the dims after them
/// (an instance's, or a group's of a grouped view), and the map reading
/// them at an element of x.
std::tuple<Value, Value, AffineMap>
GraphImporter::instanceStatistics(Location loc, Value x) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  llvm::SmallBitVector reduced(rank, true);
  reduced.reset(0, 2);
  auto [mean, var] = meanAndVariance(loc, x, reduced);
  SmallVector<AffineExpr> kept = {getAffineDimExpr(0, ctx),
                                  getAffineDimExpr(1, ctx)};
  kept.append(rank - 2, getAffineConstantExpr(0, ctx));
  return {mean, var, AffineMap::get(rank, 0, kept, ctx)};
}

Value GraphImporter::normalized(Location loc, Value x, Value mean, Value var,
                                AffineMap statsMap, Value scale, Value bias,
                                float epsilon, AffineMap paramMap) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  if (!paramMap)
    paramMap = AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, mean, var, scale, bias},
             ValueRange{tensor::EmptyOp::create(b, loc, type, dynamicSizes)},
             ArrayRef<AffineMap>{identity, statsMap, statsMap, paramMap,
                                 paramMap, identity},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value eps =
                   arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(epsilon));
               Value invStd = math::RsqrtOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a[2], eps));
               Value y = arith::MulFOp::create(
                   nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), invStd);
               y = arith::AddFOp::create(
                   nb, l, arith::MulFOp::create(nb, l, y, a[3]), a[4]);
               linalg::YieldOp::create(nb, l, ValueRange{y});
             })
      .getResult(0);
}

/// ONNX BatchNormalization: per channel (dim 1), (x - mean) / sqrt(var +
/// epsilon) * scale + B, with the given statistics; in training mode
/// (opset 14+) with the batch's own (population variance), whose blend
/// with the given ones by momentum are the running outputs.
LogicalResult GraphImporter::importBatchNormalization(
    const onnx::NodeProto &node, Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 5 ||
      llvm::any_of(inputs, [](Value v) { return !isFloat(v); }))
    return emitError(loc) << "BatchNormalization needs float X, scale, B, "
                             "mean and var";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  bool training = intAttr(node, "training_mode", 0) != 0;
  bool moreOutputs = llvm::any_of(llvm::drop_begin(node.output()),
                                  [](const std::string &o) { return !o.empty(); });
  if (rank < 2)
    return emitError(loc) << "BatchNormalization needs [N, C, ...] data";
  if (moreOutputs && (opset < 14 || !training))
    return emitError(loc) << "BatchNormalization's statistics outputs exist "
                             "in training mode, imported from opset 14";
  if (failed(checkChannelParams(node, loc, x, inputs.drop_front())))
    return failure();
  float epsilon = 1e-5f, momentum = 0.9f;
  if (const auto *a = findAttr(node, "epsilon"))
    epsilon = a->f();
  if (const auto *a = findAttr(node, "momentum"))
    momentum = a->f();
  Value mean = inputs[3], var = inputs[4];
  if (training) {
    llvm::SmallBitVector reduced(rank, true);
    reduced.reset(1);
    auto [batchMean, batchVar] = meanAndVariance(loc, x, reduced);
    SmallVector<ReassociationIndices> all = {
        llvm::to_vector(llvm::seq<int64_t>(0, rank))};
    mean = tensor::CollapseShapeOp::create(b, loc, batchMean, all);
    var = tensor::CollapseShapeOp::create(b, loc, batchVar, all);
    auto blend = [&](Value given, Value batch) {
      return elementwise(loc, {given, batch}, [&](OpBuilder &nb, Location l,
                                                  ValueRange a) -> Value {
        auto c = [&](float v) -> Value {
          return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
        };
        return arith::AddFOp::create(
            nb, l, arith::MulFOp::create(nb, l, a[0], c(momentum)),
            arith::MulFOp::create(nb, l, a[1], c(1 - momentum)));
      });
    };
    if (node.output_size() > 1 && !node.output(1).empty())
      values[node.output(1)] = blend(inputs[3], mean);
    if (node.output_size() > 2 && !node.output(2).empty())
      values[node.output(2)] = blend(inputs[4], var);
  }
  AffineMap channel = AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx);
  return define(node, normalized(loc, x, mean, var, channel, inputs[1],
                                 inputs[2], epsilon));
}

/// ONNX InstanceNormalization: per (n, c) over the dims after them (what
/// F.group_norm exports through, on [N, groups, rest] views).
LogicalResult GraphImporter::importInstanceNormalization(
    const onnx::NodeProto &node, Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 3 ||
      llvm::any_of(inputs, [](Value v) { return !isFloat(v); }))
    return emitError(loc) << "InstanceNormalization needs float input, scale "
                             "and B";
  Value x = inputs[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (rank < 3)
    return emitError(loc) << "InstanceNormalization needs [N, C, D1, ...] "
                             "data";
  if (failed(checkChannelParams(node, loc, x, inputs.drop_front())))
    return failure();
  float epsilon = 1e-5f;
  if (const auto *a = findAttr(node, "epsilon"))
    epsilon = a->f();
  auto [mean, var, statsMap] = instanceStatistics(loc, x);
  return define(node, normalized(loc, x, mean, var, statsMap, inputs[1],
                                 inputs[2], epsilon));
}

/// ONNX GroupNormalization: x [N, C, D...] viewed as [N, G, C/G, D...],
/// each (n, g) normalised by its own statistics (f64), then scaled and
/// shifted per group (opset 18) or per channel (opset 21, which fixed the
/// spec: torch's GroupNorm has per-channel affine parameters).
LogicalResult
GraphImporter::importGroupNormalization(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 3 ||
      llvm::any_of(inputs, [](Value v) { return !isFloat(v); }))
    return emitError(loc) << "GroupNormalization needs float X, scale and bias";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), channels = type.getRank() > 1
                                                ? type.getDimSize(1)
                                                : ShapedType::kDynamic;
  const auto *groupsAttr = findAttr(node, "num_groups");
  if (!groupsAttr || groupsAttr->i() <= 0)
    return emitError(loc) << "GroupNormalization needs a positive num_groups";
  int64_t groups = groupsAttr->i();
  if (rank < 2 || ShapedType::isDynamic(channels))
    return emitError(loc) << "GroupNormalization needs [N, C, ...] data with "
                             "a static C (this one is "
                          << type << ")";
  if (channels % groups)
    return emitError(loc) << "GroupNormalization's " << channels
                          << " channels do not split into " << groups
                          << " groups";
  bool perChannel = opset >= 21;
  int64_t paramSize = perChannel ? channels : groups;
  for (Value param : inputs.drop_front()) {
    auto t = cast<RankedTensorType>(param.getType());
    if (t.getRank() != 1 || t.getDimSize(0) != paramSize)
      return emitError(loc)
             << "GroupNormalization's scale and bias must be [" << paramSize
             << "] ("
             << (perChannel ? "one per channel from " : "one per group before ")
             << "opset 21), not " << t;
  }
  float epsilon = 1e-5f;
  if (const auto *a = findAttr(node, "epsilon"))
    epsilon = a->f();
  // [N, C, D...] -> [N, G, C/G, D...].
  SmallVector<int64_t> shape = {type.getDimSize(0), groups, channels / groups};
  llvm::append_range(shape, type.getShape().drop_front(2));
  auto viewType = RankedTensorType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  Value view = reshape(loc, x, viewType, [&] {
    SmallVector<OpFoldResult> split = {sizes[0], b.getIndexAttr(groups),
                                       b.getIndexAttr(channels / groups)};
    split.append(sizes.begin() + 2, sizes.end());
    return split;
  });
  if (!view)
    return failure();
  int64_t viewRank = rank + 1;
  auto [mean, var, statsMap] = instanceStatistics(loc, view);
  Value scale = inputs[1], bias = inputs[2];
  SmallVector<AffineExpr> paramDims = {getAffineDimExpr(1, ctx)};
  if (perChannel) {
    // [C] -> [G, C/G], read at (g, c).
    auto split = RankedTensorType::get({groups, channels / groups},
                                       type.getElementType());
    SmallVector<ReassociationIndices> both = {{0, 1}};
    scale = tensor::ExpandShapeOp::create(b, loc, split, scale, both);
    bias = tensor::ExpandShapeOp::create(b, loc, split, bias, both);
    paramDims.push_back(getAffineDimExpr(2, ctx));
  }
  Value y = normalized(loc, view, mean, var, statsMap, scale, bias, epsilon,
                       AffineMap::get(viewRank, 0, paramDims, ctx));
  return define(node, reshape(loc, y, type, [&] { return sizes; }));
}

/// ONNX MeanVarianceNormalization: (x - mean) / (sqrt(variance) + 1e-9)
/// over `axes` (default [0, 2, 3]), the statistics in f64.
LogicalResult GraphImporter::importMeanVarianceNormalization(
    const onnx::NodeProto &node, Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << "MeanVarianceNormalization needs one float input";
  Value x = inputs[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> axes = {0, 2, 3};
  if (const auto *a = findAttr(node, "axes"))
    axes.assign(a->ints().begin(), a->ints().end());
  llvm::SmallBitVector reduced(rank, false);
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank)
      return emitError(loc) << "MeanVarianceNormalization axis " << axis
                            << " is out of range for rank " << rank;
    reduced.set(axis < 0 ? axis + rank : axis);
  }
  auto [mean, var] = meanAndVariance(loc, x, reduced);
  SmallVector<AffineExpr> kept;
  for (int64_t i = 0; i < rank; ++i)
    kept.push_back(reduced[i] ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(i, ctx));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap stats = AffineMap::get(rank, 0, kept, ctx);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       b.getF32Type());
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{x, mean, var},
          ValueRange{init},
          ArrayRef<AffineMap>{identity, stats, stats, identity},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value eps =
                arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1e-9f));
            Value std = arith::AddFOp::create(
                nb, l, math::SqrtOp::create(nb, l, a[2]), eps);
            Value y = arith::DivFOp::create(
                nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), std);
            linalg::YieldOp::create(nb, l, ValueRange{y});
          })
          .getResult(0);
  return define(node, result);
}

/// ONNX GlobalAveragePool, GlobalMaxPool: over every dim after [N, C],
/// kept as 1.
LogicalResult GraphImporter::importGlobalPool(const onnx::NodeProto &node,
                                              Location loc,
                                              ArrayRef<Value> inputs) {
  bool average = node.op_type() == "GlobalAveragePool";
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << node.op_type() << " needs one float input";
  int64_t rank = cast<RankedTensorType>(inputs[0].getType()).getRank();
  if (rank < 3)
    return emitError(loc) << node.op_type() << " needs [N, C, D1, ...] data";
  llvm::SmallBitVector reduced(rank, true);
  reduced.reset(0, 2);
  Value result = reduce(
      loc, inputs[0], reduced, /*keepDims=*/true, average ? 0.0 : -INFINITY,
      {}, [&](OpBuilder &nb, Location l, ValueRange a, Value acc) -> Value {
        if (average)
          return arith::AddFOp::create(nb, l, a[0], acc);
        return arith::MaximumFOp::create(nb, l, a[0], acc);
      });
  if (average) {
    Value count = reducedCount(loc, inputs[0], reduced);
    result = elementwise(loc, {result}, [&](OpBuilder &nb, Location l,
                                            ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], count);
    });
  }
  return define(node, result);
}

/// Reductions and normalisation.
NamedOps reductionOps() {
  using G = GraphImporter;
  return {
      {"BatchNormalization", opEntry(&G::importBatchNormalization)},
      {"CumSum", opEntry(&G::importCumSum, 11)},
      {"GlobalAveragePool", opEntry(&G::importGlobalPool)},
      {"GlobalMaxPool", opEntry(&G::importGlobalPool)},
      {"GroupNormalization", opEntry(&G::importGroupNormalization, 18)},
      {"InstanceNormalization", opEntry(&G::importInstanceNormalization)},
      {"LayerNormalization", opEntry(&G::importLayerNormalization, 17)},
      {"LogSoftmax", opEntry(&G::importSoftmax)},
      {"MeanVarianceNormalization",
       opEntry(&G::importMeanVarianceNormalization, 9)},
      {"ReduceL1", opEntry(&G::importReduce)},
      {"ReduceL2", opEntry(&G::importReduce)},
      {"ReduceLogSum", opEntry(&G::importReduce)},
      {"ReduceLogSumExp", opEntry(&G::importReduce)},
      {"ReduceMax", opEntry(&G::importReduce)},
      {"ReduceMean", opEntry(&G::importReduce)},
      {"ReduceMin", opEntry(&G::importReduce)},
      {"ReduceProd", opEntry(&G::importReduce)},
      {"ReduceSum", opEntry(&G::importReduce)},
      {"ReduceSumSquare", opEntry(&G::importReduce)},
      {"Softmax",
       opEntry(&G::importSoftmax, kMinOpset, {}, fold::softmaxWeights)},
  };
}

} // namespace convc::onnx_import
