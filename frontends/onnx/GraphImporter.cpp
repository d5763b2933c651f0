//===- GraphImporter.cpp - one ONNX graph to a func.func -----------------===//
//
// One func.func per graph: arguments for the graph inputs that are not
// initializers, constants for initializers, then every node in order through
// the op registry. Every op is located at the ONNX node's name.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/ONNXImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace convc::onnx_import {

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

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                     StringRef name) {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t intAttr(const onnx::NodeProto &node, StringRef name,
                int64_t fallback) {
  const auto *a = findAttr(node, name);
  return a ? a->i() : fallback;
}

SmallVector<int64_t> intsAttr(const onnx::NodeProto &node, StringRef name,
                              int64_t size, int64_t fallback) {
  if (const auto *a = findAttr(node, name))
    return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  return SmallVector<int64_t>(size, fallback);
}

Type GraphImporter::elementType(int onnxType, Location loc, StringRef what) {
  using TP = onnx::TensorProto;
  switch (onnxType) {
  case TP::FLOAT:
  case TP::FLOAT16:  // computed in float32, rounded where Cast says so
  case TP::BFLOAT16: // and at the entry point
    return b.getF32Type();
  case TP::INT64:
  case TP::INT32:
  case TP::INT16:
  case TP::INT8:
  case TP::UINT64:
  case TP::UINT32:
  case TP::UINT16:
  case TP::UINT8:
    // Every integer type is computed as int64; Cast wraps values to the
    // narrower type, and the entry point narrows outputs.
    return b.getI64Type();
  case TP::BOOL:
    return b.getI1Type();
  case TP::DOUBLE:
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
                   << TP::DataType_Name(static_cast<TP::DataType>(onnxType))
                   << " is not supported (float, float16, bfloat16, double, "
                      "the integer types and bool are)";
    return Type();
  }
}

std::optional<GraphImporter::BoundaryType>
GraphImporter::boundaryType(int onnxType) {
  using TP = onnx::TensorProto;
  switch (onnxType) {
  case TP::FLOAT:
    return BoundaryType{b.getF32Type(), ""};
  case TP::DOUBLE:
    return BoundaryType{b.getF64Type(), ""};
  case TP::FLOAT16:
    return BoundaryType{b.getF16Type(), ""};
  case TP::BFLOAT16:
    return BoundaryType{b.getBF16Type(), ""};
  case TP::INT64:
    return BoundaryType{b.getI64Type(), ""};
  case TP::INT32:
    return BoundaryType{b.getI32Type(), ""};
  case TP::INT8:
    return BoundaryType{b.getIntegerType(8), ""};
  case TP::UINT8: // signless i8 in MLIR: the signature says u8
    return BoundaryType{b.getIntegerType(8), "u8"};
  case TP::BOOL:
    return BoundaryType{b.getI1Type(), ""};
  default:
    return std::nullopt;
  }
}

RankedTensorType GraphImporter::tensorType(const onnx::ValueInfoProto &info) {
  Location loc = onnxLocation(ctx, info.name(), OnnxEntity::GraphValue);
  if (!info.type().has_tensor_type()) {
    emitError(loc) << "graph value '" << info.name()
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
    return {};
  }
  const auto &tt = info.type().tensor_type();
  std::optional<BoundaryType> boundary = boundaryType(tt.elem_type());
  if (!boundary) {
    emitError(loc) << "graph value '" << info.name() << "': element type "
                   << onnx::TensorProto::DataType_Name(
                          static_cast<onnx::TensorProto::DataType>(
                              tt.elem_type()))
                   << " cannot cross the entry point (float, double, "
                      "float16, bfloat16, int64, int32, int8, uint8 and bool "
                      "can; inside the graph every integer type can)";
    return {};
  }
  Type element = boundary->storage;
  if (!tt.has_shape()) {
    emitError(loc) << "graph value '" << info.name()
                   << "' has no shape: its rank must be known";
    return {};
  }
  SmallVector<int64_t> shape;
  for (const auto &dim : tt.shape().dim()) {
    // -1 is how some exporters write an unknown dim, as ONNX Runtime reads it.
    if (dim.has_dim_value() && dim.dim_value() < -1) {
      emitError(loc) << "graph value '" << info.name()
                     << "' has a negative dim " << dim.dim_value();
      return {};
    }
    shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0
                        ? dim.dim_value()
                        : ShapedType::kDynamic);
  }
  return RankedTensorType::get(shape, element);
}

