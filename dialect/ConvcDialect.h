//===- ConvcDialect.h - the convc dialect and its ops ----------*- C++ -*-===//

#ifndef CONVC_DIALECT_CONVCDIALECT_H
#define CONVC_DIALECT_CONVCDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/ConvcDialect.h.inc"
#include "dialect/ConvcEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/ConvcAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/ConvcOps.h.inc"

namespace convc {
/// Softmax over the last axis of a constant, computed in f32 whatever the
/// element type (docs/semantics.md#kernel_softmax), rounded back to it.
/// Returns null for non-float or non-static constants.
mlir::DenseElementsAttr foldKernelSoftmax(mlir::DenseElementsAttr logits);
} // namespace convc

#endif // CONVC_DIALECT_CONVCDIALECT_H
