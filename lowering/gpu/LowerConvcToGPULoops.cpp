//===- LowerConvcToGPULoops.cpp - convc ops to GPU-shaped parallel loops -===//
//
// Each convc op becomes one or a few `scf.parallel` nests shaped for a GPU:
//
//   scf.parallel (%b, %t, %c)          one work item per output element,
//     ... scalar f32 math ...          channels innermost
//
// `convc-parallel-to-gpu` then makes every outermost parallel loop a
// `gpu.launch` whose linear thread index runs fastest over the innermost
// dimension, so neighbouring threads of a warp touch neighbouring channels
// (coalesced in BTC). The same loops also run on the CPU (the pipeline's
// `gpu-kernels-on-cpu` mode), which is how CPU-only machines check the GPU
// kernels' math against the reference.
//
// Storage may be f16 or bf16: every load widens to f32 and every store
// narrows, so sums and softmaxes accumulate in f32.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/KernelBuilder.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

#include <cmath>
#include <limits>

namespace convc {
#define GEN_PASS_DEF_LOWERCONVCTOGPULOOPSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// KernelBuilder plus the scalar, storage-type-aware helpers GPU kernels use.
class GPUKernelBuilder : public KernelBuilder {
public:
  using KernelBuilder::KernelBuilder;

  /// memref[indices] widened to f32 (integers and f32 load as they are).
  Value loadF32(Value memref, ValueRange indices) {
    Value v = loadScalar(memref, indices);
    if (isa<FloatType>(v.getType()) && !v.getType().isF32() &&
        !v.getType().isF64())
      v = arith::ExtFOp::create(*this, getF32Type(), v);
    return v;
  }
  /// Stores an f32 `value`, narrowed to the buffer's element type.
  void storeF32(Value value, Value memref, ValueRange indices) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    if (element != value.getType())
      value = arith::TruncFOp::create(*this, element, value);
    storeScalar(value, memref, indices);
  }
  /// x[idx...] with `t` in place of dimension `tDim`, zero outside [0, T).
  Value loadOrZero(Value memref, SmallVector<Value> indices, int64_t tDim,
                   Value t, Value T) {
    Value inside = andI(cmpI(arith::CmpIPredicate::sge, t, index(0)),
                        cmpI(arith::CmpIPredicate::slt, t, T));
    indices[tDim] = max(min(t, sub(T, index(1))), index(0));
    return arith::SelectOp::create(*this, inside, loadF32(memref, indices),
                                   f32(0.0));
  }

  Value cmpI(arith::CmpIPredicate p, Value a, Value b) {
    return arith::CmpIOp::create(*this, p, a, b);
  }
  Value cmpF(arith::CmpFPredicate p, Value a, Value b) {
    return arith::CmpFOp::create(*this, p, a, b);
  }
  Value andI(Value a, Value b) { return arith::AndIOp::create(*this, a, b); }
  Value select(Value c, Value a, Value b) {
    return arith::SelectOp::create(*this, c, a, b);
  }
  Value fmax(Value a, Value b) { return arith::MaximumFOp::create(*this, a, b); }
  Value fmin(Value a, Value b) { return arith::MinimumFOp::create(*this, a, b); }
  Value sigmoid(Value v) {
    return fdiv(f32(1.0), fadd(f32(1.0), exp(arith::NegFOp::create(*this, v))));
  }
  Value floor(Value v) { return math::FloorOp::create(*this, v); }
  /// (i / n, i % n) of a non-negative index: a phase item's row and column.
  std::pair<Value, Value> divRem(Value i, int64_t n) {
    return {arith::DivUIOp::create(*this, i, index(n)),
            arith::RemUIOp::create(*this, i, index(n))};
  }
  /// a < b (signed indices).
  Value lt(Value a, Value b) { return cmpI(arith::CmpIPredicate::slt, a, b); }
  Value floatToIndex(Value v) {
    Value i = arith::FPToSIOp::create(*this, getI64Type(), v);
    return arith::IndexCastOp::create(*this, getIndexType(), i);
  }

