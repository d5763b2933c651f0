//===- FuseKernelSoftmax.cpp - softmax inside the DynamicConv -------------===//

#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_FUSEKERNELSOFTMAXPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// dynamic_kernel_conv(kernel_softmax(z)) -> dynamic_kernel_conv(z) {kernel_softmax}
struct FuseSoftmaxIntoDynamicKernelConv
    : OpRewritePattern<DynamicKernelConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DynamicKernelConvOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getKernelSoftmax())
      return failure();
    auto softmax = op.getKernels().getDefiningOp<KernelSoftmaxOp>();
    if (!softmax)
      return failure();
    rewriter.replaceOpWithNewOp<DynamicKernelConvOp>(
        op, op.getInput(), softmax.getInput(), op.getPadding(),
        /*kernel_softmax=*/true);
    return success();
  }
};

struct FuseKernelSoftmaxPass
    : convc::impl::FuseKernelSoftmaxPassBase<FuseKernelSoftmaxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSoftmaxIntoDynamicKernelConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
