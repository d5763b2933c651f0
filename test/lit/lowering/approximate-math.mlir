// RUN: convc-opt %s -convc-approximate-math | FileCheck %s

// Vector exp and erf become polynomials in vector registers: no libm call
// per lane is left.
// CHECK-LABEL: func.func @vector_math
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: return
func.func @vector_math(%x: vector<8xf32>) -> (vector<8xf32>, vector<8xf32>) {
  %e = math.exp %x : vector<8xf32>
  %r = math.erf %x : vector<8xf32>
  return %e, %r : vector<8xf32>, vector<8xf32>
}
