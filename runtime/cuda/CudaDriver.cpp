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

#include "convc/Runtime.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>

namespace {

// The few driver API types and entry points used, declared here so the
// runtime builds without the CUDA headers.
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;
using CUdeviceptr = uint64_t;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115;
constexpr int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
using CUmemoryPool = void *;

struct DriverAPI {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuDeviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
  CUresult (*cuMemPoolSetAttribute)(CUmemoryPool, int, void *);
  CUresult (*cuMemPoolTrimTo)(CUmemoryPool, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

class Driver {
public:
  static Driver &get() {
    // Never destroyed: a module still loaded at exit unloads its device code
    // from its own destructor, after static destructors have run.
    static Driver *driver = new Driver();
    return *driver;
  }

  bool ok() const { return unavailable_.empty(); }
  const std::string &unavailableReason() const { return unavailable_; }
  const DriverAPI &api() const { return api_; }
  const std::string &deviceName() const { return deviceName_; }
  int computeCapability() const { return capability_; }

  /// Makes the device's primary context current on this thread.
  bool bind() {
    thread_local CUcontext bound = nullptr;
    if (!ok())
      return false;
    if (bound != context_) {
      if (!check(api_.cuCtxSetCurrent(context_), "cuCtxSetCurrent"))
        return false;
      bound = context_;
    }
    return true;
  }

  /// Records the first error of a call sequence; false on failure.
  bool check(CUresult result, const char *what) {
    if (result == CUDA_SUCCESS)
      return true;
    const char *text = nullptr;
    if (api_.cuGetErrorString)
      api_.cuGetErrorString(result, &text);
    recordError(std::string(what) + " failed: " +
                (text ? text : "error " + std::to_string(result)));
    return false;
  }
  /// Errors are per calling thread: a module's host code, and so its
  /// mgpu* calls, runs on the thread that called Module::run (or loaded it).
  void recordError(const std::string &message) {
    if (threadError().empty())
      threadError() = message;
  }
  /// Whether this thread's current call has failed already: its later
  /// copies and launches are skipped (a null buffer must not reach a
  /// kernel).
  bool failed() { return !threadError().empty(); }
  /// The recorded error (empty: none), cleared.
  std::string takeError() {
    std::string e;
    e.swap(threadError());
    return e;
  }
  static std::string &threadError() {
    thread_local std::string error;
    return error;
  }

  /// A device buffer for work queued on `stream`, from the memory pool.
  void *alloc(size_t bytes, void *stream) {
    if (!bind())
      return nullptr;
    bytes = std::max<size_t>(bytes, 1);
    CUdeviceptr p = 0;
    if (!pool_)
      return check(api_.cuMemAlloc(&p, bytes), "cuMemAlloc")
                 ? reinterpret_cast<void *>(p)
                 : nullptr;
    if (api_.cuMemAllocAsync(&p, bytes, stream) != CUDA_SUCCESS) {
      // Out of memory with memory held idle in the pool: let this stream's
      // queued frees complete, give the idle memory back to the device
      // and retry once.
      api_.cuStreamSynchronize(stream);
      api_.cuMemPoolTrimTo(pool_, 0);
      if (!check(api_.cuMemAllocAsync(&p, bytes, stream), "cuMemAllocAsync"))
        return nullptr;
    }
    return reinterpret_cast<void *>(p);
  }
  /// `p` is free once the work queued on `stream` finishes.
  void release(void *p, void *stream) {
    if (!p || !bind())
      return;
    auto device = reinterpret_cast<CUdeviceptr>(p);
    if (pool_) {
      check(api_.cuMemFreeAsync(device, stream), "cuMemFreeAsync");
      return;
    }
    // Without a pool, work queued on `stream` may still use the buffer.
    api_.cuStreamSynchronize(stream);
    check(api_.cuMemFree(device), "cuMemFree");
  }

  /// A device copy of `bytes` of host data, complete on return (weights,
  /// resident tensors); null with the error recorded. An allocation that
  /// fails gives the pool's idle memory back to the device and retries.
  void *upload(const void *host, size_t bytes, const std::string &what) {
    CUdeviceptr p = 0;
    size_t size = std::max<size_t>(bytes, 1);
    if (api_.cuMemAlloc(&p, size) != CUDA_SUCCESS) {
      if (pool_)
        api_.cuMemPoolTrimTo(pool_, 0);
      if (!check(api_.cuMemAlloc(&p, size), (what + " (cuMemAlloc)").c_str()))
        return nullptr;
    }
    if (bytes &&
        (!check(api_.cuMemcpyAsync(p, reinterpret_cast<CUdeviceptr>(host),
                                   bytes, nullptr),
                (what + " (cuMemcpy)").c_str()) ||
         !check(api_.cuStreamSynchronize(nullptr),
                (what + " (cuStreamSynchronize)").c_str()))) {
      api_.cuMemFree(p);
      return nullptr;
    }
    return reinterpret_cast<void *>(p);
  }

  /// The device copy of constant host data (a module's weights), uploaded
  /// on first use. Entries belong to the shared object that holds the data
  /// and are freed when a module of that object unloads.
  void *constant(const void *host, size_t bytes) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    auto key = std::make_pair(host, bytes);
    auto it = constants_.find(key);
    if (it != constants_.end())
      return it->second.device;
    void *device = upload(host, bytes, "uploading weights");
    if (!device)
      return nullptr;
    Dl_info info{};
    dladdr(host, &info);
    constants_[key] = {device, info.dli_fbase};
    return device;
  }
  /// Resident copies of host tensors (cudaKeepResident), keyed by their
  /// data and size. Registrations are counted: the copy goes with the last
  /// forget. The entry holds the tensor, so its data stays alive.
  bool keepResident(const convc::Tensor &t) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    std::pair<const void *, size_t> key(t.data(), t.numBytes());
    if (auto it = resident_.find(key); it != resident_.end()) {
      ++it->second.count;
      return true;
    }
    void *device = upload(t.data(), t.numBytes(), "keeping a tensor on the GPU");
    if (!device)
      return false;
    resident_[key] = {t, device, 1};
    return true;
  }
  void forgetResident(const convc::Tensor &t) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    auto it = resident_.find({t.data(), t.numBytes()});
    if (it == resident_.end() || --it->second.count > 0)
      return;
    // Copies queued from it may still run.
    api_.cuCtxSynchronize();
    api_.cuMemFree(reinterpret_cast<CUdeviceptr>(it->second.device));
    resident_.erase(it);
  }
  /// Queues the copy of `bytes` from `src` to `dst` on `stream` from the
  /// device copy when `src` is exactly a resident tensor's data (under the
  /// lock, so a concurrent forget cannot free it first). False otherwise.
  bool copyFromResident(void *dst, const void *src, size_t bytes,
                        void *stream) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    auto it = resident_.find({src, bytes});
    if (it == resident_.end())
      return false;
    check(api_.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                             reinterpret_cast<CUdeviceptr>(it->second.device),
                             bytes, stream),
          "cuMemcpyAsync");
    return true;
  }

  void releaseConstantsOf(const void *objectBase) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    for (auto it = constants_.begin(); it != constants_.end();) {
      if (it->second.object == objectBase) {
        api_.cuMemFree(reinterpret_cast<CUdeviceptr>(it->second.device));
        it = constants_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void noteModule(void *module, const void *data) {
    Dl_info info{};
    dladdr(data, &info);
    std::lock_guard<std::mutex> lock(constantMutex_);
    moduleObjects_[module] = info.dli_fbase;
  }
  const void *objectOf(void *module) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    auto it = moduleObjects_.find(module);
    const void *base = it == moduleObjects_.end() ? nullptr : it->second;
    if (it != moduleObjects_.end())
      moduleObjects_.erase(it);
    return base;
  }

  // Kernel time (CONVC_CUDA_PROFILE=1): each launch is bracketed by events.
  bool profiling() const { return profiling_; }
  void addKernelTime(double ms) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    kernelMs_ += ms;
    ++launches_;
  }
  void kernelTime(double &ms, int64_t &launches) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    ms = kernelMs_;
    launches = launches_;
    kernelMs_ = 0;
    launches_ = 0;
  }