std::optional<Value>
GraphImporter::widenedConstant(const onnx::TensorProto &t,
                               ArrayRef<int64_t> shape, Location loc) {
  using TP = onnx::TensorProto;
  // Narrow ints (indices, shape pieces, masks) are widened to int64 and
  // float16/bfloat16 to float32, the types convc computes with. ONNX keeps
  // them as little-endian raw bytes, or in int32_data (uint64_data for the
  // unsigned 32- and 64-bit types; half types as their bits).
  int size = 0;
  bool isSigned = true, isHalf = false;
  switch (t.data_type()) {
  case TP::INT32: size = 4; break;
  case TP::INT16: size = 2; break;
  case TP::INT8: size = 1; break;
  case TP::UINT8: size = 1; isSigned = false; break;
  case TP::UINT16: size = 2; isSigned = false; break;
  case TP::UINT32: size = 4; isSigned = false; break;
  case TP::UINT64: size = 8; isSigned = false; break;
  case TP::FLOAT16:
  case TP::BFLOAT16: size = 2; isSigned = false; isHalf = true; break;
  default: return std::nullopt;
  }
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  // Allocate only once the file holds n values: dims are not trusted.
  bool fromRaw = t.has_raw_data() && int64_t(t.raw_data().size()) == size * n;
  bool fromInt32 = !fromRaw && size <= 4 && t.data_type() != TP::UINT32 &&
                   t.int32_data_size() == n;
  if (!fromRaw && !fromInt32 && t.uint64_data_size() != n) {
    emitError(loc) << "expected " << n << " "
                   << TP::DataType_Name(
                          static_cast<TP::DataType>(t.data_type()))
                   << " values";
    return Value();
  }
  SmallVector<uint64_t> bits(n);
  if (fromRaw) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v = 0;
      std::memcpy(&v, t.raw_data().data() + size * i, size); // little-endian
      bits[i] = v;
    }
  } else if (fromInt32) {
    for (int64_t i = 0; i < n; ++i)
      bits[i] = uint64_t(uint32_t(t.int32_data(i))) &
                (size == 4 ? ~0u : (1u << (8 * size)) - 1);
  } else {
    for (int64_t i = 0; i < n; ++i)
      bits[i] = t.uint64_data(i);
  }
  if (isHalf) {
    const llvm::fltSemantics &sem = t.data_type() == TP::FLOAT16
                                        ? APFloat::IEEEhalf()
                                        : APFloat::BFloat();
    SmallVector<float> data;
    for (uint64_t v : bits)
      data.push_back(APFloat(sem, APInt(16, v)).convertToFloat());
    return Value(arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get(shape, b.getF32Type()),
                               ArrayRef<float>(data))));
  }
  SmallVector<int64_t> data;
  for (uint64_t v : bits) {
    if (isSigned && size < 8) // sign-extend from 8 * size bits
      data.push_back(int64_t(v << (64 - 8 * size)) >> (64 - 8 * size));
    else
      data.push_back(int64_t(v));
  }
  return Value(arith::ConstantOp::create(
      b, loc,
      DenseIntElementsAttr::get(RankedTensorType::get(shape, b.getI64Type()),
                                data)));
}

