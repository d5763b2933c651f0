//===- ONNXImporter.cpp - ONNX graphs to linalg-on-tensors ----------------===//
//
// One func.func per graph. Elementwise ops follow numpy broadcasting (ONNX's
// multidirectional broadcasting) as linalg.generic with broadcast maps;
// dynamic sizes come from whichever operand is not broadcast along a
// dimension. Every op is located at the ONNX node's name.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ONNXImporter.h"

#include "dialect/ConvcDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <fstream>
#include <limits>
#include <map>
#include <onnx/onnx_pb.h>

using namespace mlir;

namespace convc {

namespace {

constexpr int64_t kMinOpset = 7, kMaxOpset = 17;
/// The exact-import domain (docs/onnx.md).
constexpr const char *kConvcDomain = "convc";

/// Elementwise float ops, each as the scalar computation it yields.
using UnaryBuilder = Value (*)(OpBuilder &, Location, Value);
const llvm::StringMap<UnaryBuilder> &unaryOps() {
  static const llvm::StringMap<UnaryBuilder> ops = {
      {"Relu",
       [](OpBuilder &b, Location l, Value x) -> Value {
         return arith::MaximumFOp::create(
             b, l, x, arith::ConstantOp::create(b, l, b.getF32FloatAttr(0)));
       }},
      {"Sigmoid", // 1 / (1 + exp(-x)), the form convc-raise-glu matches
       [](OpBuilder &b, Location l, Value x) -> Value {
         Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1));
         Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
         return arith::DivFOp::create(b, l, one,
                                      arith::AddFOp::create(b, l, one, e));
       }},
      {"Reciprocal",
       [](OpBuilder &b, Location l, Value x) -> Value {
         return arith::DivFOp::create(
             b, l, arith::ConstantOp::create(b, l, b.getF32FloatAttr(1)), x);
       }},
      {"Tanh", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::TanhOp::create(b, l, x);
       }},
      {"Neg", [](OpBuilder &b, Location l, Value x) -> Value {
         return arith::NegFOp::create(b, l, x);
       }},
      {"Sqrt", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::SqrtOp::create(b, l, x);
       }},
      {"Exp", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::ExpOp::create(b, l, x);
       }},
      {"Abs", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::AbsFOp::create(b, l, x);
       }},
      {"Erf", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::ErfOp::create(b, l, x);
       }},
      {"Floor", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::FloorOp::create(b, l, x);
       }},
      {"Ceil", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::CeilOp::create(b, l, x);
       }},
      {"Sin", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::SinOp::create(b, l, x);
       }},
      {"Cos", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::CosOp::create(b, l, x);
       }},
      {"Log", [](OpBuilder &b, Location l, Value x) -> Value {
         return math::LogOp::create(b, l, x);
       }}};
  return ops;
}

/// Add/Sub/Mul/Div: the float op, and the int64 one (Div truncates, as
/// numpy's C semantics do).
struct BinaryBuilders {
  Value (*onFloats)(OpBuilder &, Location, Value, Value);
  Value (*onInts)(OpBuilder &, Location, Value, Value);
};
template <typename FloatOp, typename IntOp>
constexpr BinaryBuilders binary() {
  return {[](OpBuilder &b, Location l, Value x, Value y) -> Value {
            return FloatOp::create(b, l, x, y);
          },
          [](OpBuilder &b, Location l, Value x, Value y) -> Value {
            return IntOp::create(b, l, x, y);
          }};
}
const llvm::StringMap<BinaryBuilders> &binaryOps() {
  static const llvm::StringMap<BinaryBuilders> ops = {
      {"Add", binary<arith::AddFOp, arith::AddIOp>()},
      {"Sub", binary<arith::SubFOp, arith::SubIOp>()},
      {"Mul", binary<arith::MulFOp, arith::MulIOp>()},
      {"Div", binary<arith::DivFOp, arith::DivSIOp>()}};
  return ops;
}

/// The convc domain's ops (docs/onnx.md, "The convc domain").
const std::vector<std::string> &convcDomainOps() {
  static const std::vector<std::string> ops = {"GLU", "LightweightConv",
                                               "DynamicConv", "TaLKConv"};
  return ops;
}

/// Default-domain ops imported only where shape-arithmetic folding
/// evaluates them (not claimed as supported on runtime data). None left:
/// the hook stays for ops whose runtime form is not written yet.
bool foldOnlyOp(StringRef) { return false; }

/// The values of a compile-time int64 tensor (an initializer, a Constant
/// node, or folded shape arithmetic).
std::optional<SmallVector<int64_t>> constantInts(Value v) {
  DenseIntElementsAttr attr;
  // Shapes, axes and indices are small; a huge (splat) constant is data.
  // The element count is taken dim by dim: a product of fuzzed dims can
  // overflow getNumElements().
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isInteger(64))
    return std::nullopt;
  int64_t count = 1;
  for (int64_t d : attr.getType().getShape())
    if (d < 0 || (d > 0 && count > (int64_t(1) << 20) / d))
      return std::nullopt;
    else
      count *= d;
  return llvm::to_vector(llvm::map_range(
      attr, [](const APInt &x) { return x.getSExtValue(); }));
}

/// The error for a shape-like operand that is not a compile-time value.
InFlightDiagnostic notConstant(Location loc, StringRef what) {
  return emitError(loc) << what
                        << " must be a constant (an initializer or a "
                           "Constant node): convc compiles shapes statically";
}

class Importer {
public:
  Importer(MLIRContext *ctx, const onnx::GraphProto &graph, int64_t opset)
      : ctx(ctx), graph(graph), b(ctx), opset(opset) {}

  OwningOpRef<ModuleOp> run();

private:
  Type elementType(int onnxType, Location loc, StringRef what);
  RankedTensorType tensorType(const onnx::ValueInfoProto &info);
  Value constant(const onnx::TensorProto &t, Location loc);
  LogicalResult importNode(const onnx::NodeProto &node);
  Value elementwise(Location loc, ValueRange inputs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
                    Type resultElement = {});
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
  /// `x` as `resultType` through expand/collapse_shape; `outputSizes` gives
  /// the result sizes an expansion needs. Null (after an error) when the
  /// reshape splits or merges symbolic dims across groups.
  Value reshape(Location loc, Value x, RankedTensorType resultType,
                function_ref<SmallVector<OpFoldResult>()> outputSizes);
  Value matmul(Location loc, Value a, Value b);
  Value reduceAxis(Location loc, Value x, int64_t axis, double init,
                   function_ref<Value(OpBuilder &, Location, Value, Value)> fn);
  Value withReduced(Location loc, Value x, Value reduced, int64_t axis,
                    function_ref<Value(OpBuilder &, Location, Value, Value)> fn);
  Value softmax(Location loc, Value x, int64_t axis, bool log);
  /// Reduces the dims of float `x` marked in `reduced` (kept as size 1 when
  /// `keepDims`): acc = combine(x, extra..., acc) from `init`. `extra`
  /// operands have the keepdims result shape (e.g. a mean).
  Value reduce(Location loc, Value x, const llvm::SmallBitVector &reduced,
               bool keepDims, double init, ValueRange extra,
               function_ref<Value(OpBuilder &, Location, ValueRange, Value)>
                   combine);
  /// The number of elements of `x` in its `reduced` dims, as f32.
  Value reducedCount(Location loc, Value x, const llvm::SmallBitVector &reduced);
  Value conv(const onnx::NodeProto &node, Location loc, ArrayRef<Value> inputs);
  // Ops on runtime data that conv exports use around their windows
  // (positions, interpolation weights, gathers, masks).
  Value compare(const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs);
  Value logical(const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs);
  Value where(Location loc, ArrayRef<Value> inputs);
  Value cumSum(const onnx::NodeProto &node, Location loc,
               ArrayRef<Value> inputs);
  Value range(Location loc, ArrayRef<Value> inputs);
  Value gatherElements(const onnx::NodeProto &node, Location loc,
                       ArrayRef<Value> inputs);
  Value constantOfShape(const onnx::NodeProto &node, Location loc,
                        ArrayRef<Value> inputs);
  LogicalResult split(const onnx::NodeProto &node, Location loc,
                      ArrayRef<Value> inputs);
  Value scatterND(const onnx::NodeProto &node, Location loc,
                  ArrayRef<Value> inputs);
  /// The one element of a rank-0 (or all-ones shape) tensor.
  Value scalar(Location loc, Value t);
  bool foldWeightComputation(const onnx::NodeProto &node, Location loc,
                             ArrayRef<Value> inputs);
  bool foldShapeArithmetic(const onnx::NodeProto &node, Location loc,
                           ArrayRef<Value> inputs);
  LogicalResult importConvcNode(const onnx::NodeProto &node, Location loc,
                                ArrayRef<Value> inputs);
  Location nodeLoc(const onnx::NodeProto &node) {
    std::string name = node.name().empty() ? node.op_type() + "(" +
                                                 node.output(0) + ")"
                                           : node.name();
    return NameLoc::get(StringAttr::get(ctx, name));
  }

  MLIRContext *ctx;
  const onnx::GraphProto &graph;
  OpBuilder b;
  std::map<std::string, Value> values;
  /// A 1-D int64 value from shape arithmetic with symbolic dims: per
  /// element, the compile-time value or the runtime dim (an index value).
  struct ShapeEntry {
    std::optional<int64_t> value;
    Value dim;
  };
  std::map<std::string, SmallVector<ShapeEntry>> partialShapes;
  int64_t opset; // of the default domain
  bool warnedDouble = false;
};

Type Importer::elementType(int onnxType, Location loc, StringRef what) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::INT64:
    return b.getI64Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  case onnx::TensorProto::DOUBLE:
    // convc computes in float32: float64 values (exporters' sinusoid tables,
    // say) are imported as float32, with one warning per model.
    if (!warnedDouble) {
      emitWarning(loc) << what
                       << ": float64 is computed in float32 (convc's float "
                          "type); results may differ from a float64 run by "
                          "float32 rounding";
      warnedDouble = true;
    }
    return b.getF32Type();
  default:
    emitError(loc) << what << ": ONNX element type "
                   << onnx::TensorProto::DataType_Name(
                          static_cast<onnx::TensorProto::DataType>(onnxType))
                   << " is not supported (float, int64 and, inside the "
                      "graph, bool are)";
    return Type();
  }
}

RankedTensorType Importer::tensorType(const onnx::ValueInfoProto &info) {
  Location loc = NameLoc::get(StringAttr::get(ctx, info.name()));
  if (!info.type().has_tensor_type()) {
    emitError(loc) << "graph value '" << info.name()
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
    return {};
  }
  const auto &tt = info.type().tensor_type();
  if (tt.elem_type() == onnx::TensorProto::BOOL ||
      tt.elem_type() == onnx::TensorProto::DOUBLE) {
    emitError(loc) << "graph value '" << info.name() << "': "
                   << (tt.elem_type() == onnx::TensorProto::BOOL ? "bool"
                                                                 : "float64")
                   << " graph inputs and outputs are not supported (the "
                      "runtime passes float32 and int64 tensors; inside the "
                      "graph, bool is supported and float64 is computed in "
                      "float32)";
    return {};
  }
  Type element = elementType(tt.elem_type(), loc, "'" + info.name() + "'");
  if (!element)
    return {};
  if (!tt.has_shape()) {
    emitError(loc) << "graph value '" << info.name()
                   << "' has no shape: its rank must be known";
    return {};
  }
  SmallVector<int64_t> shape;
  for (const auto &dim : tt.shape().dim()) {
    if (dim.has_dim_value() && dim.dim_value() < 0) {
      emitError(loc) << "graph value '" << info.name()
                     << "' has a negative dim " << dim.dim_value();
      return {};
    }
    shape.push_back(dim.has_dim_value() ? dim.dim_value()
                                        : ShapedType::kDynamic);
  }
  return RankedTensorType::get(shape, element);
}

Value Importer::constant(const onnx::TensorProto &t, Location loc) {
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  {
    // Sizes come from the file: reject negative or absurd ones before
    // anything is allocated.
    int64_t total = 1;
    for (int64_t d : shape)
      if (d < 0 || d > (int64_t(1) << 32) ||
          (total *= std::max<int64_t>(d, 1)) > (int64_t(1) << 32)) {
        emitError(loc) << "'" << t.name() << "': dims are negative or too "
                       << "large";
        return {};
      }
  }
  if (t.data_type() == onnx::TensorProto::INT32) {
    // int32 constants (indices, shape pieces) are widened to int64, the
    // integer type convc computes with.
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    SmallVector<int64_t> data(n);
    if (t.has_raw_data() && int64_t(t.raw_data().size()) == 4 * n) {
      for (int64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, t.raw_data().data() + 4 * i, 4);
        data[i] = v;
      }
    } else if (t.int32_data_size() == n) {
      for (int64_t i = 0; i < n; ++i)
        data[i] = t.int32_data(i);
    } else {
      emitError(loc) << "'" << t.name() << "': expected " << n
                     << " int32 values";
      return {};
    }
    return arith::ConstantOp::create(
        b, loc,
        DenseIntElementsAttr::get(RankedTensorType::get(shape, b.getI64Type()),
                                  data));
  }
  Type element = elementType(t.data_type(), loc, "'" + t.name() + "'");
  if (!element)
    return {};
  auto type = RankedTensorType::get(shape, element);
  int64_t n = type.getNumElements();
  if (t.has_data_location() &&
      t.data_location() == onnx::TensorProto::EXTERNAL) {
    emitError(loc) << "'" << t.name()
                   << "': external tensor data is not supported";
    return {};
  }
  // Values come either as raw little-endian bytes or in the typed field.
  auto read = [&](auto typed, StringRef what) -> DenseElementsAttr {
    using T = typename decltype(typed)::value_type;
    std::vector<T> data(n);
    if (t.has_raw_data() && int64_t(t.raw_data().size()) == n * int64_t(sizeof(T)))
      std::memcpy(data.data(), t.raw_data().data(), n * sizeof(T));
    else if (typed.size() == n)
      std::copy(typed.begin(), typed.end(), data.begin());
    else {
      emitError(loc) << "'" << t.name() << "': expected " << n << " " << what
                     << " values";
      return {};
    }
    return DenseElementsAttr::get(type, llvm::ArrayRef<T>(data));
  };
  if (element.isInteger(1)) { // one byte each, raw or in int32_data
    SmallVector<bool> data(n);
    if (t.has_raw_data() && int64_t(t.raw_data().size()) == n)
      for (int64_t i = 0; i < n; ++i)
        data[i] = t.raw_data()[i] != 0;
    else if (t.int32_data_size() == n)
      for (int64_t i = 0; i < n; ++i)
        data[i] = t.int32_data(i) != 0;
    else {
      emitError(loc) << "'" << t.name() << "': expected " << n
                     << " bool values";
      return {};
    }
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, data));
  }
  if (t.data_type() == onnx::TensorProto::DOUBLE) { // demoted (see above)
    std::vector<double> data(n);
    if (t.has_raw_data() && int64_t(t.raw_data().size()) == 8 * n)
      std::memcpy(data.data(), t.raw_data().data(), 8 * n);
    else if (t.double_data_size() == n)
      std::copy(t.double_data().begin(), t.double_data().end(), data.begin());
    else {
      emitError(loc) << "'" << t.name() << "': expected " << n
                     << " double values";
      return {};
    }
    SmallVector<float> narrow(data.begin(), data.end());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<float>(narrow)));
  }
  DenseElementsAttr attr = element.isF32() ? read(t.float_data(), "float")
                                           : read(t.int64_data(), "int64");
  if (!attr)
    return {};
  return arith::ConstantOp::create(b, loc, attr);
}

std::optional<Importer::ShapeOperand>
Importer::shapeOperand(const onnx::NodeProto &node, ArrayRef<Value> inputs,
                       unsigned index) {
  if (inputs.size() <= index || !inputs[index])
    return std::nullopt;
  ShapeOperand shape;
  if (auto values = constantInts(inputs[index])) {
    shape.values = *values;
    shape.symbolicSizes.resize(values->size());
    return shape;
  }
  auto it = partialShapes.find(node.input(index));
  if (it == partialShapes.end())
    return std::nullopt;
  for (const ShapeEntry &e : it->second) {
    shape.values.push_back(e.value ? *e.value : ShapedType::kDynamic);
    shape.symbolicSizes.push_back(e.value ? Value() : e.dim);
  }
  return shape;
}

Value Importer::reshape(Location loc, Value x, RankedTensorType resultType,
                        function_ref<SmallVector<OpFoldResult>()> outputSizes) {
  auto type = cast<RankedTensorType>(x.getType());
  // An expansion may split off at most one dynamic size per group: LLVM
  // 22's expand-strided-metadata crashes on more (llvm/llvm-project#186830,
  // fixed for LLVM 23 by #187844).
  auto oneDynamicPerGroup = [&](ArrayRef<ReassociationIndices> groups) {
    return llvm::all_of(groups, [&](const ReassociationIndices &group) {
      return llvm::count_if(group, [&](int64_t d) {
               return resultType.isDynamicDim(d);
             }) <= 1;
    });
  };
  if (auto groups = getReassociationIndicesForReshape(type, resultType)) {
    if (resultType.getRank() < type.getRank())
      return tensor::CollapseShapeOp::create(b, loc, resultType, x, *groups);
    if (resultType.getRank() > type.getRank() && oneDynamicPerGroup(*groups))
      return tensor::ExpandShapeOp::create(b, loc, resultType, x, *groups,
                                           outputSizes());
    if (resultType.getRank() == type.getRank())
      return x;
  }
  if (type.getRank() == 1 && resultType.getRank() == 1)
    return tensor::CastOp::create(b, loc, resultType, x);
  // Symbolic dims split or merged across groups ([T, B, H * R] ->
  // [T, B * H, R], [T, B * H, R] -> [T * B, d]): a tensor.reshape to the
  // result's sizes, symbolic ones from the shape operand's arithmetic.
  // (An expand_shape group with several dynamic sizes would do too, but
  // LLVM 22's expand-strided-metadata crashes on those: #186830.)
  if (!type.hasStaticShape() || !resultType.hasStaticShape()) {
    SmallVector<Value> sizes;
    for (OpFoldResult size : outputSizes())
      sizes.push_back(arith::IndexCastOp::create(
          b, loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, size)));
    Value shape = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({resultType.getRank()}, b.getI64Type()),
        sizes);
    return tensor::ReshapeOp::create(b, loc, resultType, x, shape);
  }
  // Static shapes: through one flat dimension.
  auto flatType =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  auto allDims = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  Value flat = x;
  if (type.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, x, allDims(0),
                                         ArrayRef<OpFoldResult>{
                                             b.getIndexAttr(1)});
  else if (type.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, x,
                                           allDims(type.getRank()));
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, flat,
                                           allDims(0));
  if (resultType.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       allDims(resultType.getRank()),
                                       outputSizes());
}

