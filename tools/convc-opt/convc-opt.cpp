//===- convc-opt.cpp - mlir-opt with the convc dialect -------------------===//
//
// The driver lit tests use: every upstream dialect and pass plus convc.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "frontends/onnx/raising/Passes.h"
#include "lowering/Passes.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  convc::registerConvcPasses();
  convc::registerConvcONNXRaisingPasses();
  convc::registerConvcLoweringPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<convc::ConvcDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "convc optimizer driver (upstream MLIR + convc)\n",
      registry));
}
