//===- DeviceCall.cpp - where a CUDA module's inputs and results live ----===//
//
// The call state and the hooks of DeviceCall.h, the per-thread stream, and
// the public device-tensor functions (cudaToDevice, cudaToHost).
//
//===----------------------------------------------------------------------===//

#include "DeviceCall.h"
#include "CudaDriver.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

using namespace convc::cuda;

namespace {

/// Page-locked host memory that a thread's copies are staged through: the
/// driver copies pageable memory through a bounce buffer of its own and, for
/// device-to-host copies, synchronously. A call takes regions; its end (after
/// the synchronisation) makes them free again.
class Staging {
public:
  Staging() = default;
  Staging(const Staging &) = delete;
  Staging &operator=(const Staging &) = delete;
  ~Staging() {
    for (Chunk &c : chunks_)
      freeChunk(c);
  }
  void swap(Staging &other) {
    chunks_.swap(other.chunks_);
    std::swap(total_, other.total_);
  }
  /// `bytes` of pinned memory, null where the driver has none to give or
  /// the copy is too large to stage (the driver then copies it directly).
  void *take(size_t bytes) {
    if (bytes > kMaximum)
      return nullptr;
    bytes = (bytes + 63) & ~size_t(63);
    if (chunks_.empty() || chunks_.back().used + bytes > chunks_.back().size) {
      Driver &d = Driver::get();
      if (!d.api().cuMemHostAlloc)
        return nullptr;
      size_t size = std::max<size_t>({bytes, kMinimum, 2 * total_});
      void *p = nullptr;
      if (d.api().cuMemHostAlloc(&p, size, 0) != CUDA_SUCCESS || !p)
        return nullptr;
      chunks_.push_back({p, size, 0});
      total_ += size;
    }
    Chunk &c = chunks_.back();
    void *p = static_cast<char *>(c.p) + c.used;
    c.used += bytes;
    return p;
  }
  /// Once the call's copies are done: every region is free; several chunks
  /// become one (the largest is kept, the others go).
  void reset() {
    if (chunks_.size() > 1) {
      auto largest = std::max_element(
          chunks_.begin(), chunks_.end(),
          [](const Chunk &a, const Chunk &b) { return a.size < b.size; });
      Chunk keep = *largest;
      for (auto it = chunks_.begin(); it != chunks_.end(); ++it)
        if (it != largest)
          freeChunk(*it);
      chunks_ = {keep};
      total_ = keep.size;
    }
    for (Chunk &c : chunks_)
      c.used = 0;
  }

private:
  struct Chunk {
    void *p;
    size_t size, used;
  };
  static constexpr size_t kMinimum = size_t(1) << 20,
                          kMaximum = size_t(64) << 20;
  static void freeChunk(Chunk &c) {
    Driver &d = Driver::get();
    if (d.api().cuMemFreeHost)
      d.api().cuMemFreeHost(c.p);
  }
  std::vector<Chunk> chunks_;
  size_t total_ = 0;
};

/// A copy to a host buffer, staged: done once the call synchronises.
struct PendingCopy {
  void *host;
  const void *pinned;
  size_t bytes;
};

struct ThreadState {
  void *stream = nullptr;
  Staging staging;
  // The call in progress.
  std::vector<bool> deviceOutputs; // by result position
  size_t nextOutput = 0;
  std::vector<const void *> borrowed; // device buffers the call does not own
  std::vector<void *> staged;         // device copies of host inputs
  std::vector<void *> handedOut;      // device results for the caller
  // What the module allocated during the call, and the device ranges of
  // its inputs: only the former may be handed out; both are device memory
  // whatever cuPointerGetAttribute says of a buffer made while capturing.
  std::vector<std::pair<const char *, size_t>> allocated, inputRanges;
  std::vector<PendingCopy> pending;
  // Copies from pinned memory queued since the stream last synchronised.
  int unsynchronised = 0;
  // Capturing a call (captureCall): the pending host copies are the
  // capture's, done at each replay.
  bool capturing = false, captureBroken = false;
  std::vector<PendingCopy> captured;

