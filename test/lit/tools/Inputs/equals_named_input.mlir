// An input whose name holds '=' (ONNX allows it; for convc-driver.mlir).
func.func @main(%x: tensor<?xf32> {convc.name = "a=b"}) -> (tensor<?xf32> {convc.name = "y"}) {
  return %x : tensor<?xf32>
}
