//===- LowerConvs.cpp - convolutions and their kernels to loops -----------===//
//
// The window convolutions (depthwise, lightweight, dynamic kernel), the
// dynamic_conv decomposition, kernel_softmax and the one-step causal conv
// of decoding: they share the depthwise kernel and the vector softmax.
//
// Math: docs/semantics.md, depthwise_conv, lightweight_conv, dynamic_conv,
// kernel_softmax, dynamic_kernel_conv, conv_window_step.
//
//===----------------------------------------------------------------------===//

#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <limits>

namespace convc::cpu_lowering {
namespace {

/// Outputs computed together by the depthwise kernel: independent FMA
/// chains hide the FMA latency and share each tap's weight load.
constexpr int64_t kTimeBlock = 8;

/// y[b,t,c] = sum_k wc[k,c] * x[b, t + r(k - P), c] (+ bias[c]), the kernel
/// of depthwise and lightweight convs. wc is [K, C] so taps load along c.
///
/// Each time tile splits into an interior, where every tap of kTimeBlock
/// consecutive outputs is in range (blocks of independent accumulators, no
/// bounds arithmetic), and edges (one output at a time, taps clipped).
void emitDepthwiseKernel(KernelBuilder &b, Value x, Value wc, Value bias,
                         Value y, int64_t K, int64_t P, int64_t r,
                         const LoweringOptions &opt) {
  int64_t C = cast<MemRefType>(x.getType()).getDimSize(2);
  int64_t lanes = opt.vectorWidth;
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  Value B = b.dim(x, 0), T = b.dim(x, 1);
  Value rIdx = b.index(r), zero = b.index(0), one = b.index(1);
  auto initial = [&](Value c, Value mask) -> Value {
    return bias ? b.load(vecType, bias, {c}, mask)
                : Value(arith::ConstantOp::create(b, vecType,
                                                  b.getZeroAttr(vecType)));
  };
  // One output at a time, taps restricted to t + r(k - P) in [0, T).
  auto edgeStep = [&](Value bi, Value t) {
    Value kLo = b.max(zero, b.ceilDiv(b.sub(b.index(P * r), t), rIdx));
    Value kHi = b.min(b.index(K),
                      b.add(b.floorDiv(b.sub(b.sub(T, one), t), rIdx),
                            b.index(P + 1)));
    b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
      Value acc =
          b.forLoop(kLo, kHi, one, initial(c, mask),
                    [&](Value k, ValueRange acc) {
                      Value s = b.add(t, b.mul(rIdx, b.sub(k, b.index(P))));
                      Value xv = b.load(vecType, x, {bi, s, c}, mask);
                      Value wv = b.load(vecType, wc, {k, c}, mask);
                      return SmallVector<Value>{b.fma(xv, wv, acc[0])};
                    })[0];
      b.store(acc, y, {bi, t, c}, mask);
    });
  };
  b.parallel({B, numTiles(b, T, opt.timeTile)}, [&](ValueRange ivs) {
    Value bi = ivs[0];
    Value t0 = b.mul(ivs[1], b.index(opt.timeTile));
    Value t1 = b.min(b.add(t0, b.index(opt.timeTile)), T);
    // Interior: t - rP >= 0 and t + r(K - 1 - P) <= T - 1.
    Value inLo = b.min(b.max(t0, b.index(r * P)), t1);
    Value inHi = b.max(b.min(t1, b.sub(T, b.index(r * (K - 1 - P)))), inLo);
    Value blocks = b.floorDiv(b.sub(inHi, inLo), b.index(kTimeBlock));
    Value blockEnd = b.add(inLo, b.mul(blocks, b.index(kTimeBlock)));
    b.forLoop(t0, inLo, one, [&](Value t) { edgeStep(bi, t); });
    b.forLoop(inLo, blockEnd, b.index(kTimeBlock), [&](Value t) {
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        SmallVector<Value> init(kTimeBlock, initial(c, mask));
        ValueRange accs = b.forLoop(
            zero, b.index(K), one, init, [&](Value k, ValueRange acc) {
              Value wv = b.load(vecType, wc, {k, c}, mask);
              Value s0 = b.add(t, b.mul(rIdx, b.sub(k, b.index(P))));
              SmallVector<Value> next;
              for (int64_t i = 0; i < kTimeBlock; ++i) {
                Value xv = b.load(vecType, x, {bi, b.add(s0, b.index(i)), c},
                                  mask);
                next.push_back(b.fma(xv, wv, acc[i]));
              }
              return next;
            });
        for (int64_t i = 0; i < kTimeBlock; ++i)
          b.store(accs[i], y, {bi, b.add(t, b.index(i)), c}, mask);
      });
    });
    b.forLoop(blockEnd, t1, one, [&](Value t) { edgeStep(bi, t); });
  });
}

