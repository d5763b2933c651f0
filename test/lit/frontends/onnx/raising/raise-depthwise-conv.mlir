// RUN: convc-opt %s -convc-raise-depthwise-conv -split-input-file | FileCheck %s

// F.conv1d(F.pad(x, time 2 + 2).transpose(1, 2), w, groups=C).transpose(1, 2)
// with a bias, as the ONNX importer emits it: a "same" conv, raised.
// CHECK-LABEL: func.func @same_padding
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x16xf32>, %[[W:.*]]: tensor<16x5xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[Y:.*]] = convc.depthwise_conv %[[X]], %[[W]], %[[B]] {padding = 2 : i64}
// CHECK-NOT: linalg.depthwise_conv_1d_ncw_cw
// CHECK: return %[[Y]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#chan = affine_map<(d0, d1, d2) -> (d1)>
func.func @same_padding(%x: tensor<?x?x16xf32>, %w: tensor<16x5xf32>, %b: tensor<16xf32>) -> tensor<?x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 2, 0] high[0, 2, 0] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x?x16xf32> to tensor<?x?x16xf32>
  %n = tensor.dim %p, %c0 : tensor<?x?x16xf32>
  %t = tensor.dim %x, %c2 : tensor<?x?x16xf32>
  %tp = tensor.dim %p, %c2 : tensor<?x?x16xf32>
  %e0 = tensor.empty(%n, %tp) : tensor<?x16x?xf32>
  %xt = linalg.transpose ins(%p : tensor<?x?x16xf32>) outs(%e0 : tensor<?x16x?xf32>) permutation = [0, 2, 1]
  %t1 = tensor.dim %x, %c2 : tensor<?x?x16xf32>
  %e1 = tensor.empty(%n, %t1) : tensor<?x16x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x16x?xf32>) -> tensor<?x16x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%xt, %w : tensor<?x16x?xf32>, tensor<16x5xf32>) outs(%acc : tensor<?x16x?xf32>) -> tensor<?x16x?xf32>
  %e2 = tensor.empty(%n, %t1) : tensor<?x16x?xf32>
  %biased = linalg.generic {indexing_maps = [#id, #chan, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%conv, %b : tensor<?x16x?xf32>, tensor<16xf32>) outs(%e2 : tensor<?x16x?xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<?x16x?xf32>
  %e3 = tensor.empty(%n, %t1) : tensor<?x?x16xf32>
  %y = linalg.transpose ins(%biased : tensor<?x16x?xf32>) outs(%e3 : tensor<?x?x16xf32>) permutation = [0, 2, 1]
  return %y : tensor<?x?x16xf32>
}

// -----

// Causal and dilated: all padding on the left, in the conv's own pads
// (2 taps x dilation 2 = 4 zeros).
// CHECK-LABEL: func.func @causal_dilated
// CHECK: convc.depthwise_conv %{{.*}}, %{{.*}} {dilation = 2 : i64, padding = 2 : i64}
func.func @causal_dilated(%x: tensor<?x?x8xf32>, %w: tensor<8x3xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e0 = tensor.empty(%n, %t) : tensor<?x8x?xf32>
  %xt = linalg.transpose ins(%x : tensor<?x?x8xf32>) outs(%e0 : tensor<?x8x?xf32>) permutation = [0, 2, 1]
  %p = tensor.pad %xt low[0, 0, 4] high[0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x8x?xf32> to tensor<?x8x?xf32>
  %e1 = tensor.empty(%n, %t) : tensor<?x8x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x8x?xf32>) -> tensor<?x8x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<2> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%p, %w : tensor<?x8x?xf32>, tensor<8x3xf32>) outs(%acc : tensor<?x8x?xf32>) -> tensor<?x8x?xf32>
  %e3 = tensor.empty(%n, %t) : tensor<?x?x8xf32>
  %y = linalg.transpose ins(%conv : tensor<?x8x?xf32>) outs(%e3 : tensor<?x?x8xf32>) permutation = [0, 2, 1]
  return %y : tensor<?x?x8xf32>
}