/// Numpy broadcasting of `inputs` into one linalg.generic (of
/// `resultElement`, by default the first input's element type).
Value Importer::elementwise(
    Location loc, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    Type resultElement) {
  int64_t rank = 0;
  for (Value v : inputs)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  // Result sizes: a static size > 1 wins; else a dynamic one; else 1.
  SmallVector<int64_t> shape(rank, 1);
  SmallVector<Value> source(rank); // operand giving a dynamic size
  SmallVector<int64_t> sourceDim(rank);
  for (Value v : inputs) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = t.getDimSize(i), &r = shape[offset + i];
      if (!ShapedType::isDynamic(d) && d != 1)
        r = d;
      else if (ShapedType::isDynamic(d) && r == 1) {
        r = ShapedType::kDynamic;
        source[offset + i] = v;
        sourceDim[offset + i] = i;
      }
    }
  }
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynamicSizes.push_back(
          tensor::DimOp::create(b, loc, source[i], sourceDim[i]));
  Type element = resultElement ? resultElement
                               : getElementTypeOrSelf(inputs[0].getType());
  auto resultType = RankedTensorType::get(shape, element);
  Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  SmallVector<AffineMap> maps;
  for (Value v : inputs) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - t.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < t.getRank(); ++i)
      exprs.push_back(t.getDimSize(i) == 1 && shape[offset + i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(offset + i, ctx));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc,
                                       body(nb, nloc, args.drop_back()));
             })
      .getResult(0);
}

Value Importer::reduce(
    Location loc, Value x, const llvm::SmallBitVector &reduced, bool keepDims,
    double init, ValueRange extra,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine) {
  assert((keepDims || extra.empty()) && "extra operands need keepdims");
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<Value> dynamicSizes;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < rank; ++i) {
    iterators.push_back(reduced[i] ? utils::IteratorType::reduction
                                   : utils::IteratorType::parallel);
    if (reduced[i]) {
      if (keepDims) {
        shape.push_back(1);
        outExprs.push_back(getAffineConstantExpr(0, ctx));
      }
      continue;
    }
    shape.push_back(type.getDimSize(i));
    outExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  auto outType = RankedTensorType::get(shape, b.getF32Type());
  Value start = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(init));
  Value acc =
      linalg::FillOp::create(
          b, loc, start,
          tensor::EmptyOp::create(b, loc, outType, dynamicSizes).getResult())
          .getResult(0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  maps.append(extra.size(), outMap);
  maps.push_back(outMap);
  SmallVector<Value> ins = {x};
  ins.append(extra.begin(), extra.end());
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ins, ValueRange{acc}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{combine(nb, l, args.drop_back(), args.back())});
             })
      .getResult(0);
}

Value Importer::reducedCount(Location loc, Value x,
                             const llvm::SmallBitVector &reduced) {
  Value count = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
  for (int i : reduced.set_bits()) {
    Value size = tensor::DimOp::create(b, loc, x, i);
    count = arith::MulFOp::create(
        b, loc, count,
        arith::SIToFPOp::create(
            b, loc, b.getF32Type(),
            arith::IndexCastOp::create(b, loc, b.getI64Type(), size)));
  }
  return count;
}

/// ONNX MatMul: numpy matmul with equal batch dimensions, or a matrix
/// right operand shared by every batch (what nn.Linear exports).
Value Importer::matmul(Location loc, Value a, Value bv) {
  auto ta = cast<RankedTensorType>(a.getType());
  auto tb = cast<RankedTensorType>(bv.getType());
  int64_t rank = ta.getRank();
  bool sharedRight = tb.getRank() == 2;
  if (rank < 2 || (tb.getRank() != rank && !sharedRight)) {
    emitError(loc) << "MatMul of ranks " << ta.getRank() << " and "
                   << tb.getRank()
                   << " is not supported yet (equal ranks >= 2, or a rank-2 "
                      "right operand, are)";
    return {};
  }
  // Loops: batch..., m, n, k.
  unsigned n = rank + 1;
  SmallVector<AffineExpr> ea, eb, ec;
  for (int64_t i = 0; i < rank - 2; ++i) {
    ea.push_back(getAffineDimExpr(i, ctx));
    if (!sharedRight)
      eb.push_back(getAffineDimExpr(i, ctx));
    ec.push_back(getAffineDimExpr(i, ctx));
  }
  AffineExpr m = getAffineDimExpr(rank - 2, ctx),
             nn = getAffineDimExpr(rank - 1, ctx),
             k = getAffineDimExpr(rank, ctx);
  ea.append({m, k});
  eb.append({k, nn});
  ec.append({m, nn});
  SmallVector<int64_t> shape(ta.getShape());
  shape.back() = tb.getShape().back();
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynamicSizes.push_back(tensor::DimOp::create(
          b, loc, i == rank - 1 ? bv : a, i == rank - 1 ? tb.getRank() - 1 : i));
  auto type = RankedTensorType::get(shape, ta.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(ta.getElementType()));
  Value init = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, type, dynamicSizes).getResult())
                   .getResult(0);
  SmallVector<utils::IteratorType> iterators(n, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{a, bv}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(n, 0, ea, ctx),
                                 AffineMap::get(n, 0, eb, ctx),
                                 AffineMap::get(n, 0, ec, ctx)},
             iterators,
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value p = arith::MulFOp::create(nb, nloc, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, nloc, arith::AddFOp::create(nb, nloc, args[2], p).getResult());
             })
      .getResult(0);
}

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                     StringRef name) {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

/// x reduced over `axis` (dropped) with `fn`, starting from `init`.
Value Importer::reduceAxis(
    Location loc, Value x, int64_t axis, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis)
      continue;
    shape.push_back(type.getDimSize(i));
    outExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  auto outType = RankedTensorType::get(shape, type.getElementType());
  Value start = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(type.getElementType(), init));
  Value initT = linalg::FillOp::create(
                    b, loc, start,
                    tensor::EmptyOp::create(b, loc, outType, dynamicSizes)
                        .getResult())
                    .getResult(0);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[axis] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{x}, ValueRange{initT},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)},
             iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, fn(nb, l, args[0], args[1]));
             })
      .getResult(0);
}

/// fn(x, reduced) elementwise, `reduced` broadcast along `axis`.
Value Importer::withReduced(
    Location loc, Value x, Value reduced, int64_t axis,
    function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<AffineExpr> redExprs;
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis)
      redExprs.push_back(getAffineDimExpr(i, ctx));
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  }
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  auto id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, reduced}, ValueRange{init},
             ArrayRef<AffineMap>{id, AffineMap::get(rank, 0, redExprs, ctx), id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, fn(nb, l, args[0], args[1]));
             })
      .getResult(0);
}

/// Softmax (or LogSoftmax) along `axis`, max-subtracted.
Value Importer::softmax(Location loc, Value x, int64_t axis, bool log) {
  Value max = reduceAxis(loc, x, axis, -INFINITY,
                         [](OpBuilder &nb, Location l, Value v, Value acc) {
                           return arith::MaxNumFOp::create(nb, l, v, acc)
                               .getResult();
                         });
  Value shifted = withReduced(loc, x, max, axis,
                              [](OpBuilder &nb, Location l, Value v, Value m) {
                                return arith::SubFOp::create(nb, l, v, m)
                                    .getResult();
                              });
  Value sum = reduceAxis(loc, shifted, axis, 0.0,
                         [](OpBuilder &nb, Location l, Value v, Value acc) {
                           Value e = math::ExpOp::create(nb, l, v);
                           return arith::AddFOp::create(nb, l, e, acc)
                               .getResult();
                         });
  return withReduced(loc, shifted, sum, axis,
                     [&](OpBuilder &nb, Location l, Value v, Value z) -> Value {
                       if (log)
                         return arith::SubFOp::create(
                             nb, l, v, math::LogOp::create(nb, l, z));
                       return arith::DivFOp::create(
                           nb, l, math::ExpOp::create(nb, l, v), z);
                     });
}

/// ONNX Conv (any spatial rank): groups, strides, dilations, pads or
/// auto_pad, bias. Channels are split into [group, per-group] so every
/// indexing map but the input's sliding window is a projected permutation.
Value Importer::conv(const onnx::NodeProto &node, Location loc,
                     ArrayRef<Value> inputs) {
  auto fail = [&](const Twine &message) {
    emitError(loc) << "Conv " << message;
    return Value();
  };
  if (inputs.size() < 2 || !inputs[0] || !inputs[1] ||
      !getElementTypeOrSelf(inputs[0].getType()).isF32() ||
      !getElementTypeOrSelf(inputs[1].getType()).isF32())
    return fail("needs float X and W");
  Value x = inputs[0], w = inputs[1];
  Value bias = inputs.size() > 2 ? inputs[2] : Value();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank)
    return fail("needs X [N, C, spatial...] and W [M, C/group, kernel...] of "
                "equal rank >= 3");
  if (!wType.hasStaticShape() || xType.isDynamicDim(1))
    return fail("needs a static W shape and channel count");
  auto ints = [&](StringRef name, int64_t size, int64_t fallback) {
    SmallVector<int64_t> v(size, fallback);
    if (const auto *a = findAttr(node, name))
      v.assign(a->ints().begin(), a->ints().end());
    return v;
  };
  int64_t group = 1;
  if (const auto *a = findAttr(node, "group"))
    group = a->i();
  SmallVector<int64_t> strides = ints("strides", spatial, 1),
                       dilations = ints("dilations", spatial, 1),
                       pads = ints("pads", 2 * spatial, 0);
  if (int64_t(strides.size()) != spatial ||
      int64_t(dilations.size()) != spatial ||
      int64_t(pads.size()) != 2 * spatial)
    return fail("strides/dilations/pads do not match the spatial rank");
  int64_t C = xType.getDimSize(1), M = wType.getDimSize(0),
          Cg = wType.getDimSize(1);
  if (group < 1 || C % group || M % group || C / group != Cg)
    return fail("group " + Twine(group) + " does not divide C = " + Twine(C) +
                " and M = " + Twine(M) + " into W's " + Twine(Cg) +
                " channels per group");
  if (bias && (cast<RankedTensorType>(bias.getType()).getRank() != 1 ||
               cast<RankedTensorType>(bias.getType()).getDimSize(0) != M))
    return fail("bias must be [M]");
  std::string autoPad = "NOTSET";
  if (const auto *a = findAttr(node, "auto_pad"))
    autoPad = a->s();
  // Padding and output sizes per spatial dim (folded when static).
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<OpFoldResult> low(rank, b.getIndexAttr(0)),
      high(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> outSizes;
  for (int64_t i = 0; i < spatial; ++i) {
    Value in = getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, x, i + 2));
    int64_t span = dilations[i] * (wType.getDimSize(i + 2) - 1) + 1;
    Value padBegin, padEnd, out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      // out = ceil(in / s); total = max((out - 1) * s + span - in, 0).
      out = b.createOrFold<arith::CeilDivUIOp>(loc, in, idx(strides[i]));
      Value need = b.createOrFold<arith::SubIOp>(
          loc,
          b.createOrFold<arith::AddIOp>(
              loc,
              b.createOrFold<arith::MulIOp>(
                  loc, b.createOrFold<arith::SubIOp>(loc, out, idx(1)),
                  idx(strides[i])),
              idx(span)),
          in);
      Value total = b.createOrFold<arith::MaxSIOp>(loc, need, idx(0));
      Value half = b.createOrFold<arith::DivUIOp>(loc, total, idx(2));
      Value rest = b.createOrFold<arith::SubIOp>(loc, total, half);
      padBegin = autoPad == "SAME_UPPER" ? half : rest;
      padEnd = autoPad == "SAME_UPPER" ? rest : half;
    } else if (autoPad == "NOTSET" || autoPad == "VALID") {
      bool valid = autoPad == "VALID";
      padBegin = idx(valid ? 0 : pads[i]);
      padEnd = idx(valid ? 0 : pads[i + spatial]);
      Value padded = b.createOrFold<arith::AddIOp>(
          loc, in, b.createOrFold<arith::AddIOp>(loc, padBegin, padEnd));
      out = b.createOrFold<arith::AddIOp>(
          loc,
          b.createOrFold<arith::DivUIOp>(
              loc, b.createOrFold<arith::SubIOp>(loc, padded, idx(span)),
              idx(strides[i])),
          idx(1));
    } else {
      return fail("auto_pad '" + autoPad + "' is not supported");
    }
    if (auto c = getConstantIntValue(out); c && *c < 1)
      return fail("output spatial size is " + Twine(*c) +
                  " (the kernel is larger than the padded input)");
    low[i + 2] = getAsOpFoldResult(padBegin);
    high[i + 2] = getAsOpFoldResult(padEnd);
    outSizes.push_back(getAsOpFoldResult(out));
  }
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value padded = tensor::PadOp::create(
      b, loc, RankedTensorType(), x, low, high, zero, /*nofold=*/false);
  // A depthwise 1-D conv (one kernel per channel, stride 1): the named
  // linalg op, which convc-raise-depthwise-conv recognises.
  if (spatial == 1 && group == C && M == C && Cg == 1 && strides[0] == 1) {
    int64_t K = wType.getDimSize(2);
    Value w2 = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({C, K}, f32), w,
        SmallVector<ReassociationIndices>{{0, 1}, {2}});
    SmallVector<int64_t> outShape = {xType.getDimSize(0), C,
                                     ShapedType::kDynamic};
    SmallVector<Value> outDynamic;
    if (xType.isDynamicDim(0))
      outDynamic.push_back(tensor::DimOp::create(b, loc, x, 0));
    if (auto c = getConstantIntValue(outSizes[0]))
      outShape[2] = *c;
    else
      outDynamic.push_back(cast<Value>(outSizes[0]));
    auto outType = RankedTensorType::get(outShape, f32);
    Value acc = linalg::FillOp::create(
                    b, loc, zero,
                    tensor::EmptyOp::create(b, loc, outType, outDynamic)
                        .getResult())
                    .getResult(0);
    Value y = linalg::DepthwiseConv1DNcwCwOp::create(
                  b, loc, TypeRange{outType}, ValueRange{padded, w2},
                  ValueRange{acc}, b.getI64TensorAttr({1}),
                  b.getI64TensorAttr({dilations[0]}))
                  .getResult(0);
    if (!bias)
      return y;
    // + bias[c], broadcast over n and t.
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    return linalg::GenericOp::create(
               b, loc, TypeRange{outType}, ValueRange{y, bias},
               ValueRange{tensor::EmptyOp::create(b, loc, outType, outDynamic)
                              .getResult()},
               ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx),
                                   AffineMap::get(3, 0, {d(1)}, ctx),
                                   AffineMap::getMultiDimIdentityMap(3, ctx)},
               SmallVector<utils::IteratorType>(3,
                                                utils::IteratorType::parallel),
               [](OpBuilder &nb, Location l, ValueRange args) {
                 linalg::YieldOp::create(
                     nb, l,
                     ValueRange{arith::AddFOp::create(nb, l, args[0], args[1])});
               })
        .getResult(0);
  }
  // [N, C, S...] -> [N, G, Cg, S...]; W [M, Cg, K...] -> [G, Mg, Cg, K...].
  int64_t Mg = M / group;
  auto paddedType = cast<RankedTensorType>(padded.getType());
  SmallVector<ReassociationIndices> xGroups = {{0}, {1, 2}};
  SmallVector<int64_t> xgShape = {paddedType.getDimSize(0), group, Cg};
  SmallVector<OpFoldResult> xgSizes = {
      tensor::getMixedSize(b, loc, padded, 0), b.getIndexAttr(group),
      b.getIndexAttr(Cg)};
  for (int64_t i = 0; i < spatial; ++i) {
    xGroups.push_back({i + 3});
    xgShape.push_back(paddedType.getDimSize(i + 2));
    xgSizes.push_back(tensor::getMixedSize(b, loc, padded, i + 2));
  }
  Value xg = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(xgShape, f32), padded, xGroups, xgSizes);
  SmallVector<ReassociationIndices> wGroups = {{0, 1}};
  SmallVector<int64_t> wgShape = {group, Mg};
  SmallVector<OpFoldResult> wgSizes = {b.getIndexAttr(group),
                                       b.getIndexAttr(Mg)};
  for (int64_t i = 1; i < rank; ++i) {
    wGroups.push_back({i + 1});
    wgShape.push_back(wType.getDimSize(i));
    wgSizes.push_back(b.getIndexAttr(wType.getDimSize(i)));
  }
  Value wg = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(wgShape, f32), w, wGroups, wgSizes);
  // Loops: n, g, m, o..., c, k...
  int64_t loops = 3 + spatial + 1 + spatial;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> xe = {d(0), d(1), d(3 + spatial)},
                          we = {d(1), d(2), d(3 + spatial)},
                          oe = {d(0), d(1), d(2)};
  for (int64_t i = 0; i < spatial; ++i) {
    AffineExpr o = d(3 + i), k = d(4 + spatial + i);
    xe.push_back(o * strides[i] + k * dilations[i]);
    we.push_back(k);
    oe.push_back(o);
  }
  SmallVector<int64_t> ogShape = {xType.getDimSize(0), group, Mg};
  SmallVector<Value> ogDynamic;
  if (xType.isDynamicDim(0))
    ogDynamic.push_back(tensor::DimOp::create(b, loc, x, 0));
  for (OpFoldResult s : outSizes) {
    if (auto c = getConstantIntValue(s)) {
      ogShape.push_back(*c);
    } else {
      ogShape.push_back(ShapedType::kDynamic);
      ogDynamic.push_back(cast<Value>(s));
    }
  }
  auto ogType = RankedTensorType::get(ogShape, f32);
  Value init = tensor::EmptyOp::create(b, loc, ogType, ogDynamic);
  if (bias) {
    // Start from the bias, broadcast over n and the spatial dims.
    Value bg = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({group, Mg}, f32), bias,
        SmallVector<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(group), b.getIndexAttr(Mg)});
    SmallVector<AffineExpr> be = {d(1), d(2)};
    init = linalg::GenericOp::create(
               b, loc, TypeRange{ogType}, ValueRange{bg}, ValueRange{init},
               ArrayRef<AffineMap>{AffineMap::get(3 + spatial, 0, be, ctx),
                                   AffineMap::getMultiDimIdentityMap(
                                       3 + spatial, ctx)},
               SmallVector<utils::IteratorType>(3 + spatial,
                                                utils::IteratorType::parallel),
               [](OpBuilder &nb, Location l, ValueRange args) {
                 linalg::YieldOp::create(nb, l, args[0]);
               })
               .getResult(0);
  } else {
    init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  }
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  for (int64_t i = 3 + spatial; i < loops; ++i)
    iterators[i] = utils::IteratorType::reduction;
  Value og =
      linalg::GenericOp::create(
          b, loc, TypeRange{ogType}, ValueRange{xg, wg}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(loops, 0, xe, ctx),
                              AffineMap::get(loops, 0, we, ctx),
                              AffineMap::get(loops, 0, oe, ctx)},
          iterators,
          [](OpBuilder &nb, Location l, ValueRange args) {
            Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
            linalg::YieldOp::create(nb, l,
                                    ValueRange{arith::AddFOp::create(
                                        nb, l, p, args[2])});
          })
          .getResult(0);
  SmallVector<ReassociationIndices> oGroups = {{0}, {1, 2}};
  SmallVector<int64_t> oShape = {ogShape[0], M};
  for (int64_t i = 0; i < spatial; ++i) {
    oGroups.push_back({i + 3});
    oShape.push_back(ogShape[3 + i]);
  }
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(oShape, f32), og, oGroups);
}

