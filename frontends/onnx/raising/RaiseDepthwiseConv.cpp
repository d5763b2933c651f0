//===- RaiseDepthwiseConv.cpp - exported depthwise convs to convc ---------===//
//
//   linalg.transpose [0, 2, 1]                      [B, C, T'] -> [B, T', C]
//     (+ bias[c], a linalg.generic)
//     linalg.depthwise_conv_1d_ncw_cw {dilations = [d], strides = [1]}
//       outs(linalg.fill 0.0)
//       tensor.pad (time, zeros)?                   conv pads
//         linalg.transpose [0, 2, 1]                [B, T, C] -> [B, C, T]
//           tensor.pad (time, zeros)?               F.pad before the conv
//             %x
//
// becomes convc.depthwise_conv %x, %w (, %bias) {padding = P, dilation = d}
// when the pads add up to P * d on the left and (K - 1 - P) * d on the right.
// fairseq's TBC layout exports the same with transposes [1, 2, 0] (TBC ->
// BCT) and [2, 0, 1] (back); then the convc op runs between transposes to
// and from BTC.
//
// fairseq's LightweightConv1d folds heads into the batch instead (a grouped
// conv of [B * C / H, H, T] between views); UnfoldHeadBatchedConv turns it
// into the depthwise conv above with the kernel repeated across channels.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/raising/ImportedForms.h"
#include "frontends/onnx/raising/Passes.h"
#include "passes/GenericMatchers.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_RAISEDEPTHWISECONVPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

bool swapsLastTwo(linalg::TransposeOp op) {
  return op.getPermutation() == ArrayRef<int64_t>{0, 2, 1};
}

/// The sequence layout a transpose back from [B, C, T] produces: BTC
/// ([0, 2, 1]) or TBC ([2, 0, 1]).
enum class Layout { BTC, TBC, Other };
Layout layoutFromBCT(linalg::TransposeOp op) {
  if (swapsLastTwo(op))
    return Layout::BTC;
  if (op.getPermutation() == ArrayRef<int64_t>{2, 0, 1})
    return Layout::TBC;
  return Layout::Other;
}

/// Whether `op` turns the `layout` into [B, C, T].
bool toBCT(linalg::TransposeOp op, Layout layout) {
  return layout == Layout::BTC ? swapsLastTwo(op)
                               : op.getPermutation() ==
                                     ArrayRef<int64_t>{1, 2, 0};
}

/// [T, B, C] <-> [B, T, C].
Value swapLeadingTwo(PatternRewriter &rewriter, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(rewriter, loc, v, 1),
                                     tensor::getMixedSize(rewriter, loc, v, 0),
                                     tensor::getMixedSize(rewriter, loc, v, 2)};
  Value init = tensor::EmptyOp::create(rewriter, loc, sizes,
                                       type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, v, init,
                                     ArrayRef<int64_t>{1, 0, 2})
      .getResult()[0];
}

bool isZeroFloat(Value v) {
  return v && matchPattern(v, m_AnyZeroFloat());
}

/// Peels zero padding of dim `time` only (static amounts); adds the amounts
/// to `left` / `right`.
Value peelTimePad(Value v, int64_t time, int64_t &left, int64_t &right) {
  while (auto pad = v.getDefiningOp<tensor::PadOp>()) {
    Value padValue = pad.getConstantPaddingValue();
    if (!isZeroFloat(padValue))
      break;
    SmallVector<OpFoldResult> low = pad.getMixedLowPad(),
                              high = pad.getMixedHighPad();
    bool onlyTime = true;
    int64_t l = 0, r = 0;
    for (int64_t d = 0; d < int64_t(low.size()); ++d) {
      std::optional<int64_t> lo = getConstantIntValue(low[d]),
                             hi = getConstantIntValue(high[d]);
      if (!lo || !hi || ((*lo || *hi) && d != time)) {
        onlyTime = false;
        break;
      }
      if (d == time)
        l = *lo, r = *hi;
    }
    if (!onlyTime)
      break;
    left += l;
    right += r;
    v = pad.getSource();
  }
  return v;
}

/// y + bias[c] over [B, C, T] (either operand order): the per-channel bias
/// the importer adds after a depthwise conv, a [C] bias or a [1, C, 1] one
/// (a user's `bias.view(1, -1, 1)`). Returns the bias, or null.
Value matchChannelBias(linalg::GenericOp add, Value &convOut) {
  if (add.getNumLoops() != 3 || !yieldedOpOfInputs<arith::AddFOp>(add, 2))
    return {};
  auto maps = add.getIndexingMapsArray();
  MLIRContext *ctx = add.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineExpr zero = getAffineConstantExpr(0, ctx),
             channel = getAffineDimExpr(1, ctx);
  auto isChannelMap = [&](AffineMap map) {
    return map == AffineMap::get(3, 0, {channel}, ctx) ||
           map == AffineMap::get(3, 0, {zero, channel, zero}, ctx);
  };
  if (maps[2] != identity)
    return {};
  for (int i = 0; i < 2; ++i)
    if (maps[i] == identity && isChannelMap(maps[1 - i])) {
      convOut = add.getDpsInputs()[i];
      return add.getDpsInputs()[1 - i];
    }
  return {};
}

