// RUN: convc-opt %s -split-input-file -pass-pipeline='builtin.module(convc-lower-to-loops{vector-width=8 time-tile=64 use-blas=false})' | FileCheck %s

// LightweightConv: per-channel taps prepared once, then batch x time tiles in
// parallel, channels in vector<8xf32> registers, one FMA per tap; the
// channel remainder (20 = 2 x 8 + 4) is masked.
// CHECK-LABEL: func.func @lightweight
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<3x20xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[TILE:.*]]) =
// CHECK:   scf.for %[[T:.*]] =
// CHECK:     scf.for %[[C:.*]] = %c0 to %c16 step %c8
// CHECK:       scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<8xf32>)
// CHECK:         vector.load {{.*}} : memref<?x?x20xf32>, vector<8xf32>
// CHECK:         vector.load {{.*}} : memref<3x20xf32>, vector<8xf32>
// CHECK:         vector.fma {{.*}} : vector<8xf32>
// CHECK:       vector.store {{.*}} : memref<?x?x20xf32>, vector<8xf32>
// CHECK:     vector.create_mask %c4 : vector<8xi1>
// CHECK:     vector.maskedload
// CHECK:     vector.maskedstore
// CHECK: bufferization.to_tensor {{.*}} restrict writable
func.func @lightweight(%x: tensor<?x?x20xf32>, %w: tensor<4x3xf32>) -> tensor<?x?x20xf32> {
  %0 = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x20xf32>, tensor<4x3xf32>
  return %0 : tensor<?x?x20xf32>
}

// -----

// DynamicConv: the kernel projection is a contraction over channels; the
// conv normalises each position's kernels in a stack buffer (fused softmax:
// exp in vector registers) and never writes them back to memory.
// CHECK-LABEL: func.func @dynamic
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: tensor.expand_shape {{.*}} : tensor<?x?x32xf32> into tensor<?x?x4x8xf32>
// CHECK: scf.parallel
// CHECK:   memref.alloca() {alignment = 64 : i64} : memref<32xf32>
// CHECK:   math.exp {{.*}} : vector<8xf32>
// CHECK:   vector.broadcast {{.*}} : f32 to vector<8xf32>
// CHECK:   vector.fma {{.*}} : vector<8xf32>
// CHECK-NOT: convc.
func.func @dynamic(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x?x64xf32> {
  %0 = convc.dynamic_conv %x, %w {heads = 4 : i64, kernel_size = 8 : i64, padding = 7 : i64} : tensor<?x?x64xf32>, tensor<32x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Static batch and time (what ONNX models carry): the kernel view stays static.
// CHECK-LABEL: func.func @dynamic_static
// CHECK: tensor.expand_shape {{.*}} output_shape [2, 13, 4, 8] : tensor<2x13x32xf32> into tensor<2x13x4x8xf32>
func.func @dynamic_static(%x: tensor<2x13x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x13x64xf32> {
  %0 = convc.dynamic_conv %x, %w {heads = 4 : i64, kernel_size = 8 : i64, padding = 7 : i64} : tensor<2x13x64xf32>, tensor<32x64xf32>
  return %0 : tensor<2x13x64xf32>
}

// -----

// TaLK: one streaming kernel per time tile. The tile-local prefix sum lives
// in a stack buffer of (tile + Lmax + Rmax + 2) rows x one head's channels
// (2 vectors here), in f64; nothing
// full-length is allocated besides the output.
// CHECK-LABEL: func.func @talk
// CHECK: %[[Y:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK-NOT: memref.alloc(
// CHECK: scf.parallel
// CHECK:   memref.alloca() {alignment = 64 : i64} : memref<71x16xf64>
// CHECK:   arith.extf {{.*}} : vector<8xf32> to vector<8xf64>
// CHECK:   vector.fma {{.*}} : vector<8xf64>
// CHECK:   math.floor {{.*}} : f64
// CHECK:   arith.truncf {{.*}} : vector<8xf64> to vector<8xf32>
func.func @talk(%x: tensor<?x?x64xf32>, %o: tensor<?x?x8xf32>) -> tensor<?x?x64xf32> {
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x8xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Heads of R = 12 channels: the vector width drops to 4 so that no vector
// straddles two heads.
// CHECK-LABEL: func.func @talk_narrow_heads
// CHECK: vector.load {{.*}} vector<4xf32>
func.func @talk_narrow_heads(%x: tensor<?x?x24xf32>, %o: tensor<?x?x2xf32>) -> tensor<?x?x24xf32> {
  %0 = convc.talk_conv %x, %o {causal, left_max = 3 : i64, right_max = 0 : i64} : tensor<?x?x24xf32>, tensor<?x?x2xf32>
  return %0 : tensor<?x?x24xf32>
}

// -----

// GLU: rows in parallel, a * sigmoid(b) on vectors.
// CHECK-LABEL: func.func @glu
// CHECK: memref.collapse_shape
// CHECK: scf.parallel
// CHECK:   math.exp {{.*}} : vector<8xf32>
// CHECK:   arith.divf {{.*}} : vector<8xf32>
func.func @glu(%x: tensor<?x?x32xf32>) -> tensor<?x?x16xf32> {
  %0 = convc.glu %x : tensor<?x?x32xf32>
  return %0 : tensor<?x?x16xf32>
}

// -----

// With BLAS (the default), the DynamicConv projection is one single-threaded
// cblas_sgemm per tile of 256 rows, tiles in parallel, with the logit bias
// written first and accumulated (beta = 1).
// RUN: convc-opt %s -split-input-file -pass-pipeline='builtin.module(convc-lower-to-loops{vector-width=8})' | FileCheck %s --check-prefix=BLAS
// BLAS: func.func private @cblas_sgemm(i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32)
// BLAS-LABEL: func.func @dynamic_blas
// BLAS: memref.collapse_shape {{.*}} : memref<?x?x64xf32> into memref<?x64xf32>
// BLAS: scf.parallel
// BLAS:   vector.store
// BLAS:   func.call @cblas_sgemm(%{{.*}}) : (i32, i32, i32, i32, i32, i32, f32, !llvm.ptr, i32, !llvm.ptr, i32, f32, !llvm.ptr, i32) -> ()
// BLAS: bufferization.to_tensor {{.*}} : memref<?x?x32xf32> to tensor<?x?x32xf32>
// BLAS: math.exp {{.*}} : vector<8xf32>
func.func @dynamic_blas(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<?x?x64xf32> {
  %0 = convc.dynamic_conv %x, %w, %b {heads = 4 : i64, kernel_size = 8 : i64, padding = 7 : i64} : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>
  return %0 : tensor<?x?x64xf32>
}
