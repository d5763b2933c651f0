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
