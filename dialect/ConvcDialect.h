//===- ConvcDialect.h - the convc dialect and its ops ----------*- C++ -*-===//

#ifndef CONVC_DIALECT_CONVCDIALECT_H
#define CONVC_DIALECT_CONVCDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/ConvcDialect.h.inc"

#define GET_OP_CLASSES
#include "dialect/ConvcOps.h.inc"

#endif // CONVC_DIALECT_CONVCDIALECT_H
