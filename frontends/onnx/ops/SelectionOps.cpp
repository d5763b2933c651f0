//===- SelectionOps.cpp - ArgMax, ArgMin and TopK --------------------------===//
//
// Positions of the largest or smallest elements along an axis. Each is
// reductions over the axis: the extreme value first, then the position
// holding it (the lowest, as ONNX and numpy break ties). NaN counts as above
// every number, as numpy's argmax and sort have it.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

namespace convc::onnx_import {

namespace {
/// The order TopK ranks by: the value (NaN above every number and equal to
/// itself), then the lower position first.
struct ValueOrder {
  bool integer, largest;

  Value isNaN(OpBuilder &b, Location l, Value v) const {
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, v, v);
  }
  Value above(OpBuilder &b, Location l, Value a, Value c) const {
    if (integer)
      return arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, a, c);
    Value notNaN = arith::XOrIOp::create(b, l, isNaN(b, l, c),
                                         arith::ConstantIntOp::create(b, l, 1, 1));
    return arith::OrIOp::create(
        b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a, c),
        arith::AndIOp::create(b, l, isNaN(b, l, a), notNaN));
  }
  Value same(OpBuilder &b, Location l, Value a, Value c) const {
    if (integer)
      return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, a, c);
    return arith::OrIOp::create(
        b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a, c),
        arith::AndIOp::create(b, l, isNaN(b, l, a), isNaN(b, l, c)));
  }
  /// Whether value a ranks before value c.
  Value better(OpBuilder &b, Location l, Value a, Value c) const {
    return largest ? above(b, l, a, c) : above(b, l, c, a);
  }
  /// Whether (v, i) ranks after (pv, pi); everything does when `first`.
  Value after(OpBuilder &b, Location l, Value v, Value i, Value pv, Value pi,
              Value first) const {
    Value tieLater = arith::AndIOp::create(
        b, l, same(b, l, v, pv),
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, i, pi));
    return arith::OrIOp::create(
        b, l, first, arith::OrIOp::create(b, l, better(b, l, pv, v), tieLater));
  }
  /// A value every element ranks before or equals: below every number, or
  /// NaN when the smallest rank first.
  TypedAttr worst(OpBuilder &b) const {
    if (integer)
      return b.getI64IntegerAttr(largest ? std::numeric_limits<int64_t>::min()
                                         : std::numeric_limits<int64_t>::max());
    return b.getF32FloatAttr(largest ? -INFINITY
                                     : std::numeric_limits<float>::quiet_NaN());
  }
};

/// A reduction of `x` over `axis` into `init` (the axis kept as 1): `ins`
/// have that kept shape; body(x, ins..., acc) gives the next acc.
Value reduceOverAxis(OpBuilder &b, Location loc, Value x, int64_t axis,
                     ValueRange ins, Value init,
                     function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<AffineExpr> keptExprs;
  for (int64_t i = 0; i < rank; ++i)
    keptExprs.push_back(i == axis ? getAffineConstantExpr(0, ctx)
                                  : getAffineDimExpr(i, ctx));
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  maps.append(ins.size() + 1, AffineMap::get(rank, 0, keptExprs, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[axis] = utils::IteratorType::reduction;
  SmallVector<Value> operands = {x};
  llvm::append_range(operands, ins);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, operands, ValueRange{init},
             maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, ValueRange{body(nb, l, a)});
             })
      .getResult(0);
}

/// `x`'s shape with `axis` of size 1, filled with `v` of type `element`.
Value filledKept(OpBuilder &b, Location loc, Value x, int64_t axis,
                 Type element, TypedAttr v) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] = 1;
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i) && i != axis)
      sizes.push_back(tensor::DimOp::create(b, loc, x, i));
  return linalg::FillOp::create(
             b, loc, arith::ConstantOp::create(b, loc, v).getResult(),
             tensor::EmptyOp::create(b, loc, shape, element, sizes).getResult())
      .getResult(0);
}

Value position(OpBuilder &b, Location l, int64_t axis) {
  return arith::IndexCastOp::create(b, l, b.getI64Type(),
                                    linalg::IndexOp::create(b, l, axis));
}
} // namespace

