// RUN: convc-opt %s -canonicalize | FileCheck %s

// kernel_softmax of a constant folds to a constant.
// CHECK-LABEL: func.func @softmax_constant
// CHECK-NOT: convc.kernel_softmax
// CHECK: arith.constant dense<{{\[}}[2.500000e-01, 0.75000{{[0-9]+}}]]> : tensor<1x2xf32>
func.func @softmax_constant() -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.0, 1.0986122886681098]]> : tensor<1x2xf32>
  %s = convc.kernel_softmax %w : tensor<1x2xf32>
  return %s : tensor<1x2xf32>
}

// Unused convc ops are pure and disappear.
// CHECK-LABEL: func.func @dead
// CHECK-NEXT: return
func.func @dead(%x: tensor<?x?x8xf32>, %o: tensor<?x?x4xf32>) {
  %0 = convc.glu %x : tensor<?x?x8xf32>
  %1 = convc.talk_conv %x, %o {left_max = 1 : i64, right_max = 1 : i64} : tensor<?x?x8xf32>, tensor<?x?x4xf32>
  return
}

// TaLK with Lmax = Rmax = 0 sums the window [t, t] and divides by Kn = 1.
// CHECK-LABEL: func.func @talk_identity
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>,
// CHECK-NEXT: return %[[X]]
func.func @talk_identity(%x: tensor<?x?x8xf32>, %o: tensor<?x?x4xf32>) -> tensor<?x?x8xf32> {
  %0 = convc.talk_conv %x, %o {left_max = 0 : i64, right_max = 0 : i64} : tensor<?x?x8xf32>, tensor<?x?x4xf32>
  return %0 : tensor<?x?x8xf32>
}

// A softmaxed one-tap LightConv is the identity; with a bias, or without the
// softmax, it is not.
// CHECK-LABEL: func.func @light_identity
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x8xf32>
// CHECK: %[[B:.*]] = convc.lightweight_conv %[[X]], %{{.*}}, %{{.*}} {heads = 2 : i64, padding = 0 : i64}
// CHECK: %[[N:.*]] = convc.lightweight_conv %[[X]], %{{.*}} {heads = 2 : i64, padding = 0 : i64, weight_softmax = false}
// CHECK: return %[[X]], %[[B]], %[[N]]
func.func @light_identity(%x: tensor<?x?x8xf32>, %w: tensor<2x1xf32>, %b: tensor<8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %0 = convc.lightweight_conv %x, %w {heads = 2 : i64, padding = 0 : i64} : tensor<?x?x8xf32>, tensor<2x1xf32>
  %1 = convc.lightweight_conv %x, %w, %b {heads = 2 : i64, padding = 0 : i64} : tensor<?x?x8xf32>, tensor<2x1xf32>, tensor<8xf32>
  %2 = convc.lightweight_conv %x, %w {heads = 2 : i64, padding = 0 : i64, weight_softmax = false} : tensor<?x?x8xf32>, tensor<2x1xf32>
  return %0, %1, %2 : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
}