/// Shape arithmetic on compile-time values (what exporters wrap around
/// reshapes and slices: Shape -> Gather -> Div -> Cast -> Unsqueeze): folded
/// here, so the shape operands reach Reshape/Slice/... as constants. Shape of
/// a tensor with symbolic dims keeps the static ones known for Gather.
/// Returns true when the node was folded (its outputs are defined).
bool Importer::foldShapeArithmetic(const onnx::NodeProto &node, Location loc,
                                   ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  auto constInts = [&](Value v, SmallVector<int64_t> &data,
                       SmallVector<int64_t> &shape) {
    std::optional<SmallVector<int64_t>> values = constantInts(v);
    if (!values)
      return false;
    data = std::move(*values);
    shape = llvm::to_vector(cast<RankedTensorType>(v.getType()).getShape());
    return true;
  };
  auto define = [&](ArrayRef<int64_t> data, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, b.getI64Type());
    // Malformed operands (a fuzzed Gather of an empty vector, say) can leave
    // the data short of the shape: not folded then, the op imports as is.
    if (type.getNumElements() != int64_t(data.size()))
      return false;
    values[node.output(0)] = arith::ConstantOp::create(
        b, loc, DenseIntElementsAttr::get(type, data));
    return true;
  };
  auto intAttr = [&](StringRef name, int64_t fallback) {
    const auto *a = findAttr(node, name);
    return a ? a->i() : fallback;
  };
  if (op == "Shape" && inputs.size() == 1 && inputs[0]) {
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    int64_t start = intAttr("start", 0), end = intAttr("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    SmallVector<ShapeEntry> known;
    SmallVector<int64_t> data;
    SmallVector<Value> dims;
    for (int64_t i = start; i < end; ++i) {
      int64_t d = type.getDimSize(i);
      Value dim = tensor::DimOp::create(b, loc, inputs[0], i);
      known.push_back({ShapedType::isDynamic(d) ? std::nullopt
                                                : std::optional<int64_t>(d),
                       dim});
      data.push_back(d);
      dims.push_back(arith::IndexCastOp::create(b, loc, b.getI64Type(), dim));
    }
    int64_t n = int64_t(known.size());
    if (llvm::all_of(known, [](auto &k) { return k.value.has_value(); }))
      return define(data, {n});
    partialShapes[node.output(0)] = known;
    values[node.output(0)] = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({n}, b.getI64Type()), dims);
    return true;
  }
  SmallVector<int64_t> a, aShape, c, cShape;
  if (op == "Gather" && inputs.size() == 2 && intAttr("axis", 0) == 0 &&
      constInts(inputs[1], c, cShape)) {
    SmallVector<ShapeEntry> known;
    if (auto it = partialShapes.find(node.input(0)); it != partialShapes.end())
      known = it->second;
    else if (constInts(inputs[0], a, aShape) && aShape.size() == 1)
      for (int64_t x : a)
        known.push_back({x, Value()});
    else
      return false;
    SmallVector<int64_t> out;
    SmallVector<ShapeEntry> picked;
    for (int64_t i : c) {
      int64_t j = i < 0 ? i + int64_t(known.size()) : i;
      if (j < 0 || j >= int64_t(known.size()))
        return false;
      picked.push_back(known[j]);
      if (known[j].value)
        out.push_back(*known[j].value);
    }
    if (out.size() == picked.size())
      return define(out, cShape);
    // A symbolic dim picked: tracked, and defined from the dims themselves
    // (T - 1 and arange(T) then read tensor.dim, which the raising passes
    // can follow, instead of a runtime gather out of the shape vector).
    partialShapes[node.output(0)] = picked;
    SmallVector<Value> elements;
    for (const ShapeEntry &e : picked)
      elements.push_back(
          e.value ? Value(arith::ConstantIntOp::create(b, loc, *e.value, 64))
                  : Value(arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                                     e.dim)));
    values[node.output(0)] = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get(cShape, b.getI64Type()), elements);
    return true;
  }
  // Ops that keep a tracked vector's elements: track through, import as is.
  auto oneDimReshape = [&] {
    std::optional<SmallVector<int64_t>> target =
        inputs.size() == 2 ? constantInts(inputs[1]) : std::nullopt;
    return op == "Reshape" && target && target->size() == 1;
  };
  if ((op == "Unsqueeze" || op == "Squeeze" || op == "Identity" ||
       oneDimReshape() ||
       (op == "Cast" && intAttr("to", 0) == onnx::TensorProto::INT64)) &&
      !node.input().empty())
    if (auto it = partialShapes.find(node.input(0)); it != partialShapes.end())
      partialShapes[node.output(0)] = it->second;
  // x[a:b] of a tracked vector (a shape's trailing dims, say).
  if (op == "Slice" && inputs.size() >= 3 &&
      partialShapes.count(node.input(0))) {
    const SmallVector<ShapeEntry> &known = partialShapes[node.input(0)];
    auto starts = constantInts(inputs[1]), ends = constantInts(inputs[2]);
    auto axes = inputs.size() > 3 && inputs[3] ? constantInts(inputs[3])
                                               : std::optional<SmallVector<int64_t>>(
                                                     SmallVector<int64_t>{0});
    auto steps = inputs.size() > 4 && inputs[4] ? constantInts(inputs[4])
                                                : std::optional<SmallVector<int64_t>>(
                                                      SmallVector<int64_t>{1});
    if (starts && ends && axes && steps && starts->size() == 1 &&
        ends->size() == 1 && axes->size() == 1 && (*axes)[0] == 0 &&
        steps->size() == 1 && (*steps)[0] == 1) {
      int64_t n = int64_t(known.size());
      auto clampIndex = [&](int64_t v) {
        return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n);
      };
      SmallVector<ShapeEntry> picked(known.begin() + clampIndex((*starts)[0]),
                                     known.begin() +
                                         std::max(clampIndex((*starts)[0]),
                                                  clampIndex((*ends)[0])));
      if (llvm::all_of(picked, [](auto &e) { return e.value.has_value(); })) {
        SmallVector<int64_t> out;
        for (auto &e : picked)
          out.push_back(*e.value);
        return define(out, {int64_t(out.size())});
      }
      partialShapes[node.output(0)] = picked;
    }
  }
  // A tracked or constant 1-D int64 operand, per element.
  auto entriesOf = [&](size_t k) -> std::optional<SmallVector<ShapeEntry>> {
    if (k >= inputs.size() || !inputs[k])
      return std::nullopt;
    if (auto it = partialShapes.find(node.input(k)); it != partialShapes.end())
      return it->second;
    SmallVector<int64_t> d, sh;
    if (!constInts(inputs[k], d, sh) || sh.size() > 1)
      return std::nullopt;
    SmallVector<ShapeEntry> entries;
    for (int64_t x : d)
      entries.push_back({x, Value()});
    return entries;
  };
  // expand() with symbolic sizes exports Where(Equal(shape, -1), 1, shape):
  // a runtime dim is never negative, so comparing it with a negative
  // constant folds to false.
  if (op == "Equal" && inputs.size() == 2) {
    auto x = entriesOf(0), y = entriesOf(1);
    if (x && y && (x->size() == y->size() || y->size() == 1) &&
        (partialShapes.count(node.input(0)) ||
         partialShapes.count(node.input(1)))) {
      SmallVector<bool> out;
      for (size_t i = 0; i < x->size(); ++i) {
        const ShapeEntry &p = (*x)[i], &q = (*y)[y->size() == 1 ? 0 : i];
        if (p.value && q.value)
          out.push_back(*p.value == *q.value);
        else if ((p.value && *p.value < 0) || (q.value && *q.value < 0))
          out.push_back(false);
        else
          return false;
      }
      // Scalars compare to a scalar (Gather with a scalar index of a shape).
      bool scalars = llvm::all_of(inputs, [](Value v) {
        return cast<RankedTensorType>(v.getType()).getRank() == 0;
      });
      auto type = RankedTensorType::get(
          scalars ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{int64_t(out.size())},
          b.getI1Type());
      values[node.output(0)] =
          arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, out));
      return true;
    }
  }
  if (op == "Where" && inputs.size() == 3) {
    DenseElementsAttr cond;
    auto x = entriesOf(1), y = entriesOf(2);
    if (inputs[0] && matchPattern(inputs[0], m_Constant(&cond)) &&
        cond.getElementType().isInteger(1) && x && y &&
        (partialShapes.count(node.input(1)) ||
         partialShapes.count(node.input(2)))) {
      SmallVector<bool> flags(cond.getValues<bool>());
      size_t n = std::max({flags.size(), x->size(), y->size()});
      auto ok = [&](size_t size) { return size == n || size == 1; };
      if (ok(flags.size()) && ok(x->size()) && ok(y->size())) {
        SmallVector<ShapeEntry> picked;
        for (size_t i = 0; i < n; ++i)
          picked.push_back(flags[flags.size() == 1 ? 0 : i]
                               ? (*x)[x->size() == 1 ? 0 : i]
                               : (*y)[y->size() == 1 ? 0 : i]);
        partialShapes[node.output(0)] = picked;
      }
    }
  }
  // A product of shape entries with a symbolic one (B * num_heads, T * B):
  // tracked, and defined from the index product (no runtime Mul besides).
  if (op == "Mul" && inputs.size() == 2) {
    auto x = entriesOf(0), y = entriesOf(1);
    if (x && y && x->size() == 1 && y->size() == 1 &&
        !((*x)[0].value && (*y)[0].value)) {
      auto sizeOf = [&](const ShapeEntry &e) -> Value {
        return e.value ? Value(arith::ConstantIndexOp::create(b, loc, *e.value))
                       : e.dim;
      };
      const ShapeEntry &p = (*x)[0], &q = (*y)[0];
      if ((p.value || p.dim) && (q.value || q.dim)) {
        Value product = arith::MulIOp::create(b, loc, sizeOf(p), sizeOf(q));
        partialShapes[node.output(0)] = {ShapeEntry{std::nullopt, product}};
        auto type = cast<RankedTensorType>(
            cast<RankedTensorType>(inputs[0].getType()).getRank() >=
                    cast<RankedTensorType>(inputs[1].getType()).getRank()
                ? inputs[0].getType()
                : inputs[1].getType());
        values[node.output(0)] = tensor::FromElementsOp::create(
            b, loc, type,
            ValueRange{arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                                  product)});
        return true;
      }
    }
  }
  if (op == "Concat" && intAttr("axis", 0) == 0 && !inputs.empty()) {
    SmallVector<ShapeEntry> entries;
    bool tracked = true;
    for (auto [k, v] : llvm::enumerate(inputs)) {
      SmallVector<int64_t> d, sh;
      if (auto it = partialShapes.find(node.input(k));
          it != partialShapes.end())
        entries.append(it->second);
      else if (constInts(v, d, sh) && sh.size() <= 1)
        for (int64_t x : d)
          entries.push_back({x, Value()});
      else
        tracked = false;
    }
    if (tracked &&
        llvm::any_of(entries, [](auto &e) { return !e.value.has_value(); })) {
      partialShapes[node.output(0)] = entries;
      return false;
    }
  }
  bool binary = op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
  if (binary && inputs.size() == 2 && constInts(inputs[0], a, aShape) &&
      constInts(inputs[1], c, cShape) &&
      (a.size() == c.size() || a.size() == 1 || c.size() == 1)) {
    size_t n = std::max(a.size(), c.size());
    SmallVector<int64_t> out;
    for (size_t i = 0; i < n; ++i) {
      int64_t x = a[a.size() == 1 ? 0 : i], y = c[c.size() == 1 ? 0 : i];
      if (op == "Div" && y == 0)
        return false; // left to the runtime op (and its error)
      out.push_back(op == "Add"   ? x + y
                    : op == "Sub" ? x - y
                    : op == "Mul" ? x * y
                                  : x / y);
    }
    return define(out, a.size() >= c.size() ? aShape : cShape);
  }
  if ((op == "Cast" && intAttr("to", 0) == onnx::TensorProto::INT64) ||
      op == "Identity") {
    if (inputs.size() == 1 && constInts(inputs[0], a, aShape))
      return define(a, aShape);
    return false;
  }
  if ((op == "Unsqueeze" || op == "Squeeze") && !inputs.empty() &&
      constInts(inputs[0], a, aShape)) {
    SmallVector<int64_t> axes, axesShape;
    if (const auto *attr = findAttr(node, "axes"))
      axes.assign(attr->ints().begin(), attr->ints().end());
    else if (inputs.size() > 1 && !constInts(inputs[1], axes, axesShape))
      return false;
    int64_t outRank = op == "Unsqueeze"
                          ? int64_t(aShape.size() + axes.size())
                          : int64_t(aShape.size());
    llvm::SmallDenseSet<int64_t> set;
    for (int64_t x : axes) {
      int64_t v = x < 0 ? x + outRank : x;
      if (v < 0 || v >= outRank || !set.insert(v).second)
        return false; // out of range or repeated: the runtime import reports it
    }
    SmallVector<int64_t> shape;
    if (op == "Unsqueeze") {
      for (int64_t i = 0, j = 0; i < outRank; ++i)
        shape.push_back(set.contains(i) ? 1 : aShape[j++]);
    } else {
      for (int64_t i = 0; i < int64_t(aShape.size()); ++i)
        if (!(set.empty() ? aShape[i] == 1 : set.contains(i)))
          shape.push_back(aShape[i]);
    }
    return define(a, shape);
  }
  // Layout ops on int64 constants (F.pad's pads are computed this way).
  if (op == "Reshape" && inputs.size() == 2 &&
      constInts(inputs[0], a, aShape) && constInts(inputs[1], c, cShape)) {
    int64_t total = int64_t(a.size()), known = 1, inferred = -1;
    SmallVector<int64_t> shape;
    for (auto [i, d] : llvm::enumerate(c)) {
      if (d == 0 && i < aShape.size())
        d = aShape[i];
      if (d == -1)
        inferred = int64_t(i);
      else
        known *= d;
      shape.push_back(d);
    }
    if (inferred >= 0) {
      if (known == 0 || total % known)
        return false;
      shape[inferred] = total / known;
    }
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    if (n != total)
      return false;
    return define(a, shape);
  }
  // Row-major strides of a shape.
  auto stridesOf = [](ArrayRef<int64_t> shape) {
    SmallVector<int64_t> st(shape.size(), 1);
    for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
      st[i] = st[i + 1] * shape[i + 1];
    return st;
  };
  if (op == "Transpose" && inputs.size() == 1 &&
      constInts(inputs[0], a, aShape)) {
    int64_t rank = int64_t(aShape.size());
    SmallVector<int64_t> perm;
    if (const auto *attr = findAttr(node, "perm"))
      perm.assign(attr->ints().begin(), attr->ints().end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    llvm::SmallBitVector seen(rank);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p])
        return false; // not a permutation: the runtime import reports it
      seen.set(p);
    }
    if (int64_t(perm.size()) != rank)
      return false;
    SmallVector<int64_t> shape, inStrides = stridesOf(aShape);
    for (int64_t p : perm)
      shape.push_back(aShape[p]);
    SmallVector<int64_t> out, outStrides = stridesOf(shape);
    for (int64_t flat = 0; flat < int64_t(a.size()); ++flat) {
      int64_t src = 0;
      for (int64_t i = 0; i < rank; ++i)
        src += (flat / outStrides[i] % shape[i]) * inStrides[perm[i]];
      out.push_back(a[src]);
    }
    return define(out, shape);
  }
  if (op == "Slice" && inputs.size() >= 3 && constInts(inputs[0], a, aShape)) {
    SmallVector<int64_t> st, stS, en, enS, ax, axS, sp, spS;
    if (!constInts(inputs[1], st, stS) || !constInts(inputs[2], en, enS) ||
        (inputs.size() > 3 && inputs[3] && !constInts(inputs[3], ax, axS)) ||
        (inputs.size() > 4 && inputs[4] && !constInts(inputs[4], sp, spS)))
      return false;
    int64_t rank = int64_t(aShape.size());
    if (en.size() != st.size() || (!ax.empty() && ax.size() != st.size()) ||
        (!sp.empty() && sp.size() != st.size()))
      return false; // the runtime import reports it
    SmallVector<int64_t> first(rank, 0), step(rank, 1), shape(aShape);
    for (size_t k = 0; k < st.size(); ++k) {
      int64_t axis = ax.empty() ? int64_t(k) : ax[k];
      if (axis < 0)
        axis += rank;
      if (axis < 0 || axis >= rank)
        return false;
      int64_t n = aShape[axis], s0 = st[k], e0 = en[k],
              stp = sp.empty() ? 1 : sp[k];
      if (stp == 0)
        return false;
      s0 = s0 < 0 ? s0 + n : s0;
      e0 = e0 < 0 ? e0 + n : e0;
      int64_t count;
      if (stp > 0) {
        s0 = std::clamp<int64_t>(s0, 0, n);
        e0 = std::clamp<int64_t>(e0, 0, n);
        count = std::max<int64_t>(0, (e0 - s0 + stp - 1) / stp);
      } else {
        s0 = std::clamp<int64_t>(s0, 0, n - 1);
        e0 = std::clamp<int64_t>(e0, -1, n - 1);
        count = std::max<int64_t>(0, (s0 - e0 - stp - 1) / -stp);
      }
      first[axis] = s0;
      step[axis] = stp;
      shape[axis] = count;
    }
    SmallVector<int64_t> out, inStrides = stridesOf(aShape),
                              outStrides = stridesOf(shape);
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    for (int64_t flat = 0; flat < n; ++flat) {
      int64_t src = 0;
      for (int64_t i = 0; i < rank; ++i)
        src += (first[i] + (flat / outStrides[i] % shape[i]) * step[i]) *
               inStrides[i];
      out.push_back(a[src]);
    }
    return define(out, shape);
  }
  // The exporter's -1 handling for Expand: ConstantOfShape, Equal, Where on
  // compile-time shape values.
  auto boundedShape = [](ArrayRef<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0 || d > (int64_t(1) << 31))
        return false;
      n *= d;
      if (n > (int64_t(1) << 31))
        return false;
    }
    return true;
  };
  if (op == "ConstantOfShape" && inputs.size() == 1 &&
      constInts(inputs[0], a, aShape) && boundedShape(a)) {
    const auto *v = findAttr(node, "value");
    if (v && v->t().data_type() == onnx::TensorProto::INT64) {
      Value c = constant(v->t(), loc);
      DenseIntElementsAttr attr;
      if (!c || !matchPattern(c, m_Constant(&attr)) ||
          attr.getNumElements() != 1)
        return false;
      int64_t n = 1;
      for (int64_t d : a)
        n *= d;
      return define(SmallVector<int64_t>(n, (*attr.begin()).getSExtValue()),
                    a);
    }
    if (!v || v->t().data_type() == onnx::TensorProto::FLOAT) {
      Value c = v ? constant(v->t(), loc) : Value();
      DenseFPElementsAttr attr;
      if (v && (!c || !matchPattern(c, m_Constant(&attr)) ||
                attr.getNumElements() != 1))
        return false;
      float fill = v ? (*attr.begin()).convertToFloat() : 0.0f;
      auto type = RankedTensorType::get(a, b.getF32Type());
      values[node.output(0)] = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, fill));
      return true;
    }
    return false;
  }
  if (op == "Equal" && inputs.size() == 2 && constInts(inputs[0], a, aShape) &&
      constInts(inputs[1], c, cShape) &&
      (a.size() == c.size() || c.size() == 1)) {
    SmallVector<bool> out;
    for (size_t i = 0; i < a.size(); ++i)
      out.push_back(a[i] == c[c.size() == 1 ? 0 : i]);
    auto type = RankedTensorType::get(aShape, b.getI1Type());
    values[node.output(0)] =
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, out));
    return true;
  }
  if (op == "Where" && inputs.size() == 3) {
    DenseElementsAttr cond;
    SmallVector<int64_t> y, yShape;
    if (!inputs[0] || !matchPattern(inputs[0], m_Constant(&cond)) ||
        !cond.getElementType().isInteger(1) ||
        !constInts(inputs[1], a, aShape) || !constInts(inputs[2], y, yShape))
      return false;
    SmallVector<bool> flags(cond.getValues<bool>());
    size_t n = std::max({flags.size(), a.size(), y.size()});
    auto pick = [&](auto &v, size_t i) { return v[v.size() == 1 ? 0 : i]; };
    if ((flags.size() != n && flags.size() != 1) ||
        (a.size() != n && a.size() != 1) || (y.size() != n && y.size() != 1))
      return false;
    SmallVector<int64_t> out;
    for (size_t i = 0; i < n; ++i)
      out.push_back(pick(flags, i) ? pick(a, i) : pick(y, i));
    SmallVector<int64_t> shape = flags.size() == n
                                     ? SmallVector<int64_t>(
                                           cond.getType().getShape())
                                 : a.size() == n ? aShape
                                                 : yShape;
    return define(out, shape);
  }
  if (op == "Concat" && intAttr("axis", 0) == 0 && !inputs.empty()) {
    SmallVector<int64_t> out;
    for (Value v : inputs) {
      SmallVector<int64_t> d, sh;
      if (!constInts(v, d, sh) || sh.size() != 1)
        return false;
      out.append(d);
    }
    return define(out, {int64_t(out.size())});
  }
  return false;
}

