//===- DeviceCall.h - one Module::run of a CUDA module ---------*- C++ -*-===//
//
// Internal to the runtime. A CUDA module's entry point passes each argument
// through `convc_cuda_input_<T>` and each result through
// `convc_cuda_output_<T>` (convc-gpu-host-buffers); what those do depends on
// the call in progress on the calling thread, which Module::run opens with
// beginCall and closes with endCall:
//
//  - an input the caller gave as a device tensor is used where it is; a
//    host input is staged through pinned memory into a device buffer that
//    the call frees at its end; a resident host tensor (cudaKeepResident)
//    is read from its device copy;
//  - a result asked for on the device goes to the caller as it is (the
//    module's own free of it is skipped); any other is copied to a fresh
//    host buffer through pinned memory.
//
// All of a thread's GPU work (the module's kernels, copies, allocations and
// frees) goes to one stream per thread, so it runs in the order it was
// issued and one synchronisation covers a call.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_CUDA_DEVICECALL_H
#define CONVC_RUNTIME_CUDA_DEVICECALL_H

#include "convc/Runtime.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace convc::cuda {

/// The calling thread's stream, created on first use.
void *threadStream();

/// The module allocated `bytes` at `p` (mgpuMemAlloc) in this call.
void noteAllocated(void *p, size_t bytes);
/// Whether `p` went to the caller as a device result of this call (the
/// module's own free of it is then skipped).
bool isHandedOut(const void *p);

/// The module synchronised `stream` (mgpuStreamSynchronize).
void noteSynchronized(void *stream);

/// Opens a call: `deviceInputs` are the data of the inputs given as device
/// tensors; `deviceOutputs[i]` asks for result i on the device (the module
/// passes its results through the output hook in order).
void beginCall(std::vector<const void *> deviceInputs,
               std::vector<bool> deviceOutputs);
/// Closes it: waits for the queued host copies of the results and finishes
/// them, frees the staged inputs; on `failed`, frees the device results
/// too. Returns the CUDA error of the call (empty: none).
std::string endCall(bool failed);

/// Rows `rows` of device tensor `t` (along dimension 0), in that order, in
/// a new device tensor; queued on the thread's stream (the next call on
/// this thread sees them), runs of consecutive rows one copy each.
Status gatherRows(const Tensor &t, const std::vector<int64_t> &rows,
                  Tensor &out);

/// Frees device memory the runtime allocated (a device tensor's owner).
void releaseDevice(void *data);

/// Whether the calling thread is capturing a call (captureCall): the
/// module's synchronisations are skipped and its copies checked.
bool capturing();
/// A copy the module issued while capturing: one that touches host memory
/// (a per-element check's flag read by host code) cannot be replayed, so
/// the capture is abandoned. False: do not issue it.
bool allowCopyInCapture(const void *dst, const void *src);

/// A call captured as a CUDA graph, with copies of some of its device
/// results back into its device inputs: replayed, it runs the next call of
/// a loop in one launch (a decode step whose tokens, positions and states
/// come from the step before).
class CapturedCall {
public:
  ~CapturedCall();
  /// One launch and one synchronisation; the host results in output order.
  /// `fed[i]`: the host values of the capture's i-th fed input (same size),
  /// copied by the graph before the call.
  Status replay(std::vector<Tensor> &hostOutputs,
                const std::vector<Tensor> &fed = {});

private:
  friend std::unique_ptr<CapturedCall>
  captureCall(const Module &, const std::string &, const std::vector<Tensor> &,
              const RunOptions &, const std::vector<std::pair<size_t, size_t>> &,
              size_t, const std::vector<size_t> &);
  CapturedCall();
  struct State;
  std::unique_ptr<State> state_;
};

/// Captures `module.run(entry, inputs, options)` followed by copying output
/// `feedback[i].first` into input `feedback[i].second` and freeing the
/// device outputs. Every input must be a device tensor (kept alive and at
/// the same address by the capture); `hostBytes` bounds the host results.
/// The inputs at `fed` take new values from the host at every replay: the
/// graph first copies them from pinned memory of its own (a beam step's
/// tokens and reordering).
/// Null where graphs are unavailable (no stream-ordered pool, profiling, an
/// old driver) or the call cannot be replayed (a host input, a copy to or
/// from host memory by the module itself): the caller runs calls as usual.
std::unique_ptr<CapturedCall>
captureCall(const Module &module, const std::string &entry,
            const std::vector<Tensor> &inputs, const RunOptions &options,
            const std::vector<std::pair<size_t, size_t>> &feedback,
            size_t hostBytes, const std::vector<size_t> &fed = {});

} // namespace convc::cuda

#endif // CONVC_RUNTIME_CUDA_DEVICECALL_H
