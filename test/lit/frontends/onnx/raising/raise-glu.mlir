// RUN: convc-opt %s -convc-raise-glu | FileCheck %s

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// F.glu as the ONNX importer emits Split -> Sigmoid -> Mul.
// CHECK-LABEL: func.func @split_sigmoid_mul
// CHECK: %[[Y:.*]] = convc.glu %arg0 : tensor<?x?x32xf32>
// CHECK: return %[[Y]]
func.func @split_sigmoid_mul(%h: tensor<?x?x32xf32>) -> tensor<?x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %b = tensor.dim %h, %c0 : tensor<?x?x32xf32>
  %t = tensor.dim %h, %c1 : tensor<?x?x32xf32>
  %first = tensor.extract_slice %h[0, 0, 0] [%b, %t, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %second = tensor.extract_slice %h[0, 0, 16] [%b, %t, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x16xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%second : tensor<?x?x16xf32>) outs(%e0 : tensor<?x?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x?x16xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x?x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%first, %s : tensor<?x?x16xf32>, tensor<?x?x16xf32>) outs(%e1 : tensor<?x?x16xf32>) {
  ^bb0(%a: f32, %g: f32, %out: f32):
    %m = arith.mulf %a, %g : f32
    linalg.yield %m : f32
  } -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// The halves swapped (second * sigmoid(first)) is not a GLU.
// CHECK-LABEL: func.func @swapped_halves
// CHECK-NOT: convc.glu
// CHECK: return
func.func @swapped_halves(%h: tensor<?x?x32xf32>) -> tensor<?x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %b = tensor.dim %h, %c0 : tensor<?x?x32xf32>
  %t = tensor.dim %h, %c1 : tensor<?x?x32xf32>
  %first = tensor.extract_slice %h[0, 0, 0] [%b, %t, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %second = tensor.extract_slice %h[0, 0, 16] [%b, %t, 16] [1, 1, 1] : tensor<?x?x32xf32> to tensor<?x?x16xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x16xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%first : tensor<?x?x16xf32>) outs(%e0 : tensor<?x?x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x?x16xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x?x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%second, %s : tensor<?x?x16xf32>, tensor<?x?x16xf32>) outs(%e1 : tensor<?x?x16xf32>) {
  ^bb0(%a: f32, %g: f32, %out: f32):
    %m = arith.mulf %a, %g : f32
    linalg.yield %m : f32
  } -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}
