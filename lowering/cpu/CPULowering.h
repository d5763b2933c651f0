//===- CPULowering.h - shared pieces of the CPU loop lowering ---*- C++ -*-===//
//
// convc-lower-to-loops keeps one file per op family (convs, TaLK,
// projections, attention and embedding, norms) and the pass in
// LowerConvcToLoops.cpp. This header holds what more than one of them
// uses: the options, the pattern base, the helpers they share, and one
// populate function per family.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_LOWERING_CPU_CPULOWERING_H
#define CONVC_LOWERING_CPU_CPULOWERING_H

#include "dialect/ConvcDialect.h"
#include "lowering/KernelBuilder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

#include <cstdint>

namespace convc::cpu_lowering {
// The lowering is written with MLIR's names unqualified, as in
// KernelBuilder.h; this namespace keeps the using-directive out of
// includers' scope.
using namespace mlir;

struct LoweringOptions {
  int64_t vectorWidth;
  int64_t timeTile;
  bool useBlas;
};

/// The widest power-of-two vector width <= maxLanes that divides `r`, so a
/// vector never straddles two heads.
int64_t lanesWithinHead(int64_t r, int64_t maxLanes);

/// Whether every operand and result of `op` has f32 elements.
bool allF32(Operation *op);

/// Number of time tiles of `tile` steps covering T.
Value numTiles(KernelBuilder &b, Value T, int64_t tile);

/// Sum over channel blocks of fn(c, mask) (a vector per block), reduced.
Value sumChannelBlocks(KernelBuilder &b, int64_t channels, int64_t lanes,
                       function_ref<Value(Value, Value)> fn);

// Projections (LowerProjections.cpp): linear layers, and dynamic_conv's
// kernel projection.

/// Runs after each sgemm call on rows [m0, m0 + rows) of the projection; `z`
/// holds them starting at row `zRow0`.
using ProjectionEpilogue =
    function_ref<void(Value m0, Value rows, Value z, Value zRow0)>;

/// z[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]) for row-major 2-D buffers
/// x [M, K], w [N, K], as single-threaded cblas_sgemm calls over row tiles
/// in parallel, `epilogue` run on each call's rows; into `out` [M, N] when
/// given, else into scratch the epilogue reads.
void emitProjection(KernelBuilder &b, ModuleOp module, Value x, Value w,
                    Value bias, Value out, int64_t N, int64_t K,
                    const LoweringOptions &opt,
                    ProjectionEpilogue epilogue = nullptr);

/// What happens to each projected row: activation, residual, LayerNorm.
struct RowEpilogue {
  Activation activation = Activation::none;
  Value residual; // [M, W] buffer or null
  Value gamma, beta;
  double eps = 1e-5;
};

/// out[outRow] = LN(act(z[zRow]) + residual[outRow]) over W output columns
/// (W = N / 2 for GLU, which reads both halves of z's row).
void emitRowEpilogue(KernelBuilder &b, const RowEpilogue &e, Value z,
                     Value zRow, Value out, Value outRow, int64_t W,
                     int64_t lanes);

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

template <typename OpTy>
struct ConvcLoweringPattern : OpRewritePattern<OpTy> {
  ConvcLoweringPattern(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern<OpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    Value result = lower(op, b);
    if (!result)
      return failure();
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Emits the loops and returns the result tensor (null: not lowered).
  virtual Value lower(OpTy op, KernelBuilder &b) const = 0;

  LoweringOptions options;
};

/// The patterns of each op family, defined in the file named after it.
/// LowerConvs.cpp: depthwise, lightweight, dynamic (kernel) convs,
/// kernel_softmax, conv_window_step.
void populateConvLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options);
/// LowerTaLK.cpp: talk_conv, prefix_sum, window_diff, talk_step.
void populateTaLKLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options);
/// LowerProjections.cpp: linear, glu.
void populateProjectionLoweringPatterns(RewritePatternSet &patterns,
                                        const LoweringOptions &options);
/// LowerNorms.cpp: layer_norm.
void populateNormLoweringPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options);
/// LowerAttentionEmbedding.cpp: attention, embedding, padding_mask,
/// mask_positions.
void populateAttentionEmbeddingLoweringPatterns(RewritePatternSet &patterns,
                                                const LoweringOptions &options);

} // namespace convc::cpu_lowering

#endif // CONVC_LOWERING_CPU_CPULOWERING_H
