//===- Compiler.cpp - in-process compilation with an on-disk cache --------===//

#include "convc/Compiler.h"

#include "compiler/CompileSession.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace convc {

int64_t detail::defaultTimeTile() { return kDefaultTimeTile; }
std::string detail::defaultGpuArch() { return kDefaultCudaArch; }
std::string detail::defaultCudaPath() { return kDefaultCudaPath; }

struct Compiler::Impl {
  std::mutex mutex; // one compile at a time per Compiler
  CompilerOptions options;
  std::string cacheDir;
  llvm::SmallString<128> tempDir; // when the cache is off
  bool lastCached = false;
  double lastSeconds = 0.0;
  std::string lastLibrary;
};

/// Identifies this build of the compiler: the path, size and modification
/// time of the binary holding this code. A rebuilt convc (a code generation
/// fix under the same version number) so never reuses stale libraries.
static const std::string &compilerIdentity() {
  static const std::string identity = [] {
    Dl_info info;
    std::string id = std::string(CONVC_VERSION) + "/" + CONVC_LLVM_VERSION;
    if (dladdr(reinterpret_cast<void *>(&compilerIdentity), &info) &&
        info.dli_fname) {
      llvm::sys::fs::file_status status;
      if (!llvm::sys::fs::status(info.dli_fname, status))
        id += std::string("/") + info.dli_fname + "/" +
              std::to_string(status.getSize()) + "/" +
              std::to_string(llvm::sys::toTimeT(
                  status.getLastModificationTime()));
    }
    return id;
  }();
  return identity;
}