  /// sum_{k < count} fn(k), an f32 loop-carried accumulator.
  Value sum(Value count, function_ref<Value(Value)> fn, Value init = {}) {
    return forLoop(index(0), count, index(1), ValueRange{init ? init : f32(0.0)},
                   [&](Value k, ValueRange acc) {
                     return SmallVector<Value>{fadd(acc[0], fn(k))};
                   })[0];
  }
  /// max_{k < count} fn(k).
  Value maxOver(Value count, function_ref<Value(Value)> fn) {
    Value init = f32(-std::numeric_limits<float>::infinity());
    return forLoop(index(0), count, index(1), ValueRange{init},
                   [&](Value k, ValueRange acc) {
                     return SmallVector<Value>{fmax(acc[0], fn(k))};
                   })[0];
  }

  /// An f32 scratch buffer of `shape` (dynamic entries from `sizes`).
  Value allocF32(ArrayRef<int64_t> shape, ValueRange sizes) {
    return memref::AllocOp::create(*this, MemRefType::get(shape, getF32Type()),
                                   sizes, getI64IntegerAttr(64));
  }
  /// A block-structured kernel: one GPU block of `threads` threads per
  /// point of `grid` (an scf.parallel). `body` builds block-level code: `shared` buffers and
  /// `threadPhase`s (a barrier follows each on the GPU; on a CPU they run
  /// one after the other). Block-level code outside phases must not write
  /// memory: every thread runs it.
  void blocks(ValueRange grid, int64_t threads,
              function_ref<void(ValueRange)> body) {
    SmallVector<Value> zeros(grid.size(), index(0));
    SmallVector<Value> ones(grid.size(), index(1));
    auto loop = scf::ParallelOp::create(*this, zeros, grid, ones);
    // The phases carry the thread count: canonicalization may rebuild this
    // loop (dropping unit dimensions) and its attributes with it.
    blockThreads = threads;
    InsertionGuard guard(*this);
    setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVars());
  }
  int64_t blockThreads = 0;
  /// Block-shared f32 scratch of a static shape.
  Value shared(ArrayRef<int64_t> shape) {
    auto a = memref::AllocaOp::create(*this, MemRefType::get(shape, getF32Type()));
    a->setAttr("convc.gpu_shared", getUnitAttr());
    return a;
  }
  /// One phase of a block: body(i) for i in [0, count), spread over the
  /// block's threads. count >= 2: canonicalization inlines a parallel loop
  /// of one iteration, which would turn the phase into block-level code.
  void threadPhase(int64_t count, function_ref<void(Value)> body) {
    assert(count >= 2 && "a thread phase of one item would be inlined");
    auto loop = scf::ParallelOp::create(*this, ValueRange{index(0)},
                                        ValueRange{index(count)},
                                        ValueRange{index(1)});
    loop->setAttr("convc.gpu_threads", getI64IntegerAttr(blockThreads));
    InsertionGuard guard(*this);
    setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVars()[0]);
  }
  /// if (cond) body()
  void ifThen(Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(*this, cond, /*withElseRegion=*/false);
    InsertionGuard guard(*this);
    setInsertionPoint(op.thenBlock()->getTerminator());
    body();
  }

  Value toTensorOf(Value buffer, Value op) {
    return toTensor(buffer, op.getType());
  }
};

/// Ops whose float operands and results share one storage type.
bool supportedStorage(Operation *op) {
  auto ok = [](Type t) {
    Type e = getElementTypeOrSelf(t);
    return e.isF32() || e.isF16() || e.isBF16() || e.isInteger(64);
  };
  return llvm::all_of(op->getOperandTypes(), ok) &&
         llvm::all_of(op->getResultTypes(), ok);
}

template <typename OpTy>
struct GPULoweringPattern : OpRewritePattern<OpTy> {
  GPULoweringPattern(MLIRContext *ctx, int64_t timeTile)
      : OpRewritePattern<OpTy>(ctx), timeTile(timeTile) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!supportedStorage(op))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    GPUKernelBuilder b(op.getLoc(), rewriter);
    SmallVector<Value> results = lower(op, b);
    if (results.empty())
      return failure();
    rewriter.replaceOp(op, results);
    return success();
  }

  virtual SmallVector<Value> lower(OpTy op, GPUKernelBuilder &b) const = 0;

  int64_t timeTile;
};

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

/// Channels and time steps per block of the tiled kernels, and their
/// threads: a warp spans 32 consecutive channels (128-byte rows).
constexpr int64_t kTileChannels = 32, kTileSteps = 128, kTileThreads = 256;
/// Static shared memory a block may use (the default limit).
constexpr int64_t kSharedBytes = 48 * 1024;

