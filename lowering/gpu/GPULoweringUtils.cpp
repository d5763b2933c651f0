//===- GPULoweringUtils.cpp - helpers shared by the GPU op families -------===//
//
// Small helpers that more than one op family of the GPU lowering calls;
// GPULowering.h declares and describes them.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/IR/TypeUtilities.h"

namespace convc::gpu_lowering {

bool supportedStorage(Operation *op) {
  auto ok = [](Type t) {
    Type e = getElementTypeOrSelf(t);
    return e.isF32() || e.isF16() || e.isBF16() || e.isInteger(64);
  };
  return llvm::all_of(op->getOperandTypes(), ok) &&
         llvm::all_of(op->getResultTypes(), ok);
}

void stageTimeTile(GPUKernelBuilder &b, Value x, Value bi, Value first,
                   Value c0, Value tile, int64_t span, Value scale) {
  Value T = b.dim(x, 1), lastC = b.sub(b.dim(x, 2), b.index(1));
  b.threadPhase(span * kTileChannels, [&](Value i) {
    auto [row, col] = b.divRem(i, kTileChannels);
    Value c = b.min(b.add(c0, col), lastC);
    Value v = b.loadOrZero(x, {bi, first, c}, 1, b.add(first, row), T);
    b.storeScalar(scale ? b.fmul(v, scale) : v, tile, {row, col});
  });
}

} // namespace convc::gpu_lowering