static std::string defaultCacheDir() {
  if (const char *dir = std::getenv("CONVC_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/convc";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/convc";
  return "";
}

Compiler::Compiler(CompilerOptions options) : impl_(new Impl) {
  impl_->options = std::move(options);
  std::string dir = impl_->options.cacheDir;
  if (dir.empty())
    dir = defaultCacheDir();
  if (dir.empty() || dir == "off") {
    llvm::sys::fs::createUniqueDirectory("convc-jit", impl_->tempDir);
    dir = std::string(impl_->tempDir);
  }
  // Library paths stay valid after the host changes its directory.
  llvm::SmallString<128> absolute(dir);
  if (!llvm::sys::fs::make_absolute(absolute))
    dir = std::string(absolute);
  impl_->cacheDir = dir;
}

bool Compiler::keepsLibraries() const { return impl_->tempDir.empty(); }

Compiler::~Compiler() {
  if (!impl_->tempDir.empty())
    llvm::sys::fs::remove_directories(impl_->tempDir);
}

bool Compiler::lastWasCached() const { return impl_->lastCached; }
double Compiler::lastSeconds() const { return impl_->lastSeconds; }
const std::string &Compiler::lastLibraryPath() const {
  return impl_->lastLibrary;
}

/// What a compile call was given: MLIR text, an ONNX ModelProto, or two of
/// them (a Seq2Seq's encoder and full-sequence decoder).
struct detail::ModelSource : ModelText {};
using Kind = ModelText::Kind;

/// The session's options for `source` under the host's options.
static CompileOptions compileOptions(const CompilerOptions &o,
                                     const ModelText &source) {
  CompileOptions options;
  options.input = source.name;
  // The package rule goes by the decoder's name: never empty for one.
  if (source.kind == Kind::ONNXSeq2Seq)
    options.decoder =
        source.decoderName.empty() ? "<decoder>" : source.decoderName;
  options.target = o.device == Device::CUDA ? Target::CUDA : Target::CPU;
  options.mcpu = o.mcpu;
  options.mattr = o.mattr;
  options.vectorWidth = o.vectorWidth;
  options.timeTile = o.timeTile;
  options.decodeStep = o.decodeStep;
  options.gpuArch = o.gpuArch;
  options.cudaPath = o.cudaPath;
  options.quiet = true;
  return options;
}

/// Parses, lowers and links `source` into `library`.
static Status buildLibrary(CompileSession &session, const ModelText &source,
                           const std::string &library) {
  if (Status status = session.loadSource(source); !status.ok())
    return status;
  if (Status status = session.runPipeline(Stage::LLVM); !status.ok())
    return status;
  return session.emitBinary(Stage::Lib, library, library + ".o");
}

static const std::string kNoText;

Status Compiler::compileFile(const std::string &path,
                             std::unique_ptr<Module> &module) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return Status(StatusCode::NotFound,
                  "cannot read '" + path + "': " + buffer.getError().message());
  std::string text = (*buffer)->getBuffer().str();
  if (isONNXModelFile(path, text))
    return compileSource({{Kind::ONNX, text, path, kNoText, "", path}}, module);
  return compile(text, module, path);
}

Status Compiler::compile(const std::string &mlir,
                         std::unique_ptr<Module> &module,
                         const std::string &sourceName) {
  return compileSource({{Kind::MLIR, mlir, sourceName, kNoText, ""}}, module);
}

Status Compiler::compileONNX(const std::string &bytes,
                             std::unique_ptr<Module> &module,
                             const std::string &sourceName) {
  return compileSource({{Kind::ONNX, bytes, sourceName, kNoText, ""}}, module);
}

Status Compiler::compileONNXSeq2Seq(const std::string &encoderBytes,
                                    const std::string &decoderBytes,
                                    std::unique_ptr<Module> &module,
                                    const std::string &encoderName,
                                    const std::string &decoderName) {
  return compileSource({{Kind::ONNXSeq2Seq, encoderBytes, encoderName,
                        decoderBytes, decoderName}},
                       module);
}

Status Compiler::compileSeq2SeqFiles(const std::string &encoderPath,
                                     const std::string &decoderPath,
                                     std::unique_ptr<Module> &module) {
  if (!isONNXModelFile(encoderPath))
    return Status(StatusCode::InvalidArgument,
                  "a decoder needs the encoder .onnx as the model, not '" +
                      encoderPath + "'");
  std::string texts[2];
  for (int i = 0; i < 2; ++i) {
    const std::string &path = i ? decoderPath : encoderPath;
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return Status(StatusCode::NotFound,
                    "cannot read '" + path +
                        "': " + buffer.getError().message());
    texts[i] = (*buffer)->getBuffer().str();
  }
  return compileSource({{Kind::ONNXSeq2Seq, texts[0], encoderPath, texts[1],
                         decoderPath, encoderPath, decoderPath}},
                       module);
}

Status Compiler::compileSource(const detail::ModelSource &source,
                               std::unique_ptr<Module> &module) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  module.reset();
  auto start = std::chrono::steady_clock::now();
  const CompilerOptions &o = impl_->options;
  CompileSession session(compileOptions(o, source),
                         CompileSession::Mode::InProcess);
  if (Status status = session.configure(); !status.ok())
    return status;
  const NativeTarget &target = session.target().native;
  const CpuTargetOptions &cpu = session.target().lowering;
  const CudaTargetOptions &cuda = session.target().cuda;

  // The key covers everything the library depends on.
  llvm::SHA256 sha;
  for (const std::string &part :
       {compilerIdentity(), target.triple, target.cpu, target.features,
        std::to_string(cpu.vectorWidth), std::to_string(cpu.timeTile),
        std::string(cpu.useBlas ? "blas" : "noblas"), cpu.decodeStep,
        std::string(deviceName(o.device)), cuda.arch, cuda.format,
        std::to_string(int(source.kind)), source.text, source.decoderText,
        CompileSession::externalDataDigest(source)}) {
    sha.update(part);
    sha.update(llvm::StringRef("\0", 1));
  }
  std::string key = llvm::toHex(sha.final(), /*LowerCase=*/true).substr(0, 32);
  std::string library = impl_->cacheDir + "/" + key + ".so";

  impl_->lastCached = llvm::sys::fs::exists(library);
  if (impl_->lastCached && !Module::load(library, module).ok()) {
    // A damaged or foreign file under the key: build it again.
    llvm::sys::fs::remove(library);
    impl_->lastCached = false;
  }
  if (!impl_->lastCached) {
    if (std::error_code ec = llvm::sys::fs::create_directories(impl_->cacheDir))
      return Status(StatusCode::Internal, "cannot create the cache directory '" +
                                              impl_->cacheDir +
                                              "': " + ec.message());
    // Build beside the final name, then rename: a concurrent or interrupted
    // compile never leaves a half-written library under the key.
    llvm::SmallString<128> temp;
    llvm::sys::fs::createUniquePath(library + ".%%%%%%.tmp", temp, false);
    Status status = buildLibrary(session, source, std::string(temp));
    if (!status.ok()) {
      llvm::sys::fs::remove(temp);
      return status;
    }
    if (std::error_code ec = llvm::sys::fs::rename(temp, library))
      return Status(StatusCode::Internal,
                    "cannot move the library into the cache: " + ec.message());
  }
  Status status = module ? Status() : Module::load(library, module);
  impl_->lastLibrary = library;
  impl_->lastSeconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return status;
}

} // namespace convc
