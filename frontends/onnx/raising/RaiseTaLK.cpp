//===- RaiseTaLK.cpp - TaLK's exported window sums to convc.window_diff ---===//
//
// torch.onnx exports TaLK's window sums (docs/semantics.md, "talk_conv";
// frontends/pytorch `window_diff`) as
//
//   Sp = Concat(zeros [B, 1, C], S, axis 1)          (S = CumSum(x / Kn))
//   t  = Range(0, T, 1) viewed [1, T, 1]
//   a  = Clip(t - lt * Lmax, 0, T - 1)
//   e  = Clip(t + rt * Rmax, 0, T - 1)               (causal: t expanded)
//   S~(u) = (1 - (u - Floor u)) * GatherElements(Sp, Floor u + 1, axis 1)
//           + (u - Floor u) * GatherElements(Sp, Ceil u + 1, axis 1)
//   y  = S~(e) - S~(a - 1)
//
// lt and rt being each head's offset repeated over its C/H channels
// (o[..., :H] and o[..., H:], unsqueezed, expanded and reshaped), o proven
// in [0, 1] (a sigmoid's output, say: window_diff clamps to it). CumSum
// imports as convc.prefix_sum; this pass rewrites the rest, which the
// importer emits as elementwise and gathering linalg.generic ops, into
// `convc.window_diff S, o`, which convc-fuse-talk then fuses with the sum.
//
// T - 1 and the length of t are scalar arithmetic on tensor.dim of S; they
// are evaluated as c0 + c1 * T for T >= 1 (for T = 0 both sides are empty).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/raising/ElementRanges.h"
#include "frontends/onnx/raising/ImportedForms.h"
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
#define GEN_PASS_DEF_RAISETALKPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

//===----------------------------------------------------------------------===//
// The pieces of the export
//===----------------------------------------------------------------------===//

/// Sp = Concat(zeros [B, 1, C], S) along time, as the importer emits it
/// (insert_slice of a zero fill, then of S at time offset 1). Returns S.
Value prefixSumsBehindZeroRow(Value padded) {
  auto insertS = padded.getDefiningOp<tensor::InsertSliceOp>();
  if (!insertS || insertS.getSourceType().getRank() != 3 ||
      !insertS.hasUnitStride())
    return nullptr;
  Value S = insertS.getSource();
  SmallVector<OpFoldResult> offsets = insertS.getMixedOffsets();
  auto isZero = [](OpFoldResult r) { return isConstantIntValue(r, 0); };
  auto isOneRow = [&](OpFoldResult r) {
    if (isConstantIntValue(r, 1))
      return true;
    auto v = dyn_cast<Value>(r);
    std::optional<TimeAffine> a = v ? asTimeAffine(v, S) : std::nullopt;
    return a && *a == TimeAffine{0, 1};
  };
  if (!isZero(offsets[0]) || !isOneRow(offsets[1]) || !isZero(offsets[2]))
    return nullptr;
  auto insertZeros = insertS.getDest().getDefiningOp<tensor::InsertSliceOp>();
  // The zero row spans every channel (and, Concat's operands agreeing on
  // the other dims, every batch row).
  if (!insertZeros || !insertZeros.hasUnitStride() ||
      !llvm::all_of(insertZeros.getMixedOffsets(), isZero) ||
      !isOneRow(insertZeros.getMixedSizes()[1]) ||
      insertZeros.getSourceType().getDimSize(2) !=
          insertS.getSourceType().getDimSize(2))
    return nullptr;
  auto fill = insertZeros.getSource().getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return nullptr;
  return S;
}

