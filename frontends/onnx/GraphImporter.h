//===- GraphImporter.h - one ONNX graph to linalg-on-tensors ----*- C++ -*-===//
//
// The importer's state (the builder, the value of every ONNX name, the
// shape vectors tracked through shape arithmetic) and the builders every op
// importer shares. Op importers are members so that they read like the
// code they emit; which one runs for a node is the op registry's choice
// (OpRegistry.h), never an `op == "..."` chain.
//
// Internal to frontends/onnx: the public entry points are in ONNXImporter.h.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_GRAPHIMPORTER_H
#define CONVC_FRONTENDS_ONNX_GRAPHIMPORTER_H

#include "dialect/ConvcDialect.h"
#include "dialect/OnnxLocations.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <limits>
#include <map>
#include <onnx/onnx_pb.h>
#include <optional>

namespace convc::onnx_import {

/// What errors call a node: its name, else "OpType(first output)" (or the
/// op type of a malformed node without outputs, reported elsewhere).
inline std::string onnxNodeName(const onnx::NodeProto &node) {
  if (!node.name().empty())
    return node.name();
  return node.output_size() > 0 ? node.op_type() + "(" + node.output(0) + ")"
                                : node.op_type();
}

using namespace mlir;

/// The default-domain opsets convc imports (docs/onnx.md).
constexpr int64_t kMinOpset = 7, kMaxOpset = 21;
/// The exact-import domain (docs/onnx.md, "The convc domain").
constexpr const char *kConvcDomain = "convc";

/// The attribute `name` of `node`, or null.
const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                     StringRef name);
/// An int attribute of `node`, or `fallback` when absent.
int64_t intAttr(const onnx::NodeProto &node, StringRef name,
                int64_t fallback);
/// An ints attribute of `node`, or `size` copies of `fallback` when absent.
SmallVector<int64_t> intsAttr(const onnx::NodeProto &node, StringRef name,
                              int64_t size, int64_t fallback);
/// The values of a compile-time int64 tensor (an initializer, a Constant
/// node, or folded shape arithmetic).
std::optional<SmallVector<int64_t>> constantInts(Value v);
/// x mod y with the divisor's sign (Python's %, ONNX Mod with fmod 0), for
/// integers of any width or index values (Builders.cpp).
Value floorRemainder(OpBuilder &b, Location loc, Value x, Value y);
/// The value of a constant int, index or float scalar, or of the one
/// element of a splat constant tensor read by tensor.extract (a host
/// scalar's operand) (SizeReasoning.cpp).
std::optional<double> scalarConstant(Value v);
/// A bound on |v| for a host scalar computed from sizes and constants (a
/// dim is at most 2^48: no buffer is larger), or none (SizeReasoning.cpp).
std::optional<double> magnitudeBound(Value v, int depth = 0);
/// `y` as an integer divisor of `x` that cannot trap: where it is 0, or -1
/// under the type's minimum, the element fails the call (`message`, {0}
/// the dividend, {1} the divisor) and 1 divides meanwhile.
Value checkedDivisor(OpBuilder &b, Location loc, Value x, Value y,
                     const std::string &message);
/// A per-element check that the i64 `index` lies in [-n, n) (`n` the dim as
/// i64, `extent` as index): a failure fails the call with `message` ({0}
/// the index, {1} the extent) once the entry point returns (Builders.cpp).
void checkIndexInRange(OpBuilder &b, Location loc, Value index, Value n,
                       Value extent, const std::string &message);
/// `index` + n where the i64 index is negative (ONNX's from-the-end
/// indices; n an i64 size) (Builders.cpp).
Value wrapNegative(OpBuilder &b, Location loc, Value index, Value n);

/// The static padding that tensor.pad ops add to dim `dim` of `x`, followed
/// back through pads and transposes: a lower bound of the dim's size. The
/// value and dim the walk stopped at go to `source` and `sourceDim`.
int64_t padsBefore(Value x, int64_t dim, Value *source = nullptr,
                   int64_t *sourceDim = nullptr);