private:
  Driver() {
    const char *profile = std::getenv("CONVC_CUDA_PROFILE");
    profiling_ = profile && *profile && std::string(profile) != "0";
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      unavailable_ = std::string("CUDA unavailable: cannot open libcuda.so.1 "
                                 "(no NVIDIA driver installed?): ") +
                     (why ? why : "unknown error");
      return;
    }
    bool complete = true;
    auto load = [&](auto &fn, const char *name, bool required = true) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
      if (!fn && required) {
        complete = false;
        if (unavailable_.empty())
          unavailable_ = std::string("CUDA unavailable: the driver lacks ") +
                         name + " (too old?)";
      }
    };
    load(api_.cuInit, "cuInit");
    load(api_.cuDeviceGetCount, "cuDeviceGetCount");
    load(api_.cuDeviceGet, "cuDeviceGet");
    load(api_.cuDeviceGetName, "cuDeviceGetName");
    load(api_.cuDeviceGetAttribute, "cuDeviceGetAttribute");
    load(api_.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    load(api_.cuCtxSetCurrent, "cuCtxSetCurrent");
    load(api_.cuCtxSynchronize, "cuCtxSynchronize");
    load(api_.cuModuleLoadData, "cuModuleLoadData");
    load(api_.cuModuleUnload, "cuModuleUnload");
    load(api_.cuModuleGetFunction, "cuModuleGetFunction");
    load(api_.cuLaunchKernel, "cuLaunchKernel");
    load(api_.cuStreamCreate, "cuStreamCreate");
    load(api_.cuStreamDestroy, "cuStreamDestroy_v2");
    load(api_.cuStreamSynchronize, "cuStreamSynchronize");
    load(api_.cuStreamWaitEvent, "cuStreamWaitEvent");
    load(api_.cuEventCreate, "cuEventCreate");
    load(api_.cuEventDestroy, "cuEventDestroy_v2");
    load(api_.cuEventRecord, "cuEventRecord");
    load(api_.cuEventSynchronize, "cuEventSynchronize");
    load(api_.cuEventElapsedTime, "cuEventElapsedTime");
    load(api_.cuMemAlloc, "cuMemAlloc_v2");
    load(api_.cuMemFree, "cuMemFree_v2");
    load(api_.cuMemcpyAsync, "cuMemcpyAsync");
    load(api_.cuMemsetD32Async, "cuMemsetD32Async");
    load(api_.cuMemsetD16Async, "cuMemsetD16Async");
    load(api_.cuGetErrorString, "cuGetErrorString");
    // The stream-ordered allocator (CUDA 11.2): used when present.
    load(api_.cuMemAllocAsync, "cuMemAllocAsync", false);
    load(api_.cuMemFreeAsync, "cuMemFreeAsync", false);
    load(api_.cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool", false);
    load(api_.cuMemPoolSetAttribute, "cuMemPoolSetAttribute", false);
    load(api_.cuMemPoolTrimTo, "cuMemPoolTrimTo", false);
    if (!complete)
      return;
    auto fail = [&](CUresult r, const char *what) {
      const char *text = nullptr;
      api_.cuGetErrorString(r, &text);
      unavailable_ = std::string("CUDA unavailable: ") + what + " failed: " +
                     (text ? text : "error " + std::to_string(r));
    };
    if (CUresult r = api_.cuInit(0)) {
      fail(r, "cuInit");
      return;
    }
    int count = 0;
    if (CUresult r = api_.cuDeviceGetCount(&count)) {
      fail(r, "cuDeviceGetCount");
      return;
    }
    if (count == 0) {
      unavailable_ = "CUDA unavailable: the driver sees no GPU";
      return;
    }
    int ordinal = 0;
    if (const char *env = std::getenv("CONVC_CUDA_DEVICE"))
      ordinal = std::atoi(env);
    if (ordinal < 0 || ordinal >= count) {
      unavailable_ = "CUDA unavailable: CONVC_CUDA_DEVICE=" +
                     std::to_string(ordinal) + " but the driver sees " +
                     std::to_string(count) + " GPU(s)";
      return;
    }
    if (CUresult r = api_.cuDeviceGet(&device_, ordinal)) {
      fail(r, "cuDeviceGet");
      return;
    }
    if (CUresult r = api_.cuDevicePrimaryCtxRetain(&context_, device_)) {
      fail(r, "cuDevicePrimaryCtxRetain");
      return;
    }
    char name[256] = {0};
    api_.cuDeviceGetName(name, sizeof(name) - 1, device_);
    deviceName_ = name;
    int major = 0, minor = 0;
    api_.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                              device_);
    api_.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                              device_);
    capability_ = major * 10 + minor;
    int pools = 0;
    if (api_.cuMemAllocAsync && api_.cuMemFreeAsync &&
        api_.cuDeviceGetDefaultMemPool && api_.cuMemPoolSetAttribute &&
        api_.cuMemPoolTrimTo &&
        api_.cuDeviceGetAttribute(&pools,
                                  CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                                  device_) == CUDA_SUCCESS &&
        pools && api_.cuDeviceGetDefaultMemPool(&pool_, device_) == CUDA_SUCCESS) {
      // By default the pool returns idle memory to the device at every
      // synchronisation, which would make each call allocate afresh.
      uint64_t keepAll = UINT64_MAX;
      if (api_.cuMemPoolSetAttribute(pool_, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                     &keepAll) != CUDA_SUCCESS)
        pool_ = nullptr;
    }
  }

  DriverAPI api_{};
  std::string unavailable_, deviceName_;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUmemoryPool pool_ = nullptr; // null: plain cuMemAlloc / cuMemFree
  int capability_ = 0;
  bool profiling_ = false;

  std::mutex errorMutex_; // guards the kernel timing
  double kernelMs_ = 0;
  int64_t launches_ = 0;

  struct Constant {
    void *device;
    const void *object; // base of the shared object holding the host data
  };
  std::mutex constantMutex_;
  std::map<std::pair<const void *, size_t>, Constant> constants_;
  std::map<void *, const void *> moduleObjects_;
  struct Resident {
    convc::Tensor tensor; // keeps the host data alive
    void *device;
    int count;
  };
  std::map<std::pair<const void *, size_t>, Resident> resident_;
};

