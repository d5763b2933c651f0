//===- RaiseEmbedding.cpp - fairseq's exported embedding to convc.embedding ===//
//
// fairseq's input embedding (docs/semantics.md, "embedding";
// frontends/pytorch embed_tokens)
// exports as
//
//   m   = Not(Equal(tokens, pad))                          [B, T] bool
//   pos = CumSum(Cast(m), 1) * Cast(m) + pad
//   A   = Range(0, n)[:, None] * w[None, :]                n >= pad + T + 1
//   w   = Exp(Range(0, d/2) * -(ln(10000) / (d/2 - 1)))    (a constant here)
//   PE  = Concat(Sin(A), Cos(A), 1), PE[pad] = 0           (ScatterND)
//   y   = (scale * Gather(E, tokens) + Gather(PE, pos)) * Cast(m)[..., None]
//
// which the importer emits as elementwise and gathering linalg.generic ops,
// an scf.for scan (the int64 CumSum), tensor.generate and insert_slices.
// This is `convc.embedding tokens, E {padding_idx = pad, scale, sinusoidal}`,
// which convc-derive-decode-step knows how to run one position at a time.
// Ids outside [0, V) are undefined in ONNX (the importer clamps them);
// convc.embedding gives them zero rows.
//
//===----------------------------------------------------------------------===//

#include "dialect/OnnxLocations.h"
#include "frontends/onnx/raising/ImportedForms.h"
#include "frontends/onnx/raising/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <optional>

namespace convc {
#define GEN_PASS_DEF_RAISEEMBEDDINGPASS
#include "frontends/onnx/raising/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// The op of the all-parallel generic defining `v` whose body is that op and
/// the yield, and whose first `full` inputs and output are indexed by the
/// identity (further inputs: scalars). Sets `generic`.
template <typename OpTy>
OpTy elementwiseBodyOp(Value v, linalg::GenericOp &generic,
                       unsigned full = 1) {
  generic = v.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic->getNumResults() != 1 ||
      generic.getNumReductionLoops() != 0 ||
      generic.getBody()->getOperations().size() != 2 ||
      generic.getNumDpsInputs() < full)
    return nullptr;
  auto maps = generic.getIndexingMapsArray();
  for (auto [i, map] : llvm::enumerate(maps))
    if (i < full || i + 1 == maps.size() ? !map.isIdentity()
                                          : map.getNumResults() != 0)
      return nullptr;
  return yieldedValue(generic).getDefiningOp<OpTy>();
}

/// Whether the binary `op` in `generic`'s body combines its first two block
/// arguments (in either order when `commutes`).
bool ofArguments(Operation *op, linalg::GenericOp generic, bool commutes) {
  Value a = generic.getBody()->getArgument(0),
        b = generic.getBody()->getArgument(1);
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  return (lhs == a && rhs == b) || (commutes && lhs == b && rhs == a);
}

/// The generic input (or captured constant) behind body operand `operand`.
Value inputOf(linalg::GenericOp op, Value operand) {
  if (auto arg = dyn_cast<BlockArgument>(operand))
    if (arg.getOwner() == op.getBody() &&
        arg.getArgNumber() < op.getNumDpsInputs())
      return op.getDpsInputs()[arg.getArgNumber()];
  if (!op.getRegion().isAncestor(operand.getParentRegion()))
    return operand;
  return nullptr;
}

/// m = Not(Equal(tokens, pad)) on [B, T]: sets tokens and pad.
bool isNonPadMask(Value m, Value &tokens, int64_t &pad) {
  linalg::GenericOp notOp, eqOp;
  auto xori = elementwiseBodyOp<arith::XOrIOp>(m, notOp);
  if (!xori || notOp.getNumDpsInputs() != 1 ||
      xori.getLhs() != notOp.getBody()->getArgument(0) ||
      !llvm::is_contained({int64_t(1), int64_t(-1)},
                          getConstantIntValue(xori.getRhs()).value_or(0))) // i1 true
    return false;
  auto eq = elementwiseBodyOp<arith::CmpIOp>(notOp.getDpsInputs()[0], eqOp);
  if (!eq || eq.getPredicate() != arith::CmpIPredicate::eq)
    return false;
  Value lhs = inputOf(eqOp, eq.getLhs()), rhs = inputOf(eqOp, eq.getRhs());
  std::optional<int64_t> c = rhs ? getConstantIntValue(rhs) : std::nullopt;
  auto type = lhs ? dyn_cast<RankedTensorType>(lhs.getType()) : nullptr;
  if (!c || !type || type.getRank() != 2 ||
      !type.getElementType().isInteger(64) ||
      eq.getLhs() != eqOp.getBody()->getArgument(0))
    return false;
  tokens = lhs;
  pad = *c;
  return true;
}

