//===- LowerAttentionEmbedding.cpp - attention, embedding, masks to loops -===//
//
// The ops around a model's sequence positions: token embedding (with
// sinusoidal positions), attention with an online softmax, and the
// padding masks that attention and the convolutions read.
//
// Math: docs/semantics.md, attention, embedding, padding_mask,
// mask_positions.
//
//===----------------------------------------------------------------------===//

#include "dialect/OnnxLocations.h"
#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

namespace convc::cpu_lowering {
namespace {

struct LowerEmbedding : ConvcLoweringPattern<EmbeddingOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;

  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getTable().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    rewriter.replaceOp(op, lower(op, b));
    return success();
  }

  Value lower(EmbeddingOp op, KernelBuilder &b) const override {
    auto tableType = op.getTable().getType();
    int64_t V = tableType.getDimSize(0), d = tableType.getDimSize(1);
    int64_t half = d / 2, lanes = options.vectorWidth;
    Type f64 = b.getF64Type(), i64 = b.getI64Type();
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    auto wideType = VectorType::get({lanes}, f64);
    Value tokens = b.toBuffer(op.getTokens()), table = b.toBuffer(op.getTable());
    Value start = op.getStart() ? b.toBuffer(op.getStart()) : Value();
    Value B = b.dim(tokens, 0), T = b.dim(tokens, 1);
    Value y = b.allocResult(cast<RankedTensorType>(op.getType()), tokens);
    // w_j = exp(-j ln(10000) / (d/2 - 1)), in f64 like the positions: the
    // angles p w_j reach hundreds, where f32 would lose 1e-5.
    Value freq;
    if (op.getSinusoidal()) {
      freq = memref::AllocOp::create(b, MemRefType::get({half}, f64),
                                     ValueRange{}, b.getI64IntegerAttr(64));
      b.forLoop(b.index(0), b.index(half), b.index(1), [&](Value j) {
        Value jf = b.indexToFloat(j, f64);
        Value e = b.fmul(jf, b.floatConst(f64, -std::log(10000.0) /
                                                    double(half - 1)));
        b.storeScalar(b.exp(e), freq, {j});
      });
    }
    Value scale = b.splat(b.f32(op.getScale().convertToDouble()), lanes);
    Value pad = arith::ConstantIntOp::create(b, i64, op.getPaddingIdx());
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    // Channels [lo, hi) in vector blocks, the last one masked.
    auto forRange = [&](int64_t lo, int64_t hi,
                        function_ref<void(Value, Value)> body) {
      if (hi > lo)
        b.forChannelBlocks(hi - lo, lanes, [&](Value c, Value mask) {
          body(b.add(c, b.index(lo)), mask);
        });
    };
    b.parallel({B}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value count0 = start ? b.loadScalar(start, {bi})
                           : Value(arith::ConstantIntOp::create(b, i64, 0));
      b.forLoop(b.index(0), T, b.index(1), ValueRange{count0},
                [&](Value t, ValueRange acc) {
        Value tok = b.loadScalar(tokens, {bi, t});
        auto cmp = [&](arith::CmpIPredicate p, Value l, Value r) -> Value {
          return arith::CmpIOp::create(b, p, l, r);
        };
        Value valid = arith::AndIOp::create(
            b,
            arith::AndIOp::create(
                b, cmp(arith::CmpIPredicate::ne, tok, pad),
                cmp(arith::CmpIPredicate::sge, tok,
                    arith::ConstantIntOp::create(b, i64, 0))),
            cmp(arith::CmpIPredicate::slt, tok,
                arith::ConstantIntOp::create(b, i64, V)));
        if (op.getCheckIds()) {
          // An imported Gather's contract: an id outside [0, V) fails the
          // call (the pad id is a real row there).
          Value inTable = arith::AndIOp::create(
              b,
              cmp(arith::CmpIPredicate::sge, tok,
                  arith::ConstantIntOp::create(b, i64, 0)),
              cmp(arith::CmpIPredicate::slt, tok,
                  arith::ConstantIntOp::create(b, i64, V)));
          CheckOp::create(
              b, inTable,
              ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), tok),
                         b.index(V)},
              onnxLocationPrefix(op.getLoc()) +
                  "token id {0} is out of range for an "
                  "embedding table of {1} rows",
              /*continues=*/true);
        }
        Value count = arith::SelectOp::create(
            b, valid,
            arith::AddIOp::create(b, acc[0],
                                  arith::ConstantIntOp::create(b, i64, 1)),
            acc[0]);
        auto branch = scf::IfOp::create(b, valid, /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(branch.thenBlock()->getTerminator());
          Value row = arith::IndexCastOp::create(b, b.getIndexType(), tok);
          Value p = arith::SIToFPOp::create(b, f64,
                                            arith::AddIOp::create(b, count, pad));
          Value pV = b.splat(p, lanes);
          auto embed = [&](Value c, Value mask) {
            return b.fmul(b.load(vecType, table, {row, c}, mask), scale);
          };
          auto position = [&](Value c, Value mask, Value j, bool cosine) {
            Value w = mask ? Value(vector::MaskedLoadOp::create(
                                 b, wideType, freq, {j}, mask,
                                 arith::ConstantOp::create(
                                     b, wideType, b.getZeroAttr(wideType))))
                           : Value(vector::LoadOp::create(b, wideType, freq,
                                                          ValueRange{j}));
            Value angle = b.fmul(pV, w);
            Value pe = cosine ? Value(math::CosOp::create(b, angle))
                              : Value(math::SinOp::create(b, angle));
            return arith::TruncFOp::create(b, vecType, pe);
          };
          if (op.getSinusoidal()) {
            forRange(0, half, [&](Value c, Value mask) {
              b.store(b.fadd(embed(c, mask), position(c, mask, c, false)), y,
                      {bi, t, c}, mask);
            });
            forRange(half, 2 * half, [&](Value c, Value mask) {
              Value j = b.sub(c, b.index(half));
              b.store(b.fadd(embed(c, mask), position(c, mask, j, true)), y,
                      {bi, t, c}, mask);
            });
            forRange(2 * half, d, [&](Value c, Value mask) {
              b.store(embed(c, mask), y, {bi, t, c}, mask);
            });
          } else {
            forRange(0, d, [&](Value c, Value mask) {
              b.store(embed(c, mask), y, {bi, t, c}, mask);
            });
          }
          b.setInsertionPoint(branch.elseBlock()->getTerminator());
          forRange(0, d, [&](Value c, Value mask) {
            b.store(zeroV, y, {bi, t, c}, mask);
          });
        }
        return SmallVector<Value>{count};
      });
    });
    return b.toTensor(y, op.getType());
  }
};

