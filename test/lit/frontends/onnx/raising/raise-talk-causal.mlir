// RUN: convc-opt %s -convc-raise-talk -canonicalize | FileCheck %s
// RUN: sed -e 's/%30 = arith.minsi %dim_18, %c1 : index/%30 = arith.minsi %dim_18, %c3 : index/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e '0,/^ *%%94 = math.floor/s/%%94 = math.floor/%%94 = math.ceil/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/%%num = arith.constant 1.000000e+00/%%num = arith.constant 2.000000e+00/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/linalg.yield %%sig : f32/linalg.yield %%in_o : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS

// The causal (decoder) form of TaLK's window sums (C = 4, H = 2, Lmax = 2):
// e = t expanded to [B, T, C] instead of a clipped right edge, offsets
// [B, T, H] (a sigmoid's). It becomes one causal window_diff.
// CHECK-LABEL: func.func @main
// CHECK: %[[O:.*]] = linalg.generic
// CHECK: math.exp
// CHECK: %[[S:.*]] = convc.prefix_sum
// CHECK-NEXT: %[[Y:.*]] = convc.window_diff %[[S]], %[[O]] {causal, left_max = 2 : i64, right_max = 0 : i64} : tensor<?x?x4xf32>, tensor<?x?x2xf32>
// CHECK-NEXT: return %[[Y]]

