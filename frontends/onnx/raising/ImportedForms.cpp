//===- ImportedForms.cpp - the importer's shape and index arithmetic -----===//

#include "frontends/onnx/raising/ImportedForms.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace convc;

std::optional<TimeAffine> convc::asTimeAffine(Value v, Value seq, int depth) {
  if (depth > 32)
    return std::nullopt;
  auto recurse = [&](Value x) { return asTimeAffine(x, seq, depth + 1); };
  // Constants: integers, or floats with an integral value; scalars or
  // splats (one-element tensors).
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return TimeAffine{0, *c};
  if (std::optional<double> d = splatValue(v)) {
    if (std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 1e15)
      return TimeAffine{0, int64_t(*d)};
    return std::nullopt;
  }
  // Inside a rank-0 generic: its block arguments are its inputs.
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto generic =
        dyn_cast<linalg::GenericOp>(arg.getOwner()->getParentOp());
    if (!generic || generic.getNumLoops() != 0 ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return std::nullopt;
    return recurse(generic.getDpsInputs()[arg.getArgNumber()]);
  }
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    std::optional<int64_t> index = getConstantIntValue(dim.getIndex());
    if (!index)
      return std::nullopt;
    Value source = dim.getSource();
    if (source == seq && *index == 1)
      return TimeAffine{1, 0};
    // A dim of a reshape or a generated tensor: the size it was given.
    if (auto expand = source.getDefiningOp<tensor::ExpandShapeOp>()) {
      OpFoldResult size = expand.getMixedOutputShape()[*index];
      if (auto c = getConstantIntValue(size))
        return TimeAffine{0, *c};
      return recurse(cast<Value>(size));
    }
    if (auto generate = source.getDefiningOp<tensor::GenerateOp>())
      if (generate.getType().getRank() == 1 &&
          generate.getDynamicExtents().size() == 1)
        return recurse(generate.getDynamicExtents()[0]);
    return std::nullopt;
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (generic.getNumLoops() != 0 || generic->getNumResults() != 1)
      return std::nullopt;
    return recurse(
        cast<linalg::YieldOp>(generic.getBody()->getTerminator()).getOperand(0));
  }
  // Integer-valued throughout: casts and rounding change nothing.
  if (isa<arith::IndexCastOp, arith::SIToFPOp, arith::FPToSIOp, math::CeilOp,
          math::FloorOp>(op))
    return recurse(op->getOperand(0));
  if (auto fromElements = dyn_cast<tensor::FromElementsOp>(op)) {
    if (fromElements.getElements().size() != 1)
      return std::nullopt;
    return recurse(fromElements.getElements()[0]);
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    if (auto fromElements =
            extract.getTensor().getDefiningOp<tensor::FromElementsOp>()) {
      // One element of a 1-D from_elements at a constant index.
      if (extract.getIndices().size() != 1)
        return std::nullopt;
      std::optional<int64_t> i = getConstantIntValue(extract.getIndices()[0]);
      if (!i || *i < 0 || *i >= int64_t(fromElements.getElements().size()))
        return std::nullopt;
      return recurse(fromElements.getElements()[*i]);
    }
    if (cast<RankedTensorType>(extract.getTensor().getType()).getNumElements() !=
        1)
      return std::nullopt;
    return recurse(extract.getTensor());
  }
  if (!isa<arith::AddIOp, arith::AddFOp, arith::SubIOp, arith::SubFOp,
           arith::MinSIOp, arith::MaxSIOp, arith::MinimumFOp,
           arith::MaximumFOp>(op))
    return std::nullopt;
  std::optional<TimeAffine> lhs = recurse(op->getOperand(0));
  std::optional<TimeAffine> rhs = recurse(op->getOperand(1));
  if (!lhs || !rhs)
    return std::nullopt;
  if (isa<arith::AddIOp, arith::AddFOp>(op))
    return TimeAffine{lhs->timeCoeff + rhs->timeCoeff,
                      lhs->constant + rhs->constant};
  if (isa<arith::SubIOp, arith::SubFOp>(op))
    return TimeAffine{lhs->timeCoeff - rhs->timeCoeff,
                      lhs->constant - rhs->constant};
  // min / max of T + k (T >= 1, so T + k >= 1 + k) and a constant c.
  bool isMin = isa<arith::MinSIOp, arith::MinimumFOp>(op);
  if (lhs->timeCoeff == 0 && rhs->timeCoeff == 0)
    return TimeAffine{0, isMin ? std::min(lhs->constant, rhs->constant)
                               : std::max(lhs->constant, rhs->constant)};
  if (lhs->timeCoeff == 0)
    std::swap(lhs, rhs);
  if (lhs->timeCoeff != 1 || rhs->timeCoeff != 0)
    return std::nullopt;
  if (1 + lhs->constant >= rhs->constant)
    return isMin ? *rhs : *lhs; // T + k >= c
  return std::nullopt;
}

