// RUN: convc-opt %s -convc-gpu-host-buffers | FileCheck %s

// The entry point keeps its host ABI: the argument goes to a device copy,
// temporaries and the result are device buffers, the result comes back in a
// fresh host buffer, and every device buffer is freed before returning.
// The global the kernel reads moves into the kernel (outlining then puts
// it in device memory); the one the host copies from gets a device copy.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<?x4xf32>) -> memref<?x4xf32>
// CHECK: %[[N:.*]] = memref.dim %[[X]]
// CHECK: %[[DX:.*]] = gpu.alloc  (%[[N]]) : memref<?x4xf32>
// CHECK: gpu.memcpy  %[[DX]], %[[X]]
// CHECK: %[[G:.*]] = memref.get_global @w
// CHECK: %[[DG:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK: gpu.memcpy  %[[DG]], %[[G]]
// CHECK: %[[DY:.*]] = gpu.alloc  (%{{.*}}) : memref<?x4xf32>
// CHECK: %[[DT:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK: gpu.memcpy  %[[DT]], %[[DG]]
// CHECK: gpu.launch
// CHECK: %[[KG:.*]] = memref.get_global @w
// CHECK: memref.load %[[DX]]
// CHECK: memref.load %[[KG]]
// CHECK: memref.load %[[DT]]
// CHECK: memref.store %{{.*}}, %[[DY]]
// CHECK: gpu.dealloc  %[[DT]]
// CHECK: %[[HY:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64}
// CHECK: gpu.memcpy  %[[HY]], %[[DY]]
// CHECK-DAG: gpu.dealloc  %[[DY]]
// CHECK-DAG: gpu.dealloc  %[[DX]]
// CHECK-DAG: gpu.dealloc  %[[DG]]
// CHECK: return %[[HY]]
memref.global "private" constant @w : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @main(%x: memref<?x4xf32>) -> memref<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %w = memref.get_global @w : memref<4xf32>
  %y = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4xf32>
  %t = memref.alloc() : memref<4xf32>
  memref.copy %w, %t : memref<4xf32> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x4xf32>
    %s = memref.load %w[%tx] : memref<4xf32>
    %u = memref.load %t[%tx] : memref<4xf32>
    %p = arith.mulf %v, %s : f32
    %q = arith.addf %p, %u : f32
    memref.store %q, %y[%bx, %tx] : memref<?x4xf32>
    gpu.terminator
  }
  memref.dealloc %t : memref<4xf32>
  return %y : memref<?x4xf32>
}
