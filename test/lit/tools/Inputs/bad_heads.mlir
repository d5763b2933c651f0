func.func @bad(%x: tensor<?x?x10xf32>, %w: tensor<4x3xf32>) -> tensor<?x?x10xf32> {
  %0 = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x10xf32>, tensor<4x3xf32>
  return %0 : tensor<?x?x10xf32>
}
