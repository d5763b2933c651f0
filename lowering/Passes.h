//===- Passes.h - convc lowering passes and pipelines ----------*- C++ -*-===//

#ifndef CONVC_LOWERING_PASSES_H
#define CONVC_LOWERING_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace convc {

#define GEN_PASS_DECL
#include "lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowering/Passes.h.inc"

/// convc-export-entry-points renames entry point `f` to this prefix + `f`,
/// so that no entry's symbol is a host, libc or libm function's; the
/// library exports `convc_entry_f` for it.
inline constexpr llvm::StringLiteral kEntrySymbolPrefix = "convc_fn_";

/// Named stages of `convc compile --emit`, in pipeline order. PTX is the
/// CUDA target's device code (the LLVM stage's pipeline, then the PTX text
/// the device module became).
enum class Stage { Import, Convc, Fused, Loops, LLVM, PTX, Obj, Lib };

/// Where the compiled code runs.
enum class Target {
  CPU,
  /// CUDA GPUs: kernels in an embedded device binary, data on the device.
  CUDA,
  /// The GPU target's kernel loops compiled for the CPU: tests the GPU
  /// kernels' math on machines without a GPU.
  GPUKernelsOnCPU,
};

struct CpuTargetOptions {
  Target target = Target::CPU;
  int64_t vectorWidth = 8; // f32 lanes
  int64_t timeTile = 128;
  bool useBlas = true; // projections through OpenBLAS's cblas_sgemm
  /// A full-sequence decoder to derive `<F>_init` / `<F>_step` from (empty:
  /// none); see convc-derive-decode-step.
  std::string decodeStep;
  /// Derive the step only where the decoder has a step form; otherwise warn
  /// and keep just the full decoder (packaged ONNX decoders).
  bool decodeStepIfPossible = false;
  /// Check every memref access against its buffer at run time (upstream's
  /// generate-runtime-verification): a failure aborts with the op and its
  /// location. For testing generated code; CPU targets only.
  bool boundsChecks = false;
};

/// The CUDA target's code generation (Target::CUDA only). No defaults here:
/// the compile options (compiler/CompileOptions.h) hold them.
struct CudaTargetOptions {
  /// The SM architecture, e.g. "sm_80".
  std::string arch;
  /// The toolkit's root (libdevice, ptxas, fatbinary).
  std::string toolkitPath;
  /// The device code embedded in the library: "isa" (PTX, JIT-compiled by
  /// the driver), "bin" (cubin) or "fatbin" (cubin + PTX); configureCudaTarget
  /// sets it.
  std::string format = "fatbin";
};

/// libdevice in the toolkit at `cudaPath` (empty when it is missing).
std::string findLibdevice(const std::string &cudaPath);

/// Checks the CUDA target `options` (architecture, toolkit at toolkitPath)
/// and sets its format from `binary`: "fatbin", "cubin", "ptx", or empty for
/// fatbin when the toolkit has ptxas and fatbinary, else ptx. False with a
/// sentence in `error` when it cannot be done.
bool configureCudaTarget(CudaTargetOptions &options, const std::string &binary,
                         std::string &error);

/// Appends the passes that take IR at stage `from` to stage `to` (at most
/// LLVM; object and library emission are not passes). `cuda` is read for
/// Target::CUDA only.
llvm::LogicalResult buildPipelineToStage(mlir::OpPassManager &pm, Stage from,
                                         Stage to,
                                         const CpuTargetOptions &options,
                                         const CudaTargetOptions &cuda = {});

} // namespace convc

#endif // CONVC_LOWERING_PASSES_H