/// `v` = GatherElements(Sp, index, axis 1) of a rank-3 Sp, as the importer
/// emits it: a generic over the index tensor reading Sp at
/// [b, wrapClamp(index), c] (b and c clamped to Sp's sizes). The wrap and
/// clamp to [0, n - 1] leave the window indices, in [0, T], unchanged when
/// n >= T + 1. Returns Sp; `index` is set to the index tensor.
Value gatherAlongTime(Value v, Value &index) {
  auto op = genericOf(v, 3, 1);
  if (!op || !llvm::all_of(op.getIndexingMapsArray(),
                           [](AffineMap m) { return m.isIdentity(); }))
    return nullptr;
  auto extract = yieldedValue(op).getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract.getIndices().size() != 3 ||
      op.getRegion().isAncestor(extract.getTensor().getParentRegion()))
    return nullptr;
  Value padded = extract.getTensor();
  // b and c: the loop index, maybe min'ed with a bound.
  auto isLoopIndex = [](Value i, int64_t dim) {
    if (auto min = i.getDefiningOp<arith::MinSIOp>())
      i = min.getLhs();
    auto index = i.getDefiningOp<linalg::IndexOp>();
    return index && int64_t(index.getDim()) == dim;
  };
  if (!isLoopIndex(extract.getIndices()[0], 0) ||
      !isLoopIndex(extract.getIndices()[2], 2))
    return nullptr;
  // t: the importer's wrap and clamp of the index, for n >= T + 1 rows, T
  // the time of the S inside Sp.
  auto cast = extract.getIndices()[1].getDefiningOp<arith::IndexCastOp>();
  Value n = cast ? gatherAxisSize(cast.getIn(), op.getBody()->getArgument(0))
                 : Value();
  Value S = n ? prefixSumsBehindZeroRow(padded) : Value();
  std::optional<TimeAffine> rows = S ? asTimeAffine(n, S) : std::nullopt;
  if (!rows || rows->timeCoeff != 1 || rows->constant < 1)
    return nullptr;
  index = op.getDpsInputs()[0];
  return padded;
}

/// `v` = fptosi(round(u) + 1) with round = OpTy (Floor or Ceil). Returns u.
template <typename RoundOp>
Value roundedPlusOne(Value v) {
  auto toInt = elementwise<arith::FPToSIOp>(v);
  if (!toInt || !toInt->lhs || toInt->lhsMap != Broadcast::Full)
    return nullptr;
  auto plusOne = elementwise<arith::AddFOp>(toInt->lhs);
  if (!plusOne)
    return nullptr;
  Value rounded = plusOne->lhsMap == Broadcast::Full && plusOne->rhsConst == 1.0
                      ? plusOne->lhs
                  : plusOne->rhsMap == Broadcast::Full && plusOne->lhsConst == 1.0
                      ? plusOne->rhs
                      : Value();
  auto round = rounded ? elementwise<RoundOp>(rounded) : std::nullopt;
  if (!round || !round->lhs || round->lhsMap != Broadcast::Full)
    return nullptr;
  return round->lhs;
}

/// The full-shape operands of a binary elementwise `OpTy`, in order.
template <typename OpTy>
std::optional<std::pair<Value, Value>> fullOperands(Value v) {
  auto e = elementwise<OpTy>(v);
  if (!e || !e->lhs || !e->rhs || e->lhsMap != Broadcast::Full ||
      e->rhsMap != Broadcast::Full)
    return std::nullopt;
  return std::make_pair(e->lhs, e->rhs);
}

