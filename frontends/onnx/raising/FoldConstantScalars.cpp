//===- FoldConstantScalars.cpp - evaluate generics of constant scalars ----===//
//
// Exports compute scales from sizes: `q * head_dim ** -0.5` with head_dim
// read off a shape becomes Cast and Pow (or Sqrt, Div) of a folded int64.
// The importer folds integer shape arithmetic, not float math, so these
// stay one-element linalg.generics on constants, and the raisings that want
// a constant scale (attention's 1 / sqrt(R)) do not see one. This pass
// evaluates such a generic with its body ops' own folders (arith, math)
// into an arith.constant.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_FOLDCONSTANTSCALARSPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The one value of a one-element constant tensor; null otherwise.
Attribute scalarOf(Value v) {
  DenseElementsAttr dense;
  if (!matchPattern(v, m_Constant(&dense)) || dense.getNumElements() != 1)
    return {};
  return dense.getValues<Attribute>()[0];
}

struct FoldConstantScalarGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1 || op.getNumReductionLoops() != 0)
      return failure();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
      return failure();
    // Block arguments: the inputs' values (the output's is not read by
    // an all-parallel body that yields a computed value).
    Block *body = op.getBody();
    DenseMap<Value, Attribute> known;
    for (OpOperand *input : op.getDpsInputOperands()) {
      Attribute value = scalarOf(input->get());
      if (!value)
        return failure();
      known[body->getArgument(input->getOperandNumber())] = value;
    }
    for (Operation &inner : body->without_terminator()) {
      if (inner.getNumResults() != 1 || inner.getNumRegions() != 0)
        return failure();
      SmallVector<Attribute> operands;
      for (Value operand : inner.getOperands()) {
        Attribute value = known.lookup(operand);
        if (!value && !matchPattern(operand, m_Constant(&value)))
          return failure();
        operands.push_back(value);
      }
      SmallVector<OpFoldResult> folded;
      if (failed(inner.fold(operands, folded)) || folded.size() != 1)
        return failure();
      Attribute value = dyn_cast<Attribute>(folded[0]);
      if (!value) // folded to one of its operands
        value = known.lookup(cast<Value>(folded[0]));
      if (!value || !isa<TypedAttr>(value) ||
          cast<TypedAttr>(value).getType() != inner.getResult(0).getType())
        return failure();
      known[inner.getResult(0)] = value;
    }
    Value yielded = body->getTerminator()->getOperand(0);
    Attribute value = known.lookup(yielded);
    if (!value && !matchPattern(yielded, m_Constant(&value)))
      return failure();
    if (!isa<TypedAttr>(value) ||
        cast<TypedAttr>(value).getType() != type.getElementType())
      return failure();
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, DenseElementsAttr::get(type, value));
    return success();
  }
};

struct FoldConstantScalarsPass
    : convc::impl::FoldConstantScalarsPassBase<FoldConstantScalarsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConstantScalarGeneric>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
