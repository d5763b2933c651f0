//===- ElementwiseOps.cpp - elementwise ONNX ops --------------------------===//
//
// Comparisons, logic, Where, Pow, Cast and the clamping activations, each
// one linalg.generic over the broadcast operands (Builders.cpp,
// elementwise()); Trilu, a mask by position. The
// plain unary and binary float ops are registry entries over elementwise(),
// their whole import the scalar op they yield (elementwiseOps() below).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include <cmath>

namespace convc::onnx_import {

namespace {

using UnaryBuilder = Value (*)(OpBuilder &, Location, Value);

Value f32(OpBuilder &b, Location l, float v) {
  return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
}

/// A float op on one operand: `build` per element; `host` (when given)
/// evaluates it on constant weights.
OpEntry unary(UnaryBuilder build, float (*host)(float) = nullptr,
              int64_t since = kMinOpset, UnaryBuilder intBuild = nullptr) {
  OpEntry entry;
  entry.sinceOpset = since;
  entry.import = [build, intBuild](GraphImporter &im,
                                   const onnx::NodeProto &node, Location loc,
                                   ArrayRef<Value> inputs) {
    bool isInt = inputs.size() == 1 && intBuild && isInt64(inputs[0]);
    if (inputs.size() != 1 || !(isFloat(inputs[0]) || isInt))
      return LogicalResult(emitError(loc)
                           << node.op_type() << " needs one float"
                           << (intBuild ? " or int64" : "") << " input");
    return im.define(node, im.elementwise(loc, inputs,
                                          [&](OpBuilder &nb, Location l,
                                              ValueRange a) {
                                            return isInt ? intBuild(nb, l, a[0])
                                                         : build(nb, l, a[0]);
                                          }));
  };
  if (host)
    entry.foldWeights = fold::unaryWeights(host);
  return entry;
}

/// A float op that is one math dialect op.
template <typename MathOp>
OpEntry mathUnary(int64_t since) {
  return unary(
      [](OpBuilder &b, Location l, Value x) -> Value {
        return MathOp::create(b, l, x);
      },
      nullptr, since);
}

/// asinh, acosh and atanh through log1p, in forms exact near 0 (and acosh
/// near 1), with log(2|x|) where squares would overflow. (Upstream's
/// expansions lose the low digits there; the CPU has no LLVM intrinsic.)
enum InverseHyperbolic { Asinh, Acosh, Atanh };
template <InverseHyperbolic fn>
Value inverseHyperbolic(OpBuilder &b, Location l, Value x) {
  auto f = [&](float v) { return f32(b, l, v); };
  Value one = f(1);
  if (fn == Atanh) // (log1p(x) - log1p(-x)) / 2
    return arith::MulFOp::create(
        b, l, f(0.5f),
        arith::SubFOp::create(
            b, l, math::Log1pOp::create(b, l, x),
            math::Log1pOp::create(b, l, arith::NegFOp::create(b, l, x))));
  // asinh |x| = log1p(a + a^2 / (1 + sqrt(1 + a^2))), a = |x|;
  // acosh x = log1p(t + sqrt(2t + t^2)), t = x - 1.
  Value a = fn == Asinh ? Value(math::AbsFOp::create(b, l, x))
                        : Value(arith::SubFOp::create(b, l, x, one));
  Value square = arith::MulFOp::create(b, l, a, a);
  Value near =
      fn == Asinh
          ? math::Log1pOp::create(
                b, l,
                arith::AddFOp::create(
                    b, l, a,
                    arith::DivFOp::create(
                        b, l, square,
                        arith::AddFOp::create(
                            b, l, one,
                            math::SqrtOp::create(
                                b, l,
                                arith::AddFOp::create(b, l, one, square))))))
          : math::Log1pOp::create(
                b, l,
                arith::AddFOp::create(
                    b, l, a,
                    math::SqrtOp::create(
                        b, l,
                        arith::AddFOp::create(
                            b, l, arith::AddFOp::create(b, l, a, a), square))));
  Value big = fn == Asinh ? a : x;
  Value far = arith::AddFOp::create(b, l, math::LogOp::create(b, l, big),
                                    f(float(M_LN2)));
  Value huge = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, big,
                                     f(float(1 << 28)));
  Value y = arith::SelectOp::create(b, l, huge, far, near);
  if (fn == Asinh)
    return math::CopySignOp::create(b, l, y, x);
  // Below 1 (where -x^2 would overflow to a finite log) acosh is NaN.
  Value inDomain =
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, x, one);
  return arith::SelectOp::create(b, l, inDomain, y, f(NAN));
}

