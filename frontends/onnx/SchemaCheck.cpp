//===- SchemaCheck.cpp - ONNX's own schema check of a node ----------------===//
//
// Built with exceptions (CMakeLists.txt): OpSchema::Verify throws.
//
//===----------------------------------------------------------------------===//

#include "SchemaCheck.h"

#include "onnx/defs/schema.h"

#include <exception>

namespace convc {

/// An input the schema requires (a single one, or one of a variadic list)
/// that the node omits (""): the importers take "" for an optional operand.
static std::optional<std::string>
omittedRequiredInput(const onnx::OpSchema &schema,
                     const onnx::NodeProto &node) {
  const auto &formal = schema.inputs();
  for (int i = 0; i < node.input_size(); ++i) {
    if (!node.input(i).empty())
      continue;
    bool variadicTail = !formal.empty() && i >= int(formal.size()) - 1 &&
                        formal.back().GetOption() == onnx::OpSchema::Variadic;
    if (i >= int(formal.size()) && !variadicTail)
      continue; // an input of a later opset than the library knows
    const auto &param = formal[std::min<size_t>(i, formal.size() - 1)];
    if (param.GetOption() != onnx::OpSchema::Optional)
      return "input " + std::to_string(i) + " ('" + param.GetName() +
             "') is required but omitted (\"\")";
  }
  return std::nullopt;
}

/// Why `node` breaks its op's schema at `opset`. Beyond the opsets the
/// library knows, only its inputs are checked, against the latest schema it
/// has (later opsets add optional inputs, never make one required).
static std::optional<std::string> schemaViolation(const onnx::NodeProto &node,
                                                  int64_t opset,
                                                  int64_t knownOpset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return std::nullopt;
  const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(
      node.op_type(), int(std::min(opset, knownOpset)), "");
  if (!schema)
    return std::nullopt;
  if (opset > knownOpset)
    return omittedRequiredInput(*schema, node);
  try {
    schema->Verify(node);
  } catch (const std::exception &e) {
    // ONNX appends "==> Context: Bad node spec ..." (the whole node).
    std::string why = e.what();
    if (size_t context = why.find("\n"); context != std::string::npos)
      why.resize(context);
    return why;
  }
  return omittedRequiredInput(*schema, node);
}

static std::optional<SchemaViolation>
firstViolationIn(const onnx::GraphProto &graph, int64_t opset,
                 int64_t knownOpset) {
  for (const onnx::NodeProto &node : graph.node()) {
    if (std::optional<std::string> why =
            schemaViolation(node, opset, knownOpset))
      return SchemaViolation{&node, *why};
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.has_g())
        if (auto found = firstViolationIn(attr.g(), opset, knownOpset))
          return found;
      for (const onnx::GraphProto &g : attr.graphs())
        if (auto found = firstViolationIn(g, opset, knownOpset))
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
  if (range == known.end())
    return std::nullopt;
  return firstViolationIn(graph, opset, range->second.second);
}

} // namespace convc
