// RUN: convc-opt %s -convc-fold-weight-softmax | FileCheck %s

// softmax([0, ln 3]) = [0.25, 0.75]; softmax([0, 0]) = [0.5, 0.5].
// CHECK-LABEL: func.func @fold
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.500000e-01, 0.75000{{[0-9]+}}], [5.000000e-01, 5.000000e-01]]> : tensor<2x2xf32>
// CHECK: convc.lightweight_conv %{{.*}}, %[[W]] {heads = 2 : i64, padding = 1 : i64, weight_softmax = false}
func.func @fold(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = arith.constant dense<[[0.0, 1.0986122886681098], [0.0, 0.0]]> : tensor<2x2xf32>
  %y = convc.lightweight_conv %x, %w {heads = 2 : i64, padding = 1 : i64} : tensor<?x?x8xf32>, tensor<2x2xf32>
  return %y : tensor<?x?x8xf32>
}

// Large logits do not overflow (max-subtracted).
// CHECK-LABEL: func.func @large
// CHECK: arith.constant dense<5.000000e-01> : tensor<1x2xf32>
func.func @large(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = arith.constant dense<[[1000.0, 1000.0]]> : tensor<1x2xf32>
  %y = convc.lightweight_conv %x, %w {heads = 1 : i64, padding = 1 : i64} : tensor<?x?x8xf32>, tensor<1x2xf32>
  return %y : tensor<?x?x8xf32>
}

// Weights that are function arguments keep their run-time softmax.
// CHECK-LABEL: func.func @runtime_weight
// CHECK: convc.lightweight_conv %{{.*}}, %{{.*}} {heads = 2 : i64, padding = 1 : i64} :
func.func @runtime_weight(%x: tensor<?x?x8xf32>, %w: tensor<2x3xf32>) -> tensor<?x?x8xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 2 : i64, padding = 1 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %y : tensor<?x?x8xf32>
}

// Already-normalised weights are not normalised twice.
// CHECK-LABEL: func.func @no_softmax
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00]]>
func.func @no_softmax(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = arith.constant dense<[[1.0, 3.0]]> : tensor<1x2xf32>
  %y = convc.lightweight_conv %x, %w {heads = 1 : i64, padding = 1 : i64, weight_softmax = false} : tensor<?x?x8xf32>, tensor<1x2xf32>
  return %y : tensor<?x?x8xf32>
}

// bf16 weights: softmax in f32, rounded to bf16. The logit rounds to
// 1.1015625 in bf16, so the taps are 0.24945 and 0.75055 before rounding.
// CHECK-LABEL: func.func @bf16
// CHECK: arith.constant dense<{{\[}}[2.490230e-01, 7.500000e-01]]> : tensor<1x2xbf16>
func.func @bf16(%x: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %w = arith.constant dense<[[0.0, 1.0986122886681098]]> : tensor<1x2xbf16>
  %y = convc.lightweight_conv %x, %w {heads = 1 : i64, padding = 1 : i64} : tensor<?x?x8xbf16>, tensor<1x2xbf16>
  return %y : tensor<?x?x8xbf16>
}