/// `v` = S~(u), the linear interpolation of Sp at position u + 1:
///   (1 - frac) * Gather(Sp, Floor u + 1) + frac * Gather(Sp, Ceil u + 1),
///   frac = u - Floor u
/// (each sum and product in either order). Returns Sp and u.
std::optional<std::pair<Value, Value>> interpolation(Value v) {
  auto sum = fullOperands<arith::AddFOp>(v);
  if (!sum)
    return std::nullopt;
  for (auto [lowTerm, highTerm] :
       {*sum, std::make_pair(sum->second, sum->first)}) {
    auto low = fullOperands<arith::MulFOp>(lowTerm);
    auto high = fullOperands<arith::MulFOp>(highTerm);
    if (!low || !high)
      continue;
    for (auto [oneMinusFrac, lowGather] :
         {*low, std::make_pair(low->second, low->first)}) {
      auto complement = elementwise<arith::SubFOp>(oneMinusFrac);
      if (!complement || complement->lhsConst != 1.0 || !complement->rhs ||
          complement->rhsMap != Broadcast::Full)
        continue;
      Value frac = complement->rhs;
      Value highGather = high->first == frac    ? high->second
                         : high->second == frac ? high->first
                                                : Value();
      auto fracOf = fullOperands<arith::SubFOp>(frac);
      if (!highGather || !fracOf)
        continue;
      Value u = fracOf->first;
      auto floor = elementwise<math::FloorOp>(fracOf->second);
      if (!floor || floor->lhs != u)
        continue;
      Value lowIndex, highIndex;
      Value padded = gatherAlongTime(lowGather, lowIndex);
      if (!padded || gatherAlongTime(highGather, highIndex) != padded ||
          roundedPlusOne<math::FloorOp>(lowIndex) != u ||
          roundedPlusOne<math::CeilOp>(highIndex) != u)
        continue;
      return std::make_pair(padded, u);
    }
  }
  return std::nullopt;
}

/// `v` = Clip(x, 0, T - 1), T the time of S. Returns x.
Value clippedToSequence(Value v, Value S) {
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 3 || op.getNumReductionLoops() != 0 ||
      op.getBody()->getOperations().size() != 3)
    return nullptr;
  auto maps = op.getIndexingMapsArray();
  int64_t rank = op.getNumLoops();
  if (broadcastOf(maps[0], rank) != Broadcast::Full ||
      broadcastOf(maps[1], rank) != Broadcast::Scalar ||
      broadcastOf(maps[2], rank) != Broadcast::Scalar ||
      broadcastOf(maps[3], rank) != Broadcast::Full)
    return nullptr;
  Block *body = op.getBody();
  auto min = yieldedValue(op).getDefiningOp<arith::MinimumFOp>();
  auto max = min ? min.getLhs().getDefiningOp<arith::MaximumFOp>() : nullptr;
  if (!max || max.getLhs() != body->getArgument(0) ||
      max.getRhs() != body->getArgument(1) ||
      min.getRhs() != body->getArgument(2) ||
      splatValue(op.getDpsInputs()[1]) != 0.0 ||
      !isTimePlus(op.getDpsInputs()[2], S, -1))
    return nullptr;
  return op.getDpsInputs()[0];
}

/// `v` = Range(0, T, 1) viewed [1, T, 1], T the time of S.
bool isTimeRange(Value v, Value S) {
  auto expand = v.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getResultType().getRank() != 3 ||
      expand.getResultType().getDimSize(0) != 1 ||
      expand.getResultType().getDimSize(2) != 1)
    return false;
  auto generate = expand.getSrc().getDefiningOp<tensor::GenerateOp>();
  if (!generate || generate.getDynamicExtents().size() != 1 ||
      !isTimePlus(generate.getDynamicExtents()[0], S, 0))
    return false;
  return isFloatArange(generate);
}

/// `v` = t +/- scaled * max, t the time range of S, scaled a Full operand
/// times the constant max (in either order; just scaled for max = 1).
/// Returns scaled; sets max.
template <typename OpTy>
Value timeShiftedBy(Value v, Value S, int64_t &maxReach) {
  auto shift = elementwise<OpTy>(v);
  if (!shift || !shift->lhs || !shift->rhs)
    return nullptr;
  Value t = shift->lhs, product = shift->rhs;
  Broadcast tMap = shift->lhsMap, productMap = shift->rhsMap;
  if (std::is_same_v<OpTy, arith::AddFOp> && tMap != Broadcast::Time)
    std::swap(t, product), std::swap(tMap, productMap);
  if (tMap != Broadcast::Time || productMap != Broadcast::Full ||
      !isTimeRange(t, S))
    return nullptr;
  // A reach of 1 may have been folded away by the exporter: t +/- o.
  auto scaled = scaledByConstant(product);
  if (!scaled) {
    maxReach = 1;
    return product;
  }
  auto [offsets, m] = *scaled;
  if (m < 0 || m != std::floor(m) || m > 1e6)
    return nullptr;
  maxReach = int64_t(m);
  return offsets;
}