/// Softmax over `count` taps, max-subtracted, in vector chunks of `lanes`
/// (the last masked): loadChunk(j, mask, fill) reads chunk j (masked-off
/// lanes = fill), storeChunk(j, value, mask) writes it. Chunks are combined
/// lane-wise first, so each row costs one horizontal max and one sum.
void emitSoftmax(KernelBuilder &b, int64_t count, int64_t lanes,
                 function_ref<Value(int64_t, Value, Value)> loadChunk,
                 function_ref<void(int64_t, Value, Value)> storeChunk) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  int64_t chunks = (count + lanes - 1) / lanes;
  SmallVector<Value> masks;
  for (int64_t j = 0; j < chunks; ++j) {
    int64_t valid = std::min(lanes, count - j * lanes);
    masks.push_back(valid == lanes ? Value()
                                   : Value(vector::ConstantMaskOp::create(
                                         b, maskType, ArrayRef<int64_t>{valid})));
  }
  Value negInf = b.splat(b.f32(-std::numeric_limits<float>::infinity()), lanes);
  Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
  SmallVector<Value> v;
  Value laneMax;
  for (int64_t j = 0; j < chunks; ++j) {
    v.push_back(loadChunk(j, masks[j], negInf));
    laneMax = j ? arith::MaxNumFOp::create(b, laneMax, v[j]) : v[j];
  }
  Value m = b.splat(vector::ReductionOp::create(b, vector::CombiningKind::MAXNUMF,
                                                laneMax,
                                                arith::FastMathFlags::reassoc),
                    lanes);
  SmallVector<Value> e;
  Value laneSum;
  for (int64_t j = 0; j < chunks; ++j) {
    Value ej = b.exp(b.fsub(v[j], m));
    if (masks[j]) // padding lanes hold -inf - m; keep them out of the sum
      ej = arith::SelectOp::create(b, masks[j], ej, zeroV);
    e.push_back(ej);
    laneSum = j ? b.fadd(laneSum, ej) : ej;
  }
  // Reassociation lets the sum reduce as a tree instead of lane by lane.
  Value sum = vector::ReductionOp::create(b, vector::CombiningKind::ADD, laneSum,
                                          arith::FastMathFlags::reassoc);
  Value inv = b.splat(b.fdiv(b.f32(1.0), sum), lanes);
  for (int64_t j = 0; j < chunks; ++j)
    storeChunk(j, b.fmul(e[j], inv), masks[j]);
}