/// `v` = the mask m widened elementwise by `CastOp` (extui to i64, uitofp
/// to f32).
template <typename CastOp>
Value widenedMask(Value v) {
  linalg::GenericOp op;
  auto cast = elementwiseBodyOp<CastOp>(v, op);
  if (!cast || op.getNumDpsInputs() != 1 ||
      cast->getOperand(0) != op.getBody()->getArgument(0))
    return nullptr;
  return op.getDpsInputs()[0];
}

/// cs = CumSum(x, axis 1) of a [B, T] tensor as the importer emits it: an
/// scf.for over T carrying the running [B, 1] sum and the output. T is the
/// time of `x` or of `tokens` (x is elementwise of the tokens).
bool isCumSumAlongTime(Value cs, Value x, Value tokens) {
  auto loop = cs.getDefiningOp<scf::ForOp>();
  if (!loop || loop.getNumResults() != 2 || cast<OpResult>(cs).getResultNumber() != 1 ||
      !isConstantIntValue(loop.getLowerBound(), 0) ||
      !isConstantIntValue(loop.getStep(), 1) ||
      !(isTimePlus(loop.getUpperBound(), x, 0) ||
        isTimePlus(loop.getUpperBound(), tokens, 0)))
    return false;
  auto fill = loop.getInitArgs()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || getConstantIntValue(fill.getInputs()[0]) != 0)
    return false;
  Block *body = loop.getBody();
  Value iv = loop.getInductionVar();
  Value acc = body->getArgument(1), out = body->getArgument(2);
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  auto insert = yield.getOperand(1).getDefiningOp<tensor::InsertSliceOp>();
  auto sum = yield.getOperand(0).getDefiningOp<linalg::GenericOp>();
  if (!insert || !sum || insert.getSource() != yield.getOperand(0) ||
      insert.getDest() != out || sum.getNumDpsInputs() != 1 ||
      sum.getDpsInits()[0] != acc)
    return false;
  auto add = yieldedValue(sum).getDefiningOp<arith::AddIOp>();
  if (!add || !ofArguments(add, sum, /*commutes=*/true))
    return false;
  auto slice = sum.getDpsInputs()[0].getDefiningOp<tensor::ExtractSliceOp>();
  auto atColumn = [&](ArrayRef<OpFoldResult> offsets,
                      ArrayRef<OpFoldResult> sizes) {
    return offsets.size() == 2 && isConstantIntValue(offsets[0], 0) &&
           dyn_cast<Value>(offsets[1]) == iv && isConstantIntValue(sizes[1], 1);
  };
  return slice && slice.getSource() == x && slice.hasUnitStride() &&
         insert.hasUnitStride() &&
         atColumn(slice.getMixedOffsets(), slice.getMixedSizes()) &&
         atColumn(insert.getMixedOffsets(), insert.getMixedSizes());
}

/// The body of a gathering generic reads table[normalise(in), channel]
/// (in its first block argument, channel its loop `channelDim`): sets the
/// table and the row count the normalisation assumes.
bool readsTableRow(linalg::GenericOp op, unsigned channelDim, Value &table,
                   Value &rows) {
  auto extract = yieldedValue(op).getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract.getIndices().size() != 2 ||
      op.getRegion().isAncestor(extract.getTensor().getParentRegion()))
    return false;
  auto channel = extract.getIndices()[1].getDefiningOp<linalg::IndexOp>();
  auto row = extract.getIndices()[0].getDefiningOp<arith::IndexCastOp>();
  if (!channel || channel.getDim() != channelDim || !row)
    return false;
  rows = gatherAxisSize(row.getIn(), op.getBody()->getArgument(0));
  if (!rows)
    return false;
  table = extract.getTensor();
  return true;
}

