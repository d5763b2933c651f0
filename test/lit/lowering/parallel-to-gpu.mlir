// RUN: convc-opt %s -convc-parallel-to-gpu -canonicalize -split-input-file -verify-diagnostics | FileCheck %s
// RUN: not convc-opt %s -convc-parallel-to-gpu=block-size=100 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: block-size must be a multiple of 32 in [32, 1024], got 100

// A 2-D loop becomes one 1-D launch of ceil(M * N / 256) blocks of 256
// threads; thread i runs work item i, the inner index fastest (so a warp's
// threads touch neighbouring addresses); the nested parallel loop stays in
// its work item (the pipeline makes it sequential after outlining).
// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @scale
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK-DAG: %[[N:.*]] = memref.dim %arg0, %c1
// CHECK: %[[COUNT:.*]] = arith.muli
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[COUNT]], %[[C256]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[LIN:.*]] = arith.addi %{{.*}}, %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[LIN]], %[[COUNT]]
// CHECK: scf.if %[[IN]]
// CHECK: %[[J:.*]] = arith.remui %[[LIN]]
// CHECK: %[[I:.*]] = arith.divui %[[LIN]]
// CHECK: memref.load %arg0[%[[I]], %[[J]]]
// CHECK: scf.parallel
// CHECK: gpu.terminator
// A load and store outside any loop run as a one-thread kernel, so no host
// code touches device memory.
// CHECK: gpu.launch
// CHECK: memref.load %arg0[%c0, %c0]
// CHECK: arith.addf
// CHECK: memref.store
// CHECK: return
func.func @scale(%a: memref<?x?xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %a, %c0 : memref<?x?xf32>
  %n = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    %w = arith.mulf %v, %s : f32
    memref.store %w, %a[%i, %j] : memref<?x?xf32>
    scf.parallel (%k) = (%c0) to (%n) step (%c1) {
      memref.store %w, %a[%i, %k] : memref<?x?xf32>
      scf.reduce
    }
    scf.reduce
  }
  %x = memref.load %a[%c0, %c0] : memref<?x?xf32>
  %y = arith.addf %x, %s : f32
  memref.store %y, %a[%c0, %c0] : memref<?x?xf32>
  return
}

// -----

// A value read from a device buffer that the host needs is an error.
func.func @size_from_data(%a: memref<4xindex>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{reads device buffers and produces a value the host needs}}
  %n = memref.load %a[%c0] : memref<4xindex>
  %b = memref.alloc(%n) : memref<?xf32>
  return %b : memref<?xf32>
}


// -----

// A block-structured loop: one block of 64 threads per work item; the
// shared buffer becomes a workgroup attribution, each phase a strided loop
// over the thread's items followed by a barrier.
// CHECK-LABEL: func.func @reverse_tiles
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[N:.*]], %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[SH:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %[[I:.*]] = %[[TX]] to %c128 step %c64
// CHECK: memref.store %{{.*}}, %[[SH]][%[[I]]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[J:.*]] = %[[TX]] to %c128 step %c64
// CHECK: memref.load %[[SH]]
// CHECK: gpu.barrier
// CHECK-NOT: memref.alloca
func.func @reverse_tiles(%a: memref<?x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c127 = arith.constant 127 : index
  %c128 = arith.constant 128 : index
  %n = memref.dim %a, %c0 : memref<?x128xf32>
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    %tile = memref.alloca() {convc.gpu_shared} : memref<128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      %v = memref.load %a[%r, %i] : memref<?x128xf32>
      memref.store %v, %tile[%i] : memref<128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      %j = arith.subi %c127, %i : index
      %v = memref.load %tile[%j] : memref<128xf32>
      memref.store %v, %a[%r, %i] : memref<?x128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.reduce
  }
  return
}

// -----