/// Add/Sub/Mul/Div: the float op and the int64 one (Div truncates, as
/// numpy's C semantics do), on broadcast operands; both fold on the host.
template <typename FloatOp, typename IntOp>
OpEntry binary(float (*host)(float, float), int64_t (*shape)(int64_t, int64_t),
               bool isDiv = false) {
  OpEntry entry;
  entry.import = [isDiv](GraphImporter &im, const onnx::NodeProto &node,
                         Location loc, ArrayRef<Value> inputs) {
    bool ints = inputs.size() == 2 && isInt64(inputs[0]) && isInt64(inputs[1]);
    if (inputs.size() != 2 ||
        !(ints || (isFloat(inputs[0]) && isFloat(inputs[1]))))
      return LogicalResult(emitError(loc)
                           << node.op_type()
                           << " needs two float32 or two int64 inputs");
    std::string divByZero = "node '" + im.nodeName(loc) +
                            "': integer Div of {0} by {1} (a division by 0, "
                            "or an overflow)";
    return im.define(
        node, im.elementwise(
                  loc, inputs, [&](OpBuilder &nb, Location l, ValueRange a) {
                    if (!ints)
                      return Value(FloatOp::create(nb, l, a[0], a[1]));
                    Value y = a[1];
                    if (isDiv)
                      y = checkedDivisor(nb, l, a[0], y, divByZero);
                    return Value(IntOp::create(nb, l, a[0], y));
                  }));
  };
  entry.foldShape = fold::arithmetic(shape, isDiv);
  entry.foldWeights = fold::binaryWeights(host);
  return entry;
}

} // namespace

