//===- DeferResultSync.cpp - one host synchronisation per call ------------===//
//
// gpu-async-region synchronises the host before every call it cannot see
// into, so before the runtime's result hooks (convc-gpu-host-buffers):
//
//   gpu.wait [%t]                                  host waits for the kernels
//   %y = call @convc_cuda_output_f32(%flat, %c4)   queues y's copy
//   call @convc_cuda_release_f32(%flat, %c4)       queues the free
//   return %y'
//
// The hooks only queue work on the calling thread's one stream, after the
// kernels (runtime/cuda/DeviceCall.h), so the wait moves past them: the
// kernels and the copies of the results are then waited for once, where the
// host needs the results. What the wait moves past is only hook calls and
// index arithmetic and views of descriptors.
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace convc {
#define GEN_PASS_DEF_DEFERRESULTSYNCPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

bool isResultHook(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  if (!call)
    return false;
  StringRef callee = call.getCallee();
  return callee.starts_with("convc_cuda_output_") ||
         callee.starts_with("convc_cuda_release_");
}

struct DeferResultSyncPass
    : convc::impl::DeferResultSyncPassBase<DeferResultSyncPass> {
  void runOnOperation() override {
    SmallVector<gpu::WaitOp> waits;
    getOperation().walk([&](gpu::WaitOp wait) {
      // A host wait (no token of its own) right before a result hook.
      if (!wait.getAsyncToken() && wait->getNextNode() &&
          isResultHook(wait->getNextNode()))
        waits.push_back(wait);
    });
    for (gpu::WaitOp wait : waits) {
      Operation *last = wait;
      for (Operation *op = wait->getNextNode(); op; op = op->getNextNode()) {
        if (isResultHook(op))
          last = op;
        else if (!isMemoryEffectFree(op))
          break;
      }
      wait->moveAfter(last);
    }
  }
};

} // namespace
