// RUN: convc-opt %s -convc-lower-to-gpu-loops -canonicalize -cse -split-input-file -verify-diagnostics | FileCheck %s

// TaLK in one pass, block-structured: a block of 256 threads per (batch,
// 128-step time tile, 32-channel tile). Phase 1 stages the tile and halos
// (Lmax + 1 = 6 rows before, Rmax + 1 = 4 after: 138 rows), scaled by 1/Kn,
// in shared memory; phase 2 prefix-sums each column in 8 segments of 18
// rows; phase 3 reads each output's window. f16 storage: loads widen to
// f32, the store narrows.
// CHECK-LABEL: func.func @talk
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf16>
// CHECK: %[[TILES:.*]] = arith.ceildivsi %{{.*}}, %c128
// CHECK: scf.parallel (%[[B:.*]], %[[TILE:.*]], %[[CT:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %[[TILES]], %c2)
// CHECK: %[[S:.*]] = memref.alloca() {convc.gpu_shared} : memref<138x32xf32>
// Staging: each thread loads 5 rounds (138 rows of 8 vectors), all its
// loads before its stores; vectors of 4 where the buffer is aligned (tested
// at run time), scalars otherwise.
// CHECK: %[[PTR:.*]] = memref.extract_aligned_pointer_as_index
// CHECK: %[[REM:.*]] = arith.remui %[[PTR]], %c8
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[REM]], %c0
// CHECK: scf.if %[[ALIGNED]] {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK-COUNT-5: vector.load %{{.*}} {alignment = 8 : i64} : memref<?x?x64xf16>, vector<4xf16>
// CHECK-NOT: vector.load
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: } else {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: scf.for
// CHECK: memref.load %[[S]]
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c4096)
// CHECK: scf.if
// CHECK: arith.maxnumf
// CHECK: math.floor
// CHECK: memref.load %[[S]]
// CHECK: %[[OUT:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[OUT]], %[[Y]][%[[B]],
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @talk(%x: tensor<?x?x64xf16>, %o: tensor<?x?x8xf16>) -> tensor<?x?x64xf16> {
  %y = convc.talk_conv %x, %o {left_max = 5 : i64, right_max = 3 : i64} : tensor<?x?x64xf16>, tensor<?x?x8xf16>
  return %y : tensor<?x?x64xf16>
}

// -----

// LightweightConv: the softmax of the [H, K] taps once (a work item per
// head), then a block per (batch, time tile, channel tile) that stages the
// tile and its K - 1 halo rows in shared memory. Each of the 512 items
// (128 steps / 8 x 32 channels) loads its head's 3 taps and the 8 + 2 tile
// rows its 8 outputs read, once each, tap by tap, and stores the 8 outputs:
// unguarded where all 8 steps are inside the sequence.
// CHECK-LABEL: func.func @light
// CHECK: %[[TAPS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x3xf32>
// CHECK: scf.parallel (%[[H:.*]]) = (%c0) to (%c4)
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[TAPS]][%[[H]], %{{.*}}]
// CHECK: %[[TILE:.*]] = memref.alloca() {convc.gpu_shared} : memref<130x32xf32>
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c512)
// CHECK: %[[HEAD:.*]] = arith.floordivsi %{{.*}}, %c4
// CHECK: memref.load %[[TAPS]][%[[HEAD]], %c0]
// CHECK-COUNT-12: memref.load
// CHECK-NOT: memref.load
// CHECK: scf.if
// CHECK-COUNT-8: memref.store
// CHECK: } else {
// CHECK-COUNT-8: memref.store
// CHECK: } {convc.gpu_threads = 256 : i64}
func.func @light(%x: tensor<?x?x16xf32>, %w: tensor<4x3xf32>) -> tensor<?x?x16xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x16xf32>, tensor<4x3xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// A projection is a shared-memory GEMM: a block per 64-row tile of
// outputs (GLU: 32 columns of each half). Per 32-deep slab of D the
// threads stage inputs and weights in padded shared tiles, then each adds
// the slab to its 4 x 4 register tile (4 input and 4 weight loads for 16
// FMAs), which a shared accumulator keeps across phases. The epilogue
// reads the accumulator along columns.
// CHECK-LABEL: func.func @glu_projection
// CHECK: %[[TILES:.*]] = arith.ceildivsi %{{.*}}, %c64
// Too few tiles for the GPU (264 blocks): D's 2 slabs split, the splits'
// raw sums go to a [splits, M, 6] buffer (one element unsplit).
// CHECK: %[[SOME:.*]] = arith.maxsi %[[TILES]], %c1
// CHECK: %[[WANT:.*]] = arith.ceildivsi %c264, %[[SOME]]
// CHECK: %[[PER:.*]] = arith.ceildivsi %c2,
// CHECK: %[[SPLITS:.*]] = arith.ceildivsi %c2, %[[PER]]
// CHECK: %[[SPLIT:.*]] = arith.cmpi sgt, %[[SPLITS]], %c1
// CHECK: %[[PARTIAL:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x6xf32>
// CHECK: scf.parallel (%{{.*}}, %[[S:.*]]) = (%c0, %c0) to (%[[TILES]], %[[SPLITS]])
// The split's slabs: from S x (slabs per split) x 32, to at most D = 40.
// CHECK: %[[KEND:.*]] = arith.minsi %{{.*}}, %c40
// CHECK-DAG: %[[XS:.*]] = memref.alloca() {convc.gpu_shared} : memref<32x65xf32>
// CHECK-DAG: %[[WS:.*]] = memref.alloca() {convc.gpu_shared} : memref<64x33xf32>
// CHECK-DAG: %[[ACC:.*]] = memref.alloca() {convc.gpu_shared} : memref<64x80xf32>
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c4096) step (%c1) {
// CHECK: memref.store %cst{{.*}}, %[[ACC]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[KEND]] step %c32 {
// Staging, when x and w are 16-byte aligned: each thread loads 2 vectors
// of x and 2 of w (64 rows of 8 vectors each), then stores them; 8 + 8
// scalars otherwise.
// CHECK: scf.if
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK-COUNT-4: vector.load
// CHECK-NOT: vector.load
// CHECK: memref.store %{{.*}}, %[[XS]]
// CHECK: memref.store %{{.*}}, %[[WS]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: } else {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK-COUNT-16: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: memref.store %{{.*}}, %[[XS]]
// CHECK: memref.store %{{.*}}, %[[WS]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: }
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK-COUNT-16: memref.load %[[ACC]]
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-4: memref.load %[[XS]]
// CHECK-COUNT-4: memref.load %[[WS]]
// CHECK-COUNT-16: math.fma
// CHECK-COUNT-16: memref.store %{{.*}}, %[[ACC]]
// CHECK: } {convc.gpu_threads = 256 : i64}
// CHECK: }
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c2048) step (%c1) {
// CHECK: scf.if
// CHECK: scf.if %[[SPLIT]] {
// CHECK: memref.load %[[ACC]]
// CHECK: memref.store %{{.*}}, %[[PARTIAL]][%[[S]],
// CHECK: } else {
// CHECK: memref.load %[[ACC]]
// CHECK: math.exp
// CHECK: } {convc.gpu_threads = 256 : i64}
// The sum of the splits, in order, then the epilogue.
// CHECK: scf.parallel
// CHECK: scf.if %[[SPLIT]] {
// CHECK: scf.for %{{.*}} = %c0 to %[[SPLITS]]
// CHECK: memref.load %[[PARTIAL]]
// CHECK: math.exp
func.func @glu_projection(%x: tensor<?x40xf32>, %w: tensor<6x40xf32>) -> tensor<?x3xf32> {
  %y = convc.linear %x, %w {activation = #convc<activation glu>} : tensor<?x40xf32>, tensor<6x40xf32> -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// A decoding step: a work item per (batch row, channel) reads the window
// (state ++ x) with its head's taps and shifts the state.
// CHECK-LABEL: func.func @step
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c4)
// CHECK: math.exp
// CHECK: scf.parallel (%[[B:.*]], %[[C:.*]]) = (%c0, %c0) to (%{{.*}}, %c16)
// CHECK: arith.floordivsi %[[C]], %c4
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[B]], %{{.*}}, %[[C]]] : memref<?x2x16xf32>
func.func @step(%x: tensor<?x1x16xf32>, %s: tensor<?x2x16xf32>, %w: tensor<4x3xf32>) -> (tensor<?x1x16xf32>, tensor<?x2x16xf32>) {
  %y, %n = convc.conv_window_step %x, %s, %w {kind = "lightweight", heads = 4 : i64} : tensor<?x1x16xf32>, tensor<?x2x16xf32>, tensor<4x3xf32>
  return %y, %n : tensor<?x1x16xf32>, tensor<?x2x16xf32>
}

