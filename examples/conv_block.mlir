// A stack of conv seq2seq mixing blocks in the convc dialect (BTC layout,
// dynamic batch and time, C = 512, H = 8), as a fairseq model runs them after
// its input projections:
//   encoder LightConv block: GLU -> LightweightConv (K = 31, centred)
//   encoder TaLK block:      GLU -> TaLK (Lmax = Rmax = 31)
//   decoder DynamicConv:     GLU -> DynamicConv (K = 31, causal) -> dilated
//                            depthwise conv (K = 5, dilation 4)
// The projections that produce %proj* (Linear C -> 2C) are inputs here.
func.func @conv_blocks(
    %proj0: tensor<?x?x1024xf32> {convc.name = "proj0"},
    %proj1: tensor<?x?x1024xf32> {convc.name = "proj1"},
    %proj2: tensor<?x?x1024xf32> {convc.name = "proj2"},
    %light_w: tensor<8x31xf32> {convc.name = "light_w"},
    %talk_offsets: tensor<?x?x16xf32> {convc.name = "talk_offsets"},
    %dyn_wq: tensor<248x512xf32> {convc.name = "dyn_wq"},
    %dw_w: tensor<512x5xf32> {convc.name = "dw_w"},
    %dw_b: tensor<512xf32> {convc.name = "dw_b"})
    -> (tensor<?x?x512xf32> {convc.name = "light"},
        tensor<?x?x512xf32> {convc.name = "talk"},
        tensor<?x?x512xf32> {convc.name = "dynamic"}) {
  %u0 = convc.glu %proj0 : tensor<?x?x1024xf32>
  %light = convc.lightweight_conv %u0, %light_w {heads = 8 : i64, padding = 15 : i64}
      : tensor<?x?x512xf32>, tensor<8x31xf32>

  %u1 = convc.glu %proj1 : tensor<?x?x1024xf32>
  %talk = convc.talk_conv %u1, %talk_offsets {left_max = 31 : i64, right_max = 31 : i64}
      : tensor<?x?x512xf32>, tensor<?x?x16xf32>

  %u2 = convc.glu %proj2 : tensor<?x?x1024xf32>
  %dyn = convc.dynamic_conv %u2, %dyn_wq {heads = 8 : i64, kernel_size = 31 : i64, padding = 30 : i64}
      : tensor<?x?x512xf32>, tensor<248x512xf32>
  %dilated = convc.depthwise_conv %dyn, %dw_w, %dw_b {dilation = 4 : i64, padding = 2 : i64}
      : tensor<?x?x512xf32>, tensor<512x5xf32>, tensor<512xf32>
  return %light, %talk, %dilated : tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>
}