/// The i64 `index` into a dim of `extent` (index) checked in range as by
/// checkIndexInRange, negative ones wrapped, clamped so that the read stays
/// in bounds after a failed check: an index value (Builders.cpp).
Value checkedIndex(OpBuilder &b, Location loc, Value index, Value extent,
                   const std::string &message);
/// The error for a shape-like operand that is not a compile-time value.
InFlightDiagnostic notConstant(Location loc, StringRef what);

inline bool isFloat(Value v) {
  return v && getElementTypeOrSelf(v.getType()).isF32();
}
inline bool isInt64(Value v) {
  return v && getElementTypeOrSelf(v.getType()).isInteger(64);
}

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, const onnx::GraphProto &graph,
                int64_t opset)
      : ctx(ctx), graph(graph), b(ctx), opset(opset) {}

  OwningOpRef<ModuleOp> run();

  // --- Graph boundary and constants (GraphImporter.cpp) -------------------
  /// The type convc computes an ONNX element type in: f32 for the float
  /// types, i64 for the integer types, i1 for bool.
  Type elementType(int onnxType, Location loc, StringRef what);
  /// How a graph input or output of an ONNX element type crosses the entry
  /// point: the storage type, and the signature's dtype when the storage
  /// type does not say it (uint8 is stored as i8).
  struct BoundaryType {
    Type storage;
    StringRef dtype;
  };
  std::optional<BoundaryType> boundaryType(int onnxType);
  /// A graph input widened from its storage type to its compute type, and
  /// a result narrowed to the storage type of the output's declared type
  /// (null, after an error, when the kinds differ).
  Value toComputeType(Value arg, int onnxType, Location loc);
  Value toStorageType(Value v, int onnxType, Location loc);
  /// A narrow-int or half-float initializer widened to i64 or f32; nullopt
  /// for the other types, a null value after an error.
  std::optional<Value> widenedConstant(const onnx::TensorProto &t,
                                       ArrayRef<int64_t> shape, Location loc);
  RankedTensorType tensorType(const onnx::ValueInfoProto &info);
  Value constant(const onnx::TensorProto &t, Location loc);

  // --- Shared builders (Builders.cpp) -------------------------------------
  Value elementwise(Location loc, ValueRange inputs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
                    Type resultElement = {});
  Value broadcastAtRunTime(Location loc, ValueRange inputs, int64_t dim,
                           ArrayRef<unsigned> operands,
                           ArrayRef<int64_t> operandDims, int64_t &staticSize,
                           DenseMap<std::pair<unsigned, int64_t>, Value> &isOne);
  /// A shape operand (Reshape, Expand): constant, or built from symbolic
  /// dims by folded shape arithmetic. Per entry the static value (kDynamic
  /// when symbolic) and, for symbolic ones, the runtime size.
  struct ShapeOperand {
    SmallVector<int64_t> values;
    SmallVector<Value> symbolicSizes;
  };
  std::optional<ShapeOperand> shapeOperand(const onnx::NodeProto &node,
                                           ArrayRef<Value> inputs,
                                           unsigned index);
  /// Run-time checks that the symbolic entries of `shape` (sizes computed on
  /// the host, T - 3 say) are not negative: "node 'NAME': " + `what` +
  /// " {0} in dim D is negative". A dim read off a tensor needs none.
  void checkNotNegative(Location loc, const ShapeOperand &shape,
                        StringRef what);
  /// `x` as `resultType` (sizes `outputSizes`, dim `inferred` the one an
  /// ONNX -1 leaves): expand/collapse_shape where the sizes provably keep
  /// each group's elements, else a tensor.reshape behind a run-time check
  /// of the element count.
  Value reshape(Location loc, Value x, RankedTensorType resultType,
                function_ref<SmallVector<OpFoldResult>()> outputSizes,
                int64_t inferred = -1);
  /// The init whose shape the scf.for result `result` keeps: its body
  /// writes only into the carried value (insert_slice into it, or ops with
  /// it as their destination), as the importer's CumSum does. Null if not.
  static Value shapeKeepingLoopInit(OpResult result);
  /// A size as a constant times a product of symbolic dims (value, dim).
  struct SizeProduct {
    int64_t constant = 1;
    SmallVector<std::pair<Value, int64_t>> dims;
  };
  void pairOff(SizeProduct &a, SizeProduct &b);
  bool sameProduct(SizeProduct a, SizeProduct b);
  std::optional<int64_t>
  constantInferredSize(Value x, ArrayRef<OpFoldResult> sizes, int64_t inferred);
  static bool isSizeProduct(Value size);
  void computedShapeEntries(Location loc, Value x, MutableArrayRef<Value> sizes,
                            bool allowZero);
  OpFoldResult factoredInferredSize(Location loc, Value x,
                                    ArrayRef<OpFoldResult> sizes,
                                    int64_t inferred);
  void checkElementCount(Location loc, Value x, ArrayRef<OpFoldResult> sizes);
  void checkPadsFit(Location loc, Value x, ArrayRef<int64_t> pads,
                    bool reflect);
  Value cropped(Location loc, Value x, ArrayRef<int64_t> pads);
  Value padValue(const onnx::NodeProto &node, Location loc,
                 ArrayRef<Value> inputs, Type element);
  LogicalResult padBySizes(const onnx::NodeProto &node, Location loc,
                           ArrayRef<Value> inputs, StringRef mode);
  bool groupsKeepSizes(Value x, ArrayRef<ReassociationIndices> groups,
                       ArrayRef<OpFoldResult> sizes, int64_t inferred,
                       SmallVectorImpl<unsigned> &unproven);
  void checkGroupSizes(Location loc, Value x,
                       ArrayRef<ReassociationIndices> groups,
                       ArrayRef<OpFoldResult> sizes, ArrayRef<unsigned> which);
  /// Whether two sizes are dims of graph inputs that the graph declares
  /// independent (different dims, no shared dim_param).
  bool distinctInputDims(Value x, int64_t dx, Value y, int64_t dy);
  std::optional<SmallVector<ReassociationIndices>>
  symbolicGroups(Value x, ArrayRef<OpFoldResult> sizes, int64_t inferred);
  Value matmul(Location loc, Value a, Value b);
  Value reduceAxis(Location loc, Value x, int64_t axis, double init,
                   function_ref<Value(OpBuilder &, Location, Value, Value)> fn);
  Value withReduced(Location loc, Value x, Value reduced, int64_t axis,
                    function_ref<Value(OpBuilder &, Location, Value, Value)> fn);
  Value softmax(Location loc, Value x, int64_t axis, bool log);
  Value logSumExp(Location loc, Value x, const llvm::SmallBitVector &reduced,
                  bool keep);
  // Batch and instance normalisation (ops/ReductionOps.cpp).
  LogicalResult checkChannelParams(const onnx::NodeProto &node, Location loc,
                                   Value x, ValueRange params);
  std::pair<Value, Value> meanAndVariance(Location loc, Value x,
                                          const llvm::SmallBitVector &reduced);
  std::tuple<Value, Value, AffineMap> instanceStatistics(Location loc, Value x);
  /// (x - mean) / sqrt(var + epsilon) * scale + bias, the statistics read
  /// through `statsMap`, scale and bias through `paramMap` (dim 1 if null).
  Value normalized(Location loc, Value x, Value mean, Value var,
                   AffineMap statsMap, Value scale, Value bias, float epsilon,
                   AffineMap paramMap = {});
  /// Reduces the dims of float `x` marked in `reduced` (kept as size 1 when
  /// `keepDims`): acc = combine(x, extra..., acc) from `init`. `extra`
  /// operands have the keepdims result shape (e.g. a mean). `accumulator`:
  /// the result's element type when not x's (f64 sums of f32 data).
  Value reduce(Location loc, Value x, const llvm::SmallBitVector &reduced,
               bool keepDims, double init, ValueRange extra,
               function_ref<Value(OpBuilder &, Location, ValueRange, Value)>
                   combine,
               Type accumulator = {});
  /// `x` without its `reduced` dims, which are 1 (keepdims = 0).
  Value droppedDims(Location loc, Value x, const llvm::SmallBitVector &reduced);
  /// `x` as `type`, whose static dims a convc.check before it established
  /// (a squeezed symbolic dim is 1, a channel count).
  Value refinedAfterCheck(Location loc, Value x, RankedTensorType type);
  /// The number of elements of `x` in its `reduced` dims, as f32.
  Value reducedCount(Location loc, Value x, const llvm::SmallBitVector &reduced);
  /// A run-time check that index values `lhs` `pred` `rhs`: a failure fails
  /// the call with "node 'NAME': " + `message` ({0} lhs, {1} rhs).
  void checkSizes(Location loc, arith::CmpIPredicate pred, Value lhs,
                  Value rhs, const std::string &message);
  /// A run-time check, before a loop that reads or writes `x` at clamped,
  /// checked indices along `dim`, that the dim is not empty while the loop
  /// runs (`trips`: its sizes). Clamping keeps an index in bounds only in a
  /// dim of at least one element. Fails the call with "node 'NAME': " +
  /// `what`. Nothing where the sizes are static.
  void checkIndexedDimNotEmpty(Location loc, Value x, int64_t dim,
                               ArrayRef<OpFoldResult> trips, StringRef what);
  /// Whether `x` has an element along `dim` in every run: a static size
  /// >= 1, a graph input's dim (the runtime refuses empty inputs), or a dim
  /// that ops keeping sizes, and pads adding to them, take from one.
  bool knownNonEmpty(Value x, int64_t dim);
  /// A lower bound on a scalar size computation (Builders.cpp says which
  /// ops it reads), or none.
  std::optional<double> sizeLowerBound(Value size, int depth = 0);
  /// The one element of a rank-0 (or all-ones shape) tensor.
  Value scalar(Location loc, Value t);
  /// Like scalar(), but an elementwise op over one-element tensors (a Cast
  /// of a size to float, arithmetic on it) is recomputed on the scalars, so
  /// a value derived from sizes stays host arithmetic: a Range's float
  /// bounds need no read back from a device buffer.
  Value hostScalar(Location loc, Value t, int depth = 0);
  /// The one int64 of a scalar or one-element vector input (TopK's k,
  /// Trilu's k): a constant when it is one, else read at run time (a
  /// symbolic length checked to be 1); null after an error.
  Value oneInt(Location loc, Value v, StringRef what);

  /// The node an importer location names (nodeLoc).
  static std::string nodeName(Location loc) {
    auto name = dyn_cast<NameLoc>(loc);
    return name ? name.getName().str() : "?";
  }

  /// Binds the node's first output to `result`; failure when it is null
  /// (an error was reported).
  LogicalResult define(const onnx::NodeProto &node, Value result) {
    if (!result)
      return failure();
    values[node.output(0)] = result;
    return success();
  }

  // --- Op importers, by category (ops/*.cpp) ------------------------------
  // Each has the registry's signature: the node, its location, its inputs
  // (null for an omitted optional one).
