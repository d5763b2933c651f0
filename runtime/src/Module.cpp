//===- Module.cpp - loading and calling compiled convc modules ------------===//
//
// A module's entry point `f` is called through the wrapper the compiler adds,
//
//   void convc_entry_f(void **args)   args[0] = Results *, args[1 + i] =
//                                     Descriptor * of input i
//
// around MLIR's `_mlir_ciface_f`. Each memref descriptor is {allocated,
// aligned, offset, sizes[rank], strides[rank]}, all 8-byte words; Results
// packs one descriptor per result.
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include "cuda/DeviceCall.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace convc {

const char *deviceName(Device device) {
  return device == Device::CUDA ? "cuda" : "cpu";
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F64:
    return "f64";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::I8:
    return "i8";
  case DType::U8:
    return "u8";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 0;
}

bool parseDType(const std::string &name, DType &dtype) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I32,
                  DType::I64, DType::I8, DType::U8, DType::Bool})
    if (name == dtypeName(d)) {
      dtype = d;
      return true;
    }
  return false;
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape_)
    n *= d;
  return n;
}

bool checkedNumBytes(DType dtype, const std::vector<int64_t> &shape,
                     size_t &bytes) {
  uint64_t n = dtypeSize(dtype);
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > (uint64_t(1) << 48) / uint64_t(d)))
      return false; // negative, or beyond any real allocation
    n *= uint64_t(d);
  }
  bytes = n;
  return true;
}

Tensor Tensor::zeros(DType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  size_t bytes;
  if (!checkedNumBytes(dtype, t.shape_, bytes))
    return t; // no data: rejected by every consumer
  bytes = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void *data = std::aligned_alloc(64, bytes);
  if (!data)
    return t;
  std::memset(data, 0, bytes);
  t.data_ = data;
  t.owner_ = std::shared_ptr<void>(data, std::free);
  return t;
}

Tensor convertTensor(const Tensor &t, DType dtype) {
  Tensor out = Tensor::zeros(dtype, t.shape());
  if (!out.data() || !t.data())
    return Tensor::borrow(dtype, t.shape(), nullptr);
  int64_t n = t.numElements();
  if (t.dtype() == dtype) {
    std::memcpy(out.data(), t.data(), t.numBytes());
    return out;
  }
  auto widenBf16 = [](uint16_t bits) {
    uint32_t word = uint32_t(bits) << 16;
    float v;
    std::memcpy(&v, &word, 4);
    return v;
  };
  auto narrowBf16 = [](float v) -> uint16_t {
    uint32_t word;
    std::memcpy(&word, &v, 4);
    if (std::isnan(v))
      return uint16_t((word >> 16) | 0x40); // quiet NaN
    word += 0x7FFFu + ((word >> 16) & 1u);   // round to nearest even
    return uint16_t(word >> 16);
  };
  const float *f32In = t.data<float>();
  const uint16_t *halfIn = t.data<uint16_t>();
  float *f32Out = out.data<float>();
  uint16_t *halfOut = out.data<uint16_t>();
  if (t.dtype() == DType::F32 && dtype == DType::F16) {
    for (int64_t i = 0; i < n; ++i) {
      _Float16 h = static_cast<_Float16>(f32In[i]);
      std::memcpy(&halfOut[i], &h, 2);
    }
  } else if (t.dtype() == DType::F32 && dtype == DType::BF16) {
    for (int64_t i = 0; i < n; ++i)
      halfOut[i] = narrowBf16(f32In[i]);
  } else if (t.dtype() == DType::F16 && dtype == DType::F32) {
    for (int64_t i = 0; i < n; ++i) {
      _Float16 h;
      std::memcpy(&h, &halfIn[i], 2);
      f32Out[i] = static_cast<float>(h);
    }
  } else if (t.dtype() == DType::BF16 && dtype == DType::F32) {
    for (int64_t i = 0; i < n; ++i)
      f32Out[i] = widenBf16(halfIn[i]);
  } else {
    return Tensor::borrow(dtype, t.shape(), nullptr);
  }
  return out;
}

