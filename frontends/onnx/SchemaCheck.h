//===- SchemaCheck.h - ONNX's own schema check of a node --------*- C++ -*-===//
//
// A node of the default domain checked against its ONNX schema, as ONNX
// Runtime checks it on load (onnx::OpSchema::Verify from libonnx): an
// attribute the op does not define (a misspelt "axsi" would otherwise
// silently take the default axis), an attribute of the wrong type or a
// required one missing, an input or output count out of range.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_SCHEMACHECK_H
#define CONVC_FRONTENDS_ONNX_SCHEMACHECK_H

#include <cstdint>
#include <optional>
#include <string>

namespace onnx {
class GraphProto;
class NodeProto;
} // namespace onnx

namespace convc {

struct SchemaViolation {
  const onnx::NodeProto *node;
  std::string why;
};

/// The first node of `graph` or of its subgraphs (If branches, Loop bodies)
/// that breaks its schema; run before the importer rewrites legacy forms,
/// which the schemas of their opsets do not describe.
std::optional<SchemaViolation>
firstSchemaViolation(const onnx::GraphProto &graph, int64_t opset);

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_SCHEMACHECK_H
