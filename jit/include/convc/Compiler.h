//===- Compiler.h - compile convc models from host code --------*- C++ -*-===//
//
// JIT use of convc: a few lines compile a model (MLIR, or ONNX) in-process
// and run it.
//
//   convc::Compiler compiler;                         // host CPU, disk cache
//   std::unique_ptr<convc::Module> model;
//   convc::Status s = compiler.compileFile("model.mlir", model);
//   s = model->run("main", inputs, outputs);
//
// Compiled libraries are cached on disk, keyed by a SHA-256 of the model
// text, the target (triple, CPU, features) and the options, so loading the
// same model again skips compilation. This header pulls in no MLIR or LLVM
// headers; linking the library brings the compiler (libMLIR, libLLVM).
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_COMPILER_H
#define CONVC_COMPILER_H

#include "convc/Runtime.h"

#include <memory>
#include <string>

namespace convc {

namespace detail {
struct ModelSource; // what a compile call was given (jit/Compiler.cpp)
/// The defaults below, as compiler/CompileOptions.h (the one place they are
/// written) has them.
int64_t defaultTimeTile();
std::string defaultGpuArch();
std::string defaultCudaPath();
} // namespace detail

struct CompilerOptions {
  std::string mcpu;  ///< LLVM CPU name; empty: the host
  std::string mattr; ///< LLVM features ("+avx2,-avx512f"); added to the host's
  int64_t vectorWidth = 0; ///< f32 lanes; 0: from the CPU features
  int64_t timeTile = detail::defaultTimeTile(); ///< time steps per work item
  /// Derive `<F>_init` and `<F>_step` from this full-sequence decoder
  /// function (incremental decoding); empty: none.
  std::string decodeStep;
  /// Where the model runs. CUDA: kernels for `gpuArch` from the CUDA toolkit
  /// at `cudaPath` (libdevice; ptxas and fatbinary when present, else PTX
  /// that the driver compiles); run() then copies inputs to the GPU and
  /// outputs back. Loading fails with StatusCode::Unavailable ("CUDA
  /// unavailable: ...") where no driver or GPU is present.
  Device device = Device::CPU;
  std::string gpuArch = detail::defaultGpuArch();   ///< default: H100/H200's
  std::string cudaPath = detail::defaultCudaPath(); ///< the toolkit's root
  /// Where compiled libraries are kept. Empty: $CONVC_CACHE_DIR, else
  /// $XDG_CACHE_HOME/convc, else ~/.cache/convc. "off": no cache (a temporary
  /// directory per compiler).
  std::string cacheDir;
};

class Compiler {
public:
  explicit Compiler(CompilerOptions options = {});
  ~Compiler();
  Compiler(const Compiler &) = delete;
  Compiler &operator=(const Compiler &) = delete;

  /// Compiles MLIR text (convc dialect + upstream ops) and loads it.
  /// `sourceName` names the text in error messages.
  Status compile(const std::string &mlir, std::unique_ptr<Module> &module,
                 const std::string &sourceName = "<source>");
  /// Compiles an ONNX model (a serialized ModelProto, as read from a .onnx
  /// file) and loads it; Unavailable when convc was built without libonnx.
  Status compileONNX(const std::string &bytes, std::unique_ptr<Module> &module,
                     const std::string &sourceName = "<onnx>");
  /// Reads `path` and compiles it: ONNX for a .onnx file, else MLIR.
  Status compileFile(const std::string &path, std::unique_ptr<Module> &module);
  /// Compiles a Seq2Seq exported as encoder.onnx (source tokens first) and a
  /// full-sequence decoder.onnx (previous tokens, then the encoder outputs
  /// -> logits) into one module: `encode`, `decode`, and `decode_init` /
  /// `decode_step` when the decoder raises to convc ops with step forms
  /// (docs/onnx.md). Run it with convc::generate (convc/Generate.h).
  Status compileONNXSeq2Seq(const std::string &encoderBytes,
                            const std::string &decoderBytes,
                            std::unique_ptr<Module> &module,
                            const std::string &encoderName = "<encoder>",
                            const std::string &decoderName = "<decoder>");
  /// Reads encoder.onnx and decoder.onnx and compiles them as above.
  Status compileSeq2SeqFiles(const std::string &encoderPath,
                             const std::string &decoderPath,
                             std::unique_ptr<Module> &module);

  /// Whether the last compile was served from the cache.
  bool lastWasCached() const;
  /// Seconds the last compile took (cache look-up and loading included).
  double lastSeconds() const;
  /// The shared library the last compile produced or found (an absolute
  /// path).
  const std::string &lastLibraryPath() const;
  /// Whether the libraries outlive this compiler: false with the cache off,
  /// where they live in its temporary directory until it is destroyed.
  bool keepsLibraries() const;

private:
  Status compileSource(const detail::ModelSource &source,
                       std::unique_ptr<Module> &module);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace convc

#endif // CONVC_COMPILER_H
