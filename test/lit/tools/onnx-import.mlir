// ONNX import through the convc driver, on the official backend test models
// (Debian's libonnx-testdata).
// REQUIRES: onnx
// RUN: convc compile %onnx_data/test_add_bcast/model.onnx --emit=import --quiet | FileCheck %s
// CHECK: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK: #[[BCAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK: func.func @main(%{{.*}}: tensor<3x4x5xf32> {convc.name = "x"}, %{{.*}}: tensor<5xf32> {convc.name = "y"}) -> (tensor<3x4x5xf32> {convc.name = "sum"})
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BCAST]], #[[ID]]]
// CHECK: arith.addf

// Every unsupported op type is listed with its nodes, and the supported ones.
// RUN: not convc compile %onnx_data/test_conv_with_strides_padding/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=MISSING-OPS
// MISSING-OPS: unsupported ONNX ops (supported: Abs, Add, Ceil, Clip, Concat, Constant, Div, Erf, Exp, Floor, Gemm, Identity, LeakyRelu, LogSoftmax, MatMul, Max, Min, Mul, Neg, ReduceMax, ReduceMean, ReduceMin, Relu, Sigmoid, Softmax, Sqrt, Sub, Tanh, Transpose): Conv x1 [(unnamed)];

// RUN: not convc compile %onnx_data/test_add_uint8/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: 'x': ONNX element type UINT8 is not supported (float and int64 are)

// RUN: not convc compile %S/Inputs/garbage.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: garbage.onnx' is not an ONNX model (the protobuf does not parse, is truncated, or has no graph)