/// A phase staging x[bi, first + row, c0 + col] (times `scale`, if given)
/// into tile[row][col] for `span` rows of 32 channels: coalesced 128-byte
/// rows, zeros outside the sequence; channels past C read the last one,
/// whose results are never stored.
void stageTimeTile(GPUKernelBuilder &b, Value x, Value bi, Value first,
                   Value c0, Value tile, int64_t span, Value scale = {}) {
  Value T = b.dim(x, 1), lastC = b.sub(b.dim(x, 2), b.index(1));
  b.threadPhase(span * kTileChannels, [&](Value i) {
    auto [row, col] = b.divRem(i, kTileChannels);
    Value c = b.min(b.add(c0, col), lastC);
    Value v = b.loadOrZero(x, {bi, first, c}, 1, b.add(first, row), T);
    b.storeScalar(scale ? b.fmul(v, scale) : v, tile, {row, col});
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
          SmallVector<Value> taps;
          for (int64_t k = 0; k < K; ++k)
            taps.push_back(weight(c, b.index(k)));
          SmallVector<Value> acc(U, bias ? b.loadF32(bias, {c}) : b.f32(0.0));
          // Row j of this thread's window is tap k = (j - u) / r of output
          // u: taps in ascending order for each output, as the reference.
          for (int64_t j = 0; j < rowsPerThread; ++j) {
            Value v = b.loadScalar(tile, {b.add(row0, b.index(j)), col});
            for (int64_t u = 0; u < U; ++u) {
              int64_t d = j - u;
              if (d >= 0 && d % r == 0 && d / r < K)
                acc[u] = b.fma(taps[d / r], v, acc[u]);
            }
          }
          for (int64_t u = 0; u < U; ++u) {
            Value t = b.add(t0, b.add(row0, b.index(u)));
            b.ifThen(b.cmpI(arith::CmpIPredicate::slt, t, T),
                     [&] { b.storeF32(acc[u], y, {bi, t, c}); });
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
    Value s = b.sum(K, [&](Value k) {
      return b.exp(b.fsub(b.loadF32(logits, {r, k}), m));
    });
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

/// The projection's block tile: 64 rows by 64 output columns (GLU: 32 of
/// each half), a 32-deep slab of D staged per step, 256 threads as 16 x 16.
constexpr int64_t kGemmRows = 64, kGemmCols = 64, kGemmDepth = 32,
                  kGemmThreadsPerSide = 16;
/// Each thread's register tile: rows ty + 16 i, columns tx + 16 j.
constexpr int64_t kGemmThreadRows = kGemmRows / kGemmThreadsPerSide;
// Staging item (r, k) loads input row r and weight row r: as many weight
// rows (both GLU halves) as input rows. The compute phase is one item per
// thread of the block.
static_assert(kGemmRows == kGemmCols, "staging pairs input and weight rows");
static_assert(kGemmThreadsPerSide * kGemmThreadsPerSide == kTileThreads,
              "one compute item per thread");

/// out[M, W] = act(x2 W^T + bias) (+ res), x2 [M, D] and w [halves W, D].
///
/// A block per 64 x 64 output tile, the classic shared-memory GEMM: for
/// each 32-deep slab of D, the threads stage the slab's 64 input rows and
/// 64 weight rows in shared memory (coalesced 128-byte reads along D, both
/// operands as stored, so no transpose), then each thread adds the slab to
/// its 4 x 4 outputs: 8 shared loads for 16 FMAs, where a flat kernel reads
/// every operand from global memory. The register tile lives across phases
/// in a shared accumulator (on a CPU phases run one after the other, so a
/// thread's registers cannot outlive one); reloading it costs one load and
/// store per output per slab, 1/32 of the FMAs. Rows are padded so that
/// neither the staging stores (consecutive k) nor the tile reads
/// (consecutive columns, rows 16 apart) meet bank conflicts. The epilogue
/// (bias, activation, residual) reads the accumulator along columns and
/// stores coalesced.
void emitGemm(GPUKernelBuilder &b, Value x2, Value w, Value bias,
              Activation act, Value res, Value out) {
  int64_t D = cast<MemRefType>(x2.getType()).getDimSize(1);
  int64_t W = cast<MemRefType>(out.getType()).getDimSize(1);
  int64_t halves = act == Activation::glu ? 2 : 1;
  int64_t tileCols = kGemmCols / halves; // output columns per tile
  int64_t threadCols = tileCols / kGemmThreadsPerSide;
  Value M = b.dim(x2, 0);
  Value lastRow = b.sub(M, b.index(1));
  Value rowTiles = b.ceilDiv(M, b.index(kGemmRows));
  Value colTiles = b.index((W + tileCols - 1) / tileCols);
  b.blocks({rowTiles, colTiles}, kTileThreads, [&](ValueRange ivs) {
    Value m0 = b.mul(ivs[0], b.index(kGemmRows));
    Value n0 = b.mul(ivs[1], b.index(tileCols));
    // xs[k][r] = x[m0 + r][k0 + k]; ws[h * 32 + k][j] = w[h W + n0 + j][k0
    // + k]; acc[r][h * tileCols + j], rows 80 apart (16 banks).
    Value xs = b.shared({kGemmDepth, kGemmRows + 1});
    Value ws = b.shared({halves * kGemmDepth, tileCols + 1});
    Value acc = b.shared({kGemmRows, kGemmCols + 16});
    b.threadPhase(kGemmRows * kGemmCols, [&](Value i) {
      auto [r, c] = b.divRem(i, kGemmCols);
      b.storeScalar(b.f32(0.0), acc, {r, c});
    });
    b.forLoop(b.index(0), b.index(D), b.index(kGemmDepth), [&](Value k0) {
      // Stage the slab: item (r, k) loads input row r and weight row r
      // (columns past W or D read a clamped row, or zero).
      b.threadPhase(kGemmRows * kGemmDepth, [&](Value i) {
        auto [r, k] = b.divRem(i, kGemmDepth);
        Value kk = b.add(k0, k);
        Value inD = b.cmpI(arith::CmpIPredicate::slt, kk, b.index(D));
        Value kc = b.min(kk, b.index(D - 1));
        Value m = b.min(b.add(m0, r), lastRow);
        b.storeScalar(b.select(inD, b.loadF32(x2, {m, kc}), b.f32(0.0)), xs,
                      {k, r});
        auto [h, j] = b.divRem(r, tileCols);
        Value n = b.add(b.min(b.add(n0, j), b.index(W - 1)),
                        b.mul(h, b.index(W)));
        b.storeScalar(b.select(inD, b.loadF32(w, {n, kc}), b.f32(0.0)), ws,
                      {b.add(b.mul(h, b.index(kGemmDepth)), k), j});
      });
      b.threadPhase(kTileThreads, [&](Value i) {
        auto [ty, tx] = b.divRem(i, kGemmThreadsPerSide);
        SmallVector<Value> rows, cols, init;
        for (int64_t r = 0; r < kGemmThreadRows; ++r)
          rows.push_back(b.add(ty, b.index(r * kGemmThreadsPerSide)));
        for (int64_t h = 0; h < halves; ++h)
          for (int64_t j = 0; j < threadCols; ++j)
            cols.push_back(b.add(tx, b.index(h * tileCols +
                                              j * kGemmThreadsPerSide)));
        for (Value r : rows)
          for (Value c : cols)
            init.push_back(b.loadScalar(acc, {r, c}));
        ValueRange sums = b.forLoop(
            b.index(0), b.index(kGemmDepth), b.index(1), init,
            [&](Value k, ValueRange partial) {
              SmallVector<Value> in, wt, next;
              for (Value r : rows)
                in.push_back(b.loadScalar(xs, {k, r}));
              for (int64_t h = 0; h < halves; ++h)
                for (int64_t j = 0; j < threadCols; ++j)
                  wt.push_back(b.loadScalar(
                      ws, {b.add(k, b.index(h * kGemmDepth)),
                           b.add(tx, b.index(j * kGemmThreadsPerSide))}));
              for (size_t r = 0; r < in.size(); ++r)
                for (size_t c = 0; c < wt.size(); ++c)
                  next.push_back(
                      b.fma(in[r], wt[c], partial[r * wt.size() + c]));
              return next;
            });
        for (size_t r = 0; r < rows.size(); ++r)
          for (size_t c = 0; c < cols.size(); ++c)
            b.storeScalar(sums[r * cols.size() + c], acc, {rows[r], cols[c]});
      });
    });
    b.threadPhase(kGemmRows * tileCols, [&](Value i) {
      auto [r, j] = b.divRem(i, tileCols);
      Value m = b.add(m0, r), n = b.add(n0, j);
      Value inside = b.andI(b.cmpI(arith::CmpIPredicate::slt, m, M),
                            b.cmpI(arith::CmpIPredicate::slt, n,
                                   b.index(W)));
      b.ifThen(inside, [&] {
        auto biased = [&](int64_t h) {
          Value z = b.loadScalar(acc, {r, b.add(j, b.index(h * tileCols))});
          if (!bias)
            return z;
          return b.fadd(z, b.loadF32(bias, {b.add(n, b.index(h * W))}));
        };
        Value z = biased(0), v;
        switch (act) {
        case Activation::none:
          v = z;
          break;
        case Activation::relu:
          v = b.fmax(z, b.f32(0.0));
          break;
        case Activation::swish:
          v = b.fmul(z, b.sigmoid(z));
          break;
        case Activation::sigmoid:
          v = b.sigmoid(z);
          break;
        case Activation::glu:
          v = b.fmul(z, b.sigmoid(biased(1)));
          break;
        }
        if (res)
          v = b.fadd(v, b.loadF32(res, {m, n}));
        b.storeF32(v, out, {m, n});
      });
    });
  });
}

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
    emitGemm(b, x2, w, bias, Activation::none, Value(), z);
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

struct LowerGLU : GPULoweringPattern<GLUOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(GLUOp op, GPUKernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    b.parallel({b.dim(x2, 0), b.index(W)}, [&](ValueRange ivs) {
      Value a = b.loadF32(x2, ivs);
      Value g = b.loadF32(x2, {ivs[0], b.add(ivs[1], b.index(W))});
      b.storeF32(b.fmul(a, b.sigmoid(g)), y2, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// Rows per block of the LayerNorm kernel, and threads per row (a warp).
constexpr int64_t kNormRows = 8, kNormLanes = 32;
static_assert(kNormRows * kNormLanes == kTileThreads, "a warp per row");

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

/// x W^T (+ bias), activation, (+ residual), (LayerNorm): the GEMM, then
/// a LayerNorm per row.
struct LowerLinear : GPULoweringPattern<LinearOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(LinearOp op, GPUKernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value res = op.getResidual() ? b.rows(b.toBuffer(op.getResidual())) : Value();
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    // Pre-LayerNorm rows go to an f32 scratch buffer when a norm follows.
    Value out = op.getLnGamma()
                    ? b.allocF32({ShapedType::kDynamic, W}, {b.dim(x2, 0)})
                    : y2;
    emitGemm(b, x2, w, bias, op.getActivation(), res, out);
    if (op.getLnGamma())
      emitLayerNormRows(b, out, y2, b.toBuffer(op.getLnGamma()),
                        b.toBuffer(op.getLnBeta()),
                        op.getEps().convertToDouble());
    return {b.toTensorOf(y, op.getResult())};
  }
};

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
                  Value valid = validToken(b.loadScalar(tokens, {ivs[0], t}));
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
      // All keys masked: l = 0, the output is zero.
      Value l = state[1];
      Value out = b.select(b.cmpF(arith::CmpFPredicate::OGT, l, b.f32(0.0)),
                           b.fdiv(state[2], l), b.f32(0.0));
      b.storeF32(out, y, ivs);
    });
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

struct LowerConvcToGPULoopsPass
    : convc::impl::LowerConvcToGPULoopsPassBase<LowerConvcToGPULoopsPass> {
  using LowerConvcToGPULoopsPassBase::LowerConvcToGPULoopsPassBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    int64_t tile = std::max<int64_t>(1, timeTile);
    patterns.add<LowerDepthwiseConv, LowerLightweightConv, LowerDynamicConv,
                 LowerDynamicKernelConv, LowerKernelSoftmax, LowerTaLKConv,
                 LowerPrefixSum, LowerWindowDiff, LowerGLU, LowerLayerNorm,
                 LowerLinear, LowerMaskPositions, LowerPaddingMask,
                 LowerEmbedding, LowerAttention, LowerConvWindowStep,
                 LowerTaLKStep>(ctx, tile);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<ConvcDialect>(op->getDialect()))
        return WalkResult::advance();
      if (!supportedStorage(op))
        op->emitError() << "the GPU lowering stores f32, f16 or bf16; this op "
                           "has another element type";
      else
        op->emitError() << "no GPU lowering for this op";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
