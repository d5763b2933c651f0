// REQUIRES: cuda-toolkit
// Every convc op, alone and in the fused blocks, compiles to PTX through
// NVVM; libdevice is linked, so no `__nv_` math function stays external.
// RUN: convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%cuda_path --emit=loops --quiet | FileCheck %s --check-prefix=LOOPS
// LOOPS-NOT: = convc.
// LOOPS: scf.parallel
// LOOPS-NOT: = convc.
// RUN: convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o %t.sm90.ptx --quiet
// RUN: FileCheck %s --check-prefix=PTX90 < %t.sm90.ptx
// PTX90: .target sm_90
// PTX90-NOT: .extern .func __nv_
// PTX90-COUNT-29: .visible .entry
// PTX90-NOT: .extern .func __nv_
// RUN: convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%cuda_path --gpu-arch=sm_80 --emit=ptx -o %t.sm80.ptx --quiet
// RUN: FileCheck %s --check-prefix=PTX80 < %t.sm80.ptx
// PTX80: .target sm_80
// PTX80-NOT: .extern .func __nv_
// A model smaller than one tile still gets its shared-memory block kernel.
// A Gather's per-element index check writes the device flag atomically
// (convc-gpu-device-checks); the host reads it back after the kernels.
// RUN: convc compile %S/Inputs/gather_fed_indices.onnx --target=cuda --cuda-path=%cuda_path --emit=ptx -o - --quiet | FileCheck %s --check-prefix=GATHER-PTX
// GATHER-PTX-COUNT-3: atom.global.exch.b64
// RUN: convc compile %S/Inputs/gather_fed_indices.onnx --target=cuda --cuda-path=%cuda_path --emit=llvm -o - --quiet | FileCheck %s --check-prefix=GATHER-HOST
// GATHER-HOST: llvm.call @mgpuMemset32
// GATHER-HOST: gpu.launch_func
// GATHER-HOST: llvm.call @mgpuMemcpy
// GATHER-HOST: llvm.call @mgpuStreamSynchronize
// GATHER-HOST: llvm.call @convc_rt_check_failed_continue
// RUN: convc compile %S/Inputs/one_tile_talk.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o - --quiet | FileCheck %s --check-prefix=ONETILE
// ONETILE-COUNT-1: .visible .entry
// ONETILE: .shared
// ONETILE: bar.sync
// So does a projection within one GEMM tile, its slab loop in host code.
// RUN: convc compile %S/Inputs/one_tile_linear.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o - --quiet | FileCheck %s --check-prefix=ONETILE-GEMM
// ONETILE-GEMM-COUNT-1: .visible .entry
// ONETILE-GEMM: .shared
// Its barriers: after the accumulators' fill, after each slab's staging
// and compute phases (the slab loop is in the kernel), after the epilogue.
// ONETILE-GEMM-COUNT-3: bar.sync
// Several one-tile kernels in a row stay separate kernels: each projection
// a GEMM kernel and the kernel summing its splits of D, TaLK, LayerNorm.
// RUN: convc compile %S/Inputs/static_one_tile_kernels.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o - --quiet | FileCheck %s --check-prefix=STATIC
// STATIC-COUNT-6: .visible .entry
// STATIC-NOT: .visible .entry
// And ptxas assembles the all-ops PTX for both architectures.
// RUN: %if ptxas %{ %ptxas -arch=sm_90 %t.sm90.ptx -o %t.sm90.cubin %}
// RUN: %if ptxas %{ %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin %}
// f16 and bf16 storage (masks stay f32): every op compiles and assembles.
// RUN: sed -e 's/xf32>/xf16>/g' -e 's/tensor<?x?xf16>/tensor<?x?xf32>/g' %S/Inputs/all_ops.mlir > %t.f16.mlir
// RUN: convc compile %t.f16.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o %t.f16.ptx --quiet
// RUN: FileCheck %s --check-prefix=HALF < %t.f16.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 %t.f16.ptx -o %t.f16.cubin %}
// RUN: sed -e 's/xf32>/xbf16>/g' -e 's/tensor<?x?xbf16>/tensor<?x?xf32>/g' %S/Inputs/all_ops.mlir > %t.bf16.mlir
// RUN: convc compile %t.bf16.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o %t.bf16.ptx --quiet
// RUN: FileCheck %s --check-prefix=HALF < %t.bf16.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 %t.bf16.ptx -o %t.bf16.cubin %}
// HALF-COUNT-29: .visible .entry
// Static shapes (every ? made 2 or 5): every op compiles and assembles too.
// RUN: sed -e 's/tensor<?x?x/tensor<2x5x/g' -e 's/tensor<?x/tensor<2x/g' %S/Inputs/all_ops.mlir > %t.static.mlir
// RUN: convc compile %t.static.mlir --target=cuda --cuda-path=%cuda_path --emit=ptx -o %t.static.ptx --quiet
// RUN: FileCheck %s --check-prefix=STATIC-OPS < %t.static.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 %t.static.ptx -o %t.static.cubin %}
// STATIC-OPS-COUNT-29: .visible .entry
// And for the CPU.
// RUN: convc compile %t.static.mlir -o %t.static.so --quiet
// nn.MultiheadAttention's export reshapes to sizes computed from symbolic
// dims: their shape buffers stay on the host, the rest runs on the GPU.
// RUN: convc compile %S/Inputs/export_multihead_attention.onnx --target=cuda --cuda-path=%cuda_path -o %t.mha.so --quiet

