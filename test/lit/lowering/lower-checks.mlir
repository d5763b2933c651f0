// convc.check becomes a branch: the failure calls the runtime with the
// message and the values, and returns at once (poison results the runtime
// never reads); the rest of the function runs when the check holds.
// RUN: convc-opt %s --convc-lower-checks | FileCheck %s

// CHECK: llvm.mlir.global internal constant @convc_check_0("node 'add': input 1 has size {0} in dimension 1, which does not broadcast to {1}\00")
// CHECK: func.func private @convc_rt_check_failed(!llvm.ptr, i64, i64)
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[M:.*]]: memref<?xf32>, %[[U:.*]]: index, %[[R:.*]]: index)
// CHECK: %[[OK:.*]] = arith.cmpi eq, %[[U]], %[[R]]
// CHECK: cf.cond_br %[[OK]], ^[[REST:.*]], ^[[FAIL:.*]]
// CHECK: ^[[FAIL]]:
// CHECK: %[[MSG:.*]] = llvm.getelementptr
// CHECK: %[[A:.*]] = arith.index_cast %[[U]] : index to i64
// CHECK: %[[B:.*]] = arith.index_cast %[[R]] : index to i64
// CHECK: call @convc_rt_check_failed(%[[MSG]], %[[A]], %[[B]])
// CHECK: %[[P:.*]] = ub.poison : memref<?xf32>
// CHECK: return %[[P]]
// CHECK: ^[[REST]]:
// CHECK: memref.store
// CHECK: return %[[M]]
func.func @f(%m: memref<?xf32>, %u: index, %r: index) -> memref<?xf32> {
  %ok = arith.cmpi eq, %u, %r : index
  convc.check %ok, "node 'add': input 1 has size {0} in dimension 1, which does not broadcast to {1}" (%u, %r)
  %c0 = arith.constant 0 : index
  %v = arith.constant 1.0 : f32
  memref.store %v, %m[%c0] : memref<?xf32>
  return %m : memref<?xf32>
}

