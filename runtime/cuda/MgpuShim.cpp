//===- MgpuShim.cpp - the mgpu* functions GPU modules call ---------------===//
//
// MLIR's gpu-to-llvm lowering emits calls to mgpu* functions (module load,
// launches, streams, allocation, copies); convc's runtime implements them on
// the Driver (CudaDriver.h), plus the constant-weight cache
// convc_cuda_constant_<T> that convc-gpu-host-buffers calls.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "DeviceCall.h"

#include <cstring>
#include <vector>

using namespace convc::cuda;


//===----------------------------------------------------------------------===//
// The functions MLIR's gpu-to-llvm lowering calls (MLIR 22 signatures).
//===----------------------------------------------------------------------===//

extern "C" {

__attribute__((visibility("default"))) void *mgpuModuleLoad(void *data,
                                                            size_t size) {
  (void)size;
  Driver *d = usableDriver();
  if (!d)
    return nullptr;
  CUmodule module = nullptr;
  if (!d->check(d->api().cuModuleLoadData(&module, data),
                "loading the module's device code (cuModuleLoadData)"))
    return nullptr;
  d->noteModule(module, data);
  return module;
}

__attribute__((visibility("default"))) void *mgpuModuleLoadJIT(void *data,
                                                               int optLevel) {
  (void)optLevel; // the driver's default JIT level (O4) is the best
  return mgpuModuleLoad(data, 0);
}

__attribute__((visibility("default"))) void mgpuModuleUnload(void *module) {
  Driver &d = Driver::get();
  if (module && d.ok() && d.bind()) {
    // The library is being unloaded: its weights' device copies go too.
    if (const void *object = d.objectOf(module))
      d.releaseConstantsOf(object);
    d.api().cuModuleUnload(module);
  }
}

__attribute__((visibility("default"))) void *
mgpuModuleGetFunction(void *module, const char *name) {
  if (!module)
    return nullptr; // the load failure is recorded already
  Driver *d = usableDriver();
  if (!d)
    return nullptr;
  CUfunction fn = nullptr;
  if (!d->check(d->api().cuModuleGetFunction(&fn, module, name),
                "cuModuleGetFunction"))
    return nullptr;
  if (d->profiling())
    d->nameFunction(fn, name);
  return fn;
}

__attribute__((visibility("default"))) void
mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                 intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                 intptr_t blockZ, int32_t smem, void *stream, void **params,
                 void **extra, size_t paramsCount) {
  (void)paramsCount;
  Driver *d = usableDriver();
  if (!d)
    return;
  if (!function) {
    // Its load failed (reported by Module::load); the call fails too.
    d->recordError("a kernel of this module is not loaded");
    return;
  }
  // cuLaunchKernel takes unsigned dimensions: a larger grid must not wrap.
  if (gridX < 0 || gridX > 0x7fffffff || gridY < 0 || gridY > 65535 ||
      gridZ < 0 || gridZ > 65535 || blockX < 1 || blockX > 1024 ||
      blockY < 1 || blockY > 1024 || blockZ < 1 || blockZ > 64) {
    d->recordError("a kernel launch of grid (" + std::to_string(gridX) +
                   ", " + std::to_string(gridY) + ", " +
                   std::to_string(gridZ) + ") exceeds the GPU's limits "
                   "(tensor too large for one launch)");
    return;
  }
  if (gridX == 0 || gridY == 0 || gridZ == 0 || d->failed())
    return; // an empty tensor, or this call has failed already
  auto fn = static_cast<CUfunction>(function);
  d->timed(
      stream,
      [&] {
        return d->check(d->api().cuLaunchKernel(fn, gridX, gridY, gridZ,
                                                blockX, blockY, blockZ, smem,
                                                stream, params, extra),
                        "cuLaunchKernel");
      },
      d->profiling() ? d->functionName(fn) : std::string());
}

// The generated code creates and destroys a stream per async region of every
// call (5 per decode step of the example model). Each thread gets one
// stream instead (DeviceCall.h): cuStreamCreate costs more than a small
// kernel, one stream orders a call's work as issued (only ever more
// ordering than the module asked for), and the runtime's own copies for the
// call queue on it too.
__attribute__((visibility("default"))) void *mgpuStreamCreate() {
  if (!usableDriver())
    return nullptr;
  return threadStream();
}

__attribute__((visibility("default"))) void mgpuStreamDestroy(void *stream) {
  Driver &d = Driver::get();
  if (!stream || !d.ok() || stream == threadStream() || !d.bind())
    return;
  d.api().cuStreamDestroy(stream); // its queued work still completes
}

