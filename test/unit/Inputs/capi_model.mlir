func.func @main(%x: tensor<?x?x8xf32> {convc.name = "x"}) -> (tensor<?x?x4xf32> {convc.name = "y"}) {
  %y = convc.glu %x : tensor<?x?x8xf32>
  return %y : tensor<?x?x4xf32>
}
