//===- ActivationOps.cpp - activations with attributes, and tests ---------===//
//
// The activations whose formula takes attributes or several steps
// (HardSigmoid, HardSwish, Selu, Celu, ThresholdedRelu, Softplus, Softsign,
// Mish, PRelu, Shrink), Sign and Round, IsNaN and IsInf, and the variadic
// Sum and Mean: each one elementwise() over its (broadcast) operands. And
// Dropout, which inference passes through.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include <cmath>

namespace convc::onnx_import {

namespace {
/// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
Value softplus(OpBuilder &b, Location l, Value x) {
  Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
  Value negAbs = arith::NegFOp::create(b, l, math::AbsFOp::create(b, l, x));
  return arith::AddFOp::create(
      b, l, arith::MaximumFOp::create(b, l, x, zero),
      math::Log1pOp::create(b, l, math::ExpOp::create(b, l, negAbs)));
}
} // namespace

/// ONNX HardSigmoid, HardSwish, Selu, Celu, ThresholdedRelu, Softplus,
/// Softsign, Mish (defaults as the ONNX operator docs give them).
LogicalResult GraphImporter::importActivation(const onnx::NodeProto &node,
                                              Location loc,
                                              ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << op << " needs one float input";
  auto attr = [&](StringRef name, float fallback) {
    const auto *a = findAttr(node, name);
    return a ? a->f() : fallback;
  };
  bool hardSwish = op == "HardSwish";
  float alpha = attr("alpha", op == "HardSigmoid" ? 0.2f
                              : hardSwish         ? 1.0f / 6
                              : op == "Selu"      ? 1.67326319217681884765625f
                                                  : 1.0f);
  // HardSwish has no attributes: alpha 1/6 and beta 0.5.
  if (hardSwish)
    alpha = 1.0f / 6;
  float beta = hardSwish ? 0.5f : attr("beta", 0.5f);
  float gamma = attr("gamma", 1.05070102214813232421875f);
  Value result = elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                              ValueRange a) -> Value {
    auto c = [&](float v) -> Value {
      return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
    };
    Value x = a[0];
    if (op == "HardSigmoid" || hardSwish) {
      Value y = arith::AddFOp::create(
          nb, l, arith::MulFOp::create(nb, l, x, c(alpha)), c(beta));
      y = arith::MinimumFOp::create(
          nb, l, arith::MaximumFOp::create(nb, l, y, c(0)), c(1));
      return hardSwish ? Value(arith::MulFOp::create(nb, l, x, y)) : y;
    }
    if (op == "Selu" || op == "Celu") {
      // Selu: gamma (x or alpha (e^x - 1)); Celu: alpha (e^(x/alpha) - 1).
      bool selu = op == "Selu";
      Value e = math::ExpOp::create(
          nb, l, selu ? x : Value(arith::DivFOp::create(nb, l, x, c(alpha))));
      Value below = arith::MulFOp::create(
          nb, l, c(alpha), arith::SubFOp::create(nb, l, e, c(1)));
      Value positive =
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, c(0));
      Value y = arith::SelectOp::create(nb, l, positive, x, below);
      return selu ? Value(arith::MulFOp::create(nb, l, y, c(gamma))) : y;
    }
    if (op == "ThresholdedRelu")
      return arith::SelectOp::create(
          nb, l, arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x,
                                       c(alpha)),
          x, c(0));
    if (op == "Softplus")
      return softplus(nb, l, x);
    if (op == "Softsign")
      return arith::DivFOp::create(
          nb, l, x, arith::AddFOp::create(nb, l, c(1), math::AbsFOp::create(nb, l, x)));
    // Mish: x tanh(softplus(x)).
    return arith::MulFOp::create(nb, l, x,
                                 math::TanhOp::create(nb, l, softplus(nb, l, x)));
  });
  return define(node, result);
}

