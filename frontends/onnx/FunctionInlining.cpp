//===- FunctionInlining.cpp - model-local functions inlined --------------===//
//
// Calls of the functions a model defines (ModelProto.functions) become the
// functions' bodies before import. onnx's FunctionExpandHelper does not serve
// here: it looks the called op up in the schema registry, which holds the
// standard ops' functions, not a model's own.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelRewrites.h"

#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <google/protobuf/unknown_field_set.h>

#include <map>
#include <string>
#include <vector>

using namespace mlir;

namespace convc::onnx_import {

namespace {
using NodeList = google::protobuf::RepeatedPtrField<onnx::NodeProto>;

// A function that calls itself, directly or not, would expand forever;
// nesting this deep is taken for that. Doubling calls grow exponentially.
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxNodes = int64_t(1) << 20;

/// How the names inside one call's body map to the caller's.
struct CallScope {
  std::string prefix;   // makes the body's own values unique per call
  std::string callName; // prefixes the body's node names (error locations)
  llvm::StringMap<std::string> inputs, outputs; // formal name -> actual
  llvm::StringSet<> produced;                   // names the body defines
  llvm::StringMap<const onnx::AttributeProto *> attributes;

  std::string resolve(const std::string &name) const {
    if (name.empty())
      return name; // a missing optional input stays missing
    if (produced.contains(name)) {
      auto it = outputs.find(name);
      return it != outputs.end() && !it->second.empty() ? it->second
                                                        : prefix + name;
    }
    auto it = inputs.find(name);
    // A name neither passed in nor defined is left for the importer to
    // report as undefined.
    return it != inputs.end() ? it->second : prefix + name;
  }
};

/// Every name a body (or a subgraph in it) defines.
void collectProduced(const onnx::GraphProto &graph, llvm::StringSet<> &names);
void collectProduced(const NodeList &nodes, llvm::StringSet<> &names) {
  for (const auto &node : nodes) {
    for (const auto &output : node.output())
      if (!output.empty())
        names.insert(output);
    for (const auto &attr : node.attribute()) {
      if (attr.has_g())
        collectProduced(attr.g(), names);
      for (const auto &g : attr.graphs())
        collectProduced(g, names);
    }
  }
}
void collectProduced(const onnx::GraphProto &graph, llvm::StringSet<> &names) {
  for (const auto &input : graph.input())
    names.insert(input.name());
  for (const auto &t : graph.initializer())
    names.insert(t.name());
  collectProduced(graph.node(), names);
}

void renameGraph(onnx::GraphProto &graph, const CallScope &scope);

/// A body node in the caller's names, its attribute references resolved.
onnx::NodeProto renameNode(const onnx::NodeProto &node,
                           const CallScope &scope) {
  onnx::NodeProto renamed = node;
  renamed.set_name(scope.callName + "/" +
                   (node.name().empty() ? node.op_type() : node.name()));
  renamed.clear_input();
  renamed.clear_output();
  renamed.clear_attribute();
  for (const auto &input : node.input())
    renamed.add_input(scope.resolve(input));
  for (const auto &output : node.output())
    renamed.add_output(scope.resolve(output));
  for (const auto &attr : node.attribute()) {
    if (!attr.ref_attr_name().empty()) {
      // An attribute the call does not set takes the op's default.
      auto it = scope.attributes.find(attr.ref_attr_name());
      if (it == scope.attributes.end())
        continue;
      onnx::AttributeProto *copy = renamed.add_attribute();
      *copy = *it->second;
      copy->set_name(attr.name());
      continue;
    }
    onnx::AttributeProto *copy = renamed.add_attribute();
    *copy = attr;
    if (copy->has_g())
      renameGraph(*copy->mutable_g(), scope);
    for (auto &g : *copy->mutable_graphs())
      renameGraph(g, scope);
  }
  return renamed;
}

void renameGraph(onnx::GraphProto &graph, const CallScope &scope) {
  for (auto &info : *graph.mutable_input())
    info.set_name(scope.resolve(info.name()));
  for (auto &info : *graph.mutable_output())
    info.set_name(scope.resolve(info.name()));
  for (auto &info : *graph.mutable_value_info())
    info.set_name(scope.resolve(info.name()));
  for (auto &t : *graph.mutable_initializer())
    t.set_name(scope.resolve(t.name()));
  for (auto &node : *graph.mutable_node())
    node = renameNode(node, scope);
}

class Inliner {
public:
  Inliner(int64_t opsetVersion, Location loc)
      : opsetVersion(opsetVersion), loc(loc) {}

  /// The model's functions by domain and name, with their attribute
  /// defaults.
  LogicalResult readFunctions(const onnx::ModelProto &model) {
    for (const auto &f : model.functions()) {
      // IR version 10 tells same-named functions apart by an `overload`
      // field that libonnx 1.12's protobuf does not know: refuse rather than
      // guess.
      if (!functions.insert({{f.domain(), f.name()}, &f}).second)
        return emitError(loc)
               << "the model defines function '" << f.domain() << "."
               << f.name() << "' more than once (overloads are not supported)";
      if (failed(readAttributeDefaults(f)))
        return failure();
    }
    return success();
  }