Value GraphImporter::compare(const onnx::NodeProto &node, Location loc,
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

/// ONNX Equal, Less, Greater, LessOrEqual, GreaterOrEqual.
LogicalResult GraphImporter::importCompare(const onnx::NodeProto &node,
                                           Location loc, ArrayRef<Value> inputs) {
  return define(node, compare(node, loc, inputs));
}

Value GraphImporter::logical(const onnx::NodeProto &node, Location loc,
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

/// ONNX Not, And, Or, Xor.
LogicalResult GraphImporter::importLogical(const onnx::NodeProto &node,
                                           Location loc, ArrayRef<Value> inputs) {
  return define(node, logical(node, loc, inputs));
}

Value GraphImporter::where(Location loc, ArrayRef<Value> inputs) {
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

/// ONNX Where.
LogicalResult GraphImporter::importWhere(const onnx::NodeProto &node,
                                         Location loc, ArrayRef<Value> inputs) {
  return define(node, where(loc, inputs));
}

/// ONNX Pow.
LogicalResult GraphImporter::importPow(const onnx::NodeProto &node,
                                       Location loc, ArrayRef<Value> inputs) {
  Value result;
  // Float or int64 base and exponent; the result has the base's type.
  // An int64 base is raised in f64 and truncated: exact while |result|
  // < 2^53, as numpy's int64 power is for results that fit.
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
  return define(node, result);
}

/// ONNX Cast. Values are computed as f32, i64 or i1: a cast to a narrower
/// type converts to the compute type, then rounds (float16, bfloat16) or
/// wraps (int8 ... uint32, two's complement as ONNX Runtime does) to the
/// target's range.
LogicalResult GraphImporter::importCast(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  int64_t to = findAttr(node, "to") ? findAttr(node, "to")->i() : 0;
  if (inputs.size() != 1 || !inputs[0])
    return emitError(loc) << "Cast needs one input";
  return define(node, castTo(loc, inputs[0], to));
}

/// ONNX CastLike: Cast to the element type `target_type` is declared with
/// (convc computes every float type in float32, so the declared type, not
/// the computed one, says how to round).
LogicalResult GraphImporter::importCastLike(const onnx::NodeProto &node,
                                            Location loc,
                                            ArrayRef<Value> inputs) {
  if (inputs.size() != 2 || !inputs[0] || !inputs[1])
    return emitError(loc) << "CastLike needs input and target_type";
  std::optional<int> to = declaredElementType(node.input(1));
  if (!to && getElementTypeOrSelf(inputs[1].getType()).isInteger(1))
    to = onnx::TensorProto::BOOL;
  if (!to)
    return emitError(loc) << "CastLike's target_type '" << node.input(1)
                          << "' has no declared element type (a graph input, "
                             "initializer, Constant or value_info gives one)";
  return define(node, castTo(loc, inputs[0], *to));
}

const onnx::ValueInfoProto *
GraphImporter::declaredInfo(const std::string &name) {
  for (const auto *infos :
       {&graph.input(), &graph.value_info(), &graph.output()})
    for (const auto &info : *infos)
      if (info.name() == name && info.type().has_tensor_type())
        return &info;
  return nullptr;
}

std::optional<int64_t> GraphImporter::declaredRank(const std::string &name) {
  const onnx::ValueInfoProto *info = declaredInfo(name);
  if (!info || !info->type().tensor_type().has_shape())
    return std::nullopt;
  return info->type().tensor_type().shape().dim_size();
}

std::optional<int> GraphImporter::declaredElementType(const std::string &name) {
  if (const onnx::ValueInfoProto *info = declaredInfo(name);
      info && info->type().tensor_type().elem_type() != 0)
    return info->type().tensor_type().elem_type();
  for (const auto &t : graph.initializer())
    if (t.name() == name)
      return t.data_type();
  for (const auto &node : graph.node())
    if (node.op_type() == "Constant" && node.output_size() == 1 &&
        node.output(0) == name)
      if (const auto *value = findAttr(node, "value"); value && value->has_t())
        return value->t().data_type();
  return std::nullopt;
}

Value GraphImporter::castTo(Location loc, Value input, int64_t to) {
  using TP = onnx::TensorProto;
  Type target = elementType(to, loc, "Cast");
  if (!target)
    return {};
  Type source = getElementTypeOrSelf(input.getType());
  Type rounded = to == TP::FLOAT16    ? Type(b.getF16Type())
                 : to == TP::BFLOAT16 ? Type(b.getBF16Type())
                                      : Type();
  int width = to == TP::INT32 || to == TP::UINT32   ? 32
              : to == TP::INT16 || to == TP::UINT16 ? 16
              : to == TP::INT8 || to == TP::UINT8   ? 8
                                                    : 64;
  bool isUnsigned = to == TP::UINT8 || to == TP::UINT16 || to == TP::UINT32;
  // Values already in range need no rounding: bool to anything, an int to
  // a wider int.
  if (source == target && !rounded && width == 64)
    return input;
  return elementwise(
      loc, {input},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0];
        if (target.isInteger(1)) { // x != 0
          if (source.isF32())
            return arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::UNE, x,
                arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0)));
          if (source.isInteger(1))
            return x;
          return arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::ne, x,
              arith::ConstantIntOp::create(nb, l, 0, 64));
        }
        if (target.isF32()) {
          if (source.isInteger(1))
            x = arith::UIToFPOp::create(nb, l, target, x);
          else if (source.isInteger(64))
            x = arith::SIToFPOp::create(nb, l, target, x);
          if (rounded)
            x = arith::ExtFOp::create(
                nb, l, target, Value(arith::TruncFOp::create(nb, l, rounded, x)));
          return x;
        }
        if (source.isInteger(1))
          return arith::ExtUIOp::create(nb, l, target, x);
        if (source.isF32())
          x = arith::FPToSIOp::create(nb, l, target, x);
        if (width < 64) {
          Value narrow = arith::TruncIOp::create(
              nb, l, nb.getIntegerType(width), x);
          x = isUnsigned ? Value(arith::ExtUIOp::create(nb, l, target, narrow))
                         : Value(arith::ExtSIOp::create(nb, l, target, narrow));
        }
        return x;
      },
      target);
}

/// ONNX Mod: for integers the remainder takes the divisor's sign (fmod 0,
/// Python's %) or the dividend's (fmod 1, C's %); floats need fmod 1.
LogicalResult GraphImporter::importMod(const onnx::NodeProto &node,
                                       Location loc, ArrayRef<Value> inputs) {
  bool fmod = intAttr(node, "fmod", 0) != 0;
  bool ints = inputs.size() == 2 && isInt64(inputs[0]) && isInt64(inputs[1]);
  bool floats = inputs.size() == 2 && isFloat(inputs[0]) && isFloat(inputs[1]);
  if (!ints && !floats)
    return emitError(loc) << "Mod needs two integer or two float inputs";
  if (floats && !fmod)
    return emitError(loc) << "Mod of floats needs fmod = 1 (ONNX's rule)";
  return define(node, elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                                  ValueRange a) -> Value {
    if (floats)
      return arith::RemFOp::create(nb, l, a[0], a[1]);
    Value y = checkedDivisor(nb, l, a[0], a[1],
                             "node '" + nodeName(loc) +
                                 "': integer Mod of {0} by {1} (a division "
                                 "by 0, or an overflow)");
    return fmod ? Value(arith::RemSIOp::create(nb, l, a[0], y))
                : floorRemainder(nb, l, a[0], y);
  }));
}

