//===- IndexingOps.cpp - gathers, slices and tiles ------------------------===//
//
// Ops whose addressing depends on index values or runtime bounds (Tile
// reads mapped indices); the scatters are in ScatterOps.cpp, Pad in
// PadOp.cpp.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

namespace convc::onnx_import {

/// ONNX Gather.
LogicalResult GraphImporter::importGather(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  Value result;
  // out[a..., i..., b...] = data[a..., indices[i...], b...]. Negative
  // indices count from the end; out-of-range ones are clamped to the
  // valid range (compiled code has no error path; memory stays safe).
  if (inputs.size() != 2 ||
      !(isFloat(inputs[0]) || isInt64(inputs[0]) ||
        getElementTypeOrSelf(inputs[0].getType()).isInteger(1)) ||
      !isInt64(inputs[1]))
    return emitError(loc) << "Gather needs float, int or bool data and "
                             "integer indices";
  auto dataType = cast<RankedTensorType>(inputs[0].getType());
  auto indexType = cast<RankedTensorType>(inputs[1].getType());
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  int64_t axis = 0;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return emitError(loc) << "Gather axis out of range for rank " << rank;
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  auto addDim = [&](Value from, RankedTensorType t, int64_t i) {
    shape.push_back(t.getDimSize(i));
    if (t.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, from, i));
  };
  for (int64_t i = 0; i < axis; ++i)
    addDim(inputs[0], dataType, i);
  for (int64_t i = 0; i < q; ++i)
    addDim(inputs[1], indexType, i);
  for (int64_t i = axis + 1; i < rank; ++i)
    addDim(inputs[0], dataType, i);
  int64_t outRank = int64_t(shape.size());
  auto outType = RankedTensorType::get(shape, dataType.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, outType, dynamicSizes);
  SmallVector<AffineExpr> indexExprs;
  for (int64_t i = 0; i < q; ++i)
    indexExprs.push_back(getAffineDimExpr(axis + i, ctx));
  Value data = inputs[0];
  // The clamped read needs an element: a dim that may be empty at run time
  // (a slice's) is checked before the loop. None where the dim is known to
  // hold one, which keeps the embedding and position-table raisings' forms.
  if (!knownNonEmpty(data, axis))
    checkIndexedDimNotEmpty(loc, data, axis,
                            tensor::getMixedSizes(b, loc, init),
                            "Gather indexes a dim of size 0");
  Value extent = tensor::DimOp::create(b, loc, data, axis);
  result =
      linalg::GenericOp::create(
          b, loc, TypeRange{outType}, ValueRange{inputs[1]},
          ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(outRank, 0, indexExprs, ctx),
                              AffineMap::getMultiDimIdentityMap(outRank,
                                                                ctx)},
          SmallVector<utils::IteratorType>(outRank,
                                           utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value n = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                 extent);
            Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
            Value one = arith::ConstantIntOp::create(nb, l, 1, 64);
            Value raw = args[0];
            // An index outside [-n, n) fails the call (naming the node)
            // once the entry point returns; the read stays in bounds.
            checkIndexInRange(nb, l, raw, n, extent,
                              "node '" + nodeName(loc) +
                                  "': Gather index {0} is out of range for a "
                                  "dim of size {1}");
            Value wrapped = arith::SelectOp::create(
                nb, l,
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, raw,
                                      zero),
                arith::AddIOp::create(nb, l, raw, n), raw);
            Value clamped = arith::MaxSIOp::create(
                nb, l, zero,
                arith::MinSIOp::create(
                    nb, l, wrapped, arith::SubIOp::create(nb, l, n, one)));
            SmallVector<Value> at;
            for (int64_t i = 0; i < axis; ++i)
              at.push_back(linalg::IndexOp::create(nb, l, i));
            at.push_back(arith::IndexCastOp::create(nb, l, nb.getIndexType(),
                                                    clamped));
            for (int64_t i = axis + 1; i < rank; ++i)
              at.push_back(linalg::IndexOp::create(nb, l, q + i - 1));
            linalg::YieldOp::create(
                nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
          })
          .getResult(0);
  return define(node, result);
}