  /// Expands the calls among `graph`'s nodes and in its subgraphs.
  LogicalResult inlineGraph(onnx::GraphProto &graph, int depth) {
    NodeList nodes;
    for (const auto &node : graph.node())
      if (failed(emit(node, nodes, depth)))
        return failure();
    graph.mutable_node()->Swap(&nodes);
    return success();
  }

private:
  /// `node` into `out`: the body if it calls a local function, else itself
  /// with its subgraphs inlined.
  LogicalResult emit(const onnx::NodeProto &node, NodeList &out, int depth) {
    auto it = functions.find({node.domain(), node.op_type()});
    if (it != functions.end())
      return expand(node, *it->second, out, depth + 1);
    if (failed(count()))
      return failure();
    onnx::NodeProto *copy = out.Add();
    *copy = node;
    for (auto &attr : *copy->mutable_attribute()) {
      if (attr.has_g() && failed(inlineGraph(*attr.mutable_g(), depth)))
        return failure();
      for (auto &g : *attr.mutable_graphs())
        if (failed(inlineGraph(g, depth)))
          return failure();
    }
    return success();
  }

  /// Calls count too: bodies of nothing but calls could double forever.
  LogicalResult count() {
    if (++nodeCount <= kMaxNodes)
      return success();
    return emitError(loc) << "inlining the model's functions makes more than "
                          << kMaxNodes << " nodes and calls";
  }

  LogicalResult expand(const onnx::NodeProto &call,
                       const onnx::FunctionProto &f, NodeList &out, int depth) {
    std::string what = "node '" + call.name() + "' calls function '" +
                       f.domain() + "." + f.name() + "'";
    if (failed(count()))
      return failure();
    if (depth > kMaxDepth) // `what` would name a node 64 calls deep
      return emitError(loc)
             << "calls of function '" << f.domain() << "." << f.name()
             << "' nest deeper than " << kMaxDepth << " (does it call itself?)";
    for (const auto &opset : f.opset_import())
      if ((opset.domain().empty() || opset.domain() == "ai.onnx") &&
          opset.version() != opsetVersion)
        return emitError(loc)
               << what << ", which imports opset " << opset.version()
               << " where the model imports " << opsetVersion;
    if (call.input_size() > f.input_size() ||
        call.output_size() > f.output_size())
      return emitError(loc)
             << what << " with " << call.input_size() << " inputs and "
             << call.output_size() << " outputs; it takes " << f.input_size()
             << " and gives " << f.output_size();
    CallScope scope;
    scope.callName = call.name().empty() ? f.name() : call.name();
    scope.prefix = scope.callName + "#" + std::to_string(++callCount) + "/";
    for (int i = 0; i < f.input_size(); ++i)
      scope.inputs[f.input(i)] = i < call.input_size() ? call.input(i) : "";
    for (int i = 0; i < call.output_size(); ++i)
      scope.outputs[f.output(i)] = call.output(i);
    for (const auto &attr : defaults[&f])
      scope.attributes[attr.name()] = &attr;
    for (const auto &attr : call.attribute())
      scope.attributes[attr.name()] = &attr;
    collectProduced(f.node(), scope.produced);
    for (const auto &node : f.node())
      if (failed(emit(renameNode(node, scope), out, depth)))
        return failure();
    // An output the body does not compute must be one of its inputs,
    // passed through.
    for (int i = 0; i < call.output_size(); ++i) {
      const std::string &formal = f.output(i);
      if (call.output(i).empty() || scope.produced.contains(formal))
        continue;
      std::string passed = scope.resolve(formal);
      if (!scope.inputs.contains(formal) || passed.empty())
        return emitError(loc) << what << ", which never computes its output '"
                              << formal << "'";
      onnx::NodeProto *identity = out.Add();
      identity->set_op_type("Identity");
      identity->set_name(scope.callName + "/" + formal);
      identity->add_input(passed);
      identity->add_output(call.output(i));
    }
    return success();
  }

  /// IR version 9's default attribute values (FunctionProto field 11,
  /// `attribute_proto`), which libonnx 1.12's protobuf keeps as an unknown
  /// field. Without them a call that sets no value would get the op's
  /// default instead of the function's.
  LogicalResult readAttributeDefaults(const onnx::FunctionProto &f) {
    const google::protobuf::UnknownFieldSet &unknown = f.unknown_fields();
    for (int i = 0; i < unknown.field_count(); ++i) {
      const google::protobuf::UnknownField &field = unknown.field(i);
      if (field.number() != 11)
        continue;
      onnx::AttributeProto attr;
      if (field.type() !=
              google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
          !attr.ParseFromString(field.length_delimited()))
        return emitError(loc) << "function '" << f.domain() << "." << f.name()
                              << "' has a malformed attribute default";
      defaults[&f].push_back(std::move(attr));
    }
    return success();
  }

  std::map<std::pair<std::string, std::string>, const onnx::FunctionProto *>
      functions;
  std::map<const onnx::FunctionProto *, std::vector<onnx::AttributeProto>>
      defaults;
  int64_t opsetVersion;
  Location loc;
  int64_t nodeCount = 0, callCount = 0;
};
} // namespace

LogicalResult inlineLocalFunctions(onnx::ModelProto &model,
                                   int64_t opsetVersion, Location loc) {
  if (model.functions_size() == 0)
    return success();
  Inliner inliner(opsetVersion, loc);
  if (failed(inliner.readFunctions(model)) ||
      failed(inliner.inlineGraph(*model.mutable_graph(), /*depth=*/0)))
    return failure();
  model.clear_functions();
  return success();
}

} // namespace convc::onnx_import
