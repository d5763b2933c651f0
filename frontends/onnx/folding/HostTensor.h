//===- HostTensor.h - float32 constants evaluated on the host ---*- C++ -*-===//
//
// Weight computations on initializers (the softmax, expand and reshape that
// exporters put in front of a LightweightConv's grouped Conv) are evaluated
// on the host, so the weights reach the compiler as constants that the
// raising patterns can read.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_FOLDING_HOSTTENSOR_H
#define CONVC_FRONTENDS_ONNX_FOLDING_HOSTTENSOR_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace convc::onnx_import {

/// A float32 constant evaluated on the host.
struct HostTensor {
  llvm::SmallVector<int64_t> shape;
  std::vector<float> data;

  /// The element count, or INT64_MAX when a dim is negative or the count
  /// exceeds 2^40 (shapes come from the file).
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d < 0 || (d && n > (int64_t(1) << 40) / d))
        return std::numeric_limits<int64_t>::max();
      n *= d;
    }
    return n;
  }
  /// Row-major strides; broadcast dims (size 1 against a larger `to`) get 0.
  llvm::SmallVector<int64_t> stridesFor(llvm::ArrayRef<int64_t> to) const {
    llvm::SmallVector<int64_t> strides(to.size(), 0);
    int64_t stride = 1, offset = int64_t(to.size()) - int64_t(shape.size());
    for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
      strides[offset + i] = shape[i] == 1 && to[offset + i] != 1 ? 0 : stride;
      stride *= shape[i];
    }
    return strides;
  }
};

/// The value of a float32 constant, or nullopt.
std::optional<HostTensor> hostFloat(mlir::Value v);
/// Numpy broadcasting of a and b into fn(a, b); nullopt when the shapes do
/// not broadcast or the result is too big to evaluate here.
std::optional<HostTensor> broadcast(const HostTensor &a, const HostTensor &b,
                                    llvm::function_ref<float(float, float)> fn);

} // namespace convc::onnx_import

#endif // CONVC_FRONTENDS_ONNX_FOLDING_HOSTTENSOR_H
