// A LightweightConv in f16 storage (sed makes the bf16 variant).
func.func @main(%x: tensor<?x?x16xf16> {convc.name = "x"}, %w: tensor<4x3xf16> {convc.name = "w"}) -> tensor<?x?x16xf16> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : i64} : tensor<?x?x16xf16>, tensor<4x3xf16>
  return %y : tensor<?x?x16xf16>
}
