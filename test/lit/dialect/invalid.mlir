// One case per verifier rule: each malformed op is rejected with a message
// that names the rule.
// RUN: convc-opt %s -split-input-file -verify-diagnostics

// ===== depthwise_conv

func.func @depthwise_rank(%x: tensor<10x64xf32>, %w: tensor<64x3xf32>) {
  // expected-error @+1 {{operand #0 must be 3D tensor}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<10x64xf32>, tensor<64x3xf32>
  return
}

// -----

func.func @depthwise_dynamic_channels(%x: tensor<?x?x?xf32>, %w: tensor<64x3xf32>) {
  // expected-error @+1 {{channel dimension of the input must be static}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x?xf32>, tensor<64x3xf32>
  return
}

// -----

func.func @depthwise_weight_channels(%x: tensor<?x?x64xf32>, %w: tensor<32x3xf32>) {
  // expected-error @+1 {{weight shape mismatch: expected [C, K] = [64, ?], got 'tensor<32x3xf32>'}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x64xf32>, tensor<32x3xf32>
  return
}

// -----

func.func @depthwise_empty_kernel(%x: tensor<?x?x64xf32>, %w: tensor<64x0xf32>) {
  // expected-error @+1 {{kernel size K must be >= 1, got 0}}
  %0 = convc.depthwise_conv %x, %w {padding = 0 : i64} : tensor<?x?x64xf32>, tensor<64x0xf32>
  return
}

// -----

func.func @depthwise_dynamic_kernel(%x: tensor<?x?x64xf32>, %w: tensor<64x?xf32>) {
  // expected-error @+1 {{kernel size K must be static}}
  %0 = convc.depthwise_conv %x, %w {padding = 0 : i64} : tensor<?x?x64xf32>, tensor<64x?xf32>
  return
}

// -----

func.func @depthwise_dilation(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf32>) {
  // expected-error @+1 {{dilation must be >= 1, got 0}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64, dilation = 0 : i64} : tensor<?x?x64xf32>, tensor<64x3xf32>
  return
}

// -----

func.func @depthwise_padding_too_large(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf32>) {
  // expected-error @+1 {{padding out of range: must be in [0, K) = [0, 3), got 3}}
  %0 = convc.depthwise_conv %x, %w {padding = 3 : i64} : tensor<?x?x64xf32>, tensor<64x3xf32>
  return
}

// -----

func.func @depthwise_padding_negative(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf32>) {
  // expected-error @+1 {{padding out of range: must be in [0, K) = [0, 3), got -1}}
  %0 = convc.depthwise_conv %x, %w {padding = -1 : i64} : tensor<?x?x64xf32>, tensor<64x3xf32>
  return
}

// -----

func.func @depthwise_bias(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{bias shape mismatch: expected [C] = [64], got 'tensor<32xf32>'}}
  %0 = convc.depthwise_conv %x, %w, %b {padding = 1 : i64} : tensor<?x?x64xf32>, tensor<64x3xf32>, tensor<32xf32>
  return
}

// -----

func.func @depthwise_element_type(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf16>) {
  // expected-error @+1 {{element type mismatch: operand #1 has 'f16', the input has 'f32'}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x64xf32>, tensor<64x3xf16>
  return
}

// -----

func.func @depthwise_integer(%x: tensor<?x?x64xi32>, %w: tensor<64x3xi32>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %0 = convc.depthwise_conv %x, %w {padding = 1 : i64} : tensor<?x?x64xi32>, tensor<64x3xi32>
  return
}

// ===== lightweight_conv

// -----

func.func @lightweight_zero_heads(%x: tensor<?x?x64xf32>, %w: tensor<0x3xf32>) {
  // expected-error @+1 {{heads must be >= 1, got 0}}
  %0 = convc.lightweight_conv %x, %w {heads = 0 : i64, padding = 1 : i64} : tensor<?x?x64xf32>, tensor<0x3xf32>
  return
}

// -----

