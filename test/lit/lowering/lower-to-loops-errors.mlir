// RUN: convc-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(convc-lower-to-loops)'

func.func @bf16(%x: tensor<?x?x16xbf16>, %w: tensor<4x3xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error @+1 {{the CPU lowering handles f32 convc ops only; this op has 'bf16'}}
  %0 = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x16xbf16>, tensor<4x3xbf16>
  return %0 : tensor<?x?x16xbf16>
}