/// `v` = Gather(table, index, axis 0) of a [rows, d] table by a [B, T]
/// int64 index: reads table[normalise(index[b, t]), c]. Sets the table,
/// index and the row count the normalisation assumes. Also fairseq's
/// index_select(0, index.view(-1)).view(B, T, -1): a gather by the
/// flattened index viewed back to the [B, T] of `seq` (given). `gather`,
/// when given, is set to the gathering op.
bool isRowGather(Value v, Value &table, Value &index, Value &rows,
                 Value seq = {}, Operation **gather = nullptr) {
  MLIRContext *ctx = v.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  if (auto op = genericOf(v, 3, 1)) {
    auto maps = op.getIndexingMapsArray();
    if (maps[0] != AffineMap::get(3, 0, {d0, d1}, ctx) ||
        !maps[1].isIdentity() || !readsTableRow(op, 2, table, rows))
      return false;
    index = op.getDpsInputs()[0];
    if (gather)
      *gather = op;
    return true;
  }
  if (!seq)
    return false;
  // The view back to [B, T, d]: its B and T must be the sequence's (the
  // element count alone would also allow [T, B, d]).
  Value flat;
  if (auto view = v.getDefiningOp<tensor::ReshapeOp>()) {
    auto shape = view.getShape().getDefiningOp<tensor::FromElementsOp>();
    if (!shape || shape.getElements().size() != 3 ||
        !isSizeOfDim(shape.getElements()[0], seq, 0) ||
        !isSizeOfDim(shape.getElements()[1], seq, 1))
      return false;
    flat = view.getSource();
  } else if (auto view = v.getDefiningOp<tensor::ExpandShapeOp>()) {
    SmallVector<OpFoldResult> sizes = view.getMixedOutputShape();
    if (view.getResultType().getRank() != 3 ||
        view.getReassociationIndices() !=
            SmallVector<ReassociationIndices>{{0, 1}, {2}} ||
        !isSizeOfDim(sizes[0], seq, 0) || !isSizeOfDim(sizes[1], seq, 1))
      return false;
    flat = view.getSrc();
  } else {
    return false;
  }
  auto op = genericOf(flat, 2, 1);
  if (!op)
    return false;
  auto maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(2, 0, {d0}, ctx) || !maps[1].isIdentity() ||
      !readsTableRow(op, 1, table, rows))
    return false;
  auto flattened =
      op.getDpsInputs()[0].getDefiningOp<tensor::CollapseShapeOp>();
  if (!flattened || flattened.getSrcType().getRank() != 2)
    return false;
  index = flattened.getSrc();
  if (gather)
    *gather = op;
  return true;
}

