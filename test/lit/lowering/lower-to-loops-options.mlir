// RUN: not convc-opt %s -pass-pipeline='builtin.module(convc-lower-to-loops{vector-width=6})' 2>&1 | FileCheck %s
// CHECK: vector-width must be a power of two, got 6
func.func @glu(%x: tensor<?x?x16xf32>) -> tensor<?x?x8xf32> {
  %0 = convc.glu %x : tensor<?x?x16xf32>
  return %0 : tensor<?x?x8xf32>
}
