// RUN: convc-opt %s -convc-raise-attention -canonicalize | FileCheck %s
// RUN: sed -e 's/dense<2.000000e+00> : tensor<f32>/dense<3.000000e+00> : tensor<f32>/' %s | convc-opt -convc-raise-attention | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/%cst_0 = arith.constant dense<0xFF800000> : tensor<f32>/%cst_0 = arith.constant dense<-1.000000e+09> : tensor<f32>/' %s | convc-opt -convc-raise-attention | FileCheck %s --check-prefix=MISS

// Encoder-decoder attention (d = 8, H = 2) exported by torch.onnx from
// frontends/pytorch's ConvLayer.attention with a key padding mask, as the
// importer emits it (then canonicalised): head split and merge reshapes and
// transposes, q k^T / sqrt(4), the -inf masking select, the softmax's max /
// shift / exp-sum / divide, P v. It becomes one convc.attention with the
// mask as f32.
// CHECK-LABEL: func.func @main
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%arg3 : tensor<?x?xi64>)
// CHECK: %[[F:.*]] = arith.uitofp %[[M]] : tensor<?x?xi1> to tensor<?x?xf32>
// CHECK: %[[Y:.*]] = convc.attention %arg0, %arg1, %arg2 key_padding %[[F]] {heads = 2 : i64}
// CHECK-NOT: linalg.transpose
// CHECK: return %[[Y]]