Value GraphImporter::constant(const onnx::TensorProto &t, Location loc) {
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  {
    // Sizes come from the file: reject negative or absurd ones before
    // anything is allocated.
    int64_t total = 1;
    for (int64_t d : shape)
      if (d < 0 || d > (int64_t(1) << 32) ||
          (total *= std::max<int64_t>(d, 1)) > (int64_t(1) << 32)) {
        emitError(loc) << "dims are negative or too large";
        return {};
      }
  }
  if (std::optional<Value> widened = widenedConstant(t, shape, loc))
    return *widened;
  Type element = elementType(t.data_type(), loc, "tensor");
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
    bool fromRaw = t.has_raw_data() &&
                   int64_t(t.raw_data().size()) == n * int64_t(sizeof(T));
    if (!fromRaw && typed.size() != n) {
      emitError(loc) << "expected " << n << " " << what << " values";
      return {};
    }
    std::vector<T> data(n);
    if (fromRaw)
      std::memcpy(data.data(), t.raw_data().data(), n * sizeof(T));
    else
      std::copy(typed.begin(), typed.end(), data.begin());
    return DenseElementsAttr::get(type, llvm::ArrayRef<T>(data));
  };
  if (element.isInteger(1)) { // one byte each, raw or in int32_data
    bool fromRaw = t.has_raw_data() && int64_t(t.raw_data().size()) == n;
    if (!fromRaw && t.int32_data_size() != n) {
      emitError(loc) << "expected " << n << " bool values";
      return {};
    }
    SmallVector<bool> data(n);
    for (int64_t i = 0; i < n; ++i)
      data[i] = fromRaw ? t.raw_data()[i] != 0 : t.int32_data(i) != 0;
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, data));
  }
  if (t.data_type() == onnx::TensorProto::DOUBLE) { // demoted (see above)
    bool fromRaw = t.has_raw_data() && int64_t(t.raw_data().size()) == 8 * n;
    if (!fromRaw && t.double_data_size() != n) {
      emitError(loc) << "expected " << n << " double values";
      return {};
    }
    std::vector<double> data(n);
    if (fromRaw)
      std::memcpy(data.data(), t.raw_data().data(), 8 * n);
    else
      std::copy(t.double_data().begin(), t.double_data().end(), data.begin());
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

/// ONNX Constant.
LogicalResult GraphImporter::importConstant(const onnx::NodeProto &node,
                                            Location loc, ArrayRef<Value> inputs) {
  Value result;
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
  if (!result && findAttr(node, "sparse_value"))
    return emitError(loc) << "Constant's sparse_value is not supported: give "
                             "it a dense 'value' tensor";
  if (!result)
    return emitError(loc) << "Constant needs a 'value' tensor (float32, "
                             "int64, int32 or bool) or value_float(s) / "
                             "value_int(s)";
  return define(node, result);
}

/// One node: the registry's importer, unless a host folder (weights, or
/// shape arithmetic) already defined its outputs.
LogicalResult GraphImporter::importNode(const onnx::NodeProto &node) {
  if (node.output_size() == 0 || node.output(0).empty())
    return emitError(nodeLoc(node)) << node.op_type() << " has no output";
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
  // Omitted trailing inputs are as if not listed (ONNX allows both), so an
  // importer that counts its operands does not meet a null one.
  while (!inputs.empty() && !inputs.back())
    inputs.pop_back();
  const OpEntry *entry = lookupOp(node);
  assert(entry && "run() reports ops without an importer");
  if (fold::foldOnHost(*this, *entry, node, loc, inputs))
    return success();
  return entry->import(*this, node, loc, inputs);
}

LogicalResult GraphImporter::importSubgraph(const onnx::GraphProto &subgraph,
                                            Location loc) {
  for (const auto &node : subgraph.node()) {
    const OpEntry *entry = lookupOp(node);
    if (!entry)
      return emitError(nodeLoc(node))
             << "unsupported ONNX op " << node.op_type()
             << " in a subgraph of node '" << nodeName(loc) << "'";
    if (node.domain().empty() && opset < entry->sinceOpset)
      return emitError(nodeLoc(node))
             << node.op_type() << " needs opset " << entry->sinceOpset
             << " or later; the model imports opset " << opset;
  }
  for (const auto &t : subgraph.initializer()) {
    Value c = constant(t, onnxLocation(ctx, t.name(), OnnxEntity::Initializer));
    if (!c)
      return failure();
    values[t.name()] = c;
  }
  for (const auto &node : subgraph.node())
    if (failed(importNode(node)))
      return failure();
  return success();
}

Value GraphImporter::toComputeType(Value arg, int onnxType, Location loc) {
  Type storage = getElementTypeOrSelf(arg.getType());
  Type compute = elementType(onnxType, loc, "graph input");
  if (storage == compute)
    return arg;
  bool isUnsigned = onnxType == onnx::TensorProto::UINT8;
  return elementwise(
      loc, {arg},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        if (compute.isInteger(64))
          return isUnsigned ? Value(arith::ExtUIOp::create(nb, l, compute, a[0]))
                            : Value(arith::ExtSIOp::create(nb, l, compute, a[0]));
        if (storage.isF64())
          return arith::TruncFOp::create(nb, l, compute, a[0]);
        return arith::ExtFOp::create(nb, l, compute, a[0]);
      },
      compute);
}

