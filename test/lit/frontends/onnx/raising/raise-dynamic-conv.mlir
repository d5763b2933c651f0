// RUN: convc-opt %s -convc-raise-dynamic-conv -canonicalize | FileCheck %s
// RUN: sed -e 's/%%21 = arith.minsi %%dim_10, %%c1 : index/%%21 = arith.minsi %%dim_10, %%c2 : index/' %s | convc-opt -convc-raise-dynamic-conv | FileCheck %s --check-prefix=MISS

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

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<() -> ()>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map6 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, 0, d4)>
#map7 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<?x?x4xf32> {convc.name = "x"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
    %c-1099511627776_i64 = arith.constant -1099511627776 : i64
    %c1099511627776_i64 = arith.constant 1099511627776 : i64
    %cst = arith.constant dense<2> : tensor<i64>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant dense<1> : tensor<i64>
    %c2 = arith.constant 2 : index
    %c1 = arith.constant 1 : index
    %cst_2 = arith.constant dense<[[0.871464312, -1.15973103, 0.294800937, -0.670569658, -1.46276653, -8.307290e-01], [-0.604829192, 1.03990245, 0.854441285, -1.33504546, -0.00800525676, 0.31825164], [1.24351549, -0.346571267, 1.23683619, -0.853429138, 0.38521713, -0.896980524], [-1.84927773, -0.183049664, -0.0194735769, 0.14243558, 0.587876678, -0.193002239]]> : tensor<4x6xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_3 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %0 = arith.index_cast %dim_3 : index to i64
    %from_elements = tensor.from_elements %0 : tensor<i64>
    %dim_4 = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %1 = tensor.empty(%dim_4, %dim_5) : tensor<?x?x6xf32>
    %2 = linalg.fill ins(%cst_0 : f32) outs(%1 : tensor<?x?x6xf32>) -> tensor<?x?x6xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %cst_2 : tensor<?x?x4xf32>, tensor<4x6xf32>) outs(%2 : tensor<?x?x6xf32>) {
    ^bb0(%in: f32, %in_34: f32, %out: f32):
      %57 = arith.mulf %in, %in_34 : f32
      %58 = arith.addf %out, %57 : f32
      linalg.yield %58 : f32
    } -> tensor<?x?x6xf32>
    %expanded = tensor.expand_shape %3 [[0], [1], [2, 3]] output_shape [%dim, %dim_3, 2, 3] : tensor<?x?x6xf32> into tensor<?x?x2x3xf32>
    %4 = convc.kernel_softmax %expanded : tensor<?x?x2x3xf32>
    %padded = tensor.pad %arg0 low[0, 1, 0] high[0, 1, 0] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index):
      tensor.yield %cst_0 : f32
    } : tensor<?x?x4xf32> to tensor<?x?x4xf32>
    %dim_6 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_7 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %5 = arith.minsi %dim_7, %c0 : index
    %6 = arith.maxsi %5, %c0 : index
    %7 = arith.minsi %0, %c1099511627776_i64 : i64
    %8 = arith.maxsi %7, %c-1099511627776_i64 : i64
    %9 = arith.index_cast %8 : i64 to index
    %10 = arith.cmpi slt, %9, %c0 : index
    %11 = arith.addi %9, %dim_7 : index
    %12 = arith.select %10, %11, %9 : index
    %13 = arith.minsi %12, %dim_7 : index
    %14 = arith.maxsi %13, %c0 : index
    %15 = arith.subi %14, %6 : index
    %16 = arith.maxsi %15, %c0 : index
    %17 = tensor.empty(%dim_6, %16) : tensor<?x?x4xf32>
    %18 = linalg.generic {indexing_maps = [#map3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%17 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %57 = linalg.index 0 : index
      %58 = linalg.index 1 : index
      %59 = arith.addi %6, %58 : index
      %60 = linalg.index 2 : index
      %extracted_34 = tensor.extract %padded[%57, %59, %60] : tensor<?x?x4xf32>
      linalg.yield %extracted_34 : f32
    } -> tensor<?x?x4xf32>
    %19 = tensor.empty() : tensor<i64>
    %20 = linalg.generic {indexing_maps = [#map4, #map4, #map4], iterator_types = []} ins(%from_elements, %cst_1 : tensor<i64>, tensor<i64>) outs(%19 : tensor<i64>) {
    ^bb0(%in: i64, %in_34: i64, %out: i64):
      %57 = arith.addi %in, %in_34 : i64
      linalg.yield %57 : i64
    } -> tensor<i64>
    %expanded_8 = tensor.expand_shape %20 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted = tensor.extract %expanded_8[%c0] : tensor<1xi64>
    %dim_9 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_10 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %21 = arith.minsi %dim_10, %c1 : index
    %22 = arith.maxsi %21, %c0 : index
    %23 = arith.minsi %extracted, %c1099511627776_i64 : i64
    %24 = arith.maxsi %23, %c-1099511627776_i64 : i64
    %25 = arith.index_cast %24 : i64 to index
    %26 = arith.cmpi slt, %25, %c0 : index
    %27 = arith.addi %25, %dim_10 : index
    %28 = arith.select %26, %27, %25 : index
    %29 = arith.minsi %28, %dim_10 : index
    %30 = arith.maxsi %29, %c0 : index
    %31 = arith.subi %30, %22 : index
    %32 = arith.maxsi %31, %c0 : index
    %33 = tensor.empty(%dim_9, %32) : tensor<?x?x4xf32>
    %34 = linalg.generic {indexing_maps = [#map3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%33 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %57 = linalg.index 0 : index
      %58 = linalg.index 1 : index
      %59 = arith.addi %22, %58 : index
      %60 = linalg.index 2 : index
      %extracted_34 = tensor.extract %padded[%57, %59, %60] : tensor<?x?x4xf32>
      linalg.yield %extracted_34 : f32
    } -> tensor<?x?x4xf32>
    %35 = tensor.empty() : tensor<i64>
    %36 = linalg.generic {indexing_maps = [#map4, #map4, #map4], iterator_types = []} ins(%from_elements, %cst : tensor<i64>, tensor<i64>) outs(%35 : tensor<i64>) {
    ^bb0(%in: i64, %in_34: i64, %out: i64):
      %57 = arith.addi %in, %in_34 : i64
      linalg.yield %57 : i64
    } -> tensor<i64>
    %expanded_11 = tensor.expand_shape %36 [] output_shape [1] : tensor<i64> into tensor<1xi64>
    %extracted_12 = tensor.extract %expanded_11[%c0] : tensor<1xi64>
    %dim_13 = tensor.dim %padded, %c0 : tensor<?x?x4xf32>
    %dim_14 = tensor.dim %padded, %c1 : tensor<?x?x4xf32>
    %37 = arith.minsi %dim_14, %c2 : index
    %38 = arith.maxsi %37, %c0 : index
    %39 = arith.minsi %extracted_12, %c1099511627776_i64 : i64
    %40 = arith.maxsi %39, %c-1099511627776_i64 : i64
    %41 = arith.index_cast %40 : i64 to index
    %42 = arith.cmpi slt, %41, %c0 : index
    %43 = arith.addi %41, %dim_14 : index
    %44 = arith.select %42, %43, %41 : index
    %45 = arith.minsi %44, %dim_14 : index
    %46 = arith.maxsi %45, %c0 : index
    %47 = arith.subi %46, %38 : index
    %48 = arith.maxsi %47, %c0 : index
    %49 = tensor.empty(%dim_13, %48) : tensor<?x?x4xf32>
    %50 = linalg.generic {indexing_maps = [#map3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%49 : tensor<?x?x4xf32>) {
    ^bb0(%out: f32):
      %57 = linalg.index 0 : index
      %58 = linalg.index 1 : index
      %59 = arith.addi %38, %58 : index
      %60 = linalg.index 2 : index
      %extracted_34 = tensor.extract %padded[%57, %59, %60] : tensor<?x?x4xf32>
      linalg.yield %extracted_34 : f32
    } -> tensor<?x?x4xf32>
    %expanded_15 = tensor.expand_shape %18 [[0], [1], [2, 3]] output_shape [%dim_6, %16, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_16 = tensor.expand_shape %34 [[0], [1], [2, 3]] output_shape [%dim_9, %32, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %expanded_17 = tensor.expand_shape %50 [[0], [1], [2, 3]] output_shape [%dim_13, %48, 4, 1] : tensor<?x?x4xf32> into tensor<?x?x4x1xf32>
    %dim_18 = tensor.dim %expanded_15, %c0 : tensor<?x?x4x1xf32>
    %dim_19 = tensor.dim %expanded_15, %c1 : tensor<?x?x4x1xf32>
    %51 = tensor.empty(%dim_18, %dim_19) : tensor<?x?x4x3xf32>
    %dim_20 = tensor.dim %expanded_15, %c0 : tensor<?x?x4x1xf32>
    %dim_21 = tensor.dim %expanded_15, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice = tensor.insert_slice %expanded_15 into %51[0, 0, 0, 0] [%dim_20, %dim_21, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_22 = tensor.dim %expanded_16, %c0 : tensor<?x?x4x1xf32>
    %dim_23 = tensor.dim %expanded_16, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_24 = tensor.insert_slice %expanded_16 into %inserted_slice[0, 0, 0, 1] [%dim_22, %dim_23, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %dim_25 = tensor.dim %expanded_17, %c0 : tensor<?x?x4x1xf32>
    %dim_26 = tensor.dim %expanded_17, %c1 : tensor<?x?x4x1xf32>
    %inserted_slice_27 = tensor.insert_slice %expanded_17 into %inserted_slice_24[0, 0, 0, 2] [%dim_25, %dim_26, 4, 1] [1, 1, 1, 1] : tensor<?x?x4x1xf32> into tensor<?x?x4x3xf32>
    %expanded_28 = tensor.expand_shape %inserted_slice_27 [[0], [1], [2, 3], [4]] output_shape [%dim, %dim_3, 2, 2, 3] : tensor<?x?x4x3xf32> into tensor<?x?x2x2x3xf32>
    %dim_29 = tensor.dim %4, %c0 : tensor<?x?x2x3xf32>
    %dim_30 = tensor.dim %4, %c1 : tensor<?x?x2x3xf32>
    %expanded_31 = tensor.expand_shape %4 [[0], [1], [2], [3, 4]] output_shape [%dim_29, %dim_30, 2, 1, 3] : tensor<?x?x2x3xf32> into tensor<?x?x2x1x3xf32>
    %dim_32 = tensor.dim %expanded_28, %c0 : tensor<?x?x2x2x3xf32>
    %dim_33 = tensor.dim %expanded_28, %c1 : tensor<?x?x2x2x3xf32>
    %52 = tensor.empty(%dim_32, %dim_33) : tensor<?x?x2x2x3xf32>
    %53 = linalg.generic {indexing_maps = [#map5, #map6, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_28, %expanded_31 : tensor<?x?x2x2x3xf32>, tensor<?x?x2x1x3xf32>) outs(%52 : tensor<?x?x2x2x3xf32>) {
    ^bb0(%in: f32, %in_34: f32, %out: f32):
      %57 = arith.mulf %in, %in_34 : f32
      linalg.yield %57 : f32
    } -> tensor<?x?x2x2x3xf32>
    %54 = tensor.empty(%dim_32, %dim_33) : tensor<?x?x2x2xf32>
    %55 = linalg.fill ins(%cst_0 : f32) outs(%54 : tensor<?x?x2x2xf32>) -> tensor<?x?x2x2xf32>
    %56 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%53 : tensor<?x?x2x2x3xf32>) outs(%55 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %57 = arith.addf %in, %out : f32
      linalg.yield %57 : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed = tensor.collapse_shape %56 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    return %collapsed : tensor<?x?x4xf32>
  }
}

