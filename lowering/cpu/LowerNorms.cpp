//===- LowerNorms.cpp - layer_norm to loops -------------------------------===//
//
// layer_norm is the projections' row epilogue without the projection:
// (residual +) normalisation of each row, rows in parallel.
//
// Math: docs/semantics.md, layer_norm.
//
//===----------------------------------------------------------------------===//

#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/PatternMatch.h"

namespace convc::cpu_lowering {
namespace {

struct LowerLayerNorm : ConvcLoweringPattern<LayerNormOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(LayerNormOp op, KernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    RowEpilogue e;
    if (op.getResidual())
      e.residual = b.rows(b.toBuffer(op.getResidual()));
    e.gamma = b.toBuffer(op.getGamma());
    e.beta = b.toBuffer(op.getBeta());
    e.eps = op.getEps().convertToDouble();
    b.parallel({b.dim(x2, 0)}, [&](ValueRange ivs) {
      emitRowEpilogue(b, e, x2, ivs[0], y2, ivs[0], W, options.vectorWidth);
    });
    return b.toTensor(y, type);
  }
};

} // namespace

void populateNormLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerLayerNorm>(ctx, options);
}

} // namespace convc::cpu_lowering
