// RUN: convc-opt %s -split-input-file -convc-derive-decode-step="if-possible=true" -verify-diagnostics | FileCheck %s

// With if-possible (what `convc compile encoder.onnx --decoder decoder.onnx`
// uses), a decoder without a step form gets a warning and the module stays
// as it was: the runtime then runs the full decoder at every step.
// CHECK-LABEL: func.func @decode(
// CHECK: convc.lightweight_conv
// CHECK-NOT: func.func @decode_step
// CHECK-NOT: func.func @decode_init
func.func @decode(%tokens: tensor<?x?xi64>, %emb: tensor<10x8xf32>, %cw: tensor<2x3xf32>) -> tensor<?x?x8xf32> {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  // expected-warning @+1 {{is not causal (padding 1, K - 1 = 2): a decoder step exists only for causal convs; no incremental decoder is derived, so the full decoder runs on the whole prefix at every step}}
  %c = convc.lightweight_conv %x, %cw {heads = 2 : i64, padding = 1 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A decoder that has one is stepped as without the option.
// CHECK-LABEL: func.func @decode_step(
// CHECK: convc.conv_window_step
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %emb: tensor<10x8xf32> {convc.name = "emb"},
                  %cw: tensor<2x3xf32> {convc.name = "cw"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c = convc.lightweight_conv %x, %cw {heads = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %c : tensor<?x?x8xf32>
}
