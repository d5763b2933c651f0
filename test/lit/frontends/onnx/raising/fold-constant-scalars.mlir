// RUN: convc-opt %s -convc-fold-constant-scalars | FileCheck %s

#scalar = affine_map<() -> ()>
#id = affine_map<(d0) -> (d0)>

// head_dim ** -0.5 with head_dim read off a shape: Cast then Pow of the
// folded int64 16.
// CHECK-LABEL: func.func @scale_from_size
// CHECK: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]
func.func @scale_from_size() -> tensor<f32> {
  %size = arith.constant dense<16> : tensor<i64>
  %exponent = arith.constant dense<-5.000000e-01> : tensor<f32>
  %e0 = tensor.empty() : tensor<f32>
  %cast = linalg.generic {indexing_maps = [#scalar, #scalar], iterator_types = []}
      ins(%size : tensor<i64>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: i64, %out: f32):
    %f = arith.sitofp %in : i64 to f32
    linalg.yield %f : f32
  } -> tensor<f32>
  %e1 = tensor.empty() : tensor<f32>
  %pow = linalg.generic {indexing_maps = [#scalar, #scalar, #scalar], iterator_types = []}
      ins(%cast, %exponent : tensor<f32>, tensor<f32>) outs(%e1 : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = math.powf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<f32>
  return %pow : tensor<f32>
}

// sqrt(d_k) in a one-element tensor, with a constant inside the body.
// CHECK-LABEL: func.func @sqrt_in_one_element
// CHECK: arith.constant dense<8.000000e+00> : tensor<1xf32>
// CHECK-NOT: linalg.generic
func.func @sqrt_in_one_element() -> tensor<1xf32> {
  %d = arith.constant dense<32.0> : tensor<1xf32>
  %e = tensor.empty() : tensor<1xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%d : tensor<1xf32>) outs(%e : tensor<1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %s = arith.mulf %in, %two : f32
    %q = math.sqrt %s : f32
    linalg.yield %q : f32
  } -> tensor<1xf32>
  return %r : tensor<1xf32>
}

// Not folded: an input that is not a constant, or more than one element.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-2: linalg.generic
func.func @left_alone(%x: tensor<f32>) -> (tensor<f32>, tensor<2xf32>) {
  %c = arith.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %a = linalg.generic {indexing_maps = [#scalar, #scalar], iterator_types = []}
      ins(%x : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %q = math.sqrt %in : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  %e1 = tensor.empty() : tensor<2xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%c : tensor<2xf32>) outs(%e1 : tensor<2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %q = math.sqrt %in : f32
    linalg.yield %q : f32
  } -> tensor<2xf32>
  return %a, %b : tensor<f32>, tensor<2xf32>
}
