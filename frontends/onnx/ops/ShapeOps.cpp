//===- ShapeOps.cpp - shape and layout ONNX ops ---------------------------===//
//
// Reshapes become expand/collapse_shape where the dims allow; sizes that
// shape arithmetic computed from symbolic dims arrive as runtime index values
// (folding/ShapeFolding.cpp tracks them).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include <cmath>

namespace convc::onnx_import {

LogicalResult GraphImporter::importSplit(const onnx::NodeProto &node, Location loc,
                              ArrayRef<Value> inputs) {
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "Split needs an input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = 0;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < -rank || axis >= rank)
    return emitError(loc) << "Split axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // Sizes: the `split` input (opset 13) or attribute, else equal parts.
  // Sizes computed from Shape are host values, checked at run time.
  std::optional<SmallVector<OpFoldResult>> parts;
  auto fromInts = [&](auto ints) {
    return llvm::map_to_vector(
        ints, [&](int64_t p) -> OpFoldResult { return b.getIndexAttr(p); });
  };
  if (inputs.size() > 1 && inputs[1]) {
    if (auto ints = constantInts(inputs[1]))
      parts = fromInts(*ints);
    else if (auto entries = shapeEntries(node, inputs, 1))
      parts = llvm::map_to_vector(*entries, [&](const ShapeEntry &e) {
        return e.value ? OpFoldResult(b.getIndexAttr(*e.value))
                       : OpFoldResult(e.dim);
      });
    else
      return notConstant(loc, "Split sizes");
  } else if (const auto *a = findAttr(node, "split")) {
    parts = fromInts(a->ints());
  }
  int64_t outputs = node.output_size();
  if (const auto *a = findAttr(node, "num_outputs"); a && a->i() != outputs)
    return emitError(loc) << "Split has num_outputs " << a->i() << " but "
                          << outputs << " outputs";
  if (parts && int64_t(parts->size()) != outputs)
    return emitError(loc) << "Split has " << parts->size() << " sizes for "
                          << outputs << " outputs";
  if (parts && llvm::any_of(*parts, [](OpFoldResult p) {
        return getConstantIntValue(p).value_or(0) < 0;
      }))
    return emitError(loc) << "Split has a negative size";
  Value total = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, x, axis));
  if (parts) {
    // Sizes known here add up at compile time; others at run time.
    Value zero = arith::ConstantIndexOp::create(b, loc, 0), sum = zero;
    for (OpFoldResult p : *parts) {
      Value size = getValueOrCreateConstantIndexOp(b, loc, p);
      if (!getConstantIntValue(p))
        checkSizes(loc, arith::CmpIPredicate::sge, size, zero,
                   "Split size {0} is negative");
      sum = b.createOrFold<arith::AddIOp>(loc, sum, size);
    }
    std::optional<int64_t> staticSum = getConstantIntValue(sum);
    if (staticSum && !type.isDynamicDim(axis) &&
        *staticSum != type.getDimSize(axis))
      return emitError(loc) << "Split sizes add up to " << *staticSum
                            << ", not " << type.getDimSize(axis);
    if (!staticSum || type.isDynamicDim(axis))
      checkSizes(loc, arith::CmpIPredicate::eq, sum, total,
                 "Split sizes add up to {0}, not to the input's size {1}");
  }
  // Equal parts; from opset 18 the last may be smaller (ceil-sized parts).
  bool uneven = opset >= 18;
  if (!parts && !uneven && !type.isDynamicDim(axis) &&
      type.getDimSize(axis) % outputs)
    return emitError(loc) << "Split of " << type.getDimSize(axis)
                          << " into " << outputs
                          << " equal parts (uneven splits need opset 18)";
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  Value n = arith::ConstantIndexOp::create(b, loc, outputs);
  if (!parts && !uneven && type.isDynamicDim(axis) && outputs > 1)
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              b.createOrFold<arith::RemUIOp>(loc, total, n),
                              arith::ConstantIndexOp::create(b, loc, 0)),
        ValueRange{total, n},
        "node '" + nodeName(loc) +
            "': Split of {0} into {1} equal parts (uneven splits need "
            "opset 18)");
  Value chunk = uneven ? b.createOrFold<arith::CeilDivUIOp>(loc, total, n)
                       : b.createOrFold<arith::DivUIOp>(loc, total, n);
  for (int64_t i = 0; i < outputs; ++i) {
    // Part i of ceil-sized parts: min(chunk, total - min(i * chunk, total)).
    OpFoldResult size =
        parts ? (*parts)[i]
        : !uneven
            ? getAsOpFoldResult(chunk)
            : getAsOpFoldResult(b.createOrFold<arith::MinUIOp>(
                  loc, chunk,
                  b.createOrFold<arith::SubIOp>(
                      loc, total,
                      b.createOrFold<arith::MinUIOp>(
                          loc, total,
                          b.createOrFold<arith::MulIOp>(
                              loc, chunk,
                              arith::ConstantIndexOp::create(b, loc, i))))));
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, x),
        strides(rank, b.getIndexAttr(1));
    offsets[axis] = getAsOpFoldResult(offset);
    sizes[axis] = size;
    // An empty part is not a slice (offsets must lie inside the source).
    Value part = isZeroInteger(size)
                     ? Value(tensor::EmptyOp::create(b, loc, sizes,
                                                     type.getElementType()))
                     : Value(tensor::ExtractSliceOp::create(
                           b, loc, x, offsets, sizes, strides));
    if (!node.output(i).empty())
      values[node.output(i)] = part;
    offset = b.createOrFold<arith::AddIOp>(
        loc, offset, getValueOrCreateConstantIndexOp(b, loc, size));
  }
  return success();
}

