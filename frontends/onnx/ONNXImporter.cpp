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
#include "frontends/onnx/SchemaCheck.h"

#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include <fstream>

using namespace mlir;

namespace convc {

namespace {
/// tensor.reshape's dims are its shape operand's elements: an importer's
/// view by Concat(Shape(x)[0], 4, Shape(x)[2]) has x's dims, which the
/// value-bounds analysis then follows on (upstream models no reshape).
struct ReshapeValueBounds
    : public ValueBoundsOpInterface::ExternalModel<ReshapeValueBounds,
                                                   tensor::ReshapeOp> {
  void populateBoundsForShapedValueDim(Operation *op, Value value, int64_t dim,
                                       ValueBoundsConstraintSet &cstr) const {
    auto shape = cast<tensor::ReshapeOp>(op)
                     .getShape()
                     .getDefiningOp<tensor::FromElementsOp>();
    if (!shape)
      return;
    Value size = shape.getElements()[dim];
    while (auto indexCast = size.getDefiningOp<arith::IndexCastOp>())
      size = indexCast.getIn();
    if (size.getType().isIndex())
      cstr.bound(value)[dim] == size;
  }
};

/// `path` names the model in errors; `modelPath` locates its external data
/// (empty for a model given as bytes).
OwningOpRef<ModuleOp> importModel(MLIRContext *context, onnx::ModelProto &model,
                                  const std::string &path, StringRef modelPath,
                                  Location fileLoc) {
  int64_t version = 0;
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
  if (!version) {
    // ONNX Runtime refuses it too: the ops' meaning depends on the opset.
    emitError(fileLoc) << "'" << path
                       << "' imports no version of the default ONNX opset "
                          "(opset_import lacks the domain \"\")";
    return nullptr;
  }
  if (failed(onnx_import::inlineLocalFunctions(model, version, fileLoc)) ||
      failed(onnx_import::orderGraphs(model, fileLoc)) ||
      failed(onnx_import::loadExternalData(model, modelPath, fileLoc)))
    return nullptr;
  // ONNX's own check of each node, as ONNX Runtime's on load; before the
  // legacy forms become today's (which their opsets' schemas reject).
  if (std::optional<SchemaViolation> bad =
          firstSchemaViolation(model.graph(), version)) {
    emitError(onnxLocation(context, onnx_import::onnxNodeName(*bad->node)))
        << bad->node->op_type() << " breaks its ONNX schema (opset " << version
        << "): " << bad->why;
    return nullptr;
  }
  onnx_import::upgradeLegacyForms(model, version);
  // Value bounds let the importer prove symbolic sizes equal (Builders.cpp).
  DialectRegistry registry;
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ReshapeOp::attachInterface<ReshapeValueBounds>(*ctx);
  });
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
/// `x` with its first two dims swapped.
Value swapLeadingDims(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> perm =
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  std::swap(perm[0], perm[1]);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : perm)
    sizes.push_back(tensor::getMixedSize(b, loc, x, d));
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

/// The generator gathers the encoder's outputs by beam along dim 0. An
/// output the decoder reads time-major ([S, B, ...], fairseq's encoder_out:
/// its dim 1 is named as the batch of the previous tokens, its dim 0 not)
/// is returned batch-major by the encoder and transposed back in the
/// decoder (once per sequence, in decode_init, when a step is derived).
void makeBatchMajor(func::FuncOp encode, func::FuncOp decode) {
  auto dimNames = [&](unsigned arg) {
    SmallVector<StringRef> names;
    if (auto params =
            decode.getArgAttrOfType<ArrayAttr>(arg, "convc.dim_params"))
      for (Attribute a : params)
        names.push_back(cast<StringAttr>(a).getValue());
    return names;
  };
  SmallVector<StringRef> tokenDims = dimNames(0);
  if (tokenDims.empty() || tokenDims[0].empty())
    return;
  StringRef batch = tokenDims[0];
  auto ret = cast<func::ReturnOp>(encode.getBody().back().getTerminator());
  for (unsigned i = 1; i < decode.getNumArguments(); ++i) {
    SmallVector<StringRef> dims = dimNames(i);
    if (dims.size() < 2 || dims[1] != batch || dims[0] == batch)
      continue;
    auto name = decode.getArgAttrOfType<StringAttr>(i, "convc.name");
    std::optional<unsigned> result;
    for (unsigned r = 0; r < encode.getNumResults(); ++r)
      if (auto n = encode.getResultAttrOfType<StringAttr>(r, "convc.name");
          n && name && n == name)
        result = r;
    if (!result)
      continue;
    OpBuilder b(ret);
    Value swapped = swapLeadingDims(b, ret.getLoc(), ret.getOperand(*result));
    ret.setOperand(*result, swapped);
    BlockArgument arg = decode.getArgument(i);
    // The uses before the transpose back (whose own sizes read the arg).
    SmallVector<OpOperand *> uses =
        llvm::map_to_vector(arg.getUses(), [](OpOperand &u) { return &u; });
    auto argType = cast<RankedTensorType>(arg.getType());
    SmallVector<int64_t> shape(argType.getShape());
    std::swap(shape[0], shape[1]);
    arg.setType(RankedTensorType::get(shape, argType.getElementType()));
    b.setInsertionPointToStart(&decode.getBody().front());
    Value back = swapLeadingDims(b, decode.getLoc(), arg);
    for (OpOperand *use : uses)
      use->set(back);
    SmallVector<Attribute> params(
        decode.getArgAttrOfType<ArrayAttr>(i, "convc.dim_params").getValue());
    std::swap(params[0], params[1]);
    decode.setArgAttr(i, "convc.dim_params", b.getArrayAttr(params));
  }
  encode.setType(FunctionType::get(
      encode.getContext(), encode.getArgumentTypes(), ret.getOperandTypes()));
  decode.setType(FunctionType::get(decode.getContext(),
                                   decode.getBody().getArgumentTypes(),
                                   decode.getResultTypes()));
}

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
  auto logits = dyn_cast<RankedTensorType>(decode.getResultTypes()[0]);
  if (!logits || logits.getRank() != 3 ||
      !isa<FloatType>(logits.getElementType())) {
    emitError(loc) << "the decoder's first output must be the logits, float "
                      "[batch, target length, vocabulary]; this one is "
                   << decode.getResultTypes()[0];
    return nullptr;
  }
  auto name = [](func::FuncOp f, bool result, unsigned i) {
    auto attr = result ? f.getResultAttrOfType<StringAttr>(i, "convc.name")
                       : f.getArgAttrOfType<StringAttr>(i, "convc.name");
    return attr ? attr.getValue().str() : std::string();
  };
  // A decoder that reads nothing of the encoder is no Seq2Seq's: most
  // likely the two files were swapped, or one was given twice.
  if (decode.getNumArguments() < 2) {
    emitError(loc) << "the decoder takes only the previous tokens: its inputs "
                      "after them must be the encoder's outputs (are the "
                      "encoder and the decoder swapped, or one file given "
                      "twice?)";
    return nullptr;
  }
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
  makeBatchMajor(encode, decode);
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
