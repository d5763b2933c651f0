//===- ElementRanges.cpp - bounds of float tensors' elements --------------===//
//
// Interval arithmetic in double, each result rounded outward to its element
// type: the f32 code rounds (a tie can round past a bound computed in
// double) and overflows (sig * 1e20 * 1e20 / 1e20 / 1e20 is inf in f32, 1 in
// the reals). exp and tanh, whose lowerings are not correctly rounded, are
// widened by a few ulp more.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/raising/ElementRanges.h"

#include "dialect/ConvcDialect.h"
#include "passes/GenericMatchers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace convc;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Guards the stack; ranges are cached, so the walk is linear in the IR.
constexpr int kMaxDepth = 64;
// How far exp and tanh may be off in their element type.
constexpr int kTranscendentalUlps = 4;

ElementRange point(double c) { return {c, c}; }

ElementRange join(ElementRange a, ElementRange b) {
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

/// The ends of `r` rounded outward to `type`'s floats, moved `ulps` more;
/// unbounded for other types and for ends that came out NaN (inf - inf).
ElementRange roundedOutward(ElementRange r, Type type, int ulps = 0) {
  auto floatType = dyn_cast<FloatType>(getElementTypeOrSelf(type));
  if (!floatType || std::isnan(r.lo) || std::isnan(r.hi))
    return {};
  auto round = [&](double x, bool down) {
    APFloat f(x);
    bool lost;
    f.convert(floatType.getFloatSemantics(),
              down ? APFloat::rmTowardNegative : APFloat::rmTowardPositive,
              &lost);
    for (int i = 0; i < ulps; ++i)
      f.next(/*nextDown=*/down);
    return f.convertToDouble();
  };
  return {round(r.lo, true), round(r.hi, false)};
}

ElementRange product(ElementRange a, ElementRange b) {
  // 0 * inf is NaN in IEEE arithmetic, but each finite element times 0
  // is 0: that corner bounds at 0.
  auto mul = [](double x, double y) {
    double p = x * y;
    return std::isnan(p) ? 0.0 : p;
  };
  double c[] = {mul(a.lo, b.lo), mul(a.lo, b.hi), mul(a.hi, b.lo),
                mul(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}

ElementRange quotient(ElementRange a, ElementRange b) {
  // A divisor that may be 0 (of either sign) makes any quotient possible.
  if (b.lo <= 0 && b.hi >= 0)
    return {};
  return product(a, {1 / b.hi, 1 / b.lo});
}

/// Element ranges of the values one query meets, cached: the IR is a DAG
/// (a value squared reads its operand twice).
class RangeAnalysis {
public:
  ElementRange ofTensor(Value v, int depth);

private:
  ElementRange ofScalar(Value v, linalg::GenericOp generic, int depth);
  ElementRange ofOp(Operation *op, Value v, linalg::GenericOp generic,
                    int depth);
  ElementRange ofTensorOp(Operation *op, int depth);
  ElementRange cached(Value v, function_ref<ElementRange()> compute);

  DenseMap<Value, ElementRange> ranges;
};

ElementRange ofConstant(Attribute attr) {
  if (auto f = dyn_cast<FloatAttr>(attr)) {
    double d = f.getValueAsDouble();
    return std::isnan(d) ? ElementRange{} : point(d);
  }
  auto dense = dyn_cast<DenseFPElementsAttr>(attr);
  if (!dense || dense.empty())
    return {};
  if (dense.isSplat())
    return ofConstant(
        FloatAttr::get(dense.getElementType(), dense.getSplatValue<APFloat>()));
  // NaN elements are the one case a bound need not hold for.
  std::optional<ElementRange> r;
  for (APFloat x : dense.getValues<APFloat>())
    if (!x.isNaN())
      r = r ? join(*r, point(x.convertToDouble())) : point(x.convertToDouble());
  return r.value_or(ElementRange{});
}

ElementRange RangeAnalysis::cached(Value v,
                                   function_ref<ElementRange()> compute) {
  if (auto it = ranges.find(v); it != ranges.end())
    return it->second;
  ElementRange r = compute();
  ranges[v] = r;
  return r;
}

/// A scalar in the body of `generic` (null outside one): its block
/// arguments are the generic's operands' elements.
ElementRange RangeAnalysis::ofScalar(Value v, linalg::GenericOp generic,
                                     int depth) {
  if (depth > kMaxDepth)
    return {};
  return cached(v, [&]() -> ElementRange {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (!generic || arg.getOwner() != generic.getBody())
        return {};
      return ofTensor(generic->getOperand(arg.getArgNumber()), depth + 1);
    }
    Attribute attr;
    if (matchPattern(v, m_Constant(&attr)))
      return ofConstant(attr);
    Operation *op = v.getDefiningOp();
    return op ? ofOp(op, v, generic, depth) : ElementRange{};
  });
}

ElementRange RangeAnalysis::ofOp(Operation *op, Value v,
                                 linalg::GenericOp generic, int depth) {
  auto operand = [&](unsigned i) {
    return ofScalar(op->getOperand(i), generic, depth + 1);
  };
  Type type = v.getType();
  return TypeSwitch<Operation *, ElementRange>(op)
      // A gather inside the body (the importer's slices) reads the tensor.
      .Case([&](tensor::ExtractOp extract) {
        return ofTensor(extract.getTensor(), depth + 1);
      })
      .Case<arith::MaximumFOp>([&](auto) {
        ElementRange a = operand(0), b = operand(1);
        return ElementRange{std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
      })
      .Case<arith::MinimumFOp>([&](auto) {
        ElementRange a = operand(0), b = operand(1);
        return ElementRange{std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
      })
      // maxnum(NaN, b) is b: either operand may come through whole.
      .Case<arith::MaxNumFOp, arith::MinNumFOp>(
          [&](auto) { return join(operand(0), operand(1)); })
      .Case<arith::AddFOp>([&](auto) {
        ElementRange a = operand(0), b = operand(1);
        return roundedOutward({a.lo + b.lo, a.hi + b.hi}, type);
      })
      .Case<arith::SubFOp>([&](auto) {
        ElementRange a = operand(0), b = operand(1);
        return roundedOutward({a.lo - b.hi, a.hi - b.lo}, type);
      })
      .Case<arith::MulFOp>([&](auto) {
        return roundedOutward(product(operand(0), operand(1)), type);
      })
      .Case<arith::DivFOp>([&](auto) {
        return roundedOutward(quotient(operand(0), operand(1)), type);
      })
      .Case<arith::NegFOp>([&](auto) {
        ElementRange a = operand(0);
        return ElementRange{-a.hi, -a.lo};
      })
      .Case<math::AbsFOp>([&](auto) {
        ElementRange a = operand(0);
        if (a.lo >= 0)
          return a;
        if (a.hi <= 0)
          return ElementRange{-a.hi, -a.lo};
        return ElementRange{0, std::max(-a.lo, a.hi)};
      })
      .Case<math::ExpOp>([&](auto) {
        ElementRange a = operand(0);
        ElementRange r = roundedOutward({std::exp(a.lo), std::exp(a.hi)}, type,
                                        kTranscendentalUlps);
        return ElementRange{std::max(r.lo, 0.0), r.hi};
      })
      .Case<math::TanhOp>([&](auto) {
        ElementRange a = operand(0);
        ElementRange r = roundedOutward({std::tanh(a.lo), std::tanh(a.hi)},
                                        type, kTranscendentalUlps);
        return ElementRange{std::max(r.lo, -1.0), std::min(r.hi, 1.0)};
      })
      .Case(
          [&](arith::SelectOp select) { return join(operand(1), operand(2)); })
      .Default([](Operation *) { return ElementRange{}; });
}

ElementRange RangeAnalysis::ofTensorOp(Operation *op, int depth) {
  return TypeSwitch<Operation *, ElementRange>(op)
      // Views and slices keep their source's elements.
      .Case<tensor::CastOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
            tensor::ExtractSliceOp, tensor::ReshapeOp>(
          [&](Operation *view) { return ofTensor(view->getOperand(0), depth); })
      .Case([&](tensor::InsertSliceOp insert) {
        return join(ofTensor(insert.getSource(), depth),
                    ofTensor(insert.getDest(), depth));
      })
      .Case([&](tensor::ConcatOp concat) {
        ElementRange r = ofTensor(concat.getInputs().front(), depth);
        for (Value input : concat.getInputs().drop_front())
          r = join(r, ofTensor(input, depth));
        return r;
      })
      // Transposes and broadcasts move or repeat elements.
      .Case<linalg::TransposeOp, linalg::BroadcastOp>(
          [&](auto move) { return ofTensor(move.getInput(), depth); })
      .Case([&](tensor::PadOp pad) -> ElementRange {
        Value padding = pad.getConstantPaddingValue();
        if (!padding)
          return {};
        return join(ofTensor(pad.getSource(), depth),
                    ofScalar(padding, {}, depth));
      })
      .Case([&](linalg::FillOp fill) {
        return ofScalar(fill.getInputs()[0], {}, depth);
      })
      .Case([&](linalg::GenericOp generic) -> ElementRange {
        // An output map that is not a permutation leaves elements of the
        // init unwritten; they are not bounded here.
        if (generic->getNumResults() != 1 ||
            generic.getNumReductionLoops() != 0 ||
            !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
                 .isPermutation())
          return {};
        return ofScalar(yieldedValue(generic), generic, depth);
      })
      .Case([&](LinearOp linear) -> ElementRange {
        // Only an activation bounds a projection (and only without a
        // residual or layer norm after it).
        if (linear.getResidual() || linear.getLnGamma())
          return {};
        if (linear.getActivation() == Activation::sigmoid)
          return {0, 1};
        if (linear.getActivation() == Activation::relu)
          return {0, kInf};
        return {};
      })
      .Default([](Operation *) { return ElementRange{}; });
}

ElementRange RangeAnalysis::ofTensor(Value v, int depth) {
  if (depth > kMaxDepth)
    return {};
  return cached(v, [&]() -> ElementRange {
    Attribute attr;
    if (matchPattern(v, m_Constant(&attr)))
      return ofConstant(attr);
    Operation *op = v.getDefiningOp();
    return op ? ofTensorOp(op, depth + 1) : ElementRange{};
  });
}

} // namespace

ElementRange convc::elementRange(Value v) {
  return RangeAnalysis().ofTensor(v, 0);
}
