// RUN: convc-opt %s -split-input-file -convc-gpu-device-checks | FileCheck %s

// A per-element check in a kernel cannot call the runtime: when it fails
// it writes [its id + 1, index, size] to a device flag, zeroed on entry;
// before the return the host copies the flag back and checks it, one host
// check per kernel check, with the kernel check's message and values.
// CHECK-LABEL: func.func @gather
// CHECK: %[[BYTES:.*]] = gpu.alloc  () : memref<24xi8>
// CHECK: %[[WORDS32:.*]] = memref.view %[[BYTES]][%{{.*}}][] : memref<24xi8> to memref<6xi32>
// CHECK: gpu.memset  %[[WORDS32]], %{{.*}} : memref<6xi32>, i32
// CHECK: %[[FLAG:.*]] = memref.view %[[BYTES]][%{{.*}}][] : memref<24xi8> to memref<3xi64>
// CHECK: gpu.launch
// CHECK-NOT: convc.check
// CHECK: %[[FAILED:.*]] = arith.xori %{{.*}}, %true
// CHECK: scf.if %[[FAILED]] {
// CHECK: %[[ID:.*]] = arith.constant 1 : i64
// CHECK: %[[I:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: memref.atomic_rmw assign %[[ID]], %[[FLAG]][%c0{{.*}}] : (i64, memref<3xi64>) -> i64
// CHECK: memref.atomic_rmw assign %[[I]], %[[FLAG]][%c1{{.*}}]
// CHECK: memref.atomic_rmw assign %{{.*}}, %[[FLAG]][%c2{{.*}}]
// CHECK: gpu.terminator
// CHECK: %[[HOST:.*]] = memref.alloc() : memref<3xi64>
// CHECK: gpu.memcpy  %[[HOST]], %[[FLAG]]
// CHECK: %[[CODE:.*]] = memref.load %[[HOST]][%c0
// CHECK: %[[A:.*]] = memref.load %[[HOST]][%c1
// CHECK: %[[B:.*]] = memref.load %[[HOST]][%c2
// CHECK: %[[AI:.*]] = arith.index_cast %[[A]] : i64 to index
// CHECK: %[[BI:.*]] = arith.index_cast %[[B]] : i64 to index
// CHECK: %[[OK1:.*]] = arith.cmpi ne, %[[CODE]], %c1_i64{{.*}}
// CHECK: convc.check %[[OK1]], "node 'pick': Gather index {0} is out of range for a dim of size {1}"(%[[AI]], %[[BI]]) {continues}
// CHECK: %[[OK2:.*]] = arith.cmpi ne, %[[CODE]], %c2_i64{{.*}}
// CHECK: convc.check %[[OK2]], "node 'other': second"(%[[AI]], %[[BI]]) {continues}
// CHECK: memref.dealloc %[[HOST]]
// CHECK: gpu.dealloc  %[[BYTES]]
// CHECK-NEXT: return
func.func @gather(%idx: memref<?xi64>, %n: index, %size: index) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %idx[%tx] : memref<?xi64>
    %i = arith.index_cast %v : i64 to index
    %ok = arith.cmpi slt, %i, %size : index
    convc.check %ok, "node 'pick': Gather index {0} is out of range for a dim of size {1}" (%i, %size) {continues}
    convc.check %ok, "node 'other': second" {continues}
    gpu.terminator
  }
  return
}

// -----

// Host checks and functions without kernel checks are left alone.
// CHECK-LABEL: func.func @host_only
// CHECK-NOT: gpu.alloc
// CHECK: convc.check %{{.*}}, "on the host" {continues}
// CHECK-NOT: gpu.memcpy
func.func @host_only(%ok: i1) {
  convc.check %ok, "on the host" {continues}
  return
}
