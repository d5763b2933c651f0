// RUN: convc-opt %s --convc-check-allocations | FileCheck %s

// An allocation in the function's body is checked not to be null, with
// its element count; one inside a loop is not.
// CHECK-LABEL: func.func @buffers
// CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: arith.muli
// CHECK: %[[COUNT:.*]] = arith.muli
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
