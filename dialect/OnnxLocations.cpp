//===- OnnxLocations.cpp - What an ONNX importer's location names ---------===//

#include "OnnxLocations.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace convc {

/// Each kind's marker (the child NameLoc; none for a node) and its word,
/// in OnnxEntity's order.
struct EntityNames {
  StringRef marker, word;
};
static constexpr EntityNames kEntityNames[] = {
    {"", "node"},
    {"onnx initializer", "initializer"},
    {"onnx graph value", "graph value"},
    {"onnx graph", "graph"},
};

Location onnxLocation(MLIRContext *context, StringRef name, OnnxEntity kind) {
  StringAttr nameAttr = StringAttr::get(context, name);
  StringRef marker = kEntityNames[static_cast<int>(kind)].marker;
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
    for (const EntityNames &names : kEntityNames)
      if (child && !names.marker.empty() && child.getName() == names.marker)
        return (names.word + " " + quoted).str();
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
