//===- LowerConvs.cpp - convolutions and their kernels to GPU loops -------===//
//
// The window convolutions (depthwise, lightweight), dynamic_conv and
// dynamic_kernel_conv, kernel_softmax and the one-step causal conv of
// decoding: tiled in shared memory where the halo fits, a work item per
// output otherwise.
//
// Math: docs/semantics.md, depthwise_conv, lightweight_conv, dynamic_conv,
// kernel_softmax, dynamic_kernel_conv, conv_window_step.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <numeric>

namespace convc::gpu_lowering {
namespace {

/// y[b, t, c] = sum_k w(c, k) * x[b, t + r (k - P), c] (+ bias[c]), a work
/// item per output.
void emitFlatWindowConv(GPUKernelBuilder &b, Value x, Value y, Value bias,
                        int64_t K, int64_t P, int64_t r,
                        function_ref<Value(Value, Value)> weight) {
  Value B = b.dim(x, 0), T = b.dim(x, 1), C = b.dim(x, 2);
  b.parallel({B, T, C}, [&](ValueRange ivs) {
    Value bi = ivs[0], t = ivs[1], c = ivs[2];
    Value init = bias ? b.loadF32(bias, {c}) : b.f32(0.0);
    Value acc = b.sum(
        b.index(K),
        [&](Value k) {
          Value src = b.add(t, b.mul(b.index(r), b.sub(k, b.index(P))));
          return b.fmul(weight(c, k), b.loadOrZero(x, {bi, t, c}, 1, src, T));
        },
        init);
    b.storeF32(acc, y, {bi, t, c});
  });
}

/// Consecutive time steps per thread in the tiled window conv, and the most
/// tile rows one thread's outputs may read (each is one unrolled load).
constexpr int64_t kStepsPerThread = 8, kMaxRowsPerThread = 72;

/// The same conv with a block per (batch, 128-step time tile, 32-channel
/// tile): the threads first stage the tile and its halo of (K - 1) r rows
/// in shared memory (coalesced 128-byte rows), then each computes outputs
/// from it, so every input is read from DRAM once per tile instead of K
/// times through the cache. False when the halo does not fit.
///
/// Each thread computes 8 consecutive steps of one channel: it loads its K
/// taps once and each of the 8 + (K - 1) r tile rows its outputs read once,
/// adding each row into every output whose window holds it (unrolled, so
/// all of it stays in registers). An output alone costs 2 K loads for K
/// FMAs, which would bound the kernel by load throughput rather than DRAM.
/// Windows wider than 72 rows per thread compute one output per item.
bool emitTiledWindowConv(GPUKernelBuilder &b, Value x, Value y, Value bias,
                         int64_t K, int64_t P, int64_t r,
                         function_ref<Value(Value, Value)> weight) {
  int64_t span = kTileSteps + (K - 1) * r;
  if (span * kTileChannels * 4 > kSharedBytes)
    return false;
  Value B = b.dim(x, 0), T = b.dim(x, 1), C = b.dim(x, 2);
  Value tiles = b.ceilDiv(T, b.index(kTileSteps));
  Value cTiles = b.ceilDiv(C, b.index(kTileChannels));
  b.blocks({B, tiles, cTiles}, kTileThreads, [&](ValueRange ivs) {
    Value bi = ivs[0];
    Value t0 = b.mul(ivs[1], b.index(kTileSteps));
    Value c0 = b.mul(ivs[2], b.index(kTileChannels));
    Value first = b.sub(t0, b.index(P * r)); // time of tile row 0
    Value tile = b.shared({span, kTileChannels});
    stageTimeTile(b, x, bi, first, c0, tile, span);
    int64_t U = kStepsPerThread, rowsPerThread = U + (K - 1) * r;
    if (rowsPerThread <= kMaxRowsPerThread) {
      b.threadPhase(kTileSteps / U * kTileChannels, [&](Value i) {
        auto [group, col] = b.divRem(i, kTileChannels);
        Value row0 = b.mul(group, b.index(U)), c = b.add(c0, col);
        b.ifThen(b.cmpI(arith::CmpIPredicate::slt, c, C), [&] {
          SmallVector<Value> acc(U, bias ? b.loadF32(bias, {c}) : b.f32(0.0));
          // Tap by tap, in ascending order for each output as the
          // reference: tap k of output u reads row u + k r, each row loaded
          // where first read. Only the rows of the next few taps are live,
          // where a row-by-row order keeps all K taps in registers.
          SmallVector<Value> rows(rowsPerThread);
          for (int64_t k = 0; k < K; ++k) {
            Value tap = weight(c, b.index(k));
            for (int64_t u = 0; u < U; ++u) {
              Value &v = rows[u + k * r];
              if (!v)
                v = b.loadScalar(tile, {b.add(row0, b.index(u + k * r)), col});
              acc[u] = b.fma(tap, v, acc[u]);
            }
          }
          // All U steps inside the sequence (every group but the last
          // tile's) store unguarded: with only guarded stores LLVM sinks
          // each output's FMAs into its store's branch, which hoists every
          // load above them and keeps all taps and rows live at once.
          Value t = b.add(t0, row0);
          auto whole = scf::IfOp::create(
              b, b.cmpI(arith::CmpIPredicate::sle, b.add(t, b.index(U)), T),
              /*withElseRegion=*/true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(whole.thenBlock()->getTerminator());
          for (int64_t u = 0; u < U; ++u)
            b.storeF32(acc[u], y, {bi, b.add(t, b.index(u)), c});
          b.setInsertionPoint(whole.elseBlock()->getTerminator());
          for (int64_t u = 0; u < U; ++u) {
            Value tu = b.add(t, b.index(u));
            b.ifThen(b.cmpI(arith::CmpIPredicate::slt, tu, T),
                     [&] { b.storeF32(acc[u], y, {bi, tu, c}); });
          }
        });
      });
      return;
    }
    b.threadPhase(kTileSteps * kTileChannels, [&](Value i) {
      auto [row, col] = b.divRem(i, kTileChannels);
      Value t = b.add(t0, row), c = b.add(c0, col);
      b.ifThen(b.andI(b.cmpI(arith::CmpIPredicate::slt, t, T),
                      b.cmpI(arith::CmpIPredicate::slt, c, C)),
               [&] {
                 Value init = bias ? b.loadF32(bias, {c}) : b.f32(0.0);
                 Value acc = b.sum(
                     b.index(K),
                     [&](Value k) {
                       Value at = b.add(row, b.mul(k, b.index(r)));
                       return b.fmul(weight(c, k),
                                     b.loadScalar(tile, {at, col}));
                     },
                     init);
                 b.storeF32(acc, y, {bi, t, c});
               });
    });
  });
  return true;
}

/// The window conv: tiled in shared memory, or flat when the halo does not
/// fit there.
void emitWindowConv(GPUKernelBuilder &b, Value x, Value y, Value bias,
                    int64_t K, int64_t P, int64_t r,
                    function_ref<Value(Value, Value)> weight) {
  if (!emitTiledWindowConv(b, x, y, bias, K, P, r, weight))
    emitFlatWindowConv(b, x, y, bias, K, P, r, weight);
}

struct LowerDepthwiseConv : GPULoweringPattern<DepthwiseConvOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(DepthwiseConvOp op,
                           GPUKernelBuilder &b) const override {
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocLike(x);
    emitWindowConv(b, x, y, bias, op.getKernelSize(), op.getPadding(),
                   op.getDilation(), [&](Value c, Value k) {
                     return b.loadF32(w, {c, k});
                   });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// Softmax of each row of `logits` [rows, K] into `out` (f32), in place when
/// they are the same buffer: one work item per row.
void emitRowSoftmax(GPUKernelBuilder &b, Value logits, Value out) {
  Value K = b.dim(logits, 1);
  b.parallel({b.dim(logits, 0)}, [&](ValueRange ivs) {
    Value r = ivs[0];
    Value m = b.maxOver(K, [&](Value k) { return b.loadF32(logits, {r, k}); });
    // The sum in f64: a vocabulary's 20000 terms added one by one in f32
    // came out 2e-5 off (the CPU's lane-wise partial sums: 1e-6).
    Type f64 = b.getF64Type();
    Value s64 =
        b.forLoop(b.index(0), K, b.index(1), ValueRange{b.floatConst(f64, 0.0)},
                  [&](Value k, ValueRange acc) -> SmallVector<Value> {
                    Value e = b.exp(b.fsub(b.loadF32(logits, {r, k}), m));
                    return {b.fadd(acc[0], arith::ExtFOp::create(b, f64, e))};
                  })[0];
    Value s = arith::TruncFOp::create(b, b.getF32Type(), s64);
    Value inv = b.fdiv(b.f32(1.0), s);
    b.forLoop(b.index(0), K, b.index(1), [&](Value k) {
      b.storeF32(b.fmul(b.exp(b.fsub(b.loadF32(logits, {r, k}), m)), inv), out,
                 {r, k});
    });
  });
}

/// LightweightConv's per-head taps [H, K] in f32, softmaxed when asked.
Value emitLightweightTaps(GPUKernelBuilder &b, Value W, bool softmax) {
  auto type = cast<MemRefType>(W.getType());
  if (!softmax && type.getElementType().isF32())
    return W;
  Value taps = b.allocF32(type.getShape(), {});
  if (softmax) {
    emitRowSoftmax(b, W, taps);
  } else {
    b.parallel({b.dim(W, 0), b.dim(W, 1)}, [&](ValueRange ivs) {
      b.storeF32(b.loadF32(W, ivs), taps, ivs);
    });
  }
  return taps;
}

struct LowerLightweightConv : GPULoweringPattern<LightweightConvOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(LightweightConvOp op,
                           GPUKernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t R = C / op.getHeads();
    Value x = b.toBuffer(op.getInput());
    Value taps =
        emitLightweightTaps(b, b.toBuffer(op.getWeight()), op.getWeightSoftmax());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocLike(x);
    emitWindowConv(b, x, y, bias, op.getKernelSize(), op.getPadding(), 1,
                   [&](Value c, Value k) {
                     return b.loadF32(taps, {b.floorDiv(c, b.index(R)), k});
                   });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// A DynamicConv kernel logit at (b, t, h, k).
using LogitFn = function_ref<Value(Value, Value, Value, Value)>;

/// Time steps per block of the tiled dynamic conv: its kernels take shared
/// memory per step.
constexpr int64_t kDynamicSteps = 64;

/// y = conv with the kernels, softmaxed over K when `softmax`, a block per
/// (batch, 64-step tile, 32-channel tile), 256 threads:
///   1. stage the input tile and its K - 1 halo rows (coalesced rows);
///   2. one item per (step, head the channels reach) normalises that
///      step's K logits into shared memory, once, where a flat kernel
///      would redo the softmax for each of the head's R channels;
///   3. each output sums its K taps (the same for the 32 channels of a
///      warp in one head: broadcasts) times the staged rows.
/// False when the tiles do not fit in shared memory.
bool emitTiledDynamicConv(GPUKernelBuilder &b, Value x, LogitFn logit,
                          Value y, int64_t H, int64_t K, int64_t P,
                          bool softmax) {
  int64_t C = cast<MemRefType>(x.getType()).getDimSize(2), R = C / H;
  // Heads a 32-channel tile reaches: it starts at a multiple of 32, so at
  // most R - gcd(32, R) channels into a head.
  int64_t heads = std::min(
      H, (R - std::gcd(kTileChannels, R) + kTileChannels - 1) / R + 1);
  int64_t span = kDynamicSteps + K - 1;
  if ((span * kTileChannels + kDynamicSteps * heads * K) * 4 > kSharedBytes)
    return false;
  Value B = b.dim(x, 0), T = b.dim(x, 1), Cv = b.index(C);
  Value tiles = b.ceilDiv(T, b.index(kDynamicSteps));
  Value cTiles = b.index((C + kTileChannels - 1) / kTileChannels);
  b.blocks({B, tiles, cTiles}, kTileThreads, [&](ValueRange ivs) {
    Value bi = ivs[0];
    Value t0 = b.mul(ivs[1], b.index(kDynamicSteps));
    Value c0 = b.mul(ivs[2], b.index(kTileChannels));
    Value h0 = b.floorDiv(c0, b.index(R));
    Value tile = b.shared({span, kTileChannels});
    Value taps = b.shared({kDynamicSteps * heads, K});
    Value first = b.sub(t0, b.index(P)); // time of tile row 0
    stageTimeTile(b, x, bi, first, c0, tile, span);
    b.threadPhase(kDynamicSteps * heads, [&](Value i) {
      auto [row, slot] = b.divRem(i, heads);
      Value t = b.add(t0, row), h = b.add(h0, slot);
      b.ifThen(b.andI(b.lt(t, T), b.lt(h, b.index(H))), [&] {
        auto at = [&](Value k) { return logit(bi, t, h, k); };
        Value Kv = b.index(K);
        Value m = softmax ? b.maxOver(Kv, at) : Value();
        Value inv = softmax ? b.fdiv(b.f32(1.0), b.sum(Kv, [&](Value k) {
                                return b.exp(b.fsub(at(k), m));
                              }))
                            : Value();
        b.forLoop(b.index(0), Kv, b.index(1), [&](Value k) {
          Value v = softmax ? b.fmul(b.exp(b.fsub(at(k), m)), inv) : at(k);
          b.storeScalar(v, taps, {i, k});
        });
      });
    });
    b.threadPhase(kDynamicSteps * kTileChannels, [&](Value i) {
      auto [row, col] = b.divRem(i, kTileChannels);
      Value t = b.add(t0, row), c = b.add(c0, col);
      b.ifThen(b.andI(b.lt(t, T), b.lt(c, Cv)), [&] {
        Value slot = b.sub(b.floorDiv(c, b.index(R)), h0);
        Value tapRow = b.add(b.mul(row, b.index(heads)), slot);
        Value acc = b.sum(b.index(K), [&](Value k) {
          return b.fmul(b.loadScalar(taps, {tapRow, k}),
                        b.loadScalar(tile, {b.add(row, k), col}));
        });
        b.storeF32(acc, y, {bi, t, c});
      });
    });
  });
  return true;
}

/// The same, a work item per output, the softmax fused per item (the
/// normalised kernels never reach memory): when the tiles do not fit.
void emitFlatDynamicConv(GPUKernelBuilder &b, Value x, LogitFn logit, Value y,
                         int64_t H, int64_t K, int64_t P, bool softmax) {
  int64_t C = cast<MemRefType>(x.getType()).getDimSize(2), R = C / H;
  Value B = b.dim(x, 0), T = b.dim(x, 1);
  Value Kv = b.index(K);
  b.parallel({B, T, b.index(C)}, [&](ValueRange ivs) {
    Value bi = ivs[0], t = ivs[1], c = ivs[2];
    Value h = b.floorDiv(c, b.index(R));
    auto at = [&](Value k) { return logit(bi, t, h, k); };
    Value m = softmax ? b.maxOver(Kv, at) : Value();
    Value denom = softmax ? b.sum(Kv, [&](Value k) {
      return b.exp(b.fsub(at(k), m));
    })
                          : Value();
    Value acc = b.sum(Kv, [&](Value k) {
      Value w = softmax ? b.exp(b.fsub(at(k), m)) : at(k);
      Value src = b.add(t, b.sub(k, b.index(P)));
      return b.fmul(w, b.loadOrZero(x, {bi, t, c}, 1, src, T));
    });
    b.storeF32(softmax ? b.fdiv(acc, denom) : acc, y, {bi, t, c});
  });
}

void emitDynamicKernelConv(GPUKernelBuilder &b, Value x, LogitFn logit,
                           Value y, int64_t H, int64_t K, int64_t P,
                           bool softmax) {
  if (!emitTiledDynamicConv(b, x, logit, y, H, K, P, softmax))
    emitFlatDynamicConv(b, x, logit, y, H, K, P, softmax);
}

struct LowerDynamicKernelConv : GPULoweringPattern<DynamicKernelConvOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(DynamicKernelConvOp op,
                           GPUKernelBuilder &b) const override {
    auto zType = op.getKernels().getType();
    Value x = b.toBuffer(op.getInput()), z = b.toBuffer(op.getKernels());
    Value y = b.allocLike(x);
    emitDynamicKernelConv(
        b, x,
        [&](Value bi, Value t, Value h, Value k) {
          return b.loadF32(z, {bi, t, h, k});
        },
        y, zType.getDimSize(2), zType.getDimSize(3), op.getPadding(),
        op.getKernelSoftmax());
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// DynamicConv: the kernel projection z = x Wq^T (+ bias) as a GEMM, then
/// the conv with the softmax.
struct LowerDynamicConv : GPULoweringPattern<DynamicConvOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(DynamicConvOp op,
                           GPUKernelBuilder &b) const override {
    int64_t H = op.getHeads(), K = op.getKernelSize();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value x2 = b.rows(x), T = b.dim(x, 1);
    // z [B * T, H * K]: the logits of (b, t) in row b T + t.
    Value z = b.allocF32({ShapedType::kDynamic, H * K}, {b.dim(x2, 0)});
    emitProjection(b, x2, w, bias, Activation::none, Value(), z, gemmLibrary);
    Value y = b.allocLike(x);
    emitDynamicKernelConv(
        b, x,
        [&](Value bi, Value t, Value h, Value k) {
          return b.loadScalar(z, {b.add(b.mul(bi, T), t),
                                  b.add(b.mul(h, b.index(K)), k)});
        },
        y, H, K, op.getPadding(), true);
    return {b.toTensorOf(y, op.getResult())};
  }
};

struct LowerKernelSoftmax : GPULoweringPattern<KernelSoftmaxOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(KernelSoftmaxOp op,
                           GPUKernelBuilder &b) const override {
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    emitRowSoftmax(b, b.rows(x), b.rows(y));
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// One causal LightweightConv/DynamicConv step over window = state ++ x:
/// a work item per (batch row, channel); DynamicConv first computes this
/// position's kernel logits (a work item per logit) and softmaxes them in
/// each channel's work item.
struct LowerConvWindowStep : GPULoweringPattern<ConvWindowStepOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(ConvWindowStepOp op,
                           GPUKernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2), H = op.getHeads();
    int64_t K = op.getKernelSize(), R = C / H;
    bool dynamic = op.getKind() == "dynamic";
    Value x = b.toBuffer(op.getInput()), state = b.toBuffer(op.getState());
    Value W = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocLike(x), next = b.allocLike(state);
    Value B = b.dim(x, 0), zero = b.index(0);
    Value taps, logits;
    if (dynamic) {
      logits = b.allocF32({ShapedType::kDynamic, H * K}, {B});
      b.parallel({B, b.index(H * K)}, [&](ValueRange ivs) {
        Value init = bias ? b.loadF32(bias, {ivs[1]}) : b.f32(0.0);
        Value dot = b.sum(
            b.index(C),
            [&](Value c) {
              return b.fmul(b.loadF32(W, {ivs[1], c}),
                            b.loadF32(x, {ivs[0], zero, c}));
            },
            init);
        b.storeScalar(dot, logits, ivs);
      });
    } else {
      taps = emitLightweightTaps(b, W, op.getWeightSoftmax());
    }
    b.parallel({B, b.index(C)}, [&](ValueRange ivs) {
      Value bi = ivs[0], c = ivs[1];
      Value h = b.floorDiv(c, b.index(R));
      Value base = b.mul(h, b.index(K));
      auto window = [&](Value k) {
        if (K == 1)
          return b.loadF32(x, {bi, zero, c});
        Value last = b.cmpI(arith::CmpIPredicate::eq, k, b.index(K - 1));
        Value fromState = b.loadF32(state, {bi, b.min(k, b.index(K - 2)), c});
        return b.select(last, b.loadF32(x, {bi, zero, c}), fromState);
      };
      Value Kv = b.index(K);
      Value acc;
      if (dynamic) {
        auto logit = [&](Value k) {
          return b.loadScalar(logits, {bi, b.add(base, k)});
        };
        Value m = b.maxOver(Kv, logit);
        Value denom =
            b.sum(Kv, [&](Value k) { return b.exp(b.fsub(logit(k), m)); });
        acc = b.fdiv(b.sum(Kv,
                           [&](Value k) {
                             return b.fmul(b.exp(b.fsub(logit(k), m)),
                                           window(k));
                           }),
                     denom);
      } else {
        acc = b.sum(Kv, [&](Value k) {
          return b.fmul(b.loadScalar(taps, {h, k}), window(k));
        });
      }
      b.storeF32(acc, y, {bi, zero, c});
      // Keep the newest K - 1 inputs.
      b.forLoop(zero, b.index(K - 1), b.index(1), [&](Value k) {
        b.storeF32(window(b.add(k, b.index(1))), next, {bi, k, c});
      });
    });
    return {b.toTensorOf(y, op.getResult()),
            b.toTensorOf(next, op.getNewState())};
  }
};

} // namespace

void populateConvLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile, GemmLibrary gemmLibrary) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerDepthwiseConv, LowerLightweightConv, LowerDynamicConv,
               LowerDynamicKernelConv, LowerKernelSoftmax, LowerConvWindowStep>(
      ctx, timeTile, gemmLibrary);
}

} // namespace convc::gpu_lowering
