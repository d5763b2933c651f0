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
// For the same reason a host wait right before the runtime's stream-ordered
// GEMM (convc_cuda_gemm_lowp, which queues its matmul behind the kernels)
// goes, as long as the work it waits for copies nothing to the host (a
// per-element check's flag, a host buffer): the only device data the host
// reads. (A wait that ends an scf.if region stays: it may be the call's
// last, which its results need.)
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

/// Runtime calls that only queue work on the thread's stream.
bool isStreamOrderedCall(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  return call && call.getCallee() == "convc_cuda_gemm_lowp";
}

/// Whether the async work `wait` waits for (its dependencies, transitively)
/// includes a copy.
bool waitsForACopy(gpu::WaitOp wait) {
  SmallVector<Value> tokens(wait.getAsyncDependencies());
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!tokens.empty()) {
    Operation *op = tokens.pop_back_val().getDefiningOp();
    if (!op)
      return true; // a token from elsewhere: assume the worst
    if (!seen.insert(op).second)
      continue;
    if (isa<gpu::MemcpyOp>(op))
      return true;
    auto async = dyn_cast<gpu::AsyncOpInterface>(op);
    if (!async)
      return true;
    llvm::append_range(tokens, async.getAsyncDependencies());
  }
  return false;
}

/// The next op after `op` in its block that has memory effects, or its
/// block's terminator.
Operation *nextEffect(Operation *op) {
  for (op = op->getNextNode(); op; op = op->getNextNode())
    if (!isMemoryEffectFree(op) || op->hasTrait<OpTrait::IsTerminator>())
      return op;
  return nullptr;
}

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
    SmallVector<gpu::WaitOp> needless;
    getOperation().walk([&](gpu::WaitOp wait) {
      if (wait.getAsyncToken() || waitsForACopy(wait))
        return;
      Operation *next = nextEffect(wait);
      if (next && isStreamOrderedCall(next))
        needless.push_back(wait);
    });
    for (gpu::WaitOp wait : needless)
      wait.erase();
  }
};

} // namespace