/// A head's offsets repeated over its channels: o[..., first : first + H]
/// viewed [B, T, H, 1], broadcast to [B, T, H, R] and viewed [B, T, H * R].
/// Returns o; sets first and H.
Value perChannelOffsets(Value v, int64_t &first, int64_t &heads) {
  auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getSrcType().getRank() != 4 ||
      collapse.getResultType().getRank() != 3 ||
      collapse.getReassociationIndices().back().size() != 2)
    return nullptr;
  auto broadcast = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!broadcast || broadcast->getNumResults() != 1 ||
      broadcast.getNumDpsInputs() < 1 ||
      broadcast.getNumReductionLoops() != 0 ||
      yieldedValue(broadcast) != broadcast.getBody()->getArgument(0))
    return nullptr;
  MLIRContext *ctx = v.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  auto maps = broadcast.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(4, 0,
                                {d0, d1, d2, getAffineConstantExpr(0, ctx)},
                                ctx) ||
      !maps.back().isIdentity())
    return nullptr;
  auto expand =
      broadcast.getDpsInputs()[0].getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getSrcType().getRank() != 3 ||
      expand.getResultType().getDimSize(3) != 1 ||
      expand.getReassociationIndices().back().size() != 2)
    return nullptr;
  Value head = expand.getSrc();
  auto headType = cast<RankedTensorType>(head.getType());
  heads = headType.getDimSize(2);
  if (ShapedType::isDynamic(heads))
    return nullptr;
  // The whole of o, or a slice of its last axis at a constant start:
  // o[b, t, h + first].
  auto slice = head.getDefiningOp<linalg::GenericOp>();
  Value sliceRead = slice && slice->getNumResults() == 1 &&
                            slice.getNumDpsInputs() == 0
                        ? yieldedValue(slice)
                        : Value();
  auto extract = sliceRead ? sliceRead.getDefiningOp<tensor::ExtractOp>()
                           : nullptr;
  if (!extract) {
    first = 0;
    return head;
  }
  if (extract.getIndices().size() != 3 || slice.getNumLoops() != 3 ||
      !slice.getIndexingMapsArray()[0].isIdentity())
    return nullptr;
  auto isIndex = [](Value i, int64_t dim) {
    auto index = i.getDefiningOp<linalg::IndexOp>();
    return index && int64_t(index.getDim()) == dim;
  };
  if (!isIndex(extract.getIndices()[0], 0) ||
      !isIndex(extract.getIndices()[1], 1))
    return nullptr;
  Value channel = extract.getIndices()[2];
  first = 0;
  if (auto add = channel.getDefiningOp<arith::AddIOp>()) {
    std::optional<int64_t> c = getConstantIntValue(add.getRhs());
    if (!c)
      return nullptr;
    first = *c;
    channel = add.getLhs();
  }
  if (!isIndex(channel, 2))
    return nullptr;
  return extract.getTensor();
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

