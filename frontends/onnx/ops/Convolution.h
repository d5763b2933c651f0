//===- Convolution.h - what Conv and ConvTranspose share --------*- C++ -*-===//

#ifndef CONVC_FRONTENDS_ONNX_OPS_CONVOLUTION_H
#define CONVC_FRONTENDS_ONNX_OPS_CONVOLUTION_H

#include "frontends/onnx/GraphImporter.h"

namespace convc::onnx_import {

/// A convolution's operands once checked and padded.
struct ConvOperands {
  Value x, padded, w, bias, zero;
  RankedTensorType xType, wType;
  int64_t group, C, M, Cg, spatial;
  SmallVector<int64_t> strides, dilations;
  SmallVector<OpFoldResult> outSizes;
};

/// The convolution of `c.padded` by `c.w`: channels split into [group,
/// per-group], one linalg.generic over n, g, m, o..., c, k....
Value groupedConv(GraphImporter &im, Location loc, const ConvOperands &c);

} // namespace convc::onnx_import

#endif // CONVC_FRONTENDS_ONNX_OPS_CONVOLUTION_H
