//===- Runtime.h - load and run compiled convc modules ---------*- C++ -*-===//
//
// Plain C++17, no MLIR or LLVM: a compiled module is a shared library that
// exports `_mlir_ciface_<entry>` functions and a `convc_signature` table.
// Every call is checked against the table (names, dtypes, ranks, static and
// symbolic sizes) and fails with a message instead of undefined behaviour.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_H
#define CONVC_RUNTIME_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace convc {

/// Mirrors convc_status_code in the C API (convc/convc_c_api.h).
enum class StatusCode {
  Ok = 0,
  InvalidArgument = 1,
  NotFound = 2,
  LoadFailed = 3,
  Unavailable = 4,
  Internal = 5,
  Cancelled = 6 ///< stopped when asked (GenerationOptions::interrupted)
};

/// Success, or a code with a sentence saying what went wrong.
class Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}
  bool ok() const { return code_ == StatusCode::Ok; }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

// I8, U8 and Bool (one byte, 0 or 1) carry ONNX exports' small ints and
// masks across the entry point; inside, they are computed as i64 and i1.
enum class DType { F32, F16, BF16, F64, I32, I64, I8, U8, Bool };

const char *dtypeName(DType dtype);
size_t dtypeSize(DType dtype);
bool parseDType(const std::string &name, DType &dtype);

/// Bytes of a tensor of `shape`; false for negative or absurd sizes.
bool checkedNumBytes(DType dtype, const std::vector<int64_t> &shape,
                     size_t &bytes);

/// Where a compiled module's code runs (chosen when it is compiled:
/// `convc compile --target=cpu|cuda`), and where a tensor's data lives.
enum class Device { CPU, CUDA };
const char *deviceName(Device device);

/// A dense, row-major tensor that owns (or borrows) its memory: host memory,
/// or GPU memory for a device tensor (cudaToDevice, or a CUDA module's
/// results with RunOptions::outputs = Device::CUDA), whose data() is a
/// device address the host must not dereference.
class Tensor {
public:
  Tensor() = default;
  /// Zero-filled, 64-byte aligned; without data if the size is invalid or
  /// the allocation fails (every consumer rejects such a tensor).
  static Tensor zeros(DType dtype, std::vector<int64_t> shape);
  /// Wraps memory the caller keeps alive.
  static Tensor borrow(DType dtype, std::vector<int64_t> shape, void *data);
  /// Adopts memory with its own release function.
  static Tensor adopt(DType dtype, std::vector<int64_t> shape, void *data,
                      std::shared_ptr<void> owner);
  /// Wraps GPU memory the caller keeps alive: a device address from the CUDA
  /// driver or runtime in this process's primary context (a PyTorch CUDA
  /// tensor's data_ptr(), say). CUDA modules read it where it is.
  static Tensor borrowDevice(DType dtype, std::vector<int64_t> shape,
                             void *deviceData);
  /// Adopts GPU memory with its own release function.
  static Tensor adoptDevice(DType dtype, std::vector<int64_t> shape,
                            void *deviceData, std::shared_ptr<void> owner);

  /// Where data() lives.
  Device device() const { return device_; }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const;
  size_t numBytes() const { return numElements() * dtypeSize(dtype_); }
  void *data() const { return data_; }
  template <typename T> T *data() const { return static_cast<T *>(data_); }

private:
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  void *data_ = nullptr;
  std::shared_ptr<void> owner_;
  Device device_ = Device::CPU;
};

/// `t` as `dtype`: f32 to f16 or bf16 rounds to nearest even, f16 or bf16
/// to f32 is exact, the same type copies. Other pairs give a tensor without
/// data. (f16/bf16 models take and give their storage type.)
Tensor convertTensor(const Tensor &t, DType dtype);

/// One input or output of an entry point. A size is a number or a symbol
/// ("s0"): equal symbols must get equal sizes.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::string> dims;
  std::string describe() const; // "x: f32[s0, s1, 512]"
};

struct EntryPoint {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
};

