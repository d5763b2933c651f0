//===- ImportedForms.h - the importer's shape and index arithmetic -*- C++ -*-===//
//
// The contract between the ONNX importer and the raising passes: what the
// importer emits for sizes, positions and gathered indices (GraphImporter's
// shape folding, Range, Gather's index normalisation), as the raising passes
// read it back. A change to those emitted forms changes these matchers.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_RAISING_IMPORTEDFORMS_H
#define CONVC_FRONTENDS_ONNX_RAISING_IMPORTEDFORMS_H

#include "passes/GenericMatchers.h"

namespace convc {

/// A scalar (index, integer or integral float) `constant + timeCoeff * T`,
/// T the time dim of one sequence.
struct TimeAffine {
  int64_t timeCoeff = 0;
  int64_t constant = 0;
  bool operator==(const TimeAffine &o) const {
    return timeCoeff == o.timeCoeff && constant == o.constant;
  }
};

/// `v` as c0 + c1 * T, T = dim(seq, 1) >= 1, through what the importer
/// emits for shape arithmetic: constants, tensor.dim (also of expand_shape
/// and tensor.generate results), casts, integral rounding, from_elements /
/// extract of one element, + and -, min and max against constants, and
/// rank-0 linalg.generic ops of those. (For T = 0 the sequences are empty,
/// which makes the assumption T >= 1 harmless where it is used.)
std::optional<TimeAffine> asTimeAffine(mlir::Value v, mlir::Value seq,
                                       int depth = 0);

/// Whether `v` is T + c for the time of `seq`.
bool isTimePlus(mlir::Value v, mlir::Value seq, int64_t c);

/// Whether element i of the rank-1 `generate` is float(i) (+ 0.0): what the
/// importer emits for Range(0, n, 1) in float.
bool isFloatArange(mlir::tensor::GenerateOp generate);

/// The importer's Gather / GatherElements normalisation of the index `in`
/// for an axis of n entries: wrap negatives (+ n), clamp to [0, n - 1] (min
/// and max in either order), the identity on [0, n). Returns n (a constant
/// or a value), null when `idx` is not that.
mlir::Value gatherAxisSize(mlir::Value idx, mlir::Value in);

/// Whether `size` is dim `d` of `v`: a constant equal to a static dim, or
/// (through index casts) tensor.dim of `v` or of what `v` transposes.
bool isSizeOfDim(mlir::OpFoldResult size, mlir::Value v, int64_t d);

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_RAISING_IMPORTEDFORMS_H
