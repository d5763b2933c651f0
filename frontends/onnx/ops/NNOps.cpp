//===- NNOps.cpp - MatMul, Gemm and Conv ----------------------------------===//
//
// Projections and convolutions, the ops the raising passes turn into convc
// linear, depthwise, lightweight and dynamic convs.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"
#include "frontends/onnx/ops/Convolution.h"

namespace convc::onnx_import {

namespace {
/// `v`'s batch dims with unit matrix dims, for elementwise() to broadcast
/// the other operand against: only its sizes matter (the copy's body reads
/// the other operand alone; a static 0 matrix dim has no such view).
Value batchOf(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t rank = t.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(i < rank - 2 ? tensor::getMixedSize(b, loc, v, i)
                                 : OpFoldResult(b.getIndexAttr(1)));
  return tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides);
}

/// A vector as a one-row (`row`) or one-column matrix.
Value asMatrix(OpBuilder &b, Location loc, Value v, bool row) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t k = t.getDimSize(0);
  SmallVector<int64_t> shape = row ? SmallVector<int64_t>{1, k}
                                   : SmallVector<int64_t>{k, 1};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                     tensor::getMixedSize(b, loc, v, 0)};
  if (!row)
    std::swap(sizes[0], sizes[1]);
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, t.getElementType()), v,
      SmallVector<ReassociationIndices>{{0, 1}}, sizes);
}
} // namespace

/// ONNX MatMul: numpy's matmul. A vector operand is a one-row (left) or
/// one-column (right) matrix whose unit dim leaves the result; batch dims
/// broadcast as elementwise ops do (at run time where symbolic sizes may be
/// 1), except against one shared right matrix (nn.Linear's form, kept as the
/// contraction convc-raise-linear reads); the contracted sizes must agree
/// (a run-time check where they are symbolic).
LogicalResult GraphImporter::importMatMul(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  // Integers (int32, int64, uint32 in ONNX) multiply and add in int64.
  if (inputs.size() != 2 || !((isFloat(inputs[0]) && isFloat(inputs[1])) ||
                              (isInt64(inputs[0]) && isInt64(inputs[1]))))
    return emitError(loc) << "MatMul needs two float or two integer inputs";
  Value a = inputs[0], bv = inputs[1];
  int64_t rankA = cast<RankedTensorType>(a.getType()).getRank(),
          rankB = cast<RankedTensorType>(bv.getType()).getRank();
  if (rankA == 0 || rankB == 0)
    return emitError(loc) << "MatMul needs operands of rank >= 1 (numpy's "
                             "matmul has no scalars)";
  bool rowVector = rankA == 1, columnVector = rankB == 1;
  if (rowVector)
    a = asMatrix(b, loc, a, /*row=*/true), rankA = 2;
  if (columnVector)
    bv = asMatrix(b, loc, bv, /*row=*/false), rankB = 2;
  auto ta = cast<RankedTensorType>(a.getType());
  auto tb = cast<RankedTensorType>(bv.getType());
  int64_t ka = ta.getDimSize(rankA - 1), kb = tb.getDimSize(rankB - 2);
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb)) {
    if (ka != kb)
      return emitError(loc) << "MatMul contracts sizes " << ka << " and "
                            << kb << ", which differ";
  } else if (!sameSize(a, rankA - 1, bv, rankB - 2)) {
    Value x = tensor::DimOp::create(b, loc, a, rankA - 1);
    Value y = tensor::DimOp::create(b, loc, bv, rankB - 2);
    CheckOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y),
        ValueRange{x, y},
        "node '" + nodeName(loc) +
            "': MatMul contracts sizes {0} and {1}, which differ");
  }
  // Batch dims the contraction can map alike: equal ranks, each dim static
  // and equal or symbolic and the same size.
  bool alike = rankA == rankB;
  for (int64_t i = 0; alike && i < rankA - 2; ++i) {
    int64_t x = ta.getDimSize(i), y = tb.getDimSize(i);
    alike = ShapedType::isDynamic(x) || ShapedType::isDynamic(y)
                ? sameSize(a, i, bv, i)
                : x == y;
  }
  if (rankB > 2 && !alike) {
    if (llvm::is_contained(ta.getShape().take_back(2), 0) ||
        llvm::is_contained(tb.getShape().take_back(2), 0))
      return emitError(loc) << "MatMul with an empty matrix dim and batch "
                               "broadcasting is not supported";
    auto first = [](OpBuilder &, Location, ValueRange v) { return v[0]; };
    Value batchA = batchOf(b, loc, a), batchB = batchOf(b, loc, bv);
    a = elementwise(loc, {a, batchB}, first);
    bv = a ? elementwise(loc, {bv, batchA}, first) : Value();
    if (!a || !bv)
      return failure();
  }
  Value result = matmul(loc, a, bv);
  if (!result || (!rowVector && !columnVector))
    return define(node, result);
  // Drop the vectors' unit dims (the last two when both: a scalar).
  auto type = cast<RankedTensorType>(result.getType());
  int64_t rank = type.getRank();
  SmallVector<ReassociationIndices> groups;
  SmallVector<int64_t> shape;
  if (!(rowVector && columnVector)) {
    for (int64_t i = 0; i < rank - 2; ++i)
      groups.push_back({i}), shape.push_back(type.getDimSize(i));
    groups.push_back({rank - 2, rank - 1});
    shape.push_back(type.getDimSize(rowVector ? rank - 1 : rank - 2));
  }
  return define(node, tensor::CollapseShapeOp::create(
                          b, loc, RankedTensorType::get(shape, type.getElementType()),
                          result, groups));
}

