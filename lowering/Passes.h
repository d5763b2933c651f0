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

/// Named stages of `convc compile --emit`, in pipeline order.
enum class Stage { Import, Convc, Fused, Loops, LLVM, Obj, Lib };

struct CpuTargetOptions {
  int64_t vectorWidth = 8; // f32 lanes
  int64_t timeTile = 128;
  bool useBlas = true; // projections through OpenBLAS's cblas_sgemm
  /// A full-sequence decoder to derive `<F>_init` / `<F>_step` from (empty:
  /// none); see convc-derive-decode-step.
  std::string decodeStep;
};

/// Appends the passes that take IR at stage `from` to stage `to` (at most
/// LLVM; object and library emission are not passes).
llvm::LogicalResult buildPipelineToStage(mlir::OpPassManager &pm, Stage from,
                                         Stage to,
                                         const CpuTargetOptions &options);

} // namespace convc

#endif // CONVC_LOWERING_PASSES_H
