//===- ConvTransposeOp.cpp - ONNX ConvTranspose ---------------------------===//
//
// ConvTranspose as the Conv (stride 1) of X with stride - 1 zeros between
// its elements, padded by dilation * (K - 1) - pads on each side
// (output_padding more at the end), by W with each group's in and out
// channels swapped and its taps reversed: the convolution loops Conv has,
// stride times the multiplications of a scatter form.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/ops/Convolution.h"

namespace convc::onnx_import {

namespace {

/// ConvTranspose's attributes, checked against W.
struct TransposeAttributes {
  int64_t group = 1;
  std::string autoPad = "NOTSET";
  SmallVector<int64_t> strides, dilations, pads, outputPadding, kernel,
      outputShape;
};

LogicalResult readAttributes(const onnx::NodeProto &node, Location loc,
                             RankedTensorType wType, TransposeAttributes &a) {
  int64_t spatial = wType.getRank() - 2;
  a.group = intAttr(node, "group", 1);
  if (const auto *attr = findAttr(node, "auto_pad"))
    a.autoPad = attr->s();
  if (!llvm::is_contained({"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"},
                          a.autoPad))
    return emitError(loc) << "ConvTranspose auto_pad '" << a.autoPad
                          << "' is not supported";
  a.strides = intsAttr(node, "strides", spatial, 1);
  a.dilations = intsAttr(node, "dilations", spatial, 1);
  a.pads = intsAttr(node, "pads", 2 * spatial, 0);
  a.outputPadding = intsAttr(node, "output_padding", spatial, 0);
  a.kernel.assign(wType.getShape().begin() + 2, wType.getShape().end());
  // output_shape may give N and C too.
  a.outputShape = intsAttr(node, "output_shape", 0, 0);
  if (a.outputShape.size() == size_t(spatial + 2))
    a.outputShape.erase(a.outputShape.begin(), a.outputShape.begin() + 2);
  if (!a.outputShape.empty() && int64_t(a.outputShape.size()) != spatial)
    return emitError(loc) << "ConvTranspose's output_shape has "
                          << a.outputShape.size() << " sizes for " << spatial
                          << " spatial dims";
  if (a.autoPad == "VALID" || !a.outputShape.empty())
    a.pads.assign(2 * spatial, 0);
  if (int64_t(a.strides.size()) != spatial ||
      int64_t(a.dilations.size()) != spatial ||
      int64_t(a.pads.size()) != 2 * spatial ||
      int64_t(a.outputPadding.size()) != spatial ||
      (findAttr(node, "kernel_shape") &&
       intsAttr(node, "kernel_shape", spatial, 0) != a.kernel))
    return emitError(loc) << "ConvTranspose's strides, dilations, pads, "
                             "output_padding or kernel_shape do not match "
                             "W's spatial rank and kernel";
  // Bounds far past any model's keep the size arithmetic inside int64
  // ((L - 1) * stride with L below 2^47).
  auto within = [](ArrayRef<int64_t> v, int64_t lo, int64_t hi) {
    return llvm::all_of(v, [&](int64_t x) { return x >= lo && x <= hi; });
  };
  if (!within(a.strides, 1, 1 << 16) || !within(a.dilations, 1, 1 << 16) ||
      !within(a.outputPadding, 0, 1 << 16) ||
      !within(a.outputShape, 1, int64_t(1) << 40) ||
      !within(a.kernel, 1, int64_t(1) << 31))
    return emitError(loc) << "ConvTranspose's strides and dilations must be "
                             "in [1, 65536], output_padding in [0, 65536], "
                             "output_shape in [1, 2^40] and the kernel in "
                             "[1, 2^31]";
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t span = a.dilations[i] * (a.kernel[i] - 1);
    if (a.outputShape.empty() && StringRef(a.autoPad).starts_with("SAME")) {
      // The output is the input times the stride: the total is constant.
      int64_t total =
          std::max<int64_t>(a.outputPadding[i] + span + 1 - a.strides[i], 0);
      a.pads[i] = a.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      a.pads[i + spatial] = total - a.pads[i];
    }
    // As PyTorch and ONNX Runtime: output padding below the stride or the
    // dilation (more would only add outputs no input reaches).
    if (a.outputPadding[i] >= std::max(a.strides[i], a.dilations[i]))
      return emitError(loc)
             << "ConvTranspose's output_padding " << a.outputPadding[i]
             << " in spatial dim " << i << " must be smaller than the stride ("
             << a.strides[i] << ") or the dilation (" << a.dilations[i] << ")";
    if ((a.outputShape.empty() &&
         (a.pads[i] < 0 || a.pads[i + spatial] < 0 || a.pads[i] > span ||
          a.pads[i + spatial] > span + a.outputPadding[i])))
      return emitError(loc)
             << "ConvTranspose in spatial dim " << i << ": pads (" << a.pads[i]
             << ", " << a.pads[i + spatial]
             << ") within the kernel's span and output_padding (" << span
             << ", " << span + a.outputPadding[i] << ")";
  }
  return success();
}

/// W [G * Cg, Mg, K...] as a Conv's [G * Mg, Cg, K...], taps reversed.
Value convWeights(GraphImporter &im, Location loc, Value w, int64_t group) {
  OpBuilder &b = im.b;
  Type f32 = b.getF32Type();
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t rank = wType.getRank(), Cg = wType.getDimSize(0) / group,
          Mg = wType.getDimSize(1);
  ArrayRef<int64_t> kernel = wType.getShape().drop_front(2);
  SmallVector<int64_t> wgShape = {group, Cg, Mg},
                       flippedShape = {group, Mg, Cg};
  llvm::append_range(wgShape, kernel);
  llvm::append_range(flippedShape, kernel);
  SmallVector<ReassociationIndices> groups = {{0, 1}};
  for (int64_t i = 1; i < rank; ++i)
    groups.push_back({i + 1});
  Value wg = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(wgShape, f32), w, groups);
  auto d = [&](int64_t i) { return getAffineDimExpr(i, im.ctx); };
  SmallVector<AffineExpr> read = {d(0), d(2), d(1)};
  for (size_t i = 0; i < kernel.size(); ++i)
    read.push_back(kernel[i] - 1 - d(3 + i));
  auto flippedType = RankedTensorType::get(flippedShape, f32);
  Value flipped =
      linalg::GenericOp::create(
          b, loc, TypeRange{flippedType}, ValueRange{wg},
          ValueRange{
              tensor::EmptyOp::create(b, loc, flippedShape, f32).getResult()},
          ArrayRef<AffineMap>{
              AffineMap::get(rank + 1, 0, read, im.ctx),
              AffineMap::getMultiDimIdentityMap(rank + 1, im.ctx)},
          SmallVector<utils::IteratorType>(rank + 1,
                                           utils::IteratorType::parallel),
          [](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(nb, l, args[0]);
          })
          .getResult(0);
  SmallVector<int64_t> convShape = {group * Mg, Cg};
  llvm::append_range(convShape, kernel);
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(convShape, f32), flipped, groups);
}

} // namespace

