//===- Builders.cpp - builders the op importers share ---------------------===//
//
// Elementwise ops follow numpy broadcasting (ONNX's multidirectional
// broadcasting) as linalg.generic with broadcast maps; dynamic sizes come from
// whichever operand is not broadcast along a dimension.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include <cmath>

namespace convc::onnx_import {

std::optional<GraphImporter::ShapeOperand>
GraphImporter::shapeOperand(const onnx::NodeProto &node, ArrayRef<Value> inputs,
                       unsigned index) {
  if (inputs.size() <= index || !inputs[index])
    return std::nullopt;
  ShapeOperand shape;
  if (auto values = constantInts(inputs[index])) {
    shape.values = *values;
    shape.symbolicSizes.resize(values->size());
    return shape;
  }
  auto it = partialShapes.find(node.input(index));
  if (it == partialShapes.end())
    return std::nullopt;
  for (const ShapeEntry &e : it->second) {
    shape.values.push_back(e.value ? *e.value : ShapedType::kDynamic);
    shape.symbolicSizes.push_back(e.value ? Value() : e.dim);
  }
  return shape;
}

/// The result size along dimension `dim`, whose symbolic `operands` (at
/// their `operandDims`) the run time must reconcile: `staticSize` when an
/// operand has a static size > 1, else the largest operand size (0 if any
/// is 0; `staticSize` becomes dynamic). A check per operand requires its
/// size to be 1 or the result's; `isOne` records whether it is 1.
Value GraphImporter::broadcastAtRunTime(
    Location loc, ValueRange inputs, int64_t dim, ArrayRef<unsigned> operands,
    ArrayRef<int64_t> operandDims, int64_t &staticSize,
    DenseMap<std::pair<unsigned, int64_t>, Value> &isOne) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> sizes;
  for (auto [k, d] : llvm::zip(operands, operandDims))
    sizes.push_back(tensor::DimOp::create(b, loc, inputs[k], d));
  Value size, result;
  if (staticSize != 1) {
    size = arith::ConstantIndexOp::create(b, loc, staticSize);
  } else {
    Value largest = sizes[0], anyZero;
    for (Value s : sizes) {
      largest = arith::MaxUIOp::create(b, loc, largest, s);
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, zero);
      anyZero = anyZero ? arith::OrIOp::create(b, loc, anyZero, isZero)
                        : isZero;
    }
    size = result = arith::SelectOp::create(b, loc, anyZero, zero, largest);
    staticSize = ShapedType::kDynamic;
  }
  for (auto [k, d, s] : llvm::zip(operands, operandDims, sizes)) {
    Value unit =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, one);
    Value fits = arith::OrIOp::create(
        b, loc, unit,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, size));
    CheckOp::create(b, loc, fits, ValueRange{s, size},
                    "node '" + nodeName(loc) + "': input " + std::to_string(k) +
                        " has size {0} in dimension " + std::to_string(d) +
                        ", which does not broadcast to {1}");
    isOne[{k, dim}] = unit;
  }
  return result;
}