// -----

// DynamicConv: the kernel projection is the GEMM (into z [B T, H K]), then
// a block per (batch, 64-step tile, 32-channel tile) stages the input tile
// with its K - 1 halo rows, normalises each step's K logits of the head
// its channels reach once into shared taps, and sums taps x staged rows.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[Z:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x10xf32>
// CHECK: memref.alloca() {convc.gpu_shared} : memref<64x80xf32>
// CHECK: %[[TILE:.*]] = memref.alloca() {convc.gpu_shared} : memref<68x32xf32>
// CHECK: %[[TAPS:.*]] = memref.alloca() {convc.gpu_shared} : memref<64x5xf32>
// CHECK: scf.if
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK-COUNT-3: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x?x64xf32>, vector<4xf32>
// CHECK: memref.store %{{.*}}, %[[TILE]]
// CHECK: } else {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: memref.store %{{.*}}, %[[TILE]]
// CHECK: scf.parallel (%[[ROW:.*]]) = (%c0) to (%c64)
// CHECK: memref.load %[[Z]]
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[TAPS]][%[[ROW]], %{{.*}}]
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c2048)
// CHECK: memref.load %[[TILE]]
// CHECK: memref.load %[[TAPS]]
// CHECK-NOT: math.exp
// CHECK: } {convc.gpu_threads = 256 : i64}
func.func @dynamic(%x: tensor<?x?x64xf32>, %w: tensor<10x64xf32>) -> tensor<?x?x64xf32> {
  %y = convc.dynamic_conv %x, %w {heads = 2 : i64, kernel_size = 5 : i64, padding = 4 : i64} : tensor<?x?x64xf32>, tensor<10x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// LayerNorm: a block per 8 rows, a warp (32 lanes) per row. The lanes' sums
// go to shared memory and a tree of 4 phases (16, 8, 4, 2 items per row)
// leaves two per row; the variance around the mean uses a second buffer,
// as the sums are still read; then the normalised rows.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %{{.*}}, %c8
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%[[BLOCKS]])
// CHECK: %[[SUMS:.*]] = memref.alloca() {convc.gpu_shared} : memref<8x32xf32>
// CHECK: %[[SQUARES:.*]] = memref.alloca() {convc.gpu_shared} : memref<8x32xf32>
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: memref.store %{{.*}}, %[[SUMS]]
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c128)
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c64)
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c32)
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c16)
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: memref.load %[[SUMS]]
// CHECK: memref.store %{{.*}}, %[[SQUARES]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[SQUARES]]
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK: math.rsqrt
// CHECK: } {convc.gpu_threads = 256 : i64}
func.func @layer_norm(%x: tensor<?x?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y = convc.layer_norm %x, %g, %b : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}