/// `bias` as [C]: a [1, C, 1] one collapsed.
Value channelVector(PatternRewriter &rewriter, Location loc, Value bias) {
  if (!bias || cast<RankedTensorType>(bias.getType()).getRank() == 1)
    return bias;
  return tensor::CollapseShapeOp::create(
      rewriter, loc, bias, ArrayRef<ReassociationIndices>{{0, 1, 2}});
}

struct RaiseTransposedDepthwiseConv : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp outer,
                                PatternRewriter &rewriter) const override {
    Layout layout = layoutFromBCT(outer);
    if (layout == Layout::Other)
      return rewriter.notifyMatchFailure(outer, "not a transpose from BCT");
    Value convOut = outer.getInput(), bias;
    if (auto add = convOut.getDefiningOp<linalg::GenericOp>())
      bias = matchChannelBias(add, convOut);
    auto conv = convOut.getDefiningOp<linalg::DepthwiseConv1DNcwCwOp>();
    if (!conv)
      return rewriter.notifyMatchFailure(outer, "no depthwise conv below");
    auto strides = conv.getStrides().getValues<int64_t>();
    int64_t dilation = *conv.getDilations().getValues<int64_t>().begin();
    if (*strides.begin() != 1)
      return rewriter.notifyMatchFailure(conv, "strided");
    auto fill = conv.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    if (!fill || !isZeroFloat(fill.getInputs()[0]))
      return rewriter.notifyMatchFailure(conv, "accumulates into non-zeros");
    int64_t left = 0, right = 0;
    Value image = peelTimePad(conv.getDpsInputs()[0], 2, left, right);
    auto inner = image.getDefiningOp<linalg::TransposeOp>();
    if (!inner || !toBCT(inner, layout))
      return rewriter.notifyMatchFailure(conv, "input is not from the layout "
                                               "the output returns to");
    int64_t time = layout == Layout::BTC ? 1 : 0;
    Value x = peelTimePad(inner.getInput(), time, left, right);
    Value w = conv.getDpsInputs()[1];
    auto wType = cast<RankedTensorType>(w.getType());
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t K = wType.getDimSize(1);
    if (ShapedType::isDynamic(K) || left % dilation)
      return rewriter.notifyMatchFailure(conv, "padding is not in taps");
    int64_t P = left / dilation;
    if (P > K - 1 || right != (K - 1 - P) * dilation)
      return rewriter.notifyMatchFailure(
          conv, "padding does not keep the sequence length");
    if (xType.getElementType() != rewriter.getF32Type() ||
        xType.isDynamicDim(2) || !wType.hasStaticShape() ||
        wType.getDimSize(0) != xType.getDimSize(2) ||
        (bias && !cast<RankedTensorType>(bias.getType()).hasStaticShape()))
      return rewriter.notifyMatchFailure(
          conv, "needs f32 [B, T, C] and static [C, K] weights and bias");
    Location loc = outer.getLoc();
    if (layout == Layout::TBC)
      x = swapLeadingTwo(rewriter, loc, x);
    Value y = DepthwiseConvOp::create(
        rewriter, loc, x, w, channelVector(rewriter, loc, bias), P, dilation);
    if (layout == Layout::TBC)
      y = swapLeadingTwo(rewriter, loc, y);
    if (y.getType() != outer.getResult()[0].getType())
      y = tensor::CastOp::create(rewriter, outer.getLoc(),
                                 outer.getResult()[0].getType(), y);
    rewriter.replaceOp(outer, y);
    return success();
  }
};

/// Element `i` of a reshape's rank-1 shape operand (from_elements or a
/// constant); null when it is neither.
OpFoldResult shapeElement(Value shape, int64_t i) {
  if (auto elements = shape.getDefiningOp<tensor::FromElementsOp>())
    return elements.getElements()[i];
  DenseIntElementsAttr constant;
  if (matchPattern(shape, m_Constant(&constant)))
    return IntegerAttr::get(IndexType::get(shape.getContext()),
                            constant.getValues<APInt>()[i].getSExtValue());
  return {};
}