struct RaiseTaLKWindowDiff : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    // y = S~(e) - S~(a - 1)
    Value y = root->getNumResults() == 1 ? root->getResult(0) : Value();
    auto diff = y ? fullOperands<arith::SubFOp>(y) : std::nullopt;
    if (!diff)
      return rewriter.notifyMatchFailure(root, "not a difference");
    auto end = interpolation(diff->first);
    auto start = end ? interpolation(diff->second) : std::nullopt;
    if (!start || start->first != end->first)
      return rewriter.notifyMatchFailure(
          root, "not two interpolations of one padded prefix sum");
    Value S = prefixSumsBehindZeroRow(end->first);
    auto type = cast<RankedTensorType>(S.getType());
    int64_t C = type.getDimSize(2);
    if (!type.getElementType().isF32() || ShapedType::isDynamic(C))
      return rewriter.notifyMatchFailure(root, "needs f32 with a static C");

    // a - 1 = Clip(t - lt * Lmax, 0, T - 1) - 1
    auto minusOne = elementwise<arith::SubFOp>(start->second);
    if (!minusOne || !minusOne->lhs || minusOne->lhsMap != Broadcast::Full ||
        minusOne->rhsConst != 1.0)
      return rewriter.notifyMatchFailure(root, "start is not a - 1");
    Value a = clippedToSequence(minusOne->lhs, S);
    int64_t leftMax = 0, rightMax = 0;
    Value left = a ? timeShiftedBy<arith::SubFOp>(a, S, leftMax) : Value();
    if (!left)
      return rewriter.notifyMatchFailure(root, "a is not clip(t - lt * L)");

    // e = Clip(t + rt * Rmax, 0, T - 1), or t broadcast (causal).
    Value u = end->second, right;
    bool causal = false;
    if (Value e = clippedToSequence(u, S)) {
      right = timeShiftedBy<arith::AddFOp>(e, S, rightMax);
      if (!right)
        return rewriter.notifyMatchFailure(root, "e is not clip(t + rt * R)");
    } else {
      auto broadcast = u.getDefiningOp<linalg::GenericOp>();
      if (!broadcast || broadcast->getNumResults() != 1 ||
          broadcast.getNumDpsInputs() < 1 || broadcast.getNumLoops() != 3 ||
          yieldedValue(broadcast) != broadcast.getBody()->getArgument(0) ||
          broadcastOf(broadcast.getIndexingMapsArray()[0], 3) !=
              Broadcast::Time ||
          !broadcast.getIndexingMapsArray().back().isIdentity() ||
          !isTimeRange(broadcast.getDpsInputs()[0], S))
        return rewriter.notifyMatchFailure(root, "e is neither clipped nor t");
      causal = true;
    }

    // lt = o[..., :H] per channel; rt = o[..., H:2H] per channel.
    int64_t leftFirst, heads;
    Value offsets = perChannelOffsets(left, leftFirst, heads);
    if (!offsets || leftFirst != 0 || heads <= 0 || C % heads != 0)
      return rewriter.notifyMatchFailure(root, "lt is not o[..., :H] per head");
    if (!causal) {
      int64_t rightFirst, rightHeads;
      if (perChannelOffsets(right, rightFirst, rightHeads) != offsets ||
          rightFirst != heads || rightHeads != heads)
        return rewriter.notifyMatchFailure(root,
                                           "rt is not o[..., H:2H] per head");
    }
    auto offsetType = dyn_cast<RankedTensorType>(offsets.getType());
    if (!offsetType || offsetType.getRank() != 3 ||
        !offsetType.getElementType().isF32() ||
        offsetType.getDimSize(2) != (causal ? heads : 2 * heads))
      return rewriter.notifyMatchFailure(
          root, "offsets are not [B, T, 2H] ([B, T, H] causal)");
    // window_diff clamps its offsets to [0, 1]; the exported sums do not
    // (their Clip bounds a and e only). Outside [0, 1] the two differ, so
    // offsets not proven inside (a sigmoid's) keep the generic form.
    if (!elementRange(offsets).within(0, 1))
      return rewriter.notifyMatchFailure(
          root, "offsets are not proven to lie in [0, 1]");

    Location loc = root.getLoc();
    Value windows = WindowDiffOp::create(rewriter, loc, type, S, offsets,
                                         leftMax, rightMax, causal);
    if (windows.getType() != y.getType())
      windows = tensor::CastOp::create(rewriter, loc, y.getType(), windows);
    rewriter.replaceOp(root, windows);
    return success();
  }
};

struct RaiseTaLKPass : convc::impl::RaiseTaLKPassBase<RaiseTaLKPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseTaLKWindowDiff>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