  ~ThreadState() {
    Driver &d = Driver::get();
    if (stream && d.ok())
      d.api().cuStreamDestroy(stream); // queued work still completes
  }
};

ThreadState &threadState() {
  thread_local ThreadState state;
  return state;
}

bool contains(const std::vector<const void *> &list, const void *p) {
  return std::find(list.begin(), list.end(), p) != list.end();
}

/// Queues `bytes` from host `src` to device `dst` on the thread's stream,
/// through pinned memory where there is some.
void copyToDevice(Driver &d, void *dst, const void *src, size_t bytes) {
  ThreadState &s = threadState();
  if (void *pinned = s.staging.take(bytes)) {
    std::memcpy(pinned, src, bytes);
    src = pinned;
    ++s.unsynchronised;
  }
  d.check(d.api().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                reinterpret_cast<CUdeviceptr>(src), bytes,
                                s.stream),
          "copying an input to the GPU (cuMemcpyAsync)");
}

/// Queues `bytes` from device `src` to host `dst`; complete (in `dst`) once
/// endCall has run.
void copyToHost(Driver &d, void *dst, const void *src, size_t bytes) {
  ThreadState &s = threadState();
  void *pinned = s.staging.take(bytes);
  if (!pinned && s.capturing) {
    // A replay would write to a host buffer that is gone by then.
    s.captureBroken = true;
    return;
  }
  void *target = pinned ? pinned : dst;
  if (d.check(d.api().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(target),
                                    reinterpret_cast<CUdeviceptr>(src), bytes,
                                    s.stream),
              "copying a result from the GPU (cuMemcpyAsync)") &&
      pinned) {
    s.pending.push_back({dst, pinned, bytes});
    ++s.unsynchronised;
  }
}

void *hostBuffer(size_t bytes) {
  return std::aligned_alloc(64, std::max<size_t>((bytes + 63) & ~size_t(63), 64));
}

void setFlat(Descriptor1D *d, void *data, int64_t size) {
  *d = {data, data, 0, size, 1};
}

// The hooks convc-gpu-host-buffers calls.

void input(Descriptor1D *result, const Descriptor1D *arg, int64_t elementBytes) {
  setFlat(result, nullptr, arg->size);
  Driver *d = usableDriver();
  if (!d || d->failed())
    return;
  ThreadState &s = threadState();
  void *data = static_cast<char *>(arg->aligned) + arg->offset * elementBytes;
  size_t bytes = size_t(arg->size) * elementBytes;
  if (contains(s.borrowed, data)) { // the caller's device tensor
    s.inputRanges.push_back({static_cast<const char *>(data), bytes});
    setFlat(result, data, arg->size);
    return;
  }
  if (void *resident = d->residentCopy(data, bytes)) {
    s.borrowed.push_back(resident);
    s.inputRanges.push_back({static_cast<const char *>(resident), bytes});
    setFlat(result, resident, arg->size);
    return;
  }
  void *device = d->alloc(bytes, threadStream());
  if (!device)
    return;
  s.staged.push_back(device);
  s.inputRanges.push_back({static_cast<const char *>(device), bytes});
  if (bytes)
    copyToDevice(*d, device, data, bytes);
  setFlat(result, device, arg->size);
}

void output(Descriptor1D *result, const Descriptor1D *dev, int64_t elementBytes) {
  setFlat(result, nullptr, dev->size);
  Driver *d = usableDriver();
  if (!d || d->failed())
    return;
  ThreadState &s = threadState();
  const char *data =
      static_cast<const char *>(dev->aligned) + dev->offset * elementBytes;
  size_t bytes = size_t(dev->size) * elementBytes;
  size_t index = s.nextOutput++;
  if (index < s.deviceOutputs.size() && s.deviceOutputs[index]) {
    // Only a buffer the module allocated in this call is handed over (once:
    // a result repeated shares it). Anything else (an input passed through,
    // a weight, a staged input) is copied into a buffer of the caller's own.
    bool ours = std::any_of(s.allocated.begin(), s.allocated.end(),
                            [&](const auto &a) {
                              return a.first == dev->allocated;
                            }) &&
                std::find(s.staged.begin(), s.staged.end(), dev->allocated) ==
                    s.staged.end();
    if (ours) {
      *result = *dev;
      if (std::find(s.handedOut.begin(), s.handedOut.end(), dev->allocated) ==
          s.handedOut.end())
        s.handedOut.push_back(dev->allocated);
      return;
    }
    void *copy = d->alloc(bytes, s.stream);
    if (!copy)
      return;
    if (bytes)
      d->check(d->api().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(copy),
                                      reinterpret_cast<CUdeviceptr>(data),
                                      bytes, s.stream),
               "copying a result on the GPU (cuMemcpyAsync)");
    s.handedOut.push_back(copy);
    setFlat(result, copy, dev->size);
    return;
  }
  void *host = hostBuffer(bytes);
  if (!host) {
    d->recordError("out of host memory for a result");
    return;
  }
  if (bytes)
    copyToHost(*d, host, data, bytes);
  setFlat(result, host, dev->size);
}