#define CONVC_ONNX_IMPORTER(name)                                              \
  LogicalResult name(const onnx::NodeProto &node, Location loc,                \
                     ArrayRef<Value> inputs);
  // ops/ElementwiseOps.cpp
  CONVC_ONNX_IMPORTER(importCompare)
  CONVC_ONNX_IMPORTER(importLogical)
  CONVC_ONNX_IMPORTER(importWhere)
  CONVC_ONNX_IMPORTER(importPow)
  CONVC_ONNX_IMPORTER(importCast)
  CONVC_ONNX_IMPORTER(importCastLike)
  CONVC_ONNX_IMPORTER(importLeakyRelu)
  CONVC_ONNX_IMPORTER(importClip)
  CONVC_ONNX_IMPORTER(importMaxMin)
  CONVC_ONNX_IMPORTER(importMod)
  CONVC_ONNX_IMPORTER(importGelu)
  CONVC_ONNX_IMPORTER(importTrilu)
  // ops/ActivationOps.cpp
  CONVC_ONNX_IMPORTER(importActivation)
  CONVC_ONNX_IMPORTER(importPRelu)
  CONVC_ONNX_IMPORTER(importSignRound)
  CONVC_ONNX_IMPORTER(importFloatClass)
  CONVC_ONNX_IMPORTER(importSumMean)
  CONVC_ONNX_IMPORTER(importShrink)
  CONVC_ONNX_IMPORTER(importDropout)
  // ops/ShapeOps.cpp
  CONVC_ONNX_IMPORTER(importSplit)
  CONVC_ONNX_IMPORTER(importRange)
  CONVC_ONNX_IMPORTER(importConstantOfShape)
  CONVC_ONNX_IMPORTER(importSqueezeUnsqueeze)
  CONVC_ONNX_IMPORTER(importReshape)
  CONVC_ONNX_IMPORTER(importPad)
  CONVC_ONNX_IMPORTER(importExpand)
  CONVC_ONNX_IMPORTER(importTranspose)
  CONVC_ONNX_IMPORTER(importConcat)
  CONVC_ONNX_IMPORTER(importIdentity)
  CONVC_ONNX_IMPORTER(importFlatten)
  // GraphImporter.cpp, beside initializers
  CONVC_ONNX_IMPORTER(importConstant)
  // ops/IndexingOps.cpp
  CONVC_ONNX_IMPORTER(importGather)
  CONVC_ONNX_IMPORTER(importGatherElements)
  CONVC_ONNX_IMPORTER(importSlice)
  CONVC_ONNX_IMPORTER(importTile)
  // ops/ScatterOps.cpp
  CONVC_ONNX_IMPORTER(importGatherND)
  CONVC_ONNX_IMPORTER(importScatterND)
  CONVC_ONNX_IMPORTER(importScatterElements)
  // ops/SelectionOps.cpp
  CONVC_ONNX_IMPORTER(importArgExtreme)
  CONVC_ONNX_IMPORTER(importHardmax)
  CONVC_ONNX_IMPORTER(importTopK)
  // ops/ReductionOps.cpp
  CONVC_ONNX_IMPORTER(importCumSum)
  CONVC_ONNX_IMPORTER(importSoftmax)
  CONVC_ONNX_IMPORTER(importReduce)
  CONVC_ONNX_IMPORTER(importLayerNormalization)
  CONVC_ONNX_IMPORTER(importBatchNormalization)
  CONVC_ONNX_IMPORTER(importGroupNormalization)
  CONVC_ONNX_IMPORTER(importInstanceNormalization)
  CONVC_ONNX_IMPORTER(importMeanVarianceNormalization)
  CONVC_ONNX_IMPORTER(importGlobalPool)
  // ops/NNOps.cpp (which also registers Einsum and the pools)
  CONVC_ONNX_IMPORTER(importMatMul)
  CONVC_ONNX_IMPORTER(importGemm)
  CONVC_ONNX_IMPORTER(importConv)
  // ops/ConvTransposeOp.cpp: ConvTranspose, and per spatial dim the spread
  // input's size, the conv's pads and its output size.
  CONVC_ONNX_IMPORTER(importConvTranspose)
  LogicalResult transposedConvDim(Location loc, Value in, int64_t i,
                                  int64_t span, int64_t stride,
                                  int64_t padBefore, int64_t padAfter,
                                  int64_t outputPadding,
                                  std::optional<int64_t> outputSize,
                                  StringRef autoPad, Value &spread,
                                  Value &before, Value &after, Value &out);
  // ops/EinsumOp.cpp
  CONVC_ONNX_IMPORTER(importEinsum)
  // ops/PoolingOps.cpp
  CONVC_ONNX_IMPORTER(importPool)
  // ops/ControlFlowOps.cpp
  CONVC_ONNX_IMPORTER(importIf)
  // ops/OneHotOps.cpp
  CONVC_ONNX_IMPORTER(importOneHot)
  CONVC_ONNX_IMPORTER(importEyeLike)
  // ops/ConvcDomainOps.cpp
  CONVC_ONNX_IMPORTER(importConvcGLU)
  CONVC_ONNX_IMPORTER(importConvcLightweightConv)
  CONVC_ONNX_IMPORTER(importConvcDynamicConv)
  CONVC_ONNX_IMPORTER(importConvcTaLKConv)