/// ONNX PRelu: x, or slope * x below 0 (the slope broadcast to x).
LogicalResult GraphImporter::importPRelu(const onnx::NodeProto &node,
                                         Location loc, ArrayRef<Value> inputs) {
  bool integer = inputs.size() == 2 && isInt64(inputs[0]) && isInt64(inputs[1]);
  if (inputs.size() != 2 ||
      !(integer || (isFloat(inputs[0]) && isFloat(inputs[1]))))
    return emitError(loc) << "PRelu needs float (or integer) x and slope";
  // The slope broadcasts to x, not x to the slope.
  auto xType = cast<RankedTensorType>(inputs[0].getType());
  auto slopeType = cast<RankedTensorType>(inputs[1].getType());
  int64_t extra = xType.getRank() - slopeType.getRank();
  bool fits = extra >= 0;
  for (int64_t d = 0; fits && d < slopeType.getRank(); ++d) {
    int64_t s = slopeType.getDimSize(d), n = xType.getDimSize(d + extra);
    fits = s == 1 || ShapedType::isDynamic(s) || ShapedType::isDynamic(n) ||
           s == n;
  }
  if (!fits)
    return emitError(loc) << "PRelu's slope " << slopeType
                          << " does not broadcast to x " << xType;
  return define(
      node, elementwise(loc, inputs,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          if (integer) {
                            Value negative = arith::CmpIOp::create(
                                nb, l, arith::CmpIPredicate::slt, a[0],
                                arith::ConstantIntOp::create(nb, l, 0, 64));
                            return arith::SelectOp::create(
                                nb, l, negative,
                                arith::MulIOp::create(nb, l, a[0], a[1]), a[0]);
                          }
                          Value zero = arith::ConstantOp::create(
                              nb, l, nb.getF32FloatAttr(0));
                          Value negative = arith::CmpFOp::create(
                              nb, l, arith::CmpFPredicate::OLT, a[0], zero);
                          return arith::SelectOp::create(
                              nb, l, negative,
                              arith::MulFOp::create(nb, l, a[0], a[1]), a[0]);
                        }));
}

/// ONNX Sign (float or int64; NaN stays NaN) and Round (halves to even).
LogicalResult GraphImporter::importSignRound(const onnx::NodeProto &node,
                                             Location loc,
                                             ArrayRef<Value> inputs) {
  bool sign = node.op_type() == "Sign";
  bool integer = inputs.size() == 1 && sign && isInt64(inputs[0]);
  if (inputs.size() != 1 || !(isFloat(inputs[0]) || integer))
    return emitError(loc) << node.op_type() << " needs one float"
                          << (sign ? " or int64" : "") << " input";
  return define(node, elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                                   ValueRange a) -> Value {
    Value x = a[0];
    if (!sign)
      return math::RoundEvenOp::create(nb, l, x);
    if (integer) {
      Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
      auto ext = [&](arith::CmpIPredicate p) -> Value {
        return arith::ExtUIOp::create(nb, l, nb.getI64Type(),
                                      arith::CmpIOp::create(nb, l, p, x, zero));
      };
      return arith::SubIOp::create(nb, l, ext(arith::CmpIPredicate::sgt),
                                   ext(arith::CmpIPredicate::slt));
    }
    auto c = [&](float v) -> Value {
      return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
    };
    Value y = arith::SelectOp::create(
        nb, l, arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, x, c(0)),
        c(-1), x);
    return arith::SelectOp::create(
        nb, l, arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, c(0)),
        c(1), y);
  }));
}

/// ONNX IsNaN, IsInf (detect_negative, detect_positive): bool results.
LogicalResult GraphImporter::importFloatClass(const onnx::NodeProto &node,
                                              Location loc,
                                              ArrayRef<Value> inputs) {
  bool nan = node.op_type() == "IsNaN";
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << node.op_type() << " needs one float input";
  bool negative = intAttr(node, "detect_negative", 1) != 0;
  bool positive = intAttr(node, "detect_positive", 1) != 0;
  return define(
      node,
      elementwise(
          loc, inputs,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            if (nan)
              return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO,
                                           a[0], a[0]);
            auto is = [&](float v) -> Value {
              return arith::CmpFOp::create(
                  nb, l, arith::CmpFPredicate::OEQ, a[0],
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v)));
            };
            Value none = arith::ConstantIntOp::create(nb, l, 0, 1);
            return arith::OrIOp::create(nb, l,
                                        positive ? is(INFINITY) : none,
                                        negative ? is(-INFINITY) : none);
          },
          b.getI1Type()));
}

/// ONNX Sum and Mean: variadic, broadcasting (float; Sum also int64).
LogicalResult GraphImporter::importSumMean(const onnx::NodeProto &node,
                                           Location loc,
                                           ArrayRef<Value> inputs) {
  bool mean = node.op_type() == "Mean";
  bool integer = !inputs.empty() && !mean && isInt64(inputs[0]);
  if (inputs.empty() || llvm::any_of(inputs, [&](Value v) {
        return !(integer ? isInt64(v) : isFloat(v));
      }))
    return emitError(loc) << node.op_type() << " needs float inputs"
                          << (mean ? "" : " or int64 ones");
  float count = inputs.size();
  return define(node, elementwise(loc, inputs, [&](OpBuilder &nb, Location l,
                                                   ValueRange a) -> Value {
    Value y = a[0];
    for (Value v : a.drop_front())
      y = integer ? Value(arith::AddIOp::create(nb, l, y, v))
                  : Value(arith::AddFOp::create(nb, l, y, v));
    if (mean)
      y = arith::DivFOp::create(
          nb, l, y, arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(count)));
    return y;
  }));
}

