// RUN: convc-opt %s -convc-raise-talk -canonicalize | FileCheck %s
// RUN: sed -e 's/%102 = arith.subi %in, %in_30 : i64/%102 = arith.addi %in, %in_30 : i64/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/arith.addi %104, %c2 : index/arith.addi %104, %c1 : index/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/%%num = arith.constant 1.000000e+00/%%num = arith.constant 2.000000e+00/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/linalg.yield %%sig : f32/linalg.yield %%in_o : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/linalg.yield %%sig : f32/%%z = arith.constant 0.0 : f32 %%lo = arith.maximumf %%in_o, %%z : f32 %%c = arith.minimumf %%lo, %%one : f32 linalg.yield %%c : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=BOUNDED
// RUN: sed -e 's/linalg.yield %%sig : f32/%%t = math.tanh %%in_o : f32 %%a = math.absf %%t : f32 linalg.yield %%a : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=BOUNDED
// RUN: sed -e 's/linalg.yield %%sig : f32/%%k = arith.constant 1.0e20 : f32 %%b1 = arith.mulf %%sig, %%k : f32 %%b2 = arith.mulf %%b1, %%k : f32 %%b3 = arith.divf %%b2, %%k : f32 %%b4 = arith.divf %%b3, %%k : f32 linalg.yield %%b4 : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/linalg.yield %%sig : f32/%%true = arith.constant true %%nan = arith.constant 0x7FC00000 : f32 %%z = arith.constant 0.0 : f32 %%s = arith.select %%true, %%nan, %%in_o : f32 %%m = arith.maximumf %%s, %%z : f32 %%p = arith.mulf %%sig, %%m : f32 linalg.yield %%p : f32/' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/%%arg1 = linalg.generic/%%sigT = linalg.generic/' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%e1 = tensor.empty(%%o_dim1, %%o_dim0) : tensor<?x?x4xf32>' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%tr = linalg.transpose ins(%%sigT : tensor<?x?x4xf32>) outs(%%e1 : tensor<?x?x4xf32>) permutation = [1, 0, 2]' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%e2 = tensor.empty(%%o_dim0, %%o_dim1) : tensor<?x?x4xf32>' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%arg1 = linalg.transpose ins(%%tr : tensor<?x?x4xf32>) outs(%%e2 : tensor<?x?x4xf32>) permutation = [1, 0, 2]' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=BOUNDED
// RUN: sed -e 's/%%arg1 = linalg.generic/%%sigT = linalg.generic/' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%arg1 = tensor.pad %%sigT low[0, 0, 0] high[0, 0, 0] { ^bb0(%%i: index, %%j: index, %%k: index): %%pv = arith.constant 5.000000e-01 : f32 tensor.yield %%pv : f32 } : tensor<?x?x4xf32> to tensor<?x?x4xf32>' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=BOUNDED
// RUN: sed -e 's/%%arg1 = linalg.generic/%%sigT = linalg.generic/' -e '/^    %%dim = tensor.dim %%arg0, %%c0 :/i %%arg1 = tensor.pad %%sigT low[0, 0, 0] high[0, 0, 0] { ^bb0(%%i: index, %%j: index, %%k: index): %%pv = arith.constant 2.000000e+00 : f32 tensor.yield %%pv : f32 } : tensor<?x?x4xf32> to tensor<?x?x4xf32>' %s | convc-opt -convc-raise-talk | FileCheck %s --check-prefix=MISS

// TaLK's window sums (C = 4, H = 2, Lmax = 2, Rmax = 1) exported by
// torch.onnx from frontends/pytorch's window_diff(prefix_sum(x / 4), o), as
// the importer emits them (then canonicalised): a zero row concatenated in
// front of the prefix sums, t = Range(0, T), a = Clip(t - lt * 2, 0, T - 1),
// e = Clip(t + rt, 0, T - 1) (the exporter dropped rt * 1), interpolated
// GatherElements at Floor/Ceil + 1, and S~(e) - S~(a - 1), with offsets a
// sigmoid's [B, T, 2H]. It becomes one window_diff of the prefix sums and
// the offsets.
// CHECK-LABEL: func.func @main
// CHECK: %[[O:.*]] = linalg.generic
// CHECK: math.exp
// CHECK: %[[S:.*]] = convc.prefix_sum
// CHECK-NEXT: %[[Y:.*]] = convc.window_diff %[[S]], %[[O]] {left_max = 2 : i64, right_max = 1 : i64} : tensor<?x?x4xf32>, tensor<?x?x4xf32>
// CHECK-NEXT: return %[[Y]]