Value GraphImporter::gatherElements(const onnx::NodeProto &node, Location loc,
                               ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1] ||
      !getElementTypeOrSelf(inputs[1].getType()).isInteger(64)) {
    emitError(loc) << "GatherElements needs data and int64 indices";
    return {};
  }
  Value data = inputs[0], indices = inputs[1];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  int64_t rank = dataType.getRank();
  if (indexType.getRank() != rank || rank == 0) {
    emitError(loc) << "GatherElements needs indices of the data's rank";
    return {};
  }
  int64_t axis = 0;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < -rank || axis >= rank) {
    emitError(loc) << "GatherElements axis " << axis
                   << " is out of range for rank " << rank;
    return {};
  }
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d)
    if (!indexType.isDynamicDim(d) && !dataType.isDynamicDim(d) &&
        (dataType.getDimSize(d) == 0 ||
         (d != axis && indexType.getDimSize(d) > dataType.getDimSize(d)))) {
      emitError(loc) << "GatherElements indices dim " << d << " ("
                     << indexType.getDimSize(d) << ") does not fit the data's ("
                     << dataType.getDimSize(d) << ")";
      return {};
    }
  // out[i] = data[i with i[axis] = indices[i]]; a negative index counts
  // from the end; one outside [-n, n) fails the call once the entry point
  // returns, and the read is clamped into range meanwhile.
  // Every dim is read at a clamped position: the axis at the index, the
  // others at the output's position. A dim that may be empty at run time is
  // checked before the loop; none where it is known to hold an element (the
  // TaLK and position raisings' forms).
  // The dims besides the axis whose symbolic sizes may differ between the
  // indices and the data get a per-position check; none where they are the
  // same size by construction (a check in the body stops the TaLK raising).
  SmallVector<bool> mayExceed(rank, false);
  for (int64_t d = 0; d < rank; ++d)
    mayExceed[d] = d != axis &&
                   (indexType.isDynamicDim(d) || dataType.isDynamicDim(d)) &&
                   !sameSize(indices, d, data, d);
  for (int64_t d = 0; d < rank; ++d)
    if (!knownNonEmpty(data, d))
      checkIndexedDimNotEmpty(loc, data, d,
                              tensor::getMixedSizes(b, loc, indices),
                              "GatherElements indexes a dim of size 0");
  Value axisSize = tensor::DimOp::create(b, loc, data, axis);
  auto empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, indices),
      dataType.getElementType());
  SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{empty.getType()}, ValueRange{indices},
             ValueRange{empty}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value size = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                       axisSize);
               Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
               Value idx = args[0];
               checkIndexInRange(nb, l, idx, size, axisSize,
                                 "node '" + nodeName(loc) +
                                     "': GatherElements index {0} is out of "
                                     "range for a dim of size {1}");
               Value negative = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::slt, idx, zero);
               idx = arith::SelectOp::create(
                   nb, l, negative, arith::AddIOp::create(nb, l, idx, size),
                   idx);
               idx = arith::MaxSIOp::create(nb, l, idx, zero);
               idx = arith::MinSIOp::create(
                   nb, l, idx,
                   arith::SubIOp::create(
                       nb, l, size, arith::ConstantIntOp::create(nb, l, 1, 64)));
               // The other dims follow the output position: past the
               // data's size (symbolic sizes that differ) it fails the call,
               // clamped meanwhile.
               SmallVector<Value> at;
               for (int64_t d = 0; d < rank; ++d) {
                 if (d == axis) {
                   at.push_back(arith::IndexCastOp::create(
                       nb, l, nb.getIndexType(), idx));
                   continue;
                 }
                 if (mayExceed[d]) {
                   Value pos = linalg::IndexOp::create(nb, l, d);
                   Value room = tensor::DimOp::create(nb, l, data, d);
                   CheckOp::create(
                       nb, l,
                       arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult,
                                             pos, room),
                       ValueRange{pos, room},
                       "node '" + nodeName(loc) + "': GatherElements "
                           "position {0} in dim " + std::to_string(d) +
                           " is outside the data's size {1}",
                       /*continues=*/true);
                 }
                 Value last = arith::SubIOp::create(
                     nb, l, tensor::DimOp::create(nb, l, data, d),
                     arith::ConstantIndexOp::create(nb, l, 1));
                 at.push_back(arith::MinSIOp::create(
                     nb, l, linalg::IndexOp::create(nb, l, d), last));
               }
               linalg::YieldOp::create(
                   nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
             })
      .getResult(0);
}