Tensor Tensor::borrow(DType dtype, std::vector<int64_t> shape, void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::adopt(DType dtype, std::vector<int64_t> shape, void *data,
                     std::shared_ptr<void> owner) {
  Tensor t = borrow(dtype, std::move(shape), data);
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::borrowDevice(DType dtype, std::vector<int64_t> shape,
                            void *deviceData) {
  Tensor t = borrow(dtype, std::move(shape), deviceData);
  t.device_ = Device::CUDA;
  return t;
}

Tensor Tensor::adoptDevice(DType dtype, std::vector<int64_t> shape,
                           void *deviceData, std::shared_ptr<void> owner) {
  Tensor t = adopt(dtype, std::move(shape), deviceData, std::move(owner));
  t.device_ = Device::CUDA;
  return t;
}

std::string TensorSpec::describe() const {
  std::string text = name + ": " + dtypeName(dtype) + "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") + dims[i];
  return text + "]";
}

static std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Undoes the table's percent-encoding of a name (version 2); false on a
/// malformed escape.
static bool decodeName(const std::string &field, std::string &name) {
  name.clear();
  if (field == "%")
    return true; // the empty name
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '%') {
      name.push_back(field[i]);
      continue;
    }
    if (i + 2 >= field.size() || !std::isxdigit((unsigned char)field[i + 1]) ||
        !std::isxdigit((unsigned char)field[i + 2]))
      return false;
    name.push_back(char(std::stoi(field.substr(i + 1, 2), nullptr, 16)));
    i += 2;
  }
  return true;
}

/// Parses the table written by convc-export-entry-points. Version 1 (before
/// names were encoded) is read as it was written.
static bool parseSignature(const char *text, std::vector<EntryPoint> &entries,
                           Device &device, std::string &error) {
  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line) ||
      (line != "convc-signature 1" && line != "convc-signature 2")) {
    error = "unknown signature table version ('" + line + "')";
    return false;
  }
  const bool encoded = line == "convc-signature 2";
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string kind, field, name, dtype, dims;
    words >> kind >> field;
    if (!encoded || kind == "target")
      name = field;
    else if (!decodeName(field, name)) {
      error = "malformed name '" + field + "' in the signature";
      return false;
    }
    if (kind == "target") {
      if (name != "cpu" && name != "cuda") {
        error = "the module targets '" + name +
                "', which this runtime does not know";
        return false;
      }
      device = name == "cuda" ? Device::CUDA : Device::CPU;
      continue;
    }
    if (kind == "entry") {
      entries.push_back({name, {}, {}});
      continue;
    }
    if ((kind != "input" && kind != "output") || entries.empty() ||
        !(words >> dtype)) {
      error = "malformed signature line '" + line + "'";
      return false;
    }
    words >> dims; // empty for rank 0
    TensorSpec spec;
    spec.name = name;
    if (!parseDType(dtype, spec.dtype)) {
      error = "unknown dtype '" + dtype + "' in the signature";
      return false;
    }
    std::istringstream parts(dims);
    std::string dim;
    while (std::getline(parts, dim, ','))
      spec.dims.push_back(dim);
    (kind == "input" ? entries.back().inputs : entries.back().outputs)
        .push_back(spec);
  }
  return true;
}

std::unique_ptr<Module> Module::load(const std::string &path,
                                     std::string &error) {
  std::unique_ptr<Module> module;
  Status status = load(path, module);
  if (!status.ok())
    error = status.message();
  return module;
}

/// Compiled modules call the runtime (convc_parallel_for, the check
/// records) by name, so its symbols must be global. They are when a program
/// links the runtime, not when a host loads it with RTLD_LOCAL (Python
/// extension modules are): promote this library, once.
static void makeRuntimeSymbolsGlobal() {
  static bool done = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&makeRuntimeSymbolsGlobal), &info) &&
        info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    return true;
  }();
  (void)done;
}

