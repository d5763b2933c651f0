// RUN: convc-opt %s -split-input-file -convc-export-entry-points | FileCheck %s

// The signature table names inputs and outputs, and gives sizes that the
// convc ops tie together (batch and time of x, offsets and y) one symbol.
// The entry is renamed (so that its symbol is no host or libc function's);
// the table keeps its name.
// CHECK: func.func @convc_fn_main({{.*}}) -> tensor<?x?x16xf32> attributes {llvm.emit_c_interface}
// CHECK-NOT: convc.name
// Private helpers are not entry points.
// CHECK: func.func private @helper
// CHECK: llvm.mlir.global external constant @convc_signature("convc-signature 2\0Aentry main\0Ainput x f32 s0,s1,16\0Ainput offsets f32 s0,s1,4\0Ainput w f32 2,3\0Aoutput y f32 s0,s1,16\0A\00")
func.func @main(%x: tensor<?x?x16xf32> {convc.name = "x"}, %o: tensor<?x?x4xf32> {convc.name = "offsets"}, %w: tensor<2x3xf32> {convc.name = "w"}) -> (tensor<?x?x16xf32> {convc.name = "y"}) {
  %0 = convc.talk_conv %x, %o {left_max = 2 : i64, right_max = 2 : i64} : tensor<?x?x16xf32>, tensor<?x?x4xf32>
  return %0 : tensor<?x?x16xf32>
}

func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// Sizes tied by elementwise arithmetic and by residual operands share a
// symbol; a dynamic size tied to a static one is printed as that size.
// RUN: convc-opt %s -split-input-file -convc-export-entry-points | FileCheck %s --check-prefix=TIED
// TIED: @convc_signature("convc-signature 2\0Aentry tied\0Ainput a f32 s0,s1,8\0Ainput b f32 s0,s1,8\0Ainput r f32 s0,s1,8\0Ainput w f32 8,8\0Ainput c f32 2,s2,8\0Ainput o f32 2,s2,4\0Aoutput y f32 s0,s1,8\0Aoutput z f32 2,s2,8\0A\00")
func.func @tied(%a: tensor<?x?x8xf32> {convc.name = "a"}, %b: tensor<?x?x8xf32> {convc.name = "b"},
                %r: tensor<?x?x8xf32> {convc.name = "r"}, %w: tensor<8x8xf32> {convc.name = "w"},
                %c: tensor<?x?x8xf32> {convc.name = "c"}, %o: tensor<2x?x4xf32> {convc.name = "o"})
    -> (tensor<?x?x8xf32> {convc.name = "y"}, tensor<?x?x8xf32> {convc.name = "z"}) {
  %s = arith.addf %a, %b : tensor<?x?x8xf32>
  %y = convc.linear %s, %w residual %r : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %z = convc.talk_conv %c, %o {left_max = 2 : i64, right_max = 2 : i64} : tensor<?x?x8xf32>, tensor<2x?x4xf32>
  return %y, %z : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// Names are percent-encoded, so that a space or a newline in an ONNX name
// stays inside its field and line; the empty name is a lone %.
// RUN: convc-opt %s -split-input-file -convc-export-entry-points | FileCheck %s --check-prefix=NAMES
// NAMES: func.func @convc_fn_exp
// NAMES: @convc_signature("convc-signature 2\0Aentry exp\0Ainput x%20i8%202,3 f32 4\0Ainput % f32 4\0Aoutput a%0Aoutput%25 f32 4\0A\00")
func.func @exp(%x: tensor<4xf32> {convc.name = "x i8 2,3"}, %y: tensor<4xf32> {convc.name = ""})
    -> (tensor<4xf32> {convc.name = "a\noutput%"}) {
  %s = arith.addf %x, %y : tensor<4xf32>
  return %s : tensor<4xf32>
}
