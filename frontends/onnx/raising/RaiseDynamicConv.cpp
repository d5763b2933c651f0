//===- RaiseDynamicConv.cpp - DynamicConv's unfolded export --------------===//
//
// A DynamicConv exported by torch.onnx (fairseq's unfolded path, or
// frontends/pytorch's `dynamic_kernel_conv`) computes
//
//   windows = stack_k xpad[:, k:k+T, :]          (K shifted Slices, Concat)
//   y       = sum_k windows.view(B,T,H,R,K) * w.view(B,T,H,1,K)
//
// which the importer emits as K gather-like generics reading a padded x at
// t + k, inserted along a new last axis, a broadcasting multiply and a sum
// over that axis. This is `convc.dynamic_kernel_conv x, w {padding = P}`,
// P the left padding; with `w = convc.kernel_softmax(...)` (the importer's
// Softmax over the taps), convc-fuse-kernel-softmax then fuses the softmax
// into the conv. The same windows times one constant kernel per head,
// w[1, 1, H, 1, K] (LightweightConv's shifted-slices form, the softmax
// folded at import), are `convc.lightweight_conv` with that kernel.
//
//===----------------------------------------------------------------------===//

#include "passes/GenericMatchers.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace convc {
#define GEN_PASS_DEF_RAISEDYNAMICCONVPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The slice start `k` of a Slice along the time of `padded`, as the
/// importer clamps it: max(min(dim(padded, 1), k), 0) (or k, folded).
std::optional<int64_t> clampedStart(Value v, Value padded) {
  if (auto k = getConstantIntValue(v))
    return k;
  auto max = v.getDefiningOp<arith::MaxSIOp>();
  if (!max)
    return std::nullopt;
  Value inner = getConstantIntValue(max.getRhs()) == 0   ? max.getLhs()
                : getConstantIntValue(max.getLhs()) == 0 ? max.getRhs()
                                                   : Value();
  auto min = inner ? inner.getDefiningOp<arith::MinSIOp>() : nullptr;
  if (!min)
    return std::nullopt;
  auto isTimeOfPadded = [&](Value d) {
    auto dim = d.getDefiningOp<tensor::DimOp>();
    return dim && dim.getSource() == padded && getConstantIntValue(dim.getIndex()) == 1;
  };
  if (isTimeOfPadded(min.getLhs()))
    return getConstantIntValue(min.getRhs());
  if (isTimeOfPadded(min.getRhs()))
    return getConstantIntValue(min.getLhs());
  return std::nullopt;
}

/// A [B, T', C] generic that reads padded[b, t + k, c] (nothing else): the
/// padded tensor and k.
std::optional<std::pair<Value, int64_t>> shiftedRead(Value v) {
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 0 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 3 || op.getNumReductionLoops() != 0)
    return std::nullopt;
  Block *body = op.getBody();
  auto extract = cast<linalg::YieldOp>(body->getTerminator())
                     .getOperand(0)
                     .getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract.getIndices().size() != 3)
    return std::nullopt;
  auto loopIndex = [&](Value i, int64_t dim) {
    auto index = i.getDefiningOp<linalg::IndexOp>();
    return index && index->getBlock() == body && int64_t(index.getDim()) == dim;
  };
  auto idx = extract.getIndices();
  if (!loopIndex(idx[0], 0) || !loopIndex(idx[2], 2))
    return std::nullopt;
  auto add = idx[1].getDefiningOp<arith::AddIOp>();
  if (!add)
    return std::nullopt;
  Value offset = loopIndex(add.getRhs(), 1)   ? add.getLhs()
                 : loopIndex(add.getLhs(), 1) ? add.getRhs()
                                              : Value();
  if (!offset || offset.getParentBlock() == body)
    return std::nullopt;
  std::optional<int64_t> k = clampedStart(offset, extract.getTensor());
  if (!k)
    return std::nullopt;
  return std::make_pair(extract.getTensor(), *k);
}

/// The padded x whose K time shifts (x[t + k], k = 0 .. K - 1) `stack`
/// inserts at last index k, each [B, T, C, 1]; null (with `why`) otherwise.
static Value tapsSource(Value stack, int64_t K, int64_t C, std::string &why) {
  auto fail = [&](const char *reason) {
    why = reason;
    return Value();
  };
  Value stacked = stack;
  SmallVector<Value> shifted(K);
  Value padded;
  while (auto insert = stacked.getDefiningOp<tensor::InsertSliceOp>()) {
    auto offsets = insert.getStaticOffsets();
    auto sizes = insert.getStaticSizes();
    if (offsets.size() != 4 || offsets[0] != 0 || offsets[1] != 0 ||
        offsets[2] != 0 || ShapedType::isDynamic(offsets[3]) ||
        sizes[2] != C || sizes[3] != 1 || !insert.hasUnitStride())
      return fail("not a stack along taps");
    int64_t k = offsets[3];
    auto column = insert.getSource().getDefiningOp<tensor::ExpandShapeOp>();
    if (k >= K || shifted[k] || !column)
      return fail("not a stack along taps");
    auto read = shiftedRead(column.getSrc());
    if (!read || read->second != k || (padded && read->first != padded))
      return fail("tap is not x shifted by k");
    padded = read->first;
    shifted[k] = column.getSrc();
    stacked = insert.getDest();
  }
  if (!stacked.getDefiningOp<bufferization::AllocTensorOp>() &&
      !stacked.getDefiningOp<tensor::EmptyOp>())
    return fail("stack over live data");
  if (!padded || llvm::is_contained(shifted, Value()))
    return fail("not every tap");
  return padded;
}

