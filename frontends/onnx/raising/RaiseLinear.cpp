//===- RaiseLinear.cpp - imported projections to convc.linear -------------===//
//
//   %z = linalg.generic (x[.., m, k] * w[k, n] summed over k) outs(fill 0)
//   %y = linalg.generic (z + bias[n])                    (either order)
//
// with a constant w becomes %y = convc.linear %x, w^T bias %bias; a ReLU
// after it becomes its activation, and a residual add becomes arith.addf on
// tensors for convc-fuse-epilogues.
//
//===----------------------------------------------------------------------===//

#include "passes/GenericMatchers.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace convc {
#define GEN_PASS_DEF_RAISELINEARPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The body yields `out + a * b` (operands in either order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block *body = op.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body->getOperations().size() != 3)
    return false;
  Value acc = body->getArgument(2);
  Value other = add.getLhs() == acc   ? add.getRhs()
                : add.getRhs() == acc ? add.getLhs()
                                      : Value();
  auto mul = other ? other.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body->getArgument(0), b = body->getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// x [.., M, K] times a constant w [K, N] into zeros -> convc.linear.
struct RaiseContraction : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() != 1 || !isMultiplyAccumulate(op))
      return rewriter.notifyMatchFailure(op, "not a contraction");
    Value x = op.getDpsInputs()[0];
    DenseElementsAttr w;
    if (!matchPattern(op.getDpsInputs()[1], m_Constant(&w)) ||
        !w.getElementType().isF32() || w.getType().getRank() != 2)
      return rewriter.notifyMatchFailure(op, "right operand is not an f32 "
                                             "constant matrix");
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t rank = xType.getRank(), loops = op.getNumLoops();
    if (rank < 2 || xType.isDynamicDim(rank - 1) ||
        !xType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "needs f32 x with a static last "
                                             "dim");
    if (loops != rank + 1)
      return rewriter.notifyMatchFailure(op, "not a [.., M, K] x [K, N] product");
    // Maps: x (b.., m, k), w (k, n), out (b.., m, n); k is the last loop.
    MLIRContext *ctx = getContext();
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> ex, eo;
    for (int64_t i = 0; i < rank - 1; ++i)
      ex.push_back(d(i)), eo.push_back(d(i));
    ex.push_back(d(rank));
    eo.push_back(d(rank - 1));
    auto maps = op.getIndexingMapsArray();
    if (maps[0] != AffineMap::get(loops, 0, ex, ctx) ||
        maps[1] != AffineMap::get(loops, 0, {d(rank), d(rank - 1)}, ctx) ||
        maps[2] != AffineMap::get(loops, 0, eo, ctx))
      return rewriter.notifyMatchFailure(op, "not a [.., M, K] x [K, N] product");
    auto fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(op, "accumulates into non-zeros");
    // W [N, K] = w^T, at compile time.
    int64_t K = w.getType().getDimSize(0), N = w.getType().getDimSize(1);
    SmallVector<float> values(w.getValues<float>()), transposed(N * K);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        transposed[n * K + k] = values[k * N + n];
    Value weight = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(
            RankedTensorType::get({N, K}, rewriter.getF32Type()),
            ArrayRef<float>(transposed)));
    Value y = LinearOp::create(
        rewriter, op.getLoc(), x, weight, Value(), Value(), Value(), Value(),
        ActivationAttr::get(ctx, Activation::none),
        rewriter.getF64FloatAttr(1e-5));
    if (y.getType() != op.getResult(0).getType())
      y = tensor::CastOp::create(rewriter, op.getLoc(),
                                 op.getResult(0).getType(), y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// linear(x) + bias[n] (broadcast over the leading dims) -> linear bias.
struct FoldBiasAdd : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!yieldedOpOfInputs<arith::AddFOp>(op, 2))
      return failure();
    int64_t rank = op.getNumLoops();
    MLIRContext *ctx = getContext();
    auto identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto lastDim = AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)},
                                  ctx);
    auto maps = op.getIndexingMapsArray();
    for (int linearSide = 0; linearSide < 2; ++linearSide) {
      auto linear = op.getDpsInputs()[linearSide].getDefiningOp<LinearOp>();
      Value bias = op.getDpsInputs()[1 - linearSide];
      if (!linear || !linear->hasOneUse() || linear.getBias() ||
          linear.getResidual() || linear.getLnGamma() ||
          linear.getActivation() != Activation::none ||
          maps[linearSide] != identity || maps[1 - linearSide] != lastDim ||
          maps[2] != identity ||
          linear.getResult().getType() != op.getResult(0).getType())
        continue;
      Value y = LinearOp::create(
          rewriter, op.getLoc(), linear.getInput(), linear.getWeight(), bias,
          Value(), Value(), Value(), linear.getActivationAttr(),
          linear.getEpsAttr());
      rewriter.replaceOp(op, y);
      rewriter.eraseOp(linear);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not linear + bias[n]");
  }
};