/// PE = Concat(Sin(A), Cos(A), 1) with row `pad` zeroed, A = Range(0, n)
/// [:, None] * w[None, :], w_j = exp(-j ln(10000) / (d/2 - 1)), n >= pad +
/// T + 1 (T the time of `tokens`).
bool isSinusoidTable(Value table, Value tokens, int64_t pad) {
  auto zeroRow = table.getDefiningOp<tensor::InsertSliceOp>();
  if (!zeroRow || !matchPattern(zeroRow.getSource(), m_AnyZeroFloat()) ||
      zeroRow.getSourceType().getRank() != 2 ||
      zeroRow.getSourceType().getDimSize(0) != 1)
    return false;
  auto destType = cast<RankedTensorType>(zeroRow.getDest().getType());
  int64_t d = destType.getDimSize(1);
  if (ShapedType::isDynamic(d) || d % 2 || d < 4 ||
      zeroRow.getSourceType().getDimSize(1) != d)
    return false;
  OpFoldResult rowOffset = zeroRow.getMixedOffsets()[0];
  std::optional<TimeAffine> at =
      isa<Value>(rowOffset) ? asTimeAffine(cast<Value>(rowOffset), tokens)
                            : std::optional<TimeAffine>(
                                  TimeAffine{0, *getConstantIntValue(rowOffset)});
  if (!at || !(*at == TimeAffine{0, pad}) ||
      !isConstantIntValue(zeroRow.getMixedOffsets()[1], 0))
    return false;
  // Sin into columns [0, d/2), Cos into [d/2, d).
  int64_t half = d / 2;
  auto cosInto = zeroRow.getDest().getDefiningOp<tensor::InsertSliceOp>();
  auto sinInto =
      cosInto ? cosInto.getDest().getDefiningOp<tensor::InsertSliceOp>()
              : nullptr;
  if (!sinInto || !isConstantIntValue(sinInto.getMixedOffsets()[1], 0) ||
      !isConstantIntValue(cosInto.getMixedOffsets()[1], half) ||
      !isConstantIntValue(sinInto.getMixedOffsets()[0], 0) ||
      !isConstantIntValue(cosInto.getMixedOffsets()[0], 0) ||
      sinInto.getSourceType().getDimSize(1) != half ||
      cosInto.getSourceType().getDimSize(1) != half)
    return false;
  auto sin = elementwise<math::SinOp>(sinInto.getSource());
  auto cos = elementwise<math::CosOp>(cosInto.getSource());
  if (!sin || !cos || !sin->lhs || sin->lhs != cos->lhs ||
      sin->lhsMap != Broadcast::Full)
    return false;
  // A = position [n, 1] * w [1, d/2].
  auto angles = sin->lhs.getDefiningOp<linalg::GenericOp>();
  auto mul = angles && angles.getBody()->getOperations().size() == 2
                 ? yieldedValue(angles).getDefiningOp<arith::MulFOp>()
                 : nullptr;
  if (!mul || angles.getNumDpsInputs() != 2 || angles.getNumLoops() != 2 ||
      angles.getNumReductionLoops() != 0 || !ofArguments(mul, angles, true))
    return false;
  MLIRContext *ctx = table.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             zero = getAffineConstantExpr(0, ctx);
  auto maps = angles.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(2, 0, {d0, zero}, ctx) ||
      maps[1] != AffineMap::get(2, 0, {zero, d1}, ctx) ||
      !maps[2].isIdentity())
    return false;
  // The frequencies, to the rounding of the float32 fold of Exp(j * -c)
  // (the export computes them in float64; 1.1e-6 relative measured at d =
  // 512). convc.embedding then uses the exact ones.
  DenseFPElementsAttr w;
  if (!matchPattern(angles.getDpsInputs()[1], m_Constant(&w)) ||
      w.getNumElements() != half)
    return false;
  int64_t j = 0;
  for (APFloat value : w.getValues<APFloat>()) {
    double want = std::exp(-double(j++) * std::log(10000.0) / double(half - 1));
    if (std::abs(value.convertToDouble() - want) > 1e-5 * want)
      return false;
  }
  // Positions 0, 1, ..., n - 1 with n >= pad + T + 1.
  auto expand = angles.getDpsInputs()[0].getDefiningOp<tensor::ExpandShapeOp>();
  auto generate =
      expand ? expand.getSrc().getDefiningOp<tensor::GenerateOp>() : nullptr;
  if (!generate || generate.getDynamicExtents().size() != 1)
    return false;
  std::optional<TimeAffine> n =
      asTimeAffine(generate.getDynamicExtents()[0], tokens);
  if (!n || n->timeCoeff != 1 || n->constant < pad + 1)
    return false;
  return isFloatArange(generate);
}

/// x = scale * E[tokens] + PE[pos] (either order) on [B, T, d], E a
/// constant [V, d] table, pos = CumSum(m) * m + pad, m = Not(Equal(tokens,
/// pad)): fairseq's token embedding plus positions, with PE still to be
/// told apart.
struct EmbeddingSum {
  Value tokens, table, mask, positionTable, positionRows;
  Operation *positionGather;
  int64_t pad;
  double scale;
};