/// The driver when it is usable, else null with the reason recorded.
Driver *usableDriver() {
  Driver &d = Driver::get();
  if (!d.ok()) {
    d.recordError(d.unavailableReason());
    return nullptr;
  }
  if (!d.bind())
    return nullptr;
  return &d;
}

} // namespace

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
  const DriverAPI &api = d->api();
  CUevent start = nullptr, stop = nullptr;
  if (d->profiling()) {
    api.cuEventCreate(&start, 0);
    api.cuEventCreate(&stop, 0);
    api.cuEventRecord(start, stream);
  }
  d->check(api.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                              blockZ, smem, stream, params, extra),
           "cuLaunchKernel");
  if (d->profiling()) {
    api.cuEventRecord(stop, stream);
    api.cuEventSynchronize(stop);
    float ms = 0;
    api.cuEventElapsedTime(&ms, start, stop);
    d->addKernelTime(ms);
    api.cuEventDestroy(start);
    api.cuEventDestroy(stop);
  }
}

}

namespace {
/// Streams the generated code has let go of, for the next to ask: each
/// call creates and destroys a stream per async region (5 per decode step
/// of the example model), and cuStreamCreate costs more than a small
/// kernel. A reused stream orders new work after anything still queued on
/// it, which is only ever more ordering.
struct IdleStreams {
  std::mutex mutex;
  std::vector<CUstream> streams;
  static constexpr size_t kKeep = 32;
};
IdleStreams &idleStreams() {
  static IdleStreams *pool = new IdleStreams; // outlives static destructors
  return *pool;
}
} // namespace

