//===- ModelRewrites.h - ModelProto rewrites before import ------*- C++ -*-===//
//
// What a model may hold that the graph importer does not read: calls of
// model-local functions, tensors stored in files beside the model, and old
// opsets' attribute forms of what later opsets take as inputs. All are
// rewritten away on the ModelProto, so that the importer sees one plain
// graph.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_MODELREWRITES_H
#define CONVC_FRONTENDS_ONNX_MODELREWRITES_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/SHA256.h"

#include <onnx/onnx_pb.h>

namespace convc::onnx_import {

/// Replaces every node that calls one of the model's local functions
/// (ModelProto.functions, e.g. torch's export_modules_as_functions) by the
/// function's body, in the main graph and in subgraphs, calls inside bodies
/// included. Values inside a body are renamed apart per call; attribute
/// references take the call's attributes. Fails, reporting at `loc`, on
/// recursion, on a body that would grow the graph past a bound, and on a
/// function that imports another version of the default opset than the model.
mlir::LogicalResult inlineLocalFunctions(onnx::ModelProto &model,
                                         int64_t opsetVersion,
                                         mlir::Location loc);

/// Reads every tensor stored outside the model (data_location EXTERNAL:
/// `location`, `offset`, `length`) from its file, found relative to the
/// directory of `modelPath`, into raw_data. The location must stay inside
/// that directory, and the slice inside the file. `modelPath` empty (a model
/// given as bytes) refuses external data, naming the tensor. With
/// `contents`, the files are checked and hashed (each one's path and bytes,
/// what a cache key needs beside the model's own) and the tensors are left
/// external: nothing is copied.
mlir::LogicalResult loadExternalData(onnx::ModelProto &model,
                                     llvm::StringRef modelPath,
                                     mlir::Location loc,
                                     llvm::SHA256 *contents = nullptr);

/// Rewrites old opsets' forms into the later opsets' ones the importer and
/// the shape folders read: Slice before opset 10 (`starts`, `ends`, `axes`
/// attributes) reads them as int64 initializers, in subgraphs too; nodes in
/// "ai.onnx", the default domain's other name, move to "".
void upgradeLegacyForms(onnx::ModelProto &model, int64_t opsetVersion);

/// Refuses a value defined twice (in a graph, or in a subgraph under a name
/// its outer scopes define), a node reading a name nothing defines, a cycle
/// and sparse initializers, naming the node or value; puts the nodes of
/// every graph in topological order (nodes already in order keep it).
mlir::LogicalResult orderGraphs(onnx::ModelProto &model, mlir::Location loc);

} // namespace convc::onnx_import

#endif // CONVC_FRONTENDS_ONNX_MODELREWRITES_H
