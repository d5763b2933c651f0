//===- PadOp.cpp - ONNX Pad -----------------------------------------------===//
//
// Constant, edge and reflect padding; negative pads crop (constant mode),
// pads computed from sizes are host values. Edge and reflect read the
// source at mapped indices.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

namespace convc::onnx_import {

namespace {
/// Constant-mode tensor.pad of `x`; a source with a static 0 dim pads to all
/// padding, built as a fill (the pad's lowering would insert the empty
/// source at an offset past the end, which insert_slice refuses).
Value constantPad(OpBuilder &b, Location loc, Value x,
                  ArrayRef<OpFoldResult> low, ArrayRef<OpFoldResult> high,
                  Value padValue) {
  auto type = cast<RankedTensorType>(x.getType());
  if (!llvm::is_contained(type.getShape(), 0))
    return tensor::PadOp::create(b, loc, RankedTensorType(), x, low, high,
                                 padValue, /*nofold=*/false);
  SmallVector<OpFoldResult> sizes;
  auto value = [&](OpFoldResult v) {
    return getValueOrCreateConstantIndexOp(b, loc, v);
  };
  for (int64_t i = 0; i < type.getRank(); ++i) {
    Value pads =
        b.createOrFold<arith::AddIOp>(loc, value(low[i]), value(high[i]));
    sizes.push_back(getAsOpFoldResult(b.createOrFold<arith::AddIOp>(
        loc, pads, value(tensor::getMixedSize(b, loc, x, i)))));
  }
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return linalg::FillOp::create(b, loc, padValue, init).getResult(0);
}
} // namespace

/// For each symbolic dim of `x` that Pad reflects or extends by its edge,
/// a run-time check that its pads fit (ONNX's rule; checked at compile time
/// for static dims): reflect pads shorter than the dim, edge pads on a dim
/// with an element to repeat.
void GraphImporter::checkPadsFit(Location loc, Value x, ArrayRef<int64_t> pads,
                                 bool reflect) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  for (int64_t i = 0; i < rank; ++i) {
    int64_t widest = std::max(pads[i], pads[i + rank]);
    if (!type.isDynamicDim(i) || widest == 0)
      continue;
    Value n = tensor::DimOp::create(b, loc, x, i);
    std::string what = "node '" + nodeName(loc) + "': Pad " +
                       (reflect ? "reflect" : "edge") + " of " +
                       std::to_string(pads[i]) + " + " +
                       std::to_string(pads[i + rank]) + " in dim " +
                       std::to_string(i) + " of size {0} ";
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::sgt, n,
            arith::ConstantIndexOp::create(b, loc, reflect ? widest : 0)),
        ValueRange{n},
        what + (reflect ? "(reflect pads must be shorter than the dim)"
                        : "(edge pads need an element to repeat)"));
  }
}

/// `x` without the elements that Pad's negative `pads` remove from either
/// end of each dim; a dim too short for them fails (at compile time, or at
/// run time for a symbolic one). Null after an error.
Value GraphImporter::cropped(Location loc, Value x, ArrayRef<int64_t> pads) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets, sizes, strides(rank, b.getIndexAttr(1));
  for (int64_t i = 0; i < rank; ++i) {
    int64_t front = std::max<int64_t>(-pads[i], 0);
    int64_t crop = front + std::max<int64_t>(-pads[i + rank], 0);
    offsets.push_back(b.getIndexAttr(front));
    if (!type.isDynamicDim(i)) {
      if (crop > type.getDimSize(i)) {
        emitError(loc) << "Pad crops " << crop << " from dim " << i
                       << " of size " << type.getDimSize(i);
        return {};
      }
      sizes.push_back(b.getIndexAttr(type.getDimSize(i) - crop));
      continue;
    }
    Value n = tensor::DimOp::create(b, loc, x, i);
    Value c = arith::ConstantIndexOp::create(b, loc, crop);
    if (crop)
      checkSizes(loc, arith::CmpIPredicate::sge, n, c,
                 "Pad crops {1} from dim " + std::to_string(i) +
                     " of size {0}");
    sizes.push_back(b.createOrFold<arith::SubIOp>(loc, n, c));
  }
  // Nothing left is not a slice (folding the pad that follows into it would
  // move its offsets past the end).
  if (llvm::any_of(sizes, isZeroInteger))
    return tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, x, offsets, sizes, strides);
}

/// Pad's fill: the constant_value input, the `value` attribute (before
/// opset 11), or zero. Null after an error.
Value GraphImporter::padValue(const onnx::NodeProto &node, Location loc,
                              ArrayRef<Value> inputs, Type element) {
  Value padValue;
  if (inputs.size() > 2 && inputs[2]) {
    if (getElementTypeOrSelf(inputs[2].getType()) != element) {
      emitError(loc) << "Pad constant_value type differs from data";
      return {};
    }
    padValue = tensor::ExtractOp::create(
        b, loc, inputs[2],
        SmallVector<Value>(
            cast<RankedTensorType>(inputs[2].getType()).getRank(),
            arith::ConstantIndexOp::create(b, loc, 0)));
  } else if (const auto *value = opset < 11 ? findAttr(node, "value") : nullptr;
             value && isa<FloatType>(element)) {
    padValue =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(element, value->f()));
  } else {
    padValue = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  }
  return padValue;
}