extern "C" {

__attribute__((visibility("default"))) void *mgpuStreamCreate() {
  Driver *d = usableDriver();
  if (!d)
    return nullptr;
  {
    IdleStreams &idle = idleStreams();
    std::lock_guard<std::mutex> lock(idle.mutex);
    if (!idle.streams.empty()) {
      CUstream stream = idle.streams.back();
      idle.streams.pop_back();
      return stream;
    }
  }
  CUstream stream = nullptr;
  d->check(d->api().cuStreamCreate(&stream, /*CU_STREAM_NON_BLOCKING=*/1),
           "cuStreamCreate");
  return stream;
}

__attribute__((visibility("default"))) void mgpuStreamDestroy(void *stream) {
  Driver &d = Driver::get();
  if (!stream || !d.ok() || !d.bind())
    return;
  {
    IdleStreams &idle = idleStreams();
    std::lock_guard<std::mutex> lock(idle.mutex);
    if (idle.streams.size() < IdleStreams::kKeep) {
      idle.streams.push_back(static_cast<CUstream>(stream));
      return;
    }
  }
  d.api().cuStreamDestroy(stream); // its queued work still completes
}

__attribute__((visibility("default"))) void
mgpuStreamSynchronize(void *stream) {
  Driver *d = usableDriver();
  if (d)
    d->check(d->api().cuStreamSynchronize(stream),
             "running the kernels (cuStreamSynchronize)");
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
  return d->alloc(bytes, stream);
}

__attribute__((visibility("default"))) void mgpuMemFree(void *ptr,
                                                        void *stream) {
  Driver &d = Driver::get();
  if (!ptr || !d.ok())
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
  // A resident tensor's data comes from its device copy.
  if (d->copyFromResident(dst, src, bytes, stream))
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
struct Descriptor1D {
  void *allocated, *aligned;
  int64_t offset, size, stride;
};

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
CONVC_DEVICE_CONSTANT(f16)
CONVC_DEVICE_CONSTANT(bf16)
CONVC_DEVICE_CONSTANT(f32)
CONVC_DEVICE_CONSTANT(f64)
CONVC_DEVICE_CONSTANT(i1)
CONVC_DEVICE_CONSTANT(i8)
CONVC_DEVICE_CONSTANT(i16)
CONVC_DEVICE_CONSTANT(i32)
CONVC_DEVICE_CONSTANT(i64)
#undef CONVC_DEVICE_CONSTANT