/// ONNX Gemm.
LogicalResult GraphImporter::importGemm(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Y = alpha op(A) op(B) + beta C, op = transpose when transA / transB.
  if (inputs.size() < 2 || !isFloat(inputs[0]))
    return emitError(loc) << "Gemm needs float A and B";
  auto attrInt = [&](StringRef name, int64_t fallback) {
    const auto *a = findAttr(node, name);
    return a ? a->i() : fallback;
  };
  auto attrFloat = [&](StringRef name, float fallback) {
    const auto *a = findAttr(node, name);
    return a ? a->f() : fallback;
  };
  bool transA = attrInt("transA", 0), transB = attrInt("transB", 0);
  float alpha = attrFloat("alpha", 1.0f), beta = attrFloat("beta", 1.0f);
  Value A = inputs[0], Bm = inputs[1];
  auto ta = cast<RankedTensorType>(A.getType());
  auto tb = cast<RankedTensorType>(Bm.getType());
  if (ta.getRank() != 2 || tb.getRank() != 2)
    return emitError(loc) << "Gemm needs 2-D A and B";
  // The contracted sizes must agree: the loop runs over A's.
  int64_t kA = transA ? 0 : 1, kB = transB ? 1 : 0;
  if (!ta.isDynamicDim(kA) && !tb.isDynamicDim(kB) &&
      ta.getDimSize(kA) != tb.getDimSize(kB))
    return emitError(loc) << "Gemm contracts A's dim " << kA << " ("
                          << ta.getDimSize(kA) << ") with B's dim " << kB
                          << " (" << tb.getDimSize(kB) << "): they differ";
  if ((ta.isDynamicDim(kA) || tb.isDynamicDim(kB)) && !sameSize(A, kA, Bm, kB))
    checkSizes(loc, arith::CmpIPredicate::eq,
               tensor::DimOp::create(b, loc, A, kA),
               tensor::DimOp::create(b, loc, Bm, kB),
               "Gemm contracts A's dim " + std::to_string(kA) +
                   " ({0}) with B's dim " + std::to_string(kB) +
                   " ({1}): they differ");
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  int64_t M = ta.getDimSize(transA ? 1 : 0), N = tb.getDimSize(transB ? 0 : 1);
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(M))
    dynamicSizes.push_back(tensor::DimOp::create(b, loc, A, transA ? 1 : 0));
  if (ShapedType::isDynamic(N))
    dynamicSizes.push_back(tensor::DimOp::create(b, loc, Bm, transB ? 0 : 1));
  auto type = RankedTensorType::get({M, N}, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value init = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, type, dynamicSizes).getResult())
                   .getResult(0);
  Value product =
      linalg::GenericOp::create(
          b, loc, TypeRange{type}, ValueRange{A, Bm}, ValueRange{init},
          ArrayRef<AffineMap>{
              AffineMap::get(3, 0, {transA ? k : m, transA ? m : k}, ctx),
              AffineMap::get(3, 0, {transB ? n : k, transB ? k : n}, ctx),
              AffineMap::get(3, 0, {m, n}, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel,
                                        utils::IteratorType::reduction},
          [](OpBuilder &nb, Location l, ValueRange args) {
            Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
            linalg::YieldOp::create(
                nb, l, arith::AddFOp::create(nb, l, args[2], p).getResult());
          })
          .getResult(0);
  SmallVector<Value> terms = {product};
  // beta 0 drops C, NaNs and infinities included (as ONNX's reference and
  // ONNX Runtime do).
  bool hasC = inputs.size() > 2 && inputs[2] && beta != 0.0f;
  if (hasC)
    terms.push_back(inputs[2]);
  result = elementwise(loc, terms, [&](OpBuilder &nb, Location l,
                                       ValueRange a) -> Value {
    Value y = arith::MulFOp::create(
        nb, l, a[0], arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(alpha)));
    if (!hasC)
      return y;
    Value c = arith::MulFOp::create(
        nb, l, a[1], arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(beta)));
    return arith::AddFOp::create(nb, l, y, c);
  });
  return define(node, result);
}