/// Pad (constant mode) with pads computed from sizes (F.pad(x, (0, 0, 0,
/// (K - T % K) % K))): host values, each checked not to be negative.
LogicalResult GraphImporter::padBySizes(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs,
                                        StringRef mode) {
  const SmallVector<ShapeEntry> &pads = partialShapes[node.input(1)];
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  if (mode != "constant" || (inputs.size() > 3 && inputs[3]) ||
      int64_t(pads.size()) != 2 * rank)
    return emitError(loc) << "Pad with pads computed from sizes needs mode "
                             "constant, no axes input and 2 * rank pads (has "
                          << pads.size() << " for rank " << rank << ")";
  Value padValue = this->padValue(node, loc, inputs, type.getElementType());
  if (!padValue)
    return failure();
  auto size = [&](const ShapeEntry &e) -> OpFoldResult {
    if (e.value)
      return b.getIndexAttr(*e.value);
    checkSizes(loc, arith::CmpIPredicate::sge, e.dim,
               arith::ConstantIndexOp::create(b, loc, 0),
               "Pad by {0}: negative pads (cropping) are not supported");
    return e.dim;
  };
  SmallVector<OpFoldResult> low, high;
  for (int64_t i = 0; i < rank; ++i) {
    if ((pads[i].value && *pads[i].value < 0) ||
        (pads[i + rank].value && *pads[i + rank].value < 0))
      return emitError(loc) << "Pad with negative pads (cropping) is not "
                               "supported";
    low.push_back(size(pads[i]));
    high.push_back(size(pads[i + rank]));
  }
  return define(node, constantPad(b, loc, inputs[0], low, high, padValue));
}

/// Pads of constant mode where a crop runs past the end of a static dim,
/// rewritten to crop the whole dim and pad what is left of the other side.
static LogicalResult cropIntoPads(Location loc, RankedTensorType type,
                                  SmallVectorImpl<int64_t> &pads) {
  int64_t rank = type.getRank();
  // No tensor holds 2^48 elements: larger crops are an error (and
  // negating INT64_MIN would overflow).
  for (int64_t v : pads)
    if (v < -(int64_t(1) << 48))
      return emitError(loc) << "Pad by " << v
                            << " crops more than any tensor holds (2^48 "
                               "elements)";
  for (int64_t i = 0; i < rank; ++i) {
    int64_t n = type.getDimSize(i), &front = pads[i], &back = pads[i + rank];
    int64_t crop = std::max<int64_t>(-front, 0) + std::max<int64_t>(-back, 0);
    if (type.isDynamicDim(i) || crop <= n || (front < 0 && back < 0))
      continue; // cropped() reports a size below 0
    // One side crops past the end, the other pads: n - crop is in
    // (-2^49, 0), so adding the pad cannot overflow.
    int64_t left = n - crop + std::max(front, back);
    if (left < 0)
      continue;
    std::tie(front, back) =
        back < 0 ? std::pair(left, -n) : std::pair(-n, left);
  }
  return success();
}