/// Whether modules compiled for CUDA can run in this process: Ok, or
/// Unavailable with a message that starts "CUDA unavailable: " and says why
/// (no libcuda.so.1, no GPU, driver too old). The driver is opened with
/// dlopen on first use; the runtime links no CUDA library.
Status cudaStatus();
/// "NVIDIA H100 80GB HBM3 (sm_90)"; empty when CUDA is unavailable.
std::string cudaDeviceDescription();
/// With CONVC_CUDA_PROFILE=1 in the environment, every kernel launch is
/// timed with CUDA events: the milliseconds and launches since the last
/// call (then reset). Zero without profiling.
void cudaKernelTime(double &milliseconds, int64_t &launches);
/// Calls captured as CUDA graphs and graph launches since the last call
/// (then reset): whether a decode loop ran as graphs (convc::generate's
/// greedy search on the GPU does where it can).
void cudaGraphCounts(int64_t &captured, int64_t &replays);
/// Keeps a copy of `t`'s data on the GPU until cudaForgetResident(t): a
/// CUDA module given exactly this tensor as an input (the same data and
/// size) then copies it from there, device to device, instead of over
/// PCIe. Its data must not change meanwhile; the runtime holds a reference
/// to `t`. Registrations are counted: the copy goes with the last forget.
/// For inputs that stay the same over many calls, such as the encoder's
/// attention caches while generating (convc::generate keeps them so).
/// Unavailable without CUDA.
Status cudaKeepResident(const Tensor &t);
void cudaForgetResident(const Tensor &t);
/// A copy of host tensor `t` in GPU memory (freed with the last copy of
/// `device`), complete on return. A device tensor is returned as it is.
/// Unavailable without CUDA.
Status cudaToDevice(const Tensor &t, Tensor &device);
/// A host copy of device tensor `t`, complete on return. A host tensor is
/// returned as it is.
Status cudaToHost(const Tensor &t, Tensor &host);

namespace detail {
/// The first CUDA error recorded since the last call (empty: none).
std::string takeCudaError();
/// The first failed run-time check (convc.check) of the calling thread
/// since the last call (empty: none); `continued` says whether the entry
/// point ran to its end regardless (a per-element check).
std::string takeCheckError(bool *continued = nullptr);
/// The check record of this thread, and a worker's adoption of its
/// caller's (returns the previous one, to restore).
void *checkRecordOfThisThread();
void *adoptCheckRecord(void *caller);
/// Threads for the parallel loops that modules run on the calling thread
/// (<= 0: the default).
void setCallerThreads(int threads);
/// The threads a parallel loop runs on when `threads` are asked for (<= 0:
/// the default), after the environment and the pool's limit of 256.
int threadsUsed(int threads);
} // namespace detail

/// How Module::run returns its results.
struct RunOptions {
  /// Where a CUDA module's outputs go: host tensors (copied back through
  /// pinned memory), or device tensors, handed over without a copy, that can
  /// be given to the next call as they are (ONNX Runtime's IO binding). CPU
  /// modules always return host tensors.
  Device outputs = Device::CPU;
  /// Per output, by position, overriding `outputs` (shorter: the rest
  /// follow `outputs`). A decoder step, say, returns its logits to the host
  /// and keeps its states on the device.
  std::vector<Device> outputDevices;
  Device outputDevice(size_t i) const {
    return i < outputDevices.size() ? outputDevices[i] : outputs;
  }
};

class Module {
public:
  /// Loads a compiled module.
  static Status load(const std::string &path, std::unique_ptr<Module> &module);
  /// The same, null with `error` set on failure.
  static std::unique_ptr<Module> load(const std::string &path,
                                      std::string &error);
  ~Module();
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  const std::vector<EntryPoint> &entryPoints() const { return entries_; }
  /// CPU, or CUDA for modules compiled with --target=cuda. A CUDA module
  /// takes host tensors (staged to the GPU through pinned memory) and device
  /// tensors (read where they are), and returns host tensors unless asked
  /// for device ones (RunOptions).
  Device device() const { return device_; }

  /// Threads for this module's parallel loops (the runtime's thread pool),
  /// applied on whichever thread calls run; <= 0 keeps the default:
  /// CONVC_NUM_THREADS, else OMP_NUM_THREADS, else one per core.
  void setNumThreads(int threads);
  const EntryPoint *find(const std::string &name) const;

  /// Runs `entry` on `inputs` (in signature order). A failure names the
  /// input, the expected and the given shape or dtype (InvalidArgument), or
  /// the unknown entry point (NotFound). Host outputs never overlap each
  /// other or an input (a value returned twice, or an input returned, is
  /// copied).
  Status run(const std::string &entry, const std::vector<Tensor> &inputs,
             std::vector<Tensor> &outputs,
             const RunOptions &options = RunOptions()) const;
  /// The same, false with `error` set on failure.
  bool run(const std::string &entry, const std::vector<Tensor> &inputs,
           std::vector<Tensor> &outputs, std::string &error) const;

private:
  Module() = default;
  void *handle_ = nullptr;
  int threads_ = 0;
  Device device_ = Device::CPU;

  std::vector<EntryPoint> entries_;
  std::vector<void *> functions_; // parallel to entries_
};

} // namespace convc

#endif // CONVC_RUNTIME_H
