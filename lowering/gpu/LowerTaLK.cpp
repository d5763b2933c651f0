//===- LowerTaLK.cpp - TaLK convolutions to GPU loops ---------------------===//
//
// talk_conv, the prefix_sum and window_diff it splits into when not fused,
// and the one-step causal TaLK of decoding: windows of learned fractional
// extent, summed as differences of interpolated prefix sums.
//
// Math: docs/semantics.md, talk_conv, prefix_sum, window_diff, talk_step.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

#include <utility>

namespace convc::gpu_lowering {
namespace {

/// TaLK offsets at (b, t, h) as the window's edges relative to t:
/// lo = (a - 1) - t and hi = e - t, clamped to the sequence. Offsets
/// outside [0, 1] (and NaN) are clamped; small relative values keep the
/// fractions exact to f32 precision whatever t is.
std::pair<Value, Value> talkWindow(GPUKernelBuilder &b, Value o, Value bi,
                                   Value t, Value h, Value T, int64_t H,
                                   int64_t Lmax, int64_t Rmax, bool causal) {
  auto clamp01 = [&](Value v) {
    // maxnumf picks 0 for NaN.
    Value v0 = arith::MaxNumFOp::create(b, v, b.f32(0.0));
    return b.fmin(v0, b.f32(1.0));
  };
  Value lt = clamp01(b.loadF32(o, {bi, t, h}));
  Value toStart = b.indexToF32(t);
  Value lo = b.fsub(b.fmax(b.fmul(b.fsub(b.f32(0.0), lt), b.f32(double(Lmax))),
                           b.fsub(b.f32(0.0), toStart)),
                    b.f32(1.0));
  if (causal || Rmax == 0)
    return {lo, b.f32(0.0)};
  Value rt = clamp01(b.loadF32(o, {bi, t, b.add(h, b.index(H))}));
  Value toEnd = b.indexToF32(b.sub(b.sub(T, b.index(1)), t));
  Value hi = b.fmin(b.fmul(rt, b.f32(double(Rmax))), toEnd);
  return {lo, hi};
}

/// Heads of a TaLK op: its offsets hold one (causal) or two values per head.
template <typename OpTy>
int64_t talkHeads(OpTy op) {
  int64_t width = op.getOffsets().getType().getDimSize(2);
  return op.getCausal() ? width : width / 2;
}

/// S~(t + delta) from prefix sums read by prefixAt(row) (rows < 0 read 0).
Value interpolatedPrefix(GPUKernelBuilder &b, Value delta,
                         function_ref<Value(Value)> prefixAt, Value t) {
  Value fl = b.floor(delta);
  Value frac = b.fsub(delta, fl);
  Value row = b.add(t, b.floatToIndex(fl));
  Value lower = prefixAt(row);
  // frac > 0 implies row + 1 <= T - 1: the window never leaves the sequence.
  Value upper = prefixAt(b.add(row, b.index(1)));
  Value hasFrac = b.cmpF(arith::CmpFPredicate::OGT, frac, b.f32(0.0));
  return b.select(hasFrac, b.fadd(lower, b.fmul(frac, b.fsub(upper, lower))),
                  lower);
}

/// TaLK in one fused pass, a block per (batch, 128-step time tile,
/// 32-channel tile), 256 threads, in shared memory:
///   1. stage the tile and the halos the windows reach (Lmax + 1 rows
///      before, Rmax + 1 after), scaled by 1/Kn: coalesced 128-byte rows;
///   2. prefix-sum each channel's column within 8 segments, one per thread;
///   3. every output reads its window: the segment-local prefix sums at its
///      two edges, the totals of the whole segments in between, and the
///      interpolated fractions of the edge rows.
/// No sum spans more than a segment plus the window, so f32 stays within
/// 1e-5 at any T; DRAM traffic is the input and offsets once, plus the
/// halos, and the output. False when the tile and its halos do not fit in
/// shared memory.
bool emitTiledTaLK(GPUKernelBuilder &b, TaLKConvOp op, Value x, Value o,
                   Value y, int64_t H, int64_t R) {
  int64_t Lmax = op.getLeftMax(), Rmax = op.getRightMax();
  int64_t halo = Lmax + 1, span = halo + kTileSteps + Rmax + 1;
  if (span * kTileChannels * 4 > kSharedBytes)
    return false;
  constexpr int64_t kSegments = kTileThreads / kTileChannels;
  int64_t segment = (span + kSegments - 1) / kSegments;
  Value B = b.dim(x, 0), T = b.dim(x, 1), C = b.dim(x, 2);
  Value scale = b.f32(1.0 / double(op.getNormalizer()));
  Value tiles = b.ceilDiv(T, b.index(kTileSteps));
  Value cTiles = b.ceilDiv(C, b.index(kTileChannels));
  b.blocks({B, tiles, cTiles}, kTileThreads, [&](ValueRange ivs) {
    Value bi = ivs[0];
    Value t0 = b.mul(ivs[1], b.index(kTileSteps));
    Value c0 = b.mul(ivs[2], b.index(kTileChannels));
    Value first = b.sub(t0, b.index(halo)); // time of row 0
    Value S = b.shared({span, kTileChannels});
    stageTimeTile(b, x, bi, first, c0, S, span, scale);
    b.threadPhase(kSegments * kTileChannels, [&](Value i) {
      auto [seg, col] = b.divRem(i, kTileChannels);
      Value lo = b.mul(seg, b.index(segment));
      Value hi = b.min(b.add(lo, b.index(segment)), b.index(span));
      b.forLoop(lo, hi, b.index(1), ValueRange{b.f32(0.0)},
                [&](Value row, ValueRange acc) {
                  Value sum = b.fadd(acc[0], b.loadScalar(S, {row, col}));
                  b.storeScalar(sum, S, {row, col});
                  return SmallVector<Value>{sum};
                });
    });
    b.threadPhase(kTileSteps * kTileChannels, [&](Value i) {
      auto [row, col] = b.divRem(i, kTileChannels);
      Value t = b.add(t0, row), c = b.add(c0, col);
      b.ifThen(
          b.andI(b.cmpI(arith::CmpIPredicate::slt, t, T),
                 b.cmpI(arith::CmpIPredicate::slt, c, C)),
          [&] {
            Value h = b.floorDiv(c, b.index(R));
            auto [lo, hi] = talkWindow(b, o, bi, t, h, T, H, Lmax, Rmax,
                                       op.getCausal());
            Value segLen = b.index(segment);
            auto prefix = [&](Value r) { return b.loadScalar(S, {r, col}); };
            // The scaled input of row r: its segment-local prefix minus the
            // previous row's, unless r starts a segment.
            auto input = [&](Value r) {
              Value starts = b.cmpI(
                  arith::CmpIPredicate::eq,
                  arith::RemSIOp::create(b, r, segLen).getResult(), b.index(0));
              Value before = b.select(
                  starts, b.f32(0.0),
                  prefix(b.max(b.sub(r, b.index(1)), b.index(0))));
              return b.fsub(prefix(r), before);
            };
            // Window edges as tile rows (lo >= -Lmax - 1 keeps rA >= 0,
            // hi <= Rmax keeps rE + 1 <= span - 1) and their fractions.
            Value flA = b.floor(lo), flE = b.floor(hi);
            Value rA = b.sub(b.add(t, b.floatToIndex(flA)), first);
            Value rE = b.sub(b.add(t, b.floatToIndex(flE)), first);
            Value fracA = b.fsub(lo, flA), fracE = b.fsub(hi, flE);
            // S[rE] - S[rA] = local prefixes + whole segments in between.
            Value segA = b.floorDiv(rA, segLen), segE = b.floorDiv(rE, segLen);
            Value between = b.forLoop(
                segA, segE, b.index(1), ValueRange{b.f32(0.0)},
                [&](Value sg, ValueRange acc) {
                  Value last = b.sub(b.mul(b.add(sg, b.index(1)), segLen),
                                     b.index(1));
                  return SmallVector<Value>{b.fadd(acc[0], prefix(last))};
                })[0];
            Value whole = b.fadd(b.fsub(prefix(rE), prefix(rA)), between);
            Value sum = b.fadd(
                whole, b.fsub(b.fmul(fracE, input(b.add(rE, b.index(1)))),
                              b.fmul(fracA, input(b.add(rA, b.index(1))))));
            b.storeF32(sum, y, {bi, t, c});
          });
    });
  });
  return true;
}

/// TaLK windows too wide for a shared tile: each work item is one channel
/// over a time tile. It
/// forms the prefix sums of its tile plus the halos the windows can reach
/// (Lmax + 1 before, Rmax after) in a private buffer, relative to the tile
/// (so sums stay short and f32 stays within 1e-5 at any T), then reads
/// every window sum from it. Cost per output: O(1 + Kn / tile).
void emitPrivateTaLK(GPUKernelBuilder &b, TaLKConvOp op, Value x, Value o,
                     Value y, int64_t H, int64_t R, int64_t tile) {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t Lmax = op.getLeftMax(), Rmax = op.getRightMax();
    int64_t halo = Lmax + 1;
    // + 1: the upper neighbour of the last row is read (with weight 0).
    int64_t span = halo + tile + Rmax + 1;
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value scale = b.f32(1.0 / double(op.getNormalizer()));
    Value tiles = b.ceilDiv(T, b.index(tile));
    b.parallel({B, tiles, b.index(C)}, [&](ValueRange ivs) {
      Value bi = ivs[0], c = ivs[2];
      Value t0 = b.mul(ivs[1], b.index(tile));
      Value first = b.sub(t0, b.index(halo)); // row of P[0]
      // P[i] = sum of x[first .. first + i] / Kn (rows outside: 0).
      Value P = memref::AllocaOp::create(
          b, MemRefType::get({span}, b.getF32Type()), ValueRange{},
          b.getI64IntegerAttr(16));
      b.forLoop(b.index(0), b.index(span), b.index(1), ValueRange{b.f32(0.0)},
                [&](Value i, ValueRange acc) {
                  Value v = b.loadOrZero(x, {bi, t0, c}, 1, b.add(first, i), T);
                  Value s = b.fadd(acc[0], b.fmul(v, scale));
                  b.storeScalar(s, P, {i});
                  return SmallVector<Value>{s};
                });
      Value h = b.floorDiv(c, b.index(R));
      Value tEnd = b.min(b.add(t0, b.index(tile)), T);
      b.forLoop(t0, tEnd, b.index(1), [&](Value t) {
        auto [lo, hi] = talkWindow(b, o, bi, t, h, T, H, Lmax, Rmax,
                                   op.getCausal());
        // Rows before the sequence hold 0 in P (loadOrZero), and row
        // first - 1 is never read: lo >= -Lmax - 1.
        auto prefixAt = [&](Value row) {
          return b.loadScalar(P, {b.sub(row, first)});
        };
        Value sum = b.fsub(interpolatedPrefix(b, hi, prefixAt, t),
                           interpolatedPrefix(b, lo, prefixAt, t));
        b.storeF32(sum, y, {bi, t, c});
      });
    });
}

struct LowerTaLKConv : GPULoweringPattern<TaLKConvOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(TaLKConvOp op, GPUKernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t H = talkHeads(op), R = C / H;
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(x);
    if (!emitTiledTaLK(b, op, x, o, y, H, R))
      emitPrivateTaLK(b, op, x, o, y, H, R, timeTile);
    return {b.toTensorOf(y, op.getResult())};
  }
};

struct LowerPrefixSum : GPULoweringPattern<PrefixSumOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(PrefixSumOp op, GPUKernelBuilder &b) const override {
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    Value scale = b.f32(op.getScale().convertToDouble());
    b.parallel({b.dim(x, 0), b.dim(x, 2)}, [&](ValueRange ivs) {
      b.forLoop(b.index(0), b.dim(x, 1), b.index(1), ValueRange{b.f32(0.0)},
                [&](Value t, ValueRange acc) {
                  Value s = b.fadd(acc[0], b.fmul(b.loadF32(x, {ivs[0], t, ivs[1]}),
                                                  scale));
                  b.storeF32(s, y, {ivs[0], t, ivs[1]});
                  return SmallVector<Value>{s};
                });
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

struct LowerWindowDiff : GPULoweringPattern<WindowDiffOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(WindowDiffOp op, GPUKernelBuilder &b) const override {
    int64_t C = op.getPrefixSums().getType().getDimSize(2);
    int64_t H = talkHeads(op), R = C / H;
    Value S = b.toBuffer(op.getPrefixSums()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(S);
    Value B = b.dim(S, 0), T = b.dim(S, 1);
    b.parallel({B, T, b.index(C)}, [&](ValueRange ivs) {
      Value bi = ivs[0], t = ivs[1], c = ivs[2];
      auto [lo, hi] = talkWindow(b, o, bi, t, b.floorDiv(c, b.index(R)), T, H,
                                 op.getLeftMax(), op.getRightMax(),
                                 op.getCausal());
      auto prefixAt = [&](Value row) {
        return b.loadOrZero(S, {bi, t, c}, 1, row, T);
      };
      b.storeF32(b.fsub(interpolatedPrefix(b, hi, prefixAt, t),
                        interpolatedPrefix(b, lo, prefixAt, t)),
                 y, {bi, t, c});
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// One causal TaLK step on the ring of the last Lmax + 2 prefix sums: a work
/// item per (batch row, channel) copies its column of the ring, appends
/// S[t] and reads the interpolated left edge from it.
struct LowerTaLKStep : GPULoweringPattern<TaLKStepOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(TaLKStepOp op, GPUKernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t H = op.getOffsets().getType().getDimSize(2), R = C / H;
    int64_t L = op.getLeftMax(), slots = L + 2;
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value ring = b.toBuffer(op.getRing()), step = b.toBuffer(op.getStep());
    Value y = b.allocLike(x), next = b.allocLike(ring);
    Value zero = b.index(0), one = b.index(1);
    auto slotOf = [&](Value j) { // j >= 0
      return arith::RemSIOp::create(b, j, b.index(slots)).getResult();
    };
    b.parallel({b.dim(x, 0), b.index(C)}, [&](ValueRange ivs) {
      Value bi = ivs[0], c = ivs[1];
      Value t = arith::IndexCastOp::create(b, b.getIndexType(),
                                           b.loadScalar(step, {bi}));
      // A negative position (a caller's bad step input) would index the
      // ring below its start: it fails the call, and reads slot 0 meanwhile.
      CheckOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge,
                                               t, zero),
                      ValueRange{t},
                      "TaLK decode step: position {0} is negative",
                      /*continues=*/true);
      t = b.max(t, zero);
      b.forLoop(zero, b.index(slots), one, [&](Value sl) {
        b.storeF32(b.loadF32(ring, {bi, sl, c}), next, {bi, sl, c});
      });
      Value isFirst = b.cmpI(arith::CmpIPredicate::eq, t, zero);
      Value prev = b.select(
          isFirst, b.f32(0.0),
          b.loadF32(next, {bi, slotOf(b.max(b.sub(t, one), zero)), c}));
      Value St = b.fadd(prev, b.fmul(b.loadF32(x, {bi, zero, c}),
                                     b.f32(1.0 / double(L + 1))));
      b.storeF32(St, next, {bi, slotOf(t), c});
      // S[j] from the updated ring; S[-1] = 0.
      auto prefixAt = [&](Value j) {
        Value negative = b.cmpI(arith::CmpIPredicate::slt, j, zero);
        return b.select(negative, b.f32(0.0),
                        b.loadF32(next, {bi, slotOf(b.max(j, zero)), c}));
      };
      Value lt = b.loadF32(o, {bi, zero, b.floorDiv(c, b.index(R))});
      lt = b.fmin(arith::MaxNumFOp::create(b, lt, b.f32(0.0)), b.f32(1.0));
      Value left = b.fmax(b.fmul(b.fsub(b.f32(0.0), lt), b.f32(double(L))),
                          b.fsub(b.f32(0.0), b.indexToF32(t)));
      Value delta = b.fsub(left, b.f32(1.0));
      Value fl = b.floor(delta);
      Value frac = b.fsub(delta, fl);
      Value j = b.add(t, b.floatToIndex(fl));
      Value lo = prefixAt(j), hi = prefixAt(b.min(b.add(j, one), t));
      Value Sa = b.fadd(lo, b.fmul(frac, b.fsub(hi, lo)));
      b.storeF32(b.fsub(St, Sa), y, {bi, zero, c});
    });
    return {b.toTensorOf(y, op.getResult()),
            b.toTensorOf(next, op.getNewRing())};
  }
};

} // namespace

void populateTaLKLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerTaLKConv, LowerPrefixSum, LowerWindowDiff, LowerTaLKStep>(
      ctx, timeTile);
}

} // namespace convc::gpu_lowering