void release(const Descriptor1D *buffer) {
  ThreadState &s = threadState();
  void *p = buffer->allocated;
  if (!p || convc::cuda::isHandedOut(p))
    return;
  Driver &d = Driver::get();
  if (d.ok())
    d.release(p, s.stream);
}

} // namespace

namespace convc::cuda {

void *threadStream() {
  ThreadState &s = threadState();
  Driver &d = Driver::get();
  // A blocking stream: its work waits for work queued before on the legacy
  // default stream (and that stream's for it), which is where PyTorch and
  // CuPy compute by default, so GPU memory they hand over is complete when
  // the module reads it, and a buffer they still read is not freed under
  // them.
  if (!s.stream && d.ok() && d.bind()) {
    d.check(d.api().cuStreamCreate(&s.stream, /*CU_STREAM_DEFAULT=*/0),
            "cuStreamCreate");
  }
  return s.stream;
}

void noteAllocated(void *p, size_t bytes) {
  if (p)
    threadState().allocated.push_back({static_cast<const char *>(p), bytes});
}

bool isHandedOut(const void *p) {
  ThreadState &s = threadState();
  return std::find(s.handedOut.begin(), s.handedOut.end(), p) !=
         s.handedOut.end();
}

void beginCall(std::vector<const void *> deviceInputs,
               std::vector<bool> deviceOutputs) {
  ThreadState &s = threadState();
  s.borrowed = std::move(deviceInputs);
  s.deviceOutputs = std::move(deviceOutputs);
  s.nextOutput = 0;
  s.staged.clear();
  s.handedOut.clear();
  s.pending.clear();
  s.allocated.clear();
  s.inputRanges.clear();
  if (usableDriver())
    threadStream();
}

void noteSynchronized(void *stream) {
  ThreadState &s = threadState();
  if (stream == s.stream)
    s.unsynchronised = 0;
}

std::string endCall(bool failed) {
  ThreadState &s = threadState();
  Driver &d = Driver::get();
  if (s.capturing) {
    // Nothing ran: the copies to the host happen at each replay.
    s.captured = std::move(s.pending);
    s.pending.clear();
    s.staged.clear();
    s.handedOut.clear();
    s.borrowed.clear();
    return d.takeError();
  }
  if (d.ok() && s.stream) {
    // The module synchronises after queueing its results' copies
    // (convc-defer-result-sync); a call that returned early has not, and
    // its staged inputs' pinned regions are reused by the next call.
    if (s.unsynchronised > 0 &&
        d.check(d.api().cuStreamSynchronize(s.stream),
                "copying results from the GPU (cuStreamSynchronize)"))
      s.unsynchronised = 0;
    failed = failed || d.failed();
    if (!failed)
      for (const PendingCopy &c : s.pending)
        std::memcpy(c.host, c.pinned, c.bytes);
    for (void *p : s.staged)
      d.release(p, s.stream);
    if (failed)
      for (void *p : s.handedOut)
        d.release(p, s.stream);
    if (s.unsynchronised == 0)
      s.staging.reset();
  }
  s.staged.clear();
  s.handedOut.clear();
  s.pending.clear();
  s.borrowed.clear();
  return d.takeError();
}

/// Waits for the thread's stream and completes its staged host copies.
bool synchronize(Driver &d, const char *what) {
  ThreadState &s = threadState();
  bool ok = d.check(d.api().cuStreamSynchronize(s.stream), what);
  if (ok)
    for (const PendingCopy &c : s.pending)
      std::memcpy(c.host, c.pinned, c.bytes);
  s.pending.clear();
  s.unsynchronised = 0;
  s.staging.reset();
  return ok;
}

Status gatherRows(const Tensor &t, const std::vector<int64_t> &rows,
                  Tensor &out) {
  Driver *d = usableDriver();
  if (!d)
    return Status(StatusCode::Unavailable, Driver::get().takeError());
  std::vector<int64_t> shape = t.shape();
  size_t rowBytes = t.numBytes() / std::max<int64_t>(shape[0], 1);
  shape[0] = rows.size();
  void *stream = threadStream();
  char *data = static_cast<char *>(d->alloc(rows.size() * rowBytes, stream));
  auto src = reinterpret_cast<CUdeviceptr>(t.data());
  auto dst = reinterpret_cast<CUdeviceptr>(data);
  // Runs of consecutive source rows are one copy each.
  for (size_t i = 0; data && i < rows.size();) {
    size_t n = 1;
    while (i + n < rows.size() && rows[i + n] == rows[i] + int64_t(n))
      ++n;
    if (!d->check(d->api().cuMemcpyAsync(dst + i * rowBytes,
                                         src + rows[i] * rowBytes,
                                         n * rowBytes, stream),
                  "reordering rows on the GPU (cuMemcpyAsync)"))
      break;
    i += n;
  }
  if (!data || d->failed()) {
    releaseDevice(data);
    return Status(StatusCode::Internal, d->takeError());
  }
  out = Tensor::adoptDevice(t.dtype(), shape, data,
                            std::shared_ptr<void>(data, releaseDevice));
  return Status();
}

void releaseDevice(void *data) {
  Driver &d = Driver::get();
  if (data && d.ok() && d.bind())
    d.release(data, threadStream());
}

} // namespace convc::cuda