/// The int64 `limit` is the float cast of, when a float Range counts by
/// 1 from an integral constant start; null otherwise.
static Value integralLimit(Value start, Value limit, Value delta) {
  std::optional<double> from = scalarConstant(start),
                        step = scalarConstant(delta);
  auto toFloat = limit.getDefiningOp<arith::SIToFPOp>();
  if (!from || !step || *step != 1 || *from != std::floor(*from) ||
      std::abs(*from) > 0x1p24 || !toFloat ||
      !toFloat.getIn().getType().isInteger(64))
    return {};
  return toFloat.getIn();
}

Value GraphImporter::range(Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value())) {
    emitError(loc) << "Range needs start, limit and delta";
    return {};
  }
  Type element = getElementTypeOrSelf(inputs[0].getType());
  if ((!element.isF32() && !element.isInteger(64)) ||
      llvm::any_of(inputs, [&](Value v) {
        return getElementTypeOrSelf(v.getType()) != element ||
               cast<RankedTensorType>(v.getType()).getNumElements() != 1;
      })) {
    emitError(loc) << "Range needs scalar start, limit and delta of one "
                      "element type (float32 or int64)";
    return {};
  }
  bool isInt = element.isInteger(64);
  // Constant int64 operands (arange(K) in exports): fold, the result may
  // feed shape arithmetic.
  auto start = constantInts(inputs[0]), limit = constantInts(inputs[1]),
       delta = constantInts(inputs[2]);
  if (isInt && start && limit && delta) {
    if ((*delta)[0] == 0) {
      emitError(loc) << "Range delta is 0";
      return {};
    }
    // count = max(ceil((limit - start) / delta), 0), in 128 bits.
    __int128 span = __int128((*limit)[0]) - (*start)[0], d = (*delta)[0];
    __int128 count = span / d + ((span % d) != 0 && ((span > 0) == (d > 0)));
    if (count > (int64_t(1) << 24)) {
      emitError(loc) << "Range of " << int64_t(std::min<__int128>(count, INT64_MAX))
                     << " elements is too large to fold";
      return {};
    }
    SmallVector<int64_t> data;
    for (int64_t i = 0; i < int64_t(std::max<__int128>(count, 0)); ++i)
      data.push_back(int64_t((*start)[0] + __int128(i) * d));
    auto type = RankedTensorType::get({int64_t(data.size())}, element);
    return arith::ConstantOp::create(b, loc,
                                     DenseIntElementsAttr::get(type, data));
  }
  Value s = hostScalar(loc, inputs[0]), e = hostScalar(loc, inputs[1]),
        d = hostScalar(loc, inputs[2]);
  // n = max(ceil((limit - start) / delta), 0)
  // A delta of 0 (a division by zero), a span past int64 (it would wrap),
  // and a float count that is not finite fail the call.
  Value count;
  if (isInt) {
    Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, d, zero),
        ValueRange{}, "node '" + nodeName(loc) + "': Range delta is 0");
    Value span = arith::SubIOp::create(b, loc, e, s);
    // limit - start overflows where the signs of limit and start differ
    // and the result's sign is not limit's.
    Value wrapped =
        arith::AndIOp::create(b, loc, arith::XOrIOp::create(b, loc, e, s),
                              arith::XOrIOp::create(b, loc, e, span));
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, wrapped, zero),
        ValueRange{arith::IndexCastOp::create(b, loc, b.getIndexType(), s),
                   arith::IndexCastOp::create(b, loc, b.getIndexType(), e)},
        "node '" + nodeName(loc) +
            "': Range from {0} to {1}: limit - start does not fit int64");
    count = arith::CeilDivSIOp::create(b, loc, span, d);
    count = arith::MaxSIOp::create(b, loc, count, zero);
  } else if (Value limit = integralLimit(s, e, d)) {
    // arange(T) in float (torch exports the limit as Cast(T)): the count
    // in integers, so that it keeps T's origin and a check comparing it
    // with T folds away. The same as in float while float(T) is T
    // (T <= 2^24).
    Value from =
        arith::ConstantIntOp::create(b, loc, int64_t(*scalarConstant(s)), 64);
    count = b.createOrFold<arith::SubIOp>(loc, limit, from);
    std::optional<double> low = sizeLowerBound(limit);
    if (!low || *low < *scalarConstant(s))
      count = arith::MaxSIOp::create(
          b, loc, count, arith::ConstantIntOp::create(b, loc, 0, 64));
  } else {
    Value q = math::CeilOp::create(
        b, loc,
        arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, e, s), d));
    q = arith::MaximumFOp::create(
        b, loc, q, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)));
    // Ordered: false for NaN (0 / 0, inf - inf), and for infinity. None
    // where sizes and a constant delta bound the count (arange(T)): the
    // check would keep what raising replaces alive.
    std::optional<double> span = magnitudeBound(e), from = magnitudeBound(s),
                          step = scalarConstant(d);
    bool bounded = span && from && step && *step != 0 &&
                   (*span + *from) / std::abs(*step) + 1 < 0x1p62;
    if (!bounded)
      CheckOp::create(
          b, loc,
          arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OLE, q,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0x1p62f))),
          ValueRange{},
          "node '" + nodeName(loc) +
              "': Range's element count ceil((limit - start) / delta) is not "
              "finite or is over 2^62");
    count = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
  }
  Value n = b.createOrFold<arith::IndexCastOp>(loc, b.getIndexType(), count);
  auto type = RankedTensorType::get({ShapedType::kDynamic}, element);
  return tensor::GenerateOp::create(
      b, loc, type, ValueRange{n},
      [&](OpBuilder &nb, Location l, ValueRange ivs) {
        Value i = arith::IndexCastOp::create(nb, l, nb.getI64Type(), ivs[0]);
        Value v;
        if (isInt)
          v = arith::AddIOp::create(nb, l, s,
                                    arith::MulIOp::create(nb, l, i, d));
        else
          v = arith::AddFOp::create(
              nb, l, s,
              arith::MulFOp::create(
                  nb, l, arith::SIToFPOp::create(nb, l, nb.getF32Type(), i),
                  d));
        tensor::YieldOp::create(nb, l, v);
      });
}

