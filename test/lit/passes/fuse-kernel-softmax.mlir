// RUN: convc-opt %s -convc-fuse-kernel-softmax | FileCheck %s

// CHECK-LABEL: func.func @fuse
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[Z:.*]]: tensor<?x?x8x31xf32>)
// CHECK-NOT: convc.kernel_softmax
// CHECK: %[[Y:.*]] = convc.dynamic_kernel_conv %[[X]], %[[Z]] {kernel_softmax, padding = 30 : i64}
// CHECK: return %[[Y]]
func.func @fuse(%x: tensor<?x?x64xf32>, %z: tensor<?x?x8x31xf32>) -> tensor<?x?x64xf32> {
  %w = convc.kernel_softmax %z : tensor<?x?x8x31xf32>
  %y = convc.dynamic_kernel_conv %x, %w {padding = 30 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x31xf32>
  return %y : tensor<?x?x64xf32>
}

// When the normalised kernels have another user, that user keeps its
// softmax; the conv still normalises in registers.
// CHECK-LABEL: func.func @shared
// CHECK: %[[W:.*]] = convc.kernel_softmax %[[Z:.*]] :
// CHECK: convc.dynamic_kernel_conv %{{.*}}, %[[Z]] {kernel_softmax, padding = 2 : i64}
// CHECK: return %{{.*}}, %[[W]]
func.func @shared(%x: tensor<?x?x64xf32>, %z: tensor<?x?x8x3xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x8x3xf32>) {
  %w = convc.kernel_softmax %z : tensor<?x?x8x3xf32>
  %y = convc.dynamic_kernel_conv %x, %w {padding = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x3xf32>
  return %y, %w : tensor<?x?x64xf32>, tensor<?x?x8x3xf32>
}

// Kernels that are not softmax outputs are used as given.
// CHECK-LABEL: func.func @plain
// CHECK: convc.dynamic_kernel_conv %{{.*}}, %{{.*}} {padding = 1 : i64}
func.func @plain(%x: tensor<?x?x64xf32>, %w: tensor<?x?x8x3xf32>) -> tensor<?x?x64xf32> {
  %y = convc.dynamic_kernel_conv %x, %w {padding = 1 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x3xf32>
  return %y : tensor<?x?x64xf32>
}
