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

// -----

// A [1, 1, C] gain broadcast onto the embeddings (its map reads the unit
// dims at 0) acts per position: the decoder is stepped (it was refused as
// "not known to act per position").
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#gain = affine_map<(d0, d1, d2) -> (0, 0, d2)>
// CHECK-LABEL: func.func @decode_step(
// CHECK: linalg.generic
// CHECK: convc.conv_window_step
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %emb: tensor<10x8xf32> {convc.name = "emb"},
                  %cw: tensor<2x3xf32> {convc.name = "cw"}, %g: tensor<1x1x8xf32> {convc.name = "gain"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #gain, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %g : tensor<?x?x8xf32>, tensor<1x1x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %m = arith.mulf %a, %w : f32
    linalg.yield %m : f32
  } -> tensor<?x?x8xf32>
  %c = convc.lightweight_conv %s, %cw {heads = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// Self-attention over the target tokens (keys and values from them) mixes
// the steps and has no step form: at T = 1 it would attend to the current
// token alone. The full decoder is kept.
// CHECK-LABEL: func.func @decode(
// CHECK: convc.attention
// CHECK-NOT: func.func @decode_step
func.func @decode(%tokens: tensor<?x?xi64>, %emb: tensor<10x8xf32>, %enc: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %a = convc.attention %x, %enc, %enc {heads = 2 : i64} : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  // expected-warning @+1 {{attends over keys or values computed from the target tokens (self-attention) and has no step form; no incremental decoder is derived}}
  %s = convc.attention %a, %x, %x {heads = 2 : i64} : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  return %s : tensor<?x?x8xf32>
}