/// The exact-import domain: nodes the convc_torch export helper emits.
LogicalResult Importer::importConvcNode(const onnx::NodeProto &node,
                                        Location loc,
                                        ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  auto intAttr = [&](StringRef name, std::optional<int64_t> fallback)
      -> std::optional<int64_t> {
    if (const auto *a = findAttr(node, name))
      return a->i();
    return fallback;
  };
  auto need = [&](StringRef name) -> std::optional<int64_t> {
    std::optional<int64_t> v = intAttr(name, std::nullopt);
    if (!v)
      emitError(loc) << "convc." << op << " needs the attribute '" << name
                     << "'";
    return v;
  };
  auto sequence = [&](Value v) {
    return v && isa<RankedTensorType>(v.getType()) &&
           cast<RankedTensorType>(v.getType()).getRank() == 3;
  };
  Value x = inputs.empty() ? Value() : inputs[0];
  Value bias = inputs.size() > 2 ? inputs[2] : Value();
  Value result;
  if (op == "GLU") {
    if (!x)
      return emitError(loc) << "convc.GLU needs an input";
    result = GLUOp::create(b, loc, x);
  } else if (op == "LightweightConv") {
    auto padding = need("padding");
    auto weightType = inputs.size() < 2 || !inputs[1]
                          ? RankedTensorType()
                          : dyn_cast<RankedTensorType>(inputs[1].getType());
    if (!padding || !sequence(x) || !weightType ||
        weightType.getRank() != 2 || weightType.isDynamicDim(0))
      return emitError(loc) << "convc.LightweightConv needs x [B, T, C], "
                               "weight [H, K] (H static) and 'padding'";
    int64_t heads = weightType.getDimSize(0);
    result = LightweightConvOp::create(b, loc, x, inputs[1], bias, heads,
                                       *padding,
                                       *intAttr("weight_softmax", 1) != 0);
  } else if (op == "DynamicConv") {
    auto heads = need("heads"), kernel = need("kernel_size"),
         padding = need("padding");
    if (!heads || !kernel || !padding || !sequence(x) || inputs.size() < 2)
      return emitError(loc) << "convc.DynamicConv needs x [B, T, C], "
                               "weight [H*K, C], heads, kernel_size, padding";
    result = DynamicConvOp::create(b, loc, x, inputs[1], bias, *heads,
                                   *kernel, *padding);
  } else if (op == "TaLKConv") {
    auto left = need("left_max"), right = need("right_max");
    if (!left || !right || !sequence(x) || inputs.size() < 2)
      return emitError(loc) << "convc.TaLKConv needs x [B, T, C], offsets "
                               "[B, T, 2H] (causal: H), left_max, right_max";
    result = TaLKConvOp::create(b, loc, x, inputs[1], *left, *right,
                                *intAttr("causal", 0) != 0);
  } else {
    llvm_unreachable("run() reports ops outside convcDomainOps()");
  }
  if (failed(verify(result.getDefiningOp())))
    return failure();
  values[node.output(0)] = result;
  return success();
}

Value Importer::scalar(Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  return tensor::ExtractOp::create(
      b, loc, t, SmallVector<Value>(type.getRank(), zero));
}

Value Importer::compare(const onnx::NodeProto &node, Location loc,
                        ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  if (inputs.size() != 2 || !inputs[0] || !inputs[1] ||
      getElementTypeOrSelf(inputs[0].getType()) !=
          getElementTypeOrSelf(inputs[1].getType())) {
    emitError(loc) << op << " needs two inputs of one element type";
    return {};
  }
  bool isFloat = getElementTypeOrSelf(inputs[0].getType()).isF32();
  // Ordered float predicates: a NaN compares false, as in ONNX Runtime.
  auto fp = op == "Equal"         ? arith::CmpFPredicate::OEQ
            : op == "Less"        ? arith::CmpFPredicate::OLT
            : op == "Greater"     ? arith::CmpFPredicate::OGT
            : op == "LessOrEqual" ? arith::CmpFPredicate::OLE
                                  : arith::CmpFPredicate::OGE;
  auto ip = op == "Equal"         ? arith::CmpIPredicate::eq
            : op == "Less"        ? arith::CmpIPredicate::slt
            : op == "Greater"     ? arith::CmpIPredicate::sgt
            : op == "LessOrEqual" ? arith::CmpIPredicate::sle
                                  : arith::CmpIPredicate::sge;
  return elementwise(
      loc, inputs,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        if (isFloat)
          return arith::CmpFOp::create(nb, l, fp, a[0], a[1]);
        return arith::CmpIOp::create(nb, l, ip, a[0], a[1]);
      },
      b.getI1Type());
}

Value Importer::logical(const onnx::NodeProto &node, Location loc,
                        ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  size_t arity = op == "Not" ? 1 : 2;
  if (inputs.size() != arity ||
      llvm::any_of(inputs, [](Value v) {
        return !v || !getElementTypeOrSelf(v.getType()).isInteger(1);
      })) {
    emitError(loc) << op << " needs " << arity << " bool input"
                   << (arity > 1 ? "s" : "");
    return {};
  }
  return elementwise(loc, inputs,
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       if (op == "Not")
                         return arith::XOrIOp::create(
                             nb, l, a[0],
                             arith::ConstantIntOp::create(nb, l, 1, 1));
                       if (op == "And")
                         return arith::AndIOp::create(nb, l, a[0], a[1]);
                       if (op == "Or")
                         return arith::OrIOp::create(nb, l, a[0], a[1]);
                       return arith::XOrIOp::create(nb, l, a[0], a[1]);
                     });
}

Value Importer::where(Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value()) ||
      !getElementTypeOrSelf(inputs[0].getType()).isInteger(1) ||
      getElementTypeOrSelf(inputs[1].getType()) !=
          getElementTypeOrSelf(inputs[2].getType())) {
    emitError(loc) << "Where needs a bool condition and two inputs of one "
                      "element type";
    return {};
  }
  return elementwise(
      loc, inputs,
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::SelectOp::create(nb, l, a[0], a[1], a[2]);
      },
      getElementTypeOrSelf(inputs[1].getType()));
}

Value Importer::cumSum(const onnx::NodeProto &node, Location loc,
                       ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1]) {
    emitError(loc) << "CumSum needs x and axis";
    return {};
  }
  auto axisValues = constantInts(inputs[1]);
  if (!axisValues || axisValues->size() != 1) {
    notConstant(loc, "CumSum axis");
    return {};
  }
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  Type element = type.getElementType();
  if (!element.isF32() && !element.isInteger(64)) {
    emitError(loc) << "CumSum needs float32 or int64 data";
    return {};
  }
  int64_t rank = type.getRank(), axis = (*axisValues)[0];
  if (axis < -rank || axis >= rank) {
    emitError(loc) << "CumSum axis " << axis << " is out of range for rank "
                   << rank;
    return {};
  }
  if (axis < 0)
    axis += rank;
  auto intAttr = [&](StringRef name) {
    const auto *a = findAttr(node, name);
    return a && a->i() != 0;
  };
  bool exclusive = intAttr("exclusive"), reverse = intAttr("reverse");
  // The running sum over time of a [B, T, C] f32 sequence (what TaLK's
  // export starts with) is convc.prefix_sum: a parallel, vectorised scan.
  if (axis == 1 && rank == 3 && element.isF32() && !exclusive && !reverse)
    return PrefixSumOp::create(b, loc, x, b.getF64FloatAttr(1.0));
  // A scan along `axis`: one slice (size 1 on the axis) per step, the
  // running sum carried by an scf.for. Sequential in the axis only.
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  SmallVector<OpFoldResult> sliceSizes = sizes;
  sliceSizes[axis] = b.getIndexAttr(1);
  SmallVector<int64_t> sliceShape = llvm::to_vector(type.getShape());
  sliceShape[axis] = 1;
  auto sliceType = RankedTensorType::get(sliceShape, element);
  SmallVector<Value> sliceDynamic;
  for (auto [i, size] : llvm::enumerate(sliceSizes))
    if (ShapedType::isDynamic(sliceShape[i]))
      sliceDynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  Value acc0 = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, sliceType, sliceDynamic)
                       .getResult())
                   .getResult(0);
  Value out0 = tensor::EmptyOp::create(b, loc, sizes, element);
  Value n = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, c0, n, c1, ValueRange{acc0, out0},
      [&](OpBuilder &lb, Location l, Value i, ValueRange carried) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
        Value pos = reverse ? Value(arith::SubIOp::create(
                                  b, l, arith::SubIOp::create(b, l, n, c1), i))
                            : i;
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
        offsets[axis] = pos;
        SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
        Value slice = tensor::ExtractSliceOp::create(b, l, sliceType, x,
                                                     offsets, sliceSizes,
                                                     strides);
        auto add = [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          if (element.isF32())
            return arith::AddFOp::create(nb, nl, a[0], a[1]);
          return arith::AddIOp::create(nb, nl, a[0], a[1]);
        };
        // acc += slice, in place (the loop carries one buffer).
        SmallVector<AffineMap> maps(
            2, AffineMap::getMultiDimIdentityMap(rank, ctx));
        Value sum =
            linalg::GenericOp::create(
                b, l, TypeRange{sliceType}, ValueRange{slice},
                ValueRange{carried[0]}, maps,
                SmallVector<utils::IteratorType>(
                    rank, utils::IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  linalg::YieldOp::create(nb, nl, ValueRange{add(nb, nl, a)});
                })
                .getResult(0);
        Value written = exclusive ? carried[0] : sum;
        Value out = tensor::InsertSliceOp::create(b, l, written, carried[1],
                                                  offsets, sliceSizes,
                                                  strides);
        scf::YieldOp::create(b, l, ValueRange{sum, out});
      });
  return loop.getResult(1);
}

Value Importer::range(Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value())) {
    emitError(loc) << "Range needs start, limit and delta";
    return {};
  }
  Type element = getElementTypeOrSelf(inputs[0].getType());
  if ((!element.isF32() && !element.isInteger(64)) ||
      llvm::any_of(inputs, [&](Value v) {
        return getElementTypeOrSelf(v.getType()) != element ||
               cast<RankedTensorType>(v.getType()).getNumElements() != 1;
      })) {
    emitError(loc) << "Range needs scalar start, limit and delta of one "
                      "element type (float32 or int64)";
    return {};
  }
  bool isInt = element.isInteger(64);
  // Constant int64 operands (arange(K) in exports): fold, the result may
  // feed shape arithmetic.
  auto start = constantInts(inputs[0]), limit = constantInts(inputs[1]),
       delta = constantInts(inputs[2]);
  if (isInt && start && limit && delta) {
    if ((*delta)[0] == 0) {
      emitError(loc) << "Range delta is 0";
      return {};
    }
    // count = max(ceil((limit - start) / delta), 0), in 128 bits.
    __int128 span = __int128((*limit)[0]) - (*start)[0], d = (*delta)[0];
    __int128 count = span / d + ((span % d) != 0 && ((span > 0) == (d > 0)));
    if (count > (int64_t(1) << 24)) {
      emitError(loc) << "Range of " << int64_t(std::min<__int128>(count, INT64_MAX))
                     << " elements is too large to fold";
      return {};
    }
    SmallVector<int64_t> data;
    for (int64_t i = 0; i < int64_t(std::max<__int128>(count, 0)); ++i)
      data.push_back(int64_t((*start)[0] + __int128(i) * d));
    auto type = RankedTensorType::get({int64_t(data.size())}, element);
    return arith::ConstantOp::create(b, loc,
                                     DenseIntElementsAttr::get(type, data));
  }
  Value s = scalar(loc, inputs[0]), e = scalar(loc, inputs[1]),
        d = scalar(loc, inputs[2]);
  // n = max(ceil((limit - start) / delta), 0)
  Value count;
  if (isInt) {
    count = arith::CeilDivSIOp::create(b, loc,
                                       arith::SubIOp::create(b, loc, e, s), d);
    count = arith::MaxSIOp::create(
        b, loc, count, arith::ConstantIntOp::create(b, loc, 0, 64));
  } else {
    Value q = math::CeilOp::create(
        b, loc,
        arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, e, s), d));
    q = arith::MaximumFOp::create(
        b, loc, q, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)));
    count = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
  }
  Value n = arith::IndexCastOp::create(b, loc, b.getIndexType(), count);
  auto type = RankedTensorType::get({ShapedType::kDynamic}, element);
  return tensor::GenerateOp::create(
      b, loc, type, ValueRange{n},
      [&](OpBuilder &nb, Location l, ValueRange ivs) {
        Value i = arith::IndexCastOp::create(nb, l, nb.getI64Type(), ivs[0]);
        Value v;
        if (isInt)
          v = arith::AddIOp::create(nb, l, s,
                                    arith::MulIOp::create(nb, l, i, d));
        else
          v = arith::AddFOp::create(
              nb, l, s,
              arith::MulFOp::create(
                  nb, l, arith::SIToFPOp::create(nb, l, nb.getF32Type(), i),
                  d));
        tensor::YieldOp::create(nb, l, v);
      });
}

Value Importer::gatherElements(const onnx::NodeProto &node, Location loc,
                               ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1] ||
      !getElementTypeOrSelf(inputs[1].getType()).isInteger(64)) {
    emitError(loc) << "GatherElements needs data and int64 indices";
    return {};
  }
  Value data = inputs[0], indices = inputs[1];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  int64_t rank = dataType.getRank();
  if (indexType.getRank() != rank || rank == 0) {
    emitError(loc) << "GatherElements needs indices of the data's rank";
    return {};
  }
  int64_t axis = 0;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < -rank || axis >= rank) {
    emitError(loc) << "GatherElements axis " << axis
                   << " is out of range for rank " << rank;
    return {};
  }
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d)
    if (!indexType.isDynamicDim(d) && !dataType.isDynamicDim(d) &&
        (dataType.getDimSize(d) == 0 ||
         (d != axis && indexType.getDimSize(d) > dataType.getDimSize(d)))) {
      emitError(loc) << "GatherElements indices dim " << d << " ("
                     << indexType.getDimSize(d) << ") does not fit the data's ("
                     << dataType.getDimSize(d) << ")";
      return {};
    }
  // out[i] = data[i with i[axis] = indices[i]]; a negative index counts
  // from the end, and indices are clamped into range (compiled code has no
  // error path; memory stays safe).
  Value axisSize = tensor::DimOp::create(b, loc, data, axis);
  auto empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, indices),
      dataType.getElementType());
  SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{empty.getType()}, ValueRange{indices},
             ValueRange{empty}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value size = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                       axisSize);
               Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
               Value idx = args[0];
               Value negative = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::slt, idx, zero);
               idx = arith::SelectOp::create(
                   nb, l, negative, arith::AddIOp::create(nb, l, idx, size),
                   idx);
               idx = arith::MaxSIOp::create(nb, l, idx, zero);
               idx = arith::MinSIOp::create(
                   nb, l, idx,
                   arith::SubIOp::create(
                       nb, l, size, arith::ConstantIntOp::create(nb, l, 1, 64)));
               // The other dims follow the output position, clamped too
               // (indices may be larger than data there).
               SmallVector<Value> at;
               for (int64_t d = 0; d < rank; ++d) {
                 if (d == axis) {
                   at.push_back(arith::IndexCastOp::create(
                       nb, l, nb.getIndexType(), idx));
                   continue;
                 }
                 Value last = arith::SubIOp::create(
                     nb, l, tensor::DimOp::create(nb, l, data, d),
                     arith::ConstantIndexOp::create(nb, l, 1));
                 at.push_back(arith::MinSIOp::create(
                     nb, l, linalg::IndexOp::create(nb, l, d), last));
               }
               linalg::YieldOp::create(
                   nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
             })
      .getResult(0);
}

Value Importer::constantOfShape(const onnx::NodeProto &node, Location loc,
                                ArrayRef<Value> inputs) {
  std::optional<ShapeOperand> shape = shapeOperand(node, inputs, 0);
  if (!shape) {
    notConstant(loc, "ConstantOfShape shape");
    return {};
  }
  Value fill = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  if (const auto *a = findAttr(node, "value"); a && a->has_t()) {
    Value c = constant(a->t(), loc);
    if (!c)
      return {};
    fill = scalar(loc, c);
  }
  SmallVector<Value> dynamicSizes;
  for (auto [v, size] : llvm::zip_equal(shape->values, shape->symbolicSizes)) {
    if (!ShapedType::isDynamic(v))
      continue;
    dynamicSizes.push_back(size);
  }
  int64_t total = 1;
  for (int64_t v : shape->values) {
    if (ShapedType::isDynamic(v))
      continue;
    if (v < 0 || v > (int64_t(1) << 31) ||
        (total *= v) > (int64_t(1) << 31)) {
      emitError(loc) << "ConstantOfShape size " << v
                     << " is negative or too large";
      return {};
    }
  }
  auto type = RankedTensorType::get(shape->values, fill.getType());
  Value empty = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  return linalg::FillOp::create(b, loc, fill, empty).getResult(0);
}

