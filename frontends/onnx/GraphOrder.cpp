//===- GraphOrder.cpp - single definitions, topological order -------------===//
//
// ONNX values are assigned once (SSA), across a graph and the subgraphs it
// holds, and ONNX Runtime refuses a model that assigns one twice. The
// importer maps names to values as it goes, so a second definition would
// silently replace the first for every later reader (a branch's local `h`
// read as the outer `h`): such models are refused here, naming the node.
// The nodes need not be listed in topological order, which the importer
// needs: they are reordered (a stable order, so a sorted graph is left as it
// is), and a cycle or a value nothing defines is refused.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelRewrites.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <set>
#include <string>
#include <vector>

using namespace mlir;

namespace convc::onnx_import {

namespace {

std::string describe(const onnx::NodeProto &node) {
  return "node '" + (node.name().empty() ? node.op_type() : node.name()) +
         "' (" + node.op_type() + ")";
}

/// The names a graph's values are defined under, and by what, with the
/// scopes around it.
struct Scope {
  const Scope *outer = nullptr;
  llvm::StringMap<std::string> definedBy;

  const std::string *find(llvm::StringRef name) const {
    for (const Scope *s = this; s; s = s->outer)
      if (auto it = s->definedBy.find(name); it != s->definedBy.end())
        return &it->second;
    return nullptr;
  }
};

/// Every name a node reads, its subgraphs' reads from outside them included.
void collectReads(const onnx::NodeProto &node, llvm::StringSet<> &reads);

/// The names `graph` reads from the scopes around it.
void collectOuterReads(const onnx::GraphProto &graph,
                       llvm::StringSet<> &reads) {
  llvm::StringSet<> defined, used;
  for (const auto &v : graph.input())
    defined.insert(v.name());
  for (const auto &t : graph.initializer())
    defined.insert(t.name());
  for (const auto &node : graph.node()) {
    for (const std::string &out : node.output())
      defined.insert(out);
    collectReads(node, used);
  }
  for (const auto &v : graph.output())
    used.insert(v.name());
  for (const auto &name : used)
    if (!defined.contains(name.getKey()))
      reads.insert(name.getKey());
}

void collectReads(const onnx::NodeProto &node, llvm::StringSet<> &reads) {
  for (const std::string &in : node.input())
    if (!in.empty())
      reads.insert(in);
  for (const auto &attr : node.attribute()) {
    if (attr.has_g())
      collectOuterReads(attr.g(), reads);
    for (const auto &g : attr.graphs())
      collectOuterReads(g, reads);
  }
}

LogicalResult orderGraph(onnx::GraphProto &graph, const Scope *outer,
                         const std::string &where, Location loc);

/// Records `name` as defined by `what`, refusing a second definition.
LogicalResult define(Scope &scope, const std::string &name,
                     const std::string &what, Location loc) {
  if (name.empty())
    return success();
  if (const std::string *first = scope.find(name))
    return emitError(loc) << "'" << name << "' is defined twice, by " << *first
                          << " and by " << what
                          << ": an ONNX value is assigned once (ONNX Runtime "
                             "refuses such a model too)";
  scope.definedBy[name] = what;
  return success();
}

LogicalResult orderGraph(onnx::GraphProto &graph, const Scope *outer,
                         const std::string &where, Location loc) {
  Scope scope;
  scope.outer = outer;
  for (const auto &v : graph.input())
    if (failed(define(scope, v.name(), "a graph input" + where, loc)))
      return failure();
  for (const auto &t : graph.initializer()) {
    // An initializer listed as a graph input too is that input's default
    // (IR version < 4, torch's keep_initializers_as_inputs).
    if (auto it = scope.definedBy.find(t.name());
        it != scope.definedBy.end() && it->second.rfind("a graph input", 0) == 0) {
      it->second = "an initializer" + where;
      continue;
    }
    if (failed(define(scope, t.name(), "an initializer" + where, loc)))
      return failure();
  }
  if (graph.sparse_initializer_size())
    return emitError(loc)
           << "sparse initializer '"
           << graph.sparse_initializer(0).values().name()
           << "': convc reads dense initializers only (store it dense, e.g. "
              "with onnx.numpy_helper.from_array)";
  for (const auto &node : graph.node())
    for (const std::string &out : node.output())
      if (failed(define(scope, out, describe(node) + where, loc)))
        return failure();
  for (auto &node : *graph.mutable_node()) {
    std::string inside = " in a subgraph of " + describe(node);
    for (auto &attr : *node.mutable_attribute()) {
      if (attr.has_g() &&
          failed(orderGraph(*attr.mutable_g(), &scope, inside, loc)))
        return failure();
      for (auto &g : *attr.mutable_graphs())
        if (failed(orderGraph(g, &scope, inside, loc)))
          return failure();
    }
  }

  // Kahn's algorithm, taking the first ready node in the listed order.
  const int n = graph.node_size();
  llvm::StringMap<int> producer;
  for (int i = 0; i < n; ++i)
    for (const std::string &out : graph.node(i).output())
      if (!out.empty())
        producer[out] = i;
  std::vector<std::vector<int>> consumers(n);
  std::vector<int> waiting(n, 0);
  for (int i = 0; i < n; ++i) {
    llvm::StringSet<> reads;
    collectReads(graph.node(i), reads);
    for (const auto &name : reads) {
      if (auto it = producer.find(name.getKey()); it != producer.end()) {
        consumers[it->second].push_back(i);
        ++waiting[i];
      } else if (!scope.find(name.getKey())) {
        return emitError(loc) << describe(graph.node(i)) << where << " reads '"
                              << name.getKey() << "', which nothing defines";
      }
    }
  }
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if (!waiting[i])
      ready.insert(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int c : consumers[i])
      if (--waiting[c] == 0)
        ready.insert(c);
  }
  if (int(order.size()) < n) {
    for (int i = 0; i < n; ++i)
      if (waiting[i])
        return emitError(loc) << describe(graph.node(i))
                              << " depends on its own outputs (the graph has "
                                 "a cycle)";
  }
  bool sorted = true;
  for (int i = 0; i < n; ++i)
    sorted &= order[i] == i;
  if (sorted)
    return success();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i : order)
    *nodes.Add() = graph.node(i);
  graph.mutable_node()->Swap(&nodes);
  return success();
}

} // namespace

LogicalResult orderGraphs(onnx::ModelProto &model, Location loc) {
  return orderGraph(*model.mutable_graph(), nullptr, "", loc);
}

} // namespace convc::onnx_import
