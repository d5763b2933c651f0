//===- FuseTaLK.cpp - fuse TaLK's scale, prefix sum and window ------------===//

#include "passes/GenericMatchers.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_FUSETALKPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// prefix_sum(x * c) -> prefix_sum(x) {scale * c}; likewise c * x and x / c,
/// as arith ops on tensors or the importer's elementwise generics.
struct FoldScaleIntoPrefixSum : OpRewritePattern<PrefixSumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PrefixSumOp op,
                                PatternRewriter &rewriter) const override {
    Operation *producer = op.getInput().getDefiningOp();
    if (!producer)
      return failure();
    Value input;
    double factor;
    if (auto mul = dyn_cast<arith::MulFOp>(producer)) {
      if (std::optional<double> c = splatValue(mul.getRhs()))
        input = mul.getLhs(), factor = *c;
      else if (std::optional<double> c = splatValue(mul.getLhs()))
        input = mul.getRhs(), factor = *c;
      else
        return failure();
    } else if (auto div = dyn_cast<arith::DivFOp>(producer)) {
      std::optional<double> c = splatValue(div.getRhs());
      if (!c || *c == 0.0)
        return failure();
      input = div.getLhs(), factor = 1.0 / *c;
    } else if (auto scaled = scaledByConstant(op.getInput())) {
      // The importer's Mul or Div by a scalar: a generic of x and a constant.
      std::tie(input, factor) = *scaled;
    } else {
      return failure();
    }
    if (input.getType() != op.getInput().getType())
      return failure();
    double scale = op.getScale().convertToDouble() * factor;
    rewriter.replaceOpWithNewOp<PrefixSumOp>(op, input,
                                             rewriter.getF64FloatAttr(scale));
    return success();
  }
};

/// window_diff(prefix_sum(x) {scale = 1/Kn}) -> talk_conv(x).
struct FuseWindowDiffOfPrefixSum : OpRewritePattern<WindowDiffOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(WindowDiffOp op,
                                PatternRewriter &rewriter) const override {
    auto prefix = op.getPrefixSums().getDefiningOp<PrefixSumOp>();
    if (!prefix)
      return rewriter.notifyMatchFailure(op, "input is not a prefix_sum");
    double kn = double(op.getLeftMax() + op.getRightMax() + 1);
    // A scale that came through f32 (x / Kn in the model) is 1/Kn to within
    // f32 rounding; anything else is not TaLK's normalisation.
    if (std::abs(prefix.getScale().convertToDouble() * kn - 1.0) > 1e-6)
      return rewriter.notifyMatchFailure(op, "scale is not 1/Kn");
    rewriter.replaceOpWithNewOp<TaLKConvOp>(
        op, prefix.getInput(), op.getOffsets(), op.getLeftMax(),
        op.getRightMax(), op.getCausal());
    return success();
  }
};

struct FuseTaLKPass : convc::impl::FuseTaLKPassBase<FuseTaLKPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldScaleIntoPrefixSum, FuseWindowDiffOfPrefixSum>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
