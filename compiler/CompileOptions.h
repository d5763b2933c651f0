//===- CompileOptions.h - what one compilation is asked to do --*- C++ -*-===//
//
// The options of one compilation, for both users of the compile session:
// the convc tool (`convc compile`, and the models `run`, `bench` and
// `generate` compile on the fly) and the in-process compiler
// (jit/include/convc/Compiler.h). Every default is written here, once: the
// command-line flags and convc::CompilerOptions take theirs from these.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_COMPILER_COMPILEOPTIONS_H
#define CONVC_COMPILER_COMPILEOPTIONS_H

#include "lowering/Passes.h" // Stage, Target

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace convc {

/// The CUDA architecture compiled for unless asked otherwise (H100/H200).
inline constexpr const char kDefaultCudaArch[] = "sm_90";
/// Where the CUDA toolkit (libdevice, ptxas, fatbinary) is looked for.
inline constexpr const char kDefaultCudaPath[] = "/usr/local/cuda";
/// Time steps per parallel work item.
inline constexpr int64_t kDefaultTimeTile = 128;

struct CompileOptions {
  /// The model: a .mlir file ("-": stdin) or a .onnx file. A model compiled
  /// from memory (CompileSession::loadSource) goes by its own name.
  std::string input;
  /// With an encoder .onnx as the input: the full-sequence decoder .onnx.
  /// The two become one Seq2Seq module (`encode`, `decode`, and the
  /// incremental decoder where it can be derived; see isPackage).
  std::string decoder;
  /// Where compile() writes. Empty: "-" (stdout) for the IR stages, the
  /// input's name with .so / .o in the working directory for lib / obj.
  std::string output;
  /// The stage to stop at and write.
  Stage emit = Stage::Lib;
  Target target = Target::CPU;
  /// LLVM CPU name and features (-mcpu / -mattr syntax, "+avx2,-avx512f");
  /// empty: the host's.
  std::string mcpu, mattr;
  /// f32 lanes per vector; 0: from the CPU features.
  int64_t vectorWidth = 0;
  int64_t timeTile = kDefaultTimeTile;
  /// Check every buffer access of the generated code at run time (CPU
  /// targets; a failure aborts naming the op and its location).
  bool boundsChecks = false;
  /// Derive `<F>_init` and `<F>_step` (incremental decoding) from the
  /// full-sequence decoder function F; empty: none.
  std::string decodeStep;
  /// CUDA: the SM architecture, the toolkit's root, and the device code the
  /// library embeds: "fatbin", "cubin", "ptx", or empty for fatbin when the
  /// toolkit has ptxas and fatbinary, else ptx.
  std::string gpuArch = kDefaultCudaArch;
  std::string cudaPath = kDefaultCudaPath;
  std::string gpuBinary;
  /// No progress lines on stderr.
  bool quiet = false;
  /// Print, after raising and fusion, which convc ops the model became and
  /// what stays on the generic (linalg) path.
  bool report = false;
  /// Apply MLIR's debugging flags (pass manager, timing, context): only
  /// `convc compile` registers them.
  bool mlirCommandLine = false;

  /// An encoder + decoder package. Without an explicit decodeStep it gets
  /// `decode_init` / `decode_step` where its decoder raised to convc ops
  /// with step forms, and just the full decoder (with a warning) otherwise.
  bool isPackage() const { return !decoder.empty(); }
};

/// The name of `stage` as --emit spells it.
inline const char *stageName(Stage stage) {
  switch (stage) {
  case Stage::Import:
    return "import";
  case Stage::Convc:
    return "convc";
  case Stage::Fused:
    return "fused";
  case Stage::Loops:
    return "loops";
  case Stage::LLVM:
    return "llvm";
  case Stage::PTX:
    return "ptx";
  case Stage::Obj:
    return "obj";
  case Stage::Lib:
    return "lib";
  }
  return "?";
}

/// The name of `target` as --target spells it.
inline const char *targetName(Target target) {
  switch (target) {
  case Target::CPU:
    return "cpu";
  case Target::CUDA:
    return "cuda";
  case Target::GPUKernelsOnCPU:
    return "gpu-kernels-on-cpu";
  }
  return "?";
}

/// `name` (as --target spells it) into `target`; false for no target.
inline bool parseTarget(llvm::StringRef name, Target &target) {
  for (Target t : {Target::CPU, Target::CUDA, Target::GPUKernelsOnCPU})
    if (name == targetName(t)) {
      target = t;
      return true;
    }
  return false;
}

} // namespace convc

#endif // CONVC_COMPILER_COMPILEOPTIONS_H