// -----

// Padding that shrinks the sequence (1 + 1 zeros for K = 5) is not a convc
// conv: left as is.
// CHECK-LABEL: func.func @valid_conv
// CHECK-NOT: convc.depthwise_conv
// CHECK: linalg.depthwise_conv_1d_ncw_cw
func.func @valid_conv(%x: tensor<?x?x8xf32>, %w: tensor<8x5xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e0 = tensor.empty(%n, %t) : tensor<?x8x?xf32>
  %xt = linalg.transpose ins(%x : tensor<?x?x8xf32>) outs(%e0 : tensor<?x8x?xf32>) permutation = [0, 2, 1]
  %p = tensor.pad %xt low[0, 0, 1] high[0, 0, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x8x?xf32> to tensor<?x8x?xf32>
  %e1 = tensor.empty(%n, %t) : tensor<?x8x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x8x?xf32>) -> tensor<?x8x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%p, %w : tensor<?x8x?xf32>, tensor<8x5xf32>) outs(%acc : tensor<?x8x?xf32>) -> tensor<?x8x?xf32>
  %e3 = tensor.empty(%n, %t) : tensor<?x?x8xf32>
  %y = linalg.transpose ins(%conv : tensor<?x8x?xf32>) outs(%e3 : tensor<?x?x8xf32>) permutation = [0, 2, 1]
  return %y : tensor<?x?x8xf32>
}

// -----

// fairseq's TBC layout: x [T, B, C] permuted [1, 2, 0] to [B, C, T], the
// conv, permuted [2, 0, 1] back. Raised, between transposes to and from BTC.
// CHECK-LABEL: func.func @tbc_layout
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x16xf32>, %[[W:.*]]: tensor<16x3xf32>)
// CHECK: %[[XB:.*]] = linalg.transpose ins(%[[X]] : tensor<?x?x16xf32>) outs(%{{.*}} : tensor<?x?x16xf32>) permutation = [1, 0, 2]
// CHECK: %[[Y:.*]] = convc.depthwise_conv %[[XB]], %[[W]] {padding = 2 : i64}
// CHECK: %[[YT:.*]] = linalg.transpose ins(%[[Y]] : tensor<?x?x16xf32>) outs(%{{.*}} : tensor<?x?x16xf32>) permutation = [1, 0, 2]
// CHECK-NOT: linalg.depthwise_conv_1d_ncw_cw
// CHECK: return %[[YT]]
func.func @tbc_layout(%x: tensor<?x?x16xf32>, %w: tensor<16x3xf32>) -> tensor<?x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x?x16xf32>
  %b = tensor.dim %x, %c1 : tensor<?x?x16xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x16x?xf32>
  %xt = linalg.transpose ins(%x : tensor<?x?x16xf32>) outs(%e0 : tensor<?x16x?xf32>) permutation = [1, 2, 0]
  %p = tensor.pad %xt low[0, 0, 2] high[0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x16x?xf32> to tensor<?x16x?xf32>
  %e1 = tensor.empty(%b, %t) : tensor<?x16x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x16x?xf32>) -> tensor<?x16x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%p, %w : tensor<?x16x?xf32>, tensor<16x3xf32>) outs(%acc : tensor<?x16x?xf32>) -> tensor<?x16x?xf32>
  %e2 = tensor.empty(%t, %b) : tensor<?x?x16xf32>
  %y = linalg.transpose ins(%conv : tensor<?x16x?xf32>) outs(%e2 : tensor<?x?x16xf32>) permutation = [2, 0, 1]
  return %y : tensor<?x?x16xf32>
}

// -----

