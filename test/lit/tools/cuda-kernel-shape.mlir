// REQUIRES: cuda-toolkit
// What the tiled conv kernels look like in PTX (their speed needs a GPU;
// these are the properties it rests on, docs/gpu.md).
// RUN: convc compile %S/Inputs/light_conv_512.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o %t.ptx --quiet
// RUN: FileCheck %s < %t.ptx
//
// The constants of a kernel's loops are sunk into it before outlining: a
// kernel takes no constant as a parameter, so the tile sizes divide by
// shifts and the loops unroll. (Passed as parameters, they made every
// index a 64-bit division and every staging loop a loop.)
// CHECK-NOT: div.u64
// CHECK-NOT: rem.u64
// CHECK-LABEL: .entry main_lightweight_conv_0(
// CHECK-NOT: div.u64
// CHECK-NOT: rem.u64
//
// Staging, scalar branch (a misaligned buffer): the thread's 20 loads come
// before its stores, so they are all in flight at once.
// CHECK-COUNT-20: ld.global.b32
// CHECK-NOT: ld.global
// CHECK: st.shared
// Vector branch: 5 loads of 16 bytes, then the stores.
// CHECK: ld.global.v4.b32
// CHECK-NOT: st.shared
// CHECK: ld.global.v4.b32
// CHECK-NOT: st.shared
// CHECK: ld.global.v4.b32
// CHECK-NOT: st.shared
// CHECK: ld.global.v4.b32
// CHECK-NOT: st.shared
// CHECK: ld.global.v4.b32
// CHECK-NOT: ld.global.v4
// CHECK: st.shared
// CHECK: bar.sync
//
// Registers: the compute phase keeps only the rows of the next taps live
// (102 per thread when each output's sums were sunk into its guarded
// store, 2 blocks of 256 threads per SM; 48 now, 5 blocks).
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=REGS %}
// REGS: Compiling entry function 'main_lightweight_conv_0' for 'sm_90'
// REGS-NEXT: Function properties for main_lightweight_conv_0
// REGS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// REGS-NEXT: Used {{[1-5][0-9]|[0-9]}} registers
