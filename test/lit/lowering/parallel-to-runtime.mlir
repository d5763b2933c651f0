// RUN: convc-opt %s -convc-parallel-to-runtime -split-input-file | FileCheck %s

// A 2-D loop: the caller packs what the body captures (the memref as its
// LLVM descriptor, the scalar, the inner count) and hands the linearised
// iteration count to the runtime; constants are cloned, not captured.
// CHECK: func.func private @convc_parallel_for((!llvm.ptr, index, index) -> (), !llvm.ptr, index)
// CHECK-LABEL: func.func @scale
// CHECK: %[[CTX:.*]] = llvm.alloca {{.*}} x !llvm.struct<(struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, f32, i64, i64)>
// CHECK: %[[SPAN0:.*]] = arith.maxsi
// CHECK: %[[N0:.*]] = arith.ceildivsi %[[SPAN0]], %c1
// CHECK: %[[SPAN1:.*]] = arith.maxsi
// CHECK: %[[N1:.*]] = arith.ceildivsi %[[SPAN1]], %c2
// CHECK: %[[TOTAL:.*]] = arith.muli %[[N0]], %[[N1]]
// CHECK: builtin.unrealized_conversion_cast %arg0 : memref<?x?xf32> to !llvm.struct
// CHECK: llvm.store {{.*}}, %[[CTX]]
// CHECK: %[[BODY:.*]] = constant @scale_parallel : (!llvm.ptr, index, index) -> ()
// CHECK: call @convc_parallel_for(%[[BODY]], %[[CTX]], %[[TOTAL]])
// CHECK-NOT: scf.parallel
// CHECK: return

// The body runs items [begin, end): the inner index varies fastest; the
// nested parallel loop stays, to run sequentially inside its item; the
// item's fixed-size stack buffer is allocated once, at the body's entry.
// CHECK-LABEL: func.func private @scale_parallel(%arg0: !llvm.ptr, %arg1: index, %arg2: index)
// CHECK-NEXT: %[[SCRATCH:.*]] = memref.alloca() : memref<4xf32>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[PACK:.*]] = llvm.load %arg0
// CHECK: %[[DESC:.*]] = llvm.extractvalue %[[PACK]][0]
// CHECK: %[[A:.*]] = builtin.unrealized_conversion_cast %[[DESC]] {{.*}} to memref<?x?xf32>
// CHECK: %[[S:.*]] = llvm.extractvalue %[[PACK]][1]
// CHECK: llvm.extractvalue %[[PACK]][2]
// CHECK: %[[N1I:.*]] = llvm.extractvalue %[[PACK]][3]
// CHECK: %[[N1:.*]] = arith.index_cast %[[N1I]] : i64 to index
// CHECK: scf.for %[[K:.*]] = %arg1 to %arg2
// CHECK: %[[R:.*]] = arith.remui %[[K]], %[[N1]]
// CHECK: %[[Q:.*]] = arith.divui %[[K]], %[[N1]]
// CHECK: %[[JS:.*]] = arith.muli %[[R]], %[[C2]]
// CHECK: %[[J:.*]] = arith.addi %[[JS]], %[[C1]]
// CHECK: %[[I:.*]] = arith.addi
// CHECK: memref.load %[[A]][%[[I]], %[[J]]]
// CHECK: arith.mulf {{.*}}, %[[S]]
// CHECK: memref.store {{.*}}, %[[SCRATCH]]
// CHECK: scf.parallel
// CHECK: return
func.func @scale(%a: memref<?x?xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c1) to (%n, %m) step (%c1, %c2) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    %w = arith.mulf %v, %s : f32
    memref.store %w, %a[%i, %j] : memref<?x?xf32>
    %scratch = memref.alloca() : memref<4xf32>
    memref.store %w, %scratch[%c0] : memref<4xf32>
    scf.parallel (%k) = (%c0) to (%m) step (%c1) {
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Two loops in one function get bodies of their own; a loop with a
// reduction is left alone (it lowers to a sequential loop).
// CHECK-LABEL: func.func @two
// CHECK: call @convc_parallel_for
// CHECK: call @convc_parallel_for
// CHECK: scf.parallel
// CHECK: scf.reduce(
// CHECK-DAG: func.func private @two_parallel(
// CHECK-DAG: func.func private @two_parallel_0(
func.func @two(%a: memref<?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%f) -> f32 {
    %v = memref.load %a[%i] : memref<?xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %r = arith.addf %x, %y : f32
      scf.reduce.return %r : f32
    }
  }
  return %sum : f32
}
