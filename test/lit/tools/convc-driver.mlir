// The convc command line: version, help, stages, and clear errors with a
// non-zero exit for every bad input.
// RUN: convc --version | FileCheck %s --check-prefix=VERSION
// VERSION: convc {{[0-9]+\.[0-9]+\.[0-9]+}} (LLVM/MLIR 22.

// RUN: convc --help | FileCheck %s --check-prefix=HELP
// HELP: USAGE: convc <command> [options]
// HELP: compile IN.mlir
// HELP: PIPELINE STAGES (--emit):

// RUN: convc compile --help | FileCheck %s --check-prefix=COMPILE-HELP
// COMPILE-HELP-DAG: --emit=<value>
// COMPILE-HELP-DAG: --mlir-print-ir-after-all
// COMPILE-HELP-DAG: --mlir-timing
// COMPILE-HELP-DAG: --target=<string>
// LLVM's backend flags are hidden (still accepted; --help-hidden lists them).
// RUN: convc compile --help | FileCheck %s --check-prefix=COMPILE-HELP-SHORT --implicit-check-not=--aarch64 --implicit-check-not=--amdgpu --implicit-check-not=--x86
// COMPILE-HELP-SHORT: OVERVIEW: convc compile
// RUN: convc compile --help-hidden | FileCheck %s --check-prefix=COMPILE-HELP-HIDDEN
// COMPILE-HELP-HIDDEN: --amdgpu

// RUN: convc compile %s --emit=import | FileCheck %s
// CHECK: func.func @block
// CHECK: convc.glu
// CHECK: convc.lightweight_conv

// --emit=convc canonicalises: the unused glu is gone.
// RUN: convc compile %s --emit=convc | FileCheck %s --check-prefix=CANON
// CANON: func.func @block
// CANON-NOT: convc.glu
// CANON: convc.lightweight_conv

// The default stage is a shared library, with progress on stderr.
// RUN: convc compile %s -o %t.so 2>&1 | FileCheck %s --check-prefix=LIB
// LIB: convc: import
// LIB: convc: passes to llvm
// LIB: convc: machine code
// LIB: convc: linked {{.*}}.so
// The module's threads are the runtime's: it needs no OpenMP runtime (nor
// any LLVM library), and calls convc_parallel_for.
// RUN: readelf -d %t.so | FileCheck %s --check-prefix=NEEDED
// NEEDED-NOT: NEEDED{{.*}}omp
// NEEDED-NOT: NEEDED{{.*}}LLVM
// NEEDED-NOT: NEEDED{{.*}}MLIR
// RUN: readelf --dyn-syms %t.so | FileCheck %s --check-prefix=SYMS
// SYMS: UND convc_parallel_for
// RUN: not convc compile %s --emit=lib -o - 2>&1 | FileCheck %s --check-prefix=STAGE
// STAGE: convc compile: --emit=lib writes a binary file: give -o FILE

// The output naming the model file would destroy it: refused, file intact.
// RUN: cp %s %t.same.mlir
// RUN: not convc compile %t.same.mlir -o %t.same.mlir 2>&1 | FileCheck %s --check-prefix=SAME-OUTPUT
// RUN: convc compile %t.same.mlir --emit=import | FileCheck %s
// SAME-OUTPUT: convc compile: the output '{{.*}}.same.mlir' is the model file '{{.*}}.same.mlir': give -o another file
// A missing output folder is said before the pipeline (was the linker's
// "cannot open output file" after it), for libraries and IR alike.
// RUN: not convc compile %s -o %t.missing/dir/m.so 2>&1 | FileCheck %s --check-prefix=NO-DIR --implicit-check-not=convc:
// RUN: not convc compile %s --emit=llvm -o %t.missing/m.ll 2>&1 | FileCheck %s --check-prefix=NO-DIR --implicit-check-not=convc:
// NO-DIR: convc compile: cannot write '{{.*}}.missing/{{.*}}': no such directory '{{.*}}.missing{{.*}}'
// RUN: not convc compile %s --time-tile=0 -o %t.tile.so 2>&1 | FileCheck %s --check-prefix=TIME-TILE
// TIME-TILE: convc compile: the time tile must be at least 1, got 0
// RUN: not convc compile %s --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: unknown --target 'tpu' (expected cpu, cuda or gpu-kernels-on-cpu)

