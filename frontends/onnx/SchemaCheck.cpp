//===- SchemaCheck.cpp - ONNX's own schema check of a node ----------------===//
//
// Built with exceptions (CMakeLists.txt): OpSchema::Verify throws.
//
//===----------------------------------------------------------------------===//

#include "SchemaCheck.h"

#include "onnx/defs/schema.h"

#include <exception>

namespace convc {

/// Why `node` breaks its op's schema at `opset` (one the library knows).
static std::optional<std::string> schemaViolation(const onnx::NodeProto &node,
                                                  int64_t opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return std::nullopt;
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), int(opset), "");
  if (!schema)
    return std::nullopt;
  try {
    schema->Verify(node);
  } catch (const std::exception &e) {
    // ONNX appends "==> Context: Bad node spec ..." (the whole node).
    std::string why = e.what();
    if (size_t context = why.find("\n"); context != std::string::npos)
      why.resize(context);
    return why;
  }
  return std::nullopt;
}

static std::optional<SchemaViolation>
firstViolationIn(const onnx::GraphProto &graph, int64_t opset) {
  for (const onnx::NodeProto &node : graph.node()) {
    if (std::optional<std::string> why = schemaViolation(node, opset))
      return SchemaViolation{&node, *why};
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.has_g())
        if (auto found = firstViolationIn(attr.g(), opset))
          return found;
      for (const onnx::GraphProto &g : attr.graphs())
        if (auto found = firstViolationIn(g, opset))
          return found;
    }
  }
  return std::nullopt;
}

std::optional<SchemaViolation>
firstSchemaViolation(const onnx::GraphProto &graph, int64_t opset) {
  // Once per model: whether the library has this opset's schemas.
  const auto &known =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto range = known.find(onnx::ONNX_DOMAIN);
  if (range == known.end() || opset > range->second.second)
    return std::nullopt;
  return firstViolationIn(graph, opset);
}

} // namespace convc
