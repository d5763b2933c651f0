//===- ElementRanges.h - bounds of float tensors' elements ------*- C++ -*-===//
//
// Some raisings are exact only for operands in a range: compiled TaLK
// clamps its offsets to [0, 1] (docs/semantics.md, talk_conv), which agrees
// with the exported window sums only for offsets already in it. These
// bounds, computed by interval arithmetic over what the importer emits
// (elementwise generics, their constants and gathers, views, transposes,
// broadcasts, constant pads, fills, convc.linear's activation), let such a
// raising prove its operand in range and leave the generic form (correct for
// any operand) otherwise. NaN is not tracked: a bound holds for the elements
// that are not NaN.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_RAISING_ELEMENTRANGES_H
#define CONVC_FRONTENDS_ONNX_RAISING_ELEMENTRANGES_H

#include "mlir/IR/Value.h"

#include <limits>

namespace convc {

/// A closed interval of reals; infinite ends for unbounded sides.
struct ElementRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool within(double l, double h) const { return l <= lo && hi <= h; }
};

/// Bounds of every (non-NaN) element of the float tensor or scalar `v`;
/// unbounded where they are not proven.
ElementRange elementRange(mlir::Value v);

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_RAISING_ELEMENTRANGES_H