// RUN: convc compile %s --emit=loops | FileCheck %s --check-prefix=LOOPS
// LOOPS: scf.parallel
// LOOPS: vector.fma

// run: a missing input and a wrong shape are errors naming the input.
// RUN: not convc run %t.so 2>&1 | FileCheck %s --check-prefix=RUN-MISSING
// RUN-MISSING: convc run: missing --input input0=FILE.npy (input0: f32[s0, s1, 64])
// RUN: not convc run %t.so --input nope=%t.npy 2>&1 | FileCheck %s --check-prefix=RUN-NAME
// RUN-NAME: convc run: entry 'block' has no input named 'nope'; its inputs: input0: f32[s0, s1, 64]; input1: f32[8, 5];
// A misspelt flag names the subcommand and its --help (llvm::cl said
// "convc: ... Try: '<path>/convc --help'", the top-level help).
// RUN: not convc run %t.so --inptu x=%t.npy 2>&1 | FileCheck %s --check-prefix=RUN-TYPO
// RUN-TYPO: convc run: Unknown command line argument '--inptu'.  Try: 'convc run --help'
// RUN-TYPO-NEXT: convc run: Did you mean '--input'?
// RUN: not convc translate %t.so --beems 2 2>&1 | FileCheck %s --check-prefix=TRANSLATE-TYPO
// TRANSLATE-TYPO: convc translate: Unknown command line argument '--beems'.  Try: 'convc translate --help'
// RUN: not convc run %t.does-not-exist.so 2>&1 | FileCheck %s --check-prefix=RUN-LOAD
// RUN-LOAD: convc run: cannot load compiled module

// RUN: not convc compile %t.does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: convc compile: cannot open input file

// RUN: not convc compile %S/Inputs/bad_heads.mlir 2>&1 | FileCheck %s --check-prefix=VERIFY
// VERIFY: bad_heads.mlir:2:8: error: 'convc.lightweight_conv' op channels must be divisible by heads (C % H != 0): C = 10, H = 4

// RUN: not convc frobnicate 2>&1 | FileCheck %s --check-prefix=COMMAND
// COMMAND: convc: unknown command 'frobnicate'

// RUN: not convc 2>&1 | FileCheck %s --check-prefix=NOARGS
// NOARGS: USAGE: convc <command> [options]

func.func @block(%x: tensor<?x?x64xf32>, %w: tensor<8x5xf32>) -> tensor<?x?x64xf32> {
  %unused = convc.glu %x : tensor<?x?x64xf32>
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<8x5xf32>
  return %0 : tensor<?x?x64xf32>
}

// Equal tensor.empty ops stay separate allocations (alloc_tensor, before any
// CSE): merged, one buffer could be overwritten while a convc op still reads
// it (an imported TaLK decoder miscompiled that way).
// RUN: convc compile %S/Inputs/two_empties.mlir --emit=convc | FileCheck %s --check-prefix=EMPTIES
// EMPTIES-COUNT-2: bufferization.alloc_tensor
// EMPTIES-NOT: tensor.empty

