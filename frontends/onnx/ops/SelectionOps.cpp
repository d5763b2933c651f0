//===- SelectionOps.cpp - ArgMax, ArgMin and TopK --------------------------===//
//
// Positions of the largest or smallest elements along an axis. ArgMax,
// ArgMin and TopK's passes are reductions over the axis: the extreme value
// first, then the position holding it (the lowest, as ONNX and numpy break
// ties); TopK with a large or run-time k sorts instead. NaN counts as above
// every number, as numpy's argmax and sort have it.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

namespace convc::onnx_import {

namespace {
/// Up to this constant k TopK takes k passes; beyond, or for a run-time
/// k, it sorts (docs/onnx.md).
constexpr int64_t kTopKPassesUpTo = 32;

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
    // A select, not an or: on the first pass pv and pi are not written yet.
    return arith::SelectOp::create(
        b, l, first, arith::ConstantIntOp::create(b, l, 1, 1),
        arith::OrIOp::create(b, l, better(b, l, pv, v), tieLater));
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
/// TopK's k largest (or smallest) by k passes over the axis, each taking
/// the best element that ranks after the previous pass's: its value by one
/// reduction, its position by another. O(k n).
std::pair<Value, Value> topKByPasses(OpBuilder &b, Location loc, Value x,
                                     int64_t axis, Value k,
                                     const ValueOrder &order,
                                     ArrayRef<int64_t> outShape,
                                     ValueRange outSizes) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type element = type.getElementType(), i64 = b.getI64Type();
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
  return {loop.getResult(0), loop.getResult(1)};
}

/// Whether (av, ai) ranks before (cv, ci): the value, then the position.
Value before(const ValueOrder &order, OpBuilder &b, Location l, Value av,
             Value ai, Value cv, Value ci) {
  Value tieFirst = arith::AndIOp::create(
      b, l, order.same(b, l, av, cv),
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, ai, ci));
  return arith::OrIOp::create(b, l, order.better(b, l, av, cv), tieFirst);
}

/// A tensor like `x` with `axis` of size `m`, each element from `body`
/// (given the position on the axis and the other dims' indices).
Value alongAxis(OpBuilder &b, Location loc, Value x, int64_t axis, Value m,
                Type element,
                function_ref<Value(OpBuilder &, Location, Value,
                                   SmallVector<Value> &)>
                    body,
                Value into = {}) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (!into) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
    sizes[axis] = m;
    into = tensor::EmptyOp::create(b, loc, sizes, element);
  }
  return linalg::GenericOp::create(
             b, loc, TypeRange{into.getType()}, ValueRange{}, ValueRange{into},
             ArrayRef<AffineMap>{
                 AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange) {
               SmallVector<Value> at;
               for (int64_t d = 0; d < rank; ++d)
                 at.push_back(linalg::IndexOp::create(nb, l, d));
               Value i = at[axis];
               linalg::YieldOp::create(nb, l, ValueRange{body(nb, l, i, at)});
             })
      .getResult(0);
}

