// RUN: convc-opt %s -split-input-file -convc-derive-decode-step -verify-diagnostics | FileCheck %s

// The decoder stays; @decode_init computes the encoder-side projection once;
// @decode_step takes one token, its position, the conv state and the cached
// projection, and returns the logits and the next state.
// CHECK-LABEL: func.func @decode(
// CHECK: convc.lightweight_conv
// CHECK-LABEL: func.func @decode_init(
// CHECK-SAME: %[[ENC:[^:]*]]: tensor<?x?x8xf32> {convc.name = "enc"}, %[[WK:[^:]*]]: tensor<8x8xf32> {convc.name = "wk"})
// CHECK-SAME: -> (tensor<?x?x8xf32> {convc.name = "cache0"})
// CHECK: %[[K:.*]] = convc.linear %[[ENC]], %[[WK]]
// CHECK: return %[[K]]
// CHECK-LABEL: func.func @decode_step(
// CHECK-SAME: {convc.name = "tokens"}
// CHECK-SAME: %[[STEP:[^:]*]]: tensor<?xi64> {convc.name = "step"}
// CHECK-SAME: %[[COUNT:[^:]*]]: tensor<?xi64> {convc.name = "state0"}
// CHECK-SAME: %[[STATE:[^:]*]]: tensor<?x2x8xf32> {convc.name = "state1"}
// CHECK-SAME: %[[CACHE:[^:]*]]: tensor<?x?x8xf32> {convc.name = "cache0"}
// CHECK-SAME: -> (tensor<?x?x8xf32> {convc.name = "y"}, tensor<?xi64> {convc.name = "state0.next"}, tensor<?x2x8xf32> {convc.name = "state1.next"})
// The sinusoidal positions count the valid tokens before (state0), not the
// steps: a pad start token does not advance them.
// CHECK: %[[X:.*]] = convc.embedding %[[TOKENS:[^,]*]], %{{.*}} start %[[COUNT]]
// CHECK: %[[COUNTED:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[TOKENS]], %[[COUNT]] : tensor<?x?xi64>, tensor<?xi64>) outs(%{{.*}} : tensor<?xi64>)
// CHECK-DAG: arith.cmpi ne, %{{.*}}, %c1_i64
// CHECK-DAG: arith.cmpi slt, %{{.*}}, %c10_i64
// CHECK: %[[Y:.*]], %[[NEXT:.*]] = convc.conv_window_step %[[X]], %[[STATE]], %{{.*}} {heads = 2 : i64, kind = "lightweight"}
// CHECK-NOT: convc.linear %{{.*}}, %{{.*}}wk
// CHECK: convc.attention %{{.*}}, %[[CACHE]], %[[CACHE]]
// CHECK: return %{{.*}}, %[[COUNTED]], %[[NEXT]]
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %enc: tensor<?x?x8xf32> {convc.name = "enc"},
                  %emb: tensor<10x8xf32> {convc.name = "emb"}, %cw: tensor<2x3xf32> {convc.name = "cw"},
                  %wk: tensor<8x8xf32> {convc.name = "wk"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c = convc.lightweight_conv %x, %cw {heads = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  %k = convc.linear %enc, %wk : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %a = convc.attention %c, %k, %k {heads = 2 : i64} : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  return %a : tensor<?x?x8xf32>
}

// -----

// A centred (non-causal) conv has no step form.
func.func @decode(%tokens: tensor<?x?xi64>, %emb: tensor<10x8xf32>, %cw: tensor<2x3xf32>) -> tensor<?x?x8xf32> {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  // expected-error @+1 {{is not causal (padding 1, K - 1 = 2): a decoder step exists only for causal convs}}
  %c = convc.lightweight_conv %x, %cw {heads = 2 : i64, padding = 1 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// expected-error @+1 {{'func.func' op has no [B, T] i64 target-token argument}}
func.func @decode(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  return %x : tensor<?x?x8xf32>
}

// -----

// A generic op of the token-dependent sequence that reduces over time (a
// running mean, an unraised gather, ...) mixes time steps: no step form.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @decode(%tokens: tensor<?x?xi64>, %emb: tensor<10x8xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  // expected-error @+1 {{is not known to act per position (it may mix time steps) and has no step form}}
  %s = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%init : tensor<?x8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %a = arith.addf %v, %acc : f32
    linalg.yield %a : f32
  } -> tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// Elementwise generics of the sequence are per position: the step keeps them.
// CHECK-LABEL: func.func @decode_step(
// CHECK: convc.embedding
// CHECK: linalg.generic
// CHECK: convc.conv_window_step
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scalar = affine_map<(d0, d1, d2) -> ()>
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %emb: tensor<10x8xf32> {convc.name = "emb"},
                  %cw: tensor<2x3xf32> {convc.name = "cw"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %two = arith.constant dense<2.0> : tensor<f32>
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %two : tensor<?x?x8xf32>, tensor<f32>) outs(%x : tensor<?x?x8xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<?x?x8xf32>
  %c = convc.lightweight_conv %h, %cw {heads = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A causal depthwise conv (fairseq's LightweightConv1d once raised, a
// kernel per channel) steps as a lightweight conv with a head per channel
// and no softmax; its bias is added to the step's output.
// CHECK-LABEL: func.func @decode_step(
// CHECK-SAME: %{{[^:]*}}: tensor<?x2x8xf32> {convc.name = "state1"}
// CHECK: %[[Y:.*]], %[[NEXT:.*]] = convc.conv_window_step %{{.*}}, %{{.*}}, %[[W:[^ ]*]] {heads = 8 : i64, kind = "lightweight", weight_softmax = false}
// CHECK: %[[BIASED:.*]] = linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<?x?x8xf32>, tensor<8xf32>)
// CHECK: arith.addf
// CHECK: return %[[BIASED]], %{{.*}}, %[[NEXT]]
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %emb: tensor<10x8xf32> {convc.name = "emb"},
                  %cw: tensor<8x3xf32> {convc.name = "cw"}, %cb: tensor<8xf32> {convc.name = "cb"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c = convc.depthwise_conv %x, %cw, %cb {padding = 2 : i64} : tensor<?x?x8xf32>, tensor<8x3xf32>, tensor<8xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A dilated depthwise conv has no step form (its state would hold
// (K - 1) * dilation inputs).
func.func @decode(%tokens: tensor<?x?xi64>, %emb: tensor<10x8xf32>, %cw: tensor<8x3xf32>) -> tensor<?x?x8xf32> {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  // expected-error @+1 {{is dilated: a decoder step exists only for undilated depthwise convs}}
  %c = convc.depthwise_conv %x, %cw {dilation = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<8x3xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A biased LightweightConv steps without its bias, added to the output.
// CHECK-LABEL: func.func @decode_step(
// CHECK: %[[Y:.*]], %[[NEXT:.*]] = convc.conv_window_step %{{.*}}, %{{.*}}, %{{[^ ]*}} {heads = 2 : i64, kind = "lightweight"} :
// CHECK: %[[BIASED:.*]] = linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<?x?x8xf32>, tensor<8xf32>)
// CHECK: return %[[BIASED]], %{{.*}}, %[[NEXT]]
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %emb: tensor<10x8xf32> {convc.name = "emb"},
                  %cw: tensor<2x3xf32> {convc.name = "cw"}, %cb: tensor<8xf32> {convc.name = "cb"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c = convc.lightweight_conv %x, %cw, %cb {heads = 2 : i64, padding = 2 : i64} : tensor<?x?x8xf32>, tensor<2x3xf32>, tensor<8xf32>
  return %c : tensor<?x?x8xf32>
}

// -----

// A causal conv the target tokens do not reach (over the encoder output)
// is the same at every step: computed once in @decode_init, not stepped (a
// step op on [B, S, C] wrote only its first row).
// CHECK-LABEL: func.func @decode_init(
// CHECK: %[[E:.*]] = convc.depthwise_conv %{{.*}}, %{{.*}} {padding = 2 : i64}
// CHECK: return %[[E]]
// CHECK-LABEL: func.func @decode_step(
// CHECK-NOT: convc.depthwise_conv
// CHECK: convc.conv_window_step
// CHECK-NOT: convc.conv_window_step
// CHECK: convc.attention
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %enc: tensor<?x?x8xf32> {convc.name = "enc"},
                  %emb: tensor<10x8xf32> {convc.name = "emb"}, %cw: tensor<8x3xf32> {convc.name = "cw"}) -> (tensor<?x?x8xf32> {convc.name = "y"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 1.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<10x8xf32> -> tensor<?x?x8xf32>
  %c = convc.depthwise_conv %x, %cw {padding = 2 : i64} : tensor<?x?x8xf32>, tensor<8x3xf32>
  %e = convc.depthwise_conv %enc, %cw {padding = 2 : i64} : tensor<?x?x8xf32>, tensor<8x3xf32>
  %a = convc.attention %c, %e, %e {heads = 2 : i64} : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  return %a : tensor<?x?x8xf32>
}
