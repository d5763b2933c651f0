// RUN: convc-opt %s -convc-raise-linear | FileCheck %s
// RUN: convc-opt %s -convc-raise-linear -convc-fuse-epilogues | FileCheck %s --check-prefix=FUSED

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#n = affine_map<(d0, d1, d2) -> (d2)>

// nn.Linear (MatMul by W^T, Add of the bias), ReLU, then a second
// projection with a residual, as the ONNX importer emits them.
// CHECK-LABEL: func.func @ffn
// CHECK: %[[W1:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[H:.*]] = convc.linear %arg0, %[[W1]] bias %{{.*}} {activation = #convc<activation relu>}
// CHECK: %[[Z:.*]] = convc.linear %[[H]], %{{.*}} :
// CHECK: %[[Y:.*]] = arith.addf %[[Z]], %arg0 : tensor<?x?x2xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
// FUSED-LABEL: func.func @ffn
// FUSED: convc.linear %arg0, {{.*}} {activation = #convc<activation relu>}
// FUSED: convc.linear {{.*}} residual %arg0
// FUSED-NOT: arith.addf {{.*}} : tensor
func.func @ffn(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b1 = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %w2 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?x2xf32>) -> tensor<?x?x2xf32>
  %z1 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w1 : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %h1 = linalg.generic {indexing_maps = [#n, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b1, %z1 : tensor<2xf32>, tensor<?x?x2xf32>) outs(%e1 : tensor<?x?x2xf32>) {
  ^bb0(%bias: f32, %v: f32, %out: f32):
    %s = arith.addf %bias, %v : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %e2 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h1 : tensor<?x?x2xf32>) outs(%e2 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %out: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x?x2xf32>
  %z2 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%r, %w2 : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %e3 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z2, %x : tensor<?x?x2xf32>, tensor<?x?x2xf32>) outs(%e3 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %s0: f32, %out: f32):
    %s = arith.addf %v, %s0 : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  return %y : tensor<?x?x2xf32>
}

// A product by a runtime matrix stays generic.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-NOT: convc.linear
// CHECK: linalg.generic
func.func @runtime_weight(%x: tensor<?x?x2xf32>, %w: tensor<2x2xf32>, %acc: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> {
  %z = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  return %z : tensor<?x?x2xf32>
}

// Sigmoid (1 / (1 + exp(-x)), TaLK's offsets) and swish (f * Sigmoid(f),
// TaLK layers' FFN) of projections fold into them as their activations.
// CHECK-LABEL: func.func @sigmoid_and_swish
// CHECK: %[[O:.*]] = convc.linear %arg0, %{{.*}} {activation = #convc<activation sigmoid>}
// CHECK: %[[F:.*]] = convc.linear %arg0, %{{.*}} {activation = #convc<activation swish>}
// CHECK-NOT: linalg.generic
// CHECK: return %[[O]], %[[F]]
func.func @sigmoid_and_swish(%x: tensor<?x?x2xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?x2xf32>) -> tensor<?x?x2xf32>
  %z1 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %o = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z1 : tensor<?x?x2xf32>) outs(%e0 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %out: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %one, %d : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %z2 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z2 : tensor<?x?x2xf32>) outs(%e0 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %out: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %one, %d : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %f = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z2, %g : tensor<?x?x2xf32>, tensor<?x?x2xf32>) outs(%e0 : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %s0: f32, %out: f32):
    %s = arith.mulf %v, %s0 : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  return %o, %f : tensor<?x?x2xf32>, tensor<?x?x2xf32>
}

// Near miss: the sigmoid is also returned, so the swish cannot take it in;
// the projection is raised, the sigmoid and product stay.
// CHECK-LABEL: func.func @swish_sigmoid_used_twice
// CHECK: %[[F:.*]] = convc.linear %arg0, %{{.*}} :
// CHECK: %[[G:.*]] = linalg.generic
// CHECK: linalg.generic {{.*}} ins(%[[F]], %[[G]]
func.func @swish_sigmoid_used_twice(%x: tensor<?x?x2xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?x2xf32>) -> tensor<?x?x2xf32>
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %z = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%a: f32, %v: f32, %out: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z : tensor<?x?x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %out: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %one, %d : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %f = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%z, %g : tensor<?x?x2xf32>, tensor<?x?x2xf32>) outs(%acc : tensor<?x?x2xf32>) {
  ^bb0(%v: f32, %s0: f32, %out: f32):
    %s = arith.mulf %v, %s0 : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  return %f, %g : tensor<?x?x2xf32>, tensor<?x?x2xf32>
}