// Block-level code reads shared memory (every thread reads the sum) and
// the next phase writes it: a barrier goes before that phase too, or a
// fast warp would overwrite the sum a slow one has yet to read. A phase
// that writes no shared memory needs none. Like LayerNorm's two sums.
// CHECK-LABEL: func.func @reuse_after_block_read
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[SH:.*]][
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[SUM:.*]] = memref.load %[[SH]][%c0]
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.for
// CHECK: memref.store %{{.*}}, %[[SH]][
// CHECK: gpu.barrier
// CHECK-NEXT: %[[SUM2:.*]] = memref.load %[[SH]][%c0]
// CHECK-NEXT: scf.for
// CHECK: memref.store %{{.*}}, %arg0[
// CHECK: gpu.barrier
// CHECK-NEXT: gpu.terminator
func.func @reuse_after_block_read(%a: memref<?x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %n = memref.dim %a, %c0 : memref<?x128xf32>
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    %part = memref.alloca() {convc.gpu_shared} : memref<128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      %v = memref.load %a[%r, %i] : memref<?x128xf32>
      memref.store %v, %part[%i] : memref<128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    %sum = memref.load %part[%c0] : memref<128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      %v = memref.load %a[%r, %i] : memref<?x128xf32>
      %d = arith.subf %v, %sum : f32
      memref.store %d, %part[%i] : memref<128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    %sum2 = memref.load %part[%c0] : memref<128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      memref.store %sum2, %a[%r, %i] : memref<?x128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.reduce
  }
  return
}

// -----

// Phases in a block-level loop (a GEMM's slabs): the barrier after each
// phase fences the next, across iterations too; none is added.
// CHECK-LABEL: func.func @slab_loop
// CHECK: gpu.launch
// CHECK: gpu.barrier
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %c4 step %c1 {
// CHECK-NEXT: scf.for
// CHECK: gpu.barrier
// CHECK-NEXT: scf.for
// CHECK: gpu.barrier
// CHECK-NEXT: }
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @slab_loop(%a: memref<?x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x128xf32>
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    %acc = memref.alloca() {convc.gpu_shared} : memref<128xf32>
    %slab = memref.alloca() {convc.gpu_shared} : memref<128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      memref.store %zero, %acc[%i] : memref<128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.for %k = %c0 to %c4 step %c1 {
      scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
        %v = memref.load %a[%r, %i] : memref<?x128xf32>
        memref.store %v, %slab[%i] : memref<128xf32>
        scf.reduce
      } {convc.gpu_threads = 64 : i64}
      scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
        %v = memref.load %slab[%i] : memref<128xf32>
        %s = memref.load %acc[%i] : memref<128xf32>
        %t = arith.addf %v, %s : f32
        memref.store %t, %acc[%i] : memref<128xf32>
        scf.reduce
      } {convc.gpu_threads = 64 : i64}
    }
    scf.reduce
  }
  return
}

// -----

// A kernel over a single tile, as canonicalization leaves it (the
// one-iteration block loop inlined): its shared buffer and phases still
// become one block with a workgroup buffer, not host code.
// CHECK-LABEL: func.func @one_tile
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64
// CHECK-SAME: workgroup(%[[SH:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[SH]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SH]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.launch
// CHECK-NOT: memref.alloca
// CHECK: return
func.func @one_tile(%a: memref<1x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c127 = arith.constant 127 : index
  %c128 = arith.constant 128 : index
  %tile = memref.alloca() {convc.gpu_shared} : memref<128xf32>
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %a[%c0, %i] : memref<1x128xf32>
    memref.store %v, %tile[%i] : memref<128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %j = arith.subi %c127, %i : index
    %v = memref.load %tile[%j] : memref<128xf32>
    memref.store %v, %a[%c0, %i] : memref<1x128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  return
}

// -----