/// Softmax of a long row (a vocabulary's logits) in place, in three vector
/// loops over memory: emitSoftmax keeps every chunk in registers, which for
/// 32000 entries spilled and took LLVM 19 s to compile (200000: minutes).
/// The same ops in the same order per lane, so the same numbers.
void emitSoftmaxLoops(KernelBuilder &b, Value buf, Value base, int64_t count,
                      int64_t lanes) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  int64_t full = count / lanes * lanes;
  Value tailMask = full < count
                       ? Value(vector::CreateMaskOp::create(
                             b, VectorType::get({lanes}, b.getI1Type()),
                             ValueRange{b.index(count - full)}))
                       : Value();
  Value negInf = b.splat(b.f32(-std::numeric_limits<float>::infinity()), lanes);
  Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
  Value lo = b.index(0), hi = b.index(full), step = b.index(lanes);
  auto load = [&](Value j) -> Value {
    return vector::LoadOp::create(b, vecType, buf, ValueRange{b.add(base, j)});
  };
  Value tailAt = b.add(base, b.index(full));
  Value tail = tailMask ? Value(vector::MaskedLoadOp::create(
                              b, vecType, buf, {tailAt}, tailMask, negInf))
                        : Value();
  Value laneMax =
      b.forLoop(lo, hi, step, {negInf},
                [&](Value j, ValueRange acc) -> SmallVector<Value> {
                  return {arith::MaxNumFOp::create(b, acc[0], load(j))};
                })[0];
  if (tail)
    laneMax = arith::MaxNumFOp::create(b, laneMax, tail);
  Value m = b.splat(
      vector::ReductionOp::create(b, vector::CombiningKind::MAXNUMF, laneMax,
                                  arith::FastMathFlags::reassoc),
      lanes);
  Value laneSum = b.forLoop(lo, hi, step, {zeroV},
                            [&](Value j, ValueRange acc) -> SmallVector<Value> {
                              Value e = b.exp(b.fsub(load(j), m));
                              b.store(e, buf, {b.add(base, j)}, Value());
                              return {b.fadd(acc[0], e)};
                            })[0];
  Value tailExp;
  if (tail) {
    // Padding lanes hold -inf - m; keep them out of the sum.
    tailExp =
        arith::SelectOp::create(b, tailMask, b.exp(b.fsub(tail, m)), zeroV);
    laneSum = b.fadd(laneSum, tailExp);
  }
  Value sum = vector::ReductionOp::create(
      b, vector::CombiningKind::ADD, laneSum, arith::FastMathFlags::reassoc);
  Value inv = b.splat(b.fdiv(b.f32(1.0), sum), lanes);
  b.forLoop(lo, hi, step, [&](Value j) {
    b.store(b.fmul(load(j), inv), buf, {b.add(base, j)}, Value());
  });
  if (tail)
    b.store(b.fmul(tailExp, inv), buf, {tailAt}, tailMask);
}

/// Softmax of buf[base .. base + count) in place (a 1-D buffer).
void emitSoftmaxInPlace(KernelBuilder &b, Value buf, Value base, int64_t count,
                        int64_t lanes) {
  if (count > 16 * lanes)
    return emitSoftmaxLoops(b, buf, base, count, lanes);
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  auto at = [&](int64_t j) { return b.add(base, b.index(j * lanes)); };
  emitSoftmax(
      b, count, lanes,
      [&](int64_t j, Value mask, Value fill) -> Value {
        if (!mask)
          return vector::LoadOp::create(b, vecType, buf, ValueRange{at(j)});
        return vector::MaskedLoadOp::create(b, vecType, buf, {at(j)}, mask,
                                            fill);
      },
      [&](int64_t j, Value value, Value mask) {
        b.store(value, buf, {at(j)}, mask);
      });
}

struct LowerDepthwiseConv : ConvcLoweringPattern<DepthwiseConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(DepthwiseConvOp op, KernelBuilder &b) const override {
    int64_t K = op.getKernelSize();
    int64_t C = op.getWeight().getType().getDimSize(0);
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    // Transpose [C, K] -> [K, C] once so each tap loads along channels.
    Value wc = b.alloc({K, C});
    b.forLoop(b.index(0), b.index(C), b.index(1), [&](Value c) {
      b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
        b.storeScalar(b.loadScalar(w, {c, k}), wc, {k, c});
      });
    });
    Value y = b.allocLike(x);
    emitDepthwiseKernel(b, x, wc, bias, y, K, op.getPadding(),
                        op.getDilation(), options);
    return b.toTensor(y, op.getType());
  }
};

