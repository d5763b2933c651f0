//===- Builders.cpp - builders the op importers share ---------------------===//
//
// Elementwise ops follow numpy broadcasting (ONNX's multidirectional
// broadcasting) as linalg.generic with broadcast maps; dynamic sizes come from
// whichever operand is not broadcast along a dimension.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

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

Value GraphImporter::reshape(Location loc, Value x, RankedTensorType resultType,
                        function_ref<SmallVector<OpFoldResult>()> outputSizes) {
  auto type = cast<RankedTensorType>(x.getType());
  // An expansion may split off at most one dynamic size per group: LLVM
  // 22's expand-strided-metadata crashes on more (llvm/llvm-project#186830,
  // fixed for LLVM 23 by #187844).
  auto oneDynamicPerGroup = [&](ArrayRef<ReassociationIndices> groups) {
    return llvm::all_of(groups, [&](const ReassociationIndices &group) {
      return llvm::count_if(group, [&](int64_t d) {
               return resultType.isDynamicDim(d);
             }) <= 1;
    });
  };
  if (auto groups = getReassociationIndicesForReshape(type, resultType)) {
    if (resultType.getRank() < type.getRank())
      return tensor::CollapseShapeOp::create(b, loc, resultType, x, *groups);
    if (resultType.getRank() > type.getRank() && oneDynamicPerGroup(*groups))
      return tensor::ExpandShapeOp::create(b, loc, resultType, x, *groups,
                                           outputSizes());
    if (resultType.getRank() == type.getRank())
      return x;
  }
  if (type.getRank() == 1 && resultType.getRank() == 1)
    return tensor::CastOp::create(b, loc, resultType, x);
  // Symbolic dims split or merged across groups ([T, B, H * R] ->
  // [T, B * H, R], [T, B * H, R] -> [T * B, d]): a tensor.reshape to the
  // result's sizes, symbolic ones from the shape operand's arithmetic.
  // (An expand_shape group with several dynamic sizes would do too, but
  // LLVM 22's expand-strided-metadata crashes on those: #186830.)
  if (!type.hasStaticShape() || !resultType.hasStaticShape()) {
    SmallVector<Value> sizes;
    for (OpFoldResult size : outputSizes())
      sizes.push_back(arith::IndexCastOp::create(
          b, loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, size)));
    Value shape = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({resultType.getRank()}, b.getI64Type()),
        sizes);
    return tensor::ReshapeOp::create(b, loc, resultType, x, shape);
  }
  // Static shapes: through one flat dimension.
  auto flatType =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  auto allDims = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  Value flat = x;
  if (type.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, x, allDims(0),
                                         ArrayRef<OpFoldResult>{
                                             b.getIndexAttr(1)});
  else if (type.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, x,
                                           allDims(type.getRank()));
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, flat,
                                           allDims(0));
  if (resultType.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       allDims(resultType.getRank()),
                                       outputSizes());
}

/// Numpy broadcasting of `inputs` into one linalg.generic (of
/// `resultElement`, by default the first input's element type).
Value GraphImporter::elementwise(
    Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    Type resultElement) {
  int64_t rank = 0;
  for (Value v : inputs)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  // Result sizes: a static size > 1 wins; else a dynamic one; else 1.
  SmallVector<int64_t> shape(rank, 1);
  SmallVector<Value> source(rank); // operand giving a dynamic size
  SmallVector<int64_t> sourceDim(rank);
  for (Value v : inputs) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = t.getDimSize(i), &r = shape[offset + i];
      if (!ShapedType::isDynamic(d) && d != 1)
        r = d;
      else if (ShapedType::isDynamic(d) && r == 1) {
        r = ShapedType::kDynamic;
        source[offset + i] = v;
        sourceDim[offset + i] = i;
      }
    }
  }
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynamicSizes.push_back(
          tensor::DimOp::create(b, loc, source[i], sourceDim[i]));
  Type element = resultElement ? resultElement
                               : getElementTypeOrSelf(inputs[0].getType());
  auto resultType = RankedTensorType::get(shape, element);
  Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  SmallVector<AffineMap> maps;
  for (Value v : inputs) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - t.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < t.getRank(); ++i)
      exprs.push_back(t.getDimSize(i) == 1 && shape[offset + i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(offset + i, ctx));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       body(nb, nloc, args.drop_back()));
             })
      .getResult(0);
}

Value GraphImporter::reduce(
    Location loc, Value x, const llvm::SmallBitVector &reduced, bool keepDims,
    double init, ValueRange extra,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine) {
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
  auto outType = RankedTensorType::get(shape, b.getF32Type());
  Value start = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(init));
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
               Value p = arith::MulFOp::create(nb, nloc, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, nloc, arith::AddFOp::create(nb, nloc, args[2], p).getResult());
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

Value GraphImporter::scalar(Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  return tensor::ExtractOp::create(
      b, loc, t, SmallVector<Value>(type.getRank(), zero));
}

} // namespace convc::onnx_import