/// ONNX LeakyRelu (alpha x below 0) and Elu (alpha (e^x - 1) below 0).
LogicalResult GraphImporter::importLeakyRelu(const onnx::NodeProto &node,
                                             Location loc, ArrayRef<Value> inputs) {
  Value result;
  bool elu = node.op_type() == "Elu";
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << node.op_type() << " needs one float input";
  const auto *attr = findAttr(node, "alpha");
  float alpha = attr ? attr->f() : elu ? 1.0f : 0.01f;
  result = elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                        ValueRange a) -> Value {
    Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
    Value below = a[0];
    if (elu)
      below = arith::SubFOp::create(
          nb, l, math::ExpOp::create(nb, l, a[0]),
          arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1)));
    Value scaled = arith::MulFOp::create(
        nb, l, below, arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(alpha)));
    Value positive = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                           a[0], zero);
    return arith::SelectOp::create(nb, l, positive, a[0], scaled);
  });
  return define(node, result);
}

/// ONNX Clip.
LogicalResult GraphImporter::importClip(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  Value result;
  if (inputs.empty() || !inputs[0] ||
      !(isFloat(inputs[0]) || isInt64(inputs[0])))
    return emitError(loc) << "Clip needs a float or int64 input";
  bool isInt = isInt64(inputs[0]);
  Value lo = inputs.size() > 1 ? inputs[1] : Value();
  Value hi = inputs.size() > 2 ? inputs[2] : Value();
  // Before opset 11 the bounds are the `min` and `max` attributes (float
  // data only; one left out does not bound).
  if (opset < 11) {
    Type type = getElementTypeOrSelf(inputs[0].getType());
    auto attrBound = [&](StringRef name) -> Value {
      const auto *a = findAttr(node, name);
      if (!a || isInt)
        return Value();
      auto scalar = RankedTensorType::get({}, type);
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(scalar, FloatAttr::get(type, a->f())));
    };
    lo = attrBound("min"), hi = attrBound("max");
  }
  for (Value bound : {lo, hi})
    if (bound && getElementTypeOrSelf(bound.getType()) !=
                     getElementTypeOrSelf(inputs[0].getType()))
      return emitError(loc) << "Clip bounds must have the input's type";
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
      y = isInt ? Value(arith::MaxSIOp::create(nb, l, y, a[next++]))
                : Value(arith::MaximumFOp::create(nb, l, y, a[next++]));
    if (hi)
      y = isInt ? Value(arith::MinSIOp::create(nb, l, y, a[next]))
                : Value(arith::MinimumFOp::create(nb, l, y, a[next]));
    return y;
  });
  return define(node, result);
}

/// ONNX Max, Min.
LogicalResult GraphImporter::importMaxMin(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  Value result;
  if (inputs.empty())
    return emitError(loc) << op << " needs inputs";
  bool max = op == "Max";
  bool isInt = isInt64(inputs[0]);
  for (Value v : inputs)
    if (!v || !(isInt ? isInt64(v) : isFloat(v)))
      return emitError(loc) << op
                            << " needs inputs of one type, float32 or int64";
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
  return define(node, result);
}

