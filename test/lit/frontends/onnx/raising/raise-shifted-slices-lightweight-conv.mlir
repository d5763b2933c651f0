// RUN: convc-opt %s -convc-raise-dynamic-conv -canonicalize | FileCheck %s

// LightweightConv (C = 4, H = 2, K = 3, P = 1) in the shifted-slices form
// (frontends/pytorch's lightweight_conv_unfolded) exported by torch.onnx and
// imported (then canonicalised): the windows of convc-raise-dynamic-conv
// times one constant kernel per head, [1, 1, H, 1, K] (the Softmax folded at
// import). It becomes convc.lightweight_conv with that kernel as [H, K].
// CHECK-LABEL: func.func @main
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x3xf32>
// CHECK: %[[Y:.*]] = convc.lightweight_conv %arg0, %[[W]] {heads = 2 : i64, padding = 1 : i64, weight_softmax = false} : tensor<?x?x4xf32>, tensor<2x3xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK: return %[[Y]]

#map = affine_map<() -> ()>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (0, 0, d2, 0, d4)>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<?x?x4xf32> {convc.name = "x"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
    %c2_i64 = arith.constant 2 : i64
    %c3_i64 = arith.constant 3 : i64
    %c4_i64 = arith.constant 4 : i64
    %c-1099511627776_i64 = arith.constant -1099511627776 : i64
    %c1099511627776_i64 = arith.constant 1099511627776 : i64
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<[[[[[0.844634175, 0.134892568, 0.0204732306]], [[0.75111413, 0.143825963, 0.105059922]]]]]> : tensor<1x1x2x1x3xf32>
    %cst_1 = arith.constant dense<2> : tensor<i64>
    %cst_2 = arith.constant dense<1> : tensor<i64>
    %c0_i64 = arith.constant 0 : i64
    %c2 = arith.constant 2 : index
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_3 = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %0 = arith.index_cast %dim_3 : index to i64
    %dim_4 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %1 = arith.index_cast %dim_4 : index to i64
    %from_elements = tensor.from_elements %0, %1, %c4_i64 : tensor<3xi64>
    %2 = tensor.empty() : tensor<i64>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = []} ins(%cst_2 : tensor<i64>) outs(%2 : tensor<i64>) {
    ^bb0(%in: i64, %out: i64):
      %56 = arith.addi %in, %c3_i64 : i64
      %57 = arith.cmpi slt, %in, %c0_i64 : i64
      %58 = arith.select %57, %56, %in : i64
      %59 = arith.minsi %58, %c2_i64 : i64
      %60 = arith.maxsi %59, %c0_i64 : i64
      %61 = arith.index_cast %60 : i64 to index
      %extracted_31 = tensor.extract %from_elements[%61] : tensor<3xi64>
      linalg.yield %extracted_31 : i64
    } -> tensor<i64>
    %padded = tensor.pad %arg0 low[0, 1, 0] high[0, 1, 0] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index):
      tensor.yield %cst : f32
    } : tensor<?x?x4xf32> to tensor<?x?x4xf32>
    %expanded = tensor.expand_shape %3 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted = tensor.extract %expanded[%c0] : tensor<1xi64>
    %dim_5 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_6 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %4 = arith.minsi %dim_6, %c0 : index
    %5 = arith.maxsi %4, %c0 : index
    %6 = arith.minsi %extracted, %c1099511627776_i64 : i64
    %7 = arith.maxsi %6, %c-1099511627776_i64 : i64
    %8 = arith.index_cast %7 : i64 to index
    %9 = arith.cmpi slt, %8, %c0 : index
    %10 = arith.addi %8, %dim_6 : index
    %11 = arith.select %9, %10, %8 : index
    %12 = arith.minsi %11, %dim_6 : index
    %13 = arith.maxsi %12, %c0 : index
    %14 = arith.subi %13, %5 : index
    %15 = arith.maxsi %14, %c0 : index
    %16 = tensor.empty(%dim_5, %15) : tensor<?x?x4xf32>
    %17 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel", "parallel"]} outs(%16 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %56 = linalg.index 0 : index
      %57 = linalg.index 1 : index
      %58 = arith.addi %5, %57 : index
      %59 = linalg.index 2 : index
      %extracted_31 = tensor.extract %padded[%56, %58, %59] : tensor<?x?x4xf32>
      linalg.yield %extracted_31 : f32
    } -> tensor<?x?x4xf32>
    %18 = tensor.empty() : tensor<i64>
    %19 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = []} ins(%3, %cst_2 : tensor<i64>, tensor<i64>) outs(%18 : tensor<i64>) {
    ^bb0(%in: i64, %in_31: i64, %out: i64):
      %56 = arith.addi %in, %in_31 : i64
      linalg.yield %56 : i64
    } -> tensor<i64>
    %expanded_7 = tensor.expand_shape %19 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted_8 = tensor.extract %expanded_7[%c0] : tensor<1xi64>
    %dim_9 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_10 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %20 = arith.minsi %dim_10, %c1 : index
    %21 = arith.maxsi %20, %c0 : index
    %22 = arith.minsi %extracted_8, %c1099511627776_i64 : i64
    %23 = arith.maxsi %22, %c-1099511627776_i64 : i64
    %24 = arith.index_cast %23 : i64 to index
    %25 = arith.cmpi slt, %24, %c0 : index
    %26 = arith.addi %24, %dim_10 : index
    %27 = arith.select %25, %26, %24 : index
    %28 = arith.minsi %27, %dim_10 : index
    %29 = arith.maxsi %28, %c0 : index
    %30 = arith.subi %29, %21 : index
    %31 = arith.maxsi %30, %c0 : index
    %32 = tensor.empty(%dim_9, %31) : tensor<?x?x4xf32>
    %33 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel", "parallel"]} outs(%32 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %56 = linalg.index 0 : index
      %57 = linalg.index 1 : index
      %58 = arith.addi %21, %57 : index
      %59 = linalg.index 2 : index
      %extracted_31 = tensor.extract %padded[%56, %58, %59] : tensor<?x?x4xf32>
      linalg.yield %extracted_31 : f32
    } -> tensor<?x?x4xf32>
    %34 = tensor.empty() : tensor<i64>
    %35 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = []} ins(%3, %cst_1 : tensor<i64>, tensor<i64>) outs(%34 : tensor<i64>) {
    ^bb0(%in: i64, %in_31: i64, %out: i64):
      %56 = arith.addi %in, %in_31 : i64
      linalg.yield %56 : i64
    } -> tensor<i64>
    %expanded_11 = tensor.expand_shape %35 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted_12 = tensor.extract %expanded_11[%c0] : tensor<1xi64>
    %dim_13 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_14 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %36 = arith.minsi %dim_14, %c2 : index
    %37 = arith.maxsi %36, %c0 : index
    %38 = arith.minsi %extracted_12, %c1099511627776_i64 : i64
    %39 = arith.maxsi %38, %c-1099511627776_i64 : i64
    %40 = arith.index_cast %39 : i64 to index
    %41 = arith.cmpi slt, %40, %c0 : index
    %42 = arith.addi %40, %dim_14 : index
    %43 = arith.select %41, %42, %40 : index
    %44 = arith.minsi %43, %dim_14 : index
    %45 = arith.maxsi %44, %c0 : index
    %46 = arith.subi %45, %37 : index
    %47 = arith.maxsi %46, %c0 : index
    %48 = tensor.empty(%dim_13, %47) : tensor<?x?x4xf32>
    %49 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel", "parallel"]} outs(%48 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %56 = linalg.index 0 : index
      %57 = linalg.index 1 : index
      %58 = arith.addi %37, %57 : index
      %59 = linalg.index 2 : index
      %extracted_31 = tensor.extract %padded[%56, %58, %59] : tensor<?x?x4xf32>
      linalg.yield %extracted_31 : f32
    } -> tensor<?x?x4xf32>
    %expanded_15 = tensor.expand_shape %17 [[0], [1], [2, 3]] output_shape [%dim_5, %15, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_16 = tensor.expand_shape %33 [[0], [1], [2, 3]] output_shape [%dim_9, %31, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_17 = tensor.expand_shape %49 [[0], [1], [2, 3]] output_shape [%dim_13, %47, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %dim_18 = tensor.dim %expanded_15, %c0 : tensor<?x?x4x1xf32>
    %dim_19 = tensor.dim %expanded_15, %c1 : tensor<?x?x4x1xf32>
    %50 = tensor.empty(%dim_18, %dim_19) : tensor<?x?x4x3xf32>
    %dim_20 = tensor.dim %expanded_15, %c0 : tensor<?x?x4x1xf32>
    %dim_21 = tensor.dim %expanded_15, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice = tensor.insert_slice %expanded_15 into %50[0, 0, 0, 0] [%dim_20, %dim_21, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_22 = tensor.dim %expanded_16, %c0 : tensor<?x?x4x1xf32>
    %dim_23 = tensor.dim %expanded_16, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_24 = tensor.insert_slice %expanded_16 into %inserted_slice[0, 0, 0, 1] [%dim_22, %dim_23, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_25 = tensor.dim %expanded_17, %c0 : tensor<?x?x4x1xf32>
    %dim_26 = tensor.dim %expanded_17, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_27 = tensor.insert_slice %expanded_17 into %inserted_slice_24[0, 0, 0, 2] [%dim_25, %dim_26, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %expanded_28 = tensor.expand_shape %inserted_slice_27 [[0], [1], [2, 3], [4]] output_shape [%dim, %dim_4, 2, 2, 3] : tensor<?x?x4x3xf32> into tensor<?x?x2x2x3xf32>
    %dim_29 = tensor.dim %expanded_28, %c0 : tensor<?x?x2x2x3xf32>
    %dim_30 = tensor.dim %expanded_28, %c1 : tensor<?x?x2x2x3xf32>
    %51 = tensor.empty(%dim_29, %dim_30) : tensor<?x?x2x2x3xf32>
    %52 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_28, %cst_0 : tensor<?x?x2x2x3xf32>, tensor<1x1x2x1x3xf32>) outs(%51 : tensor<?x?x2x2x3xf32>) {
    ^bb0(%in: f32, %in_31: f32, %out: f32):
      %56 = arith.mulf %in, %in_31 : f32
      linalg.yield %56 : f32
    } -> tensor<?x?x2x2x3xf32>
    %53 = tensor.empty(%dim_29, %dim_30) : tensor<?x?x2x2xf32>
    %54 = linalg.fill ins(%cst : f32) outs(%53 : tensor<?x?x2x2xf32>) -> tensor<?x?x2x2xf32>
    %55 = linalg.generic {indexing_maps = [#map2, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%52 : tensor<?x?x2x2x3xf32>) outs(%54 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %56 = arith.addf %in, %out : f32
      linalg.yield %56 : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed = tensor.collapse_shape %55 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    return %collapsed : tensor<?x?x4xf32>
  }
}

