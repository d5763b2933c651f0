//===- CudaDriver.cpp - the CUDA driver API, opened at run time ----------===//
//
// Modules compiled with `--target=cuda` call the `mgpu*` functions that
// MLIR's GPU-to-LLVM lowering emits (module load from a constructor, kernel
// launches, device allocation and copies). The runtime implements them on
// the CUDA *driver* API, opened with dlopen("libcuda.so.1") on first use:
// the runtime links no CUDA library, CPU-only machines load it fine, and a
// missing driver or GPU becomes a "CUDA unavailable: ..." status instead of
// a link error or a crash.
//
// Errors inside mgpu* calls (which return nothing to the compiled code) are
// recorded; Module::load and Module::run turn them into a Status.
//
// Device buffers come from the driver's stream-ordered allocator
// (cuMemAllocAsync / cuMemFreeAsync on the device's default memory pool,
// told to keep what it holds): a compiled function allocates and frees its
// temporaries on every call, and cuMemAlloc/cuMemFree synchronise the
// device and cost more than the kernels of a small call. The pool reuses
// freed memory in stream order, across streams and sizes; a free never
// waits for the GPU.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

using namespace convc::cuda;


namespace convc {

Status cudaStatus() {
  Driver &d = Driver::get();
  if (!d.ok())
    return Status(StatusCode::Unavailable, d.unavailableReason());
  return Status();
}

std::string cudaDeviceDescription() {
  Driver &d = Driver::get();
  if (!d.ok())
    return "";
  return d.deviceName() + " (sm_" + std::to_string(d.computeCapability()) +
         ")";
}

namespace detail {
std::string takeCudaError() { return Driver::get().takeError(); }
} // namespace detail

void cudaKernelTime(double &milliseconds, int64_t &launches) {
  Driver::get().kernelTime(milliseconds, launches);
}

Status cudaKeepResident(const Tensor &t) {
  Driver &d = Driver::get();
  if (!d.ok())
    return Status(StatusCode::Unavailable, d.unavailableReason());
  if (!t.data())
    return Status(StatusCode::InvalidArgument, "a tensor without data");
  d.takeError();
  if (!d.bind() || !d.keepResident(t))
    return Status(StatusCode::Internal, d.takeError());
  return Status();
}

void cudaForgetResident(const Tensor &t) {
  Driver &d = Driver::get();
  if (d.ok() && t.data() && d.bind())
    d.forgetResident(t);
}

} // namespace convc
