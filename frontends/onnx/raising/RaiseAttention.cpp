//===- RaiseAttention.cpp - exported attention to convc.attention ---------===//
//
// Multi-head attention over projected q [B, Tq, d], k and v [B, S, d]
// (frontends/pytorch ConvLayer.attention; nn.MultiheadAttention's inner
// product part) exports as
//
//   qh = Transpose(Reshape(q, [B, Tq, H, R]), [0, 2, 1, 3])
//   kT = Transpose(Reshape(k, [B, S, H, R]), [0, 2, 3, 1])   (kh^T, composed)
//   vh = Transpose(Reshape(v, [B, S, H, R]), [0, 2, 1, 3])
//   Z  = Where(pad[:, None, None, :], -inf, MatMul(qh, kT) / sqrt(R))
//        (or q scaled by 1 / sqrt(R) before the product, as fairseq does)
//   y  = Reshape(Transpose(MatMul(Softmax(Z, -1), vh), [0, 2, 1, 3]),
//                [B, Tq, d])
//
// which the importer emits as expand_shape / linalg.transpose, contraction
// generics into zero fills, the masking select and its Softmax (max, shift,
// exp-sum, divide). This is `convc.attention q, k, v key_padding pad'
// {heads = H}`, pad' the mask as f32. A query whose keys are all padding
// gives NaN in the export and zeros in convc.attention.
//
//===----------------------------------------------------------------------===//

#include "passes/GenericMatchers.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <optional>

namespace convc {
#define GEN_PASS_DEF_RAISEATTENTIONPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

AffineMap dims(MLIRContext *ctx, unsigned numDims, ArrayRef<unsigned> of) {
  return AffineMap::getMultiDimMapWithTargets(numDims, of, ctx);
}

/// v = a @ b batched over [B, H]: a [B, H, M, K], b [B, H, K, N] into zeros.
bool isBatchedMatmul(Value v, Value &a, Value &b) {
  auto op = genericOf(v, 5, 2, /*reducesLast=*/true);
  if (!op || !isFillOf(op.getDpsInits()[0], 0.0))
    return false;
  MLIRContext *ctx = v.getContext();
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != dims(ctx, 5, {0, 1, 2, 4}) ||
      maps[1] != dims(ctx, 5, {0, 1, 4, 3}) ||
      maps[2] != dims(ctx, 5, {0, 1, 2, 3}))
    return false;
  Block *body = op.getBody();
  auto add = yieldedValue(op).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body->getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  Value x = body->getArgument(0), y = body->getArgument(1);
  if (!mul || !((mul.getLhs() == x && mul.getRhs() == y) ||
                (mul.getLhs() == y && mul.getRhs() == x)))
    return false;
  a = op.getDpsInputs()[0];
  b = op.getDpsInputs()[1];
  return true;
}

/// v = Transpose(Reshape(x [B, T, H R], [B, T, H, R]), perm): returns x and
/// sets the head count.
Value headsOf(Value v, ArrayRef<int64_t> perm, int64_t &heads) {
  auto transpose = v.getDefiningOp<linalg::TransposeOp>();
  if (!transpose || transpose.getPermutation() != perm)
    return nullptr;
  auto expand = transpose.getInput().getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getSrcType().getRank() != 3 ||
      expand.getResultType().getRank() != 4 ||
      expand.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
    return nullptr;
  heads = expand.getResultType().getDimSize(2);
  if (ShapedType::isDynamic(heads) ||
      ShapedType::isDynamic(expand.getResultType().getDimSize(3)))
    return nullptr;
  return expand.getSrc();
}