// Offsets Clip(o, 0, 1) or |tanh(o)| are in [0, 1] too, and so is a sigmoid
// transposed twice or padded with 0.5.
// BOUNDED: convc.window_diff

// Near misses, nothing raised: the clip's upper bound is T + 1 instead of
// T - 1; rt reads o[..., 1:3] instead of o[..., 2:4]; offsets 2 * sigmoid
// (in [0, 2]) or the graph input (unbounded), which window_diff would clamp
// to [0, 1]; sigmoid * 1e20 * 1e20 / 1e20 / 1e20 (1 in the reals, inf in
// f32); sigmoid * max(select(c, NaN, o), 0) (a NaN constant bounds nothing);
// a sigmoid padded with 2.
// MISS-NOT: convc.window_diff
// MISS: tensor.insert_slice

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<() -> ()>
#map5 = affine_map<(d0, d1, d2) -> (0, d1, 0)>
module {
  func.func @main(%arg0: tensor<?x?x4xf32> {convc.name = "x"}, %o: tensor<?x?x4xf32> {convc.name = "o"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
    %c3 = arith.constant 3 : index
    %c1_i64 = arith.constant 1 : i64
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant dense<2.000000e+00> : tensor<f32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant dense<1.000000e+00> : tensor<f32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<f32>
    %c2 = arith.constant 2 : index
    %cst_3 = arith.constant dense<1> : tensor<i64>
    %c1 = arith.constant 1 : index
    %cst_4 = arith.constant dense<2.500000e-01> : tensor<f32>
    %c0 = arith.constant 0 : index
    %o_dim0 = tensor.dim %o, %c0 : tensor<?x?x4xf32>
    %o_dim1 = tensor.dim %o, %c1 : tensor<?x?x4xf32>
    %o_init = tensor.empty(%o_dim0, %o_dim1) : tensor<?x?x4xf32>
    %arg1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%o : tensor<?x?x4xf32>) outs(%o_init : tensor<?x?x4xf32>) {
    ^bb0(%in_o: f32, %out_o: f32):
      %neg = arith.negf %in_o : f32
      %exp = math.exp %neg : f32
      %one = arith.constant 1.000000e+00 : f32
      %num = arith.constant 1.000000e+00 : f32
      %den = arith.addf %one, %exp : f32
      %sig = arith.divf %num, %den : f32
      linalg.yield %sig : f32
    } -> tensor<?x?x4xf32>
    %dim = tensor.dim %arg0, %c0 : tensor<?x?x4xf32>
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?x4xf32>
    %0 = tensor.empty(%dim, %dim_5) : tensor<?x?x4xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %cst_4 : tensor<?x?x4xf32>, tensor<f32>) outs(%0 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %2 = convc.prefix_sum %1 : tensor<?x?x4xf32>
    %dim_6 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_7 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %3 = arith.index_cast %dim_7 : index to i64
    %from_elements = tensor.from_elements %3 : tensor<i64>
    %dim_8 = tensor.dim %arg1, %c0 : tensor<?x?x4xf32>
    %dim_9 = tensor.dim %arg1, %c1 : tensor<?x?x4xf32>
    %4 = tensor.empty(%dim_8, %dim_9) : tensor<?x?x2xf32>
    %5 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel"]} outs(%4 : tensor<?x?x2xf32>) {
    ^bb0(%out: f32):
      %102 = linalg.index 0 : index
      %103 = linalg.index 1 : index
      %104 = linalg.index 2 : index
      %extracted_30 = tensor.extract %arg1[%102, %103, %104] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x2xf32>
    %expanded = tensor.expand_shape %5 [[0], [1], [2, 3]] output_shape [%dim_8, %dim_9, 2, 1] : tensor<?x?x2xf32> into tensor<?x?x2x1xf32>
    %6 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x2x2xf32>
    %dim_10 = tensor.dim %expanded, %c0 : tensor<?x?x2x1xf32>
    %dim_11 = tensor.dim %expanded, %c1 : tensor<?x?x2x1xf32>
    %7 = tensor.empty(%dim_10, %dim_11) : tensor<?x?x2x2xf32>
    %8 = linalg.generic {indexing_maps = [#map2, #map3, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %6 : tensor<?x?x2x1xf32>, tensor<?x?x2x2xf32>) outs(%7 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed = tensor.collapse_shape %8 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    %9 = tensor.empty() : tensor<f32>
    %10 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = []} ins(%from_elements : tensor<i64>) outs(%9 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.sitofp %in : i64 to f32
      linalg.yield %102 : f32
    } -> tensor<f32>
    %extracted = tensor.extract %10[] : tensor<f32>
    %11 = math.ceil %extracted : f32
    %12 = arith.maximumf %11, %cst_0 : f32
    %13 = arith.fptosi %12 : f32 to i64
    %14 = arith.index_cast %13 : i64 to index
    %generated = tensor.generate %14 {
    ^bb0(%arg2: index):
      %102 = arith.index_cast %arg2 : index to i64
      %103 = arith.sitofp %102 : i64 to f32
      %104 = arith.addf %103, %cst_0 : f32
      tensor.yield %104 : f32
    } : tensor<?xf32>
    %expanded_12 = tensor.expand_shape %generated [[0, 1, 2]] output_shape [1, %dim_7, 1] : tensor<?xf32> into tensor<1x?x1xf32>
    %dim_13 = tensor.dim %collapsed, %c0 : tensor<?x?x4xf32>
    %dim_14 = tensor.dim %collapsed, %c1 : tensor<?x?x4xf32>
    %15 = tensor.empty(%dim_13, %dim_14) : tensor<?x?x4xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%collapsed, %cst : tensor<?x?x4xf32>, tensor<f32>) outs(%15 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %dim_15 = tensor.dim %expanded_12, %c1 : tensor<1x?x1xf32>
    %17 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %18 = linalg.generic {indexing_maps = [#map5, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_12, %16 : tensor<1x?x1xf32>, tensor<?x?x4xf32>) outs(%17 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %19 = tensor.empty() : tensor<i64>
    %20 = linalg.generic {indexing_maps = [#map4, #map4, #map4], iterator_types = []} ins(%from_elements, %cst_3 : tensor<i64>, tensor<i64>) outs(%19 : tensor<i64>) {
    ^bb0(%in: i64, %in_30: i64, %out: i64):
      %102 = arith.subi %in, %in_30 : i64
      linalg.yield %102 : i64
    } -> tensor<i64>
    %21 = tensor.empty() : tensor<f32>
    %22 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = []} ins(%20 : tensor<i64>) outs(%21 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.sitofp %in : i64 to f32
      linalg.yield %102 : f32
    } -> tensor<f32>
    %23 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %24 = linalg.generic {indexing_maps = [#map, #map1, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %cst_2, %22 : tensor<?x?x4xf32>, tensor<f32>, tensor<f32>) outs(%23 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %in_31: f32, %out: f32):
      %102 = arith.maximumf %in, %in_30 : f32
      %103 = arith.minimumf %102, %in_31 : f32
      linalg.yield %103 : f32
    } -> tensor<?x?x4xf32>
    %dim_16 = tensor.dim %arg1, %c0 : tensor<?x?x4xf32>
    %dim_17 = tensor.dim %arg1, %c1 : tensor<?x?x4xf32>
    %25 = tensor.empty(%dim_16, %dim_17) : tensor<?x?x2xf32>
    %26 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel"]} outs(%25 : tensor<?x?x2xf32>) {
    ^bb0(%out: f32):
      %102 = linalg.index 0 : index
      %103 = linalg.index 1 : index
      %104 = linalg.index 2 : index
      %105 = arith.addi %104, %c2 : index
      %extracted_30 = tensor.extract %arg1[%102, %103, %105] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x2xf32>
    %expanded_18 = tensor.expand_shape %26 [[0], [1], [2, 3]] output_shape [%dim_16, %dim_17, 2, 1] : tensor<?x?x2xf32> into tensor<?x?x2x1xf32>
    %27 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x2x2xf32>
    %dim_19 = tensor.dim %expanded_18, %c0 : tensor<?x?x2x1xf32>
    %dim_20 = tensor.dim %expanded_18, %c1 : tensor<?x?x2x1xf32>
    %28 = tensor.empty(%dim_19, %dim_20) : tensor<?x?x2x2xf32>
    %29 = linalg.generic {indexing_maps = [#map2, #map3, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_18, %27 : tensor<?x?x2x1xf32>, tensor<?x?x2x2xf32>) outs(%28 : tensor<?x?x2x2xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x?x2x2xf32>
    %collapsed_21 = tensor.collapse_shape %29 [[0], [1], [2, 3]] : tensor<?x?x2x2xf32> into tensor<?x?x4xf32>
    %dim_22 = tensor.dim %collapsed_21, %c0 : tensor<?x?x4xf32>
    %dim_23 = tensor.dim %expanded_12, %c1 : tensor<1x?x1xf32>
    %30 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %31 = linalg.generic {indexing_maps = [#map5, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_12, %collapsed_21 : tensor<1x?x1xf32>, tensor<?x?x4xf32>) outs(%30 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %32 = tensor.empty() : tensor<f32>
    %33 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = []} ins(%20 : tensor<i64>) outs(%32 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.sitofp %in : i64 to f32
      linalg.yield %102 : f32
    } -> tensor<f32>
    %34 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %35 = linalg.generic {indexing_maps = [#map, #map1, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%31, %cst_2, %33 : tensor<?x?x4xf32>, tensor<f32>, tensor<f32>) outs(%34 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %in_31: f32, %out: f32):
      %102 = arith.maximumf %in, %in_30 : f32
      %103 = arith.minimumf %102, %in_31 : f32
      linalg.yield %103 : f32
    } -> tensor<?x?x4xf32>
    %dim_24 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_25 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %36 = arith.minsi %dim_25, %c0 : index
    %37 = arith.maxsi %36, %c0 : index
    %38 = arith.minsi %dim_25, %c1 : index
    %39 = arith.maxsi %38, %c0 : index
    %40 = arith.subi %39, %37 : index
    %41 = arith.maxsi %40, %c0 : index
    %42 = tensor.empty(%dim_24, %41) : tensor<?x?x4xf32>
    %43 = linalg.fill ins(%cst_0 : f32) outs(%42 : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
    %dim_26 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %44 = arith.addi %41, %dim_26 : index
    %45 = tensor.empty(%dim_24, %44) : tensor<?x?x4xf32>
    %inserted_slice = tensor.insert_slice %43 into %45[0, 0, 0] [%dim_24, %41, 4] [1, 1, 1] : tensor<?x?x4xf32> into tensor<?x?x4xf32>
    %dim_27 = tensor.dim %2, %c0 : tensor<?x?x4xf32>
    %dim_28 = tensor.dim %2, %c1 : tensor<?x?x4xf32>
    %inserted_slice_29 = tensor.insert_slice %2 into %inserted_slice[0, %41, 0] [%dim_27, %dim_28, 4] [1, 1, 1] : tensor<?x?x4xf32> into tensor<?x?x4xf32>
    %46 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %47 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%35 : tensor<?x?x4xf32>) outs(%46 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %102 = math.floor %in : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %48 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %49 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%35 : tensor<?x?x4xf32>) outs(%48 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %102 = math.ceil %in : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %50 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %51 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%35, %47 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%50 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %52 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %53 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%47, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%52 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %54 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xi64>
    %55 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%53 : tensor<?x?x4xf32>) outs(%54 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %102 = arith.fptosi %in : f32 to i64
      linalg.yield %102 : i64
    } -> tensor<?x?x4xi64>
    %56 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %57 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%55 : tensor<?x?x4xi64>) outs(%56 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.index_cast %44 : index to i64
      %103 = arith.cmpi slt, %in, %c0_i64 : i64
      %104 = arith.addi %in, %102 : i64
      %105 = arith.select %103, %104, %in : i64
      %106 = arith.maxsi %105, %c0_i64 : i64
      %107 = arith.subi %102, %c1_i64 : i64
      %108 = arith.minsi %106, %107 : i64
      %109 = arith.subi %dim_24, %c1 : index
      %110 = linalg.index 0 : index
      %111 = arith.minsi %110, %109 : index
      %112 = arith.index_cast %108 : i64 to index
      %113 = linalg.index 2 : index
      %114 = arith.minsi %113, %c3 : index
      %extracted_30 = tensor.extract %inserted_slice_29[%111, %112, %114] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x4xf32>
    %58 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %59 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%49, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%58 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %60 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xi64>
    %61 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%59 : tensor<?x?x4xf32>) outs(%60 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %102 = arith.fptosi %in : f32 to i64
      linalg.yield %102 : i64
    } -> tensor<?x?x4xi64>
    %62 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %63 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%61 : tensor<?x?x4xi64>) outs(%62 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.index_cast %44 : index to i64
      %103 = arith.cmpi slt, %in, %c0_i64 : i64
      %104 = arith.addi %in, %102 : i64
      %105 = arith.select %103, %104, %in : i64
      %106 = arith.maxsi %105, %c0_i64 : i64
      %107 = arith.subi %102, %c1_i64 : i64
      %108 = arith.minsi %106, %107 : i64
      %109 = arith.subi %dim_24, %c1 : index
      %110 = linalg.index 0 : index
      %111 = arith.minsi %110, %109 : index
      %112 = arith.index_cast %108 : i64 to index
      %113 = linalg.index 2 : index
      %114 = arith.minsi %113, %c3 : index
      %extracted_30 = tensor.extract %inserted_slice_29[%111, %112, %114] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x4xf32>
    %64 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %65 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cst_1, %51 : tensor<f32>, tensor<?x?x4xf32>) outs(%64 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %66 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %67 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%65, %57 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%66 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %68 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %69 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%51, %63 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%68 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %70 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %71 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%67, %69 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%70 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %72 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %73 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%24, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%72 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %74 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %75 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%73 : tensor<?x?x4xf32>) outs(%74 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %102 = math.floor %in : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %76 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %77 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%73 : tensor<?x?x4xf32>) outs(%76 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %102 = math.ceil %in : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %78 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %79 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%73, %75 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%78 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %80 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %81 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%75, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%80 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %82 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xi64>
    %83 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%81 : tensor<?x?x4xf32>) outs(%82 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %102 = arith.fptosi %in : f32 to i64
      linalg.yield %102 : i64
    } -> tensor<?x?x4xi64>
    %84 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %85 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%83 : tensor<?x?x4xi64>) outs(%84 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.index_cast %44 : index to i64
      %103 = arith.cmpi slt, %in, %c0_i64 : i64
      %104 = arith.addi %in, %102 : i64
      %105 = arith.select %103, %104, %in : i64
      %106 = arith.maxsi %105, %c0_i64 : i64
      %107 = arith.subi %102, %c1_i64 : i64
      %108 = arith.minsi %106, %107 : i64
      %109 = arith.subi %dim_24, %c1 : index
      %110 = linalg.index 0 : index
      %111 = arith.minsi %110, %109 : index
      %112 = arith.index_cast %108 : i64 to index
      %113 = linalg.index 2 : index
      %114 = arith.minsi %113, %c3 : index
      %extracted_30 = tensor.extract %inserted_slice_29[%111, %112, %114] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x4xf32>
    %86 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %87 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%77, %cst_1 : tensor<?x?x4xf32>, tensor<f32>) outs(%86 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %88 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xi64>
    %89 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%87 : tensor<?x?x4xf32>) outs(%88 : tensor<?x?x4xi64>) {
    ^bb0(%in: f32, %out: i64):
      %102 = arith.fptosi %in : f32 to i64
      linalg.yield %102 : i64
    } -> tensor<?x?x4xi64>
    %90 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %91 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%89 : tensor<?x?x4xi64>) outs(%90 : tensor<?x?x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %102 = arith.index_cast %44 : index to i64
      %103 = arith.cmpi slt, %in, %c0_i64 : i64
      %104 = arith.addi %in, %102 : i64
      %105 = arith.select %103, %104, %in : i64
      %106 = arith.maxsi %105, %c0_i64 : i64
      %107 = arith.subi %102, %c1_i64 : i64
      %108 = arith.minsi %106, %107 : i64
      %109 = arith.subi %dim_24, %c1 : index
      %110 = linalg.index 0 : index
      %111 = arith.minsi %110, %109 : index
      %112 = arith.index_cast %108 : i64 to index
      %113 = linalg.index 2 : index
      %114 = arith.minsi %113, %c3 : index
      %extracted_30 = tensor.extract %inserted_slice_29[%111, %112, %114] : tensor<?x?x4xf32>
      linalg.yield %extracted_30 : f32
    } -> tensor<?x?x4xf32>
    %92 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %93 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cst_1, %79 : tensor<f32>, tensor<?x?x4xf32>) outs(%92 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %94 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %95 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%93, %85 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%94 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %96 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %97 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%79, %91 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%96 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.mulf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %98 = tensor.empty(%dim_13, %dim_15) : tensor<?x?x4xf32>
    %99 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%95, %97 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%98 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.addf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    %100 = tensor.empty(%dim_22, %dim_23) : tensor<?x?x4xf32>
    %101 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%71, %99 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) outs(%100 : tensor<?x?x4xf32>) {
    ^bb0(%in: f32, %in_30: f32, %out: f32):
      %102 = arith.subf %in, %in_30 : f32
      linalg.yield %102 : f32
    } -> tensor<?x?x4xf32>
    return %101 : tensor<?x?x4xf32>
  }
}