namespace {

/// A depthwise 1-D conv (one kernel per channel, stride 1): the named
/// linalg op, which convc-raise-depthwise-conv recognises.
Value depthwiseConv1D(GraphImporter &im, Location loc, const ConvOperands &c) {
  OpBuilder &b = im.b;
  MLIRContext *ctx = im.ctx;
  Type f32 = b.getF32Type();
  Value x = c.x, w = c.w, bias = c.bias, padded = c.padded, zero = c.zero;
  RankedTensorType xType = c.xType, wType = c.wType;
  int64_t C = c.C;
  ArrayRef<int64_t> dilations = c.dilations;
  ArrayRef<OpFoldResult> outSizes = c.outSizes;
  int64_t K = wType.getDimSize(2);
  Value w2 = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({C, K}, f32), w,
      SmallVector<ReassociationIndices>{{0, 1}, {2}});
  SmallVector<int64_t> outShape = {xType.getDimSize(0), C,
                                   ShapedType::kDynamic};
  SmallVector<Value> outDynamic;
  if (xType.isDynamicDim(0))
    outDynamic.push_back(tensor::DimOp::create(b, loc, x, 0));
  if (auto c = getConstantIntValue(outSizes[0]))
    outShape[2] = *c;
  else
    outDynamic.push_back(cast<Value>(outSizes[0]));
  auto outType = RankedTensorType::get(outShape, f32);
  Value acc = linalg::FillOp::create(
                  b, loc, zero,
                  tensor::EmptyOp::create(b, loc, outType, outDynamic)
                      .getResult())
                  .getResult(0);
  Value y = linalg::DepthwiseConv1DNcwCwOp::create(
                b, loc, TypeRange{outType}, ValueRange{padded, w2},
                ValueRange{acc}, b.getI64TensorAttr({1}),
                b.getI64TensorAttr({dilations[0]}))
                .getResult(0);
  if (!bias)
    return y;
  // + bias[c], broadcast over n and t.
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{y, bias},
             ValueRange{tensor::EmptyOp::create(b, loc, outType, outDynamic)
                            .getResult()},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx),
                                 AffineMap::get(3, 0, {d(1)}, ctx),
                                 AffineMap::getMultiDimIdentityMap(3, ctx)},
             SmallVector<utils::IteratorType>(3,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::AddFOp::create(nb, l, args[0], args[1])});
             })
      .getResult(0);
}

} // namespace