/// ONNX Range.
LogicalResult GraphImporter::importRange(const onnx::NodeProto &node,
                                         Location loc, ArrayRef<Value> inputs) {
  return define(node, range(loc, inputs));
}

Value GraphImporter::constantOfShape(const onnx::NodeProto &node, Location loc,
                                ArrayRef<Value> inputs) {
  std::optional<ShapeOperand> shape = shapeOperand(node, inputs, 0);
  if (!shape) {
    notConstant(loc, "ConstantOfShape shape");
    return {};
  }
  Value fill = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  if (const auto *a = findAttr(node, "value"); a && a->has_t()) {
    Value c = constant(a->t(), loc);
    if (!c)
      return {};
    fill = scalar(loc, c);
  }
  SmallVector<Value> dynamicSizes;
  for (auto [v, size] : llvm::zip_equal(shape->values, shape->symbolicSizes)) {
    if (!ShapedType::isDynamic(v))
      continue;
    dynamicSizes.push_back(size);
  }
  int64_t total = 1;
  for (int64_t v : shape->values) {
    if (ShapedType::isDynamic(v))
      continue;
    if (v < 0 || v > (int64_t(1) << 31) ||
        (total *= v) > (int64_t(1) << 31)) {
      emitError(loc) << "ConstantOfShape size " << v
                     << " is negative or too large";
      return {};
    }
  }
  checkNotNegative(loc, *shape, "ConstantOfShape size");
  auto type = RankedTensorType::get(shape->values, fill.getType());
  Value empty = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  return linalg::FillOp::create(b, loc, fill, empty).getResult(0);
}