/// The [H, K] kernel `w` as [C, K] with row c = w[c % H].
Value repeatHeadsAcrossChannels(PatternRewriter &rewriter, Location loc,
                                Value w, int64_t C) {
  auto type = cast<RankedTensorType>(w.getType());
  int64_t H = type.getDimSize(0), K = type.getDimSize(1);
  auto wideType = RankedTensorType::get({C, K}, type.getElementType());
  DenseElementsAttr constant;
  if (matchPattern(w, m_Constant(&constant)) && type.getElementType().isF32()) {
    SmallVector<float> heads(constant.getValues<float>()), rows;
    for (int64_t c = 0; c < C; ++c)
      rows.append(heads.begin() + (c % H) * K, heads.begin() + (c % H + 1) * K);
    return arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(wideType, ArrayRef<float>(rows)));
  }
  Value init = tensor::EmptyOp::create(rewriter, loc, {C / H, H, K},
                                       type.getElementType());
  Value repeated =
      linalg::BroadcastOp::create(rewriter, loc, w, init, ArrayRef<int64_t>{0})
          .getResult()[0];
  return tensor::CollapseShapeOp::create(
      rewriter, loc, wideType, repeated,
      ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// fairseq's LightweightConv1d on x : [B, C, T]: x viewed as
/// [B * C / H, H, T], a grouped conv with one kernel per head, the result
/// viewed back to [B, C, T]. Channel c meets head c % H, so it is a
/// depthwise conv of x with the [H, K] kernel repeated C / H times, which
/// RaiseTransposedDepthwiseConv then raises.
///
/// The views' element checks stay; with them the viewed-back result is
/// [B, C, T] exactly when the length is kept, except for an empty batch
/// whose view back inferred a -1 by division ([0, C, 0] there, both empty).
struct UnfoldHeadBatchedConv : OpRewritePattern<tensor::ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ReshapeOp outer,
                                PatternRewriter &rewriter) const override {
    auto conv =
        outer.getSource().getDefiningOp<linalg::DepthwiseConv1DNcwCwOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(outer,
                                         "not a view of a depthwise conv");
    if (*conv.getStrides().getValues<int64_t>().begin() != 1)
      return rewriter.notifyMatchFailure(conv, "strided");
    int64_t dilation = *conv.getDilations().getValues<int64_t>().begin();
    auto fill = conv.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    if (!fill || !isZeroFloat(fill.getInputs()[0]))
      return rewriter.notifyMatchFailure(conv, "accumulates into non-zeros");
    int64_t left = 0, right = 0;
    Value image = peelTimePad(conv.getDpsInputs()[0], 2, left, right);
    auto inner = image.getDefiningOp<tensor::ReshapeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(conv, "input is not a view");
    Value x = inner.getSource(), w = conv.getDpsInputs()[1];
    auto xType = cast<RankedTensorType>(x.getType());
    auto headType = cast<RankedTensorType>(inner.getType());
    auto outType = cast<RankedTensorType>(outer.getType());
    auto wType = cast<RankedTensorType>(w.getType());
    if (xType.getRank() != 3 || headType.getRank() != 3 ||
        outType.getRank() != 3 || !wType.hasStaticShape())
      return rewriter.notifyMatchFailure(conv, "not [N, H, T] views");
    int64_t C = xType.getDimSize(1), H = headType.getDimSize(1),
            K = wType.getDimSize(1);
    if (ShapedType::isDynamic(C) || ShapedType::isDynamic(H) || C % H ||
        outType.getDimSize(1) != C)
      return rewriter.notifyMatchFailure(conv, "heads do not split channels");
    if (left + right != (K - 1) * dilation)
      return rewriter.notifyMatchFailure(conv, "the length is not kept");
    if (!isSizeOfDim(shapeElement(inner.getShape(), 2), x, 2) ||
        !isSizeOfDim(shapeElement(outer.getShape(), 0), x, 0))
      return rewriter.notifyMatchFailure(
          outer, "the views do not keep batch and time");
    Location loc = outer.getLoc();
    Value padded = x;
    if (left || right)
      padded = tensor::PadOp::create(
          rewriter, loc, Type(), x,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(left)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(0),
                                 rewriter.getIndexAttr(right)},
          fill.getInputs()[0]);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    Value init =
        linalg::FillOp::create(rewriter, loc, fill.getInputs()[0],
                               tensor::EmptyOp::create(rewriter, loc, sizes,
                                                       xType.getElementType())
                                   .getResult())
            .getResult(0);
    Value y =
        linalg::DepthwiseConv1DNcwCwOp::create(
            rewriter, loc, TypeRange{init.getType()},
            ValueRange{padded, repeatHeadsAcrossChannels(rewriter, loc, w, C)},
            ValueRange{init}, conv.getStrides(), conv.getDilations())
            .getResult(0);
    if (y.getType() != outType)
      y = tensor::CastOp::create(rewriter, loc, outType, y);
    rewriter.replaceOp(outer, y);
    return success();
  }
};

struct RaiseDepthwiseConvPass
    : convc::impl::RaiseDepthwiseConvPassBase<RaiseDepthwiseConvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseTransposedDepthwiseConv, UnfoldHeadBatchedConv>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
