//===- RaiseLayerNorm.cpp - decomposed LayerNorm to convc.layer_norm ------===//
//
// Before opset 17, torch.onnx exports nn.LayerNorm as
//
//   mean = ReduceMean(x, -1)        d = x - mean
//   var  = ReduceMean(Pow(d, 2), -1)
//   n    = d / Sqrt(var + eps)      y = n * gamma + beta
//
// which the importer emits as elementwise and reducing linalg.generic ops
// (a mean is a sum into zeros, then a division by the row length). The
// pattern is rooted at the division n = d / sqrt(...) and takes in the
// scale and shift that follow it.
//
//===----------------------------------------------------------------------===//

#include "passes/GenericMatchers.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace convc {
#define GEN_PASS_DEF_RAISELAYERNORMPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// `v` = sum over the last axis of x into zeros ([..., 1]); returns x.
Value sumOverLastAxis(Value v) {
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || !sumsLastLoopIntoZeros(op))
    return nullptr;
  int64_t rank = op.getNumLoops();
  auto maps = op.getIndexingMapsArray();
  if (broadcastOf(maps[0], rank) != Broadcast::Full ||
      broadcastOf(maps[1], rank) != Broadcast::Row)
    return nullptr;
  return op.getDpsInputs()[0];
}

/// `v` = mean over the last axis of x: a sum divided by C. Returns x.
Value meanOverLastAxis(Value v, int64_t C) {
  auto div = elementwise<arith::DivFOp>(v);
  if (!div || !div->lhs || div->lhsMap != Broadcast::Full || !div->rhsConst ||
      *div->rhsConst != double(C))
    return nullptr;
  return sumOverLastAxis(div->lhs);
}

struct RaiseDecomposedLayerNorm : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    // n = d / sqrt(var + eps), sqrt broadcast along the row.
    Value n = root->getNumResults() == 1 ? root->getResult(0) : Value();
    auto norm = n ? elementwise<arith::DivFOp>(n) : std::nullopt;
    if (!norm || !norm->lhs || !norm->rhs ||
        norm->lhsMap != Broadcast::Full || norm->rhsMap != Broadcast::Row)
      return rewriter.notifyMatchFailure(root, "not d / row");
    auto type = dyn_cast<RankedTensorType>(n.getType());
    if (!type || !type.getElementType().isF32() ||
        type.isDynamicDim(type.getRank() - 1))
      return rewriter.notifyMatchFailure(root, "needs f32 with a static C");
    int64_t C = type.getShape().back();
    auto root2 = elementwise<math::SqrtOp>(norm->rhs);
    if (!root2 || !root2->lhs || root2->lhsMap != Broadcast::Full)
      return rewriter.notifyMatchFailure(root, "no sqrt");
    auto plusEps = elementwise<arith::AddFOp>(root2->lhs);
    if (!plusEps)
      return failure();
    // var + eps in either order.
    Value var = plusEps->lhs && plusEps->lhsMap == Broadcast::Full
                    ? plusEps->lhs
                    : plusEps->rhs;
    std::optional<double> eps =
        var == plusEps->lhs ? plusEps->rhsConst : plusEps->lhsConst;
    if (!var || !eps || *eps <= 0)
      return rewriter.notifyMatchFailure(root, "no positive eps");
    Value squares = meanOverLastAxis(var, C);
    if (!squares)
      return rewriter.notifyMatchFailure(root, "no variance");
    // (d)^2 as Pow(d, 2) or d * d.
    Value d = norm->lhs, dSquared;
    if (auto pow = elementwise<math::PowFOp>(squares)) {
      if (pow->rhsConst && *pow->rhsConst == 2.0)
        dSquared = pow->lhs;
    } else if (auto mul = elementwise<arith::MulFOp>(squares)) {
      if (mul->lhs == mul->rhs)
        dSquared = mul->lhs;
    }
    if (dSquared != d)
      return rewriter.notifyMatchFailure(root, "variance is not of d");
    auto centre = elementwise<arith::SubFOp>(d);
    if (!centre || !centre->lhs || !centre->rhs ||
        centre->lhsMap != Broadcast::Full || centre->rhsMap != Broadcast::Row)
      return rewriter.notifyMatchFailure(root, "d is not x - row");
    Value x = centre->lhs;
    if (meanOverLastAxis(centre->rhs, C) != x || x.getType() != type)
      return rewriter.notifyMatchFailure(root, "d is not x - mean(x)");

    // Take in a following * gamma[C] and + beta[C] (single uses).
    auto channelConstant = [&](const Elementwise &e, Value &other) -> Value {
      auto pick = [&](Value a, Broadcast am, Value b, Broadcast bm) -> Value {
        DenseElementsAttr dense;
        if (am == Broadcast::Full && bm == Broadcast::Channel &&
            matchPattern(b, m_Constant(&dense))) {
          other = a;
          return b;
        }
        return nullptr;
      };
      if (Value c = pick(e.lhs, e.lhsMap, e.rhs, e.rhsMap))
        return c;
      return pick(e.rhs, e.rhsMap, e.lhs, e.lhsMap);
    };
    Location loc = root.getLoc();
    Value result = n, gamma, beta;
    auto singleUser = [](Value v) -> Value {
      if (!v.hasOneUse())
        return nullptr;
      auto user = dyn_cast<linalg::GenericOp>(*v.getUsers().begin());
      return user && user->getNumResults() == 1 ? user->getResult(0) : Value();
    };
    if (Value next = singleUser(result)) {
      Value other;
      if (auto mul = elementwise<arith::MulFOp>(next);
          mul && mul->lhs && mul->rhs) {
        if (Value g = channelConstant(*mul, other); g && other == result) {
          gamma = g;
          result = next;
        }
      }
    }
    if (Value next = singleUser(result)) {
      Value other;
      if (auto add = elementwise<arith::AddFOp>(next);
          add && add->lhs && add->rhs) {
        if (Value bt = channelConstant(*add, other); bt && other == result) {
          beta = bt;
          result = next;
        }
      }
    }
    auto vectorType = RankedTensorType::get({C}, rewriter.getF32Type());
    auto splat = [&](float v) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(vectorType, v));
    };
    if (!gamma)
      gamma = splat(1.0f);
    if (!beta)
      beta = splat(0.0f);
    if (gamma.getType() != vectorType || beta.getType() != vectorType)
      return rewriter.notifyMatchFailure(root, "gamma/beta are not [C] f32");
    Value ln = LayerNormOp::create(rewriter, loc, type, x, gamma, beta,
                                   Value(), rewriter.getF64FloatAttr(*eps));
    // The last op of the chain goes; the rest is then dead.
    rewriter.replaceOp(result.getDefiningOp(), ln);
    return success();
  }
};

struct RaiseLayerNormPass
    : convc::impl::RaiseLayerNormPassBase<RaiseLayerNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseDecomposedLayerNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
