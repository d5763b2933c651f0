//===- ONNXImporter.h - ONNX models as MLIR ---------------------*- C++ -*-===//

#ifndef CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H
#define CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace convc {

/// The ONNX op types the importer handles.
const std::vector<std::string> &supportedONNXOps();

/// Reads an ONNX model and builds `func.func @main` from its graph: inputs
/// (minus initializers) become arguments named after them, outputs results,
/// initializers constants, nodes upstream tensor ops (linalg on tensors)
/// located at NameLoc(node name). Problems are reported as diagnostics: an
/// unreadable or non-ONNX file, an opset outside 7..17, and every
/// unsupported op type with the names of its nodes, all at once.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(mlir::MLIRContext *context,
                                                 const std::string &path);

/// The same for a serialized ModelProto in memory; `name` locates errors.
mlir::OwningOpRef<mlir::ModuleOp> importONNXBytes(mlir::MLIRContext *context,
                                                  const void *data,
                                                  size_t size,
                                                  const std::string &name);

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H
