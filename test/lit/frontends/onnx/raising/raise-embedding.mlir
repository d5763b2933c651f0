// RUN: convc-opt %s -convc-raise-embedding -canonicalize | FileCheck %s
// RUN: sed -e 's/0.0464158803/0.0474158803/' %s | convc-opt -convc-raise-embedding | FileCheck %s --check-prefix=MISS
// RUN: sed -e 's/dense<0.000000e+00> : tensor<1x8xf32>/dense<1.000000e+00> : tensor<1x8xf32>/' %s | convc-opt -convc-raise-embedding | FileCheck %s --check-prefix=MISS

// fairseq's embedding (V = 10, d = 8, pad = 1) exported by torch.onnx from
// frontends/pytorch's embed_tokens, as the importer emits it (then
// canonicalised): the non-pad mask, positions from an int64 CumSum (an
// scf.for scan), the Sin/Cos table over Range(0, pad + T + 1) with row pad
// zeroed, sqrt(d) * E[tokens] + PE[positions], times the mask. It becomes
// one convc.embedding.
// CHECK-LABEL: func.func @main
// CHECK: %[[Y:.*]] = convc.embedding %arg0, %{{.*}} {check_ids, padding_idx = 1 : i64, scale = 2.8284270763397217 : f64, sinusoidal} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
// CHECK-NOT: scf.for
// CHECK: return %[[Y]]