/// ONNX ArgMax, ArgMin: the extreme first, then the first (or, with
/// select_last_index, the last) position holding it. A NaN is the extreme
/// either way, as in numpy.
LogicalResult GraphImporter::importArgExtreme(const onnx::NodeProto &node,
                                              Location loc,
                                              ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  if (inputs.size() != 1 || !(isFloat(inputs[0]) || isInt64(inputs[0])))
    return emitError(loc) << op << " needs one float or integer input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = intAttr(node, "axis", 0);
  if (axis < -rank || axis >= rank)
    return emitError(loc) << op << " axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  if (type.getDimSize(axis) == 0)
    return emitError(loc) << op << " over an empty axis has no answer";
  bool isMax = op == "ArgMax", integer = isInt64(x);
  bool last = intAttr(node, "select_last_index", 0) != 0;
  Type element = type.getElementType(), i64 = b.getI64Type();
  TypedAttr start =
      integer ? TypedAttr(b.getI64IntegerAttr(
                    isMax ? std::numeric_limits<int64_t>::min()
                          : std::numeric_limits<int64_t>::max()))
              : TypedAttr(b.getF32FloatAttr(isMax ? -INFINITY : INFINITY));
  Value extreme = reduceOverAxis(
      b, loc, x, axis, {}, filledKept(b, loc, x, axis, element, start),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        if (integer)
          return isMax ? Value(arith::MaxSIOp::create(nb, l, a[0], a[1]))
                       : Value(arith::MinSIOp::create(nb, l, a[0], a[1]));
        return isMax ? Value(arith::MaximumFOp::create(nb, l, a[0], a[1]))
                     : Value(arith::MinimumFOp::create(nb, l, a[0], a[1]));
      });
  int64_t none = last ? -1 : std::numeric_limits<int64_t>::max();
  Value result = reduceOverAxis(
      b, loc, x, axis, {extreme},
      filledKept(b, loc, x, axis, i64, b.getI64IntegerAttr(none)),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        ValueOrder order{integer, true};
        Value i = position(nb, l, axis);
        Value next = last ? Value(arith::MaxSIOp::create(nb, l, i, a[2]))
                          : Value(arith::MinSIOp::create(nb, l, i, a[2]));
        return arith::SelectOp::create(nb, l, order.same(nb, l, a[0], a[1]),
                                       next, a[2]);
      });
  if (intAttr(node, "keepdims", 1) == 0) {
    // The axis (now 1) merged into a neighbour, or a scalar from a vector.
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < rank; ++d) {
      bool joinsPrevious = d == axis ? d > 0 : d == axis + 1 && axis == 0;
      if (joinsPrevious)
        groups.back().push_back(d);
      else
        groups.push_back({d});
    }
    if (rank == 1)
      groups.clear();
    result = tensor::CollapseShapeOp::create(b, loc, result, groups);
  }
  return define(node, result);
}