/// ONNX ConstantOfShape.
LogicalResult GraphImporter::importConstantOfShape(const onnx::NodeProto &node,
                                                   Location loc, ArrayRef<Value> inputs) {
  return define(node, constantOfShape(node, loc, inputs));
}

/// ONNX Unsqueeze, Squeeze.
LogicalResult GraphImporter::importSqueezeUnsqueeze(const onnx::NodeProto &node,
                                                    Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  Value result;
  // Axes: an attribute before opset 13, a constant input from 13 on.
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << op << " needs an input";
  SmallVector<int64_t> axes;
  bool haveAxes = false;
  if (const auto *attr = findAttr(node, "axes")) {
    axes.assign(attr->ints().begin(), attr->ints().end());
    haveAxes = true;
  } else if (inputs.size() > 1 && inputs[1]) {
    auto values = constantInts(inputs[1]);
    if (!values)
      return notConstant(loc, op + " axes");
    axes = *values;
    haveAxes = true;
  }
  Value data = inputs[0];
  auto type = cast<RankedTensorType>(data.getType());
  int64_t inRank = type.getRank();
  bool unsqueeze = op == "Unsqueeze";
  int64_t outRank = unsqueeze ? inRank + int64_t(axes.size())
                              : inRank - int64_t(axes.size());
  int64_t axisRank = unsqueeze ? outRank : inRank;
  llvm::SmallDenseSet<int64_t> axisSet;
  for (int64_t a : axes) {
    int64_t n = a < 0 ? a + axisRank : a;
    if (n < 0 || n >= axisRank || !axisSet.insert(n).second)
      return emitError(loc) << op << " axis " << a
                            << " is out of range or repeated for rank "
                            << axisRank;
  }
  if (!unsqueeze) {
    if (!haveAxes && !type.hasStaticShape())
      return emitError(loc)
             << "Squeeze without axes of a tensor with symbolic dims: which "
                "dims it drops (and the result's rank) would depend on "
                "run-time sizes; give the axes";
    if (!haveAxes) // every 1
      for (int64_t i = 0; i < inRank; ++i)
        if (type.getDimSize(i) == 1)
          axisSet.insert(i);
    for (int64_t i : axisSet) {
      if (!type.isDynamicDim(i)) {
        if (type.getDimSize(i) != 1)
          return emitError(loc) << "Squeeze axis " << i << " has size "
                                << type.getDimSize(i) << " (it must be 1)";
        continue;
      }
      // A symbolic dim squeezed: the run time checks it is 1.
      Value size = tensor::DimOp::create(b, loc, inputs[0], i);
      CheckOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size,
                                arith::ConstantIndexOp::create(b, loc, 1)),
          ValueRange{size},
          "node '" + nodeName(loc) + "': Squeeze axis " + std::to_string(i) +
              " has size {0}, not 1");
    }
    if (llvm::any_of(axisSet, [&](int64_t i) { return type.isDynamicDim(i); })) {
      // The checked dims made a static 1.
      SmallVector<int64_t> unitShape(type.getShape());
      for (int64_t i : axisSet)
        unitShape[i] = 1;
      type = RankedTensorType::get(unitShape, type.getElementType());
      data = refinedAfterCheck(loc, data, type);
    }
  }
  // The result: unit dims inserted or dropped, the others kept in order.
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> sizes;
  int64_t wideRank = unsqueeze ? outRank : inRank;
  for (int64_t i = 0, j = 0; i < wideRank; ++i) {
    bool unit = axisSet.contains(i);
    if (unsqueeze && unit) {
      shape.push_back(1);
      sizes.push_back(b.getIndexAttr(1));
    } else if (!unit) {
      int64_t d = unsqueeze ? j++ : i;
      shape.push_back(type.getDimSize(d));
      sizes.push_back(tensor::getMixedSize(b, loc, data, d));
    }
  }
  result = reshape(loc, data,
                   RankedTensorType::get(shape, type.getElementType()),
                   [&] { return sizes; });
  if (!result)
    return failure();
  return define(node, result);
}