// f16/bf16 models (the GPU kernels, here compiled for the CPU) take their
// storage type or f32 (rounded: NumPy has no bf16) and write f16 as '<f2',
// bf16 widened to f32.
// RUN: convc compile %S/Inputs/half_light.mlir --target=gpu-kernels-on-cpu -o %t.half.so --quiet
// RUN: convc run %t.half.so --input x=%S/Inputs/half_x.npy --input w=%S/Inputs/half_w.npy --output-dir %t.half.out | FileCheck %s --check-prefix=HALFOUT
// HALFOUT: wrote {{.*}}output0.npy output0: f16[2, 5, 16]{{$}}
// RUN: sed 's/f16/bf16/g' %S/Inputs/half_light.mlir > %t.bf16.mlir
// RUN: convc compile %t.bf16.mlir --target=gpu-kernels-on-cpu -o %t.bf16.so --quiet
// RUN: convc run %t.bf16.so --input x=%S/Inputs/half_x.npy --input w=%S/Inputs/half_w32.npy --output-dir %t.bf16.out | FileCheck %s --check-prefix=BF16OUT
// BF16OUT: wrote {{.*}}output0.npy output0: bf16[2, 5, 16] (as f32)
// An f32 value beyond f16's range is refused, not run as inf.
// RUN: not convc run %t.half.so --input x=%S/Inputs/half_x.npy --input w=%S/Inputs/half_w32_big.npy --output-dir %t.half.out 2>&1 | FileCheck %s --check-prefix=F16-RANGE
// F16-RANGE: convc run: input 'w': element 7 (1.000000e+06) is beyond f16's range
// Entry points whose inputs or outputs share a name are refused.
// RUN: not convc compile %S/Inputs/duplicate_names.mlir -o %t.dup.so 2>&1 | FileCheck %s --check-prefix=DUP-NAMES
// DUP-NAMES: entry point 'main': outputs 0 and 1 are both named 'y' (convc.name must be unique)
// RUN: sed 's/convc.name = "b"/convc.name = "a"/' %S/Inputs/duplicate_names.mlir > %t.dup-in.mlir
// RUN: not convc compile %t.dup-in.mlir -o %t.dup.so 2>&1 | FileCheck %s --check-prefix=DUP-INPUTS
// DUP-INPUTS: entry point 'main': inputs 0 and 1 are both named 'a' (convc.name must be unique)
// An f16 file for a bf16 input is an error that names both types.
// RUN: not convc run %t.bf16.so --input x=%S/Inputs/half_x.npy --input w=%S/Inputs/half_w.npy --output-dir %t.bf16.out 2>&1 | FileCheck %s --check-prefix=BF16-WRONG
// BF16-WRONG: input 'w': expected dtype bf16, given f16

// --input splits NAME=FILE at the '=' after which NAME is an input's name.
// RUN: convc run %S/Inputs/equals_named_input.mlir --input a=b=%S/Inputs/x4.npy --output-dir %t.eq | FileCheck %s --check-prefix=EQ-NAME
// EQ-NAME: wrote {{.*}}y.npy y: f32[4]
// A piped file (no seeking) is read all the same.
// RUN: cat %S/Inputs/x4.npy | convc run %S/Inputs/equals_named_input.mlir --input a=b=/dev/stdin --output-dir %t.pipe | FileCheck %s --check-prefix=EQ-NAME
// A full disk is an error, even for a file smaller than the stream buffer.
// RUN: rm -rf %t.full && mkdir -p %t.full && ln -s /dev/full %t.full/y.npy
// RUN: not convc run %S/Inputs/equals_named_input.mlir --input a=b=%S/Inputs/x4.npy --output-dir %t.full 2>&1 | FileCheck %s --check-prefix=FULL
// FULL: error writing '{{.*}}y.npy': No space left on device
// An output's file is named after it with '/' as '_': "../../up" stays in
// the output directory.
// RUN: rm -rf %t.names && mkdir -p %t.names/a/b
// RUN: convc run %S/Inputs/slash_named_output.mlir --input x=%S/Inputs/x4.npy --output-dir %t.names/a/b | FileCheck %s --check-prefix=SLASH
// SLASH: wrote {{.*}}/a/b/.._.._up.npy ../../up: f32[4]
// RUN: ls %t.names | FileCheck %s --check-prefix=SLASH-LS
// SLASH-LS-NOT: up.npy