// Near misses, nothing raised: up to three zero rows in front of the
// prefix sums instead of one; frac = u - Ceil(u) for the right edge;
// offsets 2 * sigmoid (in [0, 2]) or the graph input (unbounded), which
// window_diff would clamp to [0, 1].
// MISS-NOT: convc.window_diff
// MISS: tensor.insert_slice

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<() -> ()>
#map5 = affine_map<(d0, d1, d2) -> (0, d1, 0)>
module {
  func.func @main(%arg0: tensor<?x?x4xf32> {convc.name = "x"}, %o: tensor<?x?x2xf32> {convc.name = "o"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
    %c3 = arith.constant 3 : index
    %c1_i64 = arith.constant 1 : i64
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant dense<2.000000e+00> : tensor<f32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant dense<1.000000e+00> : tensor<f32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_3 = arith.constant dense<1> : tensor<i64>
    %c1 = arith.constant 1 : index
    %cst_4 = arith.constant dense<0.333333343> : tensor<f32>
    %c0 = arith.constant 0 : index
    %o_dim0 = tensor.dim %o, %c0 : tensor<?x?x2xf32>
    %o_dim1 = tensor.dim %o, %c1 : tensor<?x?x2xf32>
    %o_init = tensor.empty(%o_dim0, %o_dim1) : tensor<?x?x2xf32>
    %arg1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%o : tensor<?x?x2xf32>) outs(%o_init : tensor<?x?x2xf32>) {
    ^bb0(%in_o: f32, %out_o: f32):
      %neg = arith.negf %in_o : f32
      %exp = math.exp %neg : f32
      %one = arith.constant 1.000000e+00 : f32
      %num = arith.constant 1.000000e+00 : f32
      %den = arith.addf %one, %exp : f32
      %sig = arith.divf %num, %den : f32
      linalg.yield %sig : f32
    } -> tensor<?x?x2xf32>
    %dim = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %0 = tensor.empty(%dim, %dim_5) : tensor<?x?x4xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %cst_4 : tensor<?x?x4xf32>, tensor<f32>) outs(%0 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %2 = convc.prefix_sum %1 : tensor<?x?x4xf32>
    %dim_6 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_7 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %3 = arith.index_cast %dim_7 : index to i64
    %from_elements = tensor.from_elements %3 : tensor<i64>
    %dim_8 = tensor.dim %arg1, %c0 : tensor<?x?x2xf32>
    %dim_9 = tensor.dim %arg1, %c1 : tensor<?x?x2xf32>
    %4 = tensor.empty(%dim_8, %dim_9) : tensor<?x?x2xf32>
    %5 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel"]} outs(%4 : tensor<?x?x2xf32>) {
    ^bb0(%out: f32):
      %94 = linalg.index 0 : index
      %95 = linalg.index 1 : index
      %96 = linalg.index 2 : index
      %extracted_23 = tensor.extract %arg1[%94, %95, %96] : tensor<?x?x2xf32>
      linalg.yield %extracted_23 : f32
    } -> tensor<?x?x2xf32>
    %expanded = tensor.expand_shape %5 [[0], [1], [2, 3]] output_shape [%dim_8, %dim_9, 2, 1] : tensor<?x?x2xf32> into tensor<?x?x2x1xf32>
    %6 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x2x2xf32>
    %dim_10 = tensor.dim %expanded, %c0 : tensor<?x?x2x1xf32>
    %dim_11 = tensor.dim %expanded, %c1 : tensor<?x?x2x1xf32>
    %7 = tensor.empty(%dim_10, %dim_11) : tensor<?x?x2x2xf32>
    %8 = linalg.generic {indexing_maps = [#map2, #map3, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %6 : tensor<?x?x2x1xf32>, tensor<?x?x2x2xf32>) outs(%7 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed = tensor.collapse_shape %8 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    %9 = tensor.empty() : tensor<f32>
    %10 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = []} ins(%from_elements : tensor<i64>) outs(%9 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.sitofp %in : i64 to f32
      linalg.yield %94 : f32
    } -> tensor<f32>
    %extracted = tensor.extract %10[] : tensor<f32>
    %11 = math.ceil %extracted : f32
    %12 = arith.maximumf %11, %cst_0 : f32
    %13 = arith.fptosi %12 : f32 to i64
    %14 = arith.index_cast %13 : i64 to index
    %generated = tensor.generate %14 {
    ^bb0(%arg2: index):
      %94 = arith.index_cast %arg2 : index to i64
      %95 = arith.sitofp %94 : i64 to f32
      %96 = arith.addf %95, %cst_0 : f32
      tensor.yield %96 : f32
    } : tensor<?xf32>
    %expanded_12 = tensor.expand_shape %generated [[0, 1, 2]] output_shape [1, %dim_7, 1] : tensor<?xf32> into tensor<1x?x1xf32>
    %dim_13 = tensor.dim %collapsed, %c0 : tensor<?x?x4xf32>
    %dim_14 = tensor.dim %collapsed, %c1 : tensor<?x?x4xf32>
    %15 = tensor.empty(%dim_13, %dim_14) : tensor<?x?x4xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%collapsed, %cst : tensor<?x?x4xf32>, tensor<f32>) outs(%15 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %dim_15 = tensor.dim %expanded_12, %c1 : tensor<1x?x1xf32>
    %17 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %18 = linalg.generic {indexing_maps = [#map5, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_12, %16 : tensor<1x?x1xf32>, tensor<?x?x4xf32>) outs(%17 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %19 = tensor.empty() : tensor<i64>
    %20 = linalg.generic {indexing_maps = [#map4, #map4, #map4], iterator_types = []} ins(%from_elements, %cst_3 : tensor<i64>, tensor<i64>) outs(%19 : tensor<i64>) {
    ^bb0(%in: i64, %in_23: i64, %out: i64):
      %94 = arith.subi %in, %in_23 : i64
      linalg.yield %94 : i64
    } -> tensor<i64>
    %21 = tensor.empty() : tensor<f32>
    %22 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = []} ins(%20 : tensor<i64>) outs(%21 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.sitofp %in : i64 to f32
      linalg.yield %94 : f32
    } -> tensor<f32>
    %23 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %24 = linalg.generic {indexing_maps = [#map, #map1, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %cst_2, %22 : tensor<?x?x4xf32>, tensor<f32>, tensor<f32>) outs(%23 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %in_24: f32, %out: f32):
      %94 = arith.maximumf %in, %in_23 : f32
      %95 = arith.minimumf %94, %in_24 : f32
      linalg.yield %95 : f32
    } -> tensor<?x?x4xf32>
    %25 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x4xf32>
    %dim_16 = tensor.dim %expanded_12, %c1 : tensor<1x?x1xf32>
    %26 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %27 = linalg.generic {indexing_maps = [#map5, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_12, %25 : tensor<1x?x1xf32>, tensor<?x?x4xf32>) outs(%26 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x?x4xf32>
    %dim_17 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_18 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %28 = arith.minsi %dim_18, %c0 : index
    %29 = arith.maxsi %28, %c0 : index
    %30 = arith.minsi %dim_18, %c1 : index
    %31 = arith.maxsi %30, %c0 : index
    %32 = arith.subi %31, %29 : index
    %33 = arith.maxsi %32, %c0 : index
    %34 = tensor.empty(%dim_17, %33) : tensor<?x?x4xf32>
    %35 = linalg.fill ins(%cst_0 : f32) outs(%34 : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
    %dim_19 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %36 = arith.addi %33, %dim_19 : index
    %37 = tensor.empty(%dim_17, %36) : tensor<?x?x4xf32>
    %inserted_slice = tensor.insert_slice %35 into %37[0, 0, 0] [%dim_17, %33, 4] [1, 1, 1] : tensor<?x?x4xf32> into tensor<?x?x4xf32>
    %dim_20 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_21 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %inserted_slice_22 = tensor.insert_slice %2 into %inserted_slice[0, %33, 0] [%dim_20, %dim_21, 4] [1, 1, 1] : tensor<?x?x4xf32> into tensor<?x?x4xf32>
    %38 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %39 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%27 : tensor<?x?x4xf32>) outs(%38 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %94 = math.floor %in : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %40 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %41 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%27 : tensor<?x?x4xf32>) outs(%40 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %94 = math.ceil %in : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %42 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %43 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%27, %39 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%42 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %44 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %45 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%39, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%44 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %46 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xi64>
    %47 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%45 : tensor<?x?x4xf32>) outs(%46 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %94 = arith.fptosi %in : f32 to i64
      linalg.yield %94 : i64
    } -> tensor<?x?x4xi64>
    %48 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %49 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%47 : tensor<?x?x4xi64>) outs(%48 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.index_cast %36 : index to i64
      %95 = arith.cmpi slt, %in, %c0_i64 : i64
      %96 = arith.addi %in, %94 : i64
      %97 = arith.select %95, %96, %in : i64
      %98 = arith.maxsi %97, %c0_i64 : i64
      %99 = arith.subi %94, %c1_i64 : i64
      %100 = arith.minsi %98, %99 : i64
      %101 = arith.subi %dim_17, %c1 : index
      %102 = linalg.index 0 : index
      %103 = arith.minsi %102, %101 : index
      %104 = arith.index_cast %100 : i64 to index
      %105 = linalg.index 2 : index
      %106 = arith.minsi %105, %c3 : index
      %extracted_23 = tensor.extract %inserted_slice_22[%103, %104, %106] : tensor<?x?x4xf32>
      linalg.yield %extracted_23 : f32
    } -> tensor<?x?x4xf32>
    %50 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %51 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%41, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%50 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %52 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xi64>
    %53 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%51 : tensor<?x?x4xf32>) outs(%52 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %94 = arith.fptosi %in : f32 to i64
      linalg.yield %94 : i64
    } -> tensor<?x?x4xi64>
    %54 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %55 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%53 : tensor<?x?x4xi64>) outs(%54 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.index_cast %36 : index to i64
      %95 = arith.cmpi slt, %in, %c0_i64 : i64
      %96 = arith.addi %in, %94 : i64
      %97 = arith.select %95, %96, %in : i64
      %98 = arith.maxsi %97, %c0_i64 : i64
      %99 = arith.subi %94, %c1_i64 : i64
      %100 = arith.minsi %98, %99 : i64
      %101 = arith.subi %dim_17, %c1 : index
      %102 = linalg.index 0 : index
      %103 = arith.minsi %102, %101 : index
      %104 = arith.index_cast %100 : i64 to index
      %105 = linalg.index 2 : index
      %106 = arith.minsi %105, %c3 : index
      %extracted_23 = tensor.extract %inserted_slice_22[%103, %104, %106] : tensor<?x?x4xf32>
      linalg.yield %extracted_23 : f32
    } -> tensor<?x?x4xf32>
    %56 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %57 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cst_1, %43 : tensor<f32>, tensor<?x?x4xf32>) outs(%56 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %58 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %59 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%57, %49 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%58 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %60 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %61 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%43, %55 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%60 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %62 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %63 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%59, %61 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%62 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %64 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %65 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%24, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%64 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %66 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %67 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%65 : tensor<?x?x4xf32>) outs(%66 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %94 = math.floor %in : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %68 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %69 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%65 : tensor<?x?x4xf32>) outs(%68 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %94 = math.ceil %in : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %70 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %71 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%65, %67 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%70 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %72 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %73 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%67, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%72 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %74 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xi64>
    %75 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%73 : tensor<?x?x4xf32>) outs(%74 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %94 = arith.fptosi %in : f32 to i64
      linalg.yield %94 : i64
    } -> tensor<?x?x4xi64>
    %76 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %77 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%75 : tensor<?x?x4xi64>) outs(%76 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.index_cast %36 : index to i64
      %95 = arith.cmpi slt, %in, %c0_i64 : i64
      %96 = arith.addi %in, %94 : i64
      %97 = arith.select %95, %96, %in : i64
      %98 = arith.maxsi %97, %c0_i64 : i64
      %99 = arith.subi %94, %c1_i64 : i64
      %100 = arith.minsi %98, %99 : i64
      %101 = arith.subi %dim_17, %c1 : index
      %102 = linalg.index 0 : index
      %103 = arith.minsi %102, %101 : index
      %104 = arith.index_cast %100 : i64 to index
      %105 = linalg.index 2 : index
      %106 = arith.minsi %105, %c3 : index
      %extracted_23 = tensor.extract %inserted_slice_22[%103, %104, %106] : tensor<?x?x4xf32>
      linalg.yield %extracted_23 : f32
    } -> tensor<?x?x4xf32>
    %78 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %79 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%69, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%78 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %80 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xi64>
    %81 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%79 : tensor<?x?x4xf32>) outs(%80 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %94 = arith.fptosi %in : f32 to i64
      linalg.yield %94 : i64
    } -> tensor<?x?x4xi64>
    %82 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %83 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%81 : tensor<?x?x4xi64>) outs(%82 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %94 = arith.index_cast %36 : index to i64
      %95 = arith.cmpi slt, %in, %c0_i64 : i64
      %96 = arith.addi %in, %94 : i64
      %97 = arith.select %95, %96, %in : i64
      %98 = arith.maxsi %97, %c0_i64 : i64
      %99 = arith.subi %94, %c1_i64 : i64
      %100 = arith.minsi %98, %99 : i64
      %101 = arith.subi %dim_17, %c1 : index
      %102 = linalg.index 0 : index
      %103 = arith.minsi %102, %101 : index
      %104 = arith.index_cast %100 : i64 to index
      %105 = linalg.index 2 : index
      %106 = arith.minsi %105, %c3 : index
      %extracted_23 = tensor.extract %inserted_slice_22[%103, %104, %106] : tensor<?x?x4xf32>
      linalg.yield %extracted_23 : f32
    } -> tensor<?x?x4xf32>
    %84 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %85 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cst_1, %71 : tensor<f32>, tensor<?x?x4xf32>) outs(%84 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %86 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %87 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%85, %77 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%86 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %88 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %89 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%71, %83 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%88 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.mulf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %90 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %91 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%87, %89 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%90 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.addf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    %92 = tensor.empty(%dim_6, %dim_16) : tensor<?x?x4xf32>
    %93 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%63, %91 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%92 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_23: f32, %out: f32):
      %94 = arith.subf %in, %in_23 : f32
      linalg.yield %94 : f32
    } -> tensor<?x?x4xf32>
    return %93 : tensor<?x?x4xf32>
  }
}

