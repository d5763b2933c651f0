// RUN: convc-opt %s -pass-pipeline='builtin.module(func.func(convc-vectorize-elementwise-loops))' -split-input-file | FileCheck %s

// An elementwise loop with a row broadcast ([j]) and a scalar ([]): each
// item handles 4 consecutive j, as vectors when the buffers read or written
// along j are 16-byte aligned with rows of whole vectors and the vector is
// whole; lane by lane otherwise. The scalar is loaded once and splat.
// CHECK-LABEL: func.func @add_bias
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[B:.*]]: memref<?xf32>, %[[S:.*]]: memref<f32>, %[[Y:.*]]: memref<?x?xf32>)
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c1
// CHECK: memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: arith.remui %{{.*}}, %c16
// CHECK: memref.dim %[[X]]
// CHECK: memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK-NOT: memref.extract_aligned_pointer_as_index %[[S]]
// CHECK: memref.dim %[[Y]]
// CHECK: %[[OK:.*]] = arith.andi
// CHECK: %[[VN:.*]] = arith.ceildivui %[[N]], %c4
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = ({{.*}}) to (%{{.*}}, %[[VN]])
// CHECK: %[[BASE:.*]] = arith.muli %[[J]], %c4
// CHECK: %[[END:.*]] = arith.addi %[[BASE]], %c4
// CHECK: %[[WHOLE:.*]] = arith.cmpi ule, %[[END]], %[[N]]
// CHECK: %[[FULL:.*]] = arith.andi %[[OK]], %[[WHOLE]]
// CHECK: scf.if %[[FULL]] {
// CHECK: vector.load %[[X]][%[[I]], %[[BASE]]] {alignment = 16 : i64} : memref<?x?xf32>, vector<4xf32>
// CHECK: vector.load %[[B]][%[[BASE]]] {alignment = 16 : i64}
// CHECK: %[[K:.*]] = memref.load %[[S]][]
// CHECK: vector.broadcast %[[K]]
// CHECK: arith.cmpf ogt, {{.*}} : vector<4xf32>
// CHECK: arith.select {{.*}} : vector<4xi1>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %[[Y]][%[[I]], %[[BASE]]] {alignment = 16 : i64}
// CHECK: } else {
// CHECK-COUNT-4: memref.store %{{.*}}, %[[Y]]
// CHECK-NOT: memref.store
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @add_bias(%x: memref<?x?xf32>, %b: memref<?xf32>, %s: memref<f32>, %y: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %x, %c0 : memref<?x?xf32>
  %n = memref.dim %x, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<?x?xf32>
    %c = memref.load %b[%j] : memref<?xf32>
    %k = memref.load %s[] : memref<f32>
    %two = arith.constant 2.0 : f32
    %t = arith.mulf %c, %two : f32
    %u = arith.addf %a, %t : f32
    %v = arith.mulf %u, %k : f32
    %p = arith.cmpf ogt, %v, %two : f32
    %w = arith.select %p, %v, %two : f32
    memref.store %w, %y[%i, %j] : memref<?x?xf32>
  }
  return
}

// -----

// Not elementwise along j: a transposed read, an induction variable used
// as a value, and i1 elements stay as they are.
// CHECK-LABEL: func.func @transpose
// CHECK-NOT: scf.if
// CHECK-NOT: vector.
// CHECK: return
func.func @transpose(%x: memref<?x?xf32>, %y: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %x, %c0 : memref<?x?xf32>
  %n = memref.dim %x, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    %a = memref.load %x[%j, %i] : memref<?x?xf32>
    memref.store %a, %y[%i, %j] : memref<?x?xf32>
  }
  return
}

// -----

// CHECK-LABEL: func.func @iota
// CHECK-NOT: scf.if
// CHECK: return
func.func @iota(%y: memref<?xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %y, %c0 : memref<?xi64>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = arith.index_cast %i : index to i64
    memref.store %v, %y[%i] : memref<?xi64>
  }
  return
}

// -----

// CHECK-LABEL: func.func @bool
// CHECK-NOT: scf.if
// CHECK: return
func.func @bool(%x: memref<?xi1>, %y: memref<?xi1>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %y, %c0 : memref<?xi1>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xi1>
    memref.store %v, %y[%i] : memref<?xi1>
  }
  return
}