/// TopK's k by a bitonic sort of (value, position) pairs along the axis,
/// padded to a power of two m with elements that rank last: log2(m) (log2(m)
/// + 1) / 2 compare-exchange passes over the data, O(n log^2 n). Each pass
/// reads a copy and writes the carried tensors in place.
std::pair<Value, Value> topKBySorting(OpBuilder &b, Location loc, Value x,
                                      int64_t axis, Value k,
                                      const ValueOrder &order,
                                      ArrayRef<int64_t> outShape) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type element = type.getElementType(), i64 = b.getI64Type();
  Type index = b.getIndexType();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value n = tensor::DimOp::create(b, loc, x, axis);
  // log2(m) = 64 - clz(n - 1): 0 for n = 1 (and for an empty axis).
  Value below = arith::IndexCastOp::create(
      b, loc, i64,
      arith::SubIOp::create(b, loc, arith::MaxUIOp::create(b, loc, n, c1),
                            c1));
  Value log2m = arith::IndexCastOp::create(
      b, loc, index,
      arith::SubIOp::create(b, loc, arith::ConstantIntOp::create(b, loc, 64, 64),
                            math::CountLeadingZerosOp::create(b, loc, below)));
  // An empty axis sorts nothing: m = 0, so that no element is read.
  Value m = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, n, c0),
      c0, arith::ShLIOp::create(b, loc, c1, log2m));
  Value last = arith::SubIOp::create(b, loc, n, c1);
  Value worst = arith::ConstantOp::create(b, loc, order.worst(b));
  Value value0 = alongAxis(
      b, loc, x, axis, m, element,
      [&](OpBuilder &nb, Location l, Value i, SmallVector<Value> &at) -> Value {
        Value inside =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, i, n);
        at[axis] = arith::MinUIOp::create(nb, l, i, last);
        return arith::SelectOp::create(
            nb, l, inside, tensor::ExtractOp::create(nb, l, x, at), worst);
      });
  Value position0 = alongAxis(
      b, loc, x, axis, m, i64,
      [&](OpBuilder &nb, Location l, Value i, SmallVector<Value> &) -> Value {
        return arith::IndexCastOp::create(nb, l, i64, i);
      });
  // for size = 2, 4, .., m: for j = size / 2, .., 1: compare-exchange i
  // with i ^ j, ascending where (i & size) == 0.
  auto stages = scf::ForOp::create(
      b, loc, c1, arith::AddIOp::create(b, loc, log2m, c1), c1,
      ValueRange{value0, position0},
      [&](OpBuilder &sb, Location l, Value p, ValueRange sorted) {
        Value size = arith::ShLIOp::create(sb, l, c1, p);
        auto steps = scf::ForOp::create(
            sb, l, c0, p, c1, sorted,
            [&](OpBuilder &jb, Location jl, Value q, ValueRange pairs) {
              Value j = arith::ShRUIOp::create(
                  jb, jl, size, arith::AddIOp::create(jb, jl, q, c1));
              auto copied = [&](Value t) -> Value {
                Value empty = tensor::EmptyOp::create(
                    jb, jl, tensor::getMixedSizes(jb, jl, t),
                    getElementTypeOrSelf(t.getType()));
                return linalg::CopyOp::create(jb, jl, t, empty).getResult(0);
              };
              Value values = copied(pairs[0]), positions = copied(pairs[1]);
              auto exchanged = [&](Value into, bool wantValue) {
                return alongAxis(
                    jb, jl, x, axis, m, getElementTypeOrSelf(into.getType()),
                    [&](OpBuilder &nb, Location el, Value i,
                        SmallVector<Value> &at) -> Value {
                      Value partner = arith::XOrIOp::create(nb, el, i, j);
                      Value lo = arith::MinUIOp::create(nb, el, i, partner);
                      Value hi = arith::MaxUIOp::create(nb, el, i, partner);
                      auto read = [&](Value t, Value pos) -> Value {
                        at[axis] = pos;
                        return tensor::ExtractOp::create(nb, el, t, at);
                      };
                      Value av = read(values, lo), ai = read(positions, lo);
                      Value cv = read(values, hi), ci = read(positions, hi);
                      Value ascending = arith::CmpIOp::create(
                          nb, el, arith::CmpIPredicate::eq,
                          arith::AndIOp::create(nb, el, lo, size), c0);
                      // Ascending: the earlier-ranked pair goes to lo.
                      Value swap = arith::XOrIOp::create(
                          nb, el, before(order, nb, el, cv, ci, av, ai),
                          arith::XOrIOp::create(
                              nb, el, ascending,
                              arith::ConstantIntOp::create(nb, el, 1, 1)));
                      // At lo: hi's pair when swapped; at hi: hi's own
                      // unless swapped.
                      Value atLo = arith::CmpIOp::create(
                          nb, el, arith::CmpIPredicate::eq, i, lo);
                      Value fromHi = arith::XOrIOp::create(
                          nb, el, arith::XOrIOp::create(nb, el, atLo, swap),
                          arith::ConstantIntOp::create(nb, el, 1, 1));
                      return wantValue
                                 ? Value(arith::SelectOp::create(nb, el, fromHi,
                                                                 cv, av))
                                 : Value(arith::SelectOp::create(nb, el, fromHi,
                                                                 ci, ai));
                    },
                    into);
              };
              scf::YieldOp::create(jb, jl,
                                   ValueRange{exchanged(pairs[0], true),
                                              exchanged(pairs[1], false)});
            });
        scf::YieldOp::create(sb, l, steps.getResults());
      });
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  sizes[axis] = getAsOpFoldResult(k);
  auto first = [&](Value t, Type e) -> Value {
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(outShape, e), t, offsets, sizes, strides);
  };
  return {first(stages.getResult(0), element), first(stages.getResult(1), i64)};
}

/// The first (or, with `last`, the last) position of `x`'s largest (or
/// smallest) element along `axis`, which is kept as size 1: the extreme by
/// one reduction, its position by another. A NaN is the extreme either way,
/// as in numpy.
Value argExtreme(OpBuilder &b, Location loc, Value x, int64_t axis, bool isMax,
                 bool last) {
  bool integer = isInt64(x);
  Type element = getElementTypeOrSelf(x.getType()), i64 = b.getI64Type();
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
  return reduceOverAxis(
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
}

/// The axis attribute of `op` on `x`, made non-negative; nullopt (after an
/// error) when out of range or empty.
std::optional<int64_t> selectionAxis(const onnx::NodeProto &node, Location loc,
                                     Value x, int64_t fallback) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = intAttr(node, "axis", fallback);
  if (axis < -rank || axis >= rank) {
    emitError(loc) << node.op_type() << " axis " << axis
                   << " is out of range for rank " << rank;
    return std::nullopt;
  }
  if (axis < 0)
    axis += rank;
  if (type.getDimSize(axis) == 0) {
    emitError(loc) << node.op_type() << " over an empty axis has no answer";
    return std::nullopt;
  }
  return axis;
}

} // namespace

