//===- ONNXImportFuzzer.cpp - libFuzzer target for the ONNX importer ------===//
//
// Feeds arbitrary bytes to the importer as a serialized ModelProto: any input
// must end in a module that verifies or in diagnostics, never a crash, a
// hang or an unbounded allocation. Built with clang's -fsanitize=fuzzer by
// scripts/fuzz (CMake option CONVC_FUZZ), seeded with the lit tests' models
// and a sample of the ONNX backend node tests.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ONNXImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  // Errors are expected; only crashes count.
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      convc::importONNXBytes(&context, data, size, "fuzz.onnx");
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