/// Numpy broadcasting of `inputs` into one linalg.generic (of
/// `body(elements...)`). A dimension is broadcast where an operand has a
/// static 1. Where operands have symbolic sizes that are not the same size
/// by construction (sizeOrigin), the run time decides: a convc.check per
/// such operand requires its size to be 1 or the result's (ONNX's rule), and
/// the operand is read at index 0 along that dimension when its size is 1.
Value GraphImporter::elementwise(
    Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    Type resultElement) {
  int64_t rank = 0;
  for (Value v : inputs)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  auto dimOf = [&](Value v, int64_t i) -> std::optional<int64_t> {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t j = i - (rank - t.getRank());
    return j < 0 ? std::nullopt : std::optional<int64_t>(j);
  };
  // Per result dim: a static size > 1 (they must agree), and the operands
  // with a symbolic size there.
  SmallVector<int64_t> shape(rank, 1);
  SmallVector<SmallVector<unsigned>> symbolic(rank);
  for (auto [k, v] : llvm::enumerate(inputs)) {
    auto t = cast<RankedTensorType>(v.getType());
    for (int64_t i = 0; i < rank; ++i) {
      std::optional<int64_t> j = dimOf(v, i);
      if (!j)
        continue;
      int64_t d = t.getDimSize(*j);
      if (ShapedType::isDynamic(d)) {
        symbolic[i].push_back(k);
      } else if (d != 1) {
        if (shape[i] != 1 && shape[i] != d) {
          emitError(loc) << "operand sizes " << shape[i] << " and " << d
                         << " do not broadcast (dimension " << i
                         << " of the result)";
          return Value();
        }
        shape[i] = d;
      }
    }
  }
  // A dim is settled when no symbolic operand can be 1 against another
  // size: none, or one alone, or all of the same origin.
  SmallVector<bool> decided(rank, true);
  SmallVector<Value> sizeOf(rank); // the result's symbolic sizes
  for (int64_t i = 0; i < rank; ++i) {
    if (symbolic[i].empty())
      continue;
    Value first = inputs[symbolic[i][0]];
    bool same = llvm::all_of(symbolic[i], [&](unsigned k) {
      return sameSize(inputs[k], *dimOf(inputs[k], i), first,
                      *dimOf(first, i));
    });
    decided[i] = shape[i] == 1 && same;
    if (decided[i]) {
      shape[i] = ShapedType::kDynamic;
      sizeOf[i] = tensor::DimOp::create(b, loc, inputs[symbolic[i][0]],
                                        *dimOf(inputs[symbolic[i][0]], i));
    }
  }
  // Run-time broadcasting where it is not settled.
  DenseMap<std::pair<unsigned, int64_t>, Value> isOne;
  for (int64_t i = 0; i < rank; ++i) {
    if (decided[i])
      continue;
    SmallVector<int64_t> operandDims;
    for (unsigned k : symbolic[i])
      operandDims.push_back(*dimOf(inputs[k], i));
    sizeOf[i] = broadcastAtRunTime(loc, inputs, i, symbolic[i], operandDims,
                                   shape[i], isOne);
  }
  SmallVector<Value> dynamicSizes;
  for (Value size : sizeOf)
    if (size)
      dynamicSizes.push_back(size);
  Type element = resultElement ? resultElement
                               : getElementTypeOrSelf(inputs[0].getType());
  auto resultType = RankedTensorType::get(shape, element);
  Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  // Operands read through maps, and those read at run-time indices.
  SmallVector<Value> mapped;
  SmallVector<AffineMap> maps;
  SmallVector<bool> gathered(inputs.size(), false);
  for (auto [k, v] : llvm::enumerate(inputs))
    for (int64_t i = 0; i < rank; ++i)
      if (isOne.count({unsigned(k), i}))
        gathered[k] = true;
  for (auto [k, v] : llvm::enumerate(inputs)) {
    if (gathered[k])
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - t.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < t.getRank(); ++i)
      exprs.push_back(t.getDimSize(i) == 1 && shape[offset + i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(offset + i, ctx));
    mapped.push_back(v);
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, mapped, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               SmallVector<Value> elements;
               unsigned next = 0;
               for (auto [k, v] : llvm::enumerate(inputs)) {
                 if (!gathered[k]) {
                   elements.push_back(args[next++]);
                   continue;
                 }
                 auto t = cast<RankedTensorType>(v.getType());
                 int64_t offset = rank - t.getRank();
                 SmallVector<Value> at;
                 for (int64_t j = 0; j < t.getRank(); ++j) {
                   int64_t i = offset + j;
                   Value index = t.getDimSize(j) == 1 && shape[i] != 1
                                     ? Value(arith::ConstantIndexOp::create(
                                           nb, nloc, 0))
                                     : Value(linalg::IndexOp::create(nb, nloc,
                                                                     i));
                   if (auto unit = isOne.find({unsigned(k), i});
                       unit != isOne.end())
                     index = arith::SelectOp::create(
                         nb, nloc, unit->second,
                         arith::ConstantIndexOp::create(nb, nloc, 0), index);
                   at.push_back(index);
                 }
                 elements.push_back(tensor::ExtractOp::create(nb, nloc, v, at));
               }
               linalg::YieldOp::create(nb, nloc, body(nb, nloc, elements));
             })
      .getResult(0);
}