Value Importer::scatterND(const onnx::NodeProto &node, Location loc,
                          ArrayRef<Value> inputs) {
  // Constant indices (what `t[i] = v` exports to): one insert_slice per
  // index tuple, in order (a later duplicate wins, as in ONNX Runtime).
  if (inputs.size() != 3 || llvm::is_contained(inputs, Value())) {
    emitError(loc) << "ScatterND needs data, indices and updates";
    return {};
  }
  std::string reduction = "none";
  if (const auto *a = findAttr(node, "reduction"))
    reduction = a->s();
  if (reduction != "none" && reduction != "add" && reduction != "mul") {
    emitError(loc) << "ScatterND reduction '" << reduction
                   << "' is not supported (none, add and mul are)";
    return {};
  }
  std::optional<SmallVector<int64_t>> indices = constantInts(inputs[1]);
  if (!indices) {
    notConstant(loc, "ScatterND indices");
    return {};
  }
  Value data = inputs[0], updates = inputs[2];
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(inputs[1].getType());
  auto updateType = cast<RankedTensorType>(updates.getType());
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  int64_t k = q ? indexType.getDimSize(q - 1) : 0;
  if (q < 1 || k < 1 || k > rank ||
      updateType.getRank() != q - 1 + rank - k ||
      updateType.getElementType() != dataType.getElementType()) {
    emitError(loc) << "ScatterND indices/updates do not fit the data's rank";
    return {};
  }
  int64_t tuples = int64_t(indices->size()) / k;
  // updates viewed as [tuples, data.shape[k:]...]
  SmallVector<int64_t> flatShape = {tuples};
  for (int64_t d = k; d < rank; ++d)
    flatShape.push_back(dataType.getDimSize(d));
  auto flatType = RankedTensorType::get(flatShape, dataType.getElementType());
  Value flat = reshape(loc, updates, flatType, [&] {
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(tuples)};
    for (int64_t d = k; d < rank; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, data, d));
    return sizes;
  });
  if (!flat)
    return {};
  Value result = data;
  for (int64_t t = 0; t < tuples; ++t) {
    SmallVector<OpFoldResult> offsets, sizes, strides(rank, b.getIndexAttr(1));
    for (int64_t d = 0; d < rank; ++d) {
      if (d < k) {
        int64_t i = (*indices)[t * k + d], n = dataType.getDimSize(d);
        if (ShapedType::isDynamic(n) ? i < 0 : (i < -n || i >= n)) {
          emitError(loc) << "ScatterND index " << i
                         << " is out of range for dim " << d;
          return {};
        }
        if (ShapedType::isDynamic(n)) {
          // Unknown extent: the index is clamped to it at run time (as
          // Gather's are), so the write stays inside the data.
          Value last = arith::SubIOp::create(
              b, loc, tensor::DimOp::create(b, loc, data, d),
              arith::ConstantIndexOp::create(b, loc, 1));
          offsets.push_back(getAsOpFoldResult(arith::MinSIOp::create(
              b, loc, arith::ConstantIndexOp::create(b, loc, i), last)));
        } else {
          offsets.push_back(b.getIndexAttr(i < 0 ? i + n : i));
        }
        sizes.push_back(b.getIndexAttr(1));
      } else {
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(tensor::getMixedSize(b, loc, data, d));
      }
    }
    // Row t of the updates, shaped [1 x k, data.shape[k:]...].
    SmallVector<OpFoldResult> rowOffsets(flatShape.size(), b.getIndexAttr(0)),
        rowSizes, rowStrides(flatShape.size(), b.getIndexAttr(1));
    rowOffsets[0] = b.getIndexAttr(t);
    rowSizes.push_back(b.getIndexAttr(1));
    for (int64_t d = k; d < rank; ++d)
      rowSizes.push_back(tensor::getMixedSize(b, loc, flat, d - k + 1));
    Value row = tensor::ExtractSliceOp::create(
        b, loc, flat, rowOffsets, rowSizes, rowStrides);
    SmallVector<int64_t> rowShape(k, 1);
    for (int64_t d = k; d < rank; ++d)
      rowShape.push_back(flatShape[d - k + 1]);
    auto rowType = RankedTensorType::get(rowShape, dataType.getElementType());
    Value shaped = reshape(loc, row, rowType, [&] { return sizes; });
    if (!shaped)
      return {};
    if (reduction != "none") { // combine with what is there
      Value old = tensor::ExtractSliceOp::create(b, loc, rowType, result,
                                                 offsets, sizes, strides);
      bool isFloat = rowType.getElementType().isF32();
      shaped = elementwise(loc, {old, shaped},
                           [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             if (reduction == "add")
                               return isFloat ? Value(arith::AddFOp::create(
                                                    nb, l, a[0], a[1]))
                                              : Value(arith::AddIOp::create(
                                                    nb, l, a[0], a[1]));
                             return isFloat ? Value(arith::MulFOp::create(
                                                  nb, l, a[0], a[1]))
                                            : Value(arith::MulIOp::create(
                                                  nb, l, a[0], a[1]));
                           });
    }
    result = tensor::InsertSliceOp::create(b, loc, shaped, result, offsets,
                                           sizes, strides);
  }
  return result;
}

LogicalResult Importer::split(const onnx::NodeProto &node, Location loc,
                              ArrayRef<Value> inputs) {
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "Split needs an input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = 0;
  if (const auto *a = findAttr(node, "axis"))
    axis = a->i();
  if (axis < -rank || axis >= rank)
    return emitError(loc) << "Split axis " << axis
                          << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // Sizes: the `split` input (opset 13) or attribute, else equal parts.
  std::optional<SmallVector<int64_t>> parts;
  if (inputs.size() > 1 && inputs[1]) {
    parts = constantInts(inputs[1]);
    if (!parts)
      return notConstant(loc, "Split sizes");
  } else if (const auto *a = findAttr(node, "split")) {
    parts = SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  }
  int64_t outputs = node.output_size();
  if (parts && int64_t(parts->size()) != outputs)
    return emitError(loc) << "Split has " << parts->size() << " sizes for "
                          << outputs << " outputs";
  if (parts && llvm::any_of(*parts, [](int64_t p) { return p < 0; }))
    return emitError(loc) << "Split has a negative size";
  if (parts && type.isDynamicDim(axis))
    return emitError(loc) << "Split with explicit sizes of a symbolic dim is "
                             "not supported (the sizes cannot be checked "
                             "against it at compile time)";
  Value total = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, x, axis));
  if (parts && !type.isDynamicDim(axis)) {
    int64_t sum = 0;
    for (int64_t p : *parts)
      sum += p;
    if (sum != type.getDimSize(axis))
      return emitError(loc) << "Split sizes add up to " << sum << ", not "
                            << type.getDimSize(axis);
  }
  if (!parts && !type.isDynamicDim(axis) && type.getDimSize(axis) % outputs)
    return emitError(loc) << "Split of " << type.getDimSize(axis)
                          << " into " << outputs
                          << " equal parts (uneven splits need opset 18)";
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  for (int64_t i = 0; i < outputs; ++i) {
    OpFoldResult size =
        parts ? OpFoldResult(b.getIndexAttr((*parts)[i]))
              : getAsOpFoldResult(b.createOrFold<arith::DivUIOp>(
                    loc, total,
                    arith::ConstantIndexOp::create(b, loc, outputs)));
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, x),
        strides(rank, b.getIndexAttr(1));
    offsets[axis] = getAsOpFoldResult(offset);
    sizes[axis] = size;
    // An empty part is not a slice (offsets must lie inside the source).
    Value part = isZeroInteger(size)
                     ? Value(tensor::EmptyOp::create(b, loc, sizes,
                                                     type.getElementType()))
                     : Value(tensor::ExtractSliceOp::create(
                           b, loc, x, offsets, sizes, strides));
    if (!node.output(i).empty())
      values[node.output(i)] = part;
    offset = b.createOrFold<arith::AddIOp>(
        loc, offset, getValueOrCreateConstantIndexOp(b, loc, size));
  }
  return success();
}

namespace {
/// A float32 constant evaluated on the host (see foldWeightComputation).
struct HostTensor {
  SmallVector<int64_t> shape;
  std::vector<float> data;

  /// The element count, or INT64_MAX when a dim is negative or the count
  /// exceeds 2^40 (shapes come from the file).
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d < 0 || (d && n > (int64_t(1) << 40) / d))
        return std::numeric_limits<int64_t>::max();
      n *= d;
    }
    return n;
  }
  /// Row-major strides; broadcast dims (size 1 against a larger `to`) get 0.
  SmallVector<int64_t> stridesFor(ArrayRef<int64_t> to) const {
    SmallVector<int64_t> strides(to.size(), 0);
    int64_t stride = 1, offset = int64_t(to.size()) - int64_t(shape.size());
    for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
      strides[offset + i] = shape[i] == 1 && to[offset + i] != 1 ? 0 : stride;
      stride *= shape[i];
    }
    return strides;
  }
};

std::optional<HostTensor> hostFloat(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isF32())
    return std::nullopt;
  HostTensor t;
  t.shape = llvm::to_vector(attr.getType().getShape());
  auto values = attr.getValues<float>();
  t.data.assign(values.begin(), values.end());
  return t;
}

/// Numpy broadcasting of a and b into fn(a, b).
std::optional<HostTensor> broadcast(const HostTensor &a, const HostTensor &b,
                                    function_ref<float(float, float)> fn) {
  size_t rank = std::max(a.shape.size(), b.shape.size());
  HostTensor out;
  out.shape.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    auto dim = [&](const HostTensor &t) -> int64_t {
      int64_t j = int64_t(i) - int64_t(rank - t.shape.size());
      return j < 0 ? 1 : t.shape[j];
    };
    int64_t x = dim(a), y = dim(b);
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out.shape[i] = x == 1 ? y : x; // 1 broadcasts, to 0 as well
  }
  SmallVector<int64_t> sa = a.stridesFor(out.shape), sb = b.stridesFor(out.shape);
  int64_t n = out.size();
  if (n > (int64_t(1) << 24))
    return std::nullopt; // too big to evaluate here: imported as an op
  out.data.resize(n);
  SmallVector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d)
      ia += index[d] * sa[d], ib += index[d] * sb[d];
    out.data[flat] = fn(a.data[ia], b.data[ib]);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      if (++index[d] < out.shape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}
} // namespace

/// Weight computations on initializers (the softmax, expand and reshape
/// that exporters put in front of a LightweightConv's grouped Conv) are
/// evaluated here, so the weights reach the compiler as constants and the
/// raising patterns can read them. Float32 only; small ops only.
bool Importer::foldWeightComputation(const onnx::NodeProto &node,
                                     Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  static const llvm::StringSet<> evaluable = {
      "Softmax", "Expand", "Reshape", "Unsqueeze", "Squeeze", "Transpose",
      "Identity", "Add",   "Sub",     "Mul",       "Div",     "Neg",
      "Exp",      "Sqrt",  "Sigmoid", "Relu",      "Tanh",    "Reciprocal",
      "Log"};
  if (!evaluable.contains(op) || inputs.empty() || node.output_size() != 1)
    return false;
  // Every operand a compile-time constant (checked before any is copied to
  // the host: a large weight times a runtime value is not folded).
  if (llvm::any_of(inputs, [](Value v) {
        return v && !matchPattern(v, m_Constant());
      }))
    return false;
  std::optional<HostTensor> x = hostFloat(inputs[0]);
  constexpr int64_t kMaxElements = int64_t(1) << 24;
  if (!x || x->size() > kMaxElements)
    return false;
  auto intAttr = [&](StringRef name, int64_t fallback) {
    const auto *a = findAttr(node, name);
    return a ? a->i() : fallback;
  };
  auto axesOf = [&]() -> std::optional<SmallVector<int64_t>> {
    if (inputs.size() > 1 && inputs[1])
      return constantInts(inputs[1]);
    if (const auto *a = findAttr(node, "axes"))
      return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
    return SmallVector<int64_t>{};
  };
  std::optional<HostTensor> out;
  int64_t rank = int64_t(x->shape.size());
  if (op == "Identity") {
    out = x;
  } else if (op == "Neg" || op == "Exp" || op == "Sqrt" || op == "Sigmoid" ||
             op == "Relu" || op == "Tanh" || op == "Reciprocal" ||
             op == "Log") {
    out = x;
    for (float &v : out->data)
      v = op == "Neg"          ? -v
          : op == "Exp"        ? std::exp(v)
          : op == "Sqrt"       ? std::sqrt(v)
          : op == "Sigmoid"    ? 1.0f / (1.0f + std::exp(-v))
          : op == "Relu"       ? std::max(v, 0.0f)
          : op == "Reciprocal" ? 1.0f / v
          : op == "Log"        ? std::log(v)
                               : std::tanh(v);
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    std::optional<HostTensor> y = inputs.size() == 2 ? hostFloat(inputs[1])
                                                     : std::nullopt;
    if (!y)
      return false;
    out = broadcast(*x, *y, [&](float a, float b) {
      return op == "Add" ? a + b : op == "Sub" ? a - b : op == "Mul" ? a * b
                                                                     : a / b;
    });
  } else if (op == "Softmax") {
    // Opset 13 semantics: along one axis, max-subtracted.
    int64_t axis = intAttr("axis", -1);
    if (opset < 13 || axis < -rank || axis >= rank)
      return false;
    if (axis < 0)
      axis += rank;
    int64_t inner = 1, n = x->shape[axis];
    for (int64_t d = axis + 1; d < rank; ++d)
      inner *= x->shape[d];
    out = x;
    for (int64_t outer = 0; outer < x->size() / std::max<int64_t>(n * inner, 1);
         ++outer)
      for (int64_t i = 0; i < inner; ++i) {
        float *base = out->data.data() + outer * n * inner + i;
        float m = -INFINITY;
        for (int64_t k = 0; k < n; ++k)
          m = std::max(m, base[k * inner]);
        double sum = 0;
        for (int64_t k = 0; k < n; ++k)
          sum += base[k * inner] = std::exp(base[k * inner] - m);
        for (int64_t k = 0; k < n; ++k)
          base[k * inner] = float(base[k * inner] / sum);
      }
  } else if (op == "Expand") {
    std::optional<SmallVector<int64_t>> shape =
        inputs.size() == 2 ? constantInts(inputs[1]) : std::nullopt;
    if (!shape)
      return false;
    HostTensor ones;
    ones.shape = *shape;
    if (llvm::any_of(ones.shape, [](int64_t d) { return d < 0; }) ||
        ones.size() > kMaxElements)
      return false;
    ones.data.assign(ones.size(), 0.0f);
    out = broadcast(*x, ones, [](float a, float) { return a; });
  } else if (op == "Reshape" || op == "Unsqueeze" || op == "Squeeze") {
    // The data stays; only the shape changes.
    SmallVector<int64_t> shape;
    if (op == "Reshape") {
      std::optional<SmallVector<int64_t>> target =
          inputs.size() == 2 ? constantInts(inputs[1]) : std::nullopt;
      if (!target)
        return false;
      int64_t known = 1, infer = -1;
      for (auto [i, d] : llvm::enumerate(*target)) {
        int64_t v = d == 0 && !intAttr("allowzero", 0) && int64_t(i) < rank
                        ? x->shape[i]
                        : d;
        if (v == -1)
          infer = int64_t(i);
        else
          known *= v;
        shape.push_back(v);
      }
      if (infer >= 0)
        shape[infer] = known > 0 ? x->size() / known : 0;
    } else {
      std::optional<SmallVector<int64_t>> axes = axesOf();
      if (!axes)
        return false;
      int64_t outRank = op == "Unsqueeze" ? rank + int64_t(axes->size()) : rank;
      llvm::SmallBitVector marked(outRank);
      for (int64_t a : *axes) {
        int64_t v = a < 0 ? a + outRank : a;
        if (v < 0 || v >= outRank || marked[v])
          return false; // out of range or repeated
        marked.set(v);
      }
      if (op == "Unsqueeze") {
        for (int64_t i = 0, j = 0; i < outRank; ++i)
          shape.push_back(marked[i] ? 1 : x->shape[j++]);
      } else {
        for (int64_t i = 0; i < rank; ++i)
          if (!(axes->empty() ? x->shape[i] == 1 : marked[i]))
            shape.push_back(x->shape[i]);
      }
    }
    out = x;
    out->shape = shape;
    if (out->size() != x->size())
      return false;
  } else if (op == "Transpose") {
    SmallVector<int64_t> perm;
    if (const auto *a = findAttr(node, "perm"))
      perm.assign(a->ints().begin(), a->ints().end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    if (int64_t(perm.size()) != rank)
      return false;
    HostTensor t;
    llvm::SmallBitVector seen(rank);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p])
        return false; // not a permutation: the runtime import reports it
      seen.set(p);
      t.shape.push_back(x->shape[p]);
    }
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * x->shape[d + 1];
    t.data.resize(x->size());
    SmallVector<int64_t> index(rank, 0);
    for (int64_t flat = 0; flat < t.size(); ++flat) {
      int64_t from = 0;
      for (int64_t d = 0; d < rank; ++d)
        from += index[d] * inStrides[perm[d]];
      t.data[flat] = x->data[from];
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++index[d] < t.shape[d])
          break;
        index[d] = 0;
      }
    }
    out = std::move(t);
  }
  if (!out)
    return false;
  auto type = RankedTensorType::get(out->shape, b.getF32Type());
  values[node.output(0)] = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(out->data)));
  return true;
}

