//===- RaiseGLU.cpp - split, sigmoid and multiply to convc.glu ------------===//
//
//   %a = tensor.extract_slice %h [.., 0] [.., C]     first half
//   %b = tensor.extract_slice %h [.., C] [.., C]     second half
//   %s = linalg.generic ins(%b) { 1 / (1 + exp(-x)) }
//   %y = linalg.generic ins(%a, %s) { x * y }        (either order)
//
// becomes %y = convc.glu %h when h's last dim is 2C.
//
//===----------------------------------------------------------------------===//

#include "passes/GenericMatchers.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_RAISEGLUPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The half (0: first, 1: second) of the last dim of its source that
/// `slice` takes, with unit strides and full other dims; -1 otherwise.
int halfOf(tensor::ExtractSliceOp slice, Value &source) {
  if (!slice)
    return -1;
  auto srcType = slice.getSourceType();
  int64_t rank = srcType.getRank(), width = srcType.getDimSize(rank - 1);
  if (ShapedType::isDynamic(width) || width % 2 || !slice.hasUnitStride() ||
      slice.getResultType().getRank() != rank)
    return -1;
  auto offsets = slice.getMixedOffsets();
  auto sizes = slice.getMixedSizes();
  for (int64_t d = 0; d + 1 < rank; ++d)
    if (!isZeroInteger(offsets[d]))
      return -1;
  // Full extent of the leading dims: static sizes equal to the source's,
  // or the source's own tensor.dim.
  for (int64_t d = 0; d + 1 < rank; ++d) {
    if (auto c = getConstantIntValue(sizes[d])) {
      if (*c != srcType.getDimSize(d))
        return -1;
      continue;
    }
    auto dim = cast<Value>(sizes[d]).getDefiningOp<tensor::DimOp>();
    if (!dim || dim.getSource() != slice.getSource() ||
        dim.getConstantIndex() != d)
      return -1;
  }
  std::optional<int64_t> offset = getConstantIntValue(offsets[rank - 1]),
                         size = getConstantIntValue(sizes[rank - 1]);
  if (!offset || size != width / 2 || (*offset != 0 && *offset != width / 2))
    return -1;
  source = slice.getSource();
  return *offset == 0 ? 0 : 1;
}

struct RaiseSplitSigmoidMul : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp mul,
                                PatternRewriter &rewriter) const override {
    if (!elementwiseBody(mul, 2) ||
        !yieldedOpOfInputs<arith::MulFOp>(mul, 2))
      return rewriter.notifyMatchFailure(mul, "not an elementwise multiply "
                                              "of its two inputs");
    for (int gate = 0; gate < 2; ++gate) {
      auto sigmoid =
          mul.getDpsInputs()[gate].getDefiningOp<linalg::GenericOp>();
      if (!sigmoid || !isSigmoid(sigmoid))
        continue;
      Value first, second;
      if (halfOf(mul.getDpsInputs()[1 - gate]
                     .getDefiningOp<tensor::ExtractSliceOp>(),
                 first) != 0 ||
          halfOf(sigmoid.getDpsInputs()[0]
                     .getDefiningOp<tensor::ExtractSliceOp>(),
                 second) != 1 ||
          first != second)
        continue;
      Value glu = GLUOp::create(rewriter, mul.getLoc(), first);
      if (glu.getType() != mul.getResult(0).getType())
        glu = tensor::CastOp::create(rewriter, mul.getLoc(),
                                     mul.getResult(0).getType(), glu);
      rewriter.replaceOp(mul, glu);
      return success();
    }
    return rewriter.notifyMatchFailure(mul, "not a * sigmoid(b) of halves");
  }
};

struct RaiseGLUPass : convc::impl::RaiseGLUPassBase<RaiseGLUPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseSplitSigmoidMul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
