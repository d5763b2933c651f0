//===- GenericMatchers.cpp - elementwise generics scaled by a constant ----===//

#include "passes/GenericMatchers.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace convc;

std::optional<std::pair<Value, double>> convc::scaledByConstant(Value v) {
  if (auto div = elementwise<arith::DivFOp>(v);
      div && div->lhs && div->lhsMap == Broadcast::Full && div->rhsConst &&
      *div->rhsConst != 0.0)
    return std::make_pair(div->lhs, 1.0 / *div->rhsConst);
  if (auto mul = elementwise<arith::MulFOp>(v)) {
    if (mul->rhsConst && mul->lhs && mul->lhsMap == Broadcast::Full)
      return std::make_pair(mul->lhs, *mul->rhsConst);
    if (mul->lhsConst && mul->rhs && mul->rhsMap == Broadcast::Full)
      return std::make_pair(mul->rhs, *mul->lhsConst);
  }
  return std::nullopt;
}
