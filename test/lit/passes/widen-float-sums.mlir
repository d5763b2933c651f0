// RUN: convc-opt %s -convc-widen-float-sums | FileCheck %s

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A ReduceSum over a run-time axis: the zero fill (its constant folded) and
// the sum in f64, the term extended, one truncf after.
// CHECK-LABEL: func.func @sum_rows
// CHECK: %[[WIDE_ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[ACC:.*]] = linalg.fill ins(%[[WIDE_ZERO]] : f64) outs(%{{.*}} : tensor<?xf64>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x?xf32>) outs(%[[ACC]] : tensor<?xf64>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f64):
// CHECK:   %[[EXT:.*]] = arith.extf %[[IN]] : f32 to f64
// CHECK:   %[[ADD:.*]] = arith.addf %[[EXT]], %[[OUT]] : f64
// CHECK:   linalg.yield %[[ADD]] : f64
// CHECK: arith.truncf %[[SUM]] : tensor<?xf64> to tensor<?xf32>
func.func @sum_rows(%x: tensor<?x?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id2, #row],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %out, %in : f32
    linalg.yield %a : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// The term's computation (exp(x - m), a Softmax's denominator) is kept as
// it is; an init that is not a fill is extended element by element.
// CHECK-LABEL: func.func @sum_of_exp_into_values
// CHECK: %[[WIDE_INIT:.*]] = arith.extf %{{.*}} : tensor<4xf32> to tensor<4xf64>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4xf32>) outs(%[[WIDE_INIT]] : tensor<4xf64>)
// CHECK:   %[[D:.*]] = arith.subf
// CHECK:   %[[E:.*]] = math.exp %[[D]] : f32
// CHECK:   %[[EXT:.*]] = arith.extf %[[E]] : f32 to f64
// CHECK:   arith.addf %[[EXT]], %{{.*}} : f64
// CHECK: arith.truncf %{{.*}} : tensor<4xf64> to tensor<4xf32>
func.func @sum_of_exp_into_values(%x: tensor<4x8xf32>, %m: tensor<4xf32>,
                                  %init: tensor<4xf32>) -> tensor<4xf32> {
  %s = linalg.generic {indexing_maps = [#id2, #row, #row],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x, %m : tensor<4x8xf32>, tensor<4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %d = arith.subf %in, %max : f32
    %e = math.exp %d : f32
    %a = arith.addf %e, %out : f32
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// Maxima, integer sums and elementwise adds are left
// alone, as is a body that reads the accumulator twice.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: f64
// CHECK: return
func.func @left_alone(%x: tensor<4x8xf32>, %init: tensor<4xf32>,
                      %i: tensor<4x8xi64>, %iinit: tensor<4xi64>,
                      %y: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4xi64>, tensor<4x8xf32>, tensor<4xf32>) {
  %max = linalg.generic {indexing_maps = [#id2, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.maximumf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<4xf32>
  %isum = linalg.generic {indexing_maps = [#id2, #row],
                          iterator_types = ["parallel", "reduction"]}
      ins(%i : tensor<4x8xi64>) outs(%iinit : tensor<4xi64>) {
  ^bb0(%in: i64, %out: i64):
    %a = arith.addi %in, %out : i64
    linalg.yield %a : i64
  } -> tensor<4xi64>
  %add = linalg.generic {indexing_maps = [#id2, #id2],
                         iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%y : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<4x8xf32>
  %twice = linalg.generic {indexing_maps = [#id2, #row],
                           iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %out : f32
    %a = arith.addf %m, %out : f32
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %max, %isum, %add, %twice : tensor<4xf32>, tensor<4xi64>, tensor<4x8xf32>, tensor<4xf32>
}
