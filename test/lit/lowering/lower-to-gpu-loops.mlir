// RUN: convc-opt %s -convc-lower-to-gpu-loops -canonicalize -cse -split-input-file -verify-diagnostics | FileCheck %s

// TaLK in one pass: one work item per (batch, 32-step time tile, channel),
// channels innermost. It sums its tile and the halos (Lmax + 1 = 6 rows
// before, Rmax = 3 after, one more read with weight 0) into a private
// 42-entry prefix buffer, relative to the tile, then reads both window
// edges from it. f16 storage: loads widen to f32, the store narrows.
// CHECK-LABEL: func.func @talk
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf16>
// CHECK: %[[TILES:.*]] = arith.ceildivsi %{{.*}}, %c32
// CHECK: scf.parallel (%[[B:.*]], %[[TILE:.*]], %[[C:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %[[TILES]], %c64)
// CHECK: %[[P:.*]] = memref.alloca() {alignment = 16 : i64} : memref<42xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c42
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: scf.for %[[T:.*]] =
// CHECK: arith.maxnumf
// CHECK: math.floor
// CHECK: memref.load %[[P]]
// CHECK: memref.load %[[P]]
// CHECK: math.floor
// CHECK: %[[OUT:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[OUT]], %[[Y]][%[[B]], %[[T]], %[[C]]]
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @talk(%x: tensor<?x?x64xf16>, %o: tensor<?x?x8xf16>) -> tensor<?x?x64xf16> {
  %y = convc.talk_conv %x, %o {left_max = 5 : i64, right_max = 3 : i64} : tensor<?x?x64xf16>, tensor<?x?x8xf16>
  return %y : tensor<?x?x64xf16>
}

// -----

// LightweightConv: the softmax of the [H, K] taps once (a work item per
// head), then a work item per output element, channels innermost, reading
// its head's taps.
// CHECK-LABEL: func.func @light
// CHECK: %[[TAPS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x3xf32>
// CHECK: scf.parallel (%[[H:.*]]) = (%c0) to (%c4)
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[TAPS]][%[[H]], %{{.*}}]
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]], %[[C:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %{{.*}}, %c16)
// CHECK: %[[HEAD:.*]] = arith.floordivsi %[[C]], %c4
// CHECK: memref.load %[[TAPS]][%[[HEAD]], %{{.*}}]
func.func @light(%x: tensor<?x?x16xf32>, %w: tensor<4x3xf32>) -> tensor<?x?x16xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x16xf32>, tensor<4x3xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// A projection transposes its weights once so that the work items of a
// warp (consecutive n) read consecutive addresses; GLU computes both halves
// in the same work item.
// CHECK-LABEL: func.func @glu_projection
// CHECK: %[[WT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x6xf32>
// CHECK: scf.parallel (%[[K:.*]], %[[N:.*]]) = (%c0, %c0) to (%c8, %c6)
// CHECK: memref.store %{{.*}}, %[[WT]][%[[K]], %[[N]]]
// CHECK: scf.parallel (%[[M:.*]], %[[COL:.*]]) = (%c0, %c0) to (%{{.*}}, %c3)
// CHECK: memref.load %[[WT]]
// CHECK: memref.load %[[WT]]
// CHECK: math.exp
func.func @glu_projection(%x: tensor<?x8xf32>, %w: tensor<6x8xf32>) -> tensor<?x3xf32> {
  %y = convc.linear %x, %w {activation = #convc<activation glu>} : tensor<?x8xf32>, tensor<6x8xf32> -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

func.func @step(%x: tensor<?x1x16xf32>, %s: tensor<?x2x16xf32>, %w: tensor<4x3xf32>) -> (tensor<?x1x16xf32>, tensor<?x2x16xf32>) {
  // expected-error @+1 {{no GPU lowering for this op yet}}
  %y, %n = convc.conv_window_step %x, %s, %w {kind = "lightweight", heads = 4 : i64} : tensor<?x1x16xf32>, tensor<?x2x16xf32>, tensor<4x3xf32>
  return %y, %n : tensor<?x1x16xf32>, tensor<?x2x16xf32>
}
