//===- ElementRanges.cpp - bounds of float tensors' elements --------------===//

#include "frontends/onnx/raising/ElementRanges.h"

#include "dialect/ConvcDialect.h"
#include "passes/GenericMatchers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace convc;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Deep enough for an activation behind a few views and slices; bounds
// give up (unbounded) past it.
constexpr int kMaxDepth = 24;

ElementRange point(double c) { return {c, c}; }

ElementRange join(ElementRange a, ElementRange b) {
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

// An end that came out NaN (inf - inf) is unbounded on its side.
ElementRange sane(double lo, double hi) {
  return {std::isnan(lo) ? -kInf : lo, std::isnan(hi) ? kInf : hi};
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
  if (b.lo <= 0 && b.hi >= 0)
    return {};
  return product(a, {1 / b.hi, 1 / b.lo});
}

ElementRange ofTensor(Value v, int depth);

ElementRange ofConstant(Attribute attr) {
  if (auto f = dyn_cast<FloatAttr>(attr))
    return point(f.getValueAsDouble());
  auto dense = dyn_cast<DenseFPElementsAttr>(attr);
  if (!dense || dense.empty())
    return {};
  ElementRange r{kInf, -kInf};
  for (APFloat x : dense.getValues<APFloat>()) {
    double d = x.convertToDouble();
    if (!std::isnan(d))
      r = join(r, point(d));
  }
  return r.lo <= r.hi ? r : ElementRange{};
}

/// A scalar in the body of `generic` (null outside one): its block
/// arguments are the generic's operands' elements.
ElementRange ofScalar(Value v, linalg::GenericOp generic, int depth) {
  if (depth > kMaxDepth)
    return {};
  auto recurse = [&](Value x) { return ofScalar(x, generic, depth + 1); };
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (!generic || arg.getOwner() != generic.getBody())
      return {};
    return ofTensor(generic->getOperand(arg.getArgNumber()), depth + 1);
  }
  Operation *op = v.getDefiningOp();
  if (!op)
    return {};
  Attribute attr;
  if (matchPattern(v, m_Constant(&attr)))
    return ofConstant(attr);
  // A gather inside the body (the importer's slices) reads the tensor.
  if (auto extract = dyn_cast<tensor::ExtractOp>(op))
    return ofTensor(extract.getTensor(), depth + 1);
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op)) {
    ElementRange a = recurse(op->getOperand(0)), b = recurse(op->getOperand(1));
    return {std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
  }
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(op)) {
    ElementRange a = recurse(op->getOperand(0)), b = recurse(op->getOperand(1));
    return {std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
  }
  if (isa<arith::AddFOp>(op)) {
    ElementRange a = recurse(op->getOperand(0)), b = recurse(op->getOperand(1));
    return sane(a.lo + b.lo, a.hi + b.hi);
  }
  if (isa<arith::SubFOp>(op)) {
    ElementRange a = recurse(op->getOperand(0)), b = recurse(op->getOperand(1));
    return sane(a.lo - b.hi, a.hi - b.lo);
  }
  if (isa<arith::MulFOp>(op))
    return product(recurse(op->getOperand(0)), recurse(op->getOperand(1)));
  if (isa<arith::DivFOp>(op))
    return quotient(recurse(op->getOperand(0)), recurse(op->getOperand(1)));
  if (auto neg = dyn_cast<arith::NegFOp>(op)) {
    ElementRange a = recurse(neg.getOperand());
    return {-a.hi, -a.lo};
  }
  if (auto abs = dyn_cast<math::AbsFOp>(op)) {
    ElementRange a = recurse(abs.getOperand());
    if (a.lo >= 0)
      return a;
    if (a.hi <= 0)
      return {-a.hi, -a.lo};
    return {0, std::max(-a.lo, a.hi)};
  }
  if (auto exp = dyn_cast<math::ExpOp>(op)) {
    ElementRange a = recurse(exp.getOperand());
    return {std::exp(a.lo), std::exp(a.hi)};
  }
  if (auto tanh = dyn_cast<math::TanhOp>(op)) {
    ElementRange a = recurse(tanh.getOperand());
    return {std::tanh(a.lo), std::tanh(a.hi)};
  }
  if (auto select = dyn_cast<arith::SelectOp>(op))
    return join(recurse(select.getTrueValue()),
                recurse(select.getFalseValue()));
  return {};
}

ElementRange ofTensor(Value v, int depth) {
  if (depth > kMaxDepth)
    return {};
  Attribute attr;
  if (matchPattern(v, m_Constant(&attr)))
    return ofConstant(attr);
  Operation *op = v.getDefiningOp();
  if (!op)
    return {};
  // Views and slices keep their source's elements.
  if (isa<tensor::CastOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
          tensor::ExtractSliceOp, tensor::ReshapeOp>(op))
    return ofTensor(op->getOperand(0), depth + 1);
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return join(ofTensor(insert.getSource(), depth + 1),
                ofTensor(insert.getDest(), depth + 1));
  if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    ElementRange r{kInf, -kInf};
    for (Value input : concat.getInputs())
      r = join(r, ofTensor(input, depth + 1));
    return r;
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return ofScalar(fill.getInputs()[0], {}, depth + 1);
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (generic->getNumResults() != 1 || generic.getNumReductionLoops() != 0)
      return {};
    return ofScalar(yieldedValue(generic), generic, depth + 1);
  }
  if (auto linear = dyn_cast<LinearOp>(op)) {
    // Only an activation bounds a projection (and only without a residual
    // or layer norm after it).
    if (linear.getResidual() || linear.getLnGamma())
      return {};
    if (linear.getActivation() == Activation::sigmoid)
      return {0, 1};
    if (linear.getActivation() == Activation::relu)
      return {0, kInf};
  }
  return {};
}

} // namespace

ElementRange convc::elementRange(Value v) { return ofTensor(v, 0); }
