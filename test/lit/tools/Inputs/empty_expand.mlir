// Views an empty [0, 3] input as [3, 0] and [1, 0, 3] (for bounds-checks.mlir):
// the group [3, 0] has a static product of 0.
func.func @main(%x: tensor<0x3xf32> {convc.name = "x"}) -> (tensor<3x0xf32> {convc.name = "y"}, tensor<1x0x3xf32> {convc.name = "u"}) {
  %flat = tensor.collapse_shape %x [[0, 1]] : tensor<0x3xf32> into tensor<0xf32>
  %y = tensor.expand_shape %flat [[0, 1]] output_shape [3, 0] : tensor<0xf32> into tensor<3x0xf32>
  %u = tensor.expand_shape %x [[0, 1], [2]] output_shape [1, 0, 3] : tensor<0x3xf32> into tensor<1x0x3xf32>
  return %y, %u : tensor<3x0xf32>, tensor<1x0x3xf32>
}
