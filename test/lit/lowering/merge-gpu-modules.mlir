// RUN: convc-opt %s -convc-merge-gpu-modules | FileCheck %s

// Outlining made one module per kernel, each kernel named after the
// function, and copied the global both kernels read into both modules. The
// kernels move into one module under their modules' (unique) names, the
// global is kept once, and the launches are retargeted.
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func @convc_kernels::@main_kernel
// CHECK: gpu.launch_func @convc_kernels::@main_kernel_0
// CHECK: gpu.module @convc_kernels
// CHECK-COUNT-1: memref.global "private" constant @w
// CHECK-DAG: gpu.func @main_kernel(
// CHECK-DAG: gpu.func @main_kernel_0(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  memref.global "private" constant @w : memref<4xf32> = dense<1.0>
  func.func @main(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @main_kernel {
    memref.global "private" constant @w : memref<4xf32> = dense<1.0>
    gpu.func @main_kernel(%a: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %w = memref.get_global @w : memref<4xf32>
      %v = memref.load %w[%c0] : memref<4xf32>
      memref.store %v, %a[%c0] : memref<4xf32>
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    memref.global "private" constant @w : memref<4xf32> = dense<1.0>
    gpu.func @main_kernel(%a: memref<4xf32>) kernel {
      %c1 = arith.constant 1 : index
      %w = memref.get_global @w : memref<4xf32>
      %v = memref.load %w[%c1] : memref<4xf32>
      memref.store %v, %a[%c1] : memref<4xf32>
      gpu.return
    }
  }
}
