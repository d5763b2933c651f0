//===- ConvcDomainOps.cpp - the convc domain: exact imports ---------------===//
//
// Nodes the convc_torch export helper emits in the `convc` domain map one to
// one onto dialect ops (docs/onnx.md, "The convc domain"), so a PyTorch model
// written with convc_torch imports exactly, with nothing to raise.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

namespace convc::onnx_import {

namespace {
/// An int attribute, or `fallback` (none: absent is an error).
std::optional<int64_t> attr(const onnx::NodeProto &node, StringRef name,
                            std::optional<int64_t> fallback = std::nullopt) {
  if (const auto *a = findAttr(node, name))
    return a->i();
  return fallback;
}

/// A required int attribute; reports its absence.
std::optional<int64_t> need(const onnx::NodeProto &node, Location loc,
                            StringRef name) {
  std::optional<int64_t> v = attr(node, name);
  if (!v)
    emitError(loc) << "convc." << node.op_type()
                   << " needs the attribute '" << name << "'";
  return v;
}

bool isSequence(Value v) {
  return v && isa<RankedTensorType>(v.getType()) &&
         cast<RankedTensorType>(v.getType()).getRank() == 3;
}

Value input(ArrayRef<Value> inputs, size_t i) {
  return inputs.size() > i ? inputs[i] : Value();
}

/// Binds a verified dialect op's result.
LogicalResult defineVerified(GraphImporter &im, const onnx::NodeProto &node,
                             Value result) {
  if (failed(verify(result.getDefiningOp())))
    return failure();
  return im.define(node, result);
}
} // namespace

LogicalResult GraphImporter::importConvcGLU(const onnx::NodeProto &node,
                                            Location loc,
                                            ArrayRef<Value> inputs) {
  Value x = input(inputs, 0);
  if (!x)
    return emitError(loc) << "convc.GLU needs an input";
  return defineVerified(*this, node, GLUOp::create(b, loc, x));
}

LogicalResult
GraphImporter::importConvcLightweightConv(const onnx::NodeProto &node,
                                          Location loc,
                                          ArrayRef<Value> inputs) {
  Value x = input(inputs, 0);
  auto padding = need(node, loc, "padding");
  auto weightType = inputs.size() < 2 || !inputs[1]
                        ? RankedTensorType()
                        : dyn_cast<RankedTensorType>(inputs[1].getType());
  if (!padding || !isSequence(x) || !weightType ||
      weightType.getRank() != 2 || weightType.isDynamicDim(0))
    return emitError(loc) << "convc.LightweightConv needs x [B, T, C], "
                             "weight [H, K] (H static) and 'padding'";
  int64_t heads = weightType.getDimSize(0);
  return defineVerified(
      *this, node,
      LightweightConvOp::create(b, loc, x, inputs[1], input(inputs, 2), heads,
                                *padding,
                                *attr(node, "weight_softmax", 1) != 0));
}

LogicalResult
GraphImporter::importConvcDynamicConv(const onnx::NodeProto &node,
                                      Location loc, ArrayRef<Value> inputs) {
  Value x = input(inputs, 0);
  auto heads = need(node, loc, "heads"),
       kernel = need(node, loc, "kernel_size"),
       padding = need(node, loc, "padding");
  if (!heads || !kernel || !padding || !isSequence(x) || inputs.size() < 2)
    return emitError(loc) << "convc.DynamicConv needs x [B, T, C], "
                             "weight [H*K, C], heads, kernel_size, padding";
  return defineVerified(*this, node,
                        DynamicConvOp::create(b, loc, x, inputs[1],
                                              input(inputs, 2), *heads,
                                              *kernel, *padding));
}

LogicalResult GraphImporter::importConvcTaLKConv(const onnx::NodeProto &node,
                                                 Location loc,
                                                 ArrayRef<Value> inputs) {
  Value x = input(inputs, 0);
  auto left = need(node, loc, "left_max"), right = need(node, loc, "right_max");
  if (!left || !right || !isSequence(x) || inputs.size() < 2)
    return emitError(loc) << "convc.TaLKConv needs x [B, T, C], offsets "
                             "[B, T, 2H] (causal: H), left_max, right_max";
  return defineVerified(*this, node,
                        TaLKConvOp::create(b, loc, x, inputs[1], *left, *right,
                                           *attr(node, "causal", 0) != 0));
}

NamedOps convcOps() {
  using G = GraphImporter;
  return {
      {"GLU", opEntry(&G::importConvcGLU)},
      {"LightweightConv", opEntry(&G::importConvcLightweightConv)},
      {"DynamicConv", opEntry(&G::importConvcDynamicConv)},
      {"TaLKConv", opEntry(&G::importConvcTaLKConv)},
  };
}

} // namespace convc::onnx_import