struct RaiseUnfoldedDynamicConv : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp sum,
                                PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // y[b, t, h, r] = sum_k m[b, t, h, r, k], into zeros.
    if (sum.getNumLoops() != 5 || !sumsLastLoopIntoZeros(sum))
      return failure();
    auto maps = sum.getIndexingMapsArray();
    if (!maps[0].isIdentity() ||
        maps[1] != AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx))
      return failure();

    // m = windows[b, t, h, r, k] * w[b, t, h, 0, k].
    auto mul = sum.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
    if (!mul || mul.getNumDpsInputs() != 2 || mul.getNumReductionLoops() != 0 ||
        mul.getNumLoops() != 5 || mul.getBody()->getOperations().size() != 2)
      return rewriter.notifyMatchFailure(sum, "not a sum of products");
    auto product = cast<linalg::YieldOp>(mul.getBody()->getTerminator())
                       .getOperand(0)
                       .getDefiningOp<arith::MulFOp>();
    if (!product)
      return rewriter.notifyMatchFailure(sum, "not a sum of products");
    auto mmaps = mul.getIndexingMapsArray();
    AffineExpr zeroExpr = getAffineConstantExpr(0, ctx);
    // Position-specific kernels w[b, t, h, 0, k] (DynamicConv) or one
    // constant kernel per head w[0, 0, h, 0, k] (LightweightConv).
    AffineMap dynamicMap =
        AffineMap::get(5, 0, {d(0), d(1), d(2), zeroExpr, d(4)}, ctx);
    AffineMap sharedMap =
        AffineMap::get(5, 0, {zeroExpr, zeroExpr, d(2), zeroExpr, d(4)}, ctx);
    auto isKernelMap = [&](AffineMap m) {
      return m == dynamicMap || m == sharedMap;
    };
    int windowsAt = mmaps[0].isIdentity() && isKernelMap(mmaps[1])   ? 0
                    : mmaps[1].isIdentity() && isKernelMap(mmaps[0]) ? 1
                                                                     : -1;
    if (windowsAt < 0 || !mmaps[2].isIdentity())
      return rewriter.notifyMatchFailure(sum, "not windows x kernels");
    bool shared = mmaps[1 - windowsAt] == sharedMap;
    Value windows5 = mul.getDpsInputs()[windowsAt];
    Value kernels5 = mul.getDpsInputs()[1 - windowsAt];

    // windows5 = [B, T, C, K] viewed as [B, T, H, R, K]; kernels5 = [B, T,
    // H, K] viewed as [B, T, H, 1, K], or a constant [1, 1, H, 1, K].
    auto windowsView = windows5.getDefiningOp<tensor::ExpandShapeOp>();
    if (!windowsView ||
        windowsView.getReassociationIndices() !=
            SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}})
      return rewriter.notifyMatchFailure(sum, "not the [B,T,H,R,K] view");
    Value kernels;
    DenseElementsAttr sharedKernel;
    if (shared) {
      if (!matchPattern(kernels5, m_Constant(&sharedKernel)) ||
          !sharedKernel.getElementType().isF32())
        return rewriter.notifyMatchFailure(sum, "shared kernel not constant");
      auto kType = cast<ShapedType>(sharedKernel.getType());
      if (kType.getRank() != 5 || kType.getDimSize(0) != 1 ||
          kType.getDimSize(1) != 1 || kType.getDimSize(3) != 1)
        return rewriter.notifyMatchFailure(sum, "not a [1, 1, H, 1, K] kernel");
      sharedKernel = sharedKernel.reshape(RankedTensorType::get(
          {kType.getDimSize(2), kType.getDimSize(4)}, rewriter.getF32Type()));
    } else {
      auto kernelsView = kernels5.getDefiningOp<tensor::ExpandShapeOp>();
      if (!kernelsView ||
          kernelsView.getReassociationIndices() !=
              SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}})
        return rewriter.notifyMatchFailure(sum, "not the [B,T,H,1,K] view");
      kernels = kernelsView.getSrc();
    }
    auto kernelsType =
        shared ? cast<RankedTensorType>(sharedKernel.getType())
               : cast<RankedTensorType>(kernels.getType());
    auto windowsType = cast<RankedTensorType>(windowsView.getSrc().getType());
    int64_t H = kernelsType.getDimSize(shared ? 0 : 2),
            K = kernelsType.getDimSize(shared ? 1 : 3);
    int64_t C = windowsType.getDimSize(2);
    if (ShapedType::isDynamic(H) || ShapedType::isDynamic(K) ||
        ShapedType::isDynamic(C) || windowsType.getDimSize(3) != K ||
        C % H != 0)
      return rewriter.notifyMatchFailure(sum, "needs static H, K, C");

    // The windows: K slices, each inserted at last index k, of one padded x
    // read at t + k, k = 0 .. K - 1.
    std::string why;
    Value padded = tapsSource(windowsView.getSrc(), K, C, why);
    if (!padded)
      return rewriter.notifyMatchFailure(sum, why);

    // padded = x with zeros: P before and K - 1 - P after, along time only.
    auto pad = padded.getDefiningOp<tensor::PadOp>();
    if (!pad)
      return rewriter.notifyMatchFailure(sum, "taps do not read a pad");
    auto low = pad.getStaticLow(), high = pad.getStaticHigh();
    Value zero = pad.getConstantPaddingValue();
    if (low.size() != 3 || low[0] || low[2] || high[0] || high[2] ||
        ShapedType::isDynamic(low[1]) || ShapedType::isDynamic(high[1]) ||
        low[1] + high[1] != K - 1 || !zero ||
        !matchPattern(zero, m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(sum, "not a zero time pad of K - 1");
    Value x = pad.getSource();
    auto xType = cast<RankedTensorType>(x.getType());
    if (xType.getDimSize(2) != C || !xType.getElementType().isF32() ||
        !kernelsType.getElementType().isF32())
      return rewriter.notifyMatchFailure(sum, "shapes or types differ");

    Location loc = sum.getLoc();
    Value y =
        shared
            ? Value(LightweightConvOp::create(
                  rewriter, loc, xType, x,
                  arith::ConstantOp::create(rewriter, loc, sharedKernel),
                  Value(), rewriter.getI64IntegerAttr(H),
                  rewriter.getI64IntegerAttr(low[1]),
                  rewriter.getBoolAttr(false)))
            : Value(DynamicKernelConvOp::create(
                  rewriter, loc, xType, x, kernels,
                  rewriter.getI64IntegerAttr(low[1]),
                  /*kernel_softmax=*/nullptr));
    // Back to the [B, T, H, R] the sum produced.
    auto resultType = cast<RankedTensorType>(sum.getResult(0).getType());
    SmallVector<OpFoldResult> shape = {
        tensor::getMixedSize(rewriter, loc, y, 0),
        tensor::getMixedSize(rewriter, loc, y, 1), rewriter.getIndexAttr(H),
        rewriter.getIndexAttr(C / H)};
    Value view = tensor::ExpandShapeOp::create(
        rewriter, loc, resultType, y,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}}, shape);
    rewriter.replaceOp(sum, view);
    return success();
  }
};

