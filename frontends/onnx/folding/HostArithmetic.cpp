//===- HostArithmetic.cpp - shape arithmetic on symbolic dims, on the host -===//
//
// Exports compute sizes from Shape with ordinary ops: T - 1, T // 2,
// min(i + 3, T), Where(Equal(shape, -1), 1, shape). When every operand is a
// small int64 or bool vector that is constant or tracked (derived from
// Shape), the op is evaluated here per element as index arithmetic in the
// entry point's host code, not as a tensor op. Slice, Range, Reshape, Expand
// and ConstantOfShape then read sizes the host holds, so the GPU target never
// has to copy a size back from device memory, and both targets import the
// same graph alike.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include <limits>

namespace convc::onnx_import {

using ShapeEntry = GraphImporter::ShapeEntry;

namespace {

/// Vectors larger than this are data, not shape arithmetic.
constexpr int64_t kMaxHostElements = 16;

/// Whether `v` (index-typed) is a size: a dim, or sums, products and
/// quotients of sizes. Comparing one with a negative constant is false.
bool isSize(Value v) {
  if (!v)
    return false;
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (isa<tensor::DimOp>(def))
    return true;
  if (auto c = dyn_cast<arith::ConstantIndexOp>(def))
    return c.value() >= 0;
  if (isa<arith::MulIOp, arith::AddIOp, arith::DivSIOp, arith::MaxSIOp>(def))
    return isSize(def->getOperand(0)) && isSize(def->getOperand(1));
  return false;
}

bool isSize(const ShapeEntry &e) {
  return e.value ? *e.value >= 0 : isSize(e.dim);
}

/// The entries of operand `k` and whether they were tracked (not all
/// constant); nullopt when it is neither a small constant nor tracked.
std::optional<SmallVector<ShapeEntry>>
hostEntries(GraphImporter &im, const onnx::NodeProto &node,
            ArrayRef<Value> inputs, size_t k, bool &tracked) {
  if (k >= inputs.size() || !inputs[k])
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(inputs[k].getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      type.getNumElements() > kMaxHostElements)
    return std::nullopt;
  if (auto it = im.partialShapes.find(node.input(k));
      it != im.partialShapes.end()) {
    tracked = true;
    return it->second;
  }
  DenseElementsAttr attr;
  if (!matchPattern(inputs[k], m_Constant(&attr)))
    return std::nullopt;
  SmallVector<ShapeEntry> entries;
  if (attr.getElementType().isInteger(1)) {
    for (bool x : attr.getValues<bool>())
      entries.push_back({int64_t(x), Value()});
  } else if (attr.getElementType().isInteger(64)) {
    for (const APInt &x : attr.getValues<APInt>())
      entries.push_back({x.getSExtValue(), Value()});
  } else {
    return std::nullopt;
  }
  return entries;
}

enum class Kind { Int, Bool };

/// One element of `op` on known values; nullopt when undefined (a division
/// by zero, left to the runtime op and its error).
std::optional<int64_t> evaluate(StringRef op, ArrayRef<int64_t> a,
                                int64_t fmod) {
  auto floorMod = [](int64_t x, int64_t y) {
    int64_t r = x % y;
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
  };
  // Wrapping, as the int64 ops at run time (and no undefined behaviour).
  auto wrap = [](uint64_t v) { return int64_t(v); };
  if (op == "Add")
    return wrap(uint64_t(a[0]) + uint64_t(a[1]));
  if (op == "Sub")
    return wrap(uint64_t(a[0]) - uint64_t(a[1]));
  if (op == "Mul")
    return wrap(uint64_t(a[0]) * uint64_t(a[1]));
  if (op == "Div" || op == "Mod") {
    if (a[1] == 0 ||
        (a[1] == -1 && a[0] == std::numeric_limits<int64_t>::min()))
      return std::nullopt;
    if (op == "Div") return a[0] / a[1];
    return fmod ? a[0] % a[1] : floorMod(a[0], a[1]);
  }
  if (op == "Min") return std::min(a[0], a[1]);
  if (op == "Max") return std::max(a[0], a[1]);
  if (op == "Neg")
    return wrap(0 - uint64_t(a[0]));
  if (op == "Abs")
    return a[0] < 0 ? wrap(0 - uint64_t(a[0])) : a[0];
  if (op == "Equal") return a[0] == a[1];
  if (op == "Less") return a[0] < a[1];
  if (op == "LessOrEqual") return a[0] <= a[1];
  if (op == "Greater") return a[0] > a[1];
  if (op == "GreaterOrEqual") return a[0] >= a[1];
  if (op == "Not") return !a[0];
  if (op == "Cast") return a[0] != 0; // to bool
  if (op == "And") return a[0] && a[1];
  if (op == "Or") return a[0] || a[1];
  if (op == "Xor") return bool(a[0]) != bool(a[1]);
  if (op == "Where") return a[0] ? a[1] : a[2];
  return std::nullopt;
}

/// The same element as index arithmetic on the host.
Value build(OpBuilder &b, Location loc, StringRef op, ArrayRef<Value> a,
            int64_t fmod) {
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
    Value c = arith::CmpIOp::create(b, loc, p, x, y);
    return arith::SelectOp::create(b, loc, c,
                                   arith::ConstantIndexOp::create(b, loc, 1),
                                   arith::ConstantIndexOp::create(b, loc, 0));
  };
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  using P = arith::CmpIPredicate;
  if (op == "Add") return arith::AddIOp::create(b, loc, a[0], a[1]);
  if (op == "Sub") return arith::SubIOp::create(b, loc, a[0], a[1]);
  if (op == "Mul") return arith::MulIOp::create(b, loc, a[0], a[1]);
  if (op == "Div" || op == "Mod") {
    // A divisor known at run time only (a size): 0 fails the call.
    Value y = a[1];
    if (std::optional<int64_t> c = getConstantIntValue(y);
        !c || *c == 0 || *c == -1)
      y = checkedDivisor(b, loc, a[0], y,
                         "node '" + GraphImporter::nodeName(loc) +
                             "': integer " + op.str() +
                             " of {0} by {1} (a division by 0, or an "
                             "overflow)");
    if (op == "Div")
      return arith::DivSIOp::create(b, loc, a[0], y);
    return fmod ? Value(arith::RemSIOp::create(b, loc, a[0], y))
                : floorRemainder(b, loc, a[0], y);
  }
  if (op == "Min") return arith::MinSIOp::create(b, loc, a[0], a[1]);
  if (op == "Max") return arith::MaxSIOp::create(b, loc, a[0], a[1]);
  if (op == "Neg") return arith::SubIOp::create(b, loc, zero, a[0]);
  if (op == "Abs")
    return arith::MaxSIOp::create(b, loc, a[0],
                                  arith::SubIOp::create(b, loc, zero, a[0]));
  if (op == "Equal") return cmp(P::eq, a[0], a[1]);
  if (op == "Less") return cmp(P::slt, a[0], a[1]);
  if (op == "LessOrEqual") return cmp(P::sle, a[0], a[1]);
  if (op == "Greater") return cmp(P::sgt, a[0], a[1]);
  if (op == "GreaterOrEqual") return cmp(P::sge, a[0], a[1]);
  if (op == "Not") return cmp(P::eq, a[0], zero);
  if (op == "Cast") return cmp(P::ne, a[0], zero); // to bool
  if (op == "And") return arith::AndIOp::create(b, loc, a[0], a[1]);
  if (op == "Or") return arith::OrIOp::create(b, loc, a[0], a[1]);
  if (op == "Xor") return arith::XOrIOp::create(b, loc, a[0], a[1]);
  if (op == "Where")
    return arith::SelectOp::create(
        b, loc, arith::CmpIOp::create(b, loc, P::ne, a[0], zero), a[1], a[2]);
  return {};
}

/// `e` wrapped to a `bits`-wide int (as a Cast to it does), kept as int64.
ShapeEntry wrapToInt(OpBuilder &b, Location loc, const ShapeEntry &e,
                     unsigned bits, bool isSigned) {
  if (e.value) {
    APInt narrow = APInt(64, uint64_t(*e.value), true).trunc(bits);
    return {isSigned ? narrow.getSExtValue() : int64_t(narrow.getZExtValue()),
            Value()};
  }
  Type i64 = b.getI64Type();
  Value x = arith::IndexCastOp::create(b, loc, i64, e.dim);
  x = arith::TruncIOp::create(b, loc, b.getIntegerType(bits), x);
  x = isSigned ? Value(arith::ExtSIOp::create(b, loc, i64, x))
               : Value(arith::ExtUIOp::create(b, loc, i64, x));
  return {std::nullopt,
          arith::IndexCastOp::create(b, loc, b.getIndexType(), x)};
}

} // namespace