// Near misses, nothing raised: scores divided by 3 instead of sqrt(R) = 2;
// masked keys filled with -1e9 instead of -inf.
// MISS-NOT: convc.attention
// MISS: linalg.transpose

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map5 = affine_map<(d0, d1, d2, d3) -> ()>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>
#map7 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
module {
  func.func @main(%arg0: tensor<?x?x8xf32> {convc.name = "q"}, %arg1: tensor<?x?x8xf32> {convc.name = "k"}, %arg2: tensor<?x?x8xf32> {convc.name = "v"}, %arg3: tensor<?x?xi64> {convc.name = "pad"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
    %cst = arith.constant 0xFF800000 : f32
    %cst_0 = arith.constant dense<0xFF800000> : tensor<f32>
    %cst_1 = arith.constant dense<2.000000e+00> : tensor<f32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %c8 = arith.constant 8 : index
    %c3 = arith.constant 3 : index
    %c2 = arith.constant 2 : index
    %c0_i64 = arith.constant 0 : i64
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg3, %c0 : tensor<?x?xi64>
    %dim_3 = tensor.dim %arg3, %c1 : tensor<?x?xi64>
    %0 = tensor.empty(%dim, %dim_3) : tensor<?x?xi1>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg3 : tensor<?x?xi64>) outs(%0 : tensor<?x?xi1>) {
    ^bb0(%in: i64, %out: i1):
      %34 = arith.cmpi ne, %in, %c0_i64 : i64
      linalg.yield %34 : i1
    } -> tensor<?x?xi1>
    %dim_4 = tensor.dim %arg0, %c0 : tensor<?x?x8xf32>
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?x8xf32>
    %expanded = tensor.expand_shape %arg0 [[0], [1], [2, 3]] output_shape [%dim_4, %dim_5, 2, 4] : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
    %dim_6 = tensor.dim %expanded, %c0 : tensor<?x?x2x4xf32>
    %dim_7 = tensor.dim %expanded, %c1 : tensor<?x?x2x4xf32>
    %2 = tensor.empty(%dim_6, %dim_7) : tensor<?x2x?x4xf32>
    %transposed = linalg.transpose ins(%expanded : tensor<?x?x2x4xf32>) outs(%2 : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3] 
    %dim_8 = tensor.dim %arg1, %c0 : tensor<?x?x8xf32>
    %dim_9 = tensor.dim %arg1, %c1 : tensor<?x?x8xf32>
    %3 = arith.muli %dim_8, %dim_9 : index
    %4 = arith.muli %3, %c8 : index
    %5 = arith.muli %dim_4, %c8 : index
    %6 = arith.divui %4, %5 : index
    %expanded_10 = tensor.expand_shape %arg1 [[0], [1], [2, 3]] output_shape [%dim_4, %6, 2, 4] : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
    %dim_11 = tensor.dim %arg2, %c0 : tensor<?x?x8xf32>
    %dim_12 = tensor.dim %arg2, %c1 : tensor<?x?x8xf32>
    %7 = arith.muli %dim_11, %dim_12 : index
    %8 = arith.muli %7, %c8 : index
    %9 = arith.muli %dim_4, %c8 : index
    %10 = arith.divui %8, %9 : index
    %expanded_13 = tensor.expand_shape %arg2 [[0], [1], [2, 3]] output_shape [%dim_4, %10, 2, 4] : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
    %dim_14 = tensor.dim %expanded_13, %c0 : tensor<?x?x2x4xf32>
    %dim_15 = tensor.dim %expanded_13, %c1 : tensor<?x?x2x4xf32>
    %11 = tensor.empty(%dim_14, %dim_15) : tensor<?x2x?x4xf32>
    %transposed_16 = linalg.transpose ins(%expanded_13 : tensor<?x?x2x4xf32>) outs(%11 : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3] 
    %dim_17 = tensor.dim %expanded_10, %c0 : tensor<?x?x2x4xf32>
    %dim_18 = tensor.dim %expanded_10, %c1 : tensor<?x?x2x4xf32>
    %12 = tensor.empty(%dim_17, %dim_18) : tensor<?x2x4x?xf32>
    %transposed_19 = linalg.transpose ins(%expanded_10 : tensor<?x?x2x4xf32>) outs(%12 : tensor<?x2x4x?xf32>) permutation = [0, 2, 3, 1] 
    %13 = tensor.empty(%dim_6, %dim_7, %dim_18) : tensor<?x2x?x?xf32>
    %14 = linalg.fill ins(%cst_2 : f32) outs(%13 : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
    %15 = linalg.generic {indexing_maps = [#map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%transposed, %transposed_19 : tensor<?x2x?x4xf32>, tensor<?x2x4x?xf32>) outs(%14 : tensor<?x2x?x?xf32>) {
    ^bb0(%in: f32, %in_27: f32, %out: f32):
      %34 = arith.mulf %in, %in_27 : f32
      %35 = arith.addf %out, %34 : f32
      linalg.yield %35 : f32
    } -> tensor<?x2x?x?xf32>
    %16 = tensor.empty(%dim_6, %dim_7, %dim_18) : tensor<?x2x?x?xf32>
    %17 = linalg.generic {indexing_maps = [#map4, #map5, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %cst_1 : tensor<?x2x?x?xf32>, tensor<f32>) outs(%16 : tensor<?x2x?x?xf32>) {
    ^bb0(%in: f32, %in_27: f32, %out: f32):
      %34 = arith.divf %in, %in_27 : f32
      linalg.yield %34 : f32
    } -> tensor<?x2x?x?xf32>
    %expanded_20 = tensor.expand_shape %1 [[0], [1, 2]] output_shape [%dim, 1, %dim_3] : tensor<?x?xi1> into tensor<?x1x?xi1>
    %dim_21 = tensor.dim %expanded_20, %c0 : tensor<?x1x?xi1>
    %dim_22 = tensor.dim %expanded_20, %c2 : tensor<?x1x?xi1>
    %expanded_23 = tensor.expand_shape %1 [[0], [1, 2, 3]] output_shape [%dim_21, 1, 1, %dim_22] : tensor<?x?xi1> into tensor<?x1x1x?xi1>
    %dim_24 = tensor.dim %expanded_23, %c0 : tensor<?x1x1x?xi1>
    %dim_25 = tensor.dim %expanded_23, %c3 : tensor<?x1x1x?xi1>
    %18 = tensor.empty(%dim_24, %dim_7, %dim_25) : tensor<?x2x?x?xf32>
    %19 = linalg.generic {indexing_maps = [#map6, #map5, #map4, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_23, %cst_0, %17 : tensor<?x1x1x?xi1>, tensor<f32>, tensor<?x2x?x?xf32>) outs(%18 : tensor<?x2x?x?xf32>) {
    ^bb0(%in: i1, %in_27: f32, %in_28: f32, %out: f32):
      %34 = arith.select %in, %in_27, %in_28 : f32
      linalg.yield %34 : f32
    } -> tensor<?x2x?x?xf32>
    %20 = tensor.empty(%dim_24, %dim_7) : tensor<?x2x?xf32>
    %21 = linalg.fill ins(%cst : f32) outs(%20 : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
    %22 = linalg.generic {indexing_maps = [#map4, #map7], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19 : tensor<?x2x?x?xf32>) outs(%21 : tensor<?x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %34 = arith.maxnumf %in, %out : f32
      linalg.yield %34 : f32
    } -> tensor<?x2x?xf32>
    %23 = tensor.empty(%dim_24, %dim_7, %dim_25) : tensor<?x2x?x?xf32>
    %24 = linalg.generic {indexing_maps = [#map4, #map7, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%19, %22 : tensor<?x2x?x?xf32>, tensor<?x2x?xf32>) outs(%23 : tensor<?x2x?x?xf32>) {
    ^bb0(%in: f32, %in_27: f32, %out: f32):
      %34 = arith.subf %in, %in_27 : f32
      linalg.yield %34 : f32
    } -> tensor<?x2x?x?xf32>
    %25 = tensor.empty(%dim_24, %dim_7) : tensor<?x2x?xf32>
    %26 = linalg.fill ins(%cst_2 : f32) outs(%25 : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
    %27 = linalg.generic {indexing_maps = [#map4, #map7], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%24 : tensor<?x2x?x?xf32>) outs(%26 : tensor<?x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %34 = math.exp %in : f32
      %35 = arith.addf %34, %out : f32
      linalg.yield %35 : f32
    } -> tensor<?x2x?xf32>
    %28 = tensor.empty(%dim_24, %dim_7, %dim_25) : tensor<?x2x?x?xf32>
    %29 = linalg.generic {indexing_maps = [#map4, #map7, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%24, %27 : tensor<?x2x?x?xf32>, tensor<?x2x?xf32>) outs(%28 : tensor<?x2x?x?xf32>) {
    ^bb0(%in: f32, %in_27: f32, %out: f32):
      %34 = math.exp %in : f32
      %35 = arith.divf %34, %in_27 : f32
      linalg.yield %35 : f32
    } -> tensor<?x2x?x?xf32>
    %30 = tensor.empty(%dim_24, %dim_7) : tensor<?x2x?x4xf32>
    %31 = linalg.fill ins(%cst_2 : f32) outs(%30 : tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
    %32 = linalg.generic {indexing_maps = [#map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%29, %transposed_16 : tensor<?x2x?x?xf32>, tensor<?x2x?x4xf32>) outs(%31 : tensor<?x2x?x4xf32>) {
    ^bb0(%in: f32, %in_27: f32, %out: f32):
      %34 = arith.mulf %in, %in_27 : f32
      %35 = arith.addf %out, %34 : f32
      linalg.yield %35 : f32
    } -> tensor<?x2x?x4xf32>
    %33 = tensor.empty(%dim_24, %dim_7) : tensor<?x?x2x4xf32>
    %transposed_26 = linalg.transpose ins(%32 : tensor<?x2x?x4xf32>) outs(%33 : tensor<?x?x2x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed_26 [[0], [1], [2, 3]] : tensor<?x?x2x4xf32> into tensor<?x?x8xf32>
    return %collapsed : tensor<?x?x8xf32>
  }
}