/// A LightweightConv weight [H, K] as a flat [H * K] buffer, each head's K
/// taps softmaxed in f32 unless already normalised.
Value emitHeadTaps(KernelBuilder &b, Value W, int64_t H, int64_t K,
                   bool softmax, int64_t lanes) {
  Value wh = b.alloc({H * K});
  b.forLoop(b.index(0), b.index(H), b.index(1), [&](Value h) {
    Value base = b.mul(h, b.index(K));
    b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
      b.storeScalar(b.loadScalar(W, {h, k}), wh, {b.add(base, k)});
    });
    if (softmax)
      emitSoftmaxInPlace(b, wh, base, K, lanes);
  });
  return wh;
}

/// Per-channel taps wc[k, c] = w[h(c), k] of a LightweightConv weight
/// [H, K], softmaxed over all K taps in f32 unless already normalised.
Value emitLightweightTaps(KernelBuilder &b, Value W, int64_t H, int64_t K,
                         int64_t C, bool softmax, int64_t lanes) {
  int64_t R = C / H;
  Value wh = emitHeadTaps(b, W, H, K, softmax, lanes);
  Value wc = b.alloc({K, C});
  b.forLoop(b.index(0), b.index(C), b.index(1), [&](Value c) {
    Value h = b.floorDiv(c, b.index(R));
    b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
      b.storeScalar(b.loadScalar(wh, {b.add(b.mul(h, b.index(K)), k)}), wc,
                    {k, c});
    });
  });
  return wc;
}

struct LowerLightweightConv : ConvcLoweringPattern<LightweightConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(LightweightConvOp op, KernelBuilder &b) const override {
    int64_t K = op.getKernelSize(), H = op.getHeads();
    int64_t C = op.getInput().getType().getDimSize(2);
    Value x = b.toBuffer(op.getInput()), W = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value wc = emitLightweightTaps(b, W, H, K, C, op.getWeightSoftmax(),
                                   options.vectorWidth);
    Value y = b.allocLike(x);
    emitDepthwiseKernel(b, x, wc, bias, y, K, op.getPadding(), 1, options);
    return b.toTensor(y, op.getType());
  }
};