Value GraphImporter::toStorageType(Value v, int onnxType, Location loc) {
  std::optional<BoundaryType> boundary = boundaryType(onnxType);
  Type compute = getElementTypeOrSelf(v.getType());
  Type declared = elementType(onnxType, loc, "graph output");
  if (!boundary || !declared)
    return {};
  if (declared != compute) {
    emitError(loc) << "graph output is declared "
                   << onnx::TensorProto::DataType_Name(
                          static_cast<onnx::TensorProto::DataType>(onnxType))
                   << " but computed as " << compute;
    return {};
  }
  Type storage = boundary->storage;
  if (storage == compute)
    return v;
  return elementwise(
      loc, {v},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        if (compute.isInteger(64))
          return arith::TruncIOp::create(nb, l, storage, a[0]);
        if (storage.isF64())
          return arith::ExtFOp::create(nb, l, storage, a[0]);
        return arith::TruncFOp::create(nb, l, storage, a[0]);
      },
      storage);
}

namespace {
bool hasStaticEmptyDim(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && llvm::is_contained(tensor.getShape(), 0);
}

/// What an op computes into a tensor with a static dim of 0 is nothing: its
/// results become `tensor.empty`, and inserting such a tensor leaves the
/// destination as it is. Upstream's slice verifier refuses offset 0 into a
/// static dim of 0 (an empty slice of an empty tensor), which Split, CumSum,
/// TopK and Conv build when a graph's tensor is statically empty along
/// another axis; sizes then need no slices at all.
void replaceStaticallyEmptyComputations(func::FuncOp func) {
  IRRewriter rewriter(func.getContext());
  SmallVector<Operation *> replaced;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op);
        insert && hasStaticEmptyDim(insert.getSourceType())) {
      rewriter.replaceAllUsesWith(insert.getResult(), insert.getDest());
      replaced.push_back(op);
      return WalkResult::skip();
    }
    if (isa<tensor::EmptyOp>(op) || op->getNumResults() == 0 ||
        op->hasTrait<OpTrait::ConstantLike>() ||
        !llvm::all_of(op->getResultTypes(), hasStaticEmptyDim) ||
        !isMemoryEffectFree(op))
      return WalkResult::advance();
    rewriter.setInsertionPoint(op);
    ReifiedRankedShapedTypeDims sizes;
    bool dynamic = llvm::any_of(op->getResultTypes(), [](Type t) {
      return !cast<RankedTensorType>(t).hasStaticShape();
    });
    if (dynamic && failed(reifyResultShapes(rewriter, op, sizes)))
      return WalkResult::advance();
    for (OpResult result : op->getResults()) {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<OpFoldResult> shape =
          dynamic ? sizes[result.getResultNumber()]
                  : getAsIndexOpFoldResult(op->getContext(), type.getShape());
      Value empty =
          tensor::EmptyOp::create(rewriter, op->getLoc(), shape,
                                  type.getElementType(), type.getEncoding());
      if (empty.getType() != type)
        empty = tensor::CastOp::create(rewriter, op->getLoc(), type, empty);
      rewriter.replaceAllUsesWith(result, empty);
    }
    replaced.push_back(op);
    return WalkResult::skip();
  });
  // Users before what they use.
  for (Operation *op : llvm::reverse(replaced))
    rewriter.eraseOp(op);
}
} // namespace

