//===- CudaDriver.h - the CUDA driver API, opened at run time -*- C++ -*-===//
//
// Internal to the runtime: the driver's entry points (DriverAPI), the
// process's one Driver (CudaDriver.cpp documents it) and what the mgpu*
// shim (MgpuShim.cpp) and the public CUDA functions share.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_CUDA_CUDADRIVER_H
#define CONVC_RUNTIME_CUDA_CUDADRIVER_H

#include "convc/Runtime.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>
#include <cstdio>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>


namespace convc::cuda {


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
using CUgraph = void *;
using CUgraphExec = void *;
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
constexpr int CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2;
constexpr unsigned CU_MEMORYTYPE_DEVICE = 2;

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
  // Page-locked host memory for staging copies (optional).
  CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
  CUresult (*cuMemFreeHost)(void *);
  // Stream capture and graphs (optional; CUDA 11.4+).
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr);
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
  /// Whether calls can be captured as CUDA graphs: the driver has the entry
  /// points, allocations are stream-ordered (pool), and launches are not
  /// timed one by one.
  bool canCapture() const {
    return pool_ && !profiling_ && api_.cuStreamBeginCapture &&
           api_.cuStreamEndCapture && api_.cuGraphInstantiateWithFlags &&
           api_.cuGraphLaunch && api_.cuGraphExecDestroy &&
           api_.cuGraphDestroy && api_.cuPointerGetAttribute;
  }
  /// Whether `p` is device memory of this context.
  bool isDeviceMemory(const void *p) {
    unsigned type = 0;
    return api_.cuPointerGetAttribute &&
           api_.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                      reinterpret_cast<CUdeviceptr>(p)) ==
               CUDA_SUCCESS &&
           type == CU_MEMORYTYPE_DEVICE;
  }
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
  /// The device copy of a resident tensor whose data and size these are,
  /// else null. The caller must not forget it while a call uses it.
  void *residentCopy(const void *data, size_t bytes) {
    std::lock_guard<std::mutex> lock(constantMutex_);
    auto it = resident_.find({data, bytes});
    return it == resident_.end() ? nullptr : it->second.device;
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
  // CONVC_CUDA_PROFILE=kernels also adds it up per kernel and prints the
  // table at exit (kernels are named after their function and convc op).
  bool profiling() const { return profiling_; }
  void addKernelTime(double ms, const std::string &what) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    kernelMs_ += ms;
    ++launches_;
    if (profileKernels_) {
      auto &[count, total] = perKernel_[what];
      ++count;
      total += ms;
    }
  }
  /// Remembers a kernel's name for the per-kernel profile.
  void nameFunction(CUfunction function, const char *name) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    functionNames_[function] = name;
  }
  std::string functionName(CUfunction function) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    auto it = functionNames_.find(function);
    return it == functionNames_.end() ? "?" : it->second;
  }
  /// The per-kernel table, most time first.
  void printKernelProfile(FILE *out) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    std::vector<std::pair<std::string, std::pair<int64_t, double>>> rows(
        perKernel_.begin(), perKernel_.end());
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
      return a.second.second > b.second.second;
    });
    double all = 0;
    for (const auto &row : rows)
      all += row.second.second;
    std::fprintf(out, "convc kernel profile (CONVC_CUDA_PROFILE=kernels): "
                      "%.3f ms in all\n%10s %10s %10s %6s  %s\n",
                 all, "total_ms", "launches", "mean_us", "share", "kernel");
    for (const auto &[name, stat] : rows)
      std::fprintf(out, "%10.3f %10lld %10.2f %5.1f%%  %s\n", stat.second,
                   static_cast<long long>(stat.first),
                   1000.0 * stat.second / std::max<int64_t>(stat.first, 1),
                   all > 0 ? 100.0 * stat.second / all : 0.0, name.c_str());
  }
  /// Queues GPU work on `stream` with `enqueue` (true: queued); profiling,
  /// waits for it between two events and adds the time to `what` (a
  /// kernel, or a library call such as cuBLASLt's matmul).
  template <typename Enqueue>
  bool timed(CUstream stream, Enqueue enqueue, const std::string &what) {
    if (!profiling_)
      return enqueue();
    CUevent start = nullptr, stop = nullptr;
    api_.cuEventCreate(&start, 0);
    api_.cuEventCreate(&stop, 0);
    api_.cuEventRecord(start, stream);
    bool queued = enqueue();
    api_.cuEventRecord(stop, stream);
    api_.cuEventSynchronize(stop);
    float ms = 0;
    api_.cuEventElapsedTime(&ms, start, stop);
    if (queued)
      addKernelTime(ms, what);
    api_.cuEventDestroy(start);
    api_.cuEventDestroy(stop);
    return queued;
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
    profileKernels_ = profile && std::string(profile) == "kernels";
    if (profileKernels_)
      std::atexit([] { Driver::get().printKernelProfile(stderr); });
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
    load(api_.cuMemHostAlloc, "cuMemHostAlloc", false);
    load(api_.cuMemFreeHost, "cuMemFreeHost", false);
    load(api_.cuStreamBeginCapture, "cuStreamBeginCapture_v2", false);
    load(api_.cuStreamEndCapture, "cuStreamEndCapture", false);
    load(api_.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags",
         false);
    load(api_.cuGraphLaunch, "cuGraphLaunch", false);
    load(api_.cuGraphExecDestroy, "cuGraphExecDestroy", false);
    load(api_.cuGraphDestroy, "cuGraphDestroy", false);
    load(api_.cuPointerGetAttribute, "cuPointerGetAttribute", false);
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
  bool profiling_ = false, profileKernels_ = false;

  std::mutex errorMutex_; // guards the kernel timing
  double kernelMs_ = 0;
  int64_t launches_ = 0;
  std::map<std::string, std::pair<int64_t, double>> perKernel_;
  std::map<CUfunction, std::string> functionNames_;

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

/// The element types of the runtime functions convc-gpu-host-buffers calls
/// (`convc_cuda_<kind>_<T>`), for defining one per type.
#define CONVC_FOR_EACH_ELEMENT_TYPE(X)                                         \
  X(f16) X(bf16) X(f32) X(f64) X(i1) X(i8) X(i16) X(i32) X(i64)

/// A 1-D memref descriptor, as MLIR's C interface passes it by pointer.
struct Descriptor1D {
  void *allocated, *aligned;
  int64_t offset, size, stride;
};

/// The driver when it is usable, else null with the reason recorded.
inline Driver *usableDriver() {
  Driver &d = Driver::get();
  if (!d.ok()) {
    d.recordError(d.unavailableReason());
    return nullptr;
  }
  if (!d.bind())
    return nullptr;
  return &d;
}

} // namespace convc::cuda

#endif // CONVC_RUNTIME_CUDA_CUDADRIVER_H
