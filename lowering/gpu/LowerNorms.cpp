//===- LowerNorms.cpp - layer_norm to GPU loops ---------------------------===//
//
// layer_norm as a block of warps, a warp per row, with tree sums in
// shared memory; linear's fused LayerNorm runs the same kernel.
//
// Math: docs/semantics.md, layer_norm.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace convc::gpu_lowering {
namespace {

/// Rows per block of the LayerNorm kernel, and threads per row (a warp).
constexpr int64_t kNormRows = 8, kNormLanes = 32;
static_assert(kNormRows * kNormLanes == kTileThreads, "a warp per row");

} // namespace

/// LayerNorm of rows of `a` (f32 or storage type) into `y`: a block of 256
/// threads per 8 rows, a warp per row. Each lane sums a strided share of
/// its row (coalesced reads) into shared memory and the 32 partial sums of
/// each row are added in a tree; the same for the biased variance around
/// the mean (into a second buffer, as the mean's sums are still read);
/// then the lanes write the normalised row. 11 barriers per 8 rows, where
/// a block per row would take 17 per row.
void emitLayerNormRows(GPUKernelBuilder &b, Value a, Value y, Value gamma,
                       Value beta, double eps) {
  Value M = b.dim(a, 0), W = b.dim(a, 1);
  Value invW = b.fdiv(b.f32(1.0), b.indexToF32(W));
  Value lanes = b.index(kNormLanes);
  b.blocks({b.ceilDiv(M, b.index(kNormRows))}, kTileThreads,
           [&](ValueRange ivs) {
    Value r0 = b.mul(ivs[0], b.index(kNormRows));
    Value sums = b.shared({kNormRows, kNormLanes});
    Value squares = b.shared({kNormRows, kNormLanes});
    auto total = [&](Value part, Value row) {
      return b.fadd(b.loadScalar(part, {row, b.index(0)}),
                    b.loadScalar(part, {row, b.index(1)}));
    };
    auto meanOf = [&](Value row) { return b.fmul(total(sums, row), invW); };
    // part[row][0] + part[row][1] = sum over the row of fn(r, c), 0 for
    // rows past M; `mean`: whether fn gets the row's mean (else 0).
    auto rowSums = [&](Value part, bool mean,
                       function_ref<Value(Value, Value, Value)> fn) {
      b.threadPhase(kTileThreads, [&](Value i) {
        auto [row, lane] = b.divRem(i, kNormLanes);
        Value r = b.add(r0, row);
        Value inside = b.lt(r, M);
        Value rc = b.min(r, b.sub(M, b.index(1)));
        Value m = mean ? meanOf(row) : b.f32(0.0);
        Value s = b.forLoop(lane, W, lanes, ValueRange{b.f32(0.0)},
                            [&](Value c, ValueRange acc) {
                              return SmallVector<Value>{
                                  b.fadd(acc[0], fn(m, rc, c))};
                            })[0];
        b.storeScalar(b.select(inside, s, b.f32(0.0)), part, {row, lane});
      });
      for (int64_t half = kNormLanes / 2; half >= 2; half /= 2)
        b.threadPhase(kNormRows * half, [&](Value i) {
          auto [row, lane] = b.divRem(i, half);
          Value other = b.loadScalar(part, {row, b.add(lane, b.index(half))});
          b.storeScalar(b.fadd(b.loadScalar(part, {row, lane}), other), part,
                        {row, lane});
        });
    };
    rowSums(sums, false,
            [&](Value, Value r, Value c) { return b.loadF32(a, {r, c}); });
    rowSums(squares, true, [&](Value mean, Value r, Value c) {
      Value d = b.fsub(b.loadF32(a, {r, c}), mean);
      return b.fmul(d, d);
    });
    b.threadPhase(kTileThreads, [&](Value i) {
      auto [row, lane] = b.divRem(i, kNormLanes);
      Value r = b.add(r0, row);
      b.ifThen(b.lt(r, M), [&] {
        Value mean = meanOf(row);
        Value var = b.fmul(total(squares, row), invW);
        Value inv = math::RsqrtOp::create(b, b.fadd(var, b.f32(eps)));
        b.forLoop(lane, W, lanes, [&](Value c) {
          Value n = b.fmul(b.fsub(b.loadF32(a, {r, c}), mean), inv);
          b.storeF32(b.fadd(b.fmul(n, b.loadF32(gamma, {c})),
                            b.loadF32(beta, {c})),
                     y, {r, c});
        });
      });
    });
  });
}

namespace {

struct LowerLayerNorm : GPULoweringPattern<LayerNormOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(LayerNormOp op, GPUKernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    Value a = x2;
    if (op.getResidual()) {
      // a = x + residual, kept in f32.
      Value res = b.rows(b.toBuffer(op.getResidual()));
      a = b.allocF32({ShapedType::kDynamic, type.getShape().back()},
                     {b.dim(x2, 0)});
      b.parallel({b.dim(x2, 0), b.dim(x2, 1)}, [&](ValueRange ivs) {
        b.storeScalar(b.fadd(b.loadF32(x2, ivs), b.loadF32(res, ivs)), a, ivs);
      });
    }
    emitLayerNormRows(b, a, y2, b.toBuffer(op.getGamma()),
                      b.toBuffer(op.getBeta()), op.getEps().convertToDouble());
    return {b.toTensorOf(y, op.getResult())};
  }
};

} // namespace

void populateNormLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerLayerNorm>(ctx, timeTile);
}

} // namespace convc::gpu_lowering
