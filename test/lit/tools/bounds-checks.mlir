// --bounds-checks: every load, store and view of the generated code is
// checked against its buffer (upstream's generate-runtime-verification,
// its asserts lowered by convc-lower-checks); an out-of-bounds access
// aborts before it happens, printing the op and its location.
// RUN: convc compile %S/Inputs/read_past_end.mlir --bounds-checks -o %t.so --quiet
// RUN: not --crash convc run %t.so --input x=%S/Inputs/x4.npy --output-dir %t.out 2>&1 | FileCheck %s
// CHECK: convc: --bounds-checks: ERROR: Runtime op verification failed
// CHECK-NEXT: memref.load
// CHECK-NEXT: ^ out-of-bounds access
// CHECK-NEXT: Location: loc("{{.*}}read_past_end.mlir":5:8)

// Unchecked, the same read goes unnoticed: why the mode exists.
// RUN: convc compile %S/Inputs/read_past_end.mlir -o %t.unchecked.so --quiet
// RUN: convc run %t.unchecked.so --input x=%S/Inputs/x4.npy --output-dir %t.out2 | FileCheck %s --check-prefix=UNCHECKED
// UNCHECKED: wrote {{.*}}y.npy y: f32[1]

// Device code cannot abort the host: the CUDA target refuses the flag.
// RUN: not convc compile %S/Inputs/read_past_end.mlir --bounds-checks --target=cuda -o %t.cuda.so 2>&1 | FileCheck %s --check-prefix=CUDA
// CUDA: --bounds-checks is for the CPU targets (cpu, gpu-kernels-on-cpu)

// Views of empty buffers: upstream's expand_shape check of [0] viewed as
// [3, 0] was a remainder by zero, undefined, and the outputs came back with
// every size 0. It now checks that the source is empty.
// RUN: convc compile %S/Inputs/empty_expand.mlir --bounds-checks -o %t.empty.so --quiet
// RUN: convc run %t.empty.so --input x=%S/Inputs/x0x3.npy --output-dir %t.out3 | FileCheck %s --check-prefix=EMPTY
// EMPTY: wrote {{.*}}y.npy y: f32[3, 0]
// EMPTY: wrote {{.*}}u.npy u: f32[1, 0, 3]
// RUN: convc compile %S/Inputs/empty_expand.mlir --bounds-checks --emit=llvm -o - --quiet | FileCheck %s --check-prefix=EMPTY-IR
// EMPTY-IR-NOT: llvm.srem