#define CONVC_CALL_HOOKS(T)                                                    \
  extern "C" __attribute__((visibility("default"))) void                      \
      _mlir_ciface_convc_cuda_input_##T(Descriptor1D *result,                  \
                                        const Descriptor1D *arg,               \
                                        int64_t elementBytes) {                \
    input(result, arg, elementBytes);                                          \
  }                                                                            \
  extern "C" __attribute__((visibility("default"))) void                      \
      _mlir_ciface_convc_cuda_output_##T(Descriptor1D *result,                 \
                                         const Descriptor1D *dev,              \
                                         int64_t elementBytes) {               \
    output(result, dev, elementBytes);                                         \
  }                                                                            \
  extern "C" __attribute__((visibility("default"))) void                      \
      _mlir_ciface_convc_cuda_release_##T(const Descriptor1D *buffer,          \
                                          int64_t) {                           \
    release(buffer);                                                           \
  }
CONVC_FOR_EACH_ELEMENT_TYPE(CONVC_CALL_HOOKS)
#undef CONVC_CALL_HOOKS

namespace convc {

namespace {
Status unavailable(Driver &d) {
  return Status(StatusCode::Unavailable, d.unavailableReason());
}
} // namespace

Status cudaToDevice(const Tensor &t, Tensor &device) {
  if (t.device() == Device::CUDA) {
    device = t;
    return Status();
  }
  Driver &d = Driver::get();
  if (!d.ok())
    return unavailable(d);
  if (!t.data() && t.numElements() > 0)
    return Status(StatusCode::InvalidArgument, "a tensor without data");
  d.takeError();
  void *data = d.bind() ? d.alloc(t.numBytes(), threadStream()) : nullptr;
  if (data && t.numBytes())
    copyToDevice(d, data, t.data(), t.numBytes());
  if (!data || !synchronize(d, "copying a tensor to the GPU")) {
    if (data)
      releaseDevice(data);
    return Status(StatusCode::Internal, d.takeError());
  }
  device = Tensor::adoptDevice(t.dtype(), t.shape(), data,
                               std::shared_ptr<void>(data, releaseDevice));
  return Status();
}

Status cudaToHost(const Tensor &t, Tensor &host) {
  if (t.device() == Device::CPU) {
    host = t;
    return Status();
  }
  Driver &d = Driver::get();
  if (!d.ok())
    return unavailable(d);
  Tensor copy = Tensor::zeros(t.dtype(), t.shape());
  if (!copy.data() && t.numElements() > 0)
    return Status(StatusCode::InvalidArgument,
                  "out of host memory for a tensor of " +
                      std::to_string(t.numBytes()) + " bytes");
  d.takeError();
  if (!d.bind() || !threadStream())
    return Status(StatusCode::Internal, d.takeError());
  if (t.numBytes())
    copyToHost(d, copy.data(), t.data(), t.numBytes());
  if (!synchronize(d, "copying a tensor from the GPU"))
    return Status(StatusCode::Internal, d.takeError());
  host = copy;
  return Status();
}

} // namespace convc

