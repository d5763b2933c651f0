//===- RaiseLightweightConv.cpp - head-shared kernels to LightweightConv --===//
//
// Exporters expand a LightweightConv's [H, K] kernel to one row per channel
// (channel c uses head c / R) before a grouped conv; after weight folding at
// import the depthwise conv's weight is a constant whose rows repeat in
// blocks of R. The [H, K] kernel is recovered from the constant.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_RAISELIGHTWEIGHTCONVPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The largest R dividing C such that rows [h R, (h + 1) R) of `w` [C, K]
/// are equal for every h.
int64_t sharedRows(ArrayRef<float> w, int64_t C, int64_t K) {
  for (int64_t R = C; R > 1; --R) {
    if (C % R)
      continue;
    bool shared = true;
    for (int64_t c = 0; c < C && shared; ++c)
      for (int64_t k = 0; k < K && shared; ++k)
        shared = w[c * K + k] == w[(c - c % R) * K + k];
    if (shared)
      return R;
  }
  return 1;
}

struct RaiseHeadSharedDepthwiseConv : OpRewritePattern<DepthwiseConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DepthwiseConvOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getDilation() != 1)
      return rewriter.notifyMatchFailure(op, "dilated");
    DenseElementsAttr weight;
    if (!matchPattern(op.getWeight(), m_Constant(&weight)) ||
        !weight.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "weight is not an f32 constant");
    int64_t C = weight.getType().getDimSize(0), K = weight.getType().getDimSize(1);
    SmallVector<float> w(weight.getValues<float>());
    int64_t R = sharedRows(w, C, K);
    if (R == 1)
      return rewriter.notifyMatchFailure(op, "no rows shared across channels");
    int64_t H = C / R;
    SmallVector<float> heads;
    for (int64_t h = 0; h < H; ++h)
      heads.append(w.begin() + h * R * K, w.begin() + h * R * K + K);
    auto type = RankedTensorType::get({H, K}, rewriter.getF32Type());
    Value kernel = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(type, ArrayRef<float>(heads)));
    rewriter.replaceOpWithNewOp<LightweightConvOp>(
        op, op.getInput(), kernel, op.getBias(), H, op.getPadding(),
        /*weight_softmax=*/false);
    return success();
  }
};

struct RaiseLightweightConvPass
    : convc::impl::RaiseLightweightConvPassBase<RaiseLightweightConvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseHeadSharedDepthwiseConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
