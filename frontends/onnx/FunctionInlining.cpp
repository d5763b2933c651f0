//===- FunctionInlining.cpp - model-local functions inlined --------------===//
//
// Calls of the functions a model defines (ModelProto.functions) become the
// functions' bodies before import. onnx's FunctionExpandHelper does not serve
// here: it looks the called op up in the schema registry, which holds the
// standard ops' functions, not a model's own.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelRewrites.h"
#include "frontends/onnx/OpRegistry.h"

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

/// What the calls of one function share: read once per function.
struct FunctionInfo {
  const onnx::FunctionProto *proto;
  std::vector<onnx::AttributeProto> defaults; // IR 9's attribute_proto
  llvm::StringSet<> produced; // the names its body (and subgraphs) define
};

/// How the names inside one call's body map to the caller's.
struct CallScope {
  explicit CallScope(const llvm::StringSet<> &produced) : produced(produced) {}
  std::string prefix;   // makes the body's own values unique per call
  std::string callName; // prefixes the body's node names (error locations)
  llvm::StringMap<std::string> inputs, outputs; // formal name -> actual
  const llvm::StringSet<> &produced;
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

/// A (copied) body node in the caller's names, in place, its attribute
/// references resolved.
void renameNode(onnx::NodeProto &node, const CallScope &scope) {
  node.set_name(scope.callName + "/" +
                (node.name().empty() ? node.op_type() : node.name()));
  for (std::string &input : *node.mutable_input())
    input = scope.resolve(input);
  for (std::string &output : *node.mutable_output())
    output = scope.resolve(output);
  auto *attributes = node.mutable_attribute();
  for (int i = 0; i < attributes->size();) {
    onnx::AttributeProto &attr = *attributes->Mutable(i);
    if (attr.ref_attr_name().empty()) {
      if (attr.has_g())
        renameGraph(*attr.mutable_g(), scope);
      for (auto &g : *attr.mutable_graphs())
        renameGraph(g, scope);
    } else if (auto it = scope.attributes.find(attr.ref_attr_name());
               it != scope.attributes.end()) {
      std::string name = attr.name();
      attr = *it->second;
      attr.set_name(name);
    } else { // the call sets none: the op's default
      attributes->DeleteSubrange(i, 1);
      continue;
    }
    ++i;
  }
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
    renameNode(node, scope);
}

class Inliner {
public:
  Inliner(int64_t opsetVersion, Location loc)
      : opsetVersion(opsetVersion), loc(loc) {}

  /// The model's functions by domain and name, with their attribute
  /// defaults.
  LogicalResult readFunctions(const onnx::ModelProto &model) {
    for (const auto &f : model.functions()) {
      // A function in the default domain named as an ONNX op does not
      // replace it: ONNX Runtime runs the standard op, and so does convc.
      if ((f.domain().empty() || f.domain() == "ai.onnx") &&
          defaultDomainOps().lookup(f.name()))
        continue;
      // IR version 10 tells same-named functions apart by an `overload`
      // field that libonnx 1.12's protobuf does not know: refuse rather than
      // guess.
      auto [it, inserted] = functions.try_emplace({f.domain(), f.name()});
      if (!inserted)
        return emitError(loc)
               << "the model defines function '" << f.domain() << "."
               << f.name() << "' more than once (overloads are not supported)";
      it->second.proto = &f;
      collectProduced(f.node(), it->second.produced);
      if (failed(readAttributeDefaults(f, it->second.defaults)))
        return failure();
    }
    return success();
  }

  /// Expands the calls among `graph`'s nodes and in its subgraphs.
  LogicalResult inlineGraph(onnx::GraphProto &graph, int depth) {
    NodeList nodes;
    for (auto &node : *graph.mutable_node()) // replaced below: moved from
      if (failed(emit(std::move(node), nodes, depth)))
        return failure();
    graph.mutable_node()->Swap(&nodes);
    return success();
  }

private:
  /// `node` into `out`: the body if it calls a local function, else itself
  /// with its subgraphs inlined.
  LogicalResult emit(onnx::NodeProto node, NodeList &out, int depth) {
    auto it = functions.find({node.domain(), node.op_type()});
    if (it != functions.end())
      return expand(node, it->second, out, depth + 1);
    if (failed(count()))
      return failure();
    onnx::NodeProto *added = out.Add();
    *added = std::move(node);
    for (auto &attr : *added->mutable_attribute()) {
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

  LogicalResult expand(const onnx::NodeProto &call, const FunctionInfo &info,
                       NodeList &out, int depth) {
    const onnx::FunctionProto &f = *info.proto;
    auto error = [&] {
      return emitError(loc) << "node '" << call.name() << "' calls function '"
                            << f.domain() << "." << f.name() << "'";
    };
    if (failed(count()))
      return failure();
    if (depth > kMaxDepth) // error() would name a node 64 calls deep
      return emitError(loc)
             << "calls of function '" << f.domain() << "." << f.name()
             << "' nest deeper than " << kMaxDepth << " (does it call itself?)";
    for (const auto &opset : f.opset_import())
      if ((opset.domain().empty() || opset.domain() == "ai.onnx") &&
          opset.version() != opsetVersion)
        return error() << ", which imports opset " << opset.version()
                       << " where the model imports " << opsetVersion;
    if (call.input_size() > f.input_size() ||
        call.output_size() > f.output_size())
      return error() << " with " << call.input_size() << " inputs and "
                     << call.output_size() << " outputs; it takes "
                     << f.input_size() << " and gives " << f.output_size();
    CallScope scope(info.produced);
    scope.callName = call.name().empty() ? f.name() : call.name();
    scope.prefix = scope.callName + "#" + std::to_string(++callCount) + "/";
    for (int i = 0; i < f.input_size(); ++i)
      scope.inputs[f.input(i)] = i < call.input_size() ? call.input(i) : "";
    for (int i = 0; i < call.output_size(); ++i)
      scope.outputs[f.output(i)] = call.output(i);
    for (const auto &attr : info.defaults)
      scope.attributes[attr.name()] = &attr;
    for (const auto &attr : call.attribute())
      scope.attributes[attr.name()] = &attr;
    for (onnx::NodeProto node : f.node()) { // a copy, renamed in place
      renameNode(node, scope);
      if (failed(emit(std::move(node), out, depth)))
        return failure();
    }
    // An output the body does not compute must be one of its inputs,
    // passed through.
    for (int i = 0; i < call.output_size(); ++i) {
      const std::string &formal = f.output(i);
      if (call.output(i).empty() || scope.produced.contains(formal))
        continue;
      std::string passed = scope.resolve(formal);
      if (!scope.inputs.contains(formal) || passed.empty())
        return error() << ", which never computes its output '" << formal
                       << "'";
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
  LogicalResult readAttributeDefaults(const onnx::FunctionProto &f,
                                      std::vector<onnx::AttributeProto> &out) {
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
      out.push_back(std::move(attr));
    }
    return success();
  }

  std::map<std::pair<std::string, std::string>, FunctionInfo> functions;
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
