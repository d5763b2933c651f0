//===- OneHotOps.cpp - tensors of on/off values placed by position --------===//
//
// OneHot (an `on` value where a dim's position equals the index, `off`
// elsewhere) and EyeLike (ones on a diagonal): each one linalg.generic
// that compares positions, with no data read but the indices.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include <cmath>

namespace convc::onnx_import {

namespace {

/// A scalar read as i64: ints as they are, floats truncated (OneHot's
/// depth and indices may be float; a float index must also be whole).
Value asInt64(OpBuilder &b, Location l, Value v) {
  if (v.getType().isF32())
    return arith::FPToSIOp::create(b, l, b.getI64Type(), v);
  if (v.getType().isInteger(1))
    return arith::ExtUIOp::create(b, l, b.getI64Type(), v);
  return v;
}

} // namespace

/// ONNX OneHot: indices [d0..dn) -> [d0.., depth at `axis`, ..dn) with
/// values[1] where the position on `axis` equals the index (a negative one
/// counts from depth), values[0] elsewhere, also for indices out of range
/// and float indices that are not whole numbers.
LogicalResult GraphImporter::importOneHot(const onnx::NodeProto &node,
                                          Location loc,
                                          ArrayRef<Value> inputs) {
  if (inputs.size() != 3 || !inputs[0] || !inputs[1] || !inputs[2])
    return emitError(loc) << "OneHot needs indices, depth and values";
  Value indices = inputs[0], depthIn = inputs[1], onOff = inputs[2];
  auto indexType = cast<RankedTensorType>(indices.getType());
  auto depthType = cast<RankedTensorType>(depthIn.getType());
  auto valuesType = cast<RankedTensorType>(onOff.getType());
  if (!depthType.hasStaticShape() || depthType.getNumElements() != 1 ||
      valuesType.getRank() != 1 ||
      (!valuesType.isDynamicDim(0) && valuesType.getDimSize(0) != 2))
    return emitError(loc) << "OneHot needs a one-element depth and two values "
                             "[off, on], not "
                          << depthType << " and " << valuesType;
  if (valuesType.isDynamicDim(0)) {
    checkSizes(loc, arith::CmpIPredicate::eq,
               tensor::DimOp::create(b, loc, onOff, 0),
               arith::ConstantIndexOp::create(b, loc, 2),
               "OneHot has {0} values, not {1} [off, on]");
  }
  int64_t rank = indexType.getRank() + 1;
  int64_t axis = intAttr(node, "axis", -1);
  if (axis < -rank || axis >= rank)
    return emitError(loc) << "OneHot axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // The depth: a constant, or read at run time and checked positive.
  std::optional<int64_t> constDepth;
  if (DenseElementsAttr attr; matchPattern(depthIn, m_Constant(&attr))) {
    if (attr.getElementType().isF32()) {
      float d = (*attr.getValues<APFloat>().begin()).convertToFloat();
      if (!(std::abs(d) < float(int64_t(1) << 40)))
        return emitError(loc) << "OneHot depth " << d << " is out of range";
      constDepth = int64_t(d);
    } else {
      constDepth = (*attr.getValues<APInt>().begin()).getSExtValue();
    }
  }
  Value depth =
      constDepth ? Value(arith::ConstantIntOp::create(b, loc, *constDepth, 64))
                 : asInt64(b, loc, scalar(loc, depthIn));
  Value depthIndex =
      arith::IndexCastOp::create(b, loc, b.getIndexType(), depth);
  if (constDepth && *constDepth < 1)
    return emitError(loc) << "OneHot depth " << *constDepth
                          << " must be at least 1";
  if (!constDepth)
    checkSizes(loc, arith::CmpIPredicate::sgt, depthIndex,
               arith::ConstantIndexOp::create(b, loc, 0),
               "OneHot depth {0} must be at least 1");
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value off = tensor::ExtractOp::create(b, loc, onOff, ValueRange{zero});
  Value on = tensor::ExtractOp::create(
      b, loc, onOff, ValueRange{arith::ConstantIndexOp::create(b, loc, 1)});
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, indices);
  sizes.insert(sizes.begin() + axis,
               constDepth ? OpFoldResult(b.getIndexAttr(*constDepth))
                          : OpFoldResult(depthIndex));
  Value init =
      tensor::EmptyOp::create(b, loc, sizes, valuesType.getElementType());
  SmallVector<AffineExpr> indexDims;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      indexDims.push_back(getAffineDimExpr(i, ctx));
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{indices},
          ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(rank, 0, indexDims, ctx),
                              AffineMap::getMultiDimIdentityMap(rank, ctx)},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value index = wrapNegative(nb, l, asInt64(nb, l, a[0]), depth);
            Value at = arith::IndexCastOp::create(
                nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, axis));
            Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                              at, index);
            // A float index hits only where it is a whole number (as ONNX
            // Runtime and the reference compare), not where it truncates.
            if (a[0].getType().isF32())
              hit = arith::AndIOp::create(
                  nb, l, hit,
                  arith::CmpFOp::create(
                      nb, l, arith::CmpFPredicate::OEQ, a[0],
                      arith::SIToFPOp::create(nb, l, nb.getF32Type(),
                                              asInt64(nb, l, a[0]))));
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::SelectOp::create(nb, l, hit, on, off)});
          })
          .getResult(0);
  return define(node, result);
}

/// ONNX EyeLike: a 2-D input's shape with ones on diagonal k (column - row
/// = k), zeros elsewhere, in `dtype` (default: the input's type).
LogicalResult GraphImporter::importEyeLike(const onnx::NodeProto &node,
                                           Location loc,
                                           ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !inputs[0] ||
      cast<RankedTensorType>(inputs[0].getType()).getRank() != 2)
    return emitError(loc) << "EyeLike needs one 2-D input";
  Value x = inputs[0];
  Type element = getElementTypeOrSelf(x.getType());
  if (const auto *dtype = findAttr(node, "dtype"))
    if (!(element = elementType(dtype->i(), loc, "EyeLike")))
      return failure();
  int64_t k = intAttr(node, "k", 0);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       element);
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx)},
          SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange) {
            Value row = linalg::IndexOp::create(nb, l, 0);
            Value column = linalg::IndexOp::create(nb, l, 1);
            Value onDiagonal =
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                      arith::SubIOp::create(nb, l, column, row),
                                      arith::ConstantIndexOp::create(nb, l, k));
            Value one =
                arith::ConstantOp::create(nb, l, nb.getOneAttr(element));
            Value zero =
                arith::ConstantOp::create(nb, l, nb.getZeroAttr(element));
            linalg::YieldOp::create(nb, l,
                                    ValueRange{arith::SelectOp::create(
                                        nb, l, onDiagonal, one, zero)});
          })
          .getResult(0);
  return define(node, result);
}

/// OneHot and EyeLike.
NamedOps oneHotOps() {
  using G = GraphImporter;
  return {{"EyeLike", opEntry(&G::importEyeLike, 9)},
          {"OneHot", opEntry(&G::importOneHot, 9)}};
}

} // namespace convc::onnx_import
