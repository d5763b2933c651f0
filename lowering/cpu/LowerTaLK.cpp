//===- LowerTaLK.cpp - TaLK convolutions to loops -------------------------===//
//
// talk_conv, the prefix_sum and window_diff it splits into when not fused,
// and the one-step causal TaLK of decoding: windows of learned fractional
// extent, summed as differences of interpolated prefix sums.
//
// Math: docs/semantics.md, talk_conv, prefix_sum, window_diff, talk_step.
//
//===----------------------------------------------------------------------===//

#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

#include <algorithm>
#include <utility>

namespace convc::cpu_lowering {
namespace {

/// Largest per-thread scratch buffer placed on the stack.
constexpr int64_t kMaxStackBytes = 256 * 1024;

/// window_diff's interpolated prefix value
/// S~ = S[fl] + frac (S[fl + 1] - S[fl]) at row `base + delta`, where `base`
/// is an integer row and `delta` a small real offset. Keeping the integer
/// part out of the float keeps the fraction exact to f32 precision of
/// |delta| <= max window, not of t (which at T = 10^4 would lose 1e-3).
Value interpolate(KernelBuilder &b, int64_t lanes,
                  function_ref<Value(Value)> loadRow, Value base, Value delta,
                  Value last) {
  Value fl = math::FloorOp::create(b, delta);
  Value frac = b.fsub(delta, fl);
  Value offset = arith::IndexCastOp::create(
      b, b.getIndexType(), arith::FPToSIOp::create(b, b.getI64Type(), fl));
  Value idx = b.add(base, offset);
  Value next = b.min(b.add(idx, b.index(1)), last);
  Value lo = loadRow(idx), hi = loadRow(next);
  return b.fma(b.splat(frac, lanes), b.fsub(hi, lo), lo);
}

/// A fractional prefix-sum position `base + delta`: the two rows around it
/// and the weight of the upper one, computed once and shared by all the
/// channel vectors of a head.
struct FractionalRow {
  Value lower, upper, frac; // rows (index), frac (vector of the row type)
};

FractionalRow fractionalRow(KernelBuilder &b, int64_t lanes, Value base,
                            Value delta, Value last) {
  Value fl = math::FloorOp::create(b, delta);
  Value frac = b.fsub(delta, fl);
  Value offset = arith::IndexCastOp::create(
      b, b.getIndexType(), arith::FPToSIOp::create(b, b.getI64Type(), fl));
  Value idx = b.add(base, offset);
  return {idx, b.min(b.add(idx, b.index(1)), last), b.splat(frac, lanes)};
}

/// TaLK's window edges relative to t: e - t and (a - 1) - t, clamped to the
/// sequence (a >= 0, e <= T - 1). Offsets are per head.
/// Positions are computed in `type` (f64 for the fused TaLK kernel, where
/// an f32 product lt * Lmax would already cost 1e-6 of the fraction).
std::pair<Value, Value> talkEdges(KernelBuilder &b, Value o, Value bi, Value t,
                                  Value h, Value T, int64_t heads,
                                  int64_t leftMax, int64_t rightMax,
                                  bool causal, Type type) {
  auto widen = [&](Value v) -> Value {
    return v.getType() == type ? v : Value(arith::ExtFOp::create(b, type, v));
  };
  // Offsets are sigmoid outputs; anything outside [0, 1] (or NaN, which
  // maxnumf maps to 0) is clamped so that windows stay inside the sequence.
  auto unit = [&](Value v) -> Value {
    Value lo = arith::MaxNumFOp::create(b, v, b.floatConst(type, 0.0));
    return arith::MinNumFOp::create(b, lo, b.floatConst(type, 1.0));
  };
  Value tF = b.indexToFloat(t, type);
  Value lt = unit(widen(b.loadScalar(o, {bi, t, h})));
  Value left = arith::MaximumFOp::create(
      b, arith::NegFOp::create(b, b.fmul(lt, b.floatConst(type, leftMax))),
      arith::NegFOp::create(b, tF));
  Value aMinus1 = b.fsub(left, b.floatConst(type, 1.0));
  Value e = b.floatConst(type, 0.0);
  if (!causal) {
    Value rt = unit(widen(b.loadScalar(o, {bi, t, b.add(h, b.index(heads))})));
    Value room = b.indexToFloat(b.sub(b.sub(T, b.index(1)), t), type);
    e = arith::MinimumFOp::create(
        b, b.fmul(rt, b.floatConst(type, rightMax)), room);
  }
  return {e, aMinus1};
}

/// The sizes talk_conv and window_diff share.
struct TaLKShape {
  int64_t C, H, R, L, Rm, lanes;
  bool causal;
};

template <typename OpTy>
TaLKShape talkShape(OpTy op, Value input, int64_t vectorWidth) {
  TaLKShape s;
  s.C = cast<RankedTensorType>(input.getType()).getDimSize(2);
  int64_t width = op.getOffsets().getType().getDimSize(2);
  s.causal = op.getCausal();
  s.H = s.causal ? width : width / 2;
  s.R = s.C / s.H;
  s.L = op.getLeftMax();
  s.Rm = op.getRightMax();
  s.lanes = lanesWithinHead(s.R, vectorWidth);
  return s;
}

struct LowerTaLKConv : ConvcLoweringPattern<TaLKConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(TaLKConvOp op, KernelBuilder &b) const override {
    auto [C, H, R, L, Rm, lanes, causal] =
        talkShape(op, op.getInput(), options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    // The tile-local prefix sums and window positions are f64: a window sum
    // is a difference of two prefix values, and in f32 that difference loses
    // up to 1e-4 relative for short windows inside long prefixes. Short
    // sums in f64 keep every output within f32 rounding of the exact value.
    Type f64 = b.getF64Type();
    auto wideType = VectorType::get({lanes}, f64);
    // Vectors per group: the largest divisor of R / lanes up to 4 (lanes
    // divides R and C = H R, so no channel block needs a mask).
    int64_t group = 1;
    for (int64_t g = 4; g >= 1; --g)
      if ((R / lanes) % g == 0) {
        group = g;
        break;
      }
    // Tiles long enough that the halo (L + Rm + 1 rows) is a small overhead.
    int64_t tile = std::max<int64_t>(options.timeTile, 4 * (L + Rm + 1));
    int64_t rows = tile + L + Rm + 2;
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value zero = b.index(0), one = b.index(1);
    Value invKn = b.splat(b.floatConst(f64, 1.0 / double(L + Rm + 1)), lanes);
    b.parallel({B, numTiles(b, T, tile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(tile));
      Value t1 = b.min(b.add(t0, b.index(tile)), T);
      // Rows [lo, hi] of x feed this tile; P[i] = S[lo - 1 + i] - S[lo - 1],
      // a tile-local prefix sum of x / Kn: no full-length prefix sum.
      Value lo = b.max(zero, b.sub(t0, b.index(L + 1)));
      Value hi = b.min(b.sub(T, one), b.add(b.sub(t1, one), b.index(Rm)));
      Value last = b.add(b.sub(hi, lo), one);
      // Channels go in groups of `group` vectors of one head: the window
      // positions are computed once per group and time step. The group's
      // prefix sums live on the stack unless the window is huge.
      auto prefixType = MemRefType::get({rows, group * lanes}, f64);
      Value prefix =
          rows * group * lanes * 8 <= kMaxStackBytes
              ? Value(memref::AllocaOp::create(b, prefixType, ValueRange{},
                                               b.getI64IntegerAttr(64)))
              : Value(memref::AllocOp::create(b, prefixType, ValueRange{},
                                              b.getI64IntegerAttr(64)));
      Value zeroV =
          arith::ConstantOp::create(b, wideType, b.getZeroAttr(wideType));
      b.forLoop(zero, b.index(C), b.index(group * lanes), [&](Value c0) {
        Value h = b.floorDiv(c0, b.index(R));
        auto col = [&](int64_t g) { return b.index(g * lanes); };
        for (int64_t g = 0; g < group; ++g)
          vector::StoreOp::create(b, zeroV, prefix, ValueRange{zero, col(g)});
        SmallVector<Value> init(group, zeroV);
        b.forLoop(lo, b.add(hi, one), one, init, [&](Value j, ValueRange acc) {
          Value row = b.add(b.sub(j, lo), one);
          SmallVector<Value> next;
          for (int64_t g = 0; g < group; ++g) {
            Value narrow = vector::LoadOp::create(
                b, vecType, x, ValueRange{bi, j, b.add(c0, col(g))});
            Value xv = arith::ExtFOp::create(b, wideType, narrow);
            Value s = b.fma(xv, invKn, acc[g]);
            vector::StoreOp::create(b, s, prefix, ValueRange{row, col(g)});
            next.push_back(s);
          }
          return next;
        });
        b.forLoop(t0, t1, one, [&](Value t) {
          auto [e, aMinus1] =
              talkEdges(b, o, bi, t, h, T, H, L, Rm, causal, f64);
          Value base = b.add(b.sub(t, lo), one); // S[t] lives at row t - lo + 1
          FractionalRow pe = fractionalRow(b, lanes, base, e, last);
          FractionalRow pa = fractionalRow(b, lanes, base, aMinus1, last);
          for (int64_t g = 0; g < group; ++g) {
            auto at = [&](Value row) -> Value {
              return vector::LoadOp::create(b, wideType, prefix,
                                            ValueRange{row, col(g)});
            };
            auto value = [&](const FractionalRow &p) {
              Value lowV = at(p.lower);
              return b.fma(p.frac, b.fsub(at(p.upper), lowV), lowV);
            };
            Value yv = arith::TruncFOp::create(b, vecType,
                                               b.fsub(value(pe), value(pa)));
            vector::StoreOp::create(b, yv, y,
                                    ValueRange{bi, t, b.add(c0, col(g))});
          }
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerWindowDiff : ConvcLoweringPattern<WindowDiffOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(WindowDiffOp op, KernelBuilder &b) const override {
    auto [C, H, R, L, Rm, lanes, causal] =
        talkShape(op, op.getPrefixSums(), options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value S = b.toBuffer(op.getPrefixSums()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(S);
    Value B = b.dim(S, 0), T = b.dim(S, 1);
    Value one = b.index(1);
    b.parallel({B, numTiles(b, T, options.timeTile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(options.timeTile));
      Value t1 = b.min(b.add(t0, b.index(options.timeTile)), T);
      b.forLoop(t0, t1, one, [&](Value t) {
        b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
          Value h = b.floorDiv(c, b.index(R));
          // Row i of the virtual buffer is S[i - 1]; row 0 is S[-1] = 0.
          auto loadRow = [&](Value i) -> Value {
            Value zeroV =
                arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
            Value isFirst = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                  i, b.index(0));
            Value row = b.max(b.sub(i, one), b.index(0));
            Value v = b.load(vecType, S, {bi, row, c}, mask);
            return arith::SelectOp::create(b, isFirst, zeroV, v);
          };
          auto [e, aMinus1] = talkEdges(b, o, bi, t, h, T, H, L, Rm, causal,
                                        b.getF32Type());
          Value base = b.add(t, one); // S[t] is row t + 1; row 0 is S[-1]
          Value se = interpolate(b, lanes, loadRow, base, e, T);
          Value sa = interpolate(b, lanes, loadRow, base, aMinus1, T);
          b.store(b.fsub(se, sa), y, {bi, t, c}, mask);
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerPrefixSum : ConvcLoweringPattern<PrefixSumOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(PrefixSumOp op, KernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t lanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value scale = b.splat(b.f32(op.getScale().convertToDouble()), lanes);
    int64_t blocks = (C + lanes - 1) / lanes;
    // A prefix sum is sequential in time: parallel over batch x channels.
    b.parallel({B, b.index(blocks)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value c = b.mul(ivs[1], b.index(lanes));
      Value valid = b.min(b.index(lanes), b.sub(b.index(C), c));
      Value mask = vector::CreateMaskOp::create(
          b, VectorType::get({lanes}, b.getI1Type()), ValueRange{valid});
      Value zeroV =
          arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
      b.forLoop(b.index(0), T, b.index(1), zeroV,
                [&](Value t, ValueRange acc) {
                  Value xv = b.load(vecType, x, {bi, t, c}, mask);
                  Value s = b.fma(xv, scale, acc[0]);
                  b.store(s, y, {bi, t, c}, mask);
                  return SmallVector<Value>{s};
                });
    });
    return b.toTensor(y, op.getType());
  }
};

/// One causal TaLK step on a ring of the last Lmax + 2 prefix sums.
struct LowerTaLKStep : OpRewritePattern<TaLKStepOp> {
  LowerTaLKStep(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  LogicalResult matchAndRewrite(TaLKStepOp op,
                                PatternRewriter &rewriter) const override {
    if (!getElementTypeOrSelf(op.getInput().getType()).isF32())
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t H = op.getOffsets().getType().getDimSize(2), R = C / H;
    int64_t L = op.getLeftMax(), slots = L + 2;
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value ring = b.toBuffer(op.getRing()), step = b.toBuffer(op.getStep());
    Value y = b.allocLike(x), next = b.allocLike(ring);
    Value zero = b.index(0), one = b.index(1);
    Value invKn = b.splat(b.f32(1.0 / double(L + 1)), lanes);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    auto slotOf = [&](Value j) { // j >= 0
      return arith::RemSIOp::create(b, j, b.index(slots));
    };
    b.parallel({b.dim(x, 0)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
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
      Value tSlot = slotOf(t);
      Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, zero);
      Value prevSlot = slotOf(b.max(b.sub(t, one), zero));
      // S[j] from the updated ring; S[-1] = 0.
      auto prefixAt = [&](Value j, Value c) -> Value {
        Value negative =
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, j, zero);
        Value v = vector::LoadOp::create(
            b, vecType, next, ValueRange{bi, slotOf(b.max(j, zero)), c});
        return arith::SelectOp::create(b, negative, zeroV, v);
      };
      b.forChannelBlocks(C, lanes, [&](Value c, Value) {
        for (int64_t s = 0; s < slots; ++s)
          vector::StoreOp::create(
              b,
              vector::LoadOp::create(b, vecType, ring,
                                     ValueRange{bi, b.index(s), c}),
              next, ValueRange{bi, b.index(s), c});
        Value prev = vector::LoadOp::create(b, vecType, ring,
                                            ValueRange{bi, prevSlot, c});
        prev = arith::SelectOp::create(b, first, zeroV, prev);
        Value xv = vector::LoadOp::create(b, vecType, x, ValueRange{bi, zero, c});
        Value St = b.fma(xv, invKn, prev);
        vector::StoreOp::create(b, St, next, ValueRange{bi, tSlot, c});
        // a - 1 relative to t, with lt clamped to [0, 1]; a >= 0.
        Value h = b.floorDiv(c, b.index(R));
        Value lt = b.loadScalar(o, {bi, zero, h});
        lt = arith::MinNumFOp::create(
            b, arith::MaxNumFOp::create(b, lt, b.f32(0.0)), b.f32(1.0));
        Value left = arith::MaximumFOp::create(
            b, arith::NegFOp::create(b, b.fmul(lt, b.f32(double(L)))),
            arith::NegFOp::create(b, b.indexToF32(t)));
        Value delta = b.fsub(left, b.f32(1.0));
        Value fl = math::FloorOp::create(b, delta);
        Value frac = b.splat(b.fsub(delta, fl), lanes);
        Value j = b.add(t, arith::IndexCastOp::create(
                               b, b.getIndexType(),
                               arith::FPToSIOp::create(b, b.getI64Type(), fl)));
        Value lo = prefixAt(j, c), hi = prefixAt(b.min(b.add(j, one), t), c);
        Value Sa = b.fma(frac, b.fsub(hi, lo), lo);
        vector::StoreOp::create(b, b.fsub(St, Sa), y, ValueRange{bi, zero, c});
      });
    });
    rewriter.replaceOp(op, {b.toTensor(y, op.getResult().getType()),
                            b.toTensor(next, op.getNewRing().getType())});
    return success();
  }
};

} // namespace

void populateTaLKLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerTaLKConv, LowerWindowDiff, LowerPrefixSum>(ctx, options);
  patterns.add<LowerTaLKStep>(ctx, options);
}

} // namespace convc::cpu_lowering