/// The spread input's size along spatial dim `i` (`in` long), the conv's
/// pads before and after it and its output size.
LogicalResult GraphImporter::transposedConvDim(
    Location loc, Value in, int64_t i, int64_t span, int64_t stride,
    int64_t padBefore, int64_t padAfter, int64_t outputPadding,
    std::optional<int64_t> outputSize, StringRef autoPad, Value &spread,
    Value &before, Value &after, Value &out) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // A run-time size is below 2^47 (no buffer is larger), a static one is
  // kept below 2^40: (L - 1) * stride stays inside int64.
  if (!getConstantIntValue(in))
    checkSizes(loc, arith::CmpIPredicate::sge, in, idx(1),
               "ConvTranspose input of size {0} in spatial dim " +
                   std::to_string(i) + " (at least {1} needed)");
  else if (*getConstantIntValue(in) < 1 ||
           *getConstantIntValue(in) > (int64_t(1) << 40))
    return emitError(loc) << "ConvTranspose input of size "
                          << *getConstantIntValue(in) << " in spatial dim " << i
                          << " (from 1 to 2^40 are supported)";
  spread = b.createOrFold<arith::AddIOp>(
      loc,
      b.createOrFold<arith::MulIOp>(
          loc, b.createOrFold<arith::SubIOp>(loc, in, idx(1)), idx(stride)),
      idx(1));
  // A negative pad (output_shape past the full output) pads more: the
  // extra outputs are the bias alone.
  before = idx(span - padBefore);
  after = idx(span - padAfter + outputPadding);
  if (outputSize) {
    // total = full - wanted, full = spread + span + output_padding; its
    // floored half first for SAME_UPPER, the rest first otherwise.
    Value total = b.createOrFold<arith::SubIOp>(
        loc,
        b.createOrFold<arith::AddIOp>(loc, spread, idx(span + outputPadding)),
        idx(*outputSize));
    Value half = b.createOrFold<arith::FloorDivSIOp>(loc, total, idx(2));
    Value rest = b.createOrFold<arith::SubIOp>(loc, total, half);
    bool upper = autoPad == "SAME_UPPER";
    before = b.createOrFold<arith::SubIOp>(loc, idx(span), upper ? half : rest);
    after = b.createOrFold<arith::SubIOp>(loc, idx(span + outputPadding),
                                          upper ? rest : half);
    for (Value pad : {before, after}) {
      if (auto c = getConstantIntValue(pad); c && *c < 0)
        return emitError(loc) << "ConvTranspose's output_shape " << *outputSize
                              << " in spatial dim " << i
                              << " is shorter than the input covers (it "
                                 "crops "
                              << -*c << " past the kernel's span)";
      if (!getConstantIntValue(pad))
        checkSizes(loc, arith::CmpIPredicate::sge, pad, idx(0),
                   "ConvTranspose's output_shape in spatial dim " +
                       std::to_string(i) +
                       " crops {0} past the kernel's span (at least {1})");
    }
  }
  out = b.createOrFold<arith::SubIOp>(
      loc,
      b.createOrFold<arith::AddIOp>(
          loc, spread, b.createOrFold<arith::AddIOp>(loc, before, after)),
      idx(span));
  // Pads may crop everything (an input of 1 by a kernel of 3, pads 2, 2):
  // refused, as ONNX Runtime and PyTorch refuse it.
  if (auto c = getConstantIntValue(out); c && *c < 1)
    return emitError(loc) << "ConvTranspose's output in spatial dim " << i
                          << " would be " << *c
                          << " long (its pads crop the whole output)";
  if (!getConstantIntValue(out))
    checkSizes(loc, arith::CmpIPredicate::sge, out, idx(1),
               "ConvTranspose's output in spatial dim " + std::to_string(i) +
                   " would be {0} long (its pads crop the whole output; at "
                   "least {1} needed)");
  return success();
}