LogicalResult Importer::importNode(const onnx::NodeProto &node) {
  if (node.output_size() == 0 || node.output(0).empty())
    return emitError(NameLoc::get(StringAttr::get(ctx, node.name())))
           << node.op_type() << " node '" << node.name()
           << "' has no output";
  Location loc = nodeLoc(node);
  SmallVector<Value> inputs;
  for (const std::string &name : node.input()) {
    if (name.empty()) { // an omitted optional input
      inputs.push_back(Value());
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return emitError(loc) << node.op_type() << " node reads '" << name
                            << "', which nothing defines";
    inputs.push_back(it->second);
  }
  const std::string &op = node.op_type();
  Value result;
  auto isFloat = [&](Value v) {
    return v && getElementTypeOrSelf(v.getType()).isF32();
  };
  if (node.domain() == kConvcDomain)
    return importConvcNode(node, loc, inputs);
  if (node.domain().empty() && foldWeightComputation(node, loc, inputs))
    return success();
  if (node.domain().empty() && foldShapeArithmetic(node, loc, inputs))
    return success();
  if (op == "Split")
    return split(node, loc, inputs);
  if (op == "Equal" || op == "Less" || op == "Greater" ||
      op == "LessOrEqual" || op == "GreaterOrEqual") {
    result = compare(node, loc, inputs);
  } else if (op == "Not" || op == "And" || op == "Or" || op == "Xor") {
    result = logical(node, loc, inputs);
  } else if (op == "Where") {
    result = where(loc, inputs);
  } else if (op == "CumSum") {
    result = cumSum(node, loc, inputs);
  } else if (op == "Range") {
    result = range(loc, inputs);
  } else if (op == "GatherElements") {
    result = gatherElements(node, loc, inputs);
  } else if (op == "ConstantOfShape") {
    result = constantOfShape(node, loc, inputs);
  } else if (op == "ScatterND") {
    result = scatterND(node, loc, inputs);
  } else if (auto u = unaryOps().find(op); u != unaryOps().end()) {
    if (inputs.size() != 1 || !isFloat(inputs[0]))
      return emitError(loc) << op << " needs one float input";
    UnaryBuilder build = u->second;
    result = elementwise(loc, inputs,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           return build(nb, l, a[0]);
                         });
  } else if (auto bo = binaryOps().find(op); bo != binaryOps().end()) {
    auto isInt64 = [](Value v) {
      return v && getElementTypeOrSelf(v.getType()).isInteger(64);
    };
    bool ints = inputs.size() == 2 && isInt64(inputs[0]) && isInt64(inputs[1]);
    if (inputs.size() != 2 ||
        !(ints || (isFloat(inputs[0]) && isFloat(inputs[1]))))
      return emitError(loc) << op << " needs two float32 or two int64 inputs";
    auto build = ints ? bo->second.onInts : bo->second.onFloats;
    result = elementwise(loc, inputs,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           return build(nb, l, a[0], a[1]);
                         });
  } else if (op == "Pow") {
    // Float or int64 base and exponent; the result has the base's type.
    // An int64 base is raised in f64 and truncated: exact while |result|
    // < 2^53, as numpy's int64 power is for results that fit.
    auto isInt64 = [](Value v) {
      return v && getElementTypeOrSelf(v.getType()).isInteger(64);
    };
    if (inputs.size() != 2 || !(isFloat(inputs[0]) || isInt64(inputs[0])) ||
        !(isFloat(inputs[1]) || isInt64(inputs[1])))
      return emitError(loc) << "Pow needs float32 or int64 inputs";
    bool intBase = isInt64(inputs[0]);
    result = elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                          ValueRange a) -> Value {
      Type wide = intBase ? nb.getF64Type() : nb.getF32Type();
      auto toWide = [&](Value v) -> Value {
        if (v.getType().isInteger(64))
          return arith::SIToFPOp::create(nb, l, wide, v);
        if (v.getType() != wide)
          return arith::ExtFOp::create(nb, l, wide, v);
        return v;
      };
      Value p = math::PowFOp::create(nb, l, toWide(a[0]), toWide(a[1]));
      return intBase ? Value(arith::FPToSIOp::create(nb, l, nb.getI64Type(), p))
                     : p;
    });
  } else if (op == "MatMul") {
    if (inputs.size() != 2 || !isFloat(inputs[0]))
      return emitError(loc) << "MatMul needs two float inputs";
    result = matmul(loc, inputs[0], inputs[1]);
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    // Axes: an attribute before opset 13, a constant input from 13 on.
    if (inputs.empty() || !inputs[0])
      return emitError(loc) << op << " needs an input";
    SmallVector<int64_t> axes;
    bool haveAxes = false;
    if (const auto *attr = findAttr(node, "axes")) {
      axes.assign(attr->ints().begin(), attr->ints().end());
      haveAxes = true;
    } else if (inputs.size() > 1 && inputs[1]) {
      auto values = constantInts(inputs[1]);
      if (!values)
        return notConstant(loc, op + " axes");
      axes = *values;
      haveAxes = true;
    }
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t inRank = type.getRank();
    bool unsqueeze = op == "Unsqueeze";
    int64_t outRank = unsqueeze ? inRank + int64_t(axes.size())
                                : inRank - int64_t(axes.size());
    int64_t axisRank = unsqueeze ? outRank : inRank;
    llvm::SmallDenseSet<int64_t> axisSet;
    for (int64_t a : axes) {
      int64_t n = a < 0 ? a + axisRank : a;
      if (n < 0 || n >= axisRank || !axisSet.insert(n).second)
        return emitError(loc) << op << " axis " << a
                              << " is out of range or repeated for rank "
                              << axisRank;
    }
    if (!unsqueeze) {
      if (!haveAxes) // every static 1
        for (int64_t i = 0; i < inRank; ++i)
          if (type.getDimSize(i) == 1)
            axisSet.insert(i);
      for (int64_t i : axisSet)
        if (type.getDimSize(i) != 1)
          return emitError(loc) << "Squeeze axis " << i << " has size "
                                << type.getDimSize(i)
                                << " (it must be a static 1)";
    }
    // The result: unit dims inserted or dropped, the others kept in order.
    SmallVector<int64_t> shape;
    SmallVector<OpFoldResult> sizes;
    int64_t wideRank = unsqueeze ? outRank : inRank;
    for (int64_t i = 0, j = 0; i < wideRank; ++i) {
      bool unit = axisSet.contains(i);
      if (unsqueeze && unit) {
        shape.push_back(1);
        sizes.push_back(b.getIndexAttr(1));
      } else if (!unit) {
        int64_t d = unsqueeze ? j++ : i;
        shape.push_back(type.getDimSize(d));
        sizes.push_back(tensor::getMixedSize(b, loc, inputs[0], d));
      }
    }
    result = reshape(loc, inputs[0],
                     RankedTensorType::get(shape, type.getElementType()),
                     [&] { return sizes; });
    if (!result)
      return failure();
  } else if (op == "Reshape") {
    // The shape must be constant (exports emit it so once shape arithmetic
    // is folded); 0 copies the input dim (unless allowzero), -1 is inferred.
    // A shape built from symbolic dims (Shape -> Gather -> Concat) carries
    // their runtime values.
    std::optional<ShapeOperand> operand = shapeOperand(node, inputs, 1);
    if (inputs.size() != 2 || !operand)
      return emitError(loc) << "Reshape needs data and a shape that is "
                               "constant or built from the input dims (an "
                               "initializer, a Constant node, or folded "
                               "Shape arithmetic): convc compiles shapes "
                               "statically";
    const SmallVector<int64_t> &target = operand->values;
    const SmallVector<Value> &symbolicSizes = operand->symbolicSizes;
    SmallVector<int64_t> shape;
    if (!inputs[0])
      return emitError(loc) << "Reshape needs data";
    auto type = cast<RankedTensorType>(inputs[0].getType());
    bool allowZero = false;
    if (const auto *a = findAttr(node, "allowzero"))
      allowZero = a->i() != 0;
    int64_t inferred = -1;
    for (auto [i, d] : llvm::enumerate(target)) {
      if (ShapedType::isDynamic(d)) {
        shape.push_back(ShapedType::kDynamic);
      } else if (d == -1) {
        if (inferred >= 0)
          return emitError(loc) << "Reshape shape has more than one -1";
        inferred = i;
        shape.push_back(ShapedType::kDynamic);
      } else if (d == 0 && !allowZero) {
        if (int64_t(i) >= type.getRank())
          return emitError(loc) << "Reshape shape entry " << i
                                << " is 0 but the input has rank "
                                << type.getRank();
        shape.push_back(type.getDimSize(i));
      } else if (d < 0) {
        return emitError(loc) << "Reshape shape entry " << d << " is invalid";
      } else {
        shape.push_back(d);
      }
    }
    // Infer -1 when the input is static.
    if (inferred >= 0 && type.hasStaticShape()) {
      int64_t known = 1;
      for (auto [i, d] : llvm::enumerate(shape))
        if (int64_t(i) != inferred)
          known *= d;
      if (known == 0 || type.getNumElements() % known != 0)
        return emitError(loc) << "Reshape cannot infer the -1 entry: "
                              << type.getNumElements()
                              << " elements do not divide by " << known;
      shape[inferred] = type.getNumElements() / known;
    }
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    if (resultType.hasStaticShape() && type.hasStaticShape() &&
        resultType.getNumElements() != type.getNumElements())
      return emitError(loc) << "Reshape from " << type << " to "
                            << resultType << " changes the element count";
    // Sizes of the output, as values where symbolic.
    auto outputSizes = [&]() {
      SmallVector<OpFoldResult> sizes;
      Value numel;
      for (int64_t i = 0; i < type.getRank(); ++i) {
        Value d = getValueOrCreateConstantIndexOp(
            b, loc, tensor::getMixedSize(b, loc, inputs[0], i));
        numel = numel ? arith::MulIOp::create(b, loc, numel, d) : d;
      }
      if (!numel)
        numel = arith::ConstantIndexOp::create(b, loc, 1);
      Value others = arith::ConstantIndexOp::create(b, loc, 1);
      for (auto [i, d] : llvm::enumerate(shape)) {
        if (!ShapedType::isDynamic(d))
          sizes.push_back(b.getIndexAttr(d));
        else if (int64_t(i) == inferred)
          sizes.push_back(OpFoldResult());
        else if (symbolicSizes[i])
          sizes.push_back(symbolicSizes[i]);
        else
          sizes.push_back(tensor::getMixedSize(b, loc, inputs[0], i));
        if (int64_t(i) != inferred)
          others = arith::MulIOp::create(
              b, loc, others,
              getValueOrCreateConstantIndexOp(b, loc, sizes.back()));
      }
      if (inferred >= 0 && !sizes[inferred])
        sizes[inferred] = arith::DivUIOp::create(b, loc, numel, others)
                              .getResult();
      return sizes;
    };
    result = reshape(loc, inputs[0], resultType, outputSizes);
    if (!result)
      return failure();
  } else if (op == "LayerNormalization") {
    // Opset 17: normalise over dims [axis, rank); Y = (X - mean) * invstd *
    // Scale (+ B), with optional outputs Mean and InvStdDev (keepdims shape).
    if (inputs.size() < 2 || !isFloat(inputs[0]) || !isFloat(inputs[1]) ||
        (inputs.size() > 2 && inputs[2] && !isFloat(inputs[2])))
      return emitError(loc) << "LayerNormalization needs float X, Scale and "
                               "optional B";
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    int64_t axis = -1;
    if (const auto *a = findAttr(node, "axis"))
      axis = a->i();
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return emitError(loc) << "LayerNormalization axis out of range for rank "
                            << rank;
    float epsilon = 1e-5f;
    if (const auto *a = findAttr(node, "epsilon"))
      epsilon = a->f();
    if (const auto *a = findAttr(node, "stash_type"); a && a->i() != 1)
      return emitError(loc) << "LayerNormalization stash_type " << a->i()
                            << " is not supported (float32 statistics are)";
    // Over the last axis, with [C] scale and bias and only Y used (what
    // nn.LayerNorm exports): the fused convc kernel.
    bool onlyY = node.output_size() == 1 ||
                 llvm::all_of(llvm::drop_begin(node.output()),
                              [](const std::string &o) { return o.empty(); });
    int64_t C = type.getDimSize(rank - 1);
    auto isVectorC = [&](Value v) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      return t && t.getRank() == 1 && t.getDimSize(0) == C;
    };
    if (axis == rank - 1 && onlyY && !ShapedType::isDynamic(C) &&
        isVectorC(inputs[1]) &&
        (inputs.size() < 3 || !inputs[2] || isVectorC(inputs[2]))) {
      Value beta = inputs.size() > 2 && inputs[2]
                       ? inputs[2]
                       : Value(arith::ConstantOp::create(
                             b, loc,
                             DenseElementsAttr::get(
                                 RankedTensorType::get({C}, b.getF32Type()),
                                 0.0f)));
      result = LayerNormOp::create(b, loc, type, inputs[0], inputs[1], beta,
                                   Value(), b.getF64FloatAttr(epsilon));
      values[node.output(0)] = result;
      return success();
    }
    // Statistics over dims [axis, rank), kept as [d0 .. d(axis-1), 1 ...].
    llvm::SmallBitVector reduced(rank, false);
    reduced.set(axis, rank);
    Value count = reducedCount(loc, inputs[0], reduced);
    Value sum = reduce(loc, inputs[0], reduced, /*keepDims=*/true, 0.0, {},
                       [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
                         return Value(arith::AddFOp::create(nb, l, a[0], acc));
                       });
    Value mean = elementwise(loc, {sum}, [&](OpBuilder &nb, Location l,
                                             ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], count);
    });
    // Two-pass variance: the mean first, so large offsets do not cancel.
    Value squares = reduce(
        loc, inputs[0], reduced, /*keepDims=*/true, 0.0, {mean},
        [](OpBuilder &nb, Location l, ValueRange a, Value acc) {
          Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
          return Value(arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, d, d), acc));
        });
    Value invStd = elementwise(loc, {squares}, [&](OpBuilder &nb, Location l,
                                                   ValueRange a) -> Value {
      Value var = arith::DivFOp::create(nb, l, a[0], count);
      Value eps = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(epsilon));
      return math::RsqrtOp::create(nb, l,
                                   arith::AddFOp::create(nb, l, var, eps));
    });
    SmallVector<Value> operands = {inputs[0], mean, invStd, inputs[1]};
    bool hasBias = inputs.size() > 2 && inputs[2];
    if (hasBias)
      operands.push_back(inputs[2]);
    result = elementwise(loc, operands, [&](OpBuilder &nb, Location l,
                                            ValueRange a) -> Value {
      Value y = arith::MulFOp::create(
          nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), a[2]);
      y = arith::MulFOp::create(nb, l, y, a[3]);
      return hasBias ? Value(arith::AddFOp::create(nb, l, y, a[4])) : y;
    });
    if (node.output_size() > 1 && !node.output(1).empty())
      values[node.output(1)] = mean;
    if (node.output_size() > 2 && !node.output(2).empty())
      values[node.output(2)] = invStd;
  } else if (op == "Conv") {
    result = conv(node, loc, inputs);
    if (!result)
      return failure();
  } else if (op == "Gather") {
    // out[a..., i..., b...] = data[a..., indices[i...], b...]. Negative
    // indices count from the end; out-of-range ones are clamped to the
    // valid range (compiled code has no error path; memory stays safe).
    auto isInt64 = [](Value v) {
      return v && getElementTypeOrSelf(v.getType()).isInteger(64);
    };
    if (inputs.size() != 2 || !(isFloat(inputs[0]) || isInt64(inputs[0])) ||
        !isInt64(inputs[1]))
      return emitError(loc) << "Gather needs float32/int64 data and int64 "
                               "indices";
    auto dataType = cast<RankedTensorType>(inputs[0].getType());
    auto indexType = cast<RankedTensorType>(inputs[1].getType());
    int64_t rank = dataType.getRank(), q = indexType.getRank();
    int64_t axis = 0;
    if (const auto *a = findAttr(node, "axis"))
      axis = a->i();
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return emitError(loc) << "Gather axis out of range for rank " << rank;
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamicSizes;
    auto addDim = [&](Value from, RankedTensorType t, int64_t i) {
      shape.push_back(t.getDimSize(i));
      if (t.isDynamicDim(i))
        dynamicSizes.push_back(tensor::DimOp::create(b, loc, from, i));
    };
    for (int64_t i = 0; i < axis; ++i)
      addDim(inputs[0], dataType, i);
    for (int64_t i = 0; i < q; ++i)
      addDim(inputs[1], indexType, i);
    for (int64_t i = axis + 1; i < rank; ++i)
      addDim(inputs[0], dataType, i);
    int64_t outRank = int64_t(shape.size());
    auto outType = RankedTensorType::get(shape, dataType.getElementType());
    Value init = tensor::EmptyOp::create(b, loc, outType, dynamicSizes);
    SmallVector<AffineExpr> indexExprs;
    for (int64_t i = 0; i < q; ++i)
      indexExprs.push_back(getAffineDimExpr(axis + i, ctx));
    Value data = inputs[0];
    Value extent = tensor::DimOp::create(b, loc, data, axis);
    result =
        linalg::GenericOp::create(
            b, loc, TypeRange{outType}, ValueRange{inputs[1]},
            ValueRange{init},
            ArrayRef<AffineMap>{AffineMap::get(outRank, 0, indexExprs, ctx),
                                AffineMap::getMultiDimIdentityMap(outRank,
                                                                  ctx)},
            SmallVector<utils::IteratorType>(outRank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value n = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                   extent);
              Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
              Value one = arith::ConstantIntOp::create(nb, l, 1, 64);
              Value raw = args[0];
              Value wrapped = arith::SelectOp::create(
                  nb, l,
                  arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, raw,
                                        zero),
                  arith::AddIOp::create(nb, l, raw, n), raw);
              Value clamped = arith::MaxSIOp::create(
                  nb, l, zero,
                  arith::MinSIOp::create(
                      nb, l, wrapped, arith::SubIOp::create(nb, l, n, one)));
              SmallVector<Value> at;
              for (int64_t i = 0; i < axis; ++i)
                at.push_back(linalg::IndexOp::create(nb, l, i));
              at.push_back(arith::IndexCastOp::create(nb, l, nb.getIndexType(),
                                                      clamped));
              for (int64_t i = axis + 1; i < rank; ++i)
                at.push_back(linalg::IndexOp::create(nb, l, q + i - 1));
              linalg::YieldOp::create(
                  nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
            })
            .getResult(0);
  } else if (op == "Slice") {
    // Opset >= 10: starts, ends, axes, steps are constant inputs. Symbolic
    // dims are sliced with index arithmetic (what x[..., :C] exports to).
    auto constInts = [&](size_t i, SmallVector<int64_t> &out) {
      std::optional<SmallVector<int64_t>> values =
          i < inputs.size() ? constantInts(inputs[i]) : std::nullopt;
      if (values)
        out = std::move(*values);
      return values.has_value();
    };
    if (inputs.size() < 3 || !inputs[0] ||
        !(isFloat(inputs[0]) ||
          getElementTypeOrSelf(inputs[0].getType()).isInteger(64)))
      return emitError(loc) << "Slice needs float32/int64 data, starts and "
                               "ends (opset >= 10 form)";
    SmallVector<int64_t> starts, ends, axes, steps;
    // Starts and ends may be runtime values (x[:, k:k + T] with a symbolic
    // T); axes and steps must be constant.
    SmallVector<Value> runtimeStarts, runtimeEnds;
    auto runtimeBounds = [&](size_t i, SmallVector<int64_t> &known,
                             SmallVector<Value> &runtime) {
      if (constInts(i, known))
        return true;
      auto t = dyn_cast<RankedTensorType>(inputs[i].getType());
      if (!t || t.getRank() != 1 || t.isDynamicDim(0) ||
          !t.getElementType().isInteger(64))
        return false;
      for (int64_t j = 0; j < t.getDimSize(0); ++j) {
        known.push_back(0);
        runtime.push_back(tensor::ExtractOp::create(
            b, loc, inputs[i],
            ValueRange{arith::ConstantIndexOp::create(b, loc, j)}));
      }
      return true;
    };
    if (!inputs[1] || !inputs[2] ||
        !runtimeBounds(1, starts, runtimeStarts) ||
        !runtimeBounds(2, ends, runtimeEnds) ||
        (inputs.size() > 3 && inputs[3] && !constInts(3, axes)) ||
        (inputs.size() > 4 && inputs[4] && !constInts(4, steps)))
      return notConstant(loc, "Slice axes/steps");
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    if (axes.empty())
      for (int64_t i = 0; i < int64_t(starts.size()); ++i)
        axes.push_back(i);
    if (steps.empty())
      steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size())
      return emitError(loc) << "Slice starts, ends, axes and steps differ in "
                               "length";
    // Per dim: first index and step (index values), and the result size.
    SmallVector<Value> first(rank), stride(rank);
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < rank; ++i)
      sizes.push_back(tensor::getMixedSize(b, loc, inputs[0], i));
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    llvm::SmallDenseSet<int64_t> seen;
    for (size_t k = 0; k < starts.size(); ++k) {
      int64_t axis = axes[k] < 0 ? axes[k] + rank : axes[k];
      if (axis < 0 || axis >= rank || !seen.insert(axis).second)
        return emitError(loc) << "Slice axis " << axes[k]
                              << " is out of range or repeated";
      int64_t step = steps[k];
      if (step == 0)
        return emitError(loc) << "Slice step 0 is invalid";
      Value n = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
      // Clamp a bound (as i64 arithmetic on index) into [lo, n + hiOff].
      auto bound = [&](int64_t v, Value runtime, int64_t lo,
                       int64_t hiOff) -> Value {
        Value x;
        if (runtime) {
          // Saturate to +-2^40 (INT64_MAX means "to the end"), wrap
          // negatives.
          Value big = arith::ConstantIntOp::create(b, loc, int64_t(1) << 40, 64);
          Value v64 = arith::MaxSIOp::create(
              b, loc,
              arith::MinSIOp::create(b, loc, runtime, big),
              arith::ConstantIntOp::create(b, loc, -(int64_t(1) << 40), 64));
          x = arith::IndexCastOp::create(b, loc, b.getIndexType(), v64);
          Value negative = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::slt, x, idx(0));
          x = arith::SelectOp::create(
              b, loc, negative, arith::AddIOp::create(b, loc, x, n), x);
        } else {
          // Out-of-range constants saturate to +-2^40 so index math is safe.
          v = std::clamp<int64_t>(v, -(int64_t(1) << 40), int64_t(1) << 40);
          x = idx(v);
          if (v < 0)
            x = b.createOrFold<arith::AddIOp>(loc, x, n);
        }
        Value hi = b.createOrFold<arith::AddIOp>(loc, n, idx(hiOff));
        return b.createOrFold<arith::MaxSIOp>(
            loc, idx(lo), b.createOrFold<arith::MinSIOp>(loc, x, hi));
      };
      Value rs = runtimeStarts.empty() ? Value() : runtimeStarts[k];
      Value re = runtimeEnds.empty() ? Value() : runtimeEnds[k];
      Value s, e, count;
      if (step > 0) {
        s = bound(starts[k], rs, 0, 0);
        e = bound(ends[k], re, 0, 0);
        count = b.createOrFold<arith::CeilDivSIOp>(
            loc, b.createOrFold<arith::SubIOp>(loc, e, s), idx(step));
      } else {
        s = bound(starts[k], rs, 0, -1);
        e = bound(ends[k], re, -1, -1);
        count = b.createOrFold<arith::CeilDivSIOp>(
            loc, b.createOrFold<arith::SubIOp>(loc, s, e), idx(-step));
      }
      count = b.createOrFold<arith::MaxSIOp>(loc, count, idx(0));
      first[axis] = s;
      stride[axis] = idx(step);
      sizes[axis] = getAsOpFoldResult(count);
    }
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamicSizes;
    for (OpFoldResult size : sizes) {
      if (auto c = getConstantIntValue(size)) {
        shape.push_back(*c);
      } else {
        shape.push_back(ShapedType::kDynamic);
        dynamicSizes.push_back(cast<Value>(size));
      }
    }
    auto outType = RankedTensorType::get(shape, type.getElementType());
    Value init = tensor::EmptyOp::create(b, loc, outType, dynamicSizes);
    Value data = inputs[0];
    result = linalg::GenericOp::create(
                 b, loc, TypeRange{outType}, ValueRange{}, ValueRange{init},
                 ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)},
                 SmallVector<utils::IteratorType>(
                     rank, utils::IteratorType::parallel),
                 [&](OpBuilder &nb, Location l, ValueRange) {
                   SmallVector<Value> at;
                   for (int64_t i = 0; i < rank; ++i) {
                     Value j = linalg::IndexOp::create(nb, l, i);
                     if (first[i])
                       j = arith::AddIOp::create(
                           nb, l, first[i],
                           arith::MulIOp::create(nb, l, j, stride[i]));
                     at.push_back(j);
                   }
                   linalg::YieldOp::create(
                       nb, l,
                       ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
                 })
                 .getResult(0);
  } else if (op == "Cast") {
    // Between float32, int64 and bool; shape-arithmetic casts on constants
    // are folded before this.
    int64_t to = findAttr(node, "to") ? findAttr(node, "to")->i() : 0;
    if (to == onnx::TensorProto::DOUBLE && inputs.size() == 1 &&
        elementType(to, loc, "Cast"))
      to = onnx::TensorProto::FLOAT; // float64 is computed in float32
    if (inputs.size() != 1 || !inputs[0] ||
        (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::INT64 &&
         to != onnx::TensorProto::BOOL))
      return emitError(loc) << "Cast to ONNX type " << to
                            << " is not supported (float32, float64 as "
                               "float32, int64 and bool are)";
    Type target = to == onnx::TensorProto::FLOAT   ? Type(b.getF32Type())
                  : to == onnx::TensorProto::INT64 ? Type(b.getI64Type())
                                                   : Type(b.getI1Type());
    Type source = getElementTypeOrSelf(inputs[0].getType());
    if (source == target)
      result = inputs[0];
    else
      result = elementwise(
          loc, inputs,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value x = a[0];
            if (target.isInteger(1)) { // x != 0
              if (source.isF32())
                return arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::UNE, x,
                    arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0)));
              return arith::CmpIOp::create(
                  nb, l, arith::CmpIPredicate::ne, x,
                  arith::ConstantIntOp::create(nb, l, 0, 64));
            }
            if (source.isInteger(1))
              return target.isF32()
                         ? Value(arith::UIToFPOp::create(nb, l, target, x))
                         : Value(arith::ExtUIOp::create(nb, l, target, x));
            if (target.isF32())
              return arith::SIToFPOp::create(nb, l, target, x);
            return arith::FPToSIOp::create(nb, l, target, x);
          },
          target);
  } else if (op == "Pad") {
    // Opset >= 11: constant pads [begin..., end...] (an input); mode
    // "constant" with an optional scalar value. Symbolic dims stay symbolic.
    std::string mode = "constant";
    if (const auto *a = findAttr(node, "mode"))
      mode = a->s();
    if (mode != "constant" && mode != "edge" && mode != "reflect")
      return emitError(loc) << "Pad mode '" << mode
                            << "' is not supported (constant, edge and "
                               "reflect are)";
    std::optional<SmallVector<int64_t>> padsValues =
        inputs.size() >= 2 ? constantInts(inputs[1]) : std::nullopt;
    if (!inputs[0])
      return emitError(loc) << "Pad needs data";
    if (!padsValues)
      return notConstant(loc, "Pad pads");
    if (inputs.size() > 3 && inputs[3])
      return emitError(loc) << "Pad with an axes input (opset 18) is not "
                               "supported";
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    const SmallVector<int64_t> &pads = *padsValues;
    if (int64_t(pads.size()) != 2 * rank)
      return emitError(loc) << "Pad has " << pads.size()
                            << " pads for rank " << rank << " (needs "
                            << 2 * rank << ")";
    if (llvm::any_of(pads, [](int64_t v) { return v < 0; }))
      return emitError(loc) << "Pad with negative pads (cropping) is not "
                               "supported";
    Type element = type.getElementType();
    Value padValue;
    if (inputs.size() > 2 && inputs[2]) {
      if (getElementTypeOrSelf(inputs[2].getType()) != element)
        return emitError(loc) << "Pad constant_value type differs from data";
      padValue = tensor::ExtractOp::create(
          b, loc, inputs[2],
          SmallVector<Value>(
              cast<RankedTensorType>(inputs[2].getType()).getRank(),
              arith::ConstantIndexOp::create(b, loc, 0)));
    } else {
      padValue = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    }
    SmallVector<OpFoldResult> low, high;
    for (int64_t i = 0; i < rank; ++i) {
      low.push_back(b.getIndexAttr(pads[i]));
      high.push_back(b.getIndexAttr(pads[i + rank]));
    }
    if (mode == "constant") {
      result = tensor::PadOp::create(b, loc, RankedTensorType(), inputs[0],
                                     low, high, padValue, /*nofold=*/false);
    } else {
      // edge: the nearest element; reflect: mirrored about the edge element
      // (which is not repeated). Each padded position reads the source at
      // its mapped index, per dim.
      for (int64_t i = 0; i < rank; ++i)
        if ((pads[i] || pads[i + rank]) && type.getDimSize(i) == 0)
          return emitError(loc) << "Pad " << mode << " of an empty dim";
      for (int64_t i = 0; i < rank; ++i)
        if (mode == "reflect" && !type.isDynamicDim(i) &&
            std::max(pads[i], pads[i + rank]) >= type.getDimSize(i))
          return emitError(loc) << "Pad reflect of " << pads[i] << " + "
                                << pads[i + rank] << " on a dim of size "
                                << type.getDimSize(i)
                                << " (reflect pads must be shorter than the dim)";
      Value source = inputs[0];
      bool reflect = mode == "reflect";
      auto pad = tensor::PadOp::create(b, loc, RankedTensorType(), source, low,
                                       high, padValue, /*nofold=*/false);
      Block &body = pad.getRegion().front();
      OpBuilder pb = OpBuilder::atBlockBegin(&body);
      SmallVector<Value> at;
      Value empty; // a padded symbolic dim of size 0: nothing to read
      for (int64_t i = 0; i < rank; ++i) {
        Value index = body.getArgument(i);
        if (!pads[i] && !pads[i + rank]) {
          at.push_back(index);
          continue;
        }
        Value n = tensor::DimOp::create(pb, loc, source, i);
        if (type.isDynamicDim(i)) {
          Value isEmpty = arith::CmpIOp::create(
              pb, loc, arith::CmpIPredicate::eq, n,
              arith::ConstantIndexOp::create(pb, loc, 0));
          empty = empty ? Value(arith::OrIOp::create(pb, loc, empty, isEmpty))
                        : isEmpty;
        }
        Value zero = arith::ConstantIndexOp::create(pb, loc, 0);
        Value one = arith::ConstantIndexOp::create(pb, loc, 1);
        Value last = arith::SubIOp::create(pb, loc, n, one);
        Value j = arith::SubIOp::create(
            pb, loc, index, arith::ConstantIndexOp::create(pb, loc, pads[i]));
        if (reflect) { // -j below, 2 (n - 1) - j above
          j = arith::MaxSIOp::create(pb, loc, j,
                                     arith::SubIOp::create(pb, loc, zero, j));
          Value mirrored = arith::SubIOp::create(
              pb, loc, arith::AddIOp::create(pb, loc, last, last), j);
          j = arith::MinSIOp::create(pb, loc, j, mirrored);
        }
        // Clamped either way (edge; and reflect on a 1-element dim).
        j = arith::MinSIOp::create(pb, loc,
                                   arith::MaxSIOp::create(pb, loc, j, zero),
                                   last);
        at.push_back(j);
      }
      Value element;
      if (empty) {
        auto guard = scf::IfOp::create(pb, loc, TypeRange{type.getElementType()},
                                       empty, /*withElseRegion=*/true);
        OpBuilder gb = OpBuilder::atBlockBegin(guard.thenBlock());
        scf::YieldOp::create(gb, loc, padValue);
        gb.setInsertionPointToStart(guard.elseBlock());
        scf::YieldOp::create(
            gb, loc, ValueRange{tensor::ExtractOp::create(gb, loc, source, at)});
        element = guard.getResult(0);
      } else {
        element = tensor::ExtractOp::create(pb, loc, source, at);
      }
      body.getTerminator()->setOperand(0, element);
      result = pad.getResult();
    }
  } else if (op == "Expand") {
    // Numpy (bidirectional) broadcast of data against a constant or folded
    // target shape.
    std::optional<ShapeOperand> operand = shapeOperand(node, inputs, 1);
    if (inputs.size() != 2 || !operand)
      return emitError(loc) << "Expand needs data and a shape that is "
                               "constant or built from input dims";
    const SmallVector<int64_t> &target = operand->values;
    if (!inputs[0])
      return emitError(loc) << "Expand needs data";
    if (llvm::any_of(target, [](int64_t d) {
          return !ShapedType::isDynamic(d) && d < 0;
        }))
      return emitError(loc) << "Expand shape entries must be >= 0";
    Value shaped = tensor::EmptyOp::create(
        b, loc, RankedTensorType::get(target, getElementTypeOrSelf(
                                                  inputs[0].getType())),
        llvm::to_vector(llvm::make_filter_range(
            operand->symbolicSizes, [](Value v) { return bool(v); })));
    result = elementwise(loc, {inputs[0], shaped},
                         [](OpBuilder &, Location, ValueRange a) {
                           return a[0];
                         });
  } else if (foldOnlyOp(op)) {
    return emitError(loc) << op << " is only supported on compile-time "
                                   "shape values (where it folds); this one "
                                   "depends on runtime data";
  } else if (op == "Transpose") {
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    SmallVector<int64_t> perm;
    if (const auto *attr = findAttr(node, "perm"))
      perm.assign(attr->ints().begin(), attr->ints().end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    if (int64_t(perm.size()) != rank)
      return emitError(loc) << "Transpose perm has " << perm.size()
                            << " entries for rank " << rank;
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> inExprs(rank);
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < rank; ++i) {
      if (perm[i] < 0 || perm[i] >= rank)
        return emitError(loc) << "Transpose perm entry " << perm[i]
                              << " out of range";
      shape.push_back(type.getDimSize(perm[i]));
      inExprs[perm[i]] = getAffineDimExpr(i, ctx);
      if (type.isDynamicDim(perm[i]))
        dynamicSizes.push_back(
            tensor::DimOp::create(b, loc, inputs[0], perm[i]));
    }
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
    // The named op: the raising patterns look for BTC <-> BCT transposes.
    result = linalg::TransposeOp::create(b, loc, inputs[0], init, perm)
                 .getResult()[0];
  } else if (op == "Gemm") {
    // Y = alpha op(A) op(B) + beta C, op = transpose when transA / transB.
    if (inputs.size() < 2 || !isFloat(inputs[0]))
      return emitError(loc) << "Gemm needs float A and B";
    auto attrInt = [&](StringRef name, int64_t fallback) {
      const auto *a = findAttr(node, name);
      return a ? a->i() : fallback;
    };
    auto attrFloat = [&](StringRef name, float fallback) {
      const auto *a = findAttr(node, name);
      return a ? a->f() : fallback;
    };
    bool transA = attrInt("transA", 0), transB = attrInt("transB", 0);
    float alpha = attrFloat("alpha", 1.0f), beta = attrFloat("beta", 1.0f);
    Value A = inputs[0], Bm = inputs[1];
    auto ta = cast<RankedTensorType>(A.getType());
    auto tb = cast<RankedTensorType>(Bm.getType());
    if (ta.getRank() != 2 || tb.getRank() != 2)
      return emitError(loc) << "Gemm needs 2-D A and B";
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    int64_t M = ta.getDimSize(transA ? 1 : 0), N = tb.getDimSize(transB ? 0 : 1);
    SmallVector<Value> dynamicSizes;
    if (ShapedType::isDynamic(M))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, A, transA ? 1 : 0));
    if (ShapedType::isDynamic(N))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, Bm, transB ? 0 : 1));
    auto type = RankedTensorType::get({M, N}, b.getF32Type());
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value init = linalg::FillOp::create(
                     b, loc, zero,
                     tensor::EmptyOp::create(b, loc, type, dynamicSizes).getResult())
                     .getResult(0);
    Value product =
        linalg::GenericOp::create(
            b, loc, TypeRange{type}, ValueRange{A, Bm}, ValueRange{init},
            ArrayRef<AffineMap>{
                AffineMap::get(3, 0, {transA ? k : m, transA ? m : k}, ctx),
                AffineMap::get(3, 0, {transB ? n : k, transB ? k : n}, ctx),
                AffineMap::get(3, 0, {m, n}, ctx)},
            ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                          utils::IteratorType::parallel,
                                          utils::IteratorType::reduction},
            [](OpBuilder &nb, Location l, ValueRange args) {
              Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
              linalg::YieldOp::create(
                  nb, l, arith::AddFOp::create(nb, l, args[2], p).getResult());
            })
            .getResult(0);
    SmallVector<Value> terms = {product};
    bool hasC = inputs.size() > 2;
    if (hasC)
      terms.push_back(inputs[2]);
    result = elementwise(loc, terms, [&](OpBuilder &nb, Location l,
                                         ValueRange a) -> Value {
      Value y = arith::MulFOp::create(
          nb, l, a[0], arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(alpha)));
      if (!hasC)
        return y;
      Value c = arith::MulFOp::create(
          nb, l, a[1], arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(beta)));
      return arith::AddFOp::create(nb, l, y, c);
    });
  } else if (op == "Softmax" || op == "LogSoftmax") {
    if (inputs.size() != 1 || !isFloat(inputs[0]))
      return emitError(loc) << op << " needs one float input";
    if (opset < 13)
      return emitError(loc) << op << " before opset 13 (flattening to 2-D) "
                            << "is not supported; this model uses opset "
                            << opset;
    int64_t rank = cast<RankedTensorType>(inputs[0].getType()).getRank();
    const auto *attr = findAttr(node, "axis");
    int64_t axis = attr ? attr->i() : -1;
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return emitError(loc) << op << " axis out of range for rank " << rank;
    auto type = cast<RankedTensorType>(inputs[0].getType());
    if (op == "Softmax" && axis == rank - 1 && !type.isDynamicDim(axis) &&
        type.getElementType().isF32())
      // Over a static last axis (kernel taps, DynamicConv's logits): the
      // convc op, which the conv it feeds can fuse.
      result = KernelSoftmaxOp::create(b, loc, inputs[0]);
    else
      result = softmax(loc, inputs[0], axis, op == "LogSoftmax");
  } else if (op == "LeakyRelu") {
    if (inputs.size() != 1 || !isFloat(inputs[0]))
      return emitError(loc) << "LeakyRelu needs one float input";
    const auto *attr = findAttr(node, "alpha");
    float alpha = attr ? attr->f() : 0.01f;
    result = elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                          ValueRange a) -> Value {
      Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
      Value scaled = arith::MulFOp::create(
          nb, l, a[0], arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(alpha)));
      Value positive = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                             a[0], zero);
      return arith::SelectOp::create(nb, l, positive, a[0], scaled);
    });
  } else if (op == "Clip") {
    if (inputs.empty() || !inputs[0] || !isFloat(inputs[0]))
      return emitError(loc) << "Clip needs a float input";
    Value lo = inputs.size() > 1 ? inputs[1] : Value();
    Value hi = inputs.size() > 2 ? inputs[2] : Value();
    SmallVector<Value> operands = {inputs[0]};
    if (lo)
      operands.push_back(lo);
    if (hi)
      operands.push_back(hi);
    result = elementwise(loc, operands, [&](OpBuilder &nb, Location l,
                                            ValueRange a) -> Value {
      Value y = a[0];
      size_t next = 1;
      if (lo)
        y = arith::MaximumFOp::create(nb, l, y, a[next++]);
      if (hi)
        y = arith::MinimumFOp::create(nb, l, y, a[next]);
      return y;
    });
  } else if (op == "Max" || op == "Min") {
    if (inputs.empty())
      return emitError(loc) << op << " needs inputs";
    bool max = op == "Max";
    bool isInt = getElementTypeOrSelf(inputs[0].getType()).isInteger(64);
    result = elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                          ValueRange a) -> Value {
      Value y = a[0];
      for (Value v : a.drop_front()) {
        if (isInt)
          y = max ? Value(arith::MaxSIOp::create(nb, l, y, v))
                  : Value(arith::MinSIOp::create(nb, l, y, v));
        else
          y = max ? Value(arith::MaximumFOp::create(nb, l, y, v))
                  : Value(arith::MinimumFOp::create(nb, l, y, v));
      }
      return y;
    });
  } else if (op == "ReduceMean" || op == "ReduceMax" || op == "ReduceMin" ||
             op == "ReduceSum" || op == "ReduceSumSquare") {
    // Axes: an attribute (opsets <= 17; ReduceSum before 13) or, for
    // ReduceSum from opset 13, a constant input.
    bool axesInput = op == "ReduceSum" && inputs.size() == 2 && inputs[1];
    if (inputs.empty() || !isFloat(inputs[0]) ||
        (inputs.size() > 1 && !axesInput))
      return emitError(loc) << op << " needs one float input (axes as an "
                                     "attribute, or ReduceSum's axes input)";
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    llvm::SmallBitVector reduced(rank, false);
    SmallVector<int64_t> axes;
    bool haveAxes = false;
    if (axesInput) {
      std::optional<SmallVector<int64_t>> axesValues = constantInts(inputs[1]);
      if (!axesValues)
        return notConstant(loc, op + " axes");
      axes = *axesValues;
      haveAxes = !axes.empty();
      const auto *noop = findAttr(node, "noop_with_empty_axes");
      if (axes.empty() && noop && noop->i() != 0) {
        values[node.output(0)] = inputs[0];
        return success();
      }
    } else if (const auto *attr = findAttr(node, "axes")) {
      axes.assign(attr->ints().begin(), attr->ints().end());
      haveAxes = true;
    }
    if (haveAxes) {
      for (int64_t axis : axes) {
        if (axis < 0)
          axis += rank;
        if (axis < 0 || axis >= rank)
          return emitError(loc) << op << " axis out of range";
        reduced.set(axis);
      }
    } else {
      reduced.set();
    }
    const auto *kd = findAttr(node, "keepdims");
    bool keep = kd ? kd->i() != 0 : true;
    bool sum = op == "ReduceMean" || op == "ReduceSum" ||
               op == "ReduceSumSquare";
    double start = sum ? 0.0 : op == "ReduceMax" ? -INFINITY : INFINITY;
    result = reduce(
        loc, inputs[0], reduced, keep, start, {},
        [&](OpBuilder &nb, Location l, ValueRange a, Value acc) -> Value {
          if (op == "ReduceSumSquare")
            return arith::AddFOp::create(
                nb, l, arith::MulFOp::create(nb, l, a[0], a[0]), acc);
          if (sum)
            return arith::AddFOp::create(nb, l, a[0], acc);
          if (op == "ReduceMax")
            return arith::MaximumFOp::create(nb, l, a[0], acc);
          return arith::MinimumFOp::create(nb, l, a[0], acc);
        });
    if (op == "ReduceMean") {
      Value count = reducedCount(loc, inputs[0], reduced);
      result = elementwise(loc, {result}, [&](OpBuilder &nb, Location l,
                                              ValueRange a) -> Value {
        return arith::DivFOp::create(nb, l, a[0], count);
      });
    }
  } else if (op == "Concat") {
    const auto *attr = findAttr(node, "axis");
    if (!attr || inputs.empty())
      return emitError(loc) << "Concat needs inputs and an axis";
    if (llvm::is_contained(inputs, Value()))
      return emitError(loc) << "Concat has an empty input name";
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank(), axis = attr->i();
    for (Value v : inputs) {
      auto t = cast<RankedTensorType>(v.getType());
      if (t.getRank() != rank || t.getElementType() != type.getElementType())
        return emitError(loc) << "Concat inputs differ in rank or element "
                                 "type";
      for (int64_t i = 0; i < rank; ++i)
        if (i != (axis < 0 ? axis + rank : axis) && !t.isDynamicDim(i) &&
            !type.isDynamicDim(i) && t.getDimSize(i) != type.getDimSize(i))
          return emitError(loc) << "Concat inputs differ in dim " << i;
    }
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return emitError(loc) << "Concat axis out of range";
    // Sizes: per dim the first static one among the inputs, else the first
    // input's; the concatenated dimension summed (folded when static).
    SmallVector<OpFoldResult> sizes;
    for (int64_t i = 0; i < rank; ++i) {
      OpFoldResult size = tensor::getMixedSize(b, loc, inputs[0], i);
      for (Value v : inputs)
        if (auto t = cast<RankedTensorType>(v.getType());
            t.getRank() == rank && !t.isDynamicDim(i))
          size = b.getIndexAttr(t.getDimSize(i));
      sizes.push_back(size);
    }
    Value total = arith::ConstantIndexOp::create(b, loc, 0);
    for (Value v : inputs)
      total = b.createOrFold<arith::AddIOp>(
          loc, total,
          getValueOrCreateConstantIndexOp(
              b, loc, tensor::getMixedSize(b, loc, v, axis)));
    sizes[axis] = getAsOpFoldResult(total);
    Value acc = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
    Value offset = arith::ConstantIndexOp::create(b, loc, 0);
    for (Value v : inputs) {
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
      offsets[axis] = offset;
      SmallVector<OpFoldResult> vsizes;
      for (int64_t i = 0; i < rank; ++i)
        vsizes.push_back(tensor::getMixedSize(b, loc, v, i));
      acc = tensor::InsertSliceOp::create(
          b, loc, v, acc, offsets, vsizes,
          SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
      offset = b.createOrFold<arith::AddIOp>(
          loc, offset,
          getValueOrCreateConstantIndexOp(
              b, loc, tensor::getMixedSize(b, loc, v, axis)));
    }
    result = acc;
  } else if (op == "Identity") {
    if (inputs.size() != 1)
      return emitError(loc) << "Identity needs one input";
    // A copy, so that a graph output never aliases a graph input.
    result = elementwise(loc, inputs, [](OpBuilder &, Location, ValueRange a) {
      return a[0];
    });
  } else if (op == "Constant") {
    for (const auto &attr : node.attribute()) {
      if (attr.name() == "value" && attr.has_t())
        result = constant(attr.t(), loc);
      // Scalar and list forms (opset 12): value_float(s), value_int(s).
      auto dense = [&](Type element, auto values, bool scalar) -> Value {
        using T = typename decltype(values)::value_type;
        SmallVector<T> data(values.begin(), values.end());
        auto type = RankedTensorType::get(
            scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{int64_t(data.size())},
            element);
        return arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(type, ArrayRef<T>(data)));
      };
      if (attr.name() == "value_float")
        result = dense(b.getF32Type(), std::vector<float>{attr.f()}, true);
      else if (attr.name() == "value_floats")
        result = dense(b.getF32Type(),
                       std::vector<float>(attr.floats().begin(),
                                          attr.floats().end()),
                       false);
      else if (attr.name() == "value_int")
        result = dense(b.getI64Type(), std::vector<int64_t>{attr.i()}, true);
      else if (attr.name() == "value_ints")
        result = dense(b.getI64Type(),
                       std::vector<int64_t>(attr.ints().begin(),
                                            attr.ints().end()),
                       false);
    }
    if (!result)
      return emitError(loc) << "Constant needs a 'value' tensor (float32, "
                               "int64, int32 or bool) or value_float(s) / "
                               "value_int(s)";
  }
  if (!result)
    return failure();
  values[node.output(0)] = result;
  return success();
}