/// ONNX Expand.
LogicalResult GraphImporter::importExpand(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Numpy (bidirectional) broadcast of data against a constant or folded
  // target shape.
  std::optional<ShapeOperand> operand = shapeOperand(node, inputs, 1);
  if (inputs.size() != 2 || !operand)
    return emitError(loc) << "Expand needs data and a shape that is "
                             "constant or built from input dims";
  const SmallVector<int64_t> &target = operand->values;
  if (!inputs[0])
    return emitError(loc) << "Expand needs data";
  if (llvm::any_of(target, [](int64_t d) {
        return !ShapedType::isDynamic(d) && d < 0;
      }))
    return emitError(loc) << "Expand shape entries must be >= 0";
  checkNotNegative(loc, *operand, "Expand size");
  Value shaped = tensor::EmptyOp::create(
      b, loc, RankedTensorType::get(target, getElementTypeOrSelf(
                                                inputs[0].getType())),
      llvm::to_vector(llvm::make_filter_range(
          operand->symbolicSizes, [](Value v) { return bool(v); })));
  result = elementwise(loc, {inputs[0], shaped},
                       [](OpBuilder &, Location, ValueRange a) {
                         return a[0];
                       });
  return define(node, result);
}

/// ONNX Transpose.
LogicalResult GraphImporter::importTranspose(const onnx::NodeProto &node,
                                             Location loc, ArrayRef<Value> inputs) {
  Value result;
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  if (const auto *attr = findAttr(node, "perm"))
    perm.assign(attr->ints().begin(), attr->ints().end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if (int64_t(perm.size()) != rank)
    return emitError(loc) << "Transpose perm has " << perm.size()
                          << " entries for rank " << rank;
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> inExprs(rank);
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= rank || llvm::count(perm, perm[i]) != 1)
      return emitError(loc) << "Transpose perm entry " << perm[i]
                            << " is out of range or repeated (perm must "
                               "order the "
                            << rank << " dims)";
    shape.push_back(type.getDimSize(perm[i]));
    inExprs[perm[i]] = getAffineDimExpr(i, ctx);
    if (type.isDynamicDim(perm[i]))
      dynamicSizes.push_back(
          tensor::DimOp::create(b, loc, inputs[0], perm[i]));
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  // The named op: the raising patterns look for BTC <-> BCT transposes.
  result = linalg::TransposeOp::create(b, loc, inputs[0], init, perm)
               .getResult()[0];
  return define(node, result);
}