// fairseq's LightweightConv1d: [B, 4, T] viewed as [2B, 2, T] (heads in the
// batch), a grouped conv with a [3] kernel per head, viewed back. Channel c
// meets head c % 2, so it is a depthwise conv whose kernel repeats the
// heads' rows across the channels.
// CHECK-LABEL: func.func @heads_in_batch
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00], [1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<4x3xf32>
// CHECK: %[[Y:.*]] = convc.depthwise_conv %[[X]], %[[W]] {padding = 2 : i64}
// CHECK-NOT: tensor.reshape
// CHECK: return %[[Y]]
func.func @heads_in_batch(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c2_i64 = arith.constant 2 : i64
  %c4_i64 = arith.constant 4 : i64
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x4x?xf32>
  %xt = linalg.transpose ins(%x : tensor<?x?x4xf32>) outs(%e0 : tensor<?x4x?xf32>) permutation = [0, 2, 1]
  %n = arith.muli %b, %c2 : index
  %n64 = arith.index_cast %n : index to i64
  %t64 = arith.index_cast %t : index to i64
  %s1 = tensor.from_elements %n64, %c2_i64, %t64 : tensor<3xi64>
  %heads = tensor.reshape %xt(%s1) : (tensor<?x4x?xf32>, tensor<3xi64>) -> tensor<?x2x?xf32>
  %p = tensor.pad %heads low[0, 0, 2] high[0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x2x?xf32> to tensor<?x2x?xf32>
  %e1 = tensor.empty(%n, %t) : tensor<?x2x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%p, %w : tensor<?x2x?xf32>, tensor<2x3xf32>) outs(%acc : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
  %b64 = arith.index_cast %b : index to i64
  %s2 = tensor.from_elements %b64, %c4_i64, %t64 : tensor<3xi64>
  %back = tensor.reshape %conv(%s2) : (tensor<?x2x?xf32>, tensor<3xi64>) -> tensor<?x4x?xf32>
  %e2 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %y = linalg.transpose ins(%back : tensor<?x4x?xf32>) outs(%e2 : tensor<?x?x4xf32>) permutation = [0, 2, 1]
  return %y : tensor<?x?x4xf32>
}

// -----

// Viewed back with another leading dim ([T, 4, B] has the elements but not
// the order of [B, 4, T]): not the conv of x, left as is.
// CHECK-LABEL: func.func @heads_viewed_back_otherwise
// CHECK: tensor.reshape {{.*}} -> tensor<?x2x?xf32>
// CHECK: linalg.depthwise_conv_1d_ncw_cw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x2x?xf32>, tensor<2x3xf32>)
func.func @heads_viewed_back_otherwise(%x: tensor<?x4x?xf32>, %w: tensor<2x3xf32>) -> tensor<?x4x?xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c2_i64 = arith.constant 2 : i64
  %c4_i64 = arith.constant 4 : i64
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x4x?xf32>
  %t = tensor.dim %x, %c2 : tensor<?x4x?xf32>
  %n = arith.muli %b, %c2 : index
  %n64 = arith.index_cast %n : index to i64
  %t64 = arith.index_cast %t : index to i64
  %s1 = tensor.from_elements %n64, %c2_i64, %t64 : tensor<3xi64>
  %heads = tensor.reshape %x(%s1) : (tensor<?x4x?xf32>, tensor<3xi64>) -> tensor<?x2x?xf32>
  %p = tensor.pad %heads low[0, 0, 1] high[0, 0, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<?x2x?xf32> to tensor<?x2x?xf32>
  %e1 = tensor.empty(%n, %t) : tensor<?x2x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
  %conv = linalg.depthwise_conv_1d_ncw_cw {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
      ins(%p, %w : tensor<?x2x?xf32>, tensor<2x3xf32>) outs(%acc : tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
  %b64 = arith.index_cast %b : index to i64
  %s2 = tensor.from_elements %t64, %c4_i64, %b64 : tensor<3xi64>
  %back = tensor.reshape %conv(%s2) : (tensor<?x2x?xf32>, tensor<3xi64>) -> tensor<?x4x?xf32>
  return %back : tensor<?x4x?xf32>
}