OwningOpRef<ModuleOp> Importer::run() {
  Location graphLoc = NameLoc::get(StringAttr::get(
      ctx, graph.name().empty() ? std::string("graph") : graph.name()));
  // Every unsupported op type, with its nodes, at once.
  std::map<std::string, std::vector<std::string>> unsupported;
  for (const auto &node : graph.node()) {
    const std::string &op = node.op_type();
    bool known;
    if (node.domain() == kConvcDomain)
      known = llvm::is_contained(convcDomainOps(), op);
    else
      known = node.domain().empty() &&
              (llvm::is_contained(supportedONNXOps(), op) || foldOnlyOp(op));
    if (!known)
      unsupported[node.domain().empty() ? op : node.domain() + "." + op]
          .push_back(node.name().empty() ? "(unnamed)" : node.name());
  }
  if (!unsupported.empty()) {
    InFlightDiagnostic diag = emitError(graphLoc)
                              << "unsupported ONNX ops (supported: ";
    llvm::interleaveComma(supportedONNXOps(), diag);
    diag << "; domain convc: ";
    llvm::interleaveComma(convcDomainOps(), diag);
    diag << "):";
    for (const auto &[op, nodes] : unsupported) {
      diag << " " << op << " x" << nodes.size() << " [";
      for (size_t i = 0; i < nodes.size() && i < 5; ++i)
        diag << (i ? ", " : "") << nodes[i];
      diag << (nodes.size() > 5 ? ", ..." : "") << "];";
    }
    return nullptr;
  }

  // Output types the runtime cannot pass fail before any node is imported
  // (an error about a node would hide the actual limitation).
  for (const auto &output : graph.output()) {
    if (!output.type().has_tensor_type())
      continue;
    int type = output.type().tensor_type().elem_type();
    if (type == onnx::TensorProto::DOUBLE && !tensorType(output))
      return nullptr; // the boundary error
    if (type != onnx::TensorProto::BOOL && type != onnx::TensorProto::DOUBLE &&
        !elementType(type, NameLoc::get(StringAttr::get(ctx, output.name())),
                     "graph output '" + output.name() + "'"))
      return nullptr;
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(graphLoc);
  b.setInsertionPointToEnd(module->getBody());
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &t : graph.initializer())
    initializers[t.name()] = &t;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &input : graph.input()) {
    if (initializers.count(input.name()))
      continue;
    RankedTensorType type = tensorType(input);
    if (!type)
      return nullptr;
    argTypes.push_back(type);
    argNames.push_back(input.name());
  }
  auto func = func::FuncOp::create(b, graphLoc, "main",
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name] = entry->getArgument(i);
    func.setArgAttr(i, "convc.name", b.getStringAttr(name));
  }
  for (const auto &[name, t] : initializers) {
    Value c = constant(*t, NameLoc::get(StringAttr::get(ctx, name.str())));
    if (!c)
      return nullptr;
    values[name.str()] = c;
  }
  for (const auto &node : graph.node())
    if (failed(importNode(node)))
      return nullptr;
  SmallVector<Value> results;
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end()) {
      emitError(graphLoc) << "graph output '" << output.name()
                          << "' is not computed by any node";
      return nullptr;
    }
    if (getElementTypeOrSelf(it->second.getType()).isInteger(1)) {
      emitError(graphLoc) << "graph output '" << output.name()
                          << "': bool graph inputs and outputs are not "
                             "supported (the runtime passes float32 and int64 "
                             "tensors; Cast the output to int64)";
      return nullptr;
    }
    results.push_back(it->second);
  }
  func::ReturnOp::create(b, graphLoc, results);
  func.setType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "convc.name", b.getStringAttr(output.name()));
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

