//===- OpRegistry.h - which importer handles which ONNX op ------*- C++ -*-===//
//
// One entry per (domain, op type): the importer, the first opset it is
// accepted in, and the optional host folders that run before it. The
// supported-op list (supportedONNXOps(), the unsupported-op error, the
// backend tests claimed and so docs/onnx.md's table) is the registry's keys,
// so an op is claimed exactly when it has an importer.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_OPREGISTRY_H
#define CONVC_FRONTENDS_ONNX_OPREGISTRY_H

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/folding/HostTensor.h"

#include <functional>

namespace convc::onnx_import {

using ImportFn = std::function<LogicalResult(
    GraphImporter &, const onnx::NodeProto &, Location, ArrayRef<Value>)>;
/// Shape arithmetic on compile-time (or tracked symbolic) int64 values:
/// true when it defined the node's outputs, so the importer skips it.
using ShapeFoldFn = std::function<bool(
    GraphImporter &, const onnx::NodeProto &, Location, ArrayRef<Value>)>;
/// A float32 weight computation evaluated on the host: the node's output
/// from its first operand `x` (all operands are constants), or nullopt
/// when it is left to the compiled code.
struct WeightFold {
  const onnx::NodeProto &node;
  const HostTensor &x;
  ArrayRef<Value> inputs;
  int64_t opset;
};
using WeightFoldFn = std::function<std::optional<HostTensor>(const WeightFold &)>;

struct OpEntry {
  ImportFn import;
  /// The first default-domain opset that has this op (the importer takes
  /// kMinOpset to kMaxOpset overall).
  int64_t sinceOpset = kMinOpset;
  ShapeFoldFn foldShape;
  WeightFoldFn foldWeights;
};

inline OpEntry opEntry(ImportFn import, int64_t sinceOpset = kMinOpset,
                       ShapeFoldFn foldShape = {}, WeightFoldFn foldWeights = {}) {
  return {std::move(import), sinceOpset, std::move(foldShape),
          std::move(foldWeights)};
}

using NamedOps = std::vector<std::pair<std::string, OpEntry>>;
// Each category's ops, registered beside their importers (ops/*.cpp).
NamedOps elementwiseOps();
NamedOps activationOps();
NamedOps shapeOps();
NamedOps indexingOps();
NamedOps reductionOps();
NamedOps selectionOps();
NamedOps nnOps();
NamedOps controlFlowOps();
NamedOps oneHotOps();
NamedOps convcOps();

/// One domain's ops in the order they are listed (and reported).
class OpTable {
public:
  OpTable(NamedOps ops);
  const OpEntry *lookup(StringRef opType) const;
  const std::vector<std::string> &names() const { return order; }

private:
  llvm::StringMap<OpEntry> entries;
  std::vector<std::string> order;
};

/// The default domain's ops, listed alphabetically.
const OpTable &defaultDomainOps();
/// The convc domain's ops: exact imports of convc_torch's exports.
const OpTable &convcDomainOps();
/// The entry for `node`, or null when no importer handles it.
const OpEntry *lookupOp(const onnx::NodeProto &node);

// Host folders, defined beside the code they evaluate (folding/*.cpp).
namespace fold {
bool shape(GraphImporter &, const onnx::NodeProto &, Location,
           ArrayRef<Value>);
bool size(GraphImporter &, const onnx::NodeProto &, Location, ArrayRef<Value>);
bool gather(GraphImporter &, const onnx::NodeProto &, Location,
            ArrayRef<Value>);
bool squeezeUnsqueeze(GraphImporter &, const onnx::NodeProto &, Location,
                      ArrayRef<Value>);
bool identity(GraphImporter &, const onnx::NodeProto &, Location,
              ArrayRef<Value>);
bool castToInt64(GraphImporter &, const onnx::NodeProto &, Location,
          ArrayRef<Value>);
bool reshape(GraphImporter &, const onnx::NodeProto &, Location,
             ArrayRef<Value>);
bool slice(GraphImporter &, const onnx::NodeProto &, Location,
           ArrayRef<Value>);
bool equal(GraphImporter &, const onnx::NodeProto &, Location,
           ArrayRef<Value>);
bool where(GraphImporter &, const onnx::NodeProto &, Location,
           ArrayRef<Value>);
bool concat(GraphImporter &, const onnx::NodeProto &, Location,
            ArrayRef<Value>);
bool expand(GraphImporter &, const onnx::NodeProto &, Location,
            ArrayRef<Value>);
bool split(GraphImporter &, const onnx::NodeProto &, Location,
           ArrayRef<Value>);
bool transpose(GraphImporter &, const onnx::NodeProto &, Location,
               ArrayRef<Value>);
bool constantOfShape(GraphImporter &, const onnx::NodeProto &, Location,
                     ArrayRef<Value>);
/// An elementwise int64/bool op (Add ... Where, Cast between ints, Clip) on
/// small vectors derived from Shape, evaluated as host index arithmetic.
bool hostArithmetic(GraphImporter &, const onnx::NodeProto &, Location,
                    ArrayRef<Value>);
/// Add, Sub, Mul, Div of int64 constants by `fn`.
ShapeFoldFn arithmetic(int64_t (*fn)(int64_t, int64_t), bool isDiv);

std::optional<HostTensor> identityWeights(const WeightFold &);
WeightFoldFn unaryWeights(float (*fn)(float));
WeightFoldFn binaryWeights(float (*fn)(float, float));
std::optional<HostTensor> softmaxWeights(const WeightFold &);
std::optional<HostTensor> expandWeights(const WeightFold &);
std::optional<HostTensor> reshapeWeights(const WeightFold &);
std::optional<HostTensor> squeezeUnsqueezeWeights(const WeightFold &);
std::optional<HostTensor> transposeWeights(const WeightFold &);

/// Evaluates `entry`'s weight folder when every operand is a constant and
/// the first a small float32 one: true when it defined the node's output.
bool foldWeights(GraphImporter &im, const OpEntry &entry,
                 const onnx::NodeProto &node, Location loc,
                 ArrayRef<Value> inputs);
/// Runs the entry's host folders on `node`: true when one defined it.
bool foldOnHost(GraphImporter &im, const OpEntry &entry,
                const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs);
} // namespace fold

} // namespace convc::onnx_import

#endif // CONVC_FRONTENDS_ONNX_OPREGISTRY_H
