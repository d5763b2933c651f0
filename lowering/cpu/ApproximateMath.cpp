//===- ApproximateMath.cpp - vectorisable math polynomials ----------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace convc {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {
Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc, SplatElementsAttr::get(vector, b.getF32FloatAttr(value)));
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// Upstream's log polynomials read the exponent of a normal float and clamp
/// smaller inputs to FLT_MIN: log(1e-45) came out -87.3, not -103.3. A
/// subnormal x is scaled by 2^23 into the normal range first and the log of
/// the scale subtracted.
void scaleSubnormalLogs(Operation *root) {
  SmallVector<Operation *> logs;
  root->walk([&](Operation *op) {
    if (isa<math::LogOp, math::Log2Op>(op) &&
        getElementTypeOrSelf(op->getResult(0).getType()).isF32())
      logs.push_back(op);
  });
  for (Operation *op : logs) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value x = op->getOperand(0);
    Type type = x.getType();
    Value tiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                       floatConstant(b, loc, type, 0x1p-126));
    Value scale = arith::SelectOp::create(b, loc, tiny,
                                          floatConstant(b, loc, type, 0x1p23),
                                          floatConstant(b, loc, type, 1.0));
    Value scaled = arith::MulFOp::create(b, loc, x, scale);
    Operation *log = b.clone(*op);
    log->setOperand(0, scaled);
    double shift = isa<math::LogOp>(op) ? 23 * M_LN2 : 23.0;
    Value correction = arith::SelectOp::create(
        b, loc, tiny, floatConstant(b, loc, type, shift),
        floatConstant(b, loc, type, 0.0));
    Value result = arith::SubFOp::create(b, loc, log->getResult(0), correction);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
  }
}

struct ApproximateMathPass
    : convc::impl::ApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
    scaleSubnormalLogs(getOperation());
    RewritePatternSet patterns(&getContext());
    // Not sin and cos: upstream's reduce the argument by pi / 2 in f32 and
    // through an i32, which loses digits from |x| ~ 1e3 (positions times
    // frequencies) and wraps past 2^31; libm's sinf and cosf reduce exactly.
    // Not atan: upstream's is off by 4e-6 (35 ulp); libm's atanf is exact.
    auto approximated = [](StringRef name) {
      return name != math::SinOp::getOperationName() &&
             name != math::CosOp::getOperationName() &&
             name != math::AtanOp::getOperationName();
    };
    populateMathF32ExpansionPatterns(patterns, approximated);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
