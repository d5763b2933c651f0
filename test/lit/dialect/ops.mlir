// Every convc op parses, verifies, prints and re-parses, in the custom and
// the generic form, with static and dynamic batch/time and f32/f16/bf16.
// RUN: convc-opt %s | convc-opt | FileCheck %s
// RUN: convc-opt %s --mlir-print-op-generic | convc-opt | FileCheck %s

// CHECK-LABEL: func.func @depthwise
func.func @depthwise(%x: tensor<?x?x64xf32>, %w: tensor<64x5xf32>, %b: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  // CHECK: convc.depthwise_conv %{{.*}}, %{{.*}}, %{{.*}} {dilation = 2 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<64x5xf32>, tensor<64xf32>
  %0 = convc.depthwise_conv %x, %w, %b {dilation = 2 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<64x5xf32>, tensor<64xf32>
  // The default dilation 1 is elided.
  // CHECK: convc.depthwise_conv %{{.*}}, %{{.*}} {padding = 4 : i64} : tensor<?x?x64xf32>, tensor<64x5xf32>
  %1 = convc.depthwise_conv %x, %w {padding = 4 : i64, dilation = 1 : i64} : tensor<?x?x64xf32>, tensor<64x5xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @lightweight
func.func @lightweight(%x: tensor<2x10x512xf32>, %w: tensor<8x31xf32>, %b: tensor<512xf32>, %xh: tensor<?x?x16xf16>, %wh: tensor<4x3xf16>) -> (tensor<2x10x512xf32>, tensor<2x10x512xf32>, tensor<?x?x16xf16>) {
  // CHECK: convc.lightweight_conv %{{.*}}, %{{.*}} {heads = 8 : i64, padding = 15 : i64} : tensor<2x10x512xf32>, tensor<8x31xf32>
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 15 : i64} : tensor<2x10x512xf32>, tensor<8x31xf32>
  // CHECK: convc.lightweight_conv %{{.*}}, %{{.*}}, %{{.*}} {heads = 8 : i64, padding = 30 : i64, weight_softmax = false} : tensor<2x10x512xf32>, tensor<8x31xf32>, tensor<512xf32>
  %1 = convc.lightweight_conv %x, %w, %b {heads = 8 : i64, padding = 30 : i64, weight_softmax = false} : tensor<2x10x512xf32>, tensor<8x31xf32>, tensor<512xf32>
  // CHECK: convc.lightweight_conv %{{.*}}, %{{.*}} {heads = 4 : i64, padding = 2 : i64} : tensor<?x?x16xf16>, tensor<4x3xf16>
  %2 = convc.lightweight_conv %xh, %wh {heads = 4 : i64, padding = 2 : i64} : tensor<?x?x16xf16>, tensor<4x3xf16>
  return %0, %1, %2 : tensor<2x10x512xf32>, tensor<2x10x512xf32>, tensor<?x?x16xf16>
}

// CHECK-LABEL: func.func @dynamic
func.func @dynamic(%x: tensor<?x?x512xf32>, %wq: tensor<248x512xf32>, %bq: tensor<248xf32>) -> (tensor<?x?x512xf32>, tensor<?x?x512xf32>) {
  // CHECK: convc.dynamic_conv %{{.*}}, %{{.*}} {heads = 8 : i64, kernel_size = 31 : i64, padding = 30 : i64} : tensor<?x?x512xf32>, tensor<248x512xf32>
  %0 = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 31 : i64, padding = 30 : i64} : tensor<?x?x512xf32>, tensor<248x512xf32>
  // CHECK: convc.dynamic_conv %{{.*}}, %{{.*}}, %{{.*}} {heads = 8 : i64, kernel_size = 31 : i64, padding = 15 : i64} : tensor<?x?x512xf32>, tensor<248x512xf32>, tensor<248xf32>
  %1 = convc.dynamic_conv %x, %wq, %bq {heads = 8 : i64, kernel_size = 31 : i64, padding = 15 : i64} : tensor<?x?x512xf32>, tensor<248x512xf32>, tensor<248xf32>
  return %0, %1 : tensor<?x?x512xf32>, tensor<?x?x512xf32>
}

// CHECK-LABEL: func.func @talk
func.func @talk(%x: tensor<?x?x512xbf16>, %o: tensor<?x?x16xbf16>, %oc: tensor<?x?x8xbf16>) -> (tensor<?x?x512xbf16>, tensor<?x?x512xbf16>) {
  // CHECK: convc.talk_conv %{{.*}}, %{{.*}} {left_max = 31 : i64, right_max = 31 : i64} : tensor<?x?x512xbf16>, tensor<?x?x16xbf16>
  %0 = convc.talk_conv %x, %o {left_max = 31 : i64, right_max = 31 : i64} : tensor<?x?x512xbf16>, tensor<?x?x16xbf16>
  // CHECK: convc.talk_conv %{{.*}}, %{{.*}} {causal, left_max = 7 : i64, right_max = 0 : i64} : tensor<?x?x512xbf16>, tensor<?x?x8xbf16>
  %1 = convc.talk_conv %x, %oc {causal, left_max = 7 : i64, right_max = 0 : i64} : tensor<?x?x512xbf16>, tensor<?x?x8xbf16>
  return %0, %1 : tensor<?x?x512xbf16>, tensor<?x?x512xbf16>
}