func.func @lightweight_heads_divide(%x: tensor<?x?x10xf32>, %w: tensor<4x3xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 10, H = 4}}
  %0 = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x10xf32>, tensor<4x3xf32>
  return
}

// -----

func.func @lightweight_weight_heads(%x: tensor<?x?x64xf32>, %w: tensor<4x3xf32>) {
  // expected-error @+1 {{weight shape mismatch: expected [H, K] = [8, ?], got 'tensor<4x3xf32>'}}
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 1 : i64} : tensor<?x?x64xf32>, tensor<4x3xf32>
  return
}

// -----

func.func @lightweight_empty_kernel(%x: tensor<?x?x64xf32>, %w: tensor<8x0xf32>) {
  // expected-error @+1 {{kernel size K must be >= 1, got 0}}
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 0 : i64} : tensor<?x?x64xf32>, tensor<8x0xf32>
  return
}

// -----

func.func @lightweight_padding(%x: tensor<?x?x64xf32>, %w: tensor<8x31xf32>) {
  // expected-error @+1 {{padding out of range: must be in [0, K) = [0, 31), got 31}}
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 31 : i64} : tensor<?x?x64xf32>, tensor<8x31xf32>
  return
}

// -----

func.func @lightweight_bias(%x: tensor<?x?x64xf32>, %w: tensor<8x3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias shape mismatch: expected [C] = [64], got 'tensor<8xf32>'}}
  %0 = convc.lightweight_conv %x, %w, %b {heads = 8 : i64, padding = 1 : i64} : tensor<?x?x64xf32>, tensor<8x3xf32>, tensor<8xf32>
  return
}

// -----

func.func @lightweight_missing_padding(%x: tensor<?x?x64xf32>, %w: tensor<8x3xf32>) {
  // expected-error @+1 {{requires attribute 'padding'}}
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64} : tensor<?x?x64xf32>, tensor<8x3xf32>
  return
}

// ===== dynamic_conv

// -----

func.func @dynamic_heads_divide(%x: tensor<?x?x10xf32>, %wq: tensor<12x10xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 10, H = 4}}
  %0 = convc.dynamic_conv %x, %wq {heads = 4 : i64, kernel_size = 3 : i64, padding = 2 : i64} : tensor<?x?x10xf32>, tensor<12x10xf32>
  return
}

// -----

func.func @dynamic_kernel_size(%x: tensor<?x?x64xf32>, %wq: tensor<8x64xf32>) {
  // expected-error @+1 {{kernel size K must be >= 1, got 0}}
  %0 = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 0 : i64, padding = 0 : i64} : tensor<?x?x64xf32>, tensor<8x64xf32>
  return
}

// -----

func.func @dynamic_weight_rows(%x: tensor<?x?x64xf32>, %wq: tensor<24x64xf32>) {
  // expected-error @+1 {{weight shape mismatch: expected [H*K, C] = [248, 64], got 'tensor<24x64xf32>'}}
  %0 = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 31 : i64, padding = 30 : i64} : tensor<?x?x64xf32>, tensor<24x64xf32>
  return
}

// -----

func.func @dynamic_weight_columns(%x: tensor<?x?x64xf32>, %wq: tensor<24x32xf32>) {
  // expected-error @+1 {{weight shape mismatch: expected [H*K, C] = [24, 64], got 'tensor<24x32xf32>'}}
  %0 = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 3 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<24x32xf32>
  return
}

// -----

func.func @dynamic_bias(%x: tensor<?x?x64xf32>, %wq: tensor<24x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias shape mismatch: expected [H*K] = [24], got 'tensor<64xf32>'}}
  %0 = convc.dynamic_conv %x, %wq, %b {heads = 8 : i64, kernel_size = 3 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<24x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @dynamic_padding(%x: tensor<?x?x64xf32>, %wq: tensor<24x64xf32>) {
  // expected-error @+1 {{padding out of range: must be in [0, K) = [0, 3), got 5}}
  %0 = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 3 : i64, padding = 5 : i64} : tensor<?x?x64xf32>, tensor<24x64xf32>
  return
}

