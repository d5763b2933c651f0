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

// RUN: convc compile %s --emit=import | FileCheck %s
// CHECK: func.func @block
// CHECK: convc.glu
// CHECK: convc.lightweight_conv

// --emit=convc canonicalises: the unused glu is gone.
// RUN: convc compile %s | FileCheck %s --check-prefix=CANON
// CANON: func.func @block
// CANON-NOT: convc.glu
// CANON: convc.lightweight_conv

// RUN: not convc compile %s --emit=lib 2>&1 | FileCheck %s --check-prefix=STAGE
// STAGE: convc compile: --emit=lib is not available in this build

// RUN: not convc compile %s --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: unknown --target 'tpu' (expected cpu or cuda)

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