const std::vector<std::string> &supportedONNXOps() {
  static const std::vector<std::string> ops = {
      "Abs",         "Add",         "And",
      "Cast",        "Ceil",        "Clip",
      "Concat",      "Constant",    "ConstantOfShape",
      "Conv",        "Cos",        "CumSum",      "Div",
      "Equal",       "Erf",         "Exp",
      "Expand",      "Floor",       "Gather",
      "GatherElements", "Gemm",     "Greater",
      "GreaterOrEqual", "Identity", "LayerNormalization",
      "LeakyRelu",   "Less",        "LessOrEqual",
      "Log",         "LogSoftmax",  "MatMul",      "Max",
      "Min",         "Mul",         "Neg",
      "Not",         "Or",          "Pad",
      "Pow",         "Range",       "Reciprocal",
      "ReduceMax",
      "ReduceMean",  "ReduceMin",   "ReduceSum",
      "ReduceSumSquare", "Relu",    "Reshape",     "ScatterND",
      "Shape",       "Sigmoid",     "Sin",
      "Slice",       "Softmax",     "Split",       "Sqrt",
      "Squeeze",     "Sub",         "Tanh",
      "Transpose",   "Unsqueeze",   "Where",
      "Xor"};
  return ops;
}

namespace {
OwningOpRef<ModuleOp> importModel(MLIRContext *context,
                                  const onnx::ModelProto &model,
                                  const std::string &path, Location fileLoc) {
  int64_t version = kMaxOpset;
  for (const auto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      version = opset.version();
      if (opset.version() < kMinOpset || opset.version() > kMaxOpset) {
        emitError(fileLoc) << "'" << path << "' uses opset "
                           << opset.version() << "; convc imports opsets "
                           << kMinOpset << " to " << kMaxOpset;
        return nullptr;
      }
    }
  context->loadDialect<ConvcDialect, arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       scf::SCFDialect, tensor::TensorDialect>();
  return Importer(context, model.graph(), version).run();
}

Location notAModel(MLIRContext *context, const std::string &path) {
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  emitError(fileLoc) << "'" << path
                     << "' is not an ONNX model (the protobuf does not "
                        "parse, is truncated, or has no graph)";
  return fileLoc;
}
} // namespace

OwningOpRef<ModuleOp> importONNXFile(MLIRContext *context,
                                     const std::string &path) {
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    emitError(fileLoc) << "cannot open '" << path << "'";
    return nullptr;
  }
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in) || !model.has_graph()) {
    notAModel(context, path);
    return nullptr;
  }
  return importModel(context, model, path, fileLoc);
}

namespace {
/// One module from an imported encoder and full-sequence decoder (see
/// importONNXSeq2Seq).
OwningOpRef<ModuleOp> packageSeq2Seq(MLIRContext *context,
                                     OwningOpRef<ModuleOp> encoder,
                                     OwningOpRef<ModuleOp> decoder,
                                     const std::string &encoderPath,
                                     const std::string &decoderPath) {
  if (!encoder || !decoder)
    return nullptr;
  auto encode = encoder->lookupSymbol<func::FuncOp>("main");
  auto decode = decoder->lookupSymbol<func::FuncOp>("main");
  Location loc = FileLineColLoc::get(context, decoderPath, 0, 0);
  auto tokensFirst = [](func::FuncOp f) {
    if (f.getNumArguments() == 0)
      return false;
    auto t = dyn_cast<RankedTensorType>(f.getArgumentTypes()[0]);
    return t && t.getRank() == 2 && t.getElementType().isInteger(64);
  };
  if (!tokensFirst(encode)) {
    emitError(FileLineColLoc::get(context, encoderPath, 0, 0))
        << "the encoder's first input must be the source tokens (int64 "
           "[batch, source length])";
    return nullptr;
  }
  if (!tokensFirst(decode) || decode.getNumResults() == 0) {
    emitError(loc) << "the decoder's first input must be the previous tokens "
                      "(int64 [batch, target length]) and its first output "
                      "the logits";
    return nullptr;
  }
  auto name = [](func::FuncOp f, bool result, unsigned i) {
    auto attr = result ? f.getResultAttrOfType<StringAttr>(i, "convc.name")
                       : f.getArgAttrOfType<StringAttr>(i, "convc.name");
    return attr ? attr.getValue().str() : std::string();
  };
  llvm::StringSet<> encoderOutputs;
  for (unsigned i = 0; i < encode.getNumResults(); ++i)
    encoderOutputs.insert(name(encode, true, i));
  bool byName = true;
  for (unsigned i = 1; i < decode.getNumArguments(); ++i)
    byName &= encoderOutputs.contains(name(decode, false, i));
  if (!byName) {
    if (decode.getNumArguments() - 1 != encode.getNumResults()) {
      emitError(loc) << "the decoder's inputs after the tokens must be the "
                        "encoder's outputs (by name, or all of them in order): "
                        "the decoder takes "
                     << decode.getNumArguments() - 1 << ", the encoder gives "
                     << encode.getNumResults();
      return nullptr;
    }
    for (unsigned i = 1; i < decode.getNumArguments(); ++i)
      decode.setArgAttr(i, "convc.name",
                        StringAttr::get(context, name(encode, true, i - 1)));
  }
  Builder b(context);
  encode.setSymName("encode");
  encode.setArgAttr(0, "convc.name", b.getStringAttr("src_tokens"));
  decode.setSymName("decode");
  decode.setArgAttr(0, "convc.name", b.getStringAttr("prev_tokens"));
  decode.setResultAttr(0, "convc.name", b.getStringAttr("logits"));
  decode->remove();
  encoder->push_back(decode);
  if (failed(verify(*encoder)))
    return nullptr;
  return encoder;
}
} // namespace

OwningOpRef<ModuleOp> importONNXSeq2Seq(MLIRContext *context,
                                        const std::string &encoderPath,
                                        const std::string &decoderPath) {
  OwningOpRef<ModuleOp> encoder = importONNXFile(context, encoderPath);
  if (!encoder)
    return nullptr;
  return packageSeq2Seq(context, std::move(encoder),
                        importONNXFile(context, decoderPath), encoderPath,
                        decoderPath);
}

OwningOpRef<ModuleOp> importONNXSeq2SeqBytes(
    MLIRContext *context, const std::string &encoderBytes,
    const std::string &encoderName, const std::string &decoderBytes,
    const std::string &decoderName) {
  OwningOpRef<ModuleOp> encoder = importONNXBytes(
      context, encoderBytes.data(), encoderBytes.size(), encoderName);
  if (!encoder)
    return nullptr;
  return packageSeq2Seq(context, std::move(encoder),
                        importONNXBytes(context, decoderBytes.data(),
                                        decoderBytes.size(), decoderName),
                        encoderName, decoderName);
}

OwningOpRef<ModuleOp> importONNXBytes(MLIRContext *context, const void *data,
                                      size_t size, const std::string &name) {
  onnx::ModelProto model;
  if (size > size_t(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(data, int(size)) || !model.has_graph()) {
    notAModel(context, name);
    return nullptr;
  }
  return importModel(context, model, name,
                     FileLineColLoc::get(context, name, 0, 0));
}

} // namespace convc