/// ONNX ArgMax, ArgMin (argExtreme).
LogicalResult GraphImporter::importArgExtreme(const onnx::NodeProto &node,
                                              Location loc,
                                              ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  if (inputs.size() != 1 || !(isFloat(inputs[0]) || isInt64(inputs[0])))
    return emitError(loc) << op << " needs one float or integer input";
  std::optional<int64_t> axis = selectionAxis(node, loc, inputs[0], 0);
  if (!axis)
    return failure();
  // Over an empty axis there is no position to give (ONNX Runtime fails too).
  SmallVector<OpFoldResult> others = tensor::getMixedSizes(b, loc, inputs[0]);
  others.erase(others.begin() + *axis);
  checkIndexedDimNotEmpty(loc, inputs[0], *axis, others,
                          op + " over a dim of size 0");
  Value result = argExtreme(b, loc, inputs[0], *axis, op == "ArgMax",
                            intAttr(node, "select_last_index", 0) != 0);
  if (intAttr(node, "keepdims", 1) == 0) {
    llvm::SmallBitVector reduced(
        cast<RankedTensorType>(inputs[0].getType()).getRank(), false);
    reduced.set(*axis);
    result = droppedDims(loc, result, reduced);
  }
  return define(node, result);
}

/// ONNX Hardmax: 1 at the first largest element along the axis, else 0.
/// Before opset 13 the input is seen as 2-D rows of dims [axis, rank): that
/// is the same only for the last axis, the one convc takes there.
LogicalResult GraphImporter::importHardmax(const onnx::NodeProto &node,
                                           Location loc,
                                           ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << "Hardmax needs one float input";
  Value x = inputs[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  std::optional<int64_t> axis =
      selectionAxis(node, loc, x, opset < 13 ? 1 : -1);
  if (!axis)
    return failure();
  if (opset < 13 && *axis != rank - 1)
    return emitError(loc) << "Hardmax before opset 13 over dims [" << *axis
                          << ", " << rank
                          << ") as one row: only the last axis is supported";
  Value at = argExtreme(b, loc, x, *axis, /*isMax=*/true, /*last=*/false);
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> kept;
  for (int64_t i = 0; i < rank; ++i)
    kept.push_back(i == *axis ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(i, ctx));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       b.getF32Type());
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{at}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(rank, 0, kept, ctx), identity},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                              position(nb, l, *axis), a[0]);
            linalg::YieldOp::create(nb, l,
                                    ValueRange{arith::UIToFPOp::create(
                                        nb, l, nb.getF32Type(), hit)});
          })
          .getResult(0);
  return define(node, result);
}

/// ONNX TopK: k passes (topKByPasses) for a constant k up to
/// kTopKPassesUpTo, a sort (topKBySorting) beyond it or for a run-time k.
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
  if (type.getDimSize(axis) == 0)
    return emitError(loc) << "TopK over an empty axis";
  // k: an attribute before opset 10, then a one-element input.
  std::optional<int64_t> kConstant;
  Value k;
  if (opset < 10) {
    if (!findAttr(node, "k"))
      return emitError(loc) << "TopK needs its k attribute before opset 10";
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
    if (*kConstant < 0)
      return emitError(loc) << "TopK k = " << *kConstant << " is negative";
    if (!type.isDynamicDim(axis) && *kConstant > type.getDimSize(axis))
      return emitError(loc) << "TopK k = " << *kConstant
                            << " is more than the axis' "
                            << type.getDimSize(axis) << " elements";
    k = arith::ConstantIndexOp::create(b, loc, *kConstant);
  }
  if (!kConstant) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    CheckOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, k, zero),
        ValueRange{k},
        "node '" + nodeName(loc) + "': TopK k = {0} is negative");
  }
  if (!kConstant || type.isDynamicDim(axis)) {
    Value n = tensor::DimOp::create(b, loc, x, axis);
    CheckOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, k, n),
        ValueRange{k, n},
        "node '" + nodeName(loc) +
            "': TopK k = {0} is more than the axis' {1} elements");
  }
  ValueOrder order{isInt64(x), intAttr(node, "largest", 1) != 0};
  SmallVector<int64_t> outShape(type.getShape());
  outShape[axis] = kConstant ? *kConstant : ShapedType::kDynamic;
  SmallVector<Value> outSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(outShape[i]))
      outSizes.push_back(i == axis ? k : tensor::DimOp::create(b, loc, x, i));
  // A few passes for a beam or a candidate list; a sort beyond.
  auto [values_, indices] =
      kConstant && *kConstant <= kTopKPassesUpTo
          ? topKByPasses(b, loc, x, axis, k, order, outShape, outSizes)
          : topKBySorting(b, loc, x, axis, k, order, outShape);
  values[node.output(0)] = values_;
  if (node.output_size() > 1 && !node.output(1).empty())
    values[node.output(1)] = indices;
  return success();
}

/// ArgMax, ArgMin, Hardmax and TopK.
NamedOps selectionOps() {
  using G = GraphImporter;
  return {
      {"ArgMax", opEntry(&G::importArgExtreme)},
      {"ArgMin", opEntry(&G::importArgExtreme)},
      {"Hardmax", opEntry(&G::importHardmax)},
      {"TopK", opEntry(&G::importTopK)},
  };
}

} // namespace convc::onnx_import
