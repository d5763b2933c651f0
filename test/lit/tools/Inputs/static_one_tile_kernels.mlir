// Static shapes smaller than one tile, several block kernels in a row:
// canonicalization inlines each one-tile grid into the function, and
// convc-parallel-to-gpu must make each its own block again.
func.func @main(%x: tensor<1x4x48xf32> {convc.name = "x"}, %w1: tensor<40x48xf32> {convc.name = "w1"},
                %w2: tensor<48x40xf32> {convc.name = "w2"}, %o: tensor<1x4x6xf32> {convc.name = "o"},
                %g: tensor<48xf32> {convc.name = "g"}, %b: tensor<48xf32> {convc.name = "b"}) -> tensor<1x4x48xf32> {
  %h = convc.linear %x, %w1 {activation = #convc<activation relu>} : tensor<1x4x48xf32>, tensor<40x48xf32> -> tensor<1x4x40xf32>
  %y = convc.linear %h, %w2 : tensor<1x4x40xf32>, tensor<48x40xf32> -> tensor<1x4x48xf32>
  %t = convc.talk_conv %y, %o {left_max = 3 : i64, right_max = 2 : i64} : tensor<1x4x48xf32>, tensor<1x4x6xf32>
  %n = convc.layer_norm %t, %g, %b : tensor<1x4x48xf32>, tensor<48xf32>, tensor<48xf32>
  return %n : tensor<1x4x48xf32>
}
