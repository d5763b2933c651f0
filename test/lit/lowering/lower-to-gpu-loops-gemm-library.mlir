// RUN: convc-opt %s -convc-lower-to-gpu-loops=gemm-library=cuda -canonicalize -cse | FileCheck %s
// RUN: convc-opt %s -convc-lower-to-gpu-loops=gemm-library=host -canonicalize -cse | FileCheck %s --check-prefix=HOST
// RUN: convc-opt %s -convc-lower-to-gpu-loops -canonicalize -cse | FileCheck %s --check-prefix=NONE
// RUN: not convc-opt %s -convc-lower-to-gpu-loops=gemm-library=blas 2>&1 | FileCheck %s --check-prefix=BAD

// A bf16 projection asks the runtime for its product x W^T in f32 scratch
// (type 1: bf16; M, N = 96, K = 64; the three buffers' addresses); where it
// answers 0 a kernel applies bias, ReLU and residual, else the
// shared-memory GEMM runs.
// CHECK: func.func private @convc_cuda_gemm_lowp(i32, i64, i64, i64, i64, i64, i64) -> i32
// CHECK-LABEL: func.func @bf16_linear(
// CHECK: %[[Z:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x96xf32>
// CHECK: %[[X:.*]] = memref.extract_aligned_pointer_as_index %{{.*}} : memref<?x64xbf16>
// CHECK: %[[W:.*]] = memref.extract_aligned_pointer_as_index %{{.*}} : memref<96x64xbf16>
// CHECK: %[[ZP:.*]] = memref.extract_aligned_pointer_as_index %[[Z]]
// CHECK: %[[STATUS:.*]] = call @convc_cuda_gemm_lowp(%c1_i32, %{{.*}}, %c96_i64, %c64_i64,
// CHECK: %[[DONE:.*]] = arith.cmpi eq, %[[STATUS]], %c0_i32
// CHECK: scf.if %[[DONE]] {
// CHECK: scf.parallel
// CHECK: memref.load %[[Z]]
// CHECK: arith.maximumf
// CHECK: } else {
// CHECK: convc.gpu_shared
// An f32 projection keeps the shared-memory GEMM alone.
// CHECK-LABEL: func.func @f32_linear(
// CHECK-NOT: call @convc_cuda_gemm_lowp
// CHECK: convc.gpu_shared

// HOST: call @convc_host_gemm_lowp(
// NONE-NOT: gemm_lowp
// BAD: gemm-library must be none, cuda or host, got 'blas'

func.func @bf16_linear(%x: tensor<?x?x64xbf16>, %w: tensor<96x64xbf16>, %b: tensor<96xbf16>, %r: tensor<?x?x96xbf16>) -> tensor<?x?x96xbf16> {
  %y = convc.linear %x, %w bias %b residual %r {activation = #convc<activation relu>} : tensor<?x?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>, tensor<?x?x96xbf16> -> tensor<?x?x96xbf16>
  return %y : tensor<?x?x96xbf16>
}

func.func @f32_linear(%x: tensor<?x?x64xf32>, %w: tensor<96x64xf32>) -> tensor<?x?x96xf32> {
  %y = convc.linear %x, %w : tensor<?x?x64xf32>, tensor<96x64xf32> -> tensor<?x?x96xf32>
  return %y : tensor<?x?x96xf32>
}
