//===- Compiler.cpp - in-process compilation with an on-disk cache --------===//

#include "convc/Compiler.h"

#include "dialect/ConvcDialect.h"
#include "lowering/Passes.h"
#include "lowering/llvm/EmitLibrary.h"
#include "passes/Passes.h"
#ifdef CONVC_HAVE_ONNX
#include "frontends/onnx/ONNXImporter.h"
#endif

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

using namespace mlir;

namespace convc {

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
  impl_->cacheDir = dir;
}

Compiler::~Compiler() {
  if (!impl_->tempDir.empty())
    llvm::sys::fs::remove_directories(impl_->tempDir);
}

bool Compiler::lastWasCached() const { return impl_->lastCached; }
double Compiler::lastSeconds() const { return impl_->lastSeconds; }
const std::string &Compiler::lastLibraryPath() const {
  return impl_->lastLibrary;
}

Status Compiler::compileFile(const std::string &path,
                             std::unique_ptr<Module> &module) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return Status(StatusCode::NotFound, "cannot read '" + path +
                                            "': " + buffer.getError().message());
  std::string text = (*buffer)->getBuffer().str();
  if (llvm::StringRef(path).ends_with(".onnx"))
    return compileONNX(text, module, path);
  return compile(text, module, path);
}

/// How a model is given: MLIR text, an ONNX ModelProto, or two of them (a
/// Seq2Seq's encoder and full-sequence decoder).
enum class SourceKind { MLIR, ONNX, ONNXSeq2Seq };

struct detail::ModelSource {
  SourceKind kind;
  const std::string &text;
  std::string name;
  const std::string &decoderText; // ONNXSeq2Seq
  std::string decoderName;
};

/// Parses, lowers and links `source` into `library`.
static Status buildLibrary(const detail::ModelSource &source,
                           const NativeTarget &target,
                           const CpuTargetOptions &cpu,
                           const std::string &library) {
  const std::string &mlir = source.text;
  const std::string &sourceName = source.name;
  SourceKind kind = source.kind;
  static std::once_flag passesRegistered;
  std::call_once(passesRegistered, [] {
    registerAllPasses();
    registerConvcPasses();
    registerConvcLoweringPasses();
  });
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry); // the CUDA target's device code
  registry.insert<ConvcDialect>();
  MLIRContext context(registry);
  context.disableMultithreading(); // the host may call from its own threads

  // Collect diagnostics, with their locations, as the error message.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(diagnostics);
    if (auto loc = dyn_cast<FileLineColLoc>(diag.getLocation()))
      os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
         << loc.getColumn();
    else
      os << diag.getLocation();
    os << ": " << diag << "\n";
    return success();
  });
  auto fail = [&](const std::string &what) {
    return Status(StatusCode::InvalidArgument,
                  sourceName + ": " + what +
                      (diagnostics.empty() ? "" : ":\n" + diagnostics));
  };

  OwningOpRef<ModuleOp> module;
  if (kind != SourceKind::MLIR) {
#ifdef CONVC_HAVE_ONNX
    module = kind == SourceKind::ONNX
                 ? importONNXBytes(&context, mlir.data(), mlir.size(),
                                   sourceName)
                 : importONNXSeq2SeqBytes(&context, mlir, sourceName,
                                          source.decoderText,
                                          source.decoderName);
#else
    return Status(StatusCode::Unavailable,
                  sourceName + ": ONNX import is unavailable: this convc was "
                               "built without libonnx (apt-get install "
                               "libonnx-dev)");
#endif
  } else {
    module = parseSourceString<ModuleOp>(mlir, ParserConfig(&context),
                                         sourceName);
  }
  if (!module)
    return fail("the model does not parse or verify");
  PassManager pm(&context);
  if (failed(buildPipelineToStage(pm, Stage::Import, Stage::LLVM, cpu)) ||
      failed(pm.run(*module)))
    return fail("compilation failed");

  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      target.createTargetMachine(error);
  if (!machine)
    return Status(StatusCode::Unavailable,
                  "no code generator for " + target.triple + ": " + error);
  llvm::LLVMContext llvmContext;
  auto llvmModule =
      translateToOptimizedLLVMIR(*module, llvmContext, *machine, error);
  if (!llvmModule)
    return fail(error);
  std::string object = library + ".o";
  bool ok = emitObjectFile(*llvmModule, *machine, object, error) &&
            linkSharedLibrary(object, library, error);
  llvm::sys::fs::remove(object);
  if (!ok)
    return Status(StatusCode::Internal, sourceName + ": " + error);
  return Status();
}

static const std::string kNoText;

Status Compiler::compile(const std::string &mlir,
                         std::unique_ptr<Module> &module,
                         const std::string &sourceName) {
  return compileSource({SourceKind::MLIR, mlir, sourceName, kNoText, ""},
                       module);
}

Status Compiler::compileONNX(const std::string &bytes,
                             std::unique_ptr<Module> &module,
                             const std::string &sourceName) {
  return compileSource({SourceKind::ONNX, bytes, sourceName, kNoText, ""},
                       module);
}

Status Compiler::compileONNXSeq2Seq(const std::string &encoderBytes,
                                    const std::string &decoderBytes,
                                    std::unique_ptr<Module> &module,
                                    const std::string &encoderName,
                                    const std::string &decoderName) {
  return compileSource({SourceKind::ONNXSeq2Seq, encoderBytes, encoderName,
                        decoderBytes, decoderName},
                       module);
}

Status Compiler::compileSeq2SeqFiles(const std::string &encoderPath,
                                     const std::string &decoderPath,
                                     std::unique_ptr<Module> &module) {
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
  return compileONNXSeq2Seq(texts[0], texts[1], module, encoderPath,
                            decoderPath);
}

Status Compiler::compileSource(const detail::ModelSource &source,
                               std::unique_ptr<Module> &module) {
  SourceKind kind = source.kind;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  module.reset();
  auto start = std::chrono::steady_clock::now();
  const CompilerOptions &o = impl_->options;
  NativeTarget target = NativeTarget::host(o.mcpu, o.mattr);
  CpuTargetOptions cpu;
  cpu.vectorWidth = o.vectorWidth > 0 ? o.vectorWidth : target.vectorWidth();
  cpu.timeTile = o.timeTile;
  cpu.decodeStep = o.decodeStep;
  // A package gets an incremental decoder where its decoder has a step form.
  if (kind == SourceKind::ONNXSeq2Seq && cpu.decodeStep.empty()) {
    cpu.decodeStep = "decode";
    cpu.decodeStepIfPossible = true;
  }
  if (o.device == Device::CUDA) {
    cpu.target = Target::CUDA;
    cpu.gpuArch = o.gpuArch;
    cpu.cudaPath = o.cudaPath;
    std::string error;
    if (!configureCudaTarget(cpu, /*binary=*/"", error))
      return Status(findLibdevice(o.cudaPath).empty()
                        ? StatusCode::Unavailable
                        : StatusCode::InvalidArgument,
                    error);
  }

  // The key covers everything the library depends on.
  llvm::SHA256 sha;
  for (const std::string &part :
       {compilerIdentity(), target.triple, target.cpu, target.features,
        std::to_string(cpu.vectorWidth), std::to_string(cpu.timeTile),
        std::string(cpu.useBlas ? "blas" : "noblas"), cpu.decodeStep,
        std::string(deviceName(o.device)), cpu.gpuArch, cpu.gpuFormat,
        std::to_string(int(kind)), source.text, source.decoderText}) {
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
    Status status = buildLibrary(source, target, cpu, std::string(temp));
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
