//===- OnnxLocations.cpp - What an ONNX importer's location names ---------===//

#include "OnnxLocations.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace convc {

/// The child NameLoc that marks each kind but a node.
static StringRef markerOf(OnnxEntity kind) {
  switch (kind) {
  case OnnxEntity::Node:
    return "";
  case OnnxEntity::Initializer:
    return "onnx initializer";
  case OnnxEntity::GraphValue:
    return "onnx graph value";
  case OnnxEntity::Graph:
    return "onnx graph";
  }
  return "";
}

static StringRef wordOf(OnnxEntity kind) {
  switch (kind) {
  case OnnxEntity::Node:
    return "node";
  case OnnxEntity::Initializer:
    return "initializer";
  case OnnxEntity::GraphValue:
    return "graph value";
  case OnnxEntity::Graph:
    return "graph";
  }
  return "";
}

Location onnxLocation(MLIRContext *context, StringRef name, OnnxEntity kind) {
  StringAttr nameAttr = StringAttr::get(context, name);
  StringRef marker = markerOf(kind);
  if (marker.empty())
    return NameLoc::get(nameAttr);
  return NameLoc::get(nameAttr, NameLoc::get(StringAttr::get(context, marker)));
}

std::string describeOnnxLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string quoted = "'" + name.getName().str() + "'";
    if (isa<UnknownLoc>(name.getChildLoc()))
      return "node " + quoted;
    auto child = dyn_cast<NameLoc>(name.getChildLoc());
    for (OnnxEntity kind :
         {OnnxEntity::Initializer, OnnxEntity::GraphValue, OnnxEntity::Graph})
      if (child && child.getName() == markerOf(kind))
        return (wordOf(kind) + " " + quoted).str();
    // Another name over a location (a GPU kernel's over its op's).
    return describeOnnxLocation(name.getChildLoc());
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string entity = describeOnnxLocation(inner); !entity.empty())
        return entity;
  return "";
}

std::string onnxLocationPrefix(Location loc) {
  std::string entity = describeOnnxLocation(loc);
  return entity.empty() ? entity : entity + ": ";
}

std::string withOnnxLocation(Location loc, StringRef message) {
  std::string entity = describeOnnxLocation(loc);
  if (entity.empty())
    return entity;
  if (message.starts_with(entity))
    return message.str();
  return entity + ": " + message.str();
}

} // namespace convc
