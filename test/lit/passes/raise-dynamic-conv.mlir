// RUN: convc-opt %s -convc-raise-dynamic-conv -canonicalize | FileCheck %s
// RUN: sed -e 's/arith.minsi %%dim_14, %%c1 : index/arith.minsi %%dim_14, %%c2 : index/' %s | convc-opt -convc-raise-dynamic-conv | FileCheck %s --check-prefix=MISS

// A DynamicConv (C = 4, H = 2, K = 3, P = 1) exported by torch.onnx from
// frontends/pytorch's dynamic_conv, as the importer emits it (then
// canonicalised): K Slices of the padded input shifted by 0, 1, 2, stacked
// along a tap axis, times the softmaxed kernels viewed as [B, T, H, 1, K],
// summed over the taps. It becomes one dynamic_kernel_conv of the input
// with the kernels; the windows are gone.
// CHECK-LABEL: func.func @main
// CHECK: %[[W:.*]] = convc.kernel_softmax
// CHECK: %[[Y:.*]] = convc.dynamic_kernel_conv %arg0, %[[W]] {padding = 1 : i64} : tensor<?x?x4xf32>, tensor<?x?x2x3xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK-NOT: tensor.pad
// CHECK: return %[[Y]]

// Near miss: tap 1 reads the input shifted by 2 (tap 2 as well): not a
// conv; nothing is raised.
// MISS-NOT: convc.dynamic_kernel_conv
// MISS: tensor.insert_slice

