// Every convc op the GPU target lowers, unfused (a function per op) and in
// the fused blocks the Fused stage forms (GLU + bias + residual + LayerNorm
// epilogues of projections, the TaLK prefix sum + window difference, the
// DynamicConv kernel softmax).
func.func @depthwise(%x: tensor<?x?x64xf32>, %w: tensor<64x5xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y = convc.depthwise_conv %x, %w, %b {padding = 4 : i64, dilation = 2 : i64} : tensor<?x?x64xf32>, tensor<64x5xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}
func.func @lightweight(%x: tensor<?x?x64xf32>, %w: tensor<4x7xf32>) -> tensor<?x?x64xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 3 : i64} : tensor<?x?x64xf32>, tensor<4x7xf32>
  return %y : tensor<?x?x64xf32>
}
func.func @dynamic(%x: tensor<?x?x64xf32>, %wq: tensor<28x64xf32>) -> tensor<?x?x64xf32> {
  %y = convc.dynamic_conv %x, %wq {heads = 4 : i64, kernel_size = 7 : i64, padding = 6 : i64} : tensor<?x?x64xf32>, tensor<28x64xf32>
  return %y : tensor<?x?x64xf32>
}
func.func @dynamic_kernels(%x: tensor<?x?x64xf32>, %z: tensor<?x?x4x7xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x4x7xf32>) {
  %y = convc.dynamic_kernel_conv %x, %z {kernel_softmax, padding = 6 : i64} : tensor<?x?x64xf32>, tensor<?x?x4x7xf32>
  %s = convc.kernel_softmax %z : tensor<?x?x4x7xf32>
  return %y, %s : tensor<?x?x64xf32>, tensor<?x?x4x7xf32>
}
func.func @talk(%x: tensor<?x?x64xf32>, %o: tensor<?x?x8xf32>, %oc: tensor<?x?x4xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %y = convc.talk_conv %x, %o {left_max = 31 : i64, right_max = 31 : i64} : tensor<?x?x64xf32>, tensor<?x?x8xf32>
  %s = convc.prefix_sum %x {scale = 0.2 : f64} : tensor<?x?x64xf32>
  %c = convc.window_diff %s, %oc {causal, left_max = 4 : i64, right_max = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  return %y, %c : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
func.func @block(%x: tensor<?x?x64xf32>, %w1: tensor<128x64xf32>, %b1: tensor<128xf32>,
                 %w2: tensor<64x64xf32>, %b2: tensor<64xf32>, %g: tensor<64xf32>, %be: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %p = convc.linear %x, %w1 bias %b1 : tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
  %u = convc.glu %p : tensor<?x?x128xf32>
  %v = convc.linear %u, %w2 bias %b2 : tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  %r = arith.addf %x, %v : tensor<?x?x64xf32>
  %y = convc.layer_norm %r, %g, %be : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}
func.func @embed_attend(%tok: tensor<?x?xi64>, %table: tensor<100x64xf32>, %k: tensor<?x?x64xf32>,
                        %v: tensor<?x?x64xf32>, %src: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %x = convc.embedding %tok, %table {padding_idx = 1 : i64, scale = 8.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<100x64xf32> -> tensor<?x?x64xf32>
  %m = convc.padding_mask %src {padding_idx = 1 : i64} : tensor<?x?xi64> -> tensor<?x?xf32>
  %a = convc.attention %x, %k, %v key_padding %m {heads = 4 : i64} : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xf32>
  %qm = convc.padding_mask %tok {padding_idx = 1 : i64} : tensor<?x?xi64> -> tensor<?x?xf32>
  %xm = convc.mask_positions %x, %qm : tensor<?x?x64xf32>, tensor<?x?xf32>
  %s = arith.addf %a, %xm : tensor<?x?x64xf32>
  return %s : tensor<?x?x64xf32>
}
func.func @unfused(%x: tensor<?x?x64xf32>, %h: tensor<?x?x128xf32>, %oc: tensor<?x?x4xf32>, %g: tensor<64xf32>,
                   %be: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %u = convc.glu %h : tensor<?x?x128xf32>
  %n = convc.layer_norm %x, %g, %be residual %u : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x?x64xf32>
  %s = convc.prefix_sum %x {scale = 0.2 : f64} : tensor<?x?x64xf32>
  %c = convc.window_diff %x, %oc {causal, left_max = 4 : i64, right_max = 0 : i64} : tensor<?x?x64xf32>, tensor<?x?x4xf32>
  return %u, %n, %s, %c : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
func.func @steps(%x: tensor<?x1x64xf32>, %s: tensor<?x6x64xf32>, %w: tensor<4x7xf32>, %wq: tensor<28x64xf32>,
                 %o: tensor<?x1x4xf32>, %ring: tensor<?x7x64xf32>, %t: tensor<?xi64>)
    -> (tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<?x1x64xf32>, tensor<?x7x64xf32>) {
  %y, %n = convc.conv_window_step %x, %s, %w {kind = "lightweight", heads = 4 : i64} : tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<4x7xf32>
  %dy, %dn = convc.conv_window_step %x, %s, %wq {kind = "dynamic", heads = 4 : i64} : tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<28x64xf32>
  %ty, %tr = convc.talk_step %x, %o, %ring, %t {left_max = 5 : i64} : tensor<?x1x64xf32>, tensor<?x1x4xf32>, tensor<?x7x64xf32>, tensor<?xi64>
  return %y, %n, %dy, %dn, %ty, %tr : tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<?x1x64xf32>, tensor<?x6x64xf32>, tensor<?x1x64xf32>, tensor<?x7x64xf32>
}
