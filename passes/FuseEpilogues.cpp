//===- FuseEpilogues.cpp - GLU, residual, LayerNorm into projections -----===//

#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_FUSEEPILOGUESPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// A projection whose result only feeds `user`, with no epilogue past the
/// stage a pattern wants to add.
LinearOp fusableProjection(Value value) {
  auto linear = value.getDefiningOp<LinearOp>();
  if (!linear || !linear->hasOneUse())
    return nullptr;
  return linear;
}

/// Rebuilds `linear` with extra epilogue pieces.
LinearOp rebuild(PatternRewriter &rewriter, Operation *anchor, LinearOp linear,
                 Activation activation, Value residual, Value gamma,
                 Value beta, double eps) {
  return LinearOp::create(
      rewriter, anchor->getLoc(), linear.getInput(), linear.getWeight(),
      linear.getBias(), residual, gamma, beta,
      ActivationAttr::get(rewriter.getContext(), activation),
      rewriter.getF64FloatAttr(eps));
}

/// glu(linear(x)) -> linear(x) {activation = glu}
struct FuseGLU : OpRewritePattern<GLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GLUOp op,
                                PatternRewriter &rewriter) const override {
    LinearOp linear = fusableProjection(op.getInput());
    if (!linear || linear.getActivation() != Activation::none ||
        linear.getResidual() || linear.getLnGamma())
      return rewriter.notifyMatchFailure(op, "no plain projection to fuse");
    LinearOp fused = rebuild(rewriter, op, linear, Activation::glu, {}, {}, {},
                             linear.getEps().convertToDouble());
    rewriter.replaceOp(op, fused.getResult());
    rewriter.eraseOp(linear);
    return success();
  }
};

/// linear(x) + r -> linear(x) residual r  (either operand order)
struct FuseResidualAdd : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::AddFOp op,
                                PatternRewriter &rewriter) const override {
    for (int side = 0; side < 2; ++side) {
      LinearOp linear = fusableProjection(op->getOperand(side));
      Value residual = op->getOperand(1 - side);
      if (!linear || linear.getResidual() || linear.getLnGamma() ||
          residual.getType() != linear.getType())
        continue;
      LinearOp fused = rebuild(rewriter, op, linear, linear.getActivation(),
                               residual, {}, {},
                               linear.getEps().convertToDouble());
      rewriter.replaceOp(op, fused.getResult());
      rewriter.eraseOp(linear);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no projection operand to fuse");
  }
};

/// layer_norm(a + r) -> layer_norm(a) residual r
struct FoldAddIntoLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    auto add = op.getInput().getDefiningOp<arith::AddFOp>();
    if (op.getResidual() || !add || !add->hasOneUse() ||
        add.getLhs().getType() != add.getRhs().getType())
      return failure();
    // Prefer keeping a projection as the input so FuseLayerNorm can apply.
    Value input = add.getLhs(), residual = add.getRhs();
    if (!input.getDefiningOp<LinearOp>() && residual.getDefiningOp<LinearOp>())
      std::swap(input, residual);
    rewriter.replaceOpWithNewOp<LayerNormOp>(op, input, op.getGamma(),
                                             op.getBeta(), residual,
                                             op.getEps());
    rewriter.eraseOp(add);
    return success();
  }
};

/// layer_norm(linear(x) [+ r]) -> linear(x) [residual r] layer_norm
struct FuseLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    LinearOp linear = fusableProjection(op.getInput());
    if (!linear || linear.getLnGamma() ||
        (linear.getResidual() && op.getResidual()))
      return rewriter.notifyMatchFailure(op, "no projection to fuse into");
    Value residual =
        linear.getResidual() ? linear.getResidual() : op.getResidual();
    LinearOp fused = rebuild(rewriter, op, linear, linear.getActivation(),
                             residual, op.getGamma(), op.getBeta(),
                             op.getEps().convertToDouble());
    rewriter.replaceOp(op, fused.getResult());
    rewriter.eraseOp(linear);
    return success();
  }
};

struct FuseEpiloguesPass : convc::impl::FuseEpiloguesPassBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGLU, FuseResidualAdd, FoldAddIntoLayerNorm, FuseLayerNorm>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