/// ONNX Pad.
LogicalResult GraphImporter::importPad(const onnx::NodeProto &node,
                                       Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Opset >= 11: constant pads [begin..., end...] (an input); mode
  // "constant" with an optional scalar value. Symbolic dims stay symbolic.
  std::string mode = "constant";
  if (const auto *a = findAttr(node, "mode"))
    mode = a->s();
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    return emitError(loc) << "Pad mode '" << mode
                          << "' is not supported (constant, edge and "
                             "reflect are)";
  // Before opset 11, pads and the value are attributes.
  const auto *padsAttr = opset < 11 ? findAttr(node, "pads") : nullptr;
  std::optional<SmallVector<int64_t>> padsValues =
      padsAttr             ? SmallVector<int64_t>(padsAttr->ints().begin(),
                                      padsAttr->ints().end())
      : inputs.size() >= 2 ? constantInts(inputs[1])
                           : std::nullopt;
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "Pad needs data";
  if (!padsValues && opset < 11)
    return emitError(loc) << "Pad needs a pads attribute (before opset 11)";
  if (!padsValues && opset >= 11 && inputs.size() >= 2 &&
      partialShapes.count(node.input(1)))
    return padBySizes(node, loc, inputs, mode);
  if (!padsValues)
    return notConstant(loc, "Pad pads");
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> pads = *padsValues;
  if (inputs.size() > 3 && inputs[3]) {
    // Opset 18: pads for the listed axes only; the others are not padded.
    std::optional<SmallVector<int64_t>> axes = constantInts(inputs[3]);
    if (!axes)
      return notConstant(loc, "Pad axes");
    if (pads.size() != 2 * axes->size())
      return emitError(loc)
             << "Pad has " << pads.size() << " pads for " << axes->size()
             << " axes (needs " << 2 * axes->size() << ")";
    SmallVector<int64_t> full(2 * rank, 0);
    llvm::SmallBitVector seen(rank);
    for (auto [k, a] : llvm::enumerate(*axes)) {
      int64_t axis = a < 0 ? a + rank : a;
      if (axis < 0 || axis >= rank || seen[axis])
        return emitError(loc)
               << "Pad axis " << a << " is out of range or repeated for rank "
               << rank;
      seen.set(axis);
      full[axis] = pads[k];
      full[axis + rank] = pads[k + axes->size()];
    }
    pads = std::move(full);
  }
  if (int64_t(pads.size()) != 2 * rank)
    return emitError(loc) << "Pad has " << pads.size() << " pads for rank "
                          << rank << " (needs " << 2 * rank << ")";
  SmallVector<Value> operands; // the inputs, data cropped
  if (llvm::any_of(pads, [](int64_t v) { return v < 0; })) {
    // Negative pads crop. In constant mode cropping and padding commute;
    // edge and reflect would read the cropped-away elements.
    if (mode != "constant")
      return emitError(loc) << "Pad " << mode
                            << " with negative pads (cropping) is not "
                               "supported";
    // A crop past the end of a static dim eats into the other side's
    // padding (pads 1 and -3 on a dim of 2 leave nothing, 2 and -3 one pad
    // value): crop the whole dim, then pad what is left.
    if (failed(cropIntoPads(loc, type, pads)))
      return failure();
    operands.assign(inputs.begin(), inputs.end());
    operands[0] = cropped(loc, inputs[0], pads);
    if (!operands[0])
      return failure();
    inputs = operands;
    for (int64_t &v : pads)
      v = std::max<int64_t>(v, 0);
  }
  Type element = type.getElementType();
  Value padValue = this->padValue(node, loc, inputs, element);
  if (!padValue)
    return failure();
  SmallVector<OpFoldResult> low, high;
  for (int64_t i = 0; i < rank; ++i) {
    low.push_back(b.getIndexAttr(pads[i]));
    high.push_back(b.getIndexAttr(pads[i + rank]));
  }
  if (mode == "constant") {
    result = constantPad(b, loc, inputs[0], low, high, padValue);
  } else {
    // edge: the nearest element; reflect: mirrored about the edge element
    // (which is not repeated). Each padded position reads the source at
    // its mapped index, per dim.
    for (int64_t i = 0; i < rank; ++i)
      if ((pads[i] || pads[i + rank]) && type.getDimSize(i) == 0)
        return emitError(loc) << "Pad " << mode << " of an empty dim";
    for (int64_t i = 0; i < rank; ++i)
      if (mode == "reflect" && !type.isDynamicDim(i) &&
          std::max(pads[i], pads[i + rank]) >= type.getDimSize(i))
        return emitError(loc)
               << "Pad reflect of " << pads[i] << " + " << pads[i + rank]
               << " on a dim of size " << type.getDimSize(i)
               << " (reflect pads must be shorter than the dim)";
    checkPadsFit(loc, inputs[0], pads, mode == "reflect");
    Value source = inputs[0];
    bool reflect = mode == "reflect";
    auto pad = tensor::PadOp::create(b, loc, RankedTensorType(), source, low,
                                     high, padValue, /*nofold=*/false);
    Block &body = pad.getRegion().front();
    OpBuilder pb = OpBuilder::atBlockBegin(&body);
    SmallVector<Value> at;
    for (int64_t i = 0; i < rank; ++i) {
      Value index = body.getArgument(i);
      if (!pads[i] && !pads[i + rank]) {
        at.push_back(index);
        continue;
      }
      // Not empty: checkPadsFit fails the call before the loop otherwise.
      Value n = tensor::DimOp::create(pb, loc, source, i);
      Value zero = arith::ConstantIndexOp::create(pb, loc, 0);
      Value one = arith::ConstantIndexOp::create(pb, loc, 1);
      Value last = arith::SubIOp::create(pb, loc, n, one);
      Value j = arith::SubIOp::create(
          pb, loc, index, arith::ConstantIndexOp::create(pb, loc, pads[i]));
      if (reflect) { // -j below, 2 (n - 1) - j above
        j = arith::MaxSIOp::create(pb, loc, j,
                                   arith::SubIOp::create(pb, loc, zero, j));
        Value mirrored = arith::SubIOp::create(
            pb, loc, arith::AddIOp::create(pb, loc, last, last), j);
        j = arith::MinSIOp::create(pb, loc, j, mirrored);
      }
      // Clamped either way (edge; and reflect on a 1-element dim).
      j = arith::MinSIOp::create(
          pb, loc, arith::MaxSIOp::create(pb, loc, j, zero), last);
      at.push_back(j);
    }
    body.getTerminator()->setOperand(
        0, tensor::ExtractOp::create(pb, loc, source, at));
    result = pad.getResult();
  }
  return define(node, result);
}

} // namespace convc::onnx_import
