//===- ScatterOps.cpp - ScatterND and ScatterElements ---------------------===//
//
// Writes at index values: ScatterND with constant indices (what `t[i] = v`
// exports to) as insert_slices in order; ScatterElements (`scatter_`) as a
// gather-style reduction: each output element looks for the updates aimed
// at it, in order, so duplicates resolve as in ONNX Runtime (the last one
// for `none`, all of them for add/mul/max/min).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

namespace convc::onnx_import {

Value GraphImporter::scatterND(const onnx::NodeProto &node, Location loc,
                          ArrayRef<Value> inputs) {
  // Constant indices (what `t[i] = v` exports to): one insert_slice per
  // index tuple, in order (a later duplicate wins, as in ONNX Runtime).
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value())) {
    emitError(loc) << "ScatterND needs data, indices and updates";
    return {};
  }
  std::string reduction = "none";
  if (const auto *a = findAttr(node, "reduction"))
    reduction = a->s();
  if (reduction != "none" && reduction != "add" && reduction != "mul") {
    emitError(loc) << "ScatterND reduction '" << reduction
                   << "' is not supported (none, add and mul are)";
    return {};
  }
  std::optional<SmallVector<int64_t>> indices = constantInts(inputs[1]);
  if (!indices) {
    notConstant(loc, "ScatterND indices");
    return {};
  }
  Value data = inputs[0], updates = inputs[2];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(inputs[1].getType());
  auto updateType = cast<RankedTensorType>(updates.getType());
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  int64_t k = q ? indexType.getDimSize(q - 1) : 0;
  if (q < 1 || k < 1 || k > rank ||
      updateType.getRank() != q - 1 + rank - k ||
      updateType.getElementType() != dataType.getElementType()) {
    emitError(loc) << "ScatterND indices/updates do not fit the data's rank";
    return {};
  }
  int64_t tuples = int64_t(indices->size()) / k;
  // updates viewed as [tuples, data.shape[k:]...]
  SmallVector<int64_t> flatShape = {tuples};
  for (int64_t d = k; d < rank; ++d)
    flatShape.push_back(dataType.getDimSize(d));
  auto flatType = RankedTensorType::get(flatShape, dataType.getElementType());
  Value flat = reshape(loc, updates, flatType, [&] {
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(tuples)};
    for (int64_t d = k; d < rank; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, data, d));
    return sizes;
  });
  if (!flat)
    return {};
  Value result = data;
  for (int64_t t = 0; t < tuples; ++t) {
    SmallVector<OpFoldResult> offsets, sizes, strides(rank, b.getIndexAttr(1));
    for (int64_t d = 0; d < rank; ++d) {
      if (d < k) {
        int64_t i = (*indices)[t * k + d], n = dataType.getDimSize(d);
        if (ShapedType::isDynamic(n) ? i < 0 : (i < -n || i >= n)) {
          emitError(loc) << "ScatterND index " << i
                         << " is out of range for dim " << d;
          return {};
        }
        if (ShapedType::isDynamic(n)) {
          // Unknown extent: the index is clamped to it at run time (as
          // Gather's are), so the write stays inside the data.
          Value last = arith::SubIOp::create(
              b, loc, tensor::DimOp::create(b, loc, data, d),
              arith::ConstantIndexOp::create(b, loc, 1));
          offsets.push_back(getAsOpFoldResult(arith::MinSIOp::create(
              b, loc, arith::ConstantIndexOp::create(b, loc, i), last)));
        } else {
          offsets.push_back(b.getIndexAttr(i < 0 ? i + n : i));
        }
        sizes.push_back(b.getIndexAttr(1));
      } else {
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(tensor::getMixedSize(b, loc, data, d));
      }
    }
    // Row t of the updates, shaped [1 x k, data.shape[k:]...].
    SmallVector<OpFoldResult> rowOffsets(flatShape.size(), b.getIndexAttr(0)),
        rowSizes, rowStrides(flatShape.size(), b.getIndexAttr(1));
    rowOffsets[0] = b.getIndexAttr(t);
    rowSizes.push_back(b.getIndexAttr(1));
    for (int64_t d = k; d < rank; ++d)
      rowSizes.push_back(tensor::getMixedSize(b, loc, flat, d - k + 1));
    Value row = tensor::ExtractSliceOp::create(
        b, loc, flat, rowOffsets, rowSizes, rowStrides);
    SmallVector<int64_t> rowShape(k, 1);
    for (int64_t d = k; d < rank; ++d)
      rowShape.push_back(flatShape[d - k + 1]);
    auto rowType = RankedTensorType::get(rowShape, dataType.getElementType());
    Value shaped = reshape(loc, row, rowType, [&] { return sizes; });
    if (!shaped)
      return {};
    if (reduction != "none") { // combine with what is there
      Value old = tensor::ExtractSliceOp::create(b, loc, rowType, result,
                                                 offsets, sizes, strides);
      bool isFloat = rowType.getElementType().isF32();
      shaped = elementwise(loc, {old, shaped},
                           [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             if (reduction == "add")
                               return isFloat ? Value(arith::AddFOp::create(
                                                    nb, l, a[0], a[1]))
                                              : Value(arith::AddIOp::create(
                                                    nb, l, a[0], a[1]));
                             return isFloat ? Value(arith::MulFOp::create(
                                                  nb, l, a[0], a[1]))
                                            : Value(arith::MulIOp::create(
                                                  nb, l, a[0], a[1]));
                           });
    }
    result = tensor::InsertSliceOp::create(b, loc, shaped, result, offsets,
                                           sizes, strides);
  }
  return result;
}