struct LowerDynamicKernelConv : ConvcLoweringPattern<DynamicKernelConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(DynamicKernelConvOp op, KernelBuilder &b) const override {
    auto kernelsType = op.getKernels().getType();
    int64_t H = kernelsType.getDimSize(2), K = kernelsType.getDimSize(3);
    int64_t C = op.getInput().getType().getDimSize(2), R = C / H;
    int64_t P = op.getPadding();
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    // Vectors per step: up to 4, dividing the head's R / lanes vectors (lanes
    // divides R, so channel blocks never need a mask here).
    int64_t group = 1;
    while (group < 4 && (R / lanes) % (group * 2) == 0)
      group *= 2;
    Value x = b.toBuffer(op.getInput()), z = b.toBuffer(op.getKernels());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value zero = b.index(0), one = b.index(1);
    b.parallel({B, numTiles(b, T, options.timeTile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(options.timeTile));
      Value t1 = b.min(b.add(t0, b.index(options.timeTile)), T);
      // This position's kernels, normalised in registers and a stack buffer:
      // they never go back to memory the caller sees.
      Value w = b.allocaF32({H * K});
      b.forLoop(t0, t1, one, [&](Value t) {
        int64_t sl = options.vectorWidth;
        auto slType = VectorType::get({sl}, b.getF32Type());
        b.forLoop(zero, b.index(H), one, [&](Value h) {
          Value base = b.mul(h, b.index(K));
          auto zAt = [&](int64_t j) -> SmallVector<Value> {
            return {bi, t, h, b.index(j * sl)};
          };
          auto wAt = [&](int64_t j) -> SmallVector<Value> {
            return {b.add(base, b.index(j * sl))};
          };
          if (!op.getKernelSoftmax()) {
            for (int64_t j = 0; j * sl < K; ++j) {
              Value mask = (j + 1) * sl <= K
                               ? Value()
                               : Value(vector::ConstantMaskOp::create(
                                     b, VectorType::get({sl}, b.getI1Type()),
                                     ArrayRef<int64_t>{K - j * sl}));
              b.store(b.load(slType, z, zAt(j), mask), w, wAt(j), mask);
            }
            return;
          }
          emitSoftmax(
              b, K, sl,
              [&](int64_t j, Value mask, Value fill) -> Value {
                if (!mask)
                  return vector::LoadOp::create(b, slType, z, zAt(j));
                return vector::MaskedLoadOp::create(b, slType, z, zAt(j), mask,
                                                    fill);
              },
              [&](int64_t j, Value value, Value mask) {
                b.store(value, w, wAt(j), mask);
              });
        });
        Value kLo = b.max(zero, b.sub(b.index(P), t));
        Value kHi = b.min(b.index(K), b.add(b.sub(T, t), b.index(P)));
        // `group` vectors of one head at a time: independent FMA chains
        // sharing each broadcast tap weight.
        b.forLoop(zero, b.index(C), b.index(lanes * group), [&](Value c) {
          Value hBase = b.mul(b.floorDiv(c, b.index(R)), b.index(K));
          Value zeroV =
              arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
          SmallVector<Value> init(group, zeroV);
          ValueRange accs =
              b.forLoop(kLo, kHi, one, init, [&](Value k, ValueRange acc) {
                Value s = b.add(t, b.sub(k, b.index(P)));
                Value wv = b.splat(b.loadScalar(w, {b.add(hBase, k)}), lanes);
                SmallVector<Value> next;
                for (int64_t g = 0; g < group; ++g) {
                  Value xv = vector::LoadOp::create(
                      b, vecType, x,
                      ValueRange{bi, s, b.add(c, b.index(g * lanes))});
                  next.push_back(b.fma(xv, wv, acc[g]));
                }
                return next;
              });
          for (int64_t g = 0; g < group; ++g)
            vector::StoreOp::create(
                b, accs[g], y, ValueRange{bi, t, b.add(c, b.index(g * lanes))});
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

/// dynamic_conv -> kernel projection (a contraction over channels, plus the
/// optional logit bias) + dynamic_kernel_conv {kernel_softmax}.
struct DecomposeDynamicConv : OpRewritePattern<DynamicConvOp> {
  DecomposeDynamicConv(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  /// The projection as single-threaded sgemm calls over row tiles.
  Value projectWithBlas(DynamicConvOp op, KernelBuilder &b) const {
    auto inType = op.getInput().getType();
    int64_t C = inType.getDimSize(2), HK = op.getHeads() * op.getKernelSize();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    auto logitsType = MemRefType::get(
        {inType.getDimSize(0), inType.getDimSize(1), HK}, b.getF32Type());
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < 2; ++i)
      if (inType.isDynamicDim(i))
        dynamicSizes.push_back(b.dim(x, i));
    Value logits = memref::AllocOp::create(b, logitsType, dynamicSizes,
                                           b.getI64IntegerAttr(64));
    auto rows = [&](Value buffer) -> Value {
      return memref::CollapseShapeOp::create(
          b, buffer, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    };
    emitProjection(b, op->getParentOfType<ModuleOp>(), rows(x), w, bias,
                   rows(logits), HK, C, options);
    return b.toTensor(logits, RankedTensorType::get(logitsType.getShape(),
                                                    b.getF32Type()));
  }

  LogicalResult matchAndRewrite(DynamicConvOp op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    auto inType = op.getInput().getType();
    int64_t H = op.getHeads(), K = op.getKernelSize();
    Type f32 = b.getF32Type();
    // Static sizes stay static (ONNX models carry them).
    OpFoldResult Bdim = tensor::getMixedSize(b, b.getLoc(), op.getInput(), 0);
    OpFoldResult Tdim = tensor::getMixedSize(b, b.getLoc(), op.getInput(), 1);
    Value logits = options.useBlas ? projectWithBlas(op, b)
                                   : projectWithLinalg(op, b, Bdim, Tdim);
    // [B, T, H*K] -> [B, T, H, K]
    auto kernelsType = RankedTensorType::get(
        {inType.getDimSize(0), inType.getDimSize(1), H, K}, f32);
    Value kernels = tensor::ExpandShapeOp::create(
        b, kernelsType, logits,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
        ArrayRef<OpFoldResult>{Bdim, Tdim, b.getIndexAttr(H),
                               b.getIndexAttr(K)});
    rewriter.replaceOpWithNewOp<DynamicKernelConvOp>(
        op, op.getInput(), kernels, op.getPadding(), /*kernel_softmax=*/true);
    return success();
  }

  /// The projection as a linalg contraction (portable, unoptimised).
  Value projectWithLinalg(DynamicConvOp op, KernelBuilder &b,
                          OpFoldResult Bdim, OpFoldResult Tdim) const {
    int64_t H = op.getHeads(), K = op.getKernelSize();
    Type f32 = b.getF32Type();
    // logits[b, t, j] = sum_c x[b, t, c] * Wq[j, c] (+ bias[j]). Kept 3-D:
    // splitting a collapsed B*T back into B and T trips upstream's
    // expand-strided-metadata (LLVM 22) when both are dynamic.
    Value empty = tensor::EmptyOp::create(
        b, ArrayRef<OpFoldResult>{Bdim, Tdim, b.getIndexAttr(H * K)}, f32);
    Value init;
    if (Value bias = op.getBias()) {
      auto lastDim = AffineMap::get(3, 0, {b.getAffineDimExpr(2)},
                                    b.getContext());
      auto id = AffineMap::getMultiDimIdentityMap(3, b.getContext());
      init = linalg::GenericOp::create(
                 b, TypeRange{empty.getType()}, ValueRange{bias},
                 ValueRange{empty}, ArrayRef<AffineMap>{lastDim, id},
                 SmallVector<utils::IteratorType>(
                     3, utils::IteratorType::parallel),
                 [](OpBuilder &nb, Location loc, ValueRange args) {
                   linalg::YieldOp::create(nb, loc, args[0]);
                 })
                 .getResult(0);
    } else {
      init = linalg::FillOp::create(b, b.f32(0.0), empty).getResult(0);
    }
    MLIRContext *ctx = b.getContext();
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3); // b, t, j, c
    Value logits =
        linalg::GenericOp::create(
            b, TypeRange{init.getType()}, ValueRange{op.getInput(), op.getWeight()},
            ValueRange{init},
            ArrayRef<AffineMap>{AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                                AffineMap::get(4, 0, {d2, d3}, ctx),
                                AffineMap::get(4, 0, {d0, d1, d2}, ctx)},
            ArrayRef<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::parallel, utils::IteratorType::reduction},
            [](OpBuilder &nb, Location loc, ValueRange args) {
              Value prod = arith::MulFOp::create(nb, loc, args[0], args[1]);
              Value sum = arith::AddFOp::create(nb, loc, args[2], prod);
              linalg::YieldOp::create(nb, loc, sum);
            })
            .getResult(0);
    return logits;
  }
};

/// One causal LightweightConv/DynamicConv step over window = state ++ x.
struct LowerConvWindowStep : OpRewritePattern<ConvWindowStepOp> {
  LowerConvWindowStep(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  LogicalResult matchAndRewrite(ConvWindowStepOp op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    int64_t C = op.getInput().getType().getDimSize(2), H = op.getHeads();
    int64_t K = op.getKernelSize(), R = C / H;
    bool dynamic = op.getKind() == "dynamic";
    // Vectors stay within a head: every lane of one shares its tap weight.
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), state = b.toBuffer(op.getState());
    Value W = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocLike(x), next = b.allocLike(state);
    // LightweightConv: the per-head taps [H * K], softmaxed, once per step
    // (a per-channel [K, C] copy would cost K * C per step when the weights
    // are inputs).
    Value wh = dynamic ? Value()
                       : emitHeadTaps(b, W, H, K, op.getWeightSoftmax(),
                                      options.vectorWidth);
    Value zero = b.index(0), one = b.index(1), last = b.index(K - 1);
    b.parallel({b.dim(x, 0)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value wpos;
      if (dynamic) {
        // This position's kernels: softmax(Wq x_t + bias) per head.
        wpos = b.allocaF32({H * K});
        b.forLoop(zero, b.index(H * K), one, [&](Value j) {
          Value dot = sumChannelBlocks(
              b, C, options.vectorWidth, [&](Value c, Value mask) {
                auto v = VectorType::get({options.vectorWidth}, b.getF32Type());
                return b.fmul(b.load(v, W, {j, c}, mask),
                              b.load(v, x, {bi, zero, c}, mask));
              });
          if (bias)
            dot = b.fadd(dot, b.loadScalar(bias, {j}));
          b.storeScalar(dot, wpos, {j});
        });
        b.forLoop(zero, b.index(H), one, [&](Value h) {
          emitSoftmaxInPlace(b, wpos, b.mul(h, b.index(K)), K,
                             options.vectorWidth);
        });
      }
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        Value hBase = b.mul(b.floorDiv(c, b.index(R)), b.index(K));
        Value taps = dynamic ? wpos : wh;
        auto weight = [&](Value k) -> Value {
          return b.splat(b.loadScalar(taps, {b.add(hBase, k)}), lanes);
        };
        Value acc0 =
            arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
        Value acc = b.forLoop(zero, last, one, acc0,
                              [&](Value k, ValueRange a) {
                                Value v = b.load(vecType, state, {bi, k, c},
                                                 mask);
                                return SmallVector<Value>{
                                    b.fma(v, weight(k), a[0])};
                              })[0];
        Value xv = b.load(vecType, x, {bi, zero, c}, mask);
        b.store(b.fma(xv, weight(last), acc), y, {bi, zero, c}, mask);
        // Keep the newest K - 1 inputs.
        if (K > 1) {
          b.forLoop(zero, b.index(K - 2), one, [&](Value k) {
            b.store(b.load(vecType, state, {bi, b.add(k, one), c}, mask), next,
                    {bi, k, c}, mask);
          });
          b.store(xv, next, {bi, b.index(K - 2), c}, mask);
        }
      });
    });
    rewriter.replaceOp(op, {b.toTensor(y, op.getResult().getType()),
                            b.toTensor(next, op.getNewState().getType())});
    return success();
  }
};

struct LowerKernelSoftmax : ConvcLoweringPattern<KernelSoftmaxOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(KernelSoftmaxOp op, KernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t K = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    // Copy then normalise each row in place, through a flat view of y.
    Value rows = b.dim(x2, 0);
    Value flat = memref::CollapseShapeOp::create(
        b, y2, SmallVector<ReassociationIndices>{{0, 1}});
    b.parallel({rows}, [&](ValueRange ivs) {
      Value r = ivs[0];
      b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
        b.storeScalar(b.loadScalar(x2, {r, k}), y2, {r, k});
      });
      emitSoftmaxInPlace(b, flat, b.mul(r, b.index(K)), K,
                         options.vectorWidth);
    });
    return b.toTensor(y, op.getType());
  }
};

} // namespace

void populateConvLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerDepthwiseConv, LowerLightweightConv, LowerDynamicKernelConv,
               LowerKernelSoftmax>(ctx, options);
  patterns.add<DecomposeDynamicConv, LowerConvWindowStep>(ctx, options);
}

} // namespace convc::cpu_lowering