Value GraphImporter::reduce(
    Location loc, Value x, const llvm::SmallBitVector &reduced, bool keepDims,
    double init, ValueRange extra,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine,
    Type accumulator) {
  assert((keepDims || extra.empty()) && "extra operands need keepdims");
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<Value> dynamicSizes;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < rank; ++i) {
    iterators.push_back(reduced[i] ? utils::IteratorType::reduction
                                   : utils::IteratorType::parallel);
    if (reduced[i]) {
      if (keepDims) {
        shape.push_back(1);
        outExprs.push_back(getAffineConstantExpr(0, ctx));
      }
      continue;
    }
    shape.push_back(type.getDimSize(i));
    outExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  // f32, or int64 (the integers' sums, maxima and minima; +-inf as the
  // extremes).
  Type element = accumulator ? accumulator : type.getElementType();
  auto outType = RankedTensorType::get(shape, element);
  TypedAttr startValue = b.getFloatAttr(element.isF64() ? element : b.getF32Type(), init);
  if (isa<IntegerType>(element))
    startValue = b.getIntegerAttr(
        element, init == INFINITY    ? std::numeric_limits<int64_t>::max()
                 : init == -INFINITY ? std::numeric_limits<int64_t>::min()
                                     : int64_t(init));
  Value start = arith::ConstantOp::create(b, loc, startValue);
  Value acc =
      linalg::FillOp::create(
          b, loc, start,
          tensor::EmptyOp::create(b, loc, outType, dynamicSizes).getResult())
          .getResult(0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  maps.append(extra.size(), outMap);
  maps.push_back(outMap);
  SmallVector<Value> ins = {x};
  ins.append(extra.begin(), extra.end());
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ins, ValueRange{acc}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{combine(nb, l, args.drop_back(), args.back())});
             })
      .getResult(0);
}

/// A full-size tensor.extract_slice, not a tensor.cast: canonicalization
/// folds a cast to static sizes into the op producing `x`, which then
/// allocates the refined sizes but loops over the actual ones, before the
/// check runs (a Tanh of [3, T, 16] wrote three rows into a buffer of one
/// ahead of a Squeeze's check that the batch is 1).
Value GraphImporter::refinedAfterCheck(Location loc, Value x,
                                       RankedTensorType type) {
  if (x.getType() == type)
    return x;
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(type.isDynamicDim(d) ? tensor::getMixedSize(b, loc, x, d)
                                         : b.getIndexAttr(type.getDimSize(d)));
  return tensor::ExtractSliceOp::create(
      b, loc, type, x, SmallVector<OpFoldResult>(rank, b.getIndexAttr(0)),
      sizes, SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

Value GraphImporter::droppedDims(Location loc, Value x,
                                 const llvm::SmallBitVector &reduced) {
  // Each reduced dim joins the kept dim before it; leading ones join the
  // first kept dim; with every dim reduced, a scalar.
  SmallVector<ReassociationIndices> groups;
  int64_t rank = reduced.size();
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d] || groups.empty())
      groups.push_back({d});
    else
      groups.back().push_back(d);
  }
  int64_t firstKept = reduced.find_first_unset();
  if (firstKept < 0) {
    groups.clear();
  } else if (firstKept > 0) {
    groups[1].insert(groups[1].begin(), groups[0].begin(), groups[0].end());
    groups.erase(groups.begin());
  }
  return tensor::CollapseShapeOp::create(b, loc, x, groups);
}

Value GraphImporter::reducedCount(Location loc, Value x,
                             const llvm::SmallBitVector &reduced) {
  Value count = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
  for (int i : reduced.set_bits()) {
    Value size = tensor::DimOp::create(b, loc, x, i);
    count = arith::MulFOp::create(
        b, loc, count,
        arith::SIToFPOp::create(
            b, loc, b.getF32Type(),
            arith::IndexCastOp::create(b, loc, b.getI64Type(), size)));
  }
  return count;
}

