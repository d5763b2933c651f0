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
// The patterns live in one file per op family (GPULowering.h lists them);
// this file holds the pass that applies them.
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"
#include "lowering/gpu/GPULowering.h"

// The dialects the pass depends on (Passes.td), for its registration.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>

namespace convc {
#define GEN_PASS_DEF_LOWERCONVCTOGPULOOPSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

struct LowerConvcToGPULoopsPass
    : convc::impl::LowerConvcToGPULoopsPassBase<LowerConvcToGPULoopsPass> {
  using LowerConvcToGPULoopsPassBase::LowerConvcToGPULoopsPassBase;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    int64_t tile = std::max<int64_t>(1, timeTile);
    gpu_lowering::GemmLibrary library;
    if (gemmLibrary == "none")
      library = gpu_lowering::GemmLibrary::none;
    else if (gemmLibrary == "cuda")
      library = gpu_lowering::GemmLibrary::cuda;
    else if (gemmLibrary == "host")
      library = gpu_lowering::GemmLibrary::host;
    else {
      getOperation().emitError() << "convc-lower-to-gpu-loops: gemm-library "
                                    "must be none, cuda or host, got '"
                                 << gemmLibrary << "'";
      return signalPassFailure();
    }
    // Every pattern has its own root op, so the order the families add
    // them in does not change which pattern an op meets.
    gpu_lowering::populateConvLoweringPatterns(patterns, tile, library);
    gpu_lowering::populateTaLKLoweringPatterns(patterns, tile);
    gpu_lowering::populateProjectionLoweringPatterns(patterns, tile, library);
    gpu_lowering::populateNormLoweringPatterns(patterns, tile);
    gpu_lowering::populateAttentionEmbeddingLoweringPatterns(patterns, tile);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](Operation *op) {
      // convc.check stays until convc-lower-checks, on buffers.
      if (!isa<ConvcDialect>(op->getDialect()) || isa<CheckOp>(op))
        return WalkResult::advance();
      if (!gpu_lowering::supportedStorage(op))
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
