//===- OpRegistry.cpp - the ONNX ops convc imports ------------------------===//
//
// The tables of both domains, gathered from the categories (ops/*.cpp), where
// each op type is registered once beside its importer; nothing else in
// frontends/onnx dispatches on op names.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OpRegistry.h"
#include "frontends/onnx/ONNXImporter.h"

#include "llvm/Support/ErrorHandling.h"

namespace convc::onnx_import {

OpTable::OpTable(NamedOps ops) {
  for (auto &[name, entry] : ops) {
    order.push_back(name);
    // Each op type has one importer: a second registration is a bug in
    // this frontend, caught by every test that imports a model.
    if (!entries.try_emplace(name, std::move(entry)).second)
      llvm::report_fatal_error("ONNX op '" + Twine(name) +
                               "' is registered twice");
  }
}

const OpEntry *OpTable::lookup(StringRef opType) const {
  auto it = entries.find(opType);
  return it == entries.end() ? nullptr : &it->second;
}

const OpTable &defaultDomainOps() {
  static const OpTable table([] {
    NamedOps ops;
    for (NamedOps (*category)() :
         {elementwiseOps, activationOps, shapeOps, indexingOps, reductionOps,
          selectionOps, nnOps, controlFlowOps, oneHotOps})
      for (auto &named : category())
        ops.push_back(std::move(named));
    llvm::sort(ops, [](const auto &a, const auto &b) { return a.first < b.first; });
    return ops;
  }());
  return table;
}

const OpTable &convcDomainOps() {
  static const OpTable table(convcOps()); // listed in their order
  return table;
}

const OpEntry *lookupOp(const onnx::NodeProto &node) {
  if (node.domain() == kConvcDomain)
    return convcDomainOps().lookup(node.op_type());
  if (!node.domain().empty())
    return nullptr;
  return defaultDomainOps().lookup(node.op_type());
}

} // namespace convc::onnx_import

namespace convc {
const std::vector<std::string> &supportedONNXOps() {
  return onnx_import::defaultDomainOps().names();
}
} // namespace convc