/// ONNX MatMul: numpy matmul with equal batch dimensions, or a matrix
/// right operand shared by every batch (what nn.Linear exports).
Value GraphImporter::matmul(Location loc, Value a, Value bv) {
  auto ta = cast<RankedTensorType>(a.getType());
  auto tb = cast<RankedTensorType>(bv.getType());
  int64_t rank = ta.getRank();
  bool sharedRight = tb.getRank() == 2;
  if (rank < 2 || (tb.getRank() != rank && !sharedRight)) {
    emitError(loc) << "MatMul of ranks " << ta.getRank() << " and "
                   << tb.getRank()
                   << " is not supported yet (equal ranks >= 2, or a rank-2 "
                      "right operand, are)";
    return {};
  }
  // Loops: batch..., m, n, k.
  unsigned n = rank + 1;
  SmallVector<AffineExpr> ea, eb, ec;
  for (int64_t i = 0; i < rank - 2; ++i) {
    ea.push_back(getAffineDimExpr(i, ctx));
    if (!sharedRight)
      eb.push_back(getAffineDimExpr(i, ctx));
    ec.push_back(getAffineDimExpr(i, ctx));
  }
  AffineExpr m = getAffineDimExpr(rank - 2, ctx),
             nn = getAffineDimExpr(rank - 1, ctx),
             k = getAffineDimExpr(rank, ctx);
  ea.append({m, k});
  eb.append({k, nn});
  ec.append({m, nn});
  SmallVector<int64_t> shape(ta.getShape());
  shape.back() = tb.getShape().back();
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynamicSizes.push_back(tensor::DimOp::create(
          b, loc, i == rank - 1 ? bv : a, i == rank - 1 ? tb.getRank() - 1 : i));
  auto type = RankedTensorType::get(shape, ta.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(ta.getElementType()));
  Value init = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, type, dynamicSizes).getResult())
                   .getResult(0);
  SmallVector<utils::IteratorType> iterators(n, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{a, bv}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(n, 0, ea, ctx),
                                 AffineMap::get(n, 0, eb, ctx),
                                 AffineMap::get(n, 0, ec, ctx)},
             iterators,
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value sum;
               if (isa<IntegerType>(args[0].getType()))
                 sum = arith::AddIOp::create(
                     nb, nloc, args[2],
                     arith::MulIOp::create(nb, nloc, args[0], args[1]));
               else
                 sum = arith::AddFOp::create(
                     nb, nloc, args[2],
                     arith::MulFOp::create(nb, nloc, args[0], args[1]));
               linalg::YieldOp::create(nb, nloc, sum);
             })
      .getResult(0);
}

/// x reduced over `axis` (dropped) with `fn`, starting from `init`.
Value GraphImporter::reduceAxis(
    Location loc, Value x, int64_t axis, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis)
      continue;
    shape.push_back(type.getDimSize(i));
    outExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value start = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(type.getElementType(), init));
  Value initT = linalg::FillOp::create(
                    b, loc, start,
                    tensor::EmptyOp::create(b, loc, outType, dynamicSizes)
                        .getResult())
                    .getResult(0);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[axis] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{x}, ValueRange{initT},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)},
             iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, fn(nb, l, args[0], args[1]));
             })
      .getResult(0);
}

/// fn(x, reduced) elementwise, `reduced` broadcast along `axis`.
Value GraphImporter::withReduced(
    Location loc, Value x, Value reduced, int64_t axis,
    function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<AffineExpr> redExprs;
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis)
      redExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, reduced}, ValueRange{init},
             ArrayRef<AffineMap>{id, AffineMap::get(rank, 0, redExprs, ctx), id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, fn(nb, l, args[0], args[1]));
             })
      .getResult(0);
}

/// Softmax (or LogSoftmax) along `axis`, max-subtracted.
Value GraphImporter::softmax(Location loc, Value x, int64_t axis, bool log) {
  Value max = reduceAxis(loc, x, axis, -INFINITY,
                         [](OpBuilder &nb, Location l, Value v, Value acc) {
                           return arith::MaxNumFOp::create(nb, l, v, acc)
                               .getResult();
                         });
  Value shifted = withReduced(loc, x, max, axis,
                              [](OpBuilder &nb, Location l, Value v, Value m) {
                                return arith::SubFOp::create(nb, l, v, m)
                                    .getResult();
                              });
  Value sum = reduceAxis(loc, shifted, axis, 0.0,
                         [](OpBuilder &nb, Location l, Value v, Value acc) {
                           Value e = math::ExpOp::create(nb, l, v);
                           return arith::AddFOp::create(nb, l, e, acc)
                               .getResult();
                         });
  return withReduced(loc, shifted, sum, axis,
                     [&](OpBuilder &nb, Location l, Value v, Value z) -> Value {
                       if (log)
                         return arith::SubFOp::create(
                             nb, l, v, math::LogOp::create(nb, l, z));
                       return arith::DivFOp::create(
                           nb, l, math::ExpOp::create(nb, l, v), z);
                     });
}

