// RUN: convc-opt %s -convc-gpu-host-buffers | FileCheck %s

// The entry point keeps the CPU target's ABI: the argument passes through
// the runtime's input hook (the caller's device buffer, or a device copy of
// a host one), temporaries and the result are device buffers, the result
// passes through the output hook (to the caller on the device, or copied to
// a host buffer) and then the release hook, and every other device buffer
// the call made is freed before it returns. Buffers reach the hooks as one
// run of elements (1-D, for the C interface) and come back in their shape.
// The constant global (weights) comes from the runtime's upload cache; the
// mutable one gets a device copy per call.
// CHECK-DAG: func.func private @convc_cuda_release_f32(memref<?xf32>, index) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @convc_cuda_output_f32(memref<?xf32>, index) -> memref<?xf32> attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @convc_cuda_input_f32(memref<?xf32>, index) -> memref<?xf32> attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @convc_cuda_constant_f32(memref<?xf32>, index) -> memref<?xf32> attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<?x4xf32>) -> memref<?x4xf32>
// CHECK: %[[N:.*]] = memref.dim %[[X]]
// CHECK: %[[COUNT:.*]] = arith.muli %{{.*}}, %[[N]]
// CHECK: %[[XFLAT:.*]] = memref.reinterpret_cast %[[X]] to offset: [0], sizes: [%[[COUNT]]], strides: [1] : memref<?x4xf32> to memref<?xf32>
// CHECK: %[[DXFLAT:.*]] = call @convc_cuda_input_f32(%[[XFLAT]], %c4{{.*}})
// CHECK: %[[DX:.*]] = memref.reinterpret_cast %[[DXFLAT]] to offset: [0], sizes: [%[[N]], 4], strides: [4, 1] : memref<?xf32> to memref<?x4xf32>
// CHECK: %[[W:.*]] = memref.get_global @w : memref<2x2xf32>
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %[[W]] to offset: [0], sizes: [4], strides: [1]
// CHECK: %[[DYN:.*]] = memref.cast %[[FLAT]] : memref<4xf32> to memref<?xf32>
// CHECK: %[[DW:.*]] = call @convc_cuda_constant_f32(%[[DYN]], %c4{{.*}})
// CHECK: %[[DW2:.*]] = memref.reinterpret_cast %[[DW]] to offset: [0], sizes: [2, 2], strides: [2, 1] : memref<?xf32> to memref<2x2xf32>
// CHECK: %[[S:.*]] = memref.get_global @s : memref<4xf32>
// CHECK: %[[DS:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK: gpu.memcpy  %[[DS]], %[[S]]
// CHECK: %[[DY:.*]] = gpu.alloc  (%{{.*}}) : memref<?x4xf32>
// CHECK: %[[DT:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK: gpu.memcpy  %[[DT]], %[[DS]]
// CHECK: gpu.launch
// CHECK: memref.load %[[DX]]
// CHECK: memref.load %[[DW2]]
// CHECK: memref.load %[[DT]]
// CHECK: memref.store %{{.*}}, %[[DY]]
// CHECK: gpu.dealloc  %[[DT]]
// CHECK: %[[YFLAT:.*]] = memref.reinterpret_cast %[[DY]] to offset: [0]
// CHECK: %[[HYFLAT:.*]] = call @convc_cuda_output_f32(%[[YFLAT]], %c4{{.*}})
// CHECK: %[[HY:.*]] = memref.reinterpret_cast %[[HYFLAT]] to offset: [0], sizes: [%{{.*}}, 4], strides: [4, 1]
// CHECK: %[[RFLAT:.*]] = memref.reinterpret_cast %[[DY]] to offset: [0]
// CHECK: call @convc_cuda_release_f32(%[[RFLAT]], %c4{{.*}})
// CHECK: gpu.dealloc  %[[DS]]
// CHECK-NOT: gpu.dealloc
// CHECK: return %[[HY]]
memref.global "private" constant @w : memref<2x2xf32> = dense<[[1.0, 2.0], [3.0, 4.0]]>
memref.global "private" @s : memref<4xf32> = dense<0.5>
func.func @main(%x: memref<?x4xf32>) -> memref<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %w = memref.get_global @w : memref<2x2xf32>
  %s = memref.get_global @s : memref<4xf32>
  %y = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4xf32>
  %t = memref.alloc() : memref<4xf32>
  memref.copy %s, %t : memref<4xf32> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x4xf32>
    %i = arith.remui %tx, %c2 : index
    %q = memref.load %w[%i, %i] : memref<2x2xf32>
    %u = memref.load %t[%tx] : memref<4xf32>
    %p = arith.mulf %v, %q : f32
    %r = arith.addf %p, %u : f32
    memref.store %r, %y[%bx, %tx] : memref<?x4xf32>
    gpu.terminator
  }
  memref.dealloc %t : memref<4xf32>
  return %y : memref<?x4xf32>
}

// A shape buffer marked by convc-parallel-to-gpu stays in host memory (the
// host reads it); the reshaped buffer is a device buffer.
// CHECK-LABEL: func.func @reshape_sizes
// CHECK: %[[DA:.*]] = memref.reinterpret_cast %{{.*}} : memref<?xf32> to memref<?x16xf32>
// CHECK: %[[SHAPE:.*]] = memref.alloc() {convc.gpu_host_buffer} : memref<2xi64>
// CHECK: memref.reshape %[[DA]](%[[SHAPE]])
// CHECK: memref.dealloc %[[SHAPE]]
// CHECK-NOT: gpu.dealloc
func.func @reshape_sizes(%a: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4_i64 = arith.constant 4 : i64
  %n = memref.dim %a, %c0 : memref<?x16xf32>
  %n64 = arith.index_cast %n : index to i64
  %rows = arith.muli %n64, %c4_i64 : i64
  %shape = memref.alloc() {convc.gpu_host_buffer} : memref<2xi64>
  memref.store %rows, %shape[%c0] : memref<2xi64>
  memref.store %c4_i64, %shape[%c1] : memref<2xi64>
  %r = memref.reshape %a(%shape) : (memref<?x16xf32>, memref<2xi64>) -> memref<?x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %r[%bx, %c0] : memref<?x4xf32>
    memref.store %v, %r[%bx, %c1] : memref<?x4xf32>
    gpu.terminator
  }
  memref.dealloc %shape : memref<2xi64>
  return
}