/// ONNX Gelu (opset 20): x * Phi(x) with the exact erf form, or the tanh
/// approximation (`approximate = "tanh"`).
LogicalResult GraphImporter::importGelu(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << "Gelu needs one float input";
  std::string approximate = "none";
  if (const auto *a = findAttr(node, "approximate"))
    approximate = a->s();
  if (approximate != "none" && approximate != "tanh")
    return emitError(loc) << "Gelu approximate '" << approximate
                          << "' is not one of none, tanh";
  bool tanh = approximate == "tanh";
  return define(node, elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                                  ValueRange a) -> Value {
    auto c = [&](double v) -> Value {
      return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(float(v)));
    };
    Value x = a[0], inner;
    if (tanh) { // sqrt(2 / pi) * (x + 0.044715 x^3)
      Value cube = arith::MulFOp::create(
          nb, l, x, arith::MulFOp::create(nb, l, x, x));
      inner = math::TanhOp::create(
          nb, l,
          arith::MulFOp::create(
              nb, l, c(0.7978845608028654),
              arith::AddFOp::create(
                  nb, l, x, arith::MulFOp::create(nb, l, c(0.044715), cube))));
    } else { // erf(x / sqrt(2))
      inner = math::ErfOp::create(
          nb, l, arith::MulFOp::create(nb, l, x, c(0.7071067811865476)));
    }
    return arith::MulFOp::create(
        nb, l, arith::MulFOp::create(nb, l, c(0.5), x),
        arith::AddFOp::create(nb, l, c(1.0), inner));
  }));
}

/// ONNX Trilu: the elements on and above (upper) or on and below the k-th
/// diagonal of the last two dims; zeros elsewhere. k may be a run-time
/// value.
LogicalResult GraphImporter::importTrilu(const onnx::NodeProto &node,
                                         Location loc, ArrayRef<Value> inputs) {
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "Trilu needs an input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank < 2)
    return emitError(loc) << "Trilu needs a tensor of rank >= 2 (this one "
                             "has rank "
                          << rank << ")";
  Value k = inputs.size() > 1 && inputs[1]
                ? oneInt(loc, inputs[1], "Trilu's k")
                : Value(arith::ConstantIntOp::create(b, loc, 0, 64));
  if (!k)
    return failure();
  bool upper = intAttr(node, "upper", 1) != 0;
  Type element = type.getElementType();
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{type}, ValueRange{x}, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange a) {
            auto position = [&](int64_t d) -> Value {
              return arith::IndexCastOp::create(
                  nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, d));
            };
            // j - i against k: the diagonal offset of (i, j).
            Value offset = arith::SubIOp::create(nb, l, position(rank - 1),
                                                 position(rank - 2));
            Value kept = arith::CmpIOp::create(
                nb, l,
                upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                offset, k);
            Value zero =
                arith::ConstantOp::create(nb, l, nb.getZeroAttr(element));
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::SelectOp::create(nb, l, kept, a[0], zero)});
          })
          .getResult(0);
  return define(node, result);
}