// Near misses, nothing raised: one frequency off by 2%; the pad row of the
// table set to ones instead of zeros.
// MISS-NOT: convc.embedding
// MISS: scf.for

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> ()>
#map2 = affine_map<() -> ()>
#map3 = affine_map<(d0, d1) -> (d0, 0)>
#map4 = affine_map<(d0, d1) -> (0, d1)>
#map5 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map6 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map7 = affine_map<(d0, d1, d2) -> ()>
#map8 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
module {
  func.func @main(%arg0: tensor<?x?xi64> {convc.name = "tokens"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
    %c9_i64 = arith.constant 9 : i64
    %c10_i64 = arith.constant 10 : i64
    %cst = arith.constant dense<0.000000e+00> : tensor<1x8xf32>
    %cst_0 = arith.constant dense<2.82842708> : tensor<f32>
    %c1_i64 = arith.constant 1 : i64
    %cst_1 = arith.constant dense<[[1.000000e+00, 0.0464158803, 0.00215443387, 9.99999901E-5]]> : tensor<1x4xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %c0_i64 = arith.constant 0 : i64
    %true = arith.constant true
    %c1 = arith.constant 1 : index
    %cst_3 = arith.constant dense<[[-0.0572221838, 0.817045986, 7.209610e-01, 0.668554961, -0.673194944, 4.1511941, -0.551970124, 0.897351205], [-1.36492717, -0.344581127, 0.373491645, 1.18697953, -0.143327445, -0.943697154, 2.08027768, 0.197544947], [0.237351015, -1.1338098, -0.938271522, -1.18364179, 0.558126092, 0.469656408, -1.00581622, -0.721488118], [-0.610255718, -0.330834925, 0.187833607, 1.09438384, -0.503265619, 0.30306074, -0.398416966, -1.34475696], [1.39971495, -0.948035895, -2.57663298, 2.21784878, -1.67646217, 1.49979866, -0.604276299, 5.965530e-01], [0.55859524, 0.362433225, 0.937440872, 0.665460348, 1.13462615, -1.26983261, 1.62680733, -0.162354529], [-2.27965236, -1.54692292, 0.973504126, -1.11637008, -0.337495595, 0.18856062, -0.0337774679, 0.472622812], [-0.472774506, -2.523910e+00, -0.136567593, -0.0497843176, 0.216880441, -0.0908818915, 0.602291286, -0.050851237], [0.261708945, 0.713842451, 0.0443181656, -2.108845, -0.419174552, 1.19804347, -0.106259413, 1.31387627], [1.0348227, 0.359702855, -1.37989891, -0.314498663, -0.775947093, -1.81619823, 0.582105815, -0.583993554]]> : tensor<10x8xf32>
    %cst_4 = arith.constant dense<1> : tensor<i64>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x?xi64>
    %dim_5 = tensor.dim %arg0, %c1 : tensor<?x?xi64>
    %0 = tensor.empty(%dim, %dim_5) : tensor<?x?xi1>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %cst_4 : tensor<?x?xi64>, tensor<i64>) outs(%0 : tensor<?x?xi1>) {
    ^bb0(%in: i64, %in_17: i64, %out: i1):
      %46 = arith.cmpi eq, %in, %in_17 : i64
      linalg.yield %46 : i1
    } -> tensor<?x?xi1>
    %2 = tensor.empty(%dim, %dim_5) : tensor<?x?xi1>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<?x?xi1>) outs(%2 : tensor<?x?xi1>) {
    ^bb0(%in: i1, %out: i1):
      %46 = arith.xori %in, %true : i1
      linalg.yield %46 : i1
    } -> tensor<?x?xi1>
    %4 = tensor.empty(%dim, %dim_5) : tensor<?x?xi64>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%3 : tensor<?x?xi1>) outs(%4 : tensor<?x?xi64>) {
    ^bb0(%in: i1, %out: i64):
      %46 = arith.extui %in : i1 to i64
      linalg.yield %46 : i64
    } -> tensor<?x?xi64>
    %6 = tensor.empty(%dim) : tensor<?x1xi64>
    %7 = linalg.fill ins(%c0_i64 : i64) outs(%6 : tensor<?x1xi64>) -> tensor<?x1xi64>
    %8 = tensor.empty(%dim, %dim_5) : tensor<?x?xi64>
    %9:2 = scf.for %arg1 = %c0 to %dim_5 step %c1 iter_args(%arg2 = %7, %arg3 = %8) -> (tensor<?x1xi64>, tensor<?x?xi64>) {
      %extracted_slice = tensor.extract_slice %5[0, %arg1] [%dim, 1] [1, 1] : tensor<?x?xi64> to tensor<?x1xi64>
      %46 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%extracted_slice : tensor<?x1xi64>) outs(%arg2 : tensor<?x1xi64>) {
      ^bb0(%in: i64, %out: i64):
        %47 = arith.addi %in, %out : i64
        linalg.yield %47 : i64
      } -> tensor<?x1xi64>
      %inserted_slice_17 = tensor.insert_slice %46 into %arg3[0, %arg1] [%dim, 1] [1, 1] : tensor<?x1xi64> into tensor<?x?xi64>
      scf.yield %46, %inserted_slice_17 : tensor<?x1xi64>, tensor<?x?xi64>
    }
    %dim_6 = tensor.dim %9#1, %c0 : tensor<?x?xi64>
    %dim_7 = tensor.dim %9#1, %c1 : tensor<?x?xi64>
    %10 = tensor.empty(%dim_6, %dim_7) : tensor<?x?xi64>
    %11 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%9#1, %5 : tensor<?x?xi64>, tensor<?x?xi64>) outs(%10 : tensor<?x?xi64>) {
    ^bb0(%in: i64, %in_17: i64, %out: i64):
      %46 = arith.muli %in, %in_17 : i64
      linalg.yield %46 : i64
    } -> tensor<?x?xi64>
    %12 = tensor.empty(%dim_6, %dim_7) : tensor<?x?xi64>
    %13 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%11, %cst_4 : tensor<?x?xi64>, tensor<i64>) outs(%12 : tensor<?x?xi64>) {
    ^bb0(%in: i64, %in_17: i64, %out: i64):
      %46 = arith.addi %in, %in_17 : i64
      linalg.yield %46 : i64
    } -> tensor<?x?xi64>
    %dim_8 = tensor.dim %arg0, %c1 : tensor<?x?xi64>
    %14 = arith.index_cast %dim_8 : index to i64
    %from_elements = tensor.from_elements %14 : tensor<i64>
    %15 = tensor.empty() : tensor<i64>
    %16 = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = []} ins(%from_elements, %cst_4 : tensor<i64>, tensor<i64>) outs(%15 : tensor<i64>) {
    ^bb0(%in: i64, %in_17: i64, %out: i64):
      %46 = arith.addi %in, %in_17 : i64
      linalg.yield %46 : i64
    } -> tensor<i64>
    %17 = tensor.empty() : tensor<i64>
    %18 = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = []} ins(%16, %cst_4 : tensor<i64>, tensor<i64>) outs(%17 : tensor<i64>) {
    ^bb0(%in: i64, %in_17: i64, %out: i64):
      %46 = arith.addi %in, %in_17 : i64
      linalg.yield %46 : i64
    } -> tensor<i64>
    %19 = tensor.empty() : tensor<f32>
    %20 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = []} ins(%18 : tensor<i64>) outs(%19 : tensor<f32>) {
    ^bb0(%in: i64, %out: f32):
      %46 = arith.sitofp %in : i64 to f32
      linalg.yield %46 : f32
    } -> tensor<f32>
    %extracted = tensor.extract %20[] : tensor<f32>
    %21 = math.ceil %extracted : f32
    %22 = arith.maximumf %21, %cst_2 : f32
    %23 = arith.fptosi %22 : f32 to i64
    %24 = arith.index_cast %23 : i64 to index
    %generated = tensor.generate %24 {
    ^bb0(%arg1: index):
      %46 = arith.index_cast %arg1 : index to i64
      %47 = arith.sitofp %46 : i64 to f32
      %48 = arith.addf %47, %cst_2 : f32
      tensor.yield %48 : f32
    } : tensor<?xf32>
    %expanded = tensor.expand_shape %generated [[0, 1]] output_shape [%24, 1] : tensor<?xf32> into tensor<?x1xf32>
    %dim_9 = tensor.dim %expanded, %c0 : tensor<?x1xf32>
    %25 = tensor.empty(%dim_9) : tensor<?x4xf32>
    %26 = linalg.generic {indexing_maps = [#map3, #map4, #map], iterator_types = ["parallel", "parallel"]} ins(%expanded, %cst_1 : tensor<?x1xf32>, tensor<1x4xf32>) outs(%25 : tensor<?x4xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %46 = arith.mulf %in, %in_17 : f32
      linalg.yield %46 : f32
    } -> tensor<?x4xf32>
    %27 = tensor.empty(%dim_9) : tensor<?x4xf32>
    %28 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%26 : tensor<?x4xf32>) outs(%27 : tensor<?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %46 = math.sin %in : f32
      linalg.yield %46 : f32
    } -> tensor<?x4xf32>
    %29 = tensor.empty(%dim_9) : tensor<?x4xf32>
    %30 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%26 : tensor<?x4xf32>) outs(%29 : tensor<?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %46 = math.cos %in : f32
      linalg.yield %46 : f32
    } -> tensor<?x4xf32>
    %31 = tensor.empty(%dim_9) : tensor<?x8xf32>
    %inserted_slice = tensor.insert_slice %28 into %31[0, 0] [%dim_9, 4] [1, 1] : tensor<?x4xf32> into tensor<?x8xf32>
    %inserted_slice_10 = tensor.insert_slice %30 into %inserted_slice[0, 4] [%dim_9, 4] [1, 1] : tensor<?x4xf32> into tensor<?x8xf32>
    %32 = arith.subi %dim_9, %c1 : index
    %33 = arith.minsi %32, %c1 : index
    %inserted_slice_11 = tensor.insert_slice %cst into %inserted_slice_10[%33, 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<?x8xf32>
    %dim_12 = tensor.dim %arg0, %c0 : tensor<?x?xi64>
    %dim_13 = tensor.dim %arg0, %c1 : tensor<?x?xi64>
    %34 = tensor.empty(%dim_12, %dim_13) : tensor<?x?x8xf32>
    %35 = linalg.generic {indexing_maps = [#map5, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<?x?xi64>) outs(%34 : tensor<?x?x8xf32>) {
    ^bb0(%in: i64, %out: f32):
      %46 = arith.addi %in, %c10_i64 : i64
      %47 = arith.cmpi slt, %in, %c0_i64 : i64
      %48 = arith.select %47, %46, %in : i64
      %49 = arith.minsi %48, %c9_i64 : i64
      %50 = arith.maxsi %49, %c0_i64 : i64
      %51 = arith.index_cast %50 : i64 to index
      %52 = linalg.index 2 : index
      %extracted_17 = tensor.extract %cst_3[%51, %52] : tensor<10x8xf32>
      linalg.yield %extracted_17 : f32
    } -> tensor<?x?x8xf32>
    %36 = tensor.empty(%dim_12, %dim_13) : tensor<?x?x8xf32>
    %37 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%35, %cst_0 : tensor<?x?x8xf32>, tensor<f32>) outs(%36 : tensor<?x?x8xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %46 = arith.mulf %in, %in_17 : f32
      linalg.yield %46 : f32
    } -> tensor<?x?x8xf32>
    %38 = tensor.empty(%dim_6, %dim_7) : tensor<?x?x8xf32>
    %39 = linalg.generic {indexing_maps = [#map5, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%13 : tensor<?x?xi64>) outs(%38 : tensor<?x?x8xf32>) {
    ^bb0(%in: i64, %out: f32):
      %46 = arith.index_cast %dim_9 : index to i64
      %47 = arith.addi %in, %46 : i64
      %48 = arith.cmpi slt, %in, %c0_i64 : i64
      %49 = arith.select %48, %47, %in : i64
      %50 = arith.subi %46, %c1_i64 : i64
      %51 = arith.minsi %49, %50 : i64
      %52 = arith.maxsi %51, %c0_i64 : i64
      %53 = arith.index_cast %52 : i64 to index
      %54 = linalg.index 2 : index
      %extracted_17 = tensor.extract %inserted_slice_11[%53, %54] : tensor<?x8xf32>
      linalg.yield %extracted_17 : f32
    } -> tensor<?x?x8xf32>
    %40 = tensor.empty(%dim_12, %dim_13) : tensor<?x?x8xf32>
    %41 = linalg.generic {indexing_maps = [#map6, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%37, %39 : tensor<?x?x8xf32>, tensor<?x?x8xf32>) outs(%40 : tensor<?x?x8xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %46 = arith.addf %in, %in_17 : f32
      linalg.yield %46 : f32
    } -> tensor<?x?x8xf32>
    %expanded_14 = tensor.expand_shape %3 [[0], [1, 2]] output_shape [%dim, %dim_5, 1] : tensor<?x?xi1> into tensor<?x?x1xi1>
    %dim_15 = tensor.dim %expanded_14, %c0 : tensor<?x?x1xi1>
    %dim_16 = tensor.dim %expanded_14, %c1 : tensor<?x?x1xi1>
    %42 = tensor.empty(%dim_15, %dim_16) : tensor<?x?x1xf32>
    %43 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_14 : tensor<?x?x1xi1>) outs(%42 : tensor<?x?x1xf32>) {
    ^bb0(%in: i1, %out: f32):
      %46 = arith.uitofp %in : i1 to f32
      linalg.yield %46 : f32
    } -> tensor<?x?x1xf32>
    %44 = tensor.empty(%dim_12, %dim_13) : tensor<?x?x8xf32>
    %45 = linalg.generic {indexing_maps = [#map6, #map8, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%41, %43 : tensor<?x?x8xf32>, tensor<?x?x1xf32>) outs(%44 : tensor<?x?x8xf32>) {
    ^bb0(%in: f32, %in_17: f32, %out: f32):
      %46 = arith.mulf %in, %in_17 : f32
      linalg.yield %46 : f32
    } -> tensor<?x?x8xf32>
    return %45 : tensor<?x?x8xf32>
  }
}