// The example model, end to end: one device module (kernels and weights),
// embedded in the library; the library needs no CUDA library, only the
// runtime's mgpu* functions.
// RUN: convc compile %convc_src/examples/reverse_digits.mlir --target=cuda --cuda-path=%cuda_path -o %t.rd.so 2>&1 | FileCheck %s --check-prefix=PROGRESS
// PROGRESS: passes to llvm (sm_90, {{fatbin|isa}})
// RUN: llvm-readelf -d %t.rd.so | FileCheck %s --check-prefix=NEEDED
// NEEDED-NOT: cuda
// RUN: llvm-nm -D --undefined-only %t.rd.so | FileCheck %s --check-prefix=SYMS
// SYMS: mgpuLaunchKernel
// SYMS: mgpuModuleLoad

// Without a driver, loading it says CUDA is unavailable (non-zero exit).
// RUN: %if no-cuda-driver %{ not convc generate %t.rd.so --src "5 9 3" 2>&1 | FileCheck %s --check-prefix=UNAVAILABLE %}
// UNAVAILABLE: was compiled for CUDA (--target=cuda): CUDA unavailable:
// A model that convc run would compile for the GPU itself is refused
// before compiling (which takes seconds) when CUDA is unavailable.
// RUN: %if no-cuda-driver %{ not convc run %S/Inputs/slash_named_output.mlir --device=cuda --input x=%S/Inputs/x4.npy --output-dir %t.o 2>&1 | FileCheck %s --check-prefix=MODEL-NAMED %}
// MODEL-NAMED: convc run: --device=cuda: CUDA unavailable:

// The GPU kernels' math on the CPU: the example model generates exactly
// what the CPU target's incremental decoder generates.
// RUN: convc compile %convc_src/examples/reverse_digits.mlir --target=gpu-kernels-on-cpu -o %t.rdk.so --quiet
// RUN: convc generate %t.rdk.so --src "5 9 3 2 7" --src "4 4 8" --beam 3 > %t.gpu-kernels.txt
// RUN: convc generate %convc_src/examples/reverse_digits.mlir --src "5 9 3 2 7" --src "4 4 8" --beam 3 > %t.cpu.txt
// RUN: diff %t.cpu.txt %t.gpu-kernels.txt
// And so does its incremental decoder (the derived decode step's ops on the
// GPU kernel loops).
// RUN: convc compile %convc_src/examples/reverse_digits.mlir --target=gpu-kernels-on-cpu --decode-step=decode -o %t.rdk-step.so --quiet
// RUN: convc generate %t.rdk-step.so --src "5 9 3 2 7" --src "4 4 8" --beam 3 > %t.gpu-kernels-step.txt
// RUN: diff %t.cpu.txt %t.gpu-kernels-step.txt

// Clear errors: a CPU library asked to run on CUDA, PTX without the CUDA
// target, a toolkit that is not there.
// RUN: convc compile %convc_src/examples/reverse_digits.mlir -o %t.cpu.so --quiet
// RUN: not convc generate %t.cpu.so --device=cuda --src "5 9 3" 2>&1 | FileCheck %s --check-prefix=WRONGDEV
// WRONGDEV: was compiled for the CPU but --device=cuda was asked for; compile it with --target=cuda
// RUN: not convc compile %S/Inputs/all_ops.mlir --emit=ptx 2>&1 | FileCheck %s --check-prefix=NOPTX
// NOPTX: --emit=ptx needs --target=cuda
// RUN: not convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%t.nowhere -o %t.x.so 2>&1 | FileCheck %s --check-prefix=NOKIT
// NOKIT: CUDA unavailable: no libdevice at
// RUN: not convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%cuda_path --gpu-arch=volta -o %t.x.so 2>&1 | FileCheck %s --check-prefix=BADARCH
// BADARCH: the GPU architecture must be an SM name such as sm_80 or sm_90, got 'volta'
// RUN: not convc compile %S/Inputs/all_ops.mlir --target=cuda --cuda-path=%cuda_path --gpu-binary=elf -o %t.x.so 2>&1 | FileCheck %s --check-prefix=BADBIN
// BADBIN: unknown GPU binary 'elf' (expected fatbin, cubin or ptx)

// The PTX version is the lowest the architecture allows (LLVM's choice):
// newer GPUs get the newer PTX they need.
// RUN: convc compile %convc_src/examples/conv_block.mlir --target=cuda --cuda-path=%cuda_path --gpu-arch=sm_100 --emit=ptx -o - --quiet | FileCheck %s --check-prefix=SM100
// SM100: .version 8.6
// SM100: .target sm_100
// An architecture LLVM does not know, and one the toolkit's ptxas cannot
// assemble for, are clear errors before compiling (not an IR dump).
// RUN: not convc compile %convc_src/examples/conv_block.mlir --target=cuda --cuda-path=%cuda_path --gpu-arch=sm_999 -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=UNKNOWN-ARCH
// UNKNOWN-ARCH: convc compile: LLVM's NVPTX backend does not know GPU architecture 'sm_999' (it knows {{.*}}sm_90{{.*}})
// RUN: %if ptxas %{ not convc compile %convc_src/examples/conv_block.mlir --target=cuda --cuda-path=%cuda_path --gpu-arch=sm_20 -o %t.old.so 2>&1 | FileCheck %s --check-prefix=OLD-ARCH %}
// OLD-ARCH: ptxas cannot assemble for sm_20 ({{.*}}): use a toolkit that supports it, or --gpu-binary=ptx
// OLD-ARCH-NOT: see current operation