/// Whether `path` is a whole 64-bit ELF file: every segment the loader maps
/// lies inside it. dlopen of a cut-short library (an interrupted copy, a
/// truncated cache entry) maps pages past its end, and the first touch of
/// one kills the process with SIGBUS instead of failing.
static bool wholeElfFile(const std::string &path, std::string &why) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return true; // dlopen says why it cannot open it
  uint64_t size = uint64_t(in.tellg());
  Elf64_Ehdr header;
  in.seekg(0);
  if (!in.read(reinterpret_cast<char *>(&header), sizeof(header)) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64) {
    why = "not a 64-bit ELF shared library";
    return false;
  }
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    in.seekg(header.e_phoff + uint64_t(i) * header.e_phentsize);
    if (!in.read(reinterpret_cast<char *>(&segment), sizeof(segment)) ||
        (segment.p_type == PT_LOAD &&
         (segment.p_offset > size ||
          segment.p_filesz > size - segment.p_offset))) {
      why = "the file is cut short (" + std::to_string(size) +
            " bytes; its segments need more): recompile it";
      return false;
    }
  }
  return true;
}

/// dlopen of `path` as the file it names now. dlopen returns the library
/// already loaded under the same name, so a module replaced at its path (a
/// recompile while the old one is still loaded) would run the old code:
/// the file is opened through a link of a name of its own, and the loader
/// still shares one that is the same file (it compares device and inode).
static void *openLibrary(const std::string &path, std::string &why) {
  if (!wholeElfFile(path, why))
    return nullptr;
  // A path without a slash would make dlopen search the library path.
  std::string target = path.find('/') == std::string::npos ? "./" + path : path;
  char absolute[PATH_MAX];
  const char *tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/convc-XXXXXX";
  void *handle = nullptr;
  if (realpath(target.c_str(), absolute) && mkdtemp(dir.data())) {
    std::string link = dir + "/module.so";
    if (symlink(absolute, link.c_str()) == 0) {
      handle = dlopen(link.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        // The loader's message names the link; the user knows the path.
        why = dlerror();
        for (size_t at; (at = why.find(link)) != std::string::npos;)
          why.replace(at, link.size(), path);
      }
      unlink(link.c_str());
    }
    rmdir(dir.c_str());
    if (handle || !why.empty())
      return handle;
  }
  handle = dlopen(target.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *text = dlerror();
    why = text ? text : "unknown error";
  }
  return handle;
}

Status Module::load(const std::string &path, std::unique_ptr<Module> &result) {
  makeRuntimeSymbolsGlobal();
  std::string error;
  void *handle = openLibrary(path, error);
  if (!handle) {
    bool missing = !std::ifstream(path).good();
    return Status(missing ? StatusCode::NotFound : StatusCode::LoadFailed,
                  "cannot load compiled module '" + path + "': " + error);
  }
  error.clear();
  std::unique_ptr<Module> module(new Module());
  module->handle_ = handle;
  auto *table = static_cast<const char *>(dlsym(handle, "convc_signature"));
  if (!table) {
    return Status(StatusCode::LoadFailed,
                  "'" + path + "' is not a convc module (no convc_signature)");
  }
  if (!parseSignature(table, module->entries_, module->device_, error))
    return Status(StatusCode::LoadFailed, "'" + path + "': " + error);
  if (module->device_ == Device::CUDA) {
    // The module's constructor has tried to load its device code already.
    std::string cudaError = detail::takeCudaError();
    Status cuda = cudaStatus();
    if (!cuda.ok())
      return Status(StatusCode::Unavailable,
                    "'" + path + "' was compiled for CUDA (--target=cuda): " +
                        cuda.message());
    if (!cudaError.empty())
      return Status(StatusCode::LoadFailed,
                    "'" + path + "': cannot load its GPU code on " +
                        cudaDeviceDescription() + ": " + cudaError +
                        " (compiled for another --gpu-arch?)");
  }
  // Projections call single-threaded sgemm from inside parallel loops: the
  // runtime's pool owns the cores, OpenBLAS must not start threads of its own.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(
          dlsym(handle, "openblas_set_num_threads")))
    fn(1);
  for (const EntryPoint &entry : module->entries_) {
    std::string symbol = "convc_entry_" + entry.name;
    void *fn = dlsym(handle, symbol.c_str());
    if (!fn)
      return Status(StatusCode::LoadFailed,
                    "'" + path + "' lacks the entry point " + symbol);
    module->functions_.push_back(fn);
  }
  result = std::move(module);
  return Status();
}

