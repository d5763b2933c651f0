//===- GPULowering.h - shared pieces of the GPU loop lowering ---*- C++ -*-===//
//
// convc-lower-to-gpu-loops keeps one file per op family, as the CPU
// lowering does, and the pass in LowerConvcToGPULoops.cpp. This header
// holds what more than one of them uses: the GPU kernel builder, the
// pattern base, the block tile sizes, the helpers they share, and one
// populate function per family.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_LOWERING_GPU_GPULOWERING_H
#define CONVC_LOWERING_GPU_GPULOWERING_H

#include "dialect/ConvcDialect.h"
#include "lowering/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

#include <cassert>
#include <cstdint>
#include <limits>
#include <utility>

namespace convc::gpu_lowering {
// The lowering is written with MLIR's names unqualified, as in
// KernelBuilder.h; this namespace keeps the using-directive out of
// includers' scope.
using namespace mlir;

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
    auto loop = scf::ParallelOp::create(static_cast<OpBuilder &>(*this),
                                        loopLocation(), zeros, grid, ones);
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

/// Where an f16 / bf16 projection's product comes from, besides the
/// shared-memory GEMM: the runtime's cuBLASLt call (`cuda`), its host twin
/// (`host`, for gpu-kernels-on-cpu), or nowhere (`none`).
enum class GemmLibrary { none, cuda, host };

/// Ops whose float operands and results share one storage type.
bool supportedStorage(Operation *op);

template <typename OpTy>
struct GPULoweringPattern : OpRewritePattern<OpTy> {
  GPULoweringPattern(MLIRContext *ctx, int64_t timeTile,
                     GemmLibrary gemmLibrary = GemmLibrary::none)
      : OpRewritePattern<OpTy>(ctx), timeTile(timeTile),
        gemmLibrary(gemmLibrary) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!supportedStorage(op))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    GPUKernelBuilder b(op.getLoc(), rewriter);
    b.kernelName = rewriter.getStringAttr(op->getName().stripDialect());
    SmallVector<Value> results = lower(op, b);
    if (results.empty())
      return failure();
    rewriter.replaceOp(op, results);
    return success();
  }

  virtual SmallVector<Value> lower(OpTy op, GPUKernelBuilder &b) const = 0;

  int64_t timeTile;
  GemmLibrary gemmLibrary;
};

/// Channels and time steps per block of the tiled kernels, and their
/// threads: a warp spans 32 consecutive channels (128-byte rows).
constexpr int64_t kTileChannels = 32, kTileSteps = 128, kTileThreads = 256;
/// Static shared memory a block may use (the default limit).
constexpr int64_t kSharedBytes = 48 * 1024;

/// One source of a staging phase: `items` items; load(item) reads one (an
/// f32 or a vector of them) and must be in bounds for every item below
/// `items`; store(item, value) writes it to shared memory.
struct StagedCopy {
  int64_t items;
  function_ref<Value(Value)> load;
  function_ref<void(Value, Value)> store;
};

/// One phase running `copies` over the block's threads, item tid + 256 k
/// in round k. Each thread issues the loads of all its rounds before it
/// stores any: a store waits for its load, so a thread storing after each
/// load would have one load in flight, far from the bytes in flight DRAM
/// bandwidth needs (Little's law). Only a partial last round is guarded.
void stageInRounds(GPUKernelBuilder &b, ArrayRef<StagedCopy> copies);

/// Elements per vector load of staged rows: 16 bytes of f32, 8 of f16.
constexpr int64_t kStageLanes = 4;

/// stage(kStageLanes) where every buffer's rows hold whole vectors
/// (identity layout, static last dimension a multiple of the lanes) and
/// its address is aligned to a vector, which is tested when the kernel
/// runs (a device tensor the caller passes may start anywhere), in a
/// block-uniform branch; stage(1) otherwise.
void ifVectorLoads(GPUKernelBuilder &b, ValueRange buffers,
                   function_ref<void(int64_t lanes)> stage);

/// buffer[indices...] and the next lanes - 1 elements of the last
/// dimension, widened to f32: a vector<lanes x f32>, or f32 for 1 lane.
Value loadLanesF32(GPUKernelBuilder &b, Value buffer, ValueRange indices,
                   int64_t lanes);
/// Lane `l` of what loadLanesF32 returned.
Value lane(GPUKernelBuilder &b, Value v, int64_t l);

/// A phase staging x[bi, first + row, c0 + col] (times `scale`, if given)
/// into tile[row][col] for `span` rows of 32 channels: coalesced 128-byte
/// rows, zeros outside the sequence; channels past C read the last one,
/// whose results are never stored.
void stageTimeTile(GPUKernelBuilder &b, Value x, Value bi, Value first,
                   Value c0, Value tile, int64_t span, Value scale = {});

/// out[M, W] = act(x2 W^T + bias) (+ res), x2 [M, D] and w [halves W, D]:
/// the shared-memory GEMM of LowerProjections.cpp (also dynamic_conv's
/// kernel projection).
void emitGemm(GPUKernelBuilder &b, Value x2, Value w, Value bias,
              Activation act, Value res, Value out);

/// The same projection; for f16 / bf16 operands with a `library`, the
/// product x2 w^T comes from the library (tensor cores) into f32 scratch
/// and a kernel applies bias, activation and residual; where the library
/// declines at run time, emitGemm's kernel runs instead.
void emitProjection(GPUKernelBuilder &b, Value x2, Value w, Value bias,
                    Activation act, Value res, Value out, GemmLibrary library);

/// LayerNorm of rows of `a` (f32 or storage type) into `y`, a warp per row:
/// the kernel of LowerNorms.cpp (also linear's fused LayerNorm).
void emitLayerNormRows(GPUKernelBuilder &b, Value a, Value y, Value gamma,
                       Value beta, double eps);

/// The patterns of each op family, defined in the file named after it.
/// LowerConvs.cpp: depthwise, lightweight, dynamic (kernel) convs,
/// kernel_softmax, conv_window_step.
void populateConvLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile, GemmLibrary gemmLibrary);
/// LowerTaLK.cpp: talk_conv, prefix_sum, window_diff, talk_step.
void populateTaLKLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile);
/// LowerProjections.cpp: linear, glu.
void populateProjectionLoweringPatterns(RewritePatternSet &patterns,
                                        int64_t timeTile,
                                        GemmLibrary gemmLibrary);
/// LowerNorms.cpp: layer_norm.
void populateNormLoweringPatterns(RewritePatternSet &patterns,
                                  int64_t timeTile);
/// LowerAttentionEmbedding.cpp: attention, embedding, padding_mask,
/// mask_positions.
void populateAttentionEmbeddingLoweringPatterns(RewritePatternSet &patterns,
                                                int64_t timeTile);

} // namespace convc::gpu_lowering

#endif // CONVC_LOWERING_GPU_GPULOWERING_H
