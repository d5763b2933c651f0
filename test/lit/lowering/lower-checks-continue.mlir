// A per-element check (`continues`, a Gather's index in a loop body) calls
// the runtime when it fails and the loop goes on: no branch out of the
// loop, no return; the runtime fails the call once the entry point returns.
// RUN: convc-opt %s --convc-lower-checks | FileCheck %s

// CHECK: llvm.mlir.global internal constant @convc_check_0("node 'pick': Gather index {0} is out of range for a dim of size {1}\00")
// CHECK: func.func private @convc_rt_check_failed_continue(!llvm.ptr, i64, i64)
// CHECK-LABEL: func.func @gather(
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[OK:.*]] = arith.cmpi ult
// CHECK: %[[BAD:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[BAD]] {
// CHECK: call @convc_rt_check_failed_continue(
// CHECK: }
// CHECK: memref.load
// CHECK-NOT: cf.cond_br
// CHECK: return
func.func @gather(%data: memref<?xf32>, %idx: memref<?xindex>, %out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %size = memref.dim %data, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    %j = memref.load %idx[%i] : memref<?xindex>
    %ok = arith.cmpi ult, %j, %size : index
    convc.check %ok, "node 'pick': Gather index {0} is out of range for a dim of size {1}" (%j, %size) {continues}
    %last = arith.subi %size, %c1 : index
    %k = arith.minui %j, %last : index
    %v = memref.load %data[%k] : memref<?xf32>
    memref.store %v, %out[%i] : memref<?xf32>
  }
  return
}
