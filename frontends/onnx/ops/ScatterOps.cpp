//===- ScatterOps.cpp - GatherND, ScatterND and ScatterElements -----------===//
//
// Reads at index tuples: GatherND, one linalg.generic over the output
// reading the tuple, then the data. Writes at index values: ScatterND with
// constant indices (what `t[i] = v` exports to) as insert_slices in order,
// with run-time indices as an in-order loop over the tuples;
// ScatterElements (`scatter_`) as a gather-style reduction: each output
// element looks for the updates aimed at it, in order, so duplicates
// resolve as in ONNX Runtime (the last one for `none`, all of them for
// add/mul/max/min).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

namespace convc::onnx_import {

namespace {

/// ScatterND's reduction add or mul of what is there (`old`) and an update.
Value combined(OpBuilder &b, Location l, StringRef reduction, Value old,
               Value update) {
  bool isFloat = old.getType().isF32();
  if (reduction == "add")
    return isFloat ? Value(arith::AddFOp::create(b, l, old, update))
                   : Value(arith::AddIOp::create(b, l, old, update));
  return isFloat ? Value(arith::MulFOp::create(b, l, old, update))
                 : Value(arith::MulIOp::create(b, l, old, update));
}

/// ScatterND's indices [..., k] as [N, k] and updates [..., rest...] as
/// [N, rest...] (N = 1 for 1-D indices).
void flattenTuples(OpBuilder &b, Location loc, Value &indices, Value &updates,
                   int64_t k) {
  auto updateType = cast<RankedTensorType>(updates.getType());
  int64_t q = cast<RankedTensorType>(indices.getType()).getRank();
  if (q == 1) {
    indices = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, k}, b.getI64Type()), indices,
        SmallVector<ReassociationIndices>{{0, 1}});
    SmallVector<int64_t> shape = {1};
    llvm::append_range(shape, updateType.getShape());
    if (updateType.getRank() == 0) {
      updates = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({1}, updateType.getElementType()),
          updates, SmallVector<ReassociationIndices>{});
      return;
    }
    SmallVector<ReassociationIndices> groups = {{0, 1}};
    for (int64_t d = 1; d < updateType.getRank(); ++d)
      groups.push_back({d + 1});
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    llvm::append_range(sizes, tensor::getMixedSizes(b, loc, updates));
    updates = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, updateType.getElementType()),
        updates, groups, sizes);
    return;
  }
  SmallVector<ReassociationIndices> indexGroups(2), updateGroups(1);
  for (int64_t d = 0; d + 1 < q; ++d) {
    indexGroups[0].push_back(d);
    updateGroups[0].push_back(d);
  }
  indexGroups[1].push_back(q - 1);
  indices = tensor::CollapseShapeOp::create(b, loc, indices, indexGroups);
  for (int64_t d = q - 1; d < updateType.getRank(); ++d)
    updateGroups.push_back({d});
  updates = tensor::CollapseShapeOp::create(b, loc, updates, updateGroups);
}

} // namespace