// ===== talk_conv

// -----

func.func @talk_causal_right(%x: tensor<?x?x64xf32>, %o: tensor<?x?x8xf32>) {
  // expected-error @+1 {{causal TaLK looks at no future token: right_max must be 0, got 3}}
  %0 = convc.talk_conv %x, %o {causal, left_max = 3 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x8xf32>
  return
}

// -----

func.func @talk_negative_max(%x: tensor<?x?x64xf32>, %o: tensor<?x?x16xf32>) {
  // expected-error @+1 {{left_max and right_max must be >= 0, got -1 and 3}}
  %0 = convc.talk_conv %x, %o {left_max = -1 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x16xf32>
  return
}

// -----

func.func @talk_window_overflows(%x: tensor<?x?x64xf32>, %o: tensor<?x?x16xf32>) {
  // expected-error @+1 {{left_max and right_max must be at most 2^30, got 9223372036854775807 and 3}}
  %0 = convc.talk_conv %x, %o {left_max = 9223372036854775807 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x16xf32>
  return
}

// -----

func.func @talk_odd_offsets(%x: tensor<?x?x64xf32>, %o: tensor<?x?x5xf32>) {
  // expected-error @+1 {{non-causal offsets hold a left and a right offset per head ([B, T, 2H]): the last dimension must be even, got 5}}
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x5xf32>
  return
}

// -----

func.func @talk_heads_divide(%x: tensor<?x?x64xf32>, %o: tensor<?x?x6xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 64, H = 3}}
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x6xf32>
  return
}

// -----

func.func @talk_offsets_time(%x: tensor<2x10x64xf32>, %o: tensor<2x9x16xf32>) {
  // expected-error @+1 {{offsets must match the input in batch and time}}
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<2x10x64xf32>, tensor<2x9x16xf32>
  return
}

// -----

func.func @talk_offsets_dynamic_heads(%x: tensor<?x?x64xf32>, %o: tensor<?x?x?xf32>) {
  // expected-error @+1 {{channel dimension of the offsets must be static}}
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x?xf32>
  return
}

// -----

func.func @talk_element_type(%x: tensor<?x?x64xf32>, %o: tensor<?x?x16xbf16>) {
  // expected-error @+1 {{element type mismatch: operand #1 has 'bf16', the input has 'f32'}}
  %0 = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x16xbf16>
  return
}

// ===== glu

// -----

func.func @glu_odd(%x: tensor<?x?x7xf32>) {
  // expected-error @+1 {{the last dimension is split into two halves: it must be static and even, got 7}}
  %0 = convc.glu %x : tensor<?x?x7xf32>
  return
}

// -----

func.func @glu_dynamic(%x: tensor<?x?x?xf32>) {
  // expected-error @+1 {{the last dimension is split into two halves: it must be static and even, got ?}}
  %0 = convc.glu %x : tensor<?x?x?xf32>
  return
}

// -----

func.func @glu_result_type(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{'convc.glu' op inferred type(s) 'tensor<4x4xf32>' are incompatible with return type(s) of operation 'tensor<4x8xf32>'}}
  // expected-error @+1 {{'convc.glu' op failed to infer returned types}}
  %0 = "convc.glu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// ===== kernel_softmax

// -----

func.func @softmax_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{needs a tap axis: the input must have rank >= 1}}
  %0 = convc.kernel_softmax %x : tensor<f32>
  return
}

// -----

func.func @softmax_no_taps(%x: tensor<8x0xf32>) {
  // expected-error @+1 {{kernel size K must be >= 1, got 0}}
  %0 = convc.kernel_softmax %x : tensor<8x0xf32>
  return
}

// -----

func.func @softmax_dynamic_taps(%x: tensor<8x?xf32>) {
  // expected-error @+1 {{kernel size K must be static}}
  %0 = convc.kernel_softmax %x : tensor<8x?xf32>
  return
}

