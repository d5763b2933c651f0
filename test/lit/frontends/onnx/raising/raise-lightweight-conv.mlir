// RUN: convc-opt %s -convc-raise-lightweight-conv | FileCheck %s

// Rows shared in blocks of 2 channels (H = 2 heads of R = 2): the [2, 3]
// kernel is recovered, already normalised (weight_softmax = false).
// CHECK-LABEL: func.func @shared_rows
// CHECK: %[[K:.*]] = arith.constant dense<{{\[}}[1.000000e-01, 2.000000e-01, {{.*}}], [3.000000e-01, 3.000000e-01, 4.000000e-01]]> : tensor<2x3xf32>
// CHECK: convc.lightweight_conv %arg0, %[[K]] {heads = 2 : i64, padding = 1 : i64, weight_softmax = false}
func.func @shared_rows(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<[[0.1, 0.2, 0.7], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]]> : tensor<4x3xf32>
  %y = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x4xf32>, tensor<4x3xf32>
  return %y : tensor<?x?x4xf32>
}

// Distinct rows, a non-constant weight, or a dilation: stays depthwise.
// CHECK-LABEL: func.func @not_shared
// CHECK-COUNT-3: convc.depthwise_conv
// CHECK-NOT: convc.lightweight_conv
func.func @not_shared(%x: tensor<?x?x4xf32>, %v: tensor<4x3xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<[[0.1, 0.2, 0.7], [0.1, 0.2, 0.6], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]]> : tensor<4x3xf32>
  %s = arith.constant dense<[[0.1, 0.2, 0.7], [0.1, 0.2, 0.7], [0.1, 0.2, 0.7], [0.1, 0.2, 0.7]]> : tensor<4x3xf32>
  %a = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x4xf32>, tensor<4x3xf32>
  %b = convc.depthwise_conv %a, %v {padding = 1 : i64} : tensor<?x?x4xf32>, tensor<4x3xf32>
  %c = convc.depthwise_conv %b, %s {padding = 1 : i64, dilation = 2 : i64} : tensor<?x?x4xf32>, tensor<4x3xf32>
  return %c : tensor<?x?x4xf32>
}
