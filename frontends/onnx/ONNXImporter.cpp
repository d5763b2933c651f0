//===- ONNXImporter.cpp - the ONNX frontend's entry points ----------------===//
//
// Files and byte buffers to modules: the opset check, then one GraphImporter
// per graph (GraphImporter.cpp); an encoder and a decoder export package into
// one Seq2Seq module.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ONNXImporter.h"
#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/ModelRewrites.h"

#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"

#include <fstream>

using namespace mlir;

namespace convc {

namespace {
/// `path` names the model in errors; `modelPath` locates its external data
/// (empty for a model given as bytes).
OwningOpRef<ModuleOp> importModel(MLIRContext *context, onnx::ModelProto &model,
                                  const std::string &path, StringRef modelPath,
                                  Location fileLoc) {
  int64_t version = onnx_import::kMaxOpset;
  for (const auto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      version = opset.version();
      if (opset.version() < onnx_import::kMinOpset || opset.version() > onnx_import::kMaxOpset) {
        emitError(fileLoc) << "'" << path << "' uses opset "
                           << opset.version() << "; convc imports opsets "
                           << onnx_import::kMinOpset << " to " << onnx_import::kMaxOpset;
        return nullptr;
      }
    }
  if (failed(onnx_import::inlineLocalFunctions(model, version, fileLoc)) ||
      failed(onnx_import::loadExternalData(model, modelPath, fileLoc)))
    return nullptr;
  onnx_import::upgradeLegacyForms(model, version);
  // Value bounds let the importer prove symbolic sizes equal (Builders.cpp).
  DialectRegistry registry;
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  context->appendDialectRegistry(registry);
  context->loadDialect<ConvcDialect, arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       scf::SCFDialect, tensor::TensorDialect>();
  return onnx_import::GraphImporter(context, model.graph(), version).run();
}

Location notAModel(MLIRContext *context, const std::string &path) {
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  emitError(fileLoc) << "'" << path
                     << "' is not an ONNX model (the protobuf does not "
                        "parse, is truncated, or has no graph)";
  return fileLoc;
}
} // namespace

OwningOpRef<ModuleOp> importONNXFile(MLIRContext *context,
                                     const std::string &path) {
  Location fileLoc = FileLineColLoc::get(context, path, 0, 0);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    emitError(fileLoc) << "cannot open '" << path << "'";
    return nullptr;
  }
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in) || !model.has_graph()) {
    notAModel(context, path);
    return nullptr;
  }
  return importModel(context, model, path, path, fileLoc);
}