/// ONNX Concat.
LogicalResult GraphImporter::importConcat(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  Value result;
  const auto *attr = findAttr(node, "axis");
  if (!attr || inputs.empty())
    return emitError(loc) << "Concat needs inputs and an axis";
  if (llvm::is_contained(inputs, Value()))
    return emitError(loc) << "Concat has an empty input name";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank(), axis = attr->i();
  for (auto [i, v] : llvm::enumerate(inputs)) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != rank || t.getElementType() != type.getElementType())
      return emitError(loc)
             << "Concat input " << i << " ('" << node.input(i) << "') is " << t
             << " where input 0 ('" << node.input(0) << "') is " << type
             << ": the inputs must have one rank and element type";
    for (int64_t i = 0; i < rank; ++i)
      if (i != (axis < 0 ? axis + rank : axis) && !t.isDynamicDim(i) &&
          !type.isDynamicDim(i) && t.getDimSize(i) != type.getDimSize(i))
        return emitError(loc) << "Concat inputs differ in dim " << i;
  }
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return emitError(loc) << "Concat axis out of range";
  // Sizes: per dim the first static one among the inputs, else the first
  // input's; the concatenated dimension summed (folded when static). Every
  // other input must have that size in the dims but the axis: checked at
  // run time where a symbolic size is not the same by construction (the
  // copies would write past the result's rows, or read past the input's).
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    unsigned from = 0;
    for (auto [k, v] : llvm::enumerate(inputs))
      if (!cast<RankedTensorType>(v.getType()).isDynamicDim(i)) {
        from = k;
        break;
      }
    sizes.push_back(tensor::getMixedSize(b, loc, inputs[from], i));
    if (i == axis)
      continue;
    for (auto [k, v] : llvm::enumerate(inputs)) {
      bool dynamic =
          cast<RankedTensorType>(v.getType()).isDynamicDim(i) ||
          cast<RankedTensorType>(inputs[from].getType()).isDynamicDim(i);
      if (k == from || !dynamic || sameSize(v, i, inputs[from], i))
        continue;
      checkSizes(
          loc, arith::CmpIPredicate::eq, tensor::DimOp::create(b, loc, v, i),
          getValueOrCreateConstantIndexOp(b, loc, sizes.back()),
          "Concat input " + std::to_string(k) + " ('" + node.input(k) +
              "') has {0} in dim " + std::to_string(i) + " where input " +
              std::to_string(from) + " ('" + node.input(from) +
              "') has {1}: the inputs must agree in every dim but "
              "the axis");
    }
  }
  Value total = arith::ConstantIndexOp::create(b, loc, 0);
  for (Value v : inputs)
    total = b.createOrFold<arith::AddIOp>(
        loc, total,
        getValueOrCreateConstantIndexOp(
            b, loc, tensor::getMixedSize(b, loc, v, axis)));
  sizes[axis] = getAsOpFoldResult(total);
  Value acc = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  for (Value v : inputs) {
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[axis] = offset;
    SmallVector<OpFoldResult> vsizes;
    for (int64_t i = 0; i < rank; ++i)
      vsizes.push_back(tensor::getMixedSize(b, loc, v, i));
    acc = tensor::InsertSliceOp::create(
        b, loc, v, acc, offsets, vsizes,
        SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
    offset = b.createOrFold<arith::AddIOp>(
        loc, offset,
        getValueOrCreateConstantIndexOp(
            b, loc, tensor::getMixedSize(b, loc, v, axis)));
  }
  result = acc;
  return define(node, result);
}

/// ONNX Identity.
LogicalResult GraphImporter::importIdentity(const onnx::NodeProto &node,
                                            Location loc, ArrayRef<Value> inputs) {
  Value result;
  if (inputs.size() != 1)
    return emitError(loc) << "Identity needs one input";
  // A copy, so that a graph output never aliases a graph input.
  result = elementwise(loc, inputs, [](OpBuilder &, Location, ValueRange a) {
    return a[0];
  });
  return define(node, result);
}

