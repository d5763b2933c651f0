//===- FoldWeightSoftmax.cpp - LightConv softmax at compile time ----------===//

#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_FOLDWEIGHTSOFTMAXPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

struct FoldConstantWeightSoftmax : OpRewritePattern<LightweightConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LightweightConvOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getWeightSoftmax())
      return failure();
    DenseElementsAttr weight;
    if (!matchPattern(op.getWeight(), m_Constant(&weight)))
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    DenseElementsAttr softmaxed = foldKernelSoftmax(weight);
    if (!softmaxed)
      return failure();
    Value folded =
        arith::ConstantOp::create(rewriter, op.getLoc(), softmaxed);
    rewriter.modifyOpInPlace(op, [&] {
      op.getWeightMutable().assign(folded);
      op.setWeightSoftmax(false);
    });
    return success();
  }
};

struct FoldWeightSoftmaxPass
    : convc::impl::FoldWeightSoftmaxPassBase<FoldWeightSoftmaxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConstantWeightSoftmax>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