/// `OpTy` of the inputs of an elementwise generic with identity maps.
template <typename OpTy>
OpTy elementwiseOp(linalg::GenericOp op, unsigned inputs) {
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return nullptr;
  return yieldedOpOfInputs<OpTy>(op, inputs);
}

/// act(linear(x)) -> linear(x) {activation = act}, act the importer's form
/// of Relu (max(x, 0)), Sigmoid (1 / (1 + exp(-x))) or swish (x * Sigmoid(x),
/// TaLK layers' FFN).
struct FoldActivation : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getBody()->getArgument(0);
    Activation activation;
    LinearOp linear;
    linalg::GenericOp sigmoidOfLinear; // swish's inner sigmoid
    if (auto max = elementwiseOp<arith::MaximumFOp>(op, 1);
        max && ((max.getLhs() == x &&
                 matchPattern(max.getRhs(), m_AnyZeroFloat())) ||
                (max.getRhs() == x &&
                 matchPattern(max.getLhs(), m_AnyZeroFloat())))) {
      activation = Activation::relu;
      linear = op.getDpsInputs()[0].getDefiningOp<LinearOp>();
    } else if (isSigmoid(op)) {
      activation = Activation::sigmoid;
      linear = op.getDpsInputs()[0].getDefiningOp<LinearOp>();
    } else if (elementwiseOp<arith::MulFOp>(op, 2)) {
      // x * sigmoid(x), either order; x's only other use is the sigmoid.
      for (int i = 0; i < 2 && !linear; ++i) {
        auto sigmoid =
            op.getDpsInputs()[1 - i].getDefiningOp<linalg::GenericOp>();
        Value plain = op.getDpsInputs()[i];
        if (sigmoid && isSigmoid(sigmoid) &&
            sigmoid.getDpsInputs()[0] == plain && sigmoid->hasOneUse() &&
            plain.hasNUses(2)) {
          linear = plain.getDefiningOp<LinearOp>();
          sigmoidOfLinear = sigmoid;
        }
      }
      activation = Activation::swish;
    } else {
      return failure();
    }
    if (!linear || (!sigmoidOfLinear && !linear->hasOneUse()) ||
        linear.getResidual() || linear.getLnGamma() ||
        linear.getActivation() != Activation::none ||
        linear.getResult().getType() != op.getResult(0).getType())
      return rewriter.notifyMatchFailure(op,
                                         "not an activation of a projection");
    Value y = LinearOp::create(
        rewriter, op.getLoc(), linear.getInput(), linear.getWeight(),
        linear.getBias(), Value(), Value(), Value(),
        ActivationAttr::get(getContext(), activation), linear.getEpsAttr());
    rewriter.replaceOp(op, y);
    if (sigmoidOfLinear)
      rewriter.eraseOp(sigmoidOfLinear);
    rewriter.eraseOp(linear);
    return success();
  }
};

/// linear(x) + r as an elementwise generic -> arith.addf on tensors, the
/// form convc-fuse-epilogues folds into the projection as its residual.
struct ResidualAddAsTensorAdd : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto add = elementwiseOp<arith::AddFOp>(op, 2);
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
    if (!add || a.getType() != b.getType() ||
        a.getType() != op.getResult(0).getType() ||
        !(a.getDefiningOp<LinearOp>() || b.getDefiningOp<LinearOp>()))
      return rewriter.notifyMatchFailure(op, "not projection + residual");
    rewriter.replaceOpWithNewOp<arith::AddFOp>(op, a, b);
    return success();
  }
};

struct RaiseLinearPass : convc::impl::RaiseLinearPassBase<RaiseLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseContraction, FoldBiasAdd, FoldActivation,
                 ResidualAddAsTensorAdd>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
