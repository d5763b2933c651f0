// A projection smaller than one GEMM tile (6 rows, 40 columns) whose D = 48
// spans two slabs: canonicalization inlines the one-tile grid, leaving the
// slab loop with its phases in host code.
func.func @main(%x: tensor<2x3x48xf32>, %w: tensor<40x48xf32>, %b: tensor<40xf32>) -> tensor<2x3x40xf32> {
  %y = convc.linear %x, %w bias %b {activation = #convc<activation relu>} : tensor<2x3x48xf32>, tensor<40x48xf32>, tensor<40xf32> -> tensor<2x3x40xf32>
  return %y : tensor<2x3x40xf32>
}
