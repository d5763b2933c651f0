// RUN: convc-opt %s -convc-export-entry-points | FileCheck %s

// The signature table names inputs and outputs, and gives sizes that the
// convc ops tie together (batch and time of x, offsets and y) one symbol.
// CHECK: func.func @main({{.*}}) -> tensor<?x?x16xf32> attributes {llvm.emit_c_interface}
// CHECK-NOT: convc.name
// Private helpers are not entry points.
// CHECK: func.func private @helper
// CHECK: llvm.mlir.global external constant @convc_signature("convc-signature 1\0Aentry main\0Ainput x f32 s0,s1,16\0Ainput offsets f32 s0,s1,4\0Ainput w f32 2,3\0Aoutput y f32 s0,s1,16\0A\00")
func.func @main(%x: tensor<?x?x16xf32> {convc.name = "x"}, %o: tensor<?x?x4xf32> {convc.name = "offsets"}, %w: tensor<2x3xf32> {convc.name = "w"}) -> (tensor<?x?x16xf32> {convc.name = "y"}) {
  %0 = convc.talk_conv %x, %o {left_max = 2 : i64, right_max = 2 : i64} : tensor<?x?x16xf32>, tensor<?x?x4xf32>
  return %0 : tensor<?x?x16xf32>
}

func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
