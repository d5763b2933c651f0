// RUN: convc-opt %s -convc-fuse-talk -split-input-file | FileCheck %s

// The TaLK decomposition an importer produces (x / Kn, cumsum, interpolated
// window difference) becomes one talk_conv.
// CHECK-LABEL: func.func @talk_from_primitives
// CHECK-SAME: (%[[X:.*]]: tensor<2x9x64xf32>, %[[O:.*]]: tensor<2x9x8xf32>)
// CHECK-NOT: convc.prefix_sum
// CHECK-NOT: convc.window_diff
// CHECK: %[[Y:.*]] = convc.talk_conv %[[X]], %[[O]] {left_max = 3 : i64, right_max = 3 : i64}
// CHECK: return %[[Y]]
func.func @talk_from_primitives(%x: tensor<2x9x64xf32>, %o: tensor<2x9x8xf32>) -> tensor<2x9x64xf32> {
  %kn = arith.constant dense<7.0> : tensor<2x9x64xf32>
  %xs = arith.divf %x, %kn : tensor<2x9x64xf32>
  %s = convc.prefix_sum %xs : tensor<2x9x64xf32>
  %y = convc.window_diff %s, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<2x9x64xf32>, tensor<2x9x8xf32>
  return %y : tensor<2x9x64xf32>
}

// -----

// Multiplying by an f32 1/Kn (not exactly 1/5 in binary) still matches; the
// causal flag carries over.
// CHECK-LABEL: func.func @causal_talk_from_mul
// CHECK: convc.talk_conv %{{.*}}, %{{.*}} {causal, left_max = 4 : i64, right_max = 0 : i64}
func.func @causal_talk_from_mul(%x: tensor<2x10x16xf32>, %o: tensor<2x10x4xf32>) -> tensor<2x10x16xf32> {
  %inv = arith.constant dense<0.2> : tensor<2x10x16xf32>
  %xs = arith.mulf %inv, %x : tensor<2x10x16xf32>
  %s = convc.prefix_sum %xs : tensor<2x10x16xf32>
  %y = convc.window_diff %s, %o {causal, left_max = 4 : i64, right_max = 0 : i64} : tensor<2x10x16xf32>, tensor<2x10x4xf32>
  return %y : tensor<2x10x16xf32>
}

// -----

// A scale that is not 1/Kn is folded into the prefix sum, but the window
// difference stays separate: talk_conv could not express it.
// CHECK-LABEL: func.func @not_talk
// CHECK: %[[S:.*]] = convc.prefix_sum %{{.*}} {scale = 5.000000e-01 : f64}
// CHECK: convc.window_diff %[[S]]
// CHECK-NOT: convc.talk_conv
func.func @not_talk(%x: tensor<1x5x64xf32>, %o: tensor<1x5x8xf32>) -> tensor<1x5x64xf32> {
  %c = arith.constant dense<0.5> : tensor<1x5x64xf32>
  %xs = arith.mulf %x, %c : tensor<1x5x64xf32>
  %s = convc.prefix_sum %xs : tensor<1x5x64xf32>
  %y = convc.window_diff %s, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<1x5x64xf32>, tensor<1x5x8xf32>
  return %y : tensor<1x5x64xf32>
}

// -----

// A non-constant factor is left alone.
// CHECK-LABEL: func.func @runtime_scale
// CHECK: arith.mulf
// CHECK: convc.prefix_sum %{{.*}} : tensor<?x?x64xf32>
func.func @runtime_scale(%x: tensor<?x?x64xf32>, %c: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %xs = arith.mulf %x, %c : tensor<?x?x64xf32>
  %s = convc.prefix_sum %xs : tensor<?x?x64xf32>
  return %s : tensor<?x?x64xf32>
}
