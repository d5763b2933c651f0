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

// sin and cos keep their exact argument reduction (libm), which upstream's
// f32 polynomials lack (wrong from |x| ~ 1e3, 0 past 2^31); atan stays for
// libm too (upstream's polynomial is off by 4e-6).
// CHECK-LABEL: func.func @trigonometry
// CHECK: math.sin %{{.*}} : vector<8xf32>
// CHECK: math.cos %{{.*}} : vector<8xf32>
// CHECK: math.atan %{{.*}} : vector<8xf32>
func.func @trigonometry(%x: vector<8xf32>) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>) {
  %s = math.sin %x : vector<8xf32>
  %c = math.cos %x : vector<8xf32>
  %a = math.atan %x : vector<8xf32>
  return %s, %c, %a : vector<8xf32>, vector<8xf32>, vector<8xf32>
}

// A subnormal input is scaled into the normal range before the log
// polynomial (which clamps to FLT_MIN), and the scale's log subtracted.
// CHECK-LABEL: func.func @subnormal_log
// CHECK: %[[TINY:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: arith.select %[[TINY]]
// CHECK-NOT: math.log
// CHECK: arith.subf
// CHECK: return
func.func @subnormal_log(%x: vector<8xf32>) -> vector<8xf32> {
  %l = math.log %x : vector<8xf32>
  return %l : vector<8xf32>
}