/// ONNX ConvTranspose (see the file's comment).
LogicalResult GraphImporter::importConvTranspose(const onnx::NodeProto &node,
                                                 Location loc,
                                                 ArrayRef<Value> inputs) {
  if (inputs.size() < 2 || !inputs[0] || !inputs[1] ||
      !getElementTypeOrSelf(inputs[0].getType()).isF32() ||
      !getElementTypeOrSelf(inputs[1].getType()).isF32())
    return emitError(loc) << "ConvTranspose needs float X and W";
  Value x = inputs[0], w = inputs[1];
  Value bias = inputs.size() > 2 ? inputs[2] : Value();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank || !wType.hasStaticShape())
    return emitError(loc) << "ConvTranspose needs X [N, C, spatial...] and a "
                             "static W [C, M/group, kernel...] of equal rank "
                             ">= 3";
  TransposeAttributes a;
  if (failed(readAttributes(node, loc, wType, a)))
    return failure();
  int64_t group = a.group, C = wType.getDimSize(0), Mg = wType.getDimSize(1);
  if (group < 1 || C % group ||
      (!xType.isDynamicDim(1) && xType.getDimSize(1) != C))
    return emitError(loc) << "ConvTranspose: X has " << xType.getDimSize(1)
                          << " channels, W takes " << C << " in " << group
                          << " groups";
  int64_t Cg = C / group, M = Mg * group;
  if (bias && (cast<RankedTensorType>(bias.getType()).getRank() != 1 ||
               cast<RankedTensorType>(bias.getType()).getDimSize(0) != M))
    return emitError(loc) << "ConvTranspose's bias must be [" << M << "]";
  if (xType.isDynamicDim(1)) {
    Value size = tensor::DimOp::create(b, loc, x, 1);
    checkSizes(loc, arith::CmpIPredicate::eq, size,
               arith::ConstantIndexOp::create(b, loc, C),
               "ConvTranspose input has {0} channels, the weights take {1}");
    SmallVector<int64_t> shape(xType.getShape());
    shape[1] = C;
    xType = RankedTensorType::get(shape, xType.getElementType());
    x = refinedAfterCheck(loc, x, xType);
  }
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  // X spread: element i at i * stride, (L - 1) * stride + 1 long.
  SmallVector<OpFoldResult> spreadSizes = {tensor::getMixedSize(b, loc, x, 0),
                                           b.getIndexAttr(C)};
  SmallVector<OpFoldResult> low(rank, b.getIndexAttr(0)),
      high(rank, b.getIndexAttr(0)), outSizes;
  for (int64_t i = 0; i < spatial; ++i) {
    Value in = getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, x, i + 2));
    Value spread, before, after, out;
    std::optional<int64_t> outputSize;
    if (!a.outputShape.empty())
      outputSize = a.outputShape[i];
    if (failed(transposedConvDim(loc, in, i, a.dilations[i] * (a.kernel[i] - 1),
                                 a.strides[i], a.pads[i], a.pads[i + spatial],
                                 a.outputPadding[i], outputSize, a.autoPad,
                                 spread, before, after, out)))
      return failure();
    spreadSizes.push_back(getAsOpFoldResult(spread));
    low[i + 2] = getAsOpFoldResult(before);
    high[i + 2] = getAsOpFoldResult(after);
    outSizes.push_back(getAsOpFoldResult(out));
  }
  Value spread = x;
  if (llvm::any_of(a.strides, [](int64_t s) { return s != 1; })) {
    Value zeros =
        linalg::FillOp::create(
            b, loc, zero,
            tensor::EmptyOp::create(b, loc, spreadSizes, f32).getResult())
            .getResult(0);
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        steps = {b.getIndexAttr(1), b.getIndexAttr(1)};
    for (int64_t s : a.strides)
      steps.push_back(b.getIndexAttr(s));
    spread = tensor::InsertSliceOp::create(
        b, loc, x, zeros, offsets, tensor::getMixedSizes(b, loc, x), steps);
  }
  Value padded = tensor::PadOp::create(b, loc, RankedTensorType(), spread, low,
                                       high, zero, /*nofold=*/false);
  Value convW = convWeights(*this, loc, w, group);
  ConvOperands operands{x,
                        padded,
                        convW,
                        bias,
                        zero,
                        xType,
                        cast<RankedTensorType>(convW.getType()),
                        group,
                        C,
                        M,
                        Cg,
                        spatial,
                        SmallVector<int64_t>(spatial, 1),
                        a.dilations,
                        outSizes};
  return define(node, groupedConv(*this, loc, operands));
}

} // namespace convc::onnx_import
