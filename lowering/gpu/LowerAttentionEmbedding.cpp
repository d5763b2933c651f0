//===- LowerAttentionEmbedding.cpp - attention, embedding to GPU loops ----===//
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
#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

namespace convc::gpu_lowering {
namespace {

struct LowerMaskPositions : GPULoweringPattern<MaskPositionsOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(MaskPositionsOp op,
                           GPUKernelBuilder &b) const override {
    Value x = b.toBuffer(op.getInput()), m = b.toBuffer(op.getMask());
    Value y = b.allocLike(x);
    b.parallel({b.dim(x, 0), b.dim(x, 1), b.dim(x, 2)}, [&](ValueRange ivs) {
      Value masked = b.cmpF(arith::CmpFPredicate::UNE,
                            b.loadF32(m, {ivs[0], ivs[1]}), b.f32(0.0));
      b.storeF32(b.select(masked, b.f32(0.0), b.loadF32(x, ivs)), y, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

struct LowerPaddingMask : GPULoweringPattern<PaddingMaskOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(PaddingMaskOp op, GPUKernelBuilder &b) const override {
    Value tokens = b.toBuffer(op.getTokens());
    Value y = b.allocResult(op.getType(), tokens);
    Value pad = arith::ConstantIntOp::create(b, b.getI64Type(),
                                             op.getPaddingIdx());
    b.parallel({b.dim(tokens, 0), b.dim(tokens, 1)}, [&](ValueRange ivs) {
      Value isPad = b.cmpI(arith::CmpIPredicate::eq, b.loadScalar(tokens, ivs),
                           pad);
      b.storeScalar(b.select(isPad, b.f32(1.0), b.f32(0.0)), y, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// Token embedding: positions first (one work item per sequence counts the
/// non-pad tokens), then one work item per output element.
struct LowerEmbedding : GPULoweringPattern<EmbeddingOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(EmbeddingOp op, GPUKernelBuilder &b) const override {
    auto tableType = op.getTable().getType();
    int64_t V = tableType.getDimSize(0), d = tableType.getDimSize(1);
    int64_t half = d / 2;
    Type i64 = b.getI64Type(), f64 = b.getF64Type();
    Value tokens = b.toBuffer(op.getTokens()), table = b.toBuffer(op.getTable());
    Value start = op.getStart() ? b.toBuffer(op.getStart()) : Value();
    Value B = b.dim(tokens, 0), T = b.dim(tokens, 1);
    Value pad = arith::ConstantIntOp::create(b, i64, op.getPaddingIdx());
    auto i64c = [&](int64_t v) { return arith::ConstantIntOp::create(b, i64, v); };
    auto validToken = [&](Value tok) {
      return b.andI(b.andI(b.cmpI(arith::CmpIPredicate::ne, tok, pad),
                           b.cmpI(arith::CmpIPredicate::sge, tok, i64c(0))),
                    b.cmpI(arith::CmpIPredicate::slt, tok, i64c(V)));
    };
    // pos[b, t] = padding_idx + start[b] + #(valid tokens in 0..t).
    Value pos = memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, i64),
        ValueRange{B, T}, b.getI64IntegerAttr(64));
    b.parallel({B}, [&](ValueRange ivs) {
      Value count0 = start ? b.loadScalar(start, {ivs[0]}) : Value(i64c(0));
      b.forLoop(b.index(0), T, b.index(1), ValueRange{count0},
                [&](Value t, ValueRange acc) {
                  Value tok = b.loadScalar(tokens, {ivs[0], t});
                  if (op.getCheckIds())
                    // An imported Gather's contract, as on the CPU.
                    CheckOp::create(
                        b,
                        b.andI(b.cmpI(arith::CmpIPredicate::sge, tok, i64c(0)),
                               b.cmpI(arith::CmpIPredicate::slt, tok, i64c(V))),
                        ValueRange{arith::IndexCastOp::create(
                                       b, b.getIndexType(), tok),
                                   b.index(V)},
                        onnxLocationPrefix(op.getLoc()) +
                            "token id {0} is out of range for an "
                            "embedding table of {1} rows",
                        /*continues=*/true);
                  Value valid = validToken(tok);
                  Value count = b.select(
                      valid, arith::AddIOp::create(b, acc[0], i64c(1)), acc[0]);
                  b.storeScalar(arith::AddIOp::create(b, count, pad), pos,
                                {ivs[0], t});
                  return SmallVector<Value>{count};
                });
    });
    Value y = b.allocResult(cast<RankedTensorType>(op.getType()), tokens);
    Value scale = b.f32(op.getScale().convertToDouble());
    b.parallel({B, T, b.index(d)}, [&](ValueRange ivs) {
      Value bi = ivs[0], t = ivs[1], c = ivs[2];
      Value tok = b.loadScalar(tokens, {bi, t});
      Value valid = validToken(tok);
      Value row = arith::IndexCastOp::create(
          b, b.getIndexType(), b.select(valid, tok, i64c(0)));
      Value v = b.fmul(b.loadF32(table, {row, c}), scale);
      if (op.getSinusoidal() && half > 0) {
        // Angles p w_j reach hundreds: f64 keeps them within 1e-5.
        Value isCos = b.cmpI(arith::CmpIPredicate::sge, c, b.index(half));
        Value j = b.select(isCos, b.sub(c, b.index(half)), c);
        Value jf = b.indexToFloat(j, f64);
        Value wj = b.exp(
            b.fmul(jf, b.floatConst(f64, -std::log(10000.0) / double(half - 1))));
        Value p = arith::SIToFPOp::create(b, f64, b.loadScalar(pos, {bi, t}));
        Value angle = b.fmul(p, wj);
        Value pe = b.select(isCos, math::CosOp::create(b, angle),
                            math::SinOp::create(b, angle));
        Value inPE = b.cmpI(arith::CmpIPredicate::slt, c, b.index(2 * half));
        pe = b.select(inPE, arith::TruncFOp::create(b, b.getF32Type(), pe),
                      b.f32(0.0));
        v = b.fadd(v, pe);
      }
      b.storeF32(b.select(valid, v, b.f32(0.0)), y, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// Attention, one work item per output element (b, t, c): an online softmax
/// over the keys of c's head. The R work items of a head recompute the same
/// scores; they run in the same warp, so their key reads are broadcasts.
struct LowerAttention : GPULoweringPattern<AttentionOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(AttentionOp op, GPUKernelBuilder &b) const override {
    int64_t C = op.getQuery().getType().getDimSize(2), H = op.getHeads();
    int64_t R = C / H;
    Value q = b.toBuffer(op.getQuery()), k = b.toBuffer(op.getKey()),
          v = b.toBuffer(op.getValue());
    Value mask = op.getKeyPadding() ? b.toBuffer(op.getKeyPadding()) : Value();
    Value y = b.allocLike(q);
    Value B = b.dim(q, 0), Tq = b.dim(q, 1), Tk = b.dim(k, 1);
    Value scale = b.f32(1.0 / std::sqrt(double(R)));
    b.parallel({B, Tq, b.index(C)}, [&](ValueRange ivs) {
      Value bi = ivs[0], t = ivs[1], c = ivs[2];
      Value base = b.mul(b.floorDiv(c, b.index(R)), b.index(R));
      SmallVector<Value> init = {
          b.f32(-std::numeric_limits<float>::infinity()), b.f32(0.0),
          b.f32(0.0)};
      ValueRange state = b.forLoop(
          b.index(0), Tk, b.index(1), init, [&](Value s, ValueRange st) {
            Value dot = b.sum(b.index(R), [&](Value r) {
              Value ch = b.add(base, r);
              return b.fmul(b.loadF32(q, {bi, t, ch}), b.loadF32(k, {bi, s, ch}));
            });
            Value score = b.fmul(dot, scale);
            Value mNew = b.fmax(st[0], score);
            Value corr = b.exp(b.fsub(st[0], mNew));
            Value p = b.exp(b.fsub(score, mNew));
            SmallVector<Value> next = {
                mNew, b.fadd(b.fmul(st[1], corr), p),
                b.fadd(b.fmul(st[2], corr), b.fmul(p, b.loadF32(v, {bi, s, c})))};
            if (!mask)
              return next;
            // A padded key leaves the state as it was.
            Value padded = b.cmpF(arith::CmpFPredicate::UNE,
                                  b.loadF32(mask, {bi, s}), b.f32(0.0));
            for (size_t i = 0; i < next.size(); ++i)
              next[i] = b.select(padded, st[i], next[i]);
            return next;
          });
      // l = 0: every key masked, where softmax over -inf is NaN (as in
      // ONNX and PyTorch), or no keys, where the sum is empty (zero).
      Value l = state[1];
      Value none = b.select(
          arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, Tk, b.index(0)),
          b.f32(std::numeric_limits<float>::quiet_NaN()), b.f32(0.0));
      Value out = b.select(b.cmpF(arith::CmpFPredicate::OGT, l, b.f32(0.0)),
                           b.fdiv(state[2], l), none);
      b.storeF32(out, y, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

} // namespace

void populateAttentionEmbeddingLoweringPatterns(RewritePatternSet &patterns,
                                                int64_t timeTile) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerMaskPositions, LowerPaddingMask, LowerEmbedding,
               LowerAttention>(ctx, timeTile);
}

} // namespace convc::gpu_lowering