// The result type is inferred: the return type checks it.
// CHECK-LABEL: func.func @glu
func.func @glu(%x: tensor<2x?x1024xf32>, %y: tensor<6xf16>) -> (tensor<2x?x512xf32>, tensor<3xf16>) {
  // CHECK: convc.glu %{{.*}} : tensor<2x?x1024xf32>
  %0 = convc.glu %x : tensor<2x?x1024xf32>
  // CHECK: convc.glu %{{.*}} : tensor<6xf16>
  %1 = convc.glu %y : tensor<6xf16>
  return %0, %1 : tensor<2x?x512xf32>, tensor<3xf16>
}

// CHECK-LABEL: func.func @primitives
func.func @primitives(%x: tensor<?x?x64xf32>, %w: tensor<8x31xf32>, %z: tensor<?x?x8x31xf32>, %o: tensor<?x?x4xf32>) -> (tensor<8x31xf32>, tensor<?x?x8x31xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  // CHECK: convc.kernel_softmax %{{.*}} : tensor<8x31xf32>
  %0 = convc.kernel_softmax %w : tensor<8x31xf32>
  // CHECK: convc.kernel_softmax %{{.*}} : tensor<?x?x8x31xf32>
  %1 = convc.kernel_softmax %z : tensor<?x?x8x31xf32>
  // CHECK: convc.dynamic_kernel_conv %{{.*}}, %{{.*}} {kernel_softmax, padding = 30 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x31xf32>
  %2 = convc.dynamic_kernel_conv %x, %z {kernel_softmax, padding = 30 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x31xf32>
  // CHECK: convc.dynamic_kernel_conv %{{.*}}, %{{.*}} {padding = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x31xf32>
  %3 = convc.dynamic_kernel_conv %x, %1 {padding = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x31xf32>
  // CHECK: convc.prefix_sum %{{.*}} {scale = 1.250000e-01 : f64} : tensor<?x?x64xf32>
  %4 = convc.prefix_sum %2 {scale = 0.125 : f64} : tensor<?x?x64xf32>
  // CHECK: convc.prefix_sum %{{.*}} : tensor<?x?x64xf32>
  %5 = convc.prefix_sum %3 : tensor<?x?x64xf32>
  // CHECK: convc.window_diff %{{.*}}, %{{.*}} {causal, left_max = 7 : i64, right_max = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  %6 = convc.window_diff %4, %o {causal, left_max = 7 : i64, right_max = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  // CHECK: convc.window_diff %{{.*}}, %{{.*}} {left_max = 3 : i64, right_max = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  %7 = convc.window_diff %5, %o {left_max = 3 : i64, right_max = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  return %0, %1, %6, %7 : tensor<8x31xf32>, tensor<?x?x8x31xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @projections
func.func @projections(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>, %w2: tensor<64x64xf32>, %g: tensor<64xf32>, %r: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  // CHECK: convc.linear %{{.*}}, %{{.*}} bias %{{.*}} {activation = #convc<activation glu>} : tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<?x?x64xf32>
  %0 = convc.linear %x, %w bias %b {activation = #convc<activation glu>} : tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<?x?x64xf32>
  // CHECK: convc.linear %{{.*}}, %{{.*}} residual %{{.*}} layer_norm %{{.*}}, %{{.*}} {eps = 9.9999999999999995E-7 : f64} :
  %1 = convc.linear %0, %w2 residual %r layer_norm %g, %g {eps = 1.0e-6 : f64} : tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  // CHECK: convc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} residual %{{.*}} : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x?x64xf32>
  %2 = convc.layer_norm %1, %g, %g residual %r : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x?x64xf32>
  return %0, %1, %2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @seq2seq
func.func @seq2seq(%t: tensor<?x?xi64>, %e: tensor<100x64xf32>, %s: tensor<?xi64>, %q: tensor<?x?x64xf32>, %k: tensor<?x?x64xf32>, %m: tensor<?x?xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  // CHECK: convc.embedding %{{.*}}, %{{.*}} start %{{.*}} {padding_idx = 1 : i64, scale = 8.000000e+00 : f64, sinusoidal} : tensor<?x?xi64>, tensor<100x64xf32>, tensor<?xi64> -> tensor<?x?x64xf32>
  %0 = convc.embedding %t, %e start %s {padding_idx = 1 : i64, scale = 8.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<100x64xf32>, tensor<?xi64> -> tensor<?x?x64xf32>
  // CHECK: convc.attention %{{.*}}, %{{.*}}, %{{.*}} key_padding %{{.*}} {heads = 8 : i64} : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xf32>
  %1 = convc.attention %q, %k, %k key_padding %m {heads = 8 : i64} : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// f16 (or bf16) q, k, v with the f32 padding mask padding_mask makes.
// CHECK-LABEL: func.func @half_attention
func.func @half_attention(%t: tensor<?x?xi64>, %q: tensor<?x?x64xf16>) -> tensor<?x?x64xf16> {
  %m = convc.padding_mask %t {padding_idx = 1 : i64} : tensor<?x?xi64> -> tensor<?x?xf32>
  // CHECK: convc.attention {{.*}} : tensor<?x?x64xf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16>, tensor<?x?xf32>
  %a = convc.attention %q, %q, %q key_padding %m {heads = 8 : i64} : tensor<?x?x64xf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16>, tensor<?x?xf32>
  return %a : tensor<?x?x64xf16>
}
