// RUN: convc-opt %s -convc-defer-result-sync | FileCheck %s

// gpu-async-region put a host wait before the result hooks; it moves after
// them (and the views and index arithmetic among them), so the kernels and
// the queued result copies are waited for once.
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func async
// CHECK-NOT: gpu.wait [
// CHECK: call @convc_cuda_output_f32
// CHECK: memref.reinterpret_cast
// CHECK: call @convc_cuda_release_f32
// CHECK-NEXT: gpu.wait [%{{.*}}]
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel() kernel { gpu.return }
  }
  func.func private @convc_cuda_output_f32(memref<?xf32>, index) -> memref<?xf32>
  func.func private @convc_cuda_release_f32(memref<?xf32>, index)
  func.func @main(%d: memref<?xf32>) -> memref<?xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.wait [%t1]
    %h = call @convc_cuda_output_f32(%d, %c4) : (memref<?xf32>, index) -> memref<?xf32>
    %n = memref.dim %d, %c0 : memref<?xf32>
    %v = memref.reinterpret_cast %d to offset: [0], sizes: [%n], strides: [1] : memref<?xf32> to memref<?xf32>
    call @convc_cuda_release_f32(%v, %c4) : (memref<?xf32>, index) -> ()
    return %h : memref<?xf32>
  }
}

// A host wait before anything else stays where it is.
// CHECK-LABEL: func.func @other
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NEXT: call @read
func.func private @read(memref<?xf32>)
func.func @other(%d: memref<?xf32>) {
  %t0 = gpu.wait async
  gpu.wait [%t0]
  call @read(%d) : (memref<?xf32>) -> ()
  return
}

// A host wait right before the stream-ordered GEMM goes: the matmul queues
// behind the kernels on the same stream.
// CHECK-LABEL: func.func @before_gemm
// CHECK: gpu.launch_func async
// CHECK-NOT: gpu.wait [
// CHECK: call @convc_cuda_gemm_lowp
module attributes {gpu.container_module} {
gpu.module @kernels {
  gpu.func @kernel() kernel { gpu.return }
}
func.func private @read(memref<?xf32>)
func.func private @convc_cuda_gemm_lowp(i32, i64, i64, i64, i64, i64, i64) -> i32
func.func @before_gemm(%a: i64) -> i32 {
  %c1 = arith.constant 1 : index
  %c1_i32 = arith.constant 1 : i32
  %t0 = gpu.wait async
  %t1 = gpu.launch_func async [%t0] @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
  gpu.wait [%t1]
  %s = call @convc_cuda_gemm_lowp(%c1_i32, %a, %a, %a, %a, %a, %a) : (i32, i64, i64, i64, i64, i64, i64) -> i32
  return %s : i32
}

// Unless what it waits for copies to the host (a check's flag): kept.
// CHECK-LABEL: func.func @copy_before_gemm
// CHECK: gpu.memcpy async
// CHECK: gpu.wait [
// CHECK-NEXT: call @convc_cuda_gemm_lowp
func.func @copy_before_gemm(%a: i64, %h: memref<4xf32>, %d: memref<4xf32>) -> i32 {
  %c1_i32 = arith.constant 1 : i32
  %t0 = gpu.wait async
  %t1 = gpu.memcpy async [%t0] %h, %d : memref<4xf32>, memref<4xf32>
  gpu.wait [%t1]
  %s = call @convc_cuda_gemm_lowp(%c1_i32, %a, %a, %a, %a, %a, %a) : (i32, i64, i64, i64, i64, i64, i64) -> i32
  return %s : i32
}

// The wait that ends an scf.if region around kernels stays (it may be the
// call's last, which its results need), as does one before a host op.
// CHECK-LABEL: func.func @region_end
// CHECK: scf.if
// CHECK: gpu.launch_func async
// CHECK-NEXT: gpu.wait [
// CHECK: }
// CHECK: gpu.wait [
// CHECK-NEXT: call @read
func.func @region_end(%c: i1, %d: memref<?xf32>) {
  %c1 = arith.constant 1 : index
  scf.if %c {
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.wait [%t1]
  }
  %t2 = gpu.wait async
  %t3 = gpu.launch_func async [%t2] @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
  gpu.wait [%t3]
  call @read(%d) : (memref<?xf32>) -> ()
  return
}
}