// ===== dynamic_kernel_conv

// -----

func.func @dkc_time(%x: tensor<1x10x64xf32>, %z: tensor<1x11x8x3xf32>) {
  // expected-error @+1 {{kernels must match the input in batch and time}}
  %0 = convc.dynamic_kernel_conv %x, %z {padding = 2 : i64} : tensor<1x10x64xf32>, tensor<1x11x8x3xf32>
  return
}

// -----

func.func @dkc_heads_divide(%x: tensor<?x?x64xf32>, %z: tensor<?x?x6x3xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 64, H = 6}}
  %0 = convc.dynamic_kernel_conv %x, %z {padding = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x6x3xf32>
  return
}

// -----

func.func @dkc_dynamic_heads(%x: tensor<?x?x64xf32>, %z: tensor<?x?x?x3xf32>) {
  // expected-error @+1 {{the heads dimension of the kernels must be static}}
  %0 = convc.dynamic_kernel_conv %x, %z {padding = 2 : i64} : tensor<?x?x64xf32>, tensor<?x?x?x3xf32>
  return
}

// -----

func.func @dkc_padding(%x: tensor<?x?x64xf32>, %z: tensor<?x?x8x3xf32>) {
  // expected-error @+1 {{padding out of range: must be in [0, K) = [0, 3), got 3}}
  %0 = convc.dynamic_kernel_conv %x, %z {padding = 3 : i64} : tensor<?x?x64xf32>, tensor<?x?x8x3xf32>
  return
}

// ===== prefix_sum and window_diff

// -----

func.func @prefix_sum_scale(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{scale must be finite}}
  %0 = convc.prefix_sum %x {scale = 0x7FF0000000000000 : f64} : tensor<?x?x64xf32>
  return
}

// -----

func.func @window_diff_causal_right(%s: tensor<?x?x64xf32>, %o: tensor<?x?x8xf32>) {
  // expected-error @+1 {{causal TaLK looks at no future token: right_max must be 0, got 1}}
  %0 = convc.window_diff %s, %o {causal, left_max = 3 : i64, right_max = 1 : i64} : tensor<?x?x64xf32>, tensor<?x?x8xf32>
  return
}

// -----

func.func @window_diff_heads(%s: tensor<?x?x64xf32>, %o: tensor<?x?x3xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 64, H = 3}}
  %0 = convc.window_diff %s, %o {causal, left_max = 3 : i64, right_max = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x3xf32>
  return
}

// ===== linear and layer_norm

// -----