#undef CONVC_ONNX_IMPORTER

  // The single-result ops above, as the value they build (null after an
  // error), beside their importers.
  Value compare(const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs);
  Value logical(const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs);
  Value where(Location loc, ArrayRef<Value> inputs);
  Value range(Location loc, ArrayRef<Value> inputs);
  Value constantOfShape(const onnx::NodeProto &node, Location loc,
                        ArrayRef<Value> inputs);
  Value gatherElements(const onnx::NodeProto &node, Location loc,
                       ArrayRef<Value> inputs);
  Value scatterND(const onnx::NodeProto &node, Location loc,
                  ArrayRef<Value> inputs);
  Value scatterNDAtRunTime(Location loc, Value data, Value indices,
                           Value updates, StringRef reduction);
  Value cumSum(const onnx::NodeProto &node, Location loc,
               ArrayRef<Value> inputs);
  Value conv(const onnx::NodeProto &node, Location loc, ArrayRef<Value> inputs);
  /// `x` cast to the ONNX element type `to` (rounded to half types, wrapped
  /// to narrow ints); null after an error.
  Value castTo(Location loc, Value x, int64_t to);
  /// The ONNX element type the graph declares `name` with (an input,
  /// value_info, output, initializer or Constant).
  std::optional<int> declaredElementType(const std::string &name);
  /// The rank the graph declares `name` with (input, value_info, output).
  std::optional<int64_t> declaredRank(const std::string &name);
  const onnx::ValueInfoProto *declaredInfo(const std::string &name);

  // --- Folding on the host (folding/*.cpp) --------------------------------
  /// A 1-D int64 (or bool) value from shape arithmetic with symbolic dims:
  /// per element, the compile-time value or the host's index value (a dim,
  /// or arithmetic on dims).
  struct ShapeEntry {
    std::optional<int64_t> value;
    Value dim;
  };
  /// Binds the node's output to an int64 constant; false (not folded) when
  /// `data` does not fill `shape`.
  bool defineInts(const onnx::NodeProto &node, Location loc,
                  ArrayRef<int64_t> data, ArrayRef<int64_t> shape);
  /// Binds the node's output to host-evaluated entries (folding/
  /// HostArithmetic.cpp): a constant when all are known, else tracked and
  /// defined from the host values.
  bool defineTracked(const onnx::NodeProto &node, Location loc,
                     ArrayRef<ShapeEntry> entries, ArrayRef<int64_t> shape,
                     bool isBool);
  /// A tracked or constant 1-D int64 operand `k`, per element.
  std::optional<SmallVector<ShapeEntry>>
  shapeEntries(const onnx::NodeProto &node, ArrayRef<Value> inputs, size_t k);
  /// The shape vector `node` passes through unchanged (Squeeze of a
  /// tracked vector, say) stays tracked.
  void trackThrough(const onnx::NodeProto &node);

  /// Whether dim `da` of `a` and `db` of `b` have one size at run time
  /// (Builders.cpp): by construction, by value bounds, or by the graph
  /// inputs' dim_params (which the runtime checks).
  bool sameSize(Value x, int64_t dx, Value y, int64_t dy);
  /// Reshape's -1 by cancelling matching dims (ops/ShapeOps.cpp).
  std::optional<int64_t> cancelledDim(Value input, ArrayRef<OpFoldResult> sizes,
                                      int64_t inferred);
  /// The dim_param a graph input's symbolic dim was declared with.
  DenseMap<std::pair<Value, int64_t>, std::string> dimParams;

  MLIRContext *ctx;
  const onnx::GraphProto &graph;
  OpBuilder b;
  std::map<std::string, Value> values;
  std::map<std::string, SmallVector<ShapeEntry>> partialShapes;
  int64_t opset; // of the default domain
  bool warnedDouble = false;

  /// A branch's initializers and nodes, imported in place (If, whose
  /// branch reads the outer graph's values by name).
  LogicalResult importSubgraph(const onnx::GraphProto &subgraph, Location loc);

private:
  LogicalResult importNode(const onnx::NodeProto &node);
  Location nodeLoc(const onnx::NodeProto &node) {
    return onnxLocation(ctx, onnxNodeName(node));
  }
};

} // namespace convc::onnx_import

#endif // CONVC_FRONTENDS_ONNX_GRAPHIMPORTER_H