/// dynamic_kernel_conv(x, kernel_softmax(view(linear(x, W, b), [.., H, K])))
/// -> dynamic_conv(x, W, b): the kernels are the projection of the conv's own
/// input (DynamicConv's export). One op that derive-decode-step can step
/// and whose kernel projection fuses into the conv.
struct FoldKernelProjection : OpRewritePattern<DynamicKernelConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DynamicKernelConvOp conv,
                                PatternRewriter &rewriter) const override {
    auto softmax = conv.getKernels().getDefiningOp<KernelSoftmaxOp>();
    auto view = softmax ? softmax.getInput().getDefiningOp<tensor::ExpandShapeOp>()
                        : nullptr;
    auto linear = view ? view.getSrc().getDefiningOp<LinearOp>() : nullptr;
    if (!linear || linear.getInput() != conv.getInput() ||
        linear.getResidual() || linear.getLnGamma() ||
        linear.getActivation() != Activation::none ||
        view.getReassociationIndices() !=
            SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
      return rewriter.notifyMatchFailure(conv,
                                         "kernels are not a projection of x");
    auto kernelType = cast<RankedTensorType>(conv.getKernels().getType());
    int64_t heads = kernelType.getDimSize(2), K = kernelType.getDimSize(3);
    rewriter.replaceOpWithNewOp<DynamicConvOp>(
        conv, conv.getType(), conv.getInput(), linear.getWeight(),
        linear.getBias(), heads, K, conv.getPadding());
    return success();
  }
};

struct RaiseDynamicConvPass
    : convc::impl::RaiseDynamicConvPassBase<RaiseDynamicConvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseUnfoldedDynamicConv, FoldKernelProjection>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
