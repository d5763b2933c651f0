// RUN: convc-opt %s -convc-raise-layer-norm -canonicalize -split-input-file | FileCheck %s

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#scalar = affine_map<(d0, d1, d2) -> ()>
#chan = affine_map<(d0, d1, d2) -> (d2)>

// nn.LayerNorm as torch.onnx exports it before opset 17 (ReduceMean, Sub,
// Pow, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta), as the ONNX
// importer emits it: one convc.layer_norm, gamma and beta taken in (eps is
// the f32 constant 1e-5, exactly).
// CHECK-LABEL: func.func @decomposed
// CHECK-DAG: %[[G:.*]] = arith.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<3.000000e+00> : tensor<4xf32>
// CHECK: %[[Y:.*]] = convc.layer_norm %arg0, %[[G]], %[[B]] {eps = 9.99999974{{[0-9]*}}E-6 : f64}
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @decomposed(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %four = arith.constant 4.0 : f32
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %gamma = arith.constant dense<2.0> : tensor<4xf32>
  %beta = arith.constant dense<3.0> : tensor<4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %r0 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%r0 : tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x4xf32>) outs(%z0 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r1 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum : tensor<?x?x1xf32>) outs(%r1 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.divf %in, %four : f32
    linalg.yield %d : f32
  } -> tensor<?x?x1xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %dev = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : tensor<?x?x4xf32>, tensor<?x?x1xf32>) outs(%e0 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %s = arith.subf %in, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %sq = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dev, %two : tensor<?x?x4xf32>, tensor<f32>) outs(%e1 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %p: f32, %out: f32):
    %q = math.powf %in, %p : f32
    linalg.yield %q : f32
  } -> tensor<?x?x4xf32>
  %r2 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%r2 : tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %sumsq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sq : tensor<?x?x4xf32>) outs(%z2 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r3 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %var = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sumsq : tensor<?x?x1xf32>) outs(%r3 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.divf %in, %four : f32
    linalg.yield %d : f32
  } -> tensor<?x?x1xf32>
  %r4 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%var, %eps : tensor<?x?x1xf32>, tensor<f32>) outs(%r4 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %e: f32, %out: f32):
    %a = arith.addf %in, %e : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r5 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %root = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%plus : tensor<?x?x1xf32>) outs(%r5 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = math.sqrt %in : f32
    linalg.yield %s : f32
  } -> tensor<?x?x1xf32>
  %e2 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dev, %root : tensor<?x?x4xf32>, tensor<?x?x1xf32>) outs(%e2 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %d = arith.divf %in, %s : f32
    linalg.yield %d : f32
  } -> tensor<?x?x4xf32>
  %e3 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #chan, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %gamma : tensor<?x?x4xf32>, tensor<4xf32>) outs(%e3 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %g: f32, %out: f32):
    %m = arith.mulf %in, %g : f32
    linalg.yield %m : f32
  } -> tensor<?x?x4xf32>
  %e4 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #chan, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%scaled, %beta : tensor<?x?x4xf32>, tensor<4xf32>) outs(%e4 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %a = arith.addf %in, %bb : f32
    linalg.yield %a : f32
  } -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#scalar = affine_map<(d0, d1, d2) -> ()>

// Near miss: the variance is of x itself, not of x - mean: left alone.
// CHECK-LABEL: func.func @variance_of_x
// CHECK-NOT: convc.layer_norm
func.func @variance_of_x(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %four = arith.constant 4.0 : f32
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %r0 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%r0 : tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x4xf32>) outs(%z0 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r1 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum : tensor<?x?x1xf32>) outs(%r1 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.divf %in, %four : f32
    linalg.yield %d : f32
  } -> tensor<?x?x1xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %dev = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : tensor<?x?x4xf32>, tensor<?x?x1xf32>) outs(%e0 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %s = arith.subf %in, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %x : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%e1 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %q = arith.mulf %in, %in2 : f32
    linalg.yield %q : f32
  } -> tensor<?x?x4xf32>
  %r2 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%r2 : tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %sumsq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sq : tensor<?x?x4xf32>) outs(%z2 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r3 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %var = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sumsq : tensor<?x?x1xf32>) outs(%r3 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %d = arith.divf %in, %four : f32
    linalg.yield %d : f32
  } -> tensor<?x?x1xf32>
  %r4 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%var, %eps : tensor<?x?x1xf32>, tensor<f32>) outs(%r4 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %e: f32, %out: f32):
    %a = arith.addf %in, %e : f32
    linalg.yield %a : f32
  } -> tensor<?x?x1xf32>
  %r5 = tensor.empty(%b, %t) : tensor<?x?x1xf32>
  %root = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%plus : tensor<?x?x1xf32>) outs(%r5 : tensor<?x?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = math.sqrt %in : f32
    linalg.yield %s : f32
  } -> tensor<?x?x1xf32>
  %e2 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %n = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dev, %root : tensor<?x?x4xf32>, tensor<?x?x1xf32>) outs(%e2 : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %d = arith.divf %in, %s : f32
    linalg.yield %d : f32
  } -> tensor<?x?x4xf32>
  return %n : tensor<?x?x4xf32>
}
