//===- OnnxLocations.h - What an ONNX importer's location names -*- C++ -*-===//
//
// The ONNX importer gives every op the location of what it came from: a
// node, an initializer, a graph input or output, or the graph. Diagnostics
// and run-time check messages name that thing ("node 'conv1': ...") rather
// than printing MLIR's loc("conv1").
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_DIALECT_ONNXLOCATIONS_H
#define CONVC_DIALECT_ONNXLOCATIONS_H

#include "mlir/IR/Location.h"

#include <string>

namespace convc {

enum class OnnxEntity { Node, Initializer, GraphValue, Graph };

/// The location of the ONNX entity `name` of the given kind: a NameLoc,
/// whose child marks the kind (none for a node, so that a model written in
/// MLIR with loc("name") reads as a node too).
mlir::Location onnxLocation(mlir::MLIRContext *context, llvm::StringRef name,
                            OnnxEntity kind = OnnxEntity::Node);

/// "node 'N'", "initializer 'W'", "graph value 'X'" or "graph 'G'" for a
/// location built by onnxLocation (looking inside fused locations), or ""
/// for any other.
std::string describeOnnxLocation(mlir::Location loc);

/// "node 'N': " and so on, or "" where the location names no ONNX entity;
/// for messages built before they are emitted (run-time checks).
std::string onnxLocationPrefix(mlir::Location loc);

/// `message` under the name of what `loc` describes, once: a message that
/// starts with that name already is left as it is. Empty where `loc`
/// names no ONNX entity.
std::string withOnnxLocation(mlir::Location loc, llvm::StringRef message);

} // namespace convc

#endif // CONVC_DIALECT_ONNXLOCATIONS_H