//===----------------------------------------------------------------------===//
// Calls captured as CUDA graphs.
//===----------------------------------------------------------------------===//

namespace convc::cuda {

namespace {
std::atomic<int64_t> capturedCalls{0}, graphReplays{0};
} // namespace

bool capturing() { return threadState().capturing; }

bool allowCopyInCapture(const void *dst, const void *src) {
  // Buffers allocated while capturing are mapped only when the graph runs,
  // so the driver cannot be asked about them: the call's own records say.
  ThreadState &s = threadState();
  auto known = [&](const void *p) {
    auto *c = static_cast<const char *>(p);
    auto inside = [&](const std::pair<const char *, size_t> &r) {
      return c >= r.first && c < r.first + std::max<size_t>(r.second, 1);
    };
    return std::any_of(s.allocated.begin(), s.allocated.end(), inside) ||
           std::any_of(s.inputRanges.begin(), s.inputRanges.end(), inside) ||
           Driver::get().isDeviceMemory(p);
  };
  if (known(dst) && known(src))
    return true;
  threadState().captureBroken = true;
  return false;
}

struct CapturedCall::State {
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  std::vector<Tensor> inputs; // at the addresses the graph reads
  Staging staging;            // where the graph leaves the host results
  Staging fedStaging;         // where it reads the fed inputs from
  struct FedInput {
    size_t input;
    void *pinned;
  };
  std::vector<FedInput> fed;
  struct HostResult {
    DType dtype;
    std::vector<int64_t> shape;
    const void *pinned;
  };
  std::vector<HostResult> results;
};

CapturedCall::CapturedCall() : state_(std::make_unique<State>()) {}

CapturedCall::~CapturedCall() {
  Driver &d = Driver::get();
  if (!d.ok() || !d.bind())
    return;
  if (state_->exec || state_->graph)
    d.api().cuStreamSynchronize(threadStream()); // a replay may still run
  if (state_->exec)
    d.api().cuGraphExecDestroy(state_->exec);
  if (state_->graph)
    d.api().cuGraphDestroy(state_->graph);
}

Status CapturedCall::replay(std::vector<Tensor> &hostOutputs,
                            const std::vector<Tensor> &fed) {
  Driver *d = usableDriver();
  if (!d)
    return Status(StatusCode::Unavailable, Driver::get().takeError());
  if (fed.size() != state_->fed.size())
    return Status(StatusCode::InvalidArgument,
                  "a captured call takes " +
                      std::to_string(state_->fed.size()) + " fed inputs, not " +
                      std::to_string(fed.size()));
  for (size_t i = 0; i < fed.size(); ++i) {
    const Tensor &to = state_->inputs[state_->fed[i].input];
    if (fed[i].device() != Device::CPU || fed[i].dtype() != to.dtype() ||
        fed[i].numBytes() != to.numBytes())
      return Status(StatusCode::InvalidArgument,
                    "fed input " + std::to_string(i) +
                        " of a captured call differs from the captured one "
                        "in place, type or size");
    // The previous replay has finished (it synchronised).
    std::memcpy(state_->fed[i].pinned, fed[i].data(), fed[i].numBytes());
  }
  d->takeError();
  void *stream = threadStream();
  ++graphReplays;
  if (!d->check(d->api().cuGraphLaunch(state_->exec, stream),
                "replaying a captured call (cuGraphLaunch)") ||
      !d->check(d->api().cuStreamSynchronize(stream),
                "running a captured call (cuStreamSynchronize)"))
    return Status(StatusCode::Internal, d->takeError());
  hostOutputs.clear();
  for (const State::HostResult &r : state_->results) {
    Tensor t = Tensor::zeros(r.dtype, r.shape);
    if (r.pinned)
      std::memcpy(t.data(), r.pinned, t.numBytes());
    hostOutputs.push_back(t);
  }
  return Status();
}

std::unique_ptr<CapturedCall>
captureCall(const Module &module, const std::string &entry,
            const std::vector<Tensor> &inputs, const RunOptions &options,
            const std::vector<std::pair<size_t, size_t>> &feedback,
            size_t hostBytes, const std::vector<size_t> &fed) {
  Driver *d = usableDriver();
  const EntryPoint *e = module.find(entry);
  if (!d || !d->canCapture() || module.device() != Device::CUDA || !e) {
    Driver::get().takeError();
    return nullptr;
  }
  for (const Tensor &t : inputs)
    if (t.device() != Device::CUDA)
      return nullptr; // its staging would be replayed stale
  std::unique_ptr<CapturedCall> call(new CapturedCall());
  CapturedCall::State &c = *call->state_;
  c.inputs = inputs;
  // The graph's host copies go to pinned memory of its own, taken now:
  // allocating page-locked memory is not allowed while capturing.
  if (!c.staging.take(std::max<size_t>(hostBytes, 1)))
    return nullptr;
  c.staging.reset();
  for (size_t i : fed) {
    void *pinned = i < inputs.size()
                       ? c.fedStaging.take(std::max<size_t>(inputs[i].numBytes(), 1))
                       : nullptr;
    if (!pinned)
      return nullptr;
    std::memset(pinned, 0, inputs[i].numBytes()); // until the first replay
    c.fed.push_back({i, pinned});
  }
  ThreadState &s = threadState();
  void *stream = threadStream();
  s.staging.swap(c.staging);
  s.capturing = true;
  s.captureBroken = false;
  s.captured.clear();
  bool ok = d->check(d->api().cuStreamBeginCapture(
                         stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                     "cuStreamBeginCapture");
  // The fed inputs' values come first, from the graph's pinned memory.
  for (const CapturedCall::State::FedInput &f : c.fed)
    if (ok && inputs[f.input].numBytes())
      ok = d->check(d->api().cuMemcpyAsync(
                        reinterpret_cast<CUdeviceptr>(inputs[f.input].data()),
                        reinterpret_cast<CUdeviceptr>(f.pinned),
                        inputs[f.input].numBytes(), stream),
                    "cuMemcpyAsync");
  std::vector<Tensor> outputs;
  if (ok)
    ok = module.run(entry, inputs, outputs, options).ok();
  // The results that feed the next call go back into its inputs, and the
  // device results are freed, inside the graph: every buffer it allocates
  // it frees, so it can be launched again.
  for (auto [from, to] : feedback)
    if (ok && from < outputs.size() && to < inputs.size() &&
        outputs[from].device() == Device::CUDA &&
        outputs[from].numBytes() == inputs[to].numBytes())
      ok = d->check(d->api().cuMemcpyAsync(
                        reinterpret_cast<CUdeviceptr>(inputs[to].data()),
                        reinterpret_cast<CUdeviceptr>(outputs[from].data()),
                        inputs[to].numBytes(), stream),
                    "cuMemcpyAsync");
    else
      ok = false;
  // The host results in order; an empty one has no copy.
  std::vector<CapturedCall::State::HostResult> results;
  size_t pending = 0;
  for (const Tensor &t : outputs) {
    if (t.device() != Device::CPU)
      continue;
    if (t.numBytes() == 0)
      results.push_back({t.dtype(), t.shape(), nullptr});
    else if (pending < s.captured.size())
      results.push_back({t.dtype(), t.shape(), s.captured[pending++].pinned});
    else
      ok = false;
  }
  ok = ok && pending == s.captured.size();
  outputs.clear();
  CUgraph graph = nullptr;
  CUresult end = d->api().cuStreamEndCapture(stream, &graph);
  s.capturing = false;
  s.staging.swap(c.staging);
  ok = ok && end == CUDA_SUCCESS && graph && !s.captureBroken && !d->failed();
  c.graph = graph;
  if (ok)
    ok = d->api().cuGraphInstantiateWithFlags(&c.exec, graph, 0) ==
         CUDA_SUCCESS;
  d->takeError(); // a failed capture is not the caller's error
  if (!ok)
    return nullptr; // the destructor drops what was made
  c.results = std::move(results);
  ++capturedCalls;
  return call;
}

} // namespace convc::cuda

void convc::cudaGraphCounts(int64_t &captured, int64_t &replays) {
  captured = cuda::capturedCalls.exchange(0);
  replays = cuda::graphReplays.exchange(0);
}