Module::~Module() {
  if (handle_)
    dlclose(handle_);
}

const EntryPoint *Module::find(const std::string &name) const {
  for (const EntryPoint &entry : entries_)
    if (entry.name == name)
      return &entry;
  return nullptr;
}

namespace {

/// Checks one tensor against its spec, binding symbolic sizes.
bool checkTensor(const TensorSpec &spec, const Tensor &tensor,
                 std::map<std::string, int64_t> &symbols,
                 std::map<std::string, std::string> &boundBy,
                 std::string &error) {
  // Only the error paths describe the spec (run() checks on every call).
  auto expected = [&] { return spec.describe(); };
  if (tensor.dtype() != spec.dtype) {
    error = "input '" + spec.name + "': expected dtype " +
            dtypeName(spec.dtype) + ", given " + dtypeName(tensor.dtype()) +
            " (" + expected() + ")";
    return false;
  }
  const std::vector<int64_t> &shape = tensor.shape();
  if (shape.size() != spec.dims.size()) {
    error = "input '" + spec.name + "': expected rank " +
            std::to_string(spec.dims.size()) + " " + expected() + ", given " +
            formatShape(shape);
    return false;
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string &dim = spec.dims[i];
    bool symbolic = !dim.empty() && !std::isdigit(static_cast<unsigned char>(dim[0]));
    if (!symbolic) {
      char *end = nullptr;
      long long size = std::strtoll(dim.c_str(), &end, 10);
      if (*end != '\0' || shape[i] != size) {
        error = "input '" + spec.name + "': expected shape " + expected() +
                ", given " + formatShape(shape) + " (dimension " +
                std::to_string(i) + " must be " + dim + ")";
        return false;
      }
      continue;
    }
    if (shape[i] < 1) {
      error = "input '" + spec.name + "': dimension " + std::to_string(i) +
              " is " + std::to_string(shape[i]) +
              "; sizes must be at least 1 (" + expected() + ")";
      return false;
    }
    auto [it, inserted] = symbols.emplace(dim, shape[i]);
    if (inserted) {
      boundBy[dim] = spec.name;
    } else if (it->second != shape[i]) {
      error = "input '" + spec.name + "': dimension " + std::to_string(i) +
              " (" + dim + ") is " + std::to_string(shape[i]) + " but input '" +
              boundBy[dim] + "' set " + dim + " = " +
              std::to_string(it->second) + " (" + expected() + ")";
      return false;
    }
  }
  // After the shape checks: the buffer then holds what the shape says.
  // A bool is one byte 0 or 1; compiled code reads its lowest bit, so a
  // byte 2 (bytes viewed as bool) would be false where NumPy says true.
  if (tensor.dtype() == DType::Bool && tensor.device() != Device::CUDA &&
      tensor.data()) {
    const auto *bytes = static_cast<const unsigned char *>(tensor.data());
    for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
      if (bytes[i] > 1) {
        error = "input '" + spec.name + "': bool element " + std::to_string(i) +
                " is the byte " + std::to_string(bytes[i]) +
                " (bools must be 0 or 1)";
        return false;
      }
  }
  return true;
}

using Word = int64_t;

/// A memref descriptor for a contiguous row-major tensor.
std::vector<Word> describe(const Tensor &t) {
  size_t rank = t.shape().size();
  std::vector<Word> d(3 + 2 * rank);
  d[0] = d[1] = reinterpret_cast<Word>(t.data());
  d[2] = 0;
  Word stride = 1;
  for (size_t i = rank; i-- > 0;) {
    d[3 + i] = t.shape()[i];
    d[3 + rank + i] = stride;
    stride *= t.shape()[i];
  }
  return d;
}

} // namespace

bool Module::run(const std::string &entryName,
                 const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs, std::string &error) const {
  Status status = run(entryName, inputs, outputs);
  if (!status.ok())
    error = status.message();
  return status.ok();
}

