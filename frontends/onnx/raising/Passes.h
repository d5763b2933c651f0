//===- Passes.h - raising ONNX imports to convc ops ------------*- C++ -*-===//

#ifndef CONVC_FRONTENDS_ONNX_RAISING_PASSES_H
#define CONVC_FRONTENDS_ONNX_RAISING_PASSES_H

#include "dialect/ConvcDialect.h"

#include "mlir/Pass/Pass.h"

namespace convc {

#define GEN_PASS_DECL
#include "frontends/onnx/raising/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "frontends/onnx/raising/Passes.h.inc"

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_RAISING_PASSES_H