/// ONNX ScatterND.
LogicalResult GraphImporter::importScatterND(const onnx::NodeProto &node,
                                             Location loc, ArrayRef<Value> inputs) {
  return define(node, scatterND(node, loc, inputs));
}

/// ONNX ScatterElements (and Scatter, its opset-9 name): out = data, with
/// out[.., indices[u], ..] combined with updates[u] along `axis` for every
/// update position u (its other coordinates its own). Run-time indices,
/// checked in [-n, n) as Gather's are. O(n m) per row for n data and m
/// update positions along the axis: masks and a few token ids.
LogicalResult GraphImporter::importScatterElements(const onnx::NodeProto &node,
                                                   Location loc,
                                                   ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value()))
    return emitError(loc) << op << " needs data, indices and updates";
  Value data = inputs[0], indices = inputs[1], updates = inputs[2];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  auto updateType = cast<RankedTensorType>(updates.getType());
  int64_t rank = dataType.getRank(), axis = intAttr(node, "axis", 0);
  if (!isInt64(indices) || indexType.getRank() != rank ||
      updateType.getRank() != rank ||
      updateType.getElementType() != dataType.getElementType())
    return emitError(loc) << op << " needs int indices and updates of the "
                             "data's rank and type";
  if (axis < -rank || axis >= rank)
    return emitError(loc) << op << " axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  std::string reduction = "none";
  if (const auto *a = findAttr(node, "reduction"))
    reduction = a->s();
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return emitError(loc) << op << " reduction '" << reduction
                          << "' is not one of none, add, mul, max, min";
  // Indices and updates have one shape, which reaches no further than the
  // data's in the other dims (ONNX Runtime's rule); checked where symbolic.
  auto check = [&](Value x, Value y, int64_t d, arith::CmpIPredicate p,
                   const std::string &what) {
    Value sx = tensor::DimOp::create(b, loc, x, d);
    Value sy = tensor::DimOp::create(b, loc, y, d);
    CheckOp::create(b, loc, arith::CmpIOp::create(b, loc, p, sx, sy),
                    ValueRange{sx, sy},
                    "node '" + nodeName(loc) + "': " + op + " " + what +
                        " in dim " + std::to_string(d));
  };
  for (int64_t d = 0; d < rank; ++d) {
    int64_t i = indexType.getDimSize(d), u = updateType.getDimSize(d),
            n = dataType.getDimSize(d);
    if (!ShapedType::isDynamic(i) && !ShapedType::isDynamic(u) && i != u)
      return emitError(loc) << op << " indices and updates differ in dim "
                            << d;
    if (!sameSize(indices, d, updates, d))
      check(indices, updates, d, arith::CmpIPredicate::eq,
            "indices of size {0} and updates of size {1}");
    if (d == axis)
      continue;
    if (!ShapedType::isDynamic(i) && !ShapedType::isDynamic(n) && i > n)
      return emitError(loc) << op << " indices of size " << i << " in dim "
                            << d << " exceed the data's " << n;
    if (ShapedType::isDynamic(i) || ShapedType::isDynamic(n))
      check(indices, data, d, arith::CmpIPredicate::ule,
            "indices of size {0} exceed the data's {1}");
  }
  // No updates: the data as it is.
  if (llvm::is_contained(indexType.getShape(), 0))
    return define(node, data);
  bool integer = isa<IntegerType>(dataType.getElementType());
  // Loops: the data's dims, then u along the updates' axis (a reduction).
  SmallVector<AffineExpr> dataExprs;
  for (int64_t d = 0; d < rank; ++d)
    dataExprs.push_back(getAffineDimExpr(d, ctx));
  // The updates' extent along the axis, as an operand: a [1, .., m, .., 1]
  // slice of the indices.
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes(rank, b.getIndexAttr(1));
  sizes[axis] = tensor::getMixedSize(b, loc, indices, axis);
  Value extent = tensor::ExtractSliceOp::create(b, loc, indices, offsets, sizes,
                                                strides);
  SmallVector<AffineExpr> extentExprs(rank, getAffineConstantExpr(0, ctx));
  extentExprs[axis] = getAffineDimExpr(rank, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, extentExprs, ctx),
                                 AffineMap::get(rank + 1, 0, dataExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  Value n64 = arith::IndexCastOp::create(
      b, loc, b.getI64Type(), tensor::DimOp::create(b, loc, data, axis));
  Value axisSize = tensor::DimOp::create(b, loc, data, axis);
  std::string message = "node '" + nodeName(loc) + "': " + op +
                        " index {0} is out of range for a dim of size {1}";
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{dataType}, ValueRange{extent}, ValueRange{data},
          maps, iterators,
          [&](OpBuilder &nb, Location l, ValueRange a) {
            // Update position u: the output's coordinates, u on the axis;
            // outside the updates (smaller in another dim) it aims nowhere.
            Value one = arith::ConstantIndexOp::create(nb, l, 1);
            Value inside = arith::ConstantIntOp::create(nb, l, 1, 1);
            SmallVector<Value> at;
            for (int64_t d = 0; d < rank; ++d) {
              if (d == axis) {
                at.push_back(linalg::IndexOp::create(nb, l, rank));
                continue;
              }
              Value p = linalg::IndexOp::create(nb, l, d);
              Value room = tensor::DimOp::create(nb, l, updates, d);
              inside = arith::AndIOp::create(
                  nb, l, inside,
                  arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, p,
                                        room));
              at.push_back(arith::MinUIOp::create(
                  nb, l, p, arith::SubIOp::create(nb, l, room, one)));
            }
            Value index = tensor::ExtractOp::create(nb, l, indices, at);
            checkIndexInRange(nb, l, index, n64, axisSize, message);
            Value negative = arith::CmpIOp::create(
                nb, l, arith::CmpIPredicate::slt, index,
                arith::ConstantIntOp::create(nb, l, 0, 64));
            index = arith::SelectOp::create(
                nb, l, negative, arith::AddIOp::create(nb, l, index, n64),
                index);
            Value here = arith::IndexCastOp::create(
                nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, axis));
            Value hit = arith::AndIOp::create(
                nb, l, inside,
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, index,
                                      here));
            Value update = tensor::ExtractOp::create(nb, l, updates, at);
            Value acc = a.back(), next = update;
            if (reduction == "add")
              next = integer ? Value(arith::AddIOp::create(nb, l, acc, update))
                             : Value(arith::AddFOp::create(nb, l, acc, update));
            else if (reduction == "mul")
              next = integer ? Value(arith::MulIOp::create(nb, l, acc, update))
                             : Value(arith::MulFOp::create(nb, l, acc, update));
            else if (reduction == "max")
              next = integer
                         ? Value(arith::MaxSIOp::create(nb, l, acc, update))
                         : Value(arith::MaximumFOp::create(nb, l, acc, update));
            else if (reduction == "min")
              next = integer
                         ? Value(arith::MinSIOp::create(nb, l, acc, update))
                         : Value(arith::MinimumFOp::create(nb, l, acc, update));
            linalg::YieldOp::create(
                nb, l, ValueRange{arith::SelectOp::create(nb, l, hit, next, acc)});
          })
          .getResult(0);
  return define(node, result);
}

} // namespace convc::onnx_import