namespace {
/// One module from an imported encoder and full-sequence decoder (see
/// importONNXSeq2Seq).
OwningOpRef<ModuleOp> packageSeq2Seq(MLIRContext *context,
                                     OwningOpRef<ModuleOp> encoder,
                                     OwningOpRef<ModuleOp> decoder,
                                     const std::string &encoderPath,
                                     const std::string &decoderPath) {
  if (!encoder || !decoder)
    return nullptr;
  auto encode = encoder->lookupSymbol<func::FuncOp>("main");
  auto decode = decoder->lookupSymbol<func::FuncOp>("main");
  Location loc = FileLineColLoc::get(context, decoderPath, 0, 0);
  auto tokensFirst = [](func::FuncOp f) {
    if (f.getNumArguments() == 0)
      return false;
    auto t = dyn_cast<RankedTensorType>(f.getArgumentTypes()[0]);
    return t && t.getRank() == 2 && t.getElementType().isInteger(64);
  };
  if (!tokensFirst(encode)) {
    emitError(FileLineColLoc::get(context, encoderPath, 0, 0))
        << "the encoder's first input must be the source tokens (int64 "
           "[batch, source length])";
    return nullptr;
  }
  if (!tokensFirst(decode) || decode.getNumResults() == 0) {
    emitError(loc) << "the decoder's first input must be the previous tokens "
                      "(int64 [batch, target length]) and its first output "
                      "the logits";
    return nullptr;
  }
  auto name = [](func::FuncOp f, bool result, unsigned i) {
    auto attr = result ? f.getResultAttrOfType<StringAttr>(i, "convc.name")
                       : f.getArgAttrOfType<StringAttr>(i, "convc.name");
    return attr ? attr.getValue().str() : std::string();
  };
  llvm::StringSet<> encoderOutputs;
  for (unsigned i = 0; i < encode.getNumResults(); ++i)
    encoderOutputs.insert(name(encode, true, i));
  bool byName = true;
  for (unsigned i = 1; i < decode.getNumArguments(); ++i)
    byName &= encoderOutputs.contains(name(decode, false, i));
  if (!byName) {
    if (decode.getNumArguments() - 1 != encode.getNumResults()) {
      emitError(loc) << "the decoder's inputs after the tokens must be the "
                        "encoder's outputs (by name, or all of them in order): "
                        "the decoder takes "
                     << decode.getNumArguments() - 1 << ", the encoder gives "
                     << encode.getNumResults();
      return nullptr;
    }
    for (unsigned i = 1; i < decode.getNumArguments(); ++i)
      decode.setArgAttr(i, "convc.name",
                        StringAttr::get(context, name(encode, true, i - 1)));
  }
  Builder b(context);
  encode.setSymName("encode");
  encode.setArgAttr(0, "convc.name", b.getStringAttr("src_tokens"));
  decode.setSymName("decode");
  decode.setArgAttr(0, "convc.name", b.getStringAttr("prev_tokens"));
  decode.setResultAttr(0, "convc.name", b.getStringAttr("logits"));
  decode->remove();
  encoder->push_back(decode);
  if (failed(verify(*encoder)))
    return nullptr;
  return encoder;
}
} // namespace

OwningOpRef<ModuleOp> importONNXSeq2Seq(MLIRContext *context,
                                        const std::string &encoderPath,
                                        const std::string &decoderPath) {
  OwningOpRef<ModuleOp> encoder = importONNXFile(context, encoderPath);
  if (!encoder)
    return nullptr;
  return packageSeq2Seq(context, std::move(encoder),
                        importONNXFile(context, decoderPath), encoderPath,
                        decoderPath);
}

OwningOpRef<ModuleOp> importONNXSeq2SeqBytes(MLIRContext *context,
                                             const std::string &encoderBytes,
                                             const std::string &encoderName,
                                             const std::string &decoderBytes,
                                             const std::string &decoderName,
                                             const std::string &encoderPath,
                                             const std::string &decoderPath) {
  OwningOpRef<ModuleOp> encoder =
      importONNXBytes(context, encoderBytes.data(), encoderBytes.size(),
                      encoderName, encoderPath);
  if (!encoder)
    return nullptr;
  return packageSeq2Seq(context, std::move(encoder),
                        importONNXBytes(context, decoderBytes.data(),
                                        decoderBytes.size(), decoderName,
                                        decoderPath),
                        encoderName, decoderName);
}

std::string externalDataDigest(const std::string &bytes,
                               const std::string &modelPath) {
  onnx::ModelProto model;
  if (modelPath.empty() ||
      bytes.size() > size_t(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), int(bytes.size())))
    return "";
  MLIRContext context;
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  llvm::SHA256 contents;
  contents.update(modelPath);
  if (failed(onnx_import::loadExternalData(
          model, modelPath, UnknownLoc::get(&context), &contents)))
    return "";
  return llvm::toHex(contents.final(), /*LowerCase=*/true);
}

OwningOpRef<ModuleOp> importONNXBytes(MLIRContext *context, const void *data,
                                      size_t size, const std::string &name,
                                      const std::string &modelPath) {
  onnx::ModelProto model;
  if (size > size_t(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(data, int(size)) || !model.has_graph()) {
    notAModel(context, name);
    return nullptr;
  }
  return importModel(context, model, name, modelPath,
                     FileLineColLoc::get(context, name, 0, 0));
}

} // namespace convc
