// RUN: convc-opt %s -convc-fuse-epilogues -split-input-file | FileCheck %s

// A fairseq LightConv encoder layer as an importer writes it: ten ops become
// five; GLU, both residual adds and both LayerNorms move into projections.
// CHECK-LABEL: func.func @encoder_layer
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x64xf32>
// CHECK: %[[U:.*]] = convc.linear %[[X]], %{{.*}} bias %{{.*}} {activation = #convc<activation glu>} {{.*}} -> tensor<?x?x64xf32>
// CHECK: %[[C:.*]] = convc.lightweight_conv %[[U]]
// CHECK: %[[H:.*]] = convc.linear %[[C]], %{{.*}} bias %{{.*}} residual %[[X]] layer_norm %{{.*}}, %{{.*}} :
// CHECK: %[[F:.*]] = convc.linear %[[H]], {{.*}}activation = #convc<activation relu>
// CHECK: %[[Y:.*]] = convc.linear %[[F]], %{{.*}} bias %{{.*}} residual %[[H]] layer_norm
// CHECK-NOT: convc.glu
// CHECK-NOT: arith.addf
// CHECK-NOT: convc.layer_norm
// CHECK: return %[[Y]]
func.func @encoder_layer(%x: tensor<?x?x64xf32>, %w1: tensor<128x64xf32>, %b1: tensor<128xf32>, %lw: tensor<4x5xf32>, %w2: tensor<64x64xf32>, %b2: tensor<64xf32>, %g1: tensor<64xf32>, %be1: tensor<64xf32>, %wf1: tensor<256x64xf32>, %bf1: tensor<256xf32>, %wf2: tensor<64x256xf32>, %bf2: tensor<64xf32>, %g2: tensor<64xf32>, %be2: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %p = convc.linear %x, %w1 bias %b1 : tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
  %u = convc.glu %p : tensor<?x?x128xf32>
  %c = convc.lightweight_conv %u, %lw {heads = 4 : i64, padding = 2 : i64} : tensor<?x?x64xf32>, tensor<4x5xf32>
  %v = convc.linear %c, %w2 bias %b2 : tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  %s1 = arith.addf %x, %v : tensor<?x?x64xf32>
  %h = convc.layer_norm %s1, %g1, %be1 : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %f = convc.linear %h, %wf1 bias %bf1 {activation = #convc<activation relu>} : tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
  %o = convc.linear %f, %wf2 bias %bf2 : tensor<?x?x256xf32>, tensor<64x256xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  %s2 = arith.addf %h, %o : tensor<?x?x64xf32>
  %y = convc.layer_norm %s2, %g2, %be2 : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// A projection with a second user keeps its own result: nothing is fused
// into it (fusing would compute it twice).
// CHECK-LABEL: func.func @shared_projection
// CHECK: %[[P:.*]] = convc.linear %{{.*}}, %{{.*}} : {{.*}} -> tensor<?x?x16xf32>
// CHECK: %[[G:.*]] = convc.glu %[[P]]
// CHECK: return %[[G]], %[[P]]
func.func @shared_projection(%x: tensor<?x?x8xf32>, %w: tensor<16x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x16xf32>) {
  %p = convc.linear %x, %w : tensor<?x?x8xf32>, tensor<16x8xf32> -> tensor<?x?x16xf32>
  %u = convc.glu %p : tensor<?x?x16xf32>
  return %u, %p : tensor<?x?x8xf32>, tensor<?x?x16xf32>
}

// -----

// GLU after an activated projection is not a GLU epilogue; a LayerNorm over
// a plain sum becomes a LayerNorm with a residual operand.
// CHECK-LABEL: func.func @no_double_activation
// CHECK: convc.linear {{.*}}activation = #convc<activation relu>
// CHECK: convc.glu
// CHECK: %[[N:.*]] = convc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} residual %{{.*}} :
// CHECK-NOT: arith.addf
func.func @no_double_activation(%x: tensor<?x?x8xf32>, %w: tensor<16x8xf32>, %a: tensor<?x?x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %p = convc.linear %x, %w {activation = #convc<activation relu>} : tensor<?x?x8xf32>, tensor<16x8xf32> -> tensor<?x?x16xf32>
  %u = convc.glu %p : tensor<?x?x16xf32>
  %s = arith.addf %a, %x : tensor<?x?x8xf32>
  %n = convc.layer_norm %s, %g, %b : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %u, %n : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}