/// ONNX GatherElements.
LogicalResult GraphImporter::importGatherElements(const onnx::NodeProto &node,
                                                  Location loc, ArrayRef<Value> inputs) {
  return define(node, gatherElements(node, loc, inputs));
}

namespace {
/// data[first + i * stride] per dim (first null: from 0 with step 1), of
/// `sizes` elements: Slice once its bounds are clamped.
Value stridedSlice(GraphImporter &im, Location loc, Value data,
                   ArrayRef<OpFoldResult> sizes, ArrayRef<Value> first,
                   ArrayRef<Value> stride) {
  OpBuilder &b = im.b;
  MLIRContext *ctx = im.ctx;
  auto type = cast<RankedTensorType>(data.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  for (OpFoldResult size : sizes) {
    if (auto c = getConstantIntValue(size)) {
      shape.push_back(*c);
    } else {
      shape.push_back(ShapedType::kDynamic);
      dynamicSizes.push_back(cast<Value>(size));
    }
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, outType, dynamicSizes);
  return linalg::GenericOp::create(
               b, loc, TypeRange{outType}, ValueRange{}, ValueRange{init},
               ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
               SmallVector<utils::IteratorType>(
                   rank, utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange) {
                 SmallVector<Value> at;
                 for (int64_t i = 0; i < rank; ++i) {
                   Value j = linalg::IndexOp::create(nb, l, i);
                   if (first[i])
                     j = arith::AddIOp::create(
                         nb, l, first[i],
                         arith::MulIOp::create(nb, l, j, stride[i]));
                   at.push_back(j);
                 }
                 linalg::YieldOp::create(
                     nb, l,
                     ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
               })
               .getResult(0);
}

} // namespace

/// ONNX Slice.
LogicalResult GraphImporter::importSlice(const onnx::NodeProto &node,
                                         Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Opset >= 10: starts, ends, axes, steps are constant inputs. Symbolic
  // dims are sliced with index arithmetic (what x[..., :C] exports to).
  auto constInts = [&](size_t i, SmallVector<int64_t> &out) {
    std::optional<SmallVector<int64_t>> values =
        i < inputs.size() ? constantInts(inputs[i]) : std::nullopt;
    if (values)
      out = std::move(*values);
    return values.has_value();
  };
  if (inputs.size() < 3 || !inputs[0] || !inputs[1] || !inputs[2])
    return emitError(loc) << "Slice needs data, starts and ends";
  // Bool too: exports slice padding masks.
  if (!(isFloat(inputs[0]) ||
        getElementTypeOrSelf(inputs[0].getType()).isInteger(64) ||
        getElementTypeOrSelf(inputs[0].getType()).isInteger(1)))
    return emitError(loc) << "Slice needs float, int or bool data, not "
                          << getElementTypeOrSelf(inputs[0].getType());
  SmallVector<int64_t> starts, ends, axes, steps;
  // Starts and ends may be runtime values (x[:, k:k + T] with a symbolic
  // T); axes and steps must be constant.
  SmallVector<Value> runtimeStarts, runtimeEnds;
  auto runtimeBounds = [&](size_t i, SmallVector<int64_t> &known,
                           SmallVector<Value> &runtime) {
    if (constInts(i, known))
      return true;
    auto t = dyn_cast<RankedTensorType>(inputs[i].getType());
    if (!t || t.getRank() != 1 || t.isDynamicDim(0) ||
        !t.getElementType().isInteger(64))
      return false;
    for (int64_t j = 0; j < t.getDimSize(0); ++j) {
      known.push_back(0);
      runtime.push_back(tensor::ExtractOp::create(
          b, loc, inputs[i],
          ValueRange{arith::ConstantIndexOp::create(b, loc, j)}));
    }
    return true;
  };
  if (!inputs[1] || !inputs[2] ||
      !runtimeBounds(1, starts, runtimeStarts) ||
      !runtimeBounds(2, ends, runtimeEnds) ||
      (inputs.size() > 3 && inputs[3] && !constInts(3, axes)) ||
      (inputs.size() > 4 && inputs[4] && !constInts(4, steps)))
    return notConstant(loc, "Slice axes/steps");
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  if (axes.empty())
    for (int64_t i = 0; i < int64_t(starts.size()); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return emitError(loc) << "Slice starts, ends, axes and steps differ in "
                             "length";
  // Per dim: first index and step (index values), and the result size.
  SmallVector<Value> first(rank), stride(rank);
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(tensor::getMixedSize(b, loc, inputs[0], i));
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  llvm::SmallDenseSet<int64_t> seen;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t axis = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (axis < 0 || axis >= rank || !seen.insert(axis).second)
      return emitError(loc) << "Slice axis " << axes[k]
                            << " is out of range or repeated";
    if (steps[k] == 0)
      return emitError(loc) << "Slice step 0 is invalid";
    // Bounds saturate to +-2^40 (below): a longer step takes one element
    // at most, as +-2^42 does, and -step cannot overflow.
    int64_t step =
        std::clamp<int64_t>(steps[k], -(int64_t(1) << 42), int64_t(1) << 42);
    Value n = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
    // Clamp a bound (as i64 arithmetic on index) into [lo, n + hiOff].
    auto bound = [&](int64_t v, Value runtime, int64_t lo,
                     int64_t hiOff) -> Value {
      Value x;
      if (runtime) {
        // Saturate to +-2^40 (INT64_MAX means "to the end"), wrap
        // negatives.
        Value big = arith::ConstantIntOp::create(b, loc, int64_t(1) << 40, 64);
        Value v64 = arith::MaxSIOp::create(
            b, loc,
            arith::MinSIOp::create(b, loc, runtime, big),
            arith::ConstantIntOp::create(b, loc, -(int64_t(1) << 40), 64));
        x = arith::IndexCastOp::create(b, loc, b.getIndexType(), v64);
        Value negative = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::slt, x, idx(0));
        x = arith::SelectOp::create(
            b, loc, negative, arith::AddIOp::create(b, loc, x, n), x);
      } else {
        // Out-of-range constants saturate to +-2^40 so index math is safe.
        v = std::clamp<int64_t>(v, -(int64_t(1) << 40), int64_t(1) << 40);
        x = idx(v);
        if (v < 0)
          x = b.createOrFold<arith::AddIOp>(loc, x, n);
      }
      Value hi = b.createOrFold<arith::AddIOp>(loc, n, idx(hiOff));
      if (hiOff == 0) // lo <= hi: the form the raising patterns match
        return b.createOrFold<arith::MaxSIOp>(
            loc, idx(lo), b.createOrFold<arith::MinSIOp>(loc, x, hi));
      // A negative step: over an empty dim both bounds clamp to -1 (ONNX's
      // clamp to [0, n - 1], the upper bound winning), an empty slice.
      return b.createOrFold<arith::MinSIOp>(
          loc, b.createOrFold<arith::MaxSIOp>(loc, x, idx(lo)), hi);
    };
    Value rs = runtimeStarts.empty() ? Value() : runtimeStarts[k];
    Value re = runtimeEnds.empty() ? Value() : runtimeEnds[k];
    Value s, e, count;
    if (step > 0) {
      s = bound(starts[k], rs, 0, 0);
      e = bound(ends[k], re, 0, 0);
      count = b.createOrFold<arith::CeilDivSIOp>(
          loc, b.createOrFold<arith::SubIOp>(loc, e, s), idx(step));
    } else {
      s = bound(starts[k], rs, 0, -1);
      e = bound(ends[k], re, -1, -1);
      count = b.createOrFold<arith::CeilDivSIOp>(
          loc, b.createOrFold<arith::SubIOp>(loc, s, e), idx(-step));
    }
    count = b.createOrFold<arith::MaxSIOp>(loc, count, idx(0));
    first[axis] = s;
    stride[axis] = idx(step);
    sizes[axis] = getAsOpFoldResult(count);
  }
  result = stridedSlice(*this, loc, inputs[0], sizes, first, stride);
  return define(node, result);
}

/// ONNX Tile: repeats constant or from shape arithmetic (repeat(1, T, 1)
/// on a symbolic T); output position i reads i mod the input's size in each
/// repeated dim.
LogicalResult GraphImporter::importTile(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1])
    return emitError(loc) << "Tile needs input and repeats";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  std::optional<ShapeOperand> repeats = shapeOperand(node, inputs, 1);
  if (!repeats)
    return notConstant(loc, "Tile repeats");
  if (int64_t(repeats->values.size()) != rank ||
      llvm::any_of(repeats->values, [](int64_t r) {
        return r < 0 && !ShapedType::isDynamic(r);
      }))
    return emitError(loc) << "Tile needs " << rank
                          << " repeats of at least 0";
  checkNotNegative(loc, *repeats, "Tile repeat");
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t r = repeats->values[i], d = type.getDimSize(i);
    if (!ShapedType::isDynamic(r) && !ShapedType::isDynamic(d)) {
      int64_t size;
      if (llvm::MulOverflow(d, r, size) || size >= (int64_t(1) << 48))
        return emitError(loc) << "Tile of a dim of " << d << " " << r
                              << " times is too large";
      shape.push_back(size);
      continue;
    }
    Value count = repeats->symbolicSizes[i];
    if (count) {
      // A run-time count: at least 0, as a constant one must be.
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      CheckOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, count, zero),
          ValueRange{count},
          "node '" + nodeName(loc) + "': Tile repeats {0} times");
    } else {
      count = arith::ConstantIndexOp::create(b, loc, r);
    }
    // The product stays below 2^48 (no index overflow, no wrapped size).
    Value size = getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, x, i));
    Value limit = arith::DivUIOp::create(
        b, loc, arith::ConstantIndexOp::create(b, loc, int64_t(1) << 48),
        arith::MaxUIOp::create(b, loc, size,
                               arith::ConstantIndexOp::create(b, loc, 1)));
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, count, limit),
        ValueRange{size, count},
        "node '" + nodeName(loc) + "': Tile of a dim of {0} {1} times is too "
        "large");
    shape.push_back(ShapedType::kDynamic);
    dynamicSizes.push_back(b.createOrFold<arith::MulIOp>(loc, size, count));
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, outType, dynamicSizes);
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{outType}, ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange) {
            SmallVector<Value> at;
            for (int64_t i = 0; i < rank; ++i) {
              Value j = linalg::IndexOp::create(nb, l, i);
              if (repeats->values[i] != 1)
                j = arith::RemUIOp::create(
                    nb, l, j, tensor::DimOp::create(nb, l, x, i));
              at.push_back(j);
            }
            linalg::YieldOp::create(
                nb, l, ValueRange{tensor::ExtractOp::create(nb, l, x, at)});
          })
          .getResult(0);
  return define(node, result);
}

/// Gathers, slices, pads and tiles; GatherND and the scatters
/// (ScatterOps.cpp).
NamedOps indexingOps() {
  using G = GraphImporter;
  return {
      {"Gather", opEntry(&G::importGather, kMinOpset, fold::gather)},
      {"GatherElements", opEntry(&G::importGatherElements, 11)},
      {"GatherND", opEntry(&G::importGatherND, 11)},
      {"Pad", opEntry(&G::importPad)},
      {"Scatter", opEntry(&G::importScatterElements, 9)},
      {"ScatterElements", opEntry(&G::importScatterElements, 11)},
      {"ScatterND", opEntry(&G::importScatterND, 11)},
      {"Slice", opEntry(&G::importSlice, kMinOpset, fold::slice)},
      {"Tile", opEntry(&G::importTile)},
  };
}

} // namespace convc::onnx_import
