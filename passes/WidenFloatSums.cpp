//===- WidenFloatSums.cpp - f64 accumulators for float sums ---------------===//
//
// A linalg.generic that sums floats (ReduceSum/Mean/L1/L2, a Softmax's
// denominator, an Einsum or a MatMul that no raising took) yields
// `term + acc` into an output of the input's type: one rounding per term.
// Over a long or run-time axis the rounding builds up (2^24 + 4096 ones
// sum to 2^24 in f32; the mean of 3M values near 1000 is 1.9% off), while
// ONNX Runtime's blocked sums stay exact. The sum is carried in f64 and
// rounded once at the end, which on a scalar loop costs about nothing.
//
// Runs after raising and fusion, which match the f32 forms the importer
// emits; what reaches this pass is lowered as plain loops.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_WIDENFLOATSUMSPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// A reducing generic with one output whose body yields `term + acc`, `acc`
/// (the output's block argument) used nowhere else: the same generic over
/// an f64 output, then one rounding to the original type.
struct WidenSumAccumulator : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
        op->getNumResults() != 1 || !op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not a one-output reduction");
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    auto narrow = dyn_cast<FloatType>(resultType.getElementType());
    if (!narrow || narrow.getWidth() >= 64)
      return rewriter.notifyMatchFailure(op, "not a float narrower than f64");
    Block *body = op.getBody();
    BlockArgument acc = body->getArguments().back();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!add || add->getBlock() != body || !acc.hasOneUse() ||
        !add->hasOneUse() || (add.getLhs() != acc && add.getRhs() != acc) ||
        add.getLhs() == add.getRhs())
      return rewriter.notifyMatchFailure(op, "does not yield term + acc");
    Value term = add.getLhs() == acc ? add.getRhs() : add.getLhs();

    Location loc = op.getLoc();
    Type wide = rewriter.getF64Type();
    auto extend = [&](OpBuilder &nb, Location l, Value v) -> Value {
      return arith::ExtFOp::create(nb, l, wide, v);
    };
    // The starting values, widened: a fill's scalar, or each element.
    Value init = op.getDpsInits()[0], wideInit;
    if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, tensor::getMixedSizes(rewriter, loc, init), wide);
      wideInit =
          linalg::FillOp::create(
              rewriter, loc, extend(rewriter, loc, fill.getInputs()[0]), empty)
              .getResult(0);
    } else {
      // Elementwise on tensors: the loops stage's upstream
      // convert-elementwise-to-linalg makes it a generic.
      wideInit = arith::ExtFOp::create(
          rewriter, loc, RankedTensorType::get(resultType.getShape(), wide),
          init);
    }

    auto widened = linalg::GenericOp::create(
        rewriter, loc, TypeRange{wideInit.getType()}, op.getDpsInputs(),
        ValueRange{wideInit}, op.getIndexingMapsArray(),
        op.getIteratorTypesArray(),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          IRMapping mapping;
          mapping.map(body->getArguments(), args);
          for (Operation &inner : body->without_terminator())
            if (&inner != add.getOperation())
              nb.clone(inner, mapping);
          Value sum = arith::AddFOp::create(
              nb, l, extend(nb, l, mapping.lookupOrDefault(term)), args.back(),
              add.getFastmathAttr());
          linalg::YieldOp::create(nb, l, sum);
        });
    rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, resultType,
                                                 widened.getResult(0));
    return success();
  }
};

struct WidenFloatSumsPass
    : convc::impl::WidenFloatSumsPassBase<WidenFloatSumsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<WidenSumAccumulator>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
