// RUN: convc-opt %s --convc-dense-results | FileCheck %s

// A view with dynamic strides returned through a cast to the identity
// layout is copied into a dense buffer.
// CHECK-LABEL: func.func @first_columns
// CHECK: %[[VIEW:.*]] = memref.subview
// CHECK: %[[DENSE:.*]] = memref.alloc
// CHECK: memref.copy %[[VIEW]], %[[DENSE]]
// CHECK-NOT: memref.cast
// CHECK: return %[[DENSE]]
func.func @first_columns(%a: memref<?x?xf32>, %n: index, %m: index) -> memref<?x?xf32> {
  %v = memref.subview %a[0, 0] [%n, %m] [1, 1] : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1]>>
  %c = memref.cast %v : memref<?x?xf32, strided<[?, 1]>> to memref<?x?xf32>
  return %c : memref<?x?xf32>
}

// A cast from a layout that is dense whatever the sizes stays.
// CHECK-LABEL: func.func @dense_view
// CHECK: memref.cast
// CHECK-NOT: memref.copy
func.func @dense_view(%a: memref<4x8xf32, strided<[8, 1]>>) -> memref<4x8xf32> {
  %c = memref.cast %a : memref<4x8xf32, strided<[8, 1]>> to memref<4x8xf32>
  return %c : memref<4x8xf32>
}