std::optional<EmbeddingSum> matchEmbeddingSum(Value x) {
  auto type = dyn_cast<RankedTensorType>(x.getType());
  auto sum = elementwise<arith::AddFOp>(x);
  if (!type || type.getRank() != 3 || !sum || !sum->lhs || !sum->rhs ||
      sum->lhsMap != Broadcast::Full || sum->rhsMap != Broadcast::Full)
    return std::nullopt;
  for (auto [scaledSide, positionSide] : {std::make_pair(sum->lhs, sum->rhs),
                                          std::make_pair(sum->rhs, sum->lhs)}) {
    auto scaled = scaledByConstant(scaledSide);
    if (!scaled)
      continue;
    EmbeddingSum e;
    Value rows, pos;
    e.scale = scaled->second;
    if (!isRowGather(scaled->first, e.table, e.tokens, rows) ||
        !matchPattern(e.table, m_Constant()))
      continue;
    auto tableType = cast<RankedTensorType>(e.table.getType());
    if (tableType.getRank() != 2 ||
        getConstantIntValue(rows) != tableType.getDimSize(0) ||
        tableType.getDimSize(1) != type.getDimSize(2) ||
        !isRowGather(positionSide, e.positionTable, pos, e.positionRows,
                     e.tokens, &e.positionGather))
      continue;
    // pos = counts * widened + pad, counts = CumSum(widened) along time,
    // widened = m as int64 (either order).
    linalg::GenericOp plusPadOp, timesMaskOp;
    auto plusPad = elementwiseBodyOp<arith::AddIOp>(pos, plusPadOp);
    std::optional<int64_t> pad =
        plusPad && plusPadOp.getNumDpsInputs() == 2 &&
                ofArguments(plusPad, plusPadOp, false)
            ? getConstantIntValue(plusPadOp.getDpsInputs()[1])
            : std::nullopt;
    auto timesMask =
        pad ? elementwiseBodyOp<arith::MulIOp>(plusPadOp.getDpsInputs()[0],
                                               timesMaskOp, /*full=*/2)
            : nullptr;
    if (!timesMask || timesMaskOp.getNumDpsInputs() != 2 ||
        !ofArguments(timesMask, timesMaskOp, true))
      continue;
    Value a = timesMaskOp.getDpsInputs()[0], b = timesMaskOp.getDpsInputs()[1];
    for (auto [counts, widened] :
         {std::make_pair(a, b), std::make_pair(b, a)}) {
      Value m = widenedMask<arith::ExtUIOp>(widened), tokens;
      int64_t maskPad;
      if (m && isNonPadMask(m, tokens, maskPad) && tokens == e.tokens &&
          maskPad == *pad && isCumSumAlongTime(counts, widened, tokens)) {
        e.mask = m;
        e.pad = *pad;
        return e;
      }
    }
  }
  return std::nullopt;
}

/// The embedding `e` as convc.embedding (sinusoidal), replacing `root`.
void replaceByEmbedding(PatternRewriter &rewriter, Operation *root,
                        const EmbeddingSum &e) {
  Value embedded = EmbeddingOp::create(
      rewriter, root->getLoc(), root->getResult(0).getType(), e.tokens, e.table,
      Value(), rewriter.getI64IntegerAttr(e.pad),
      rewriter.getF64FloatAttr(e.scale),
      /*sinusoidal=*/rewriter.getUnitAttr(),
      /*check_ids=*/rewriter.getUnitAttr()); // Gather's contract
  rewriter.replaceOp(root, embedded);
}

/// The form convc_torch exports: the table computed for the sequence
/// (isSinusoidTable), and the sum masked, y = x * m[..., None].
struct RaiseSinusoidalEmbedding : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    if (root->getNumResults() != 1)
      return failure();
    auto masked = elementwise<arith::MulFOp>(root->getResult(0));
    if (!masked || !masked->lhs || !masked->rhs)
      return rewriter.notifyMatchFailure(root, "not a product");
    Value x = masked->lhs, maskColumn = masked->rhs;
    Broadcast xMap = masked->lhsMap, maskMap = masked->rhsMap;
    if (xMap != Broadcast::Full)
      std::swap(x, maskColumn), std::swap(xMap, maskMap);
    if (xMap != Broadcast::Full || maskMap != Broadcast::Row)
      return rewriter.notifyMatchFailure(root, "not x * mask[..., None]");
    Value maskBits = widenedMask<arith::UIToFPOp>(maskColumn);
    auto column =
        maskBits ? maskBits.getDefiningOp<tensor::ExpandShapeOp>() : nullptr;
    std::optional<EmbeddingSum> e = matchEmbeddingSum(x);
    if (!column || column.getSrcType().getRank() != 2 || !e ||
        column.getSrc() != e->mask)
      return rewriter.notifyMatchFailure(root, "not a masked embedding sum");
    std::optional<TimeAffine> n = asTimeAffine(e->positionRows, e->tokens);
    if (!isSinusoidTable(e->positionTable, e->tokens, e->pad) || !n ||
        n->timeCoeff != 1 || n->constant < e->pad + 1)
      return rewriter.notifyMatchFailure(root, "not fairseq's sinusoids");
    replaceByEmbedding(rewriter, root, *e);
    return success();
  }
};