/// ScatterND with indices known only at run time (`y[:, 0] = v` with a
/// symbolic batch, tables built in forward): an scf.for over the index
/// tuples in order, each inserting (or combining) its update slice, so a
/// later duplicate wins as in ONNX Runtime. Each index is checked in range
/// (failing the call naming the node) and clamped meanwhile; the updates'
/// sizes are checked against the indices' and the data's.
Value GraphImporter::scatterNDAtRunTime(Location loc, Value data, Value indices,
                                        Value updates, StringRef reduction) {
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  auto updateType = cast<RankedTensorType>(updates.getType());
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  int64_t k = q ? indexType.getDimSize(q - 1) : 0;
  if (!isInt64(indices) || q < 1 || ShapedType::isDynamic(k) || k < 1 ||
      k > rank || updateType.getRank() != q - 1 + rank - k ||
      updateType.getElementType() != dataType.getElementType()) {
    emitError(loc) << "ScatterND indices/updates do not fit the data's rank "
                      "(run-time indices need a static last dim)";
    return {};
  }
  std::string node = "node '" + nodeName(loc) + "': ";
  // The updates' dims: the indices' leading ones, then the data's after k.
  auto sameDim = [&](Value a, int64_t da, Value c, int64_t dc,
                     const std::string &what) -> bool {
    int64_t sa = cast<RankedTensorType>(a.getType()).getDimSize(da);
    int64_t sc = cast<RankedTensorType>(c.getType()).getDimSize(dc);
    if (!ShapedType::isDynamic(sa) && !ShapedType::isDynamic(sc)) {
      if (sa != sc)
        emitError(loc) << "ScatterND updates dim " << dc << " has size " << sc
                       << " where " << what << " has " << sa;
      return sa == sc;
    }
    checkSizes(loc, arith::CmpIPredicate::eq,
               tensor::DimOp::create(b, loc, c, dc),
               tensor::DimOp::create(b, loc, a, da),
               "ScatterND updates dim " + std::to_string(dc) +
                   " has size {0} where " + what + " has {1}");
    return true;
  };
  for (int64_t d = 0; d + 1 < q; ++d)
    if (!sameDim(indices, d, updates, d, "the indices"))
      return {};
  for (int64_t d = k; d < rank; ++d)
    if (!sameDim(data, d, updates, q - 1 + d - k, "the data"))
      return {};
  flattenTuples(b, loc, indices, updates, k);
  // A slice of the data's dims after k; one element as [1], not rank 0
  // (which the GPU loops cannot take).
  SmallVector<int64_t> restShape(dataType.getShape().drop_front(k));
  if (restShape.empty())
    restShape.push_back(1);
  auto restType = RankedTensorType::get(restShape, dataType.getElementType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> extents;
  for (int64_t d = 0; d < k; ++d) {
    checkIndexedDimNotEmpty(loc, data, d,
                            tensor::getMixedSize(b, loc, indices, 0),
                            "ScatterND indexes a dim of size 0");
    extents.push_back(tensor::DimOp::create(b, loc, data, d));
  }
  auto loop = scf::ForOp::create(
      b, loc, zero, tensor::DimOp::create(b, loc, indices, 0), one,
      ValueRange{data},
      [&](OpBuilder &nb, Location l, Value t, ValueRange acc) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        SmallVector<OpFoldResult> offsets, sizes,
            strides(rank, b.getIndexAttr(1));
        for (int64_t d = 0; d < k; ++d) {
          Value raw = tensor::ExtractOp::create(
              b, l, indices,
              ValueRange{t, arith::ConstantIndexOp::create(b, l, d)});
          offsets.push_back(checkedIndex(b, l, raw, extents[d],
                                         node + "ScatterND index {0} is out "
                                                "of range for a dim of size "
                                                "{1}"));
          sizes.push_back(b.getIndexAttr(1));
        }
        for (int64_t d = k; d < rank; ++d) {
          offsets.push_back(b.getIndexAttr(0));
          sizes.push_back(tensor::getMixedSize(b, l, data, d));
        }
        // Row t of the updates: [1, rest...], as rest (or [1]).
        SmallVector<OpFoldResult> rowOffsets = {t},
                                  rowSizes = {b.getIndexAttr(1)};
        rowOffsets.append(rank - k, b.getIndexAttr(0));
        rowSizes.append(sizes.begin() + k, sizes.end());
        Value row = tensor::ExtractSliceOp::create(
            b, l, restType, updates, rowOffsets, rowSizes,
            SmallVector<OpFoldResult>(rank - k + 1, b.getIndexAttr(1)));
        if (reduction != "none") {
          Value old = tensor::ExtractSliceOp::create(b, l, restType, acc[0],
                                                     offsets, sizes, strides);
          row = elementwise(l, {old, row},
                            [&](OpBuilder &eb, Location el, ValueRange a) {
                              return combined(eb, el, reduction, a[0], a[1]);
                            });
        }
        Value next = tensor::InsertSliceOp::create(b, l, row, acc[0], offsets,
                                                   sizes, strides);
        scf::YieldOp::create(b, l, next);
      });
  return loop.getResult(0);
}

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
  if (!indices)
    return scatterNDAtRunTime(loc, inputs[0], inputs[1], inputs[2], reduction);
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
        if (!ShapedType::isDynamic(n) && (i < -n || i >= n)) {
          emitError(loc) << "ScatterND index " << i
                         << " is out of range for dim " << d << " of size "
                         << n;
          return {};
        }
        if (ShapedType::isDynamic(n)) {
          // Unknown extent: an index outside [-n, n) fails the call before
          // the write. A negative one counts from the end.
          Value extent = tensor::DimOp::create(b, loc, data, d);
          std::string message = "ScatterND index " + std::to_string(i) +
                                " is out of range for a dim of size {1}";
          std::optional<double> atLeast = sizeLowerBound(extent);
          if (i < 0) {
            if (!(atLeast && *atLeast >= double(-i)))
              checkSizes(loc, arith::CmpIPredicate::sle,
                         arith::ConstantIndexOp::create(b, loc, -i), extent,
                         message);
            offsets.push_back(getAsOpFoldResult(arith::AddIOp::create(
                b, loc, extent, arith::ConstantIndexOp::create(b, loc, i))));
          } else {
            // The clamped form (min(i, n - 1)) is what the position
            // table raising reads.
            Value at = arith::ConstantIndexOp::create(b, loc, i);
            // None where the size is known to exceed it (fairseq's position
            // table, computed from T, zeroed at padding_idx).
            if (!(atLeast && *atLeast > double(i)))
              checkSizes(loc, arith::CmpIPredicate::slt, at, extent, message);
            Value last = arith::SubIOp::create(
                b, loc, extent, arith::ConstantIndexOp::create(b, loc, 1));
            offsets.push_back(
                getAsOpFoldResult(arith::MinSIOp::create(b, loc, at, last)));
          }
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
      shaped = elementwise(loc, {old, shaped},
                           [&](OpBuilder &nb, Location l, ValueRange a) {
                             return combined(nb, l, reduction, a[0], a[1]);
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
  // The updates' extent along the axis, as an operand of shape
  // [1, .., m, .., 1] (only its shape is used). Where the updates are empty
  // in another dim at run time, m is 0: nothing is updated, and the loop
  // does not read the empty indices.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value m = tensor::DimOp::create(b, loc, indices, axis);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && indexType.isDynamicDim(d))
      m = arith::SelectOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                tensor::DimOp::create(b, loc, indices, d),
                                zero),
          zero, m);
  SmallVector<OpFoldResult> sizes(rank, b.getIndexAttr(1));
  sizes[axis] = getAsOpFoldResult(m);
  Value extent =
      tensor::EmptyOp::create(b, loc, sizes, indexType.getElementType());
  SmallVector<AffineExpr> extentExprs(rank, getAffineConstantExpr(0, ctx));
  extentExprs[axis] = getAffineDimExpr(rank, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, extentExprs, ctx),
                                 AffineMap::get(rank + 1, 0, dataExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  checkIndexedDimNotEmpty(loc, data, axis,
                          tensor::getMixedSizes(b, loc, indices),
                          op + " indexes a dim of size 0");
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
            index = wrapNegative(nb, l, index, n64);
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

/// ONNX GatherND: out[b.., i.., r..] = data[b.., t(b.., i..), r..], where
/// the tuple t is the last dim of `indices` (k entries, static) after the
/// batch_dims leading dims data and indices share. Run-time indices, each
/// checked in range like Gather's (negative ones wrap).
LogicalResult GraphImporter::importGatherND(const onnx::NodeProto &node,
                                            Location loc,
                                            ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !isInt64(inputs[1]))
    return emitError(loc) << "GatherND needs data and int64 indices";
  Value data = inputs[0], indices = inputs[1];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  int64_t r = dataType.getRank(), q = indexType.getRank();
  int64_t batch = intAttr(node, "batch_dims", 0);
  int64_t k = q > 0 ? indexType.getDimSize(q - 1) : 0;
  // A symbolic tuple length: the output's declared rank gives it, and the
  // run time checks it.
  std::optional<int64_t> outRank = declaredRank(node.output(0));
  bool checkK = ShapedType::isDynamic(k) && outRank;
  if (checkK)
    k = q - 1 + r - batch - *outRank;
  if (q < 1 || batch < 0 || batch >= std::min(q, r) ||
      ShapedType::isDynamic(k) || k < 1 || batch + k > r)
    return emitError(loc) << "GatherND needs indices whose last dim (static, "
                             "or given by the output's declared rank) "
                             "indexes 1 to "
                          << r - batch << " data dims after batch_dims "
                          << batch;
  // The batch dims: the output takes the indices' sizes; the data's must
  // be the same (checked at run time where symbolic).
  for (int64_t d = 0; d < batch; ++d) {
    int64_t a = dataType.getDimSize(d), c = indexType.getDimSize(d);
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(c)) {
      if (a != c)
        return emitError(loc) << "GatherND batch dim " << d << " has size " << a
                              << " in data and " << c << " in indices";
      continue;
    }
    checkSizes(loc, arith::CmpIPredicate::eq,
               tensor::DimOp::create(b, loc, data, d),
               tensor::DimOp::create(b, loc, indices, d),
               "GatherND batch dim " + std::to_string(d) +
                   " has size {0} in data and {1} in indices");
  }
  if (checkK) {
    checkSizes(loc, arith::CmpIPredicate::eq,
               tensor::DimOp::create(b, loc, indices, q - 1),
               arith::ConstantIndexOp::create(b, loc, k),
               "GatherND tuples have {0} entries where the output's "
               "declared rank needs {1}");
  }
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, indices);
  sizes.pop_back();
  SmallVector<OpFoldResult> dataSizes = tensor::getMixedSizes(b, loc, data);
  sizes.append(dataSizes.begin() + batch + k, dataSizes.end());
  int64_t m = int64_t(sizes.size());
  SmallVector<Value> extents;
  for (int64_t j = 0; j < k; ++j) {
    checkIndexedDimNotEmpty(loc, data, batch + j, sizes,
                            "GatherND indexes a dim of size 0");
    extents.push_back(
        getValueOrCreateConstantIndexOp(b, loc, dataSizes[batch + j]));
  }
  Value init =
      tensor::EmptyOp::create(b, loc, sizes, dataType.getElementType());
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(m, ctx)},
          SmallVector<utils::IteratorType>(m, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange) {
            SmallVector<Value> out;
            for (int64_t i = 0; i < m; ++i)
              out.push_back(linalg::IndexOp::create(nb, l, i));
            SmallVector<Value> at(out.begin(), out.begin() + batch);
            SmallVector<Value> tuple(out.begin(), out.begin() + q - 1);
            tuple.push_back(Value());
            for (int64_t j = 0; j < k; ++j) {
              tuple.back() = arith::ConstantIndexOp::create(nb, l, j);
              Value raw = tensor::ExtractOp::create(nb, l, indices, tuple);
              at.push_back(checkedIndex(nb, l, raw, extents[j],
                                        "node '" + nodeName(loc) +
                                            "': GatherND index {0} is out of "
                                            "range for a dim of size {1}"));
            }
            at.append(out.begin() + q - 1, out.end());
            linalg::YieldOp::create(
                nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
          })
          .getResult(0);
  return define(node, result);
}

} // namespace convc::onnx_import