OwningOpRef<ModuleOp> GraphImporter::run() {
  // The graph's name, marked as a graph's (diagnostics name it so).
  Location graphLoc = onnxLocation(
      ctx, graph.name().empty() ? std::string("graph") : graph.name(),
      OnnxEntity::Graph);
  // Every unsupported op type, with its nodes, at once.
  std::map<std::string, std::vector<std::string>> unsupported;
  for (const auto &node : graph.node())
    if (!lookupOp(node))
      unsupported[node.domain().empty() ? node.op_type()
                                        : node.domain() + "." + node.op_type()]
          .push_back(node.name().empty() ? "(unnamed)" : node.name());
  if (!unsupported.empty()) {
    // The ops first: the supported list that follows is long.
    InFlightDiagnostic diag = emitError(graphLoc) << "unsupported ONNX ops:";
    for (const auto &[op, nodes] : unsupported) {
      diag << " " << op << " x" << nodes.size() << " [";
      for (size_t i = 0; i < nodes.size() && i < 5; ++i)
        diag << (i ? ", " : "") << nodes[i];
      diag << (nodes.size() > 5 ? ", ..." : "") << "];";
    }
    diag << " (convc imports: ";
    llvm::interleaveComma(supportedONNXOps(), diag);
    diag << "; domain convc: ";
    llvm::interleaveComma(convcDomainOps().names(), diag);
    diag << ")";
    return nullptr;
  }
  // An op newer than the model's opset is not the op the model means.
  for (const auto &node : graph.node()) {
    const OpEntry *entry = lookupOp(node);
    if (node.domain().empty() && opset < entry->sinceOpset) {
      emitError(nodeLoc(node)) << node.op_type() << " needs opset "
                               << entry->sinceOpset << " or later; the model "
                               << "imports opset " << opset;
      return nullptr;
    }
  }

  // Output types the runtime cannot pass fail before any node is imported
  // (an error about a node would hide the actual limitation).
  for (const auto &output : graph.output()) {
    bool sequenceOrMap =
        output.type().value_case() != onnx::TypeProto::VALUE_NOT_SET &&
        !output.type().has_tensor_type();
    if ((sequenceOrMap ||
         (output.type().has_tensor_type() &&
          !boundaryType(output.type().tensor_type().elem_type()))) &&
        !tensorType(output))
      return nullptr; // the boundary error
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(graphLoc);
  b.setInsertionPointToEnd(module->getBody());
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &t : graph.initializer())
    initializers[t.name()] = &t;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<const onnx::ValueInfoProto *> argInfos;
  for (const auto &input : graph.input()) {
    if (initializers.count(input.name()))
      continue;
    RankedTensorType type = tensorType(input);
    if (!type)
      return nullptr;
    argTypes.push_back(type);
    argNames.push_back(input.name());
    argInfos.push_back(&input);
  }
  auto func = func::FuncOp::create(b, graphLoc, "main",
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  for (auto [i, name] : llvm::enumerate(argNames)) {
    int onnxType = argInfos[i]->type().tensor_type().elem_type();
    values[name] =
        toComputeType(entry->getArgument(i), onnxType,
                      onnxLocation(ctx, name, OnnxEntity::GraphValue));
    func.setArgAttr(i, "convc.name", b.getStringAttr(name));
    if (StringRef dtype = boundaryType(onnxType)->dtype; !dtype.empty())
      func.setArgAttr(i, "convc.dtype", b.getStringAttr(dtype));
    // Dims declared with the same dim_param are one size: the importer
    // relies on it (sameSize), the runtime checks it (the entry point's
    // signature, from `convc.dim_params`).
    const auto &shape = argInfos[i]->type().tensor_type().shape();
    SmallVector<Attribute> params;
    bool declared = false;
    for (int d = 0; d < shape.dim_size(); ++d) {
      const std::string &param = shape.dim(d).dim_param();
      bool symbolic = cast<RankedTensorType>(argTypes[i]).isDynamicDim(d);
      params.push_back(b.getStringAttr(symbolic ? param : ""));
      if (param.empty() || !symbolic)
        continue;
      dimParams[{entry->getArgument(i), d}] = param;
      declared = true;
    }
    if (declared)
      func.setArgAttr(i, "convc.dim_params", b.getArrayAttr(params));
  }
  for (const auto &[name, t] : initializers) {
    Value c = constant(*t, onnxLocation(ctx, name, OnnxEntity::Initializer));
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
    Value result = it->second;
    if (output.type().has_tensor_type()) {
      result = toStorageType(
          result, output.type().tensor_type().elem_type(),
          onnxLocation(ctx, output.name(), OnnxEntity::GraphValue));
      if (!result)
        return nullptr;
    }
    results.push_back(result);
  }
  func::ReturnOp::create(b, graphLoc, results);
  func.setType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, output] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "convc.name", b.getStringAttr(output.name()));
    if (auto boundary =
            boundaryType(output.type().tensor_type().elem_type());
        boundary && !boundary->dtype.empty())
      func.setResultAttr(i, "convc.dtype", b.getStringAttr(boundary->dtype));
  }
  replaceStaticallyEmptyComputations(func);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace convc::onnx_import
