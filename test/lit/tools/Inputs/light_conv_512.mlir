// gpu-check's LightConv benchmark model: C = 512, H = 8, K = 31.
func.func @main(%x: tensor<?x?x512xf32>, %w: tensor<8x31xf32>) -> tensor<?x?x512xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 15 : i64} : tensor<?x?x512xf32>, tensor<8x31xf32>
  return %y : tensor<?x?x512xf32>
}