/// A reduction of [B, H, M, N] over N into an `init` fill, the body
/// `combine(f(in), out)` for the given ops. Returns the input.
template <typename CombineOp>
Value reducedOverLastAxis(Value v, double init, bool expOfInput) {
  auto op = genericOf(v, 4, 1, /*reducesLast=*/true);
  if (!op || !isFillOf(op.getDpsInits()[0], init))
    return nullptr;
  MLIRContext *ctx = v.getContext();
  auto maps = op.getIndexingMapsArray();
  if (!maps[0].isIdentity() || maps[1] != dims(ctx, 4, {0, 1, 2}))
    return nullptr;
  Block *body = op.getBody();
  auto combine = yieldedValue(op).getDefiningOp<CombineOp>();
  if (!combine)
    return nullptr;
  Value in = body->getArgument(0), acc = body->getArgument(1);
  Value term = combine.getLhs() == acc ? combine.getRhs()
               : combine.getRhs() == acc ? combine.getLhs()
                                         : Value();
  if (expOfInput) {
    auto exp = term ? term.getDefiningOp<math::ExpOp>() : nullptr;
    term = exp ? exp.getOperand() : Value();
  }
  return term == in ? op.getDpsInputs()[0] : Value();
}

/// A [B, H, M, N] generic of `x` (identity) and a per-row [B, H, M] value:
/// returns the two and the body's yielded value.
bool rowwise(Value v, Value &x, Value &row, Value &result) {
  auto op = genericOf(v, 4, 2);
  if (!op)
    return false;
  MLIRContext *ctx = v.getContext();
  auto maps = op.getIndexingMapsArray();
  if (!maps[0].isIdentity() || maps[1] != dims(ctx, 4, {0, 1, 2}) ||
      !maps[2].isIdentity())
    return false;
  x = op.getDpsInputs()[0];
  row = op.getDpsInputs()[1];
  result = yieldedValue(op);
  return true;
}

/// v = Softmax(z) over the last axis, as the importer emits it. Returns z.
Value softmaxOverLastAxis(Value v) {
  Value shifted, sum, quotient;
  if (!rowwise(v, shifted, sum, quotient))
    return nullptr;
  auto body = v.getDefiningOp<linalg::GenericOp>().getBody();
  auto div = quotient.getDefiningOp<arith::DivFOp>();
  auto exp = div ? div.getLhs().getDefiningOp<math::ExpOp>() : nullptr;
  if (!exp || exp.getOperand() != body->getArgument(0) ||
      div.getRhs() != body->getArgument(1) ||
      reducedOverLastAxis<arith::AddFOp>(sum, 0.0, true) != shifted)
    return nullptr;
  Value z, max, difference;
  if (!rowwise(shifted, z, max, difference))
    return nullptr;
  auto shiftBody = shifted.getDefiningOp<linalg::GenericOp>().getBody();
  auto sub = difference.getDefiningOp<arith::SubFOp>();
  if (!sub || sub.getLhs() != shiftBody->getArgument(0) ||
      sub.getRhs() != shiftBody->getArgument(1) ||
      reducedOverLastAxis<arith::MaxNumFOp>(max, -INFINITY, false) != z)
    return nullptr;
  return z;
}

/// z = Where(mask [B, 1, 1, S] bool, -inf, scores): returns scores and the
/// [B, S] mask.
Value maskedScores(Value z, Value &mask) {
  auto op = genericOf(z, 4, 3);
  if (!op)
    return nullptr;
  MLIRContext *ctx = z.getContext();
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(4, 0,
                                {getAffineDimExpr(0, ctx), zero, zero,
                                 getAffineDimExpr(3, ctx)},
                                ctx) ||
      !maps[1].isConstant() || maps[1].getNumResults() != 0 ||
      !maps[2].isIdentity() || splatValue(op.getDpsInputs()[1]) != -INFINITY)
    return nullptr;
  Block *body = op.getBody();
  auto select = yieldedValue(op).getDefiningOp<arith::SelectOp>();
  if (!select || select.getCondition() != body->getArgument(0) ||
      select.getTrueValue() != body->getArgument(1) ||
      select.getFalseValue() != body->getArgument(2))
    return nullptr;
  // [B, S] -> [B, 1, 1, S] by reshapes (unit dims only).
  Value m = op.getDpsInputs()[0];
  while (auto expand = m.getDefiningOp<tensor::ExpandShapeOp>())
    m = expand.getSrc();
  auto type = dyn_cast<RankedTensorType>(m.getType());
  if (!type || type.getRank() != 2 || !type.getElementType().isInteger(1))
    return nullptr;
  mask = m;
  return op.getDpsInputs()[2];
}

