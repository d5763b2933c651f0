// Two results named y: `convc run` would write one over the other, and the
// Python API return one of them.
func.func @main(%a: tensor<4xf32> {convc.name = "a"}, %b: tensor<4xf32> {convc.name = "b"}) -> (tensor<4xf32> {convc.name = "y"}, tensor<4xf32> {convc.name = "y"}) {
  %s = arith.addf %a, %b : tensor<4xf32>
  %d = arith.subf %a, %b : tensor<4xf32>
  return %s, %d : tensor<4xf32>, tensor<4xf32>
}
