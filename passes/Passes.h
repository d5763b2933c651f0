//===- Passes.h - convc transformation passes ------------------*- C++ -*-===//

#ifndef CONVC_PASSES_PASSES_H
#define CONVC_PASSES_PASSES_H

#include "dialect/ConvcDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace convc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace convc

#endif // CONVC_PASSES_PASSES_H