/// Whether the constant [N, d] `table` holds fairseq's sinusoids for
/// positions 0..N-1 (row `pad` zero), to the rounding of their float32
/// computation: the angle p * w_j is off by up to a few ulp of p.
bool isSinusoidConstant(Value table, int64_t pad) {
  DenseFPElementsAttr values;
  if (!matchPattern(table, m_Constant(&values)))
    return false;
  auto type = cast<RankedTensorType>(values.getType());
  int64_t rows = type.getDimSize(0), d = type.getDimSize(1);
  if (d % 2 || d < 4 || pad < 0 || pad >= rows)
    return false;
  int64_t half = d / 2;
  SmallVector<double> frequency(half);
  for (int64_t j = 0; j < half; ++j)
    frequency[j] = std::exp(-double(j) * std::log(10000.0) / double(half - 1));
  auto it = values.value_begin<float>();
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t c = 0; c < d; ++c, ++it) {
      double angle = double(p) * frequency[c % half];
      double want = p == pad   ? 0.0
                    : c < half ? std::sin(angle)
                               : std::cos(angle);
      if (!(std::abs(double(*it) - want) <= 1e-5 + 4e-7 * double(p)))
        return false;
    }
  return true;
}

/// fairseq's SinusoidalPositionalEmbedding as torch.onnx exports it: the
/// table a constant (computed at init, `init_size` rows), read by
/// index_select(0, pos.view(-1)).view(B, T, -1), and the sum not masked:
/// y = scale * E[tokens] + PE[pos]. Pad tokens read E[pad] and PE[pad],
/// which must be zero rows for convc.embedding's zero there. A sequence
/// whose positions could pass the table fails the call, naming the
/// position Gather, as its index check would have (convc.embedding has no
/// table end); a longer one with enough padding would have passed there.
struct RaiseSinusoidalTableEmbedding : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    if (root->getNumResults() != 1)
      return failure();
    std::optional<EmbeddingSum> e = matchEmbeddingSum(root->getResult(0));
    if (!e)
      return rewriter.notifyMatchFailure(root, "not an embedding sum");
    std::optional<int64_t> rows = getConstantIntValue(e->positionRows);
    DenseFPElementsAttr tokenTable;
    if (!rows || *rows <= e->pad + 1 ||
        !isSinusoidConstant(e->positionTable, e->pad) ||
        !matchPattern(e->table, m_Constant(&tokenTable)))
      return rewriter.notifyMatchFailure(root, "not a sinusoid table");
    int64_t d = tokenTable.getType().getDimSize(1);
    if (e->pad < tokenTable.getType().getDimSize(0)) {
      auto row = tokenTable.value_begin<float>() + e->pad * d;
      for (int64_t c = 0; c < d; ++c, ++row)
        if (*row != 0.0f)
          return rewriter.notifyMatchFailure(root, "E[pad] is not zero");
    }
    Location loc = e->positionGather->getLoc();
    rewriter.setInsertionPoint(root);
    Value time = tensor::DimOp::create(rewriter, loc, e->tokens, 1);
    Value last =
        arith::ConstantIndexOp::create(rewriter, loc, *rows - e->pad - 1);
    CheckOp::create(
        rewriter, loc,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ule, time,
                              last),
        ValueRange{time, arith::ConstantIndexOp::create(rewriter, loc, *rows)},
        onnxLocationPrefix(loc) +
            "a sequence of {0} tokens may read a position past the "
            "sinusoid table's {1} rows");
    replaceByEmbedding(rewriter, root, *e);
    return success();
  }
};

struct RaiseEmbeddingPass
    : convc::impl::RaiseEmbeddingPassBase<RaiseEmbeddingPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseSinusoidalEmbedding, RaiseSinusoidalTableEmbedding>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