/// Whether `v` is T + c for the time of `seq`.
bool convc::isTimePlus(Value v, Value seq, int64_t c) {
  std::optional<TimeAffine> a = asTimeAffine(v, seq);
  return a && *a == TimeAffine{1, c};
}


bool convc::isFloatArange(tensor::GenerateOp generate) {
  if (generate.getType().getRank() != 1)
    return false;
  Block &body = generate.getBody().front();
  Value element = cast<tensor::YieldOp>(body.getTerminator()).getValue();
  if (auto add = element.getDefiningOp<arith::AddFOp>()) {
    if (splatValue(add.getRhs()) != 0.0)
      return false;
    element = add.getLhs();
  }
  auto toFloat = element.getDefiningOp<arith::SIToFPOp>();
  auto toInt = toFloat ? toFloat.getIn().getDefiningOp<arith::IndexCastOp>()
                       : nullptr;
  return toInt && toInt.getIn() == body.getArgument(0);
}

Value convc::gatherAxisSize(Value idx, Value in) {
  // min and max in either order.
  Value clamped = idx, upper;
  bool lowZero = false;
  for (int i = 0; i < 2; ++i) {
    if (auto max = clamped.getDefiningOp<arith::MaxSIOp>()) {
      if (!isConstantIntValue(max.getRhs(), 0))
        return nullptr;
      lowZero = true;
      clamped = max.getLhs();
    } else if (auto min = clamped.getDefiningOp<arith::MinSIOp>()) {
      upper = min.getRhs();
      clamped = min.getLhs();
    }
  }
  auto select = clamped.getDefiningOp<arith::SelectOp>();
  if (!lowZero || !upper || !select || select.getFalseValue() != in)
    return nullptr;
  auto negative = select.getCondition().getDefiningOp<arith::CmpIOp>();
  auto wrapped = select.getTrueValue().getDefiningOp<arith::AddIOp>();
  if (!negative || negative.getPredicate() != arith::CmpIPredicate::slt ||
      negative.getLhs() != in || !isConstantIntValue(negative.getRhs(), 0) ||
      !wrapped || wrapped.getLhs() != in)
    return nullptr;
  Value n = wrapped.getRhs();
  // upper = n - 1: a constant one less, or subi(n, 1).
  if (std::optional<int64_t> cn = getConstantIntValue(n))
    return getConstantIntValue(upper) == *cn - 1 ? n : Value();
  auto minusOne = upper.getDefiningOp<arith::SubIOp>();
  return minusOne && minusOne.getLhs() == n &&
                 isConstantIntValue(minusOne.getRhs(), 1)
             ? n
             : Value();
}

bool convc::isSizeOfDim(OpFoldResult size, Value v, int64_t d) {
  if (!size)
    return false;
  auto type = cast<RankedTensorType>(v.getType());
  if (std::optional<int64_t> c = getConstantIntValue(size))
    return !type.isDynamicDim(d) && *c == type.getDimSize(d);
  Value s = cast<Value>(size);
  while (auto indexCast = s.getDefiningOp<arith::IndexCastOp>())
    s = indexCast.getIn();
  auto dim = s.getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
  if (!index)
    return false;
  while (dim.getSource() != v || *index != d) {
    auto transpose = v.getDefiningOp<linalg::TransposeOp>();
    if (!transpose)
      return false;
    d = transpose.getPermutation()[d];
    v = transpose.getInput();
  }
  return true;
}