struct RaiseMultiHeadAttention : OpRewritePattern<tensor::CollapseShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::CollapseShapeOp root,
                                PatternRewriter &rewriter) const override {
    // y = merge heads of (P @ vh), transposed back.
    if (root.getSrcType().getRank() != 4 ||
        root.getReassociationIndices() !=
            SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
      return failure();
    auto back = root.getSrc().getDefiningOp<linalg::TransposeOp>();
    Value probabilities, vh;
    if (!back || back.getPermutation() != ArrayRef<int64_t>{0, 2, 1, 3} ||
        !isBatchedMatmul(back.getInput(), probabilities, vh))
      return rewriter.notifyMatchFailure(root, "not heads of P @ v merged");
    int64_t heads = 0, kHeads = 0, vHeads = 0;
    Value v = headsOf(vh, {0, 2, 1, 3}, vHeads);
    Value z = v ? softmaxOverLastAxis(probabilities) : Value();
    if (!z)
      return rewriter.notifyMatchFailure(root, "no softmax of scores");
    Value mask;
    Value scores = maskedScores(z, mask);
    if (!scores)
      scores = z;
    // scores = q k^T / c or times c', or q scaled before the product
    // (fairseq's `q = q_proj(x) * scaling`, before or after the heads are
    // split): the scales multiply.
    double scale = 1.0;
    if (auto scaled = scaledByConstant(scores))
      scores = scaled->first, scale = scaled->second;
    Value qh, kT;
    if (!isBatchedMatmul(scores, qh, kT))
      return rewriter.notifyMatchFailure(root, "scores are not q k^T");
    if (auto scaled = scaledByConstant(qh))
      qh = scaled->first, scale *= scaled->second;
    Value q = headsOf(qh, {0, 2, 1, 3}, heads);
    if (auto scaled = q ? scaledByConstant(q) : std::nullopt)
      q = scaled->first, scale *= scaled->second;
    Value k = headsOf(kT, {0, 2, 3, 1}, kHeads);
    if (!q || !k || heads != kHeads || heads != vHeads)
      return rewriter.notifyMatchFailure(root, "q, k, v heads differ");
    auto qType = cast<RankedTensorType>(q.getType());
    int64_t d = qType.getDimSize(2);
    if (ShapedType::isDynamic(d) || d % heads ||
        cast<RankedTensorType>(k.getType()).getDimSize(2) != d ||
        cast<RankedTensorType>(v.getType()).getDimSize(2) != d ||
        !qType.getElementType().isF32() || root.getResultType() != qType)
      return rewriter.notifyMatchFailure(root, "needs f32 q, k, v of one width");
    double want = 1.0 / std::sqrt(double(d / heads));
    if (std::abs(scale - want) > 1e-6 * want)
      return rewriter.notifyMatchFailure(root, "scale is not 1 / sqrt(R)");

    Location loc = root.getLoc();
    Value keyPadding;
    if (mask) {
      // The bool mask as f32 (nonzero = padding), elementwise on the tensor.
      keyPadding = arith::UIToFPOp::create(
          rewriter, loc,
          cast<RankedTensorType>(mask.getType()).clone(rewriter.getF32Type()),
          mask);
    }
    Value attended = AttentionOp::create(rewriter, loc, qType, q, k, v,
                                         keyPadding,
                                         rewriter.getI64IntegerAttr(heads));
    rewriter.replaceOp(root, attended);
    return success();
  }
};

struct RaiseAttentionPass
    : convc::impl::RaiseAttentionPassBase<RaiseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseMultiHeadAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