/// The elementwise ops: the plain float ones are their scalar op.
NamedOps elementwiseOps() {
  using G = GraphImporter;
  return {
      {"Abs", unary([](OpBuilder &b, Location l, Value x)
                        -> Value { return math::AbsFOp::create(b, l, x); },
                    nullptr, kMinOpset,
                    [](OpBuilder &b, Location l, Value x) -> Value {
                      return math::AbsIOp::create(b, l, x);
                    })},
      {"Add", binary<arith::AddFOp, arith::AddIOp>(
                  [](float a, float b) { return a + b; },
                  [](int64_t a, int64_t b) { return a + b; })},
      {"Acos", mathUnary<math::AcosOp>(7)},
      {"Acosh", unary(&inverseHyperbolic<Acosh>, nullptr, 9)},
      {"And", opEntry(&G::importLogical)},
      {"Asin", mathUnary<math::AsinOp>(7)},
      {"Asinh", unary(&inverseHyperbolic<Asinh>, nullptr, 9)},
      {"Atan", mathUnary<math::AtanOp>(7)},
      {"Atanh", unary(&inverseHyperbolic<Atanh>, nullptr, 9)},
      {"Cast", opEntry(&G::importCast, kMinOpset, fold::castToInt64)},
      {"CastLike", opEntry(&G::importCastLike, 15)},
      {"Ceil", unary([](OpBuilder &b, Location l, Value x) -> Value {
         return math::CeilOp::create(b, l, x);
       })},
      {"Clip", opEntry(&G::importClip)},
      {"Cos", unary([](OpBuilder &b, Location l, Value x) -> Value {
         return math::CosOp::create(b, l, x);
       })},
      {"Cosh", mathUnary<math::CoshOp>(9)},
      {"Div", binary<arith::DivFOp, arith::DivSIOp>(
                  [](float a, float b) { return a / b; },
                  [](int64_t a, int64_t b) { return a / b; },
                  /*isDiv=*/true)},
      {"Equal", opEntry(&G::importCompare, kMinOpset, fold::equal)},
      {"Erf", unary([](OpBuilder &b, Location l, Value x)
                        -> Value { return math::ErfOp::create(b, l, x); },
                    nullptr, 9)},
      {"Elu", opEntry(&G::importLeakyRelu)},
      {"Exp", unary([](OpBuilder &b, Location l, Value x)
                        -> Value { return math::ExpOp::create(b, l, x); },
                    [](float v) { return std::exp(v); })},
      {"Floor", unary([](OpBuilder &b, Location l, Value x) -> Value {
         return math::FloorOp::create(b, l, x);
       })},
      {"Gelu", opEntry(&G::importGelu, 20)},
      {"Greater", opEntry(&G::importCompare)},
      {"GreaterOrEqual", opEntry(&G::importCompare, 12)},
      {"LeakyRelu", opEntry(&G::importLeakyRelu)},
      {"Less", opEntry(&G::importCompare)},
      {"LessOrEqual", opEntry(&G::importCompare, 12)},
      {"Log", unary([](OpBuilder &b, Location l, Value x)
                        -> Value { return math::LogOp::create(b, l, x); },
                    [](float v) { return std::log(v); })},
      {"Max", opEntry(&G::importMaxMin)},
      {"Min", opEntry(&G::importMaxMin)},
      {"Mod", opEntry(&G::importMod, 10)},
      {"Mul", binary<arith::MulFOp, arith::MulIOp>(
                  [](float a, float b) { return a * b; },
                  [](int64_t a, int64_t b) { return a * b; },
                  /*isDiv=*/false)},
      {"Neg", unary(
                  [](OpBuilder &b, Location l, Value x) -> Value {
                    return arith::NegFOp::create(b, l, x);
                  },
                  [](float v) { return -v; }, kMinOpset,
                  [](OpBuilder &b, Location l, Value x) -> Value {
                    return arith::SubIOp::create(
                        b, l, arith::ConstantIntOp::create(b, l, 0, 64), x);
                  })},
      {"Not", opEntry(&G::importLogical)},
      {"Or", opEntry(&G::importLogical)},
      {"Pow", opEntry(&G::importPow)},
      {"Reciprocal", unary(
                         [](OpBuilder &b, Location l, Value x) -> Value {
                           return arith::DivFOp::create(b, l, f32(b, l, 1), x);
                         },
                         [](float v) { return 1.0f / v; })},
      {"Relu", unary(
                   [](OpBuilder &b, Location l, Value x) -> Value {
                     return arith::MaximumFOp::create(b, l, x, f32(b, l, 0));
                   },
                   [](float v) { return std::max(v, 0.0f); }, kMinOpset,
                   [](OpBuilder &b, Location l, Value x) -> Value {
                     return arith::MaxSIOp::create(
                         b, l, x, arith::ConstantIntOp::create(b, l, 0, 64));
                   })},
      // 1 / (1 + exp(-x)), the form convc-raise-glu matches.
      {"Sigmoid",
       unary(
           [](OpBuilder &b, Location l, Value x) -> Value {
             Value one = f32(b, l, 1);
             Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
             return arith::DivFOp::create(b, l, one,
                                          arith::AddFOp::create(b, l, one, e));
           },
           [](float v) { return 1.0f / (1.0f + std::exp(-v)); })},
      {"Sin", unary([](OpBuilder &b, Location l, Value x) -> Value {
         return math::SinOp::create(b, l, x);
       })},
      {"Sinh", mathUnary<math::SinhOp>(9)},
      {"Sqrt", unary([](OpBuilder &b, Location l, Value x)
                         -> Value { return math::SqrtOp::create(b, l, x); },
                     [](float v) { return std::sqrt(v); })},
      {"Sub", binary<arith::SubFOp, arith::SubIOp>(
                  [](float a, float b) { return a - b; },
                  [](int64_t a, int64_t b) { return a - b; })},
      {"Tan", mathUnary<math::TanOp>(7)},
      {"Tanh", unary([](OpBuilder &b, Location l, Value x)
                         -> Value { return math::TanhOp::create(b, l, x); },
                     [](float v) { return std::tanh(v); })},
      {"Trilu", opEntry(&G::importTrilu, 14)},
      {"Where", opEntry(&G::importWhere, 9, fold::where)},
      {"Xor", opEntry(&G::importLogical)},

  };
}

} // namespace convc::onnx_import