Value checkedDivisor(OpBuilder &b, Location loc, Value x, Value y,
                     const std::string &message) {
  using P = arith::CmpIPredicate;
  Type type = x.getType(); // an integer or index
  auto constant = [&](const APInt &v) {
    return arith::ConstantOp::create(b, loc, IntegerAttr::get(type, v));
  };
  unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
  Value zero = constant(APInt(width, 0));
  Value overflow = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, P::eq, x,
                            constant(APInt::getSignedMinValue(width))),
      arith::CmpIOp::create(b, loc, P::eq, y,
                            constant(APInt::getAllOnes(width))));
  Value bad = arith::OrIOp::create(
      b, loc, arith::CmpIOp::create(b, loc, P::eq, y, zero), overflow);
  auto asIndex = [&](Value v) -> Value {
    if (v.getType().isIndex())
      return v;
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  };
  CheckOp::create(b, loc,
                  arith::XOrIOp::create(
                      b, loc, bad, arith::ConstantIntOp::create(b, loc, 1, 1)),
                  ValueRange{asIndex(x), asIndex(y)}, message,
                  /*continues=*/true);
  return arith::SelectOp::create(b, loc, bad, constant(APInt(width, 1)), y);
}

Value floorRemainder(OpBuilder &b, Location loc, Value x, Value y) {
  using P = arith::CmpIPredicate;
  Value r = arith::RemSIOp::create(b, loc, x, y);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(x.getType()));
  // r + y where r is nonzero and its sign differs from y's.
  Value fix = arith::AndIOp::create(
      b, loc, arith::CmpIOp::create(b, loc, P::ne, r, zero),
      arith::CmpIOp::create(b, loc, P::ne,
                            arith::CmpIOp::create(b, loc, P::slt, r, zero),
                            arith::CmpIOp::create(b, loc, P::slt, y, zero)));
  return arith::SelectOp::create(b, loc, fix, arith::AddIOp::create(b, loc, r, y),
                                 r);
}

void checkIndexInRange(OpBuilder &b, Location loc, Value index, Value n,
                       Value extent, const std::string &message) {
  using P = arith::CmpIPredicate;
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
  Value inRange = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, P::sge, index,
                            arith::SubIOp::create(b, loc, zero, n)),
      arith::CmpIOp::create(b, loc, P::slt, index, n));
  CheckOp::create(
      b, loc, inRange,
      ValueRange{arith::IndexCastOp::create(b, loc, b.getIndexType(), index),
                 extent},
      message, /*continues=*/true);
}

void GraphImporter::checkNotNegative(Location loc, const ShapeOperand &shape,
                                     StringRef what) {
  for (auto [d, size] : llvm::enumerate(shape.symbolicSizes))
    if (size && !size.getDefiningOp<tensor::DimOp>())
      checkSizes(loc, arith::CmpIPredicate::sge, size,
                 arith::ConstantIndexOp::create(b, loc, 0),
                 what.str() + " {0} in dim " + std::to_string(d) +
                     " is negative");
}

void GraphImporter::checkIndexedDimNotEmpty(Location loc, Value x, int64_t dim,
                                            ArrayRef<OpFoldResult> trips,
                                            StringRef what) {
  auto type = cast<RankedTensorType>(x.getType());
  if (!type.isDynamicDim(dim) && type.getDimSize(dim) != 0)
    return;
  using P = arith::CmpIPredicate;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value fine = arith::CmpIOp::create(
      b, loc, P::ne, tensor::DimOp::create(b, loc, x, dim), zero);
  for (OpFoldResult trip : trips) {
    if (std::optional<int64_t> size = getConstantIntValue(trip)) {
      if (*size == 0)
        return; // the loop never runs
      continue;
    }
    fine = arith::OrIOp::create(
        b, loc, fine,
        arith::CmpIOp::create(b, loc, P::eq, cast<Value>(trip), zero));
  }
  CheckOp::create(b, loc, fine, ValueRange{},
                  "node '" + nodeName(loc) + "': " + what.str());
}

