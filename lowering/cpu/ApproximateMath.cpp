//===- ApproximateMath.cpp - vectorisable math polynomials ----------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {
struct ApproximateMathPass
    : convc::impl::ApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
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