/// ONNX Shrink: x + bias below -lambd, x - bias above lambd, else 0.
LogicalResult GraphImporter::importShrink(const onnx::NodeProto &node,
                                          Location loc,
                                          ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !isFloat(inputs[0]))
    return emitError(loc) << "Shrink needs one float input";
  const auto *lambdAttr = findAttr(node, "lambd");
  const auto *biasAttr = findAttr(node, "bias");
  float lambd = lambdAttr ? lambdAttr->f() : 0.5f;
  float bias = biasAttr ? biasAttr->f() : 0.0f;
  return define(
      node,
      elementwise(
          loc, inputs, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            auto f = [&](float v) -> Value {
              return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
            };
            using P = arith::CmpFPredicate;
            Value x = a[0];
            Value low = arith::CmpFOp::create(nb, l, P::OLT, x, f(-lambd));
            Value high = arith::CmpFOp::create(nb, l, P::OGT, x, f(lambd));
            Value shrunk = arith::SelectOp::create(
                nb, l, high, arith::SubFOp::create(nb, l, x, f(bias)), f(0));
            return arith::SelectOp::create(
                nb, l, low, arith::AddFOp::create(nb, l, x, f(bias)), shrunk);
          }));
}

/// ONNX Dropout at inference: the data passes through and the mask is all
/// true (from opset 12; zeros before, as ONNX Runtime gives them, in the
/// data's type before opset 10). Training mode (a constant true
/// training_mode, opset 12+) draws a random mask, which convc refuses,
/// unless the ratio is 0.
LogicalResult GraphImporter::importDropout(const onnx::NodeProto &node,
                                           Location loc,
                                           ArrayRef<Value> inputs) {
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "Dropout needs data";
  if (inputs.size() > 2 && inputs[2]) {
    DenseElementsAttr training;
    if (!matchPattern(inputs[2], m_Constant(&training)) ||
        training.getNumElements() != 1)
      return emitError(loc) << "Dropout's training_mode is computed at run "
                               "time: convc compiles inference, where Dropout "
                               "passes the data through";
    if (*training.getValues<bool>().begin()) {
      DenseElementsAttr ratio;
      bool zero = inputs.size() > 1 && inputs[1] &&
                  matchPattern(inputs[1], m_Constant(&ratio)) &&
                  ratio.getNumElements() == 1 &&
                  (*ratio.getValues<APFloat>().begin()).isZero();
      if (!zero)
        return emitError(loc)
               << "Dropout in training mode draws a random mask; convc "
                  "compiles inference (export with model.eval(), or "
                  "training_mode false)";
    }
  }
  Value x = inputs[0];
  if (failed(define(
          node, elementwise(loc, {x}, [](OpBuilder &, Location, ValueRange a) {
            return a[0]; // a copy: a graph output never aliases an input
          }))))
    return failure();
  if (node.output_size() > 1 && !node.output(1).empty()) {
    // Opset 12 defines the inference mask as all true; before, it is left
    // unfilled, and ONNX Runtime gives zeros (float before opset 10).
    Type element =
        opset < 10 ? getElementTypeOrSelf(x.getType()) : Type(b.getI1Type());
    values[node.output(1)] = elementwise(
        loc, {x},
        [&](OpBuilder &nb, Location l, ValueRange) -> Value {
          return arith::ConstantOp::create(nb, l,
                                           opset < 12 ? nb.getZeroAttr(element)
                                                      : nb.getOneAttr(element));
        },
        element);
  }
  return success();
}

/// The activations, Shrink, Sign/Round, IsNaN/IsInf, Sum/Mean, Dropout.
NamedOps activationOps() {
  using G = GraphImporter;
  return {
      {"Celu", opEntry(&G::importActivation, 12)},
      {"Dropout", opEntry(&G::importDropout)},
      {"HardSigmoid", opEntry(&G::importActivation)},
      {"HardSwish", opEntry(&G::importActivation, 14)},
      {"IsInf", opEntry(&G::importFloatClass, 10)},
      {"IsNaN", opEntry(&G::importFloatClass, 9)},
      {"Mean", opEntry(&G::importSumMean)},
      {"Mish", opEntry(&G::importActivation, 18)},
      {"PRelu", opEntry(&G::importPRelu)},
      {"Round", opEntry(&G::importSignRound, 11)},
      {"Selu", opEntry(&G::importActivation)},
      {"Shrink", opEntry(&G::importShrink, 9)},
      {"Sign", opEntry(&G::importSignRound, 9)},
      {"Softplus", opEntry(&G::importActivation)},
      {"Softsign", opEntry(&G::importActivation)},
      {"Sum", opEntry(&G::importSumMean)},
      {"ThresholdedRelu", opEntry(&G::importActivation, 10)},
  };
}

} // namespace convc::onnx_import