/// Keys per block of the attention kernel's online softmax.
constexpr int64_t kAttentionKeyBlock = 256;

/// Attention with an online softmax over blocks of keys, a work item per
/// (batch row, query, head) so that even one decoding query keeps every
/// thread busy. Per block of 256 keys: the scores (R-wide dot products in
/// vector registers) into a stack buffer with their maximum, then their
/// exponentials in vector registers, then the weighted values; the running
/// maximum, sum and R accumulators are rescaled once per block, not per
/// key, and no [Tq, Tk] score matrix is ever stored.
struct LowerAttention : ConvcLoweringPattern<AttentionOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(AttentionOp op, KernelBuilder &b) const override {
    int64_t C = op.getQuery().getType().getDimSize(2), H = op.getHeads();
    int64_t R = C / H, lanes = lanesWithinHead(R, options.vectorWidth);
    int64_t nvec = R / lanes;
    // Score vectors of the full vector width (a block is a multiple).
    int64_t sLanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    auto sType = VectorType::get({sLanes}, b.getF32Type());
    Value q = b.toBuffer(op.getQuery()), k = b.toBuffer(op.getKey()),
          v = b.toBuffer(op.getValue());
    Value mask = op.getKeyPadding() ? b.toBuffer(op.getKeyPadding()) : Value();
    Value y = b.allocLike(q);
    Value B = b.dim(q, 0), Tq = b.dim(q, 1), Tk = b.dim(k, 1);
    Value scale = b.splat(b.f32(1.0 / std::sqrt(double(R))), lanes);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    Value negInf = b.f32(-std::numeric_limits<float>::infinity());
    Value one = b.index(1), zero = b.index(0);
    b.parallel({B, Tq, b.index(H)}, [&](ValueRange ivs) {
      Value bi = ivs[0], t = ivs[1];
      Value base = b.mul(ivs[2], b.index(R));
      auto at = [&](int64_t i) { return b.add(base, b.index(i * lanes)); };
      // The query, scaled by 1/sqrt(R) once.
      SmallVector<Value> qv;
      for (int64_t i = 0; i < nvec; ++i)
        qv.push_back(b.fmul(vector::LoadOp::create(b, vecType, q,
                                                   ValueRange{bi, t, at(i)}),
                            scale));
      Value scores = b.allocaF32({kAttentionKeyBlock});
      SmallVector<Value> init = {negInf, b.f32(0.0)};
      init.append(nvec, zeroV);
      ValueRange state = b.forLoop(
          zero, Tk, b.index(kAttentionKeyBlock), init,
          [&](Value s0, ValueRange st) {
            Value n = b.min(b.index(kAttentionKeyBlock), b.sub(Tk, s0));
            // Scores of the block (padded keys: -inf) and their maximum.
            Value blockMax = b.forLoop(
                zero, n, one, ValueRange{negInf}, [&](Value j, ValueRange mx) {
                  Value s = b.add(s0, j);
                  Value dot = zeroV;
                  for (int64_t i = 0; i < nvec; ++i)
                    dot = b.fma(qv[i],
                                vector::LoadOp::create(b, vecType, k,
                                                       ValueRange{bi, s, at(i)}),
                                dot);
                  Value score = vector::ReductionOp::create(
                      b, vector::CombiningKind::ADD, dot,
                      arith::FastMathFlags::reassoc);
                  if (mask) {
                    Value padded = arith::CmpFOp::create(
                        b, arith::CmpFPredicate::UNE,
                        b.loadScalar(mask, {bi, s}), b.f32(0.0));
                    score = arith::SelectOp::create(b, padded, negInf, score);
                  }
                  b.storeScalar(score, scores, {j});
                  return SmallVector<Value>{
                      arith::MaximumFOp::create(b, mx[0], score)};
                })[0];
            Value mNew = arith::MaximumFOp::create(b, st[0], blockMax);
            // With every key so far padded, mNew = -inf: exponentials
            // against 0 instead give p = 0 and keep the state at zero.
            Value mRef = arith::SelectOp::create(
                b,
                arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew,
                                      negInf),
                b.f32(0.0), mNew);
            Value corr = b.exp(b.fsub(st[0], mRef));
            // p = exp(score - mRef), in place, vector by vector.
            Value mRefV = b.splat(mRef, sLanes);
            Value negInfV = b.splat(negInf, sLanes);
            Value sumV = b.forLoop(
                zero, n, b.index(sLanes),
                ValueRange{arith::ConstantOp::create(b, sType,
                                                     b.getZeroAttr(sType))},
                [&](Value j, ValueRange acc) {
                  Value live = vector::CreateMaskOp::create(
                      b, VectorType::get({sLanes}, b.getI1Type()),
                      ValueRange{b.sub(n, j)});
                  Value sv = vector::MaskedLoadOp::create(b, sType, scores, {j},
                                                          live, negInfV);
                  Value p = b.exp(b.fsub(sv, mRefV));
                  vector::StoreOp::create(b, p, scores, ValueRange{j});
                  return SmallVector<Value>{b.fadd(acc[0], p)};
                })[0];
            Value sum = vector::ReductionOp::create(
                b, vector::CombiningKind::ADD, sumV,
                arith::FastMathFlags::reassoc);
            Value corrV = b.splat(corr, lanes);
            SmallVector<Value> accs;
            for (int64_t i = 0; i < nvec; ++i)
              accs.push_back(b.fmul(st[2 + i], corrV));
            ValueRange weighted = b.forLoop(
                zero, n, one, accs, [&](Value j, ValueRange acc) {
                  Value pV = b.splat(b.loadScalar(scores, {j}), lanes);
                  Value s = b.add(s0, j);
                  SmallVector<Value> next;
                  for (int64_t i = 0; i < nvec; ++i)
                    next.push_back(b.fma(
                        vector::LoadOp::create(b, vecType, v,
                                               ValueRange{bi, s, at(i)}),
                        pV, acc[i]));
                  return next;
                });
            SmallVector<Value> next = {mNew,
                                       b.fadd(b.fmul(st[1], corr), sum)};
            next.append(weighted.begin(), weighted.end());
            return next;
          });
      // l = 0: every key masked, where softmax over -inf is NaN (as in
      // ONNX and PyTorch), or no keys, where the sum is empty (zero).
      Value l = state[1];
      Value none = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, Tk, zero),
          b.f32(std::numeric_limits<float>::quiet_NaN()), b.f32(0.0));
      Value inv = arith::SelectOp::create(
          b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, b.f32(0.0)),
          b.fdiv(b.f32(1.0), l), none);
      Value invV = b.splat(inv, lanes);
      for (int64_t i = 0; i < nvec; ++i)
        vector::StoreOp::create(b, b.fmul(state[2 + i], invV), y,
                                ValueRange{bi, t, at(i)});
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerPaddingMask : OpRewritePattern<PaddingMaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PaddingMaskOp op,
                                PatternRewriter &rewriter) const override {
    KernelBuilder b(op.getLoc(), rewriter);
    Value tokens = b.toBuffer(op.getTokens());
    Value B = b.dim(tokens, 0), T = b.dim(tokens, 1);
    Value y = b.allocResult(op.getType(), tokens);
    Value pad = arith::ConstantIntOp::create(b, b.getI64Type(),
                                             op.getPaddingIdx());
    b.parallel({B}, [&](ValueRange ivs) {
      b.forLoop(b.index(0), T, b.index(1), [&](Value t) {
        Value isPad = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                            b.loadScalar(tokens, {ivs[0], t}),
                                            pad);
        b.storeScalar(arith::SelectOp::create(b, isPad, b.f32(1.0), b.f32(0.0)),
                      y, {ivs[0], t});
      });
    });
    rewriter.replaceOp(op, b.toTensor(y, op.getType()));
    return success();
  }
};

struct LowerMaskPositions : ConvcLoweringPattern<MaskPositionsOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(MaskPositionsOp op, KernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t lanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), m = b.toBuffer(op.getMask());
    Value y = b.allocLike(x);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    b.parallel({b.dim(x, 0), b.dim(x, 1)}, [&](ValueRange ivs) {
      Value masked = arith::CmpFOp::create(b, arith::CmpFPredicate::UNE,
                                           b.loadScalar(m, ivs), b.f32(0.0));
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        Value v = b.load(vecType, x, {ivs[0], ivs[1], c}, mask);
        b.store(arith::SelectOp::create(b, masked, zeroV, v), y,
                {ivs[0], ivs[1], c}, mask);
      });
    });
    return b.toTensor(y, op.getType());
  }
};

} // namespace

void populateAttentionEmbeddingLoweringPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerEmbedding, LowerAttention>(ctx, options);
  patterns.add<LowerMaskPositions>(ctx, options);
  patterns.add<LowerPaddingMask>(ctx);
}

} // namespace convc::cpu_lowering