Status Module::run(const std::string &entryName,
                   const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs,
                   const RunOptions &options) const {
  const EntryPoint *entry = find(entryName);
  if (!entry) {
    std::string error =
        "unknown entry point '" + entryName + "' (the module has:";
    for (const EntryPoint &e : entries_)
      error += " " + e.name;
    return Status(StatusCode::NotFound, error + ")");
  }
  if (inputs.size() != entry->inputs.size())
    return Status(StatusCode::InvalidArgument,
                  "entry '" + entryName + "' takes " +
                      std::to_string(entry->inputs.size()) +
                      (entry->inputs.size() == 1 ? " input" : " inputs") +
                      ", given " + std::to_string(inputs.size()));
  std::map<std::string, int64_t> symbols;
  std::map<std::string, std::string> boundBy;
  std::string error;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].data() && inputs[i].numElements() > 0)
      return Status(StatusCode::InvalidArgument,
                    "input '" + entry->inputs[i].name + "' has no data");
    if (!checkTensor(entry->inputs[i], inputs[i], symbols, boundBy, error))
      return Status(StatusCode::InvalidArgument, error);
    if (inputs[i].device() == Device::CUDA && device_ != Device::CUDA)
      return Status(StatusCode::InvalidArgument,
                    "input '" + entry->inputs[i].name +
                        "' is a device tensor, but this module runs on the "
                        "CPU (copy it with cudaToHost, or compile with "
                        "--target=cuda)");
  }
  const bool onGpu = device_ == Device::CUDA;
  std::vector<bool> onDevice(entry->outputs.size());
  for (size_t i = 0; i < onDevice.size(); ++i)
    onDevice[i] = onGpu && options.outputDevice(i) == Device::CUDA;

  // convc_entry_<name>(args): args[0] -> results, args[1 + i] -> input i.
  std::vector<std::vector<Word>> descriptors;
  for (const Tensor &t : inputs)
    descriptors.push_back(describe(t));
  size_t resultWords = 0;
  for (const TensorSpec &out : entry->outputs)
    resultWords += 3 + 2 * out.dims.size();
  std::vector<Word> results(std::max<size_t>(resultWords, 1));
  std::vector<void *> args = {results.data()};
  for (auto &d : descriptors)
    args.push_back(d.data());
  // The pool's thread count is per calling thread: set it on this one.
  detail::setCallerThreads(threads_);
  using Entry = void (*)(void **);
  if (onGpu) {
    detail::takeCudaError(); // only this call's errors count
    std::vector<const void *> deviceInputs;
    for (const Tensor &t : inputs)
      if (t.device() == Device::CUDA)
        deviceInputs.push_back(t.data());
    cuda::beginCall(std::move(deviceInputs), onDevice);
  }
  detail::takeCheckError();
  reinterpret_cast<Entry>(functions_[&*entry - &entries_[0]])(args.data());
  // A failed check returned at once: the results are not set (and buffers
  // allocated before it are lost, the price of a refused call). A failed
  // per-element check let the entry point finish: its results are adopted
  // below, then dropped.
  bool continued = false;
  std::string checkError = detail::takeCheckError(&continued);
  bool returnedEarly = !checkError.empty() && !continued;
  std::string cudaError = onGpu ? cuda::endCall(returnedEarly) : "";
  if (returnedEarly) {
    outputs.clear();
    return Status(StatusCode::InvalidArgument,
                  "entry '" + entryName + "': " + checkError);
  }
  // The outputs may hold garbage after an error: free them (endCall freed
  // device ones) before reporting.
  auto freeResults = [&] {
    size_t at = 0;
    std::map<Word, bool> freed;
    for (const Tensor &t : inputs)
      freed[reinterpret_cast<Word>(t.data())] = true;
    for (size_t i = 0; i < entry->outputs.size(); ++i) {
      Word allocated = results[at];
      at += 3 + 2 * entry->outputs[i].dims.size();
      if (!freed[allocated] && !onDevice[i])
        std::free(reinterpret_cast<void *>(allocated));
      freed[allocated] = true;
    }
    outputs.clear();
  };
  if (!cudaError.empty()) {
    freeResults();
    return Status(StatusCode::Internal,
                  "CUDA error in entry '" + entryName + "': " + cudaError);
  }
  // A size the model computed below zero (a Conv kernel longer than its
  // padded input when the length is symbolic) is an invalid input, never
  // an output.
  for (size_t i = 0, at = 0; i < entry->outputs.size(); ++i) {
    size_t rank = entry->outputs[i].dims.size();
    for (size_t d = 0; d < rank; ++d)
      if (int64_t size = static_cast<int64_t>(results[at + 3 + d]); size < 0) {
        freeResults();
        return Status(StatusCode::InvalidArgument,
                      "entry '" + entryName + "': output '" +
                          entry->outputs[i].name + "' came out with size " +
                          std::to_string(size) + " in dimension " +
                          std::to_string(d) +
                          ": a size computed from the inputs went below "
                          "zero (a kernel longer than its padded input?)");
      }
    at += 3 + 2 * rank;
  }

  // Adopt the buffers the module allocated (malloc, or device memory with
  // device outputs); a result that is an input, or repeats an earlier
  // result, shares instead of double-freeing. (A CUDA module's results are
  // never its inputs: the runtime's output hook copied those.) Host results
  // whose bytes overlap an earlier one's (a graph returning a value and its
  // Identity) are copied: each output is the caller's to change in place.
  outputs.clear();
  std::vector<std::pair<const char *, const char *>> hostRanges;
  auto overlapsEarlier = [&](const char *begin, const char *end) {
    return begin != end && std::any_of(hostRanges.begin(), hostRanges.end(),
                                       [&](const auto &range) {
                                         return begin < range.second &&
                                                range.first < end;
                                       });
  };
  std::map<Word, std::shared_ptr<void>> owners;
  if (!onGpu)
    for (const Tensor &t : inputs)
      owners[reinterpret_cast<Word>(t.data())] = nullptr;
  size_t at = 0;
  for (size_t i = 0; i < entry->outputs.size(); ++i) {
    const TensorSpec &spec = entry->outputs[i];
    const bool device = onDevice[i];
    size_t rank = spec.dims.size();
    Word allocated = results[at], aligned = results[at + 1],
         offset = results[at + 2];
    std::vector<int64_t> shape(results.begin() + at + 3,
                               results.begin() + at + 3 + rank);
    at += 3 + 2 * rank;
    void *data = reinterpret_cast<char *>(aligned) +
                 offset * static_cast<Word>(dtypeSize(spec.dtype));
    auto found = owners.find(allocated);
    const char *begin = static_cast<const char *>(data);
    size_t bytes = dtypeSize(spec.dtype);
    for (int64_t size : shape)
      bytes *= static_cast<size_t>(size);
    const char *end = begin + bytes;
    if ((found != owners.end() && !found->second) ||
        (!device && found != owners.end() && overlapsEarlier(begin, end))) {
      // Aliases an input (copied, so the output outlives the caller's
      // buffer) or an earlier output.
      Tensor copy = Tensor::zeros(spec.dtype, shape);
      std::memcpy(copy.data(), data, copy.numBytes());
      outputs.push_back(copy);
      continue;
    }
    if (found == owners.end()) {
      void *buffer = reinterpret_cast<void *>(allocated);
      found = owners
                  .emplace(allocated, device
                                          ? std::shared_ptr<void>(
                                                buffer, cuda::releaseDevice)
                                          : std::shared_ptr<void>(buffer,
                                                                  std::free))
                  .first;
    }
    if (!device)
      hostRanges.emplace_back(begin, end);
    outputs.push_back(
        device
            ? Tensor::adoptDevice(spec.dtype, shape, data, found->second)
            : Tensor::adopt(spec.dtype, shape, data, found->second));
  }
  if (!checkError.empty()) {
    outputs.clear(); // frees them
    return Status(StatusCode::InvalidArgument,
                  "entry '" + entryName + "': " + checkError);
  }
  return Status();
}

void Module::setNumThreads(int threads) { threads_ = threads; }

} // namespace convc