Value groupedConv(GraphImporter &im, Location loc, const ConvOperands &c) {
  OpBuilder &b = im.b;
  MLIRContext *ctx = im.ctx;
  Type f32 = b.getF32Type();
  Value x = c.x, w = c.w, bias = c.bias, padded = c.padded, zero = c.zero;
  RankedTensorType xType = c.xType, wType = c.wType;
  int64_t group = c.group, M = c.M, Cg = c.Cg, spatial = c.spatial;
  int64_t rank = spatial + 2;
  ArrayRef<int64_t> strides = c.strides, dilations = c.dilations;
  ArrayRef<OpFoldResult> outSizes = c.outSizes;
  // [N, C, S...] -> [N, G, Cg, S...]; W [M, Cg, K...] -> [G, Mg, Cg, K...].
  int64_t Mg = M / group;
  auto paddedType = cast<RankedTensorType>(padded.getType());
  SmallVector<ReassociationIndices> xGroups = {{0}, {1, 2}};
  SmallVector<int64_t> xgShape = {paddedType.getDimSize(0), group, Cg};
  SmallVector<OpFoldResult> xgSizes = {
      tensor::getMixedSize(b, loc, padded, 0), b.getIndexAttr(group),
      b.getIndexAttr(Cg)};
  for (int64_t i = 0; i < spatial; ++i) {
    xGroups.push_back({i + 3});
    xgShape.push_back(paddedType.getDimSize(i + 2));
    xgSizes.push_back(tensor::getMixedSize(b, loc, padded, i + 2));
  }
  Value xg = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(xgShape, f32), padded, xGroups, xgSizes);
  SmallVector<ReassociationIndices> wGroups = {{0, 1}};
  SmallVector<int64_t> wgShape = {group, Mg};
  SmallVector<OpFoldResult> wgSizes = {b.getIndexAttr(group),
                                       b.getIndexAttr(Mg)};
  for (int64_t i = 1; i < rank; ++i) {
    wGroups.push_back({i + 1});
    wgShape.push_back(wType.getDimSize(i));
    wgSizes.push_back(b.getIndexAttr(wType.getDimSize(i)));
  }
  Value wg = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(wgShape, f32), w, wGroups, wgSizes);
  // Loops: n, g, m, o..., c, k...
  int64_t loops = 3 + spatial + 1 + spatial;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> xe = {d(0), d(1), d(3 + spatial)},
                          we = {d(1), d(2), d(3 + spatial)},
                          oe = {d(0), d(1), d(2)};
  for (int64_t i = 0; i < spatial; ++i) {
    AffineExpr o = d(3 + i), k = d(4 + spatial + i);
    xe.push_back(o * strides[i] + k * dilations[i]);
    we.push_back(k);
    oe.push_back(o);
  }
  SmallVector<int64_t> ogShape = {xType.getDimSize(0), group, Mg};
  SmallVector<Value> ogDynamic;
  if (xType.isDynamicDim(0))
    ogDynamic.push_back(tensor::DimOp::create(b, loc, x, 0));
  for (OpFoldResult s : outSizes) {
    if (auto c = getConstantIntValue(s)) {
      ogShape.push_back(*c);
    } else {
      ogShape.push_back(ShapedType::kDynamic);
      ogDynamic.push_back(cast<Value>(s));
    }
  }
  auto ogType = RankedTensorType::get(ogShape, f32);
  Value init = tensor::EmptyOp::create(b, loc, ogType, ogDynamic);
  if (bias) {
    // Start from the bias, broadcast over n and the spatial dims.
    Value bg = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({group, Mg}, f32), bias,
        SmallVector<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(group), b.getIndexAttr(Mg)});
    SmallVector<AffineExpr> be = {d(1), d(2)};
    init = linalg::GenericOp::create(
               b, loc, TypeRange{ogType}, ValueRange{bg}, ValueRange{init},
               ArrayRef<AffineMap>{AffineMap::get(3 + spatial, 0, be, ctx),
                                   AffineMap::getMultiDimIdentityMap(
                                       3 + spatial, ctx)},
               SmallVector<utils::IteratorType>(3 + spatial,
                                                utils::IteratorType::parallel),
               [](OpBuilder &nb, Location l, ValueRange args) {
                 linalg::YieldOp::create(nb, l, args[0]);
               })
               .getResult(0);
  } else {
    init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  }
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  for (int64_t i = 3 + spatial; i < loops; ++i)
    iterators[i] = utils::IteratorType::reduction;
  Value og =
      linalg::GenericOp::create(
          b, loc, TypeRange{ogType}, ValueRange{xg, wg}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(loops, 0, xe, ctx),
                              AffineMap::get(loops, 0, we, ctx),
                              AffineMap::get(loops, 0, oe, ctx)},
          iterators,
          [](OpBuilder &nb, Location l, ValueRange args) {
            Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
            linalg::YieldOp::create(nb, l,
                                    ValueRange{arith::AddFOp::create(
                                        nb, l, p, args[2])});
          })
          .getResult(0);
  SmallVector<ReassociationIndices> oGroups = {{0}, {1, 2}};
  SmallVector<int64_t> oShape = {ogShape[0], M};
  for (int64_t i = 0; i < spatial; ++i) {
    oGroups.push_back({i + 3});
    oShape.push_back(ogShape[3 + i]);
  }
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(oShape, f32), og, oGroups);
}
/// ONNX Conv (any spatial rank): groups, strides, dilations, pads or
/// auto_pad, bias. Channels are split into [group, per-group] so every
/// indexing map but the input's sliding window is a projected permutation.
Value GraphImporter::conv(const onnx::NodeProto &node, Location loc,
                     ArrayRef<Value> inputs) {
  auto fail = [&](const Twine &message) {
    emitError(loc) << "Conv " << message;
    return Value();
  };
  if (inputs.size() < 2 || !inputs[0] || !inputs[1] ||
      !getElementTypeOrSelf(inputs[0].getType()).isF32() ||
      !getElementTypeOrSelf(inputs[1].getType()).isF32())
    return fail("needs float X and W");
  Value x = inputs[0], w = inputs[1];
  Value bias = inputs.size() > 2 ? inputs[2] : Value();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank)
    return fail("needs X [N, C, spatial...] and W [M, C/group, kernel...] of "
                "equal rank >= 3");
  if (!wType.hasStaticShape())
    return fail("needs a static W shape");
  int64_t group = 1;
  if (const auto *a = findAttr(node, "group"))
    group = a->i();
  if (xType.isDynamicDim(1)) {
    // A symbolic channel count is W's: the run time checks X has it.
    int64_t channels = wType.getDimSize(1) * group;
    Value size = tensor::DimOp::create(b, loc, x, 1);
    Value want = arith::ConstantIndexOp::create(b, loc, channels);
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, want),
        ValueRange{size, want},
        "node '" + nodeName(loc) +
            "': Conv input has {0} channels, the weights take {1}");
    SmallVector<int64_t> shape(xType.getShape());
    shape[1] = channels;
    xType = RankedTensorType::get(shape, xType.getElementType());
    x = refinedAfterCheck(loc, x, xType);
  }
  SmallVector<int64_t> strides = intsAttr(node, "strides", spatial, 1),
                       dilations = intsAttr(node, "dilations", spatial, 1),
                       pads = intsAttr(node, "pads", 2 * spatial, 0);
  if (int64_t(strides.size()) != spatial ||
      int64_t(dilations.size()) != spatial ||
      int64_t(pads.size()) != 2 * spatial)
    return fail("strides/dilations/pads do not match the spatial rank");
  int64_t C = xType.getDimSize(1), M = wType.getDimSize(0),
          Cg = wType.getDimSize(1);
  if (group < 1 || C % group || M % group || C / group != Cg)
    return fail("group " + Twine(group) + " does not divide C = " + Twine(C) +
                " and M = " + Twine(M) + " into W's " + Twine(Cg) +
                " channels per group");
  if (bias && (cast<RankedTensorType>(bias.getType()).getRank() != 1 ||
               cast<RankedTensorType>(bias.getType()).getDimSize(0) != M))
    return fail("bias must be [M]");
  std::string autoPad = "NOTSET";
  if (const auto *a = findAttr(node, "auto_pad"))
    autoPad = a->s();
  // Padding and output sizes per spatial dim (folded when static).
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<OpFoldResult> low(rank, b.getIndexAttr(0)),
      high(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> outSizes;
  for (int64_t i = 0; i < spatial; ++i) {
    Value in = getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, x, i + 2));
    int64_t span = dilations[i] * (wType.getDimSize(i + 2) - 1) + 1;
    Value padBegin, padEnd, out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      // out = ceil(in / s); total = max((out - 1) * s + span - in, 0).
      out = b.createOrFold<arith::CeilDivUIOp>(loc, in, idx(strides[i]));
      Value need = b.createOrFold<arith::SubIOp>(
          loc,
          b.createOrFold<arith::AddIOp>(
              loc,
              b.createOrFold<arith::MulIOp>(
                  loc, b.createOrFold<arith::SubIOp>(loc, out, idx(1)),
                  idx(strides[i])),
              idx(span)),
          in);
      Value total = b.createOrFold<arith::MaxSIOp>(loc, need, idx(0));
      Value half = b.createOrFold<arith::DivUIOp>(loc, total, idx(2));
      Value rest = b.createOrFold<arith::SubIOp>(loc, total, half);
      padBegin = autoPad == "SAME_UPPER" ? half : rest;
      padEnd = autoPad == "SAME_UPPER" ? rest : half;
    } else if (autoPad == "NOTSET" || autoPad == "VALID") {
      bool valid = autoPad == "VALID";
      padBegin = idx(valid ? 0 : pads[i]);
      padEnd = idx(valid ? 0 : pads[i + spatial]);
      Value padded = b.createOrFold<arith::AddIOp>(
          loc, in, b.createOrFold<arith::AddIOp>(loc, padBegin, padEnd));
      // An input shorter than the kernel's span (a negative output size)
      // fails the call, as ONNX Runtime and PyTorch refuse it. Pads (of the
      // Conv, or of Pad nodes before it) of span - 1 or more cover any
      // input of one element or more: the conv blocks need no check. An
      // input that may be empty (a cropped one) needs span of them.
      Value source;
      int64_t sourceDim;
      int64_t padTotal = (valid ? 0 : pads[i] + pads[i + spatial]) +
                         padsBefore(x, i + 2, &source, &sourceDim) -
                         (knownNonEmpty(source, sourceDim) ? 0 : 1);
      if (!getConstantIntValue(padded) && padTotal < span - 1)
        checkSizes(loc, arith::CmpIPredicate::sge, padded, idx(span),
                   "Conv input padded to {0} in spatial dim " +
                       std::to_string(i) +
                       " is shorter than the kernel's "
                       "span {1}");
      out = b.createOrFold<arith::AddIOp>(
          loc,
          b.createOrFold<arith::FloorDivSIOp>(
              loc, b.createOrFold<arith::SubIOp>(loc, padded, idx(span)),
              idx(strides[i])),
          idx(1));
    } else {
      return fail("auto_pad '" + autoPad + "' is not supported");
    }
    if (auto c = getConstantIntValue(out); c && *c < 1)
      return fail("output spatial size is " + Twine(*c) +
                  " (the kernel is larger than the padded input)");
    low[i + 2] = getAsOpFoldResult(padBegin);
    high[i + 2] = getAsOpFoldResult(padEnd);
    outSizes.push_back(getAsOpFoldResult(out));
  }
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value padded = tensor::PadOp::create(
      b, loc, RankedTensorType(), x, low, high, zero, /*nofold=*/false);
  ConvOperands operands{x,      padded,    w,         bias,     zero,
                        xType,  wType,     group,     C,        M,
                        Cg,     spatial,   strides,   dilations, outSizes};
  if (spatial == 1 && group == C && M == C && Cg == 1 && strides[0] == 1)
    return depthwiseConv1D(*this, loc, operands);
  return groupedConv(*this, loc, operands);
}

/// ONNX Conv.
LogicalResult GraphImporter::importConv(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  Value result;
  result = conv(node, loc, inputs);
  if (!result)
    return failure();
  return define(node, result);
}

/// Projections and convolutions.
NamedOps nnOps() {
  using G = GraphImporter;
  return {
      {"Conv", opEntry(&G::importConv)},
      {"ConvTranspose", opEntry(&G::importConvTranspose)},
      {"AveragePool", opEntry(&G::importPool)},
      {"Gemm", opEntry(&G::importGemm)},
      {"Einsum", opEntry(&G::importEinsum, 12)},
      {"MatMul", opEntry(&G::importMatMul)},
      {"MaxPool", opEntry(&G::importPool)},
  };
}

} // namespace convc::onnx_import
