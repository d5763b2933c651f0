//===- ONNXImporter.h - ONNX models as MLIR ---------------------*- C++ -*-===//

#ifndef CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H
#define CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace convc {

/// The ONNX op types the importer handles.
const std::vector<std::string> &supportedONNXOps();

/// Reads an ONNX model and builds `func.func @main` from its graph: inputs
/// (minus initializers) become arguments named after them, outputs results,
/// initializers constants, nodes upstream tensor ops (linalg on tensors)
/// located at NameLoc(node name). Calls of the model's local functions are
/// inlined first, and tensors in external data files read from beside the
/// model (ModelRewrites.h). Problems are reported as diagnostics: an
/// unreadable or non-ONNX file, an opset outside 7..17, and every
/// unsupported op type with the names of its nodes, all at once.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(mlir::MLIRContext *context,
                                                 const std::string &path);

/// A Seq2Seq packaged as two ONNX files (the layout HF Optimum exports):
/// the encoder (source tokens i64 [B, S] first -> encoder outputs) becomes
/// `@encode` with its first input named `src_tokens`; the full-sequence
/// decoder (previous tokens i64 [B, T] first, then the encoder outputs ->
/// logits [B, T, V] first) becomes `@decode` with inputs `prev_tokens` and
/// the encoder outputs' names (matched by name, else by position). The
/// pipeline's convc-derive-decode-step (if-possible) then adds the
/// incremental decoder where the decoder raised to convc ops with step forms.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXSeq2Seq(mlir::MLIRContext *context, const std::string &encoderPath,
                  const std::string &decoderPath);

/// The same for two serialized ModelProtos in memory; the names locate
/// errors.
mlir::OwningOpRef<mlir::ModuleOp> importONNXSeq2SeqBytes(
    mlir::MLIRContext *context, const std::string &encoderBytes,
    const std::string &encoderName, const std::string &decoderBytes,
    const std::string &decoderName, const std::string &encoderPath = "",
    const std::string &decoderPath = "");

/// The same for a serialized ModelProto in memory; `name` locates errors.
/// External tensor data is read beside `modelPath`, the file the bytes came
/// from; without one it is refused: there is no directory to find it in.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXBytes(mlir::MLIRContext *context, const void *data, size_t size,
                const std::string &name, const std::string &modelPath = "");

/// A digest of the external data files that the model in `bytes`, read
/// from `modelPath`, refers to; empty when it refers to none (or they
/// cannot be read: the import reports that). Cache keys add it to the
/// model's bytes.
std::string externalDataDigest(const std::string &bytes,
                               const std::string &modelPath);

} // namespace convc

#endif // CONVC_FRONTENDS_ONNX_ONNXIMPORTER_H