/// ONNX Flatten: dims [0, axis) and [axis, rank) each become one.
LogicalResult GraphImporter::importFlatten(const onnx::NodeProto &node,
                                           Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !inputs[0])
    return emitError(loc) << "Flatten needs one input";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  int64_t axis = intAttr(node, "axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return emitError(loc) << "Flatten axis " << intAttr(node, "axis", 1)
                          << " is out of range for rank " << rank;
  // Both groups when neither is empty; else all dims into one, then a
  // unit dim in front (axis 0) or behind (axis = rank).
  SmallVector<ReassociationIndices> groups;
  if (axis > 0 && axis < rank) {
    groups = {llvm::to_vector(llvm::seq<int64_t>(0, axis)),
              llvm::to_vector(llvm::seq<int64_t>(axis, rank))};
    return define(node,
                  tensor::CollapseShapeOp::create(b, loc, inputs[0], groups));
  }
  Value flat = inputs[0];
  if (rank > 1)
    flat = tensor::CollapseShapeOp::create(
        b, loc, inputs[0],
        SmallVector<ReassociationIndices>{
            llvm::to_vector(llvm::seq<int64_t>(0, rank))});
  auto flatType = cast<RankedTensorType>(flat.getType());
  if (rank == 0) { // a scalar: [1, 1]
    auto unit = RankedTensorType::get({1, 1}, type.getElementType());
    return define(node, tensor::ExpandShapeOp::create(
                            b, loc, unit, flat, ArrayRef<ReassociationIndices>{},
                            ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                                                   b.getIndexAttr(1)}));
  }
  SmallVector<int64_t> shape = {1, flatType.getDimSize(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                     tensor::getMixedSize(b, loc, flat, 0)};
  if (axis == rank) {
    std::swap(shape[0], shape[1]);
    std::swap(sizes[0], sizes[1]);
  }
  return define(node,
                tensor::ExpandShapeOp::create(
                    b, loc, RankedTensorType::get(shape, type.getElementType()),
                    flat, SmallVector<ReassociationIndices>{{0, 1}}, sizes));
}

/// Shape and layout ops, constants and Identity.
NamedOps shapeOps() {
  using G = GraphImporter;
  return {
      {"Concat", opEntry(&G::importConcat, kMinOpset, fold::concat)},
      {"Constant", opEntry(&G::importConstant)},
      {"ConstantOfShape",
       opEntry(&G::importConstantOfShape, 9, fold::constantOfShape)},
      {"Expand",
       opEntry(&G::importExpand, 8, fold::expand, fold::expandWeights)},
      {"Flatten", opEntry(&G::importFlatten)},
      {"Identity", opEntry(&G::importIdentity, kMinOpset, fold::identity,
                           fold::identityWeights)},
      {"Range", opEntry(&G::importRange, 11)},
      {"Reshape", opEntry(&G::importReshape, kMinOpset, fold::reshape,
                          fold::reshapeWeights)},
      // Shape and Size are always folded (to constants, or to tracked
      // symbolic dims) when they have their input.
      {"Shape", opEntry(
                    [](GraphImporter &, const onnx::NodeProto &, Location loc,
                       ArrayRef<Value>) {
                      return LogicalResult(emitError(loc)
                                           << "Shape needs one input");
                    },
                    kMinOpset, fold::shape)},
      {"Size", opEntry(
                   [](GraphImporter &, const onnx::NodeProto &, Location loc,
                      ArrayRef<Value>) {
                     return LogicalResult(emitError(loc)
                                          << "Size needs one input whose "
                                             "element count fits int64");
                   },
                   kMinOpset, fold::size)},
      {"Split", opEntry(&G::importSplit, kMinOpset, fold::split)},
      {"Squeeze",
       opEntry(&G::importSqueezeUnsqueeze, kMinOpset, fold::squeezeUnsqueeze,
               fold::squeezeUnsqueezeWeights)},
      {"Transpose", opEntry(&G::importTranspose, kMinOpset, fold::transpose,
                            fold::transposeWeights)},
      {"Unsqueeze",
       opEntry(&G::importSqueezeUnsqueeze, kMinOpset, fold::squeezeUnsqueeze,
               fold::squeezeUnsqueezeWeights)},
  };
}

} // namespace convc::onnx_import