func.func @writes_outside_phases(%a: memref<?x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %f = arith.constant 1.0 : f32
  %n = memref.dim %a, %c0 : memref<?x128xf32>
  // expected-error @+1 {{a GPU block writes memory outside its thread phases}}
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%r, %c0] : memref<?x128xf32>
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      memref.store %f, %a[%r, %i] : memref<?x128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.reduce
  }
  return
}

// -----

// A work item's private scratch buffer left in host code (its one-iteration
// loop inlined) moves into the one-thread kernel that uses it: a host
// stack address must not reach the GPU.
// CHECK-LABEL: func.func @private_scratch
// CHECK-NOT: memref.alloca
// CHECK: gpu.launch
// CHECK: %[[P:.*]] = memref.alloca() : memref<16xf32>
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: memref.load %[[P]]
// CHECK: gpu.terminator
func.func @private_scratch(%a: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %p = memref.alloca() : memref<16xf32>
  scf.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %a[%i] : memref<16xf32>
    memref.store %v, %p[%i] : memref<16xf32>
  }
  scf.for %i = %c0 to %c16 step %c1 {
    %j = arith.subi %c16, %i : index
    %k = arith.subi %j, %c1 : index
    %v = memref.load %p[%k] : memref<16xf32>
    memref.store %v, %a[%i] : memref<16xf32>
  }
  return
}

// -----

// A reshape's shape buffer, filled and read by host code: it stays a host
// buffer (marked for convc-gpu-host-buffers) and its stores and loads stay
// on the host; only the copy is a kernel.
// CHECK-LABEL: func.func @reshape_sizes
// CHECK: %[[SHAPE:.*]] = memref.alloc() {convc.gpu_host_buffer} : memref<2xi64>
// CHECK-NEXT: memref.store %{{.*}}, %[[SHAPE]][%c0]
// CHECK-NEXT: memref.store %{{.*}}, %[[SHAPE]][%c1]
// CHECK-NEXT: %[[R:.*]] = memref.reshape %{{.*}}(%[[SHAPE]])
// CHECK-NEXT: memref.load %[[SHAPE]][%c0]
// CHECK: gpu.launch
// CHECK-NOT: %[[SHAPE]]
// CHECK: gpu.terminator
func.func @reshape_sizes(%a: memref<?x16xf32>, %b: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c4_i64 = arith.constant 4 : i64
  %n = memref.dim %a, %c0 : memref<?x16xf32>
  %n4 = arith.muli %n, %c4 : index
  %rows = arith.index_cast %n4 : index to i64
  %shape = memref.alloc() : memref<2xi64>
  memref.store %rows, %shape[%c0] : memref<2xi64>
  memref.store %c4_i64, %shape[%c1] : memref<2xi64>
  %r = memref.reshape %a(%shape) : (memref<?x16xf32>, memref<2xi64>) -> memref<?x4xf32>
  %m64 = memref.load %shape[%c0] : memref<2xi64>
  %m = arith.index_cast %m64 : i64 to index
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c4) step (%c1, %c1) {
    %v = memref.load %r[%i, %j] : memref<?x4xf32>
    memref.store %v, %b[%i, %j] : memref<?x4xf32>
    scf.reduce
  }
  memref.dealloc %shape : memref<2xi64>
  return
}

// -----

// A shape buffer a kernel reads is not host-only data: the host cannot
// lower the reshape.
func.func @shape_read_by_kernel(%a: memref<?x16xf32>, %b: memref<2xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4_i64 = arith.constant 4 : i64
  %shape = memref.alloc() : memref<2xi64>
  memref.store %c4_i64, %shape[%c0] : memref<2xi64>
  memref.store %c4_i64, %shape[%c1] : memref<2xi64>
  // expected-error @+1 {{this reshape's shape is not filled by host code alone; the GPU target needs it on the host}}
  %r = memref.reshape %a(%shape) : (memref<?x16xf32>, memref<2xi64>) -> memref<?x?xf32>
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    %v = memref.load %shape[%i] : memref<2xi64>
    memref.store %v, %b[%i] : memref<2xi64>
    scf.reduce
  }
  return
}