bool GraphImporter::defineTracked(const onnx::NodeProto &node, Location loc,
                                  ArrayRef<ShapeEntry> entries,
                                  ArrayRef<int64_t> shape, bool isBool) {
  Type element = isBool ? b.getI1Type() : b.getI64Type();
  auto type = RankedTensorType::get(shape, element);
  if (llvm::all_of(entries, [](const ShapeEntry &e) { return e.value; })) {
    SmallVector<APInt> data;
    for (const ShapeEntry &e : entries)
      data.push_back(APInt(isBool ? 1 : 64, uint64_t(*e.value), !isBool));
    values[node.output(0)] =
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, data));
    return true;
  }
  SmallVector<Value> elements;
  for (const ShapeEntry &e : entries) {
    Value x = e.value ? Value(arith::ConstantIndexOp::create(b, loc, *e.value))
                      : e.dim;
    x = arith::IndexCastOp::create(b, loc, b.getI64Type(), x);
    if (isBool)
      x = arith::TruncIOp::create(b, loc, b.getI1Type(), x);
    elements.push_back(x);
  }
  partialShapes[node.output(0)] = SmallVector<ShapeEntry>(entries);
  values[node.output(0)] = tensor::FromElementsOp::create(b, loc, type, elements);
  return true;
}

namespace fold {

bool hostArithmetic(GraphImporter &im, const onnx::NodeProto &node,
                    Location loc, ArrayRef<Value> inputs) {
  StringRef op = node.op_type();
  if (!llvm::is_contained({"Add", "Sub", "Mul", "Div", "Mod", "Min", "Max",
                           "Neg", "Abs", "Equal", "Less", "LessOrEqual",
                           "Greater", "GreaterOrEqual", "Not", "And", "Or",
                           "Xor", "Where", "Cast", "Clip"},
                          op))
    return false;
  OpBuilder &b = im.b;
  // An entry as a host index value.
  auto indexOf = [&](const ShapeEntry &e) {
    return e.value ? Value(arith::ConstantIndexOp::create(b, loc, *e.value))
                   : e.dim;
  };
  bool isBool = llvm::is_contained(
      {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not",
       "And", "Or", "Xor"},
      op);
  // Where picks between its branches' type (bool or int64).
  if (op == "Where" && inputs.size() == 3 && inputs[1] &&
      getElementTypeOrSelf(inputs[1].getType()).isInteger(1))
    isBool = true;
  // The operand count each op takes here (variadic Min/Max only as two).
  size_t arity = llvm::is_contained({"Neg", "Abs", "Not", "Cast"}, op) ? 1
                 : op == "Where"                                       ? 3
                 : op == "Clip" ? inputs.size()
                                : 2;
  if (inputs.size() != arity)
    return false;
  SmallVector<Value> operands(inputs);
  // A Cast to a narrower int type wraps (values are kept as int64).
  unsigned castBits = 64;
  bool castSigned = true;
  if (op == "Cast") {
    // Between integer types and bool.
    int64_t to = intAttr(node, "to", 0);
    using TP = onnx::TensorProto;
    bool toInt = llvm::is_contained({TP::INT64, TP::INT32, TP::INT16, TP::INT8,
                                     TP::UINT64, TP::UINT32, TP::UINT16,
                                     TP::UINT8},
                                    to);
    if (!toInt && to != TP::BOOL)
      return false;
    isBool = to == TP::BOOL;
    castBits = llvm::is_contained({TP::INT32, TP::UINT32}, to)   ? 32
               : llvm::is_contained({TP::INT16, TP::UINT16}, to) ? 16
               : llvm::is_contained({TP::INT8, TP::UINT8}, to)   ? 8
                                                                 : 64;
    castSigned = !llvm::is_contained({TP::UINT32, TP::UINT16, TP::UINT8}, to);
  }
  if (op == "Clip") {
    // Clip(x, lo, hi) as Max then Min, missing bounds skipped.
    bool tracked = false;
    auto x = hostEntries(im, node, inputs, 0, tracked);
    if (!x || !tracked)
      return false;
    SmallVector<ShapeEntry> out(*x);
    for (auto [k, name] : {std::pair<size_t, StringRef>{1, "Max"}, {2, "Min"}}) {
      if (k >= inputs.size() || !inputs[k])
        continue;
      bool t = false;
      auto bound = hostEntries(im, node, inputs, k, t);
      if (!bound || bound->size() != 1)
        return false;
      for (ShapeEntry &e : out) {
        if (e.value && (*bound)[0].value) {
          e.value = *evaluate(name, {*e.value, *(*bound)[0].value}, 0);
          continue;
        }
        e = {std::nullopt,
             build(b, loc, name, {indexOf(e), indexOf((*bound)[0])}, 0)};
      }
    }
    auto shape = cast<RankedTensorType>(inputs[0].getType()).getShape();
    return im.defineTracked(node, loc, out, shape, false);
  }
  if (operands.empty() || operands.size() > 3)
    return false;
  bool tracked = false;
  SmallVector<SmallVector<ShapeEntry>> args;
  size_t n = 1;
  Value widest;
  for (size_t k = 0; k < operands.size(); ++k) {
    auto e = hostEntries(im, node, inputs, k, tracked);
    if (!e || e->empty())
      return false;
    n = std::max(n, e->size());
    auto type = cast<RankedTensorType>(inputs[k].getType());
    if (!widest || type.getRank() >
                       cast<RankedTensorType>(widest.getType()).getRank())
      widest = inputs[k];
    args.push_back(std::move(*e));
  }
  // All constant: evaluated here too (Neg, Min, Less, ... have no other
  // folder, and ConstantOfShape or Reshape may need the result), but for
  // Cast, whose narrowing castToInt64 folds.
  if (!tracked && op == "Cast")
    return false;
  if (llvm::any_of(args, [&](auto &a) { return a.size() != n && a.size() != 1; }))
    return false;
  int64_t fmod = intAttr(node, "fmod", 0);
  // A Cast between int types passes values through; to bool it is x != 0.
  bool intCast = op == "Cast" && !isBool;
  SmallVector<ShapeEntry> out;
  for (size_t i = 0; i < n; ++i) {
    SmallVector<ShapeEntry> at;
    for (auto &a : args)
      at.push_back(a[a.size() == 1 ? 0 : i]);
    if (intCast) {
      out.push_back(castBits == 64
                        ? at[0]
                        : wrapToInt(b, loc, at[0], castBits, castSigned));
      continue;
    }
    if (llvm::all_of(at, [](const ShapeEntry &e) { return e.value; })) {
      SmallVector<int64_t> known;
      for (const ShapeEntry &e : at)
        known.push_back(*e.value);
      std::optional<int64_t> v = evaluate(op, known, fmod);
      if (!v)
        return false;
      out.push_back({*v, Value()});
      continue;
    }
    // A size is never negative: comparing one with a negative constant
    // folds (expand()'s -1 handling), which keeps static shapes static.
    if (op == "Equal" && at.size() == 2 &&
        ((at[0].value && *at[0].value < 0 && isSize(at[1])) ||
         (at[1].value && *at[1].value < 0 && isSize(at[0])))) {
      out.push_back({0, Value()});
      continue;
    }
    if (op == "Where" && at[0].value) {
      out.push_back(*at[0].value ? at[1] : at[2]);
      continue;
    }
    SmallVector<Value> idx = llvm::map_to_vector(at, indexOf);
    Value v = build(b, loc, op, idx, fmod);
    if (!v)
      return false;
    out.push_back({std::nullopt, v});
  }
  auto shape = cast<RankedTensorType>(widest.getType()).getShape();
  SmallVector<int64_t> outShape(shape.size() == 1 ? 1 : 0, int64_t(n));
  return im.defineTracked(node, loc, out, outShape, isBool);
}

} // namespace fold
} // namespace convc::onnx_import