/// ONNX TopK: k passes over the axis, each taking the best element that
/// ranks after the previous pass's (ValueOrder): its value by one
/// reduction, its position by another. O(k n): k is a beam or a handful of
/// candidates.
LogicalResult GraphImporter::importTopK(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  if (inputs.empty() || !(isFloat(inputs[0]) || isInt64(inputs[0])))
    return emitError(loc) << "TopK needs a float or integer input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = intAttr(node, "axis", -1);
  if (axis < -rank || axis >= rank)
    return emitError(loc) << "TopK axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // k: an attribute before opset 10, then a one-element input.
  std::optional<int64_t> kConstant;
  Value k;
  if (opset < 10) {
    kConstant = intAttr(node, "k", -1);
  } else if (auto values = constantInts(inputs.size() > 1 ? inputs[1]
                                                           : Value())) {
    if (values->size() != 1)
      return emitError(loc) << "TopK's k must be one int64";
    kConstant = (*values)[0];
  } else {
    Value kValue = oneInt(loc, inputs.size() > 1 ? inputs[1] : Value(),
                          "TopK's k");
    if (!kValue)
      return failure();
    k = arith::IndexCastOp::create(b, loc, b.getIndexType(), kValue);
  }
  if (kConstant) {
    if (*kConstant < 0 || (!type.isDynamicDim(axis) &&
                           *kConstant > type.getDimSize(axis)))
      return emitError(loc) << "TopK k = " << *kConstant
                            << " is not within the axis' "
                            << type.getDimSize(axis) << " elements";
    k = arith::ConstantIndexOp::create(b, loc, *kConstant);
  }
  if (!kConstant || type.isDynamicDim(axis)) {
    Value n = tensor::DimOp::create(b, loc, x, axis);
    CheckOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, k, n),
        ValueRange{k, n},
        "node '" + nodeName(loc) +
            "': TopK k = {0} is more than the axis' {1} elements");
  }
  ValueOrder order{isInt64(x), intAttr(node, "largest", 1) != 0};
  Type element = type.getElementType(), i64 = b.getI64Type();
  SmallVector<int64_t> outShape(type.getShape());
  outShape[axis] = kConstant ? *kConstant : ShapedType::kDynamic;
  SmallVector<Value> outSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(outShape[i]))
      outSizes.push_back(i == axis ? k : tensor::DimOp::create(b, loc, x, i));
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  // The loop carries the outputs only (updated in place); each pass reads
  // the previous pass's value and position back from them.
  auto loop = scf::ForOp::create(
      b, loc, c0, k, c1,
      ValueRange{tensor::EmptyOp::create(b, loc, outShape, element, outSizes),
                 tensor::EmptyOp::create(b, loc, outShape, i64, outSizes)},
      [&](OpBuilder &lb, Location l, Value j, ValueRange carried) {
        Value first =
            arith::CmpIOp::create(lb, l, arith::CmpIPredicate::eq, j, c0);
        Value previous = arith::SelectOp::create(
            lb, l, first, c0, arith::SubIOp::create(lb, l, j, c1));
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(lb, l, x);
        sizes[axis] = lb.getIndexAttr(1);
        SmallVector<OpFoldResult> offsets(rank, lb.getIndexAttr(0)),
            strides(rank, lb.getIndexAttr(1));
        auto sliceAt = [&](Value from, Value at) -> Value {
          offsets[axis] = at;
          return tensor::ExtractSliceOp::create(lb, l, from, offsets, sizes,
                                                strides);
        };
        Value prevValue = sliceAt(carried[0], previous);
        Value prevIndex = sliceAt(carried[1], previous);
        Value bestValue = reduceOverAxis(
            lb, l, x, axis, {prevValue, prevIndex},
            filledKept(lb, l, x, axis, element, order.worst(lb)),
            [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
              Value take = arith::AndIOp::create(
                  nb, nl,
                  order.after(nb, nl, a[0], position(nb, nl, axis), a[1], a[2],
                              first),
                  order.better(nb, nl, a[0], a[3]));
              return arith::SelectOp::create(nb, nl, take, a[0], a[3]);
            });
        Value bestIndex = reduceOverAxis(
            lb, l, x, axis, {prevValue, prevIndex, bestValue},
            filledKept(lb, l, x, axis, i64,
                       lb.getI64IntegerAttr(std::numeric_limits<int64_t>::max())),
            [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
              Value i = position(nb, nl, axis);
              Value take = arith::AndIOp::create(
                  nb, nl, order.after(nb, nl, a[0], i, a[1], a[2], first),
                  order.same(nb, nl, a[0], a[3]));
              return arith::SelectOp::create(
                  nb, nl, take, arith::MinSIOp::create(nb, nl, i, a[4]), a[4]);
            });
        offsets[axis] = j;
        auto insert = [&](Value v, Value into) -> Value {
          return tensor::InsertSliceOp::create(lb, l, v, into, offsets, sizes,
                                               strides);
        };
        scf::YieldOp::create(lb, l,
                             ValueRange{insert(bestValue, carried[0]),
                                        insert(bestIndex, carried[1])});
      });
  values[node.output(0)] = loop.getResult(0);
  if (node.output_size() > 1 && !node.output(1).empty())
    values[node.output(1)] = loop.getResult(1);
  return success();
}

/// ArgMax, ArgMin and TopK.
NamedOps selectionOps() {
  using G = GraphImporter;
  return {
      {"ArgMax", opEntry(&G::importArgExtreme)},
      {"ArgMin", opEntry(&G::importArgExtreme)},
      {"TopK", opEntry(&G::importTopK)},
  };
}

} // namespace convc::onnx_import