// -----

// Block-level code at the end of a slab loop reads shared memory that the
// loop's first phase overwrites in the next iteration: a barrier starts
// the body.
// CHECK-LABEL: func.func @loop_tail_read
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args(
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.for
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK-NEXT: memref.load
// CHECK-NEXT: scf.yield
func.func @loop_tail_read(%a: memref<?x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x128xf32>
  scf.parallel (%r) = (%c0) to (%n) step (%c1) {
    %part = memref.alloca() {convc.gpu_shared} : memref<128xf32>
    %last = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
      scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
        %v = memref.load %a[%r, %i] : memref<?x128xf32>
        %w = arith.addf %v, %acc : f32
        memref.store %w, %part[%i] : memref<128xf32>
        scf.reduce
      } {convc.gpu_threads = 64 : i64}
      %s = memref.load %part[%c0] : memref<128xf32>
      scf.yield %s : f32
    }
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      memref.store %last, %a[%r, %i] : memref<?x128xf32>
      scf.reduce
    } {convc.gpu_threads = 64 : i64}
    scf.reduce
  }
  return
}

// -----

// Two one-tile kernels inlined one after the other: a shared buffer after
// a phase starts the second, so each becomes its own block (one run from
// the first buffer to the last phase would mix them and keep the host
// allocation between them inside a kernel).
// CHECK-LABEL: func.func @two_one_tile_kernels
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%[[A:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: gpu.terminator
// CHECK: memref.alloc() : memref<128xf32>
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%[[B:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.terminator
func.func @two_one_tile_kernels(%a: memref<128xf32>) -> memref<128xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %t1 = memref.alloca() {convc.gpu_shared} : memref<128xf32>
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %a[%i] : memref<128xf32>
    memref.store %v, %t1[%i] : memref<128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %t1[%i] : memref<128xf32>
    memref.store %v, %a[%i] : memref<128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  %out = memref.alloc() : memref<128xf32>
  %t2 = memref.alloca() {convc.gpu_shared} : memref<128xf32>
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %a[%i] : memref<128xf32>
    memref.store %v, %t2[%i] : memref<128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %t2[%i] : memref<128xf32>
    memref.store %v, %out[%i] : memref<128xf32>
    scf.reduce
  } {convc.gpu_threads = 64 : i64}
  return %out : memref<128xf32>
}

// -----

// A copy into a strided view (a pad's interior) is no gpu.memcpy: it
// becomes a kernel of loads and stores.
// CHECK-LABEL: func.func @strided_copy
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %[[VIEW:.*]][
// CHECK: gpu.terminator
func.func @strided_copy(%a: memref<4x8xf32>) -> memref<6x8xf32> {
  %out = memref.alloc() : memref<6x8xf32>
  %view = memref.subview %out[1, 0] [4, 8] [1, 1] : memref<6x8xf32> to memref<4x8xf32, strided<[8, 1], offset: 8>>
  memref.copy %a, %view : memref<4x8xf32> to memref<4x8xf32, strided<[8, 1], offset: 8>>
  return %out : memref<6x8xf32>
}

// -----

// Kernels are named after their function and what the loop computes: the
// convc op it was lowered from (a NameLoc, KernelBuilder::loopLocation) or
// an imported node's name, made an identifier; "kernel" otherwise.
// CHECK-LABEL: func.func @named
// CHECK: gpu.launch {{.*}} function(@named_linear)
// CHECK: gpu.launch {{.*}} function(@named_decoder_layers_0_Add_1)
// CHECK: gpu.launch {{.*}} function(@named_kernel)
func.func @named(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  } loc(#loc_named)
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  } loc(#loc_onnx)
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  }
  return
}
#loc_named = loc("linear"("model.mlir":3:7))
#loc_onnx = loc(fused["/decoder/layers.0/Add_1"("model.onnx":0:0)])
