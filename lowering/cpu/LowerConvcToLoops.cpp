//===- LowerConvcToLoops.cpp - convc ops to vectorised parallel loops ----===//
//
// Each convc op becomes explicit loops over buffers:
//
//   scf.parallel (%b, %tile)            batch x time tiles, across cores
//     scf.for %t in tile                time, sequential within a tile
//       scf.for %c step VL              channels in vector<VL x f32>
//         ... vector.fma ...            (masked for the channel remainder)
//
// Operands are read through `bufferization.to_buffer` and the result is a
// fresh aligned buffer returned as `bufferization.to_tensor restrict
// writable`, so one-shot bufferization takes care of the function around it.
//
// Kernels that depend on a head (dynamic kernels, TaLK offsets) use a vector
// width that divides R = C / H, so every lane of a vector shares one head.
//
// The patterns live in one file per op family (CPULowering.h lists them);
// this file holds the pass that applies them.
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"
#include "lowering/cpu/CPULowering.h"

// The dialects the pass depends on (Passes.td), for its registration.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>

namespace convc {
#define GEN_PASS_DEF_LOWERCONVCTOLOOPSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

struct LowerConvcToLoopsPass
    : convc::impl::LowerConvcToLoopsPassBase<LowerConvcToLoopsPass> {
  using LowerConvcToLoopsPassBase::LowerConvcToLoopsPassBase;

  void runOnOperation() override {
    if (vectorWidth < 1 || (vectorWidth & (vectorWidth - 1))) {
      getOperation().emitError()
          << "convc-lower-to-loops: vector-width must be a power of two, got "
          << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    cpu_lowering::LoweringOptions options{
        vectorWidth, std::max<int64_t>(1, timeTile), useBlas};
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    // Every pattern has its own root op, so the order the families add
    // them in does not change which pattern an op meets.
    cpu_lowering::populateConvLoweringPatterns(patterns, options);
    cpu_lowering::populateTaLKLoweringPatterns(patterns, options);
    cpu_lowering::populateProjectionLoweringPatterns(patterns, options);
    cpu_lowering::populateNormLoweringPatterns(patterns, options);
    cpu_lowering::populateAttentionEmbeddingLoweringPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Anything left is a case the CPU lowering does not handle: say which.
    WalkResult result = getOperation().walk([&](Operation *op) {
      // convc.check stays until convc-lower-checks, on buffers.
      if (!isa<ConvcDialect>(op->getDialect()) || isa<CheckOp>(op))
        return WalkResult::advance();
      if (!cpu_lowering::allF32(op))
        op->emitError() << "the CPU lowering handles f32 convc ops only; this "
                           "op has "
                        << getElementTypeOrSelf(op->getResultTypes().front())
                        << " (f16/bf16 storage is compiled by --target=cuda only)";
      else if (isa<LinearOp>(op) && !useBlas)
        op->emitError() << "convc.linear is lowered to cblas_sgemm calls; "
                           "it needs use-blas=true (OpenBLAS)";
      else
        op->emitError() << "no CPU lowering for this op";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