__attribute__((visibility("default"))) void
mgpuStreamSynchronize(void *stream) {
  Driver *d = usableDriver();
  if (capturing()) // nothing runs until the graph is launched
    return;
  if (d && d->check(d->api().cuStreamSynchronize(stream),
                    "running the kernels (cuStreamSynchronize)"))
    noteSynchronized(stream);
}

__attribute__((visibility("default"))) void mgpuStreamWaitEvent(void *stream,
                                                                void *event) {
  Driver *d = usableDriver();
  if (d && event)
    d->check(d->api().cuStreamWaitEvent(stream, event, 0),
             "cuStreamWaitEvent");
}

__attribute__((visibility("default"))) void *mgpuEventCreate() {
  Driver *d = usableDriver();
  if (!d)
    return nullptr;
  CUevent event = nullptr;
  d->check(d->api().cuEventCreate(&event, /*CU_EVENT_DISABLE_TIMING=*/2),
           "cuEventCreate");
  return event;
}

__attribute__((visibility("default"))) void mgpuEventDestroy(void *event) {
  Driver &d = Driver::get();
  if (event && d.ok() && d.bind())
    d.api().cuEventDestroy(event);
}

__attribute__((visibility("default"))) void mgpuEventSynchronize(void *event) {
  Driver *d = usableDriver();
  if (d && event)
    d->check(d->api().cuEventSynchronize(event), "cuEventSynchronize");
}

__attribute__((visibility("default"))) void mgpuEventRecord(void *event,
                                                            void *stream) {
  Driver *d = usableDriver();
  if (d && event)
    d->check(d->api().cuEventRecord(event, stream), "cuEventRecord");
}

__attribute__((visibility("default"))) void *
mgpuMemAlloc(uint64_t bytes, void *stream, bool isHostShared) {
  Driver *d = usableDriver();
  if (!d)
    return nullptr;
  if (isHostShared) {
    d->recordError("host-shared GPU allocations are not supported");
    return nullptr;
  }
  void *p = d->alloc(bytes, stream);
  noteAllocated(p, bytes);
  return p;
}

__attribute__((visibility("default"))) void mgpuMemFree(void *ptr,
                                                        void *stream) {
  Driver &d = Driver::get();
  if (!ptr || !d.ok() || isHandedOut(ptr)) // a result now the caller's
    return;
  d.release(ptr, stream); // in stream order: queued work may still read it
}

__attribute__((visibility("default"))) void
mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  Driver *d = usableDriver();
  if (!d || bytes == 0 || d->failed())
    return;
  if (!dst || !src) {
    d->recordError("a GPU copy met a null buffer (an earlier allocation "
                   "failed)");
    return;
  }
  if (capturing() && !allowCopyInCapture(dst, src))
    return;
  d->check(d->api().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                  reinterpret_cast<CUdeviceptr>(src), bytes,
                                  stream),
           "cuMemcpyAsync");
}

__attribute__((visibility("default"))) void
mgpuMemset32(void *dst, unsigned value, size_t count, void *stream) {
  Driver *d = usableDriver();
  if (d && dst)
    d->check(d->api().cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst),
                                       value, count, stream),
             "cuMemsetD32Async");
}

__attribute__((visibility("default"))) void
mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream) {
  Driver *d = usableDriver();
  if (d && dst)
    d->check(d->api().cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst),
                                       value, count, stream),
             "cuMemsetD16Async");
}

__attribute__((visibility("default"))) void mgpuSetDefaultDevice(int32_t) {}

} // extern "C"

//===----------------------------------------------------------------------===//
// Constant weights: convc_cuda_constant_<T>(host, elementBytes) -> device,
// called through MLIR's C interface (1-D memref descriptors by pointer).
//===----------------------------------------------------------------------===//

namespace {
void deviceConstant(Descriptor1D *result, const Descriptor1D *host,
                    int64_t elementBytes) {
  *result = {nullptr, nullptr, 0, host->size, 1};
  Driver *d = usableDriver();
  if (!d)
    return;
  const char *data =
      static_cast<const char *>(host->aligned) + host->offset * elementBytes;
  void *device = d->constant(data, size_t(host->size) * elementBytes);
  result->allocated = result->aligned = device;
}
} // namespace

#define CONVC_DEVICE_CONSTANT(T)                                               \
  extern "C" __attribute__((visibility("default"))) void                      \
      _mlir_ciface_convc_cuda_constant_##T(Descriptor1D *result,               \
                                           const Descriptor1D *host,           \
                                           int64_t elementBytes) {             \
    deviceConstant(result, host, elementBytes);                                \
  }
CONVC_FOR_EACH_ELEMENT_TYPE(CONVC_DEVICE_CONSTANT)
#undef CONVC_DEVICE_CONSTANT
