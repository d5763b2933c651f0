// An output whose name climbs directories (for convc-driver.mlir).
func.func @main(%x: tensor<?xf32> {convc.name = "x"}) -> (tensor<?xf32> {convc.name = "../../up"}) {
  return %x : tensor<?xf32>
}