int64_t padsBefore(Value x, int64_t dim, Value *source, int64_t *sourceDim) {
  int64_t total = 0;
  while (x) {
    if (auto pad = x.getDefiningOp<tensor::PadOp>()) {
      std::optional<int64_t> low =
          getConstantIntValue(pad.getMixedLowPad()[dim]);
      std::optional<int64_t> high =
          getConstantIntValue(pad.getMixedHighPad()[dim]);
      total += low.value_or(0) + high.value_or(0);
      x = pad.getSource();
    } else if (auto transpose = x.getDefiningOp<linalg::TransposeOp>()) {
      dim = transpose.getPermutation()[dim];
      x = transpose.getInput();
    } else {
      break;
    }
  }
  if (source)
    *source = x, *sourceDim = dim;
  return total;
}

Value wrapNegative(OpBuilder &b, Location loc, Value index, Value n) {
  Value negative = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::slt, index,
      arith::ConstantIntOp::create(b, loc, 0, 64));
  return arith::SelectOp::create(
      b, loc, negative, arith::AddIOp::create(b, loc, index, n), index);
}

void GraphImporter::checkSizes(Location loc, arith::CmpIPredicate pred,
                               Value lhs, Value rhs,
                               const std::string &message) {
  CheckOp::create(b, loc, arith::CmpIOp::create(b, loc, pred, lhs, rhs),
                  ValueRange{lhs, rhs},
                  "node '" + nodeName(loc) + "': " + message);
}

Value checkedIndex(OpBuilder &b, Location loc, Value index, Value extent,
                   const std::string &message) {
  Value n = arith::IndexCastOp::create(b, loc, b.getI64Type(), extent);
  checkIndexInRange(b, loc, index, n, extent, message);
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
  Value wrapped = wrapNegative(b, loc, index, n);
  Value last = arith::SubIOp::create(
      b, loc, n, arith::ConstantIntOp::create(b, loc, 1, 64));
  Value clamped = arith::MaxSIOp::create(
      b, loc, zero, arith::MinSIOp::create(b, loc, wrapped, last));
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), clamped);
}

Value GraphImporter::oneInt(Location loc, Value v, StringRef what) {
  auto type = dyn_cast<RankedTensorType>(v ? v.getType() : Type());
  if (!type || !isInt64(v) || type.getRank() > 1 ||
      (type.hasStaticShape() && type.getNumElements() != 1)) {
    emitError(loc) << what << " must be one int64";
    return {};
  }
  if (auto values = constantInts(v))
    return arith::ConstantIntOp::create(b, loc, (*values)[0], 64);
  if (!type.hasStaticShape()) {
    Value n = tensor::DimOp::create(b, loc, v, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    CheckOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, n, one),
        ValueRange{n},
        "node '" + nodeName(loc) + "': " + what.str() +
            " has {0} elements, not one");
  }
  return scalar(loc, v);
}

Value GraphImporter::scalar(Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  return tensor::ExtractOp::create(
      b, loc, t, SmallVector<Value>(type.getRank(), zero));
}

Value GraphImporter::hostScalar(Location loc, Value t, int depth) {
  auto generic = t.getDefiningOp<linalg::GenericOp>();
  auto oneElement = [](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.hasStaticShape() && type.getNumElements() == 1;
  };
  if (!generic || depth > 16 || generic.getNumResults() != 1 ||
      !llvm::all_of(generic->getOperands(), oneElement))
    return scalar(loc, t);
  Block &body = generic.getRegion().front();
  for (BlockArgument out : generic.getRegionOutputArgs())
    if (!out.use_empty())
      return scalar(loc, t);
  for (Operation &op : body.without_terminator())
    if (isa<linalg::IndexOp>(op) || !isPure(&op) || op.getNumRegions())
      return scalar(loc, t);
  IRMapping map;
  for (auto [arg, input] :
       llvm::zip(generic.getRegionInputArgs(), generic.getDpsInputs()))
    map.map(arg, hostScalar(loc, input, depth + 1));
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

} // namespace convc::onnx_import
