// Reads one element past the end of its input (for bounds-checks.mlir).
func.func @main(%x: tensor<?xf32> {convc.name = "x"}) -> (tensor<1xf32> {convc.name = "y"}) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %v = tensor.extract %x[%n] : tensor<?xf32>
  %t = tensor.from_elements %v : tensor<1xf32>
  return %t : tensor<1xf32>
}