#map = affine_map<() -> ()>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d2)>
#map5 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map6 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map7 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, 0, d4)>
#map8 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<?x?x4xf32> {convc.name = "x"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
    %c2_i64 = arith.constant 2 : i64
    %c3_i64 = arith.constant 3 : i64
    %c4_i64 = arith.constant 4 : i64
    %c-1099511627776_i64 = arith.constant -1099511627776 : i64
    %c1099511627776_i64 = arith.constant 1099511627776 : i64
    %cst = arith.constant dense<2> : tensor<i64>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant dense<1> : tensor<i64>
    %c0_i64 = arith.constant 0 : i64
    %c2 = arith.constant 2 : index
    %c1 = arith.constant 1 : index
    %cst_2 = arith.constant dense<[[-3.743410e-03, -0.192577183, -0.0443720222, -0.477674246, 0.197667599, 0.181608558], [0.268221796, 0.134078681, 0.132306278, -0.331141055, 0.300011396, 0.415193975], [-0.411522567, -0.00990658998, -0.151106536, -0.20611155, -0.338970542, -0.102900088], [-0.367969513, 0.396444738, -0.0982826948, 0.0185217857, -0.217731416, 0.374155879]]> : tensor<4x6xf32>
    %cst_3 = arith.constant dense<[-0.0805916786, 0.0529070497, 0.452738106, -0.46383518, -0.31476897, -0.126582623]> : tensor<6xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_4 = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %0 = arith.index_cast %dim_4 : index to i64
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %1 = arith.index_cast %dim_5 : index to i64
    %from_elements = tensor.from_elements %0, %1, %c4_i64 : tensor<3xi64>
    %2 = tensor.empty() : tensor<i64>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = []} ins(%cst_1 : tensor<i64>) outs(%2 : tensor<i64>) {
    ^bb0(%in: i64, %out: i64):
      %62 = arith.addi %in, %c3_i64 : i64
      %63 = arith.cmpi slt, %in, %c0_i64 : i64
      %64 = arith.select %63, %62, %in : i64
      %65 = arith.minsi %64, %c2_i64 : i64
      %66 = arith.maxsi %65, %c0_i64 : i64
      %67 = arith.index_cast %66 : i64 to index
      %extracted_38 = tensor.extract %from_elements[%67] : tensor<3xi64>
      linalg.yield %extracted_38 : i64
    } -> tensor<i64>
    %dim_6 = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_7 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %4 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x6xf32>
    %5 = linalg.fill ins(%cst_0 : f32) outs(%4 : tensor<?x?x6xf32>) -> tensor<?x?x6xf32>
    %6 = linalg.generic {indexing_maps = [#map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %cst_2 : tensor<?x?x4xf32>, tensor<4x6xf32>) outs(%5 : tensor<?x?x6xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %62 = arith.mulf %in, %in_38 : f32
      %63 = arith.addf %out, %62 : f32
      linalg.yield %63 : f32
    } -> tensor<?x?x6xf32>
    %7 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x6xf32>
    %8 = linalg.generic {indexing_maps = [#map4, #map5, #map5], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cst_3, %6 : tensor<6xf32>, tensor<?x?x6xf32>) outs(%7 : tensor<?x?x6xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %62 = arith.addf %in, %in_38 : f32
      linalg.yield %62 : f32
    } -> tensor<?x?x6xf32>
    %expanded = tensor.expand_shape %8 [[0], [1], [2, 3]] output_shape [%dim, %dim_5, 2, 3] : tensor<?x?x6xf32> into tensor<?x?x2x3xf32>
    %9 = convc.kernel_softmax %expanded : tensor<?x?x2x3xf32>
    %padded = tensor.pad %arg0 low[0, 1, 0] high[0, 1, 0] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index):
      tensor.yield %cst_0 : f32
    } : tensor<?x?x4xf32> to tensor<?x?x4xf32>
    %expanded_8 = tensor.expand_shape %3 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted = tensor.extract %expanded_8[%c0] : tensor<1xi64>
    %dim_9 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_10 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %10 = arith.minsi %dim_10, %c0 : index
    %11 = arith.maxsi %10, %c0 : index
    %12 = arith.minsi %extracted, %c1099511627776_i64 : i64
    %13 = arith.maxsi %12, %c-1099511627776_i64 : i64
    %14 = arith.index_cast %13 : i64 to index
    %15 = arith.cmpi slt, %14, %c0 : index
    %16 = arith.addi %14, %dim_10 : index
    %17 = arith.select %15, %16, %14 : index
    %18 = arith.minsi %17, %dim_10 : index
    %19 = arith.maxsi %18, %c0 : index
    %20 = arith.subi %19, %11 : index
    %21 = arith.maxsi %20, %c0 : index
    %22 = tensor.empty(%dim_9, %21) : tensor<?x?x4xf32>
    %23 = linalg.generic {indexing_maps = [#map5], iterator_types = ["parallel", "parallel", "parallel"]} outs(%22 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %62 = linalg.index 0 : index
      %63 = linalg.index 1 : index
      %64 = arith.addi %11, %63 : index
      %65 = linalg.index 2 : index
      %extracted_38 = tensor.extract %padded[%62, %64, %65] : tensor<?x?x4xf32>
      linalg.yield %extracted_38 : f32
    } -> tensor<?x?x4xf32>
    %24 = tensor.empty() : tensor<i64>
    %25 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = []} ins(%3, %cst_1 : tensor<i64>, tensor<i64>) outs(%24 : tensor<i64>) {
    ^bb0(%in: i64, %in_38: i64, %out: i64):
      %62 = arith.addi %in, %in_38 : i64
      linalg.yield %62 : i64
    } -> tensor<i64>
    %expanded_11 = tensor.expand_shape %25 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted_12 = tensor.extract %expanded_11[%c0] : tensor<1xi64>
    %dim_13 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_14 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %26 = arith.minsi %dim_14, %c1 : index
    %27 = arith.maxsi %26, %c0 : index
    %28 = arith.minsi %extracted_12, %c1099511627776_i64 : i64
    %29 = arith.maxsi %28, %c-1099511627776_i64 : i64
    %30 = arith.index_cast %29 : i64 to index
    %31 = arith.cmpi slt, %30, %c0 : index
    %32 = arith.addi %30, %dim_14 : index
    %33 = arith.select %31, %32, %30 : index
    %34 = arith.minsi %33, %dim_14 : index
    %35 = arith.maxsi %34, %c0 : index
    %36 = arith.subi %35, %27 : index
    %37 = arith.maxsi %36, %c0 : index
    %38 = tensor.empty(%dim_13, %37) : tensor<?x?x4xf32>
    %39 = linalg.generic {indexing_maps = [#map5], iterator_types = ["parallel", "parallel", "parallel"]} outs(%38 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %62 = linalg.index 0 : index
      %63 = linalg.index 1 : index
      %64 = arith.addi %27, %63 : index
      %65 = linalg.index 2 : index
      %extracted_38 = tensor.extract %padded[%62, %64, %65] : tensor<?x?x4xf32>
      linalg.yield %extracted_38 : f32
    } -> tensor<?x?x4xf32>
    %40 = tensor.empty() : tensor<i64>
    %41 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = []} ins(%3, %cst : tensor<i64>, tensor<i64>) outs(%40 : tensor<i64>) {
    ^bb0(%in: i64, %in_38: i64, %out: i64):
      %62 = arith.addi %in, %in_38 : i64
      linalg.yield %62 : i64
    } -> tensor<i64>
    %expanded_15 = tensor.expand_shape %41 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted_16 = tensor.extract %expanded_15[%c0] : tensor<1xi64>
    %dim_17 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_18 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %42 = arith.minsi %dim_18, %c2 : index
    %43 = arith.maxsi %42, %c0 : index
    %44 = arith.minsi %extracted_16, %c1099511627776_i64 : i64
    %45 = arith.maxsi %44, %c-1099511627776_i64 : i64
    %46 = arith.index_cast %45 : i64 to index
    %47 = arith.cmpi slt, %46, %c0 : index
    %48 = arith.addi %46, %dim_18 : index
    %49 = arith.select %47, %48, %46 : index
    %50 = arith.minsi %49, %dim_18 : index
    %51 = arith.maxsi %50, %c0 : index
    %52 = arith.subi %51, %43 : index
    %53 = arith.maxsi %52, %c0 : index
    %54 = tensor.empty(%dim_17, %53) : tensor<?x?x4xf32>
    %55 = linalg.generic {indexing_maps = [#map5], iterator_types = ["parallel", "parallel", "parallel"]} outs(%54 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %62 = linalg.index 0 : index
      %63 = linalg.index 1 : index
      %64 = arith.addi %43, %63 : index
      %65 = linalg.index 2 : index
      %extracted_38 = tensor.extract %padded[%62, %64, %65] : tensor<?x?x4xf32>
      linalg.yield %extracted_38 : f32
    } -> tensor<?x?x4xf32>
    %expanded_19 = tensor.expand_shape %23 [[0], [1], [2, 3]] output_shape [%dim_9, %21, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_20 = tensor.expand_shape %39 [[0], [1], [2, 3]] output_shape [%dim_13, %37, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_21 = tensor.expand_shape %55 [[0], [1], [2, 3]] output_shape [%dim_17, %53, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %dim_22 = tensor.dim %expanded_19, %c0 : tensor<?x?x4x1xf32>
    %dim_23 = tensor.dim %expanded_19, %c1 : tensor<?x?x4x1xf32>
    %56 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4x3xf32>
    %dim_24 = tensor.dim %expanded_19, %c0 : tensor<?x?x4x1xf32>
    %dim_25 = tensor.dim %expanded_19, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice = tensor.insert_slice %expanded_19 into %56[0, 0, 0, 0] [%dim_24, %dim_25, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_26 = tensor.dim %expanded_20, %c0 : tensor<?x?x4x1xf32>
    %dim_27 = tensor.dim %expanded_20, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_28 = tensor.insert_slice %expanded_20 into %inserted_slice[0, 0, 0, 1] [%dim_26, %dim_27, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_29 = tensor.dim %expanded_21, %c0 : tensor<?x?x4x1xf32>
    %dim_30 = tensor.dim %expanded_21, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_31 = tensor.insert_slice %expanded_21 into %inserted_slice_28[0, 0, 0, 2] [%dim_29, %dim_30, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %expanded_32 = tensor.expand_shape %inserted_slice_31 [[0], [1], [2, 3], [4]] output_shape [%dim, %dim_5, 2, 2, 3] : tensor<?x?x4x3xf32> into tensor<?x?x2x2x3xf32>
    %dim_33 = tensor.dim %9, %c0 : tensor<?x?x2x3xf32>
    %dim_34 = tensor.dim %9, %c1 : tensor<?x?x2x3xf32>
    %expanded_35 = tensor.expand_shape %9 [[0], [1], [2], [3, 4]] output_shape [%dim_33, %dim_34, 2, 1, 3] : tensor<?x?x2x3xf32> into tensor<?x?x2x1x3xf32>
    %dim_36 = tensor.dim %expanded_32, %c0 : tensor<?x?x2x2x3xf32>
    %dim_37 = tensor.dim %expanded_32, %c1 : tensor<?x?x2x2x3xf32>
    %57 = tensor.empty(%dim_36, %dim_37) : tensor<?x?x2x2x3xf32>
    %58 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_32, %expanded_35 : tensor<?x?x2x2x3xf32>, tensor<?x?x2x1x3xf32>) outs(%57 : tensor<?x?x2x2x3xf32>) {
    ^bb0(%in: f32, %in_38: f32, %out: f32):
      %62 = arith.mulf %in, %in_38 : f32
      linalg.yield %62 : f32
    } -> tensor<?x?x2x2x3xf32>
    %59 = tensor.empty(%dim_36, %dim_37) : tensor<?x?x2x2xf32>
    %60 = linalg.fill ins(%cst_0 : f32) outs(%59 : tensor<?x?x2x2xf32>) -> tensor<?x?x2x2xf32>
    %61 = linalg.generic {indexing_maps = [#map6, #map8], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%58 : tensor<?x?x2x2x3xf32>) outs(%60 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %62 = arith.addf %in, %out : f32
      linalg.yield %62 : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed = tensor.collapse_shape %61 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    return %collapsed : tensor<?x?x4xf32>
  }
}

