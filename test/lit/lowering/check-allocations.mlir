// RUN: convc-opt %s -split-input-file -verify-diagnostics --convc-check-allocations | FileCheck %s

// An allocation in the function's body is checked, before it, to stay under
// 2^47 bytes (8 x 4 bytes a row: at most 2^42 rows, the element count
// 8 * n not formed before the row count is known to fit), and after it not
// to be null, with its element count; one inside a loop is not.
// CHECK-LABEL: func.func @buffers
// CHECK-SAME: (%[[N:.*]]: index)
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[LIMIT:.*]] = arith.constant 35184372088832 : index
// CHECK: %[[ROOM:.*]] = arith.divui %[[LIMIT]], %{{.*}}
// CHECK-DAG: arith.cmpi ule, %[[N]], %[[LIMIT]]
// CHECK-DAG: arith.cmpi ule, %[[EIGHT]], %[[ROOM]]
// CHECK: %[[COUNT:.*]] = arith.muli %[[EIGHT]], %[[N]]
// CHECK: convc.check %{{.*}}, "a buffer of memref<?x8xf32> with sizes {0} would pass 2^47 bytes (sizes computed too large)"(%[[N]])
// CHECK: %[[A:.*]] = memref.alloc(%[[N]]) : memref<?x8xf32>
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: %[[OK:.*]] = arith.cmpi ne, %[[P]]
// CHECK: convc.check %[[OK]], "could not allocate a buffer of {0} elements (memref<?x8xf32>)"(%[[COUNT]])
// CHECK: scf.for
// CHECK: memref.alloc() : memref<4xf32>
// CHECK-NOT: convc.check
// CHECK: return
func.func @buffers(%n: index) -> memref<?x8xf32> {
  %a = memref.alloc(%n) : memref<?x8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = memref.alloc() : memref<4xf32>
    memref.dealloc %t : memref<4xf32>
  }
  return %a : memref<?x8xf32>
}

// -----

// Static sizes past 2^47 bytes fail to compile (their byte count wrapped).
func.func @too_large() -> memref<2x4611686018427387904xf32> {
  // expected-error @+1 {{a buffer of memref<2x4611686018427387904xf32> would pass 2^47 bytes}}
  %a = memref.alloc() : memref<2x4611686018427387904xf32>
  return %a : memref<2x4611686018427387904xf32>
}
