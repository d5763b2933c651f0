// A computation nobody reads is dead even when it holds per-element checks
// (`convc.check {continues}`): canonicalize erases it (a Gather that raising
// replaced). One whose result is used keeps its check.
// RUN: convc-opt %s --canonicalize | FileCheck %s

#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @dead_gather
// CHECK-NOT: linalg.generic
// CHECK-NOT: convc.check
// CHECK: return %arg1
func.func @dead_gather(%idx: tensor<?xindex>, %table: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %idx, %c0 : tensor<?xindex>
  %size = tensor.dim %table, %c0 : tensor<?xf32>
  %init = tensor.empty(%n) : tensor<?xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%idx : tensor<?xindex>) outs(%init : tensor<?xf32>) {
  ^bb0(%j: index, %o: f32):
    %ok = arith.cmpi ult, %j, %size : index
    convc.check %ok, "index {0} out of range" (%j) {continues}
    %v = tensor.extract %table[%j] : tensor<?xf32>
    linalg.yield %v : f32
  } -> tensor<?xf32>
  return %table : tensor<?xf32>
}

// CHECK-LABEL: func.func @live_gather
// CHECK: linalg.generic
// CHECK: convc.check %{{.*}}, "index {0} out of range"(%{{.*}}) {continues}
func.func @live_gather(%idx: tensor<?xindex>, %table: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %idx, %c0 : tensor<?xindex>
  %size = tensor.dim %table, %c0 : tensor<?xf32>
  %init = tensor.empty(%n) : tensor<?xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%idx : tensor<?xindex>) outs(%init : tensor<?xf32>) {
  ^bb0(%j: index, %o: f32):
    %ok = arith.cmpi ult, %j, %size : index
    convc.check %ok, "index {0} out of range" (%j) {continues}
    %v = tensor.extract %table[%j] : tensor<?xf32>
    linalg.yield %v : f32
  } -> tensor<?xf32>
  return %g : tensor<?xf32>
}