func.func @linear_weight(%x: tensor<?x?x64xf32>, %w: tensor<32x48xf32>) {
  // expected-error @+1 {{weight shape mismatch: expected [N, D] with D = 64 (the input's last dimension), got 'tensor<32x48xf32>'}}
  %0 = convc.linear %x, %w : tensor<?x?x64xf32>, tensor<32x48xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @linear_odd_glu(%x: tensor<?x?x64xf32>, %w: tensor<33x64xf32>) {
  // expected-error @+1 {{a glu epilogue splits the projection in halves: the weight needs an even row count, got 33}}
  %0 = convc.linear %x, %w {activation = #convc<activation glu>} : tensor<?x?x64xf32>, tensor<33x64xf32> -> tensor<?x?x16xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias shape mismatch: expected [32], got 'tensor<64xf32>'}}
  %0 = convc.linear %x, %w bias %b : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<64xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @linear_residual(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %r: tensor<?x?x64xf32>) {
  // expected-error @+1 {{residual must have the result type 'tensor<?x?x32xf32>', got 'tensor<?x?x64xf32>'}}
  %0 = convc.linear %x, %w residual %r : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<?x?x64xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @linear_ln(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{ln_gamma shape mismatch: expected [32], got 'tensor<64xf32>'}}
  %0 = convc.linear %x, %w layer_norm %g, %g : tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @linear_dynamic_width(%x: tensor<?x?x?xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{the input's last dimension and the weight shape must be static}}
  %0 = convc.linear %x, %w : tensor<?x?x?xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @layer_norm_gamma(%x: tensor<?x?x64xf32>, %g: tensor<32xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{gamma shape mismatch: expected [64], got 'tensor<32xf32>'}}
  %0 = convc.layer_norm %x, %g, %b : tensor<?x?x64xf32>, tensor<32xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<?x?x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{eps must be >= 0, got -1.000000e-05}}
  %0 = convc.layer_norm %x, %g, %g {eps = -1.0e-5 : f64} : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_residual(%x: tensor<?x?x64xf32>, %g: tensor<64xf32>, %r: tensor<?x?x32xf32>) {
  // expected-error @+1 {{residual must have the input type 'tensor<?x?x64xf32>', got 'tensor<?x?x32xf32>'}}
  %0 = convc.layer_norm %x, %g, %g residual %r : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x?x32xf32>
  return
}

// -----

func.func @dynamic_weight(%x: tensor<?x?x64xf32>, %w: tensor<?x3xf32>) {
  // expected-error @+1 {{the weight must have a static shape, got 'tensor<?x3xf32>'}}
  %0 = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 1 : i64} : tensor<?x?x64xf32>, tensor<?x3xf32>
  return
}

// -----

func.func @dynamic_bias(%x: tensor<?x?x64xf32>, %w: tensor<64x3xf32>, %b: tensor<?xf32>) {
  // expected-error @+1 {{the bias must have a static shape, got 'tensor<?xf32>'}}
  %0 = convc.depthwise_conv %x, %w, %b {padding = 1 : i64} : tensor<?x?x64xf32>, tensor<64x3xf32>, tensor<?xf32>
  return
}

// -----

func.func @prefix_sum_channels(%x: tensor<?x?x?xf32>) {
  // expected-error @+1 {{channel dimension of the input must be static}}
  %0 = convc.prefix_sum %x : tensor<?x?x?xf32>
  return
}

// -----

func.func @embedding_start(%t: tensor<2x?xi64>, %e: tensor<10x8xf32>, %s: tensor<3xi64>) {
  // expected-error @+1 {{start must have one entry per batch row: expected [2], got 'tensor<3xi64>'}}
  %0 = convc.embedding %t, %e start %s {padding_idx = 1 : i64, scale = 1.0 : f64} : tensor<2x?xi64>, tensor<10x8xf32>, tensor<3xi64> -> tensor<2x?x8xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<?x?x30xf32>) {
  // expected-error @+1 {{channels must be divisible by heads (C % H != 0): C = 30, H = 4}}
  %0 = convc.attention %q, %q, %q {heads = 4 : i64} : tensor<?x?x30xf32>, tensor<?x?x30xf32>, tensor<?x?x30xf32>
  return
}

// -----

func.func @attention_types(%q: tensor<?x?x32xf16>, %k: tensor<?x?x32xf32>) {
  // expected-error @+1 {{element type mismatch: operand #1 has 'f32', the input has 'f16'}}
  %0 = convc.attention %q, %k, %k {heads = 4 : i64} : tensor<?x?x32xf16>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  return
}

// -----

func.func @attention_kv(%q: tensor<?x?x32xf32>, %k: tensor<?x5x32xf32>, %v: tensor<?x6x32xf32>) {
  // expected-error @+1 {{key and value must have the same type}}
  %0 = convc.attention %q, %k, %v {heads = 4 : i64} : tensor<?x?x32xf32>, tensor<?x5x32xf32>, tensor<?x6x32xf32>
  return
}

// -----

func.func @check_in_loop(%ok: i1, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    // expected-error @+1 {{must be directly in a function body}}
    convc.check %ok, "in a loop"
  }
  return
}

// -----

func.func @check_three_values(%ok: i1, %a: index) {
  // expected-error @+1 {{carries at most two values, got 3}}
  convc.check %ok, "{0} {1}" (%a, %a, %a)
  return
}
