// Static shapes smaller than one tile: canonicalization inlines the block loop.
func.func @small(%x: tensor<1x16x32xf32>, %o: tensor<1x16x8xf32>) -> tensor<1x16x32xf32> {
  %y = convc.talk_conv %x, %o {left_max = 3 : i64, right_max = 2 : i64} : tensor<1x16x32xf32>, tensor<1x16x8xf32>
  return %y : tensor<1x16x32xf32>
}
