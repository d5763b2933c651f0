//===- CompileSession.cpp - one compilation, input to library -------------===//

#include "compiler/CompileSession.h"

#include "dialect/ConvcDialect.h"
#include "dialect/OnnxLocations.h"
#include "frontends/onnx/raising/Passes.h"
#ifdef CONVC_HAVE_ONNX
#include "frontends/onnx/ONNXImporter.h"
#endif
#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <fstream>
#include <mutex>

using namespace mlir;

namespace convc {

void registerCompilerPasses() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    registerConvcPasses();
    registerConvcONNXRaisingPasses();
    registerConvcLoweringPasses();
  });
}

void registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary translates the device module to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  registry.insert<ConvcDialect>();
}

#ifndef CONVC_HAVE_ONNX
static constexpr const char *kNoONNX =
    "ONNX import is unavailable: this convc was built without libonnx "
    "(apt-get install libonnx-dev)";
#endif

CompileSession::CompileSession(CompileOptions options, Mode mode)
    : options_(std::move(options)), mode_(mode), name_(options_.input),
      last_(std::chrono::steady_clock::now()) {}

CompileSession::~CompileSession() = default;

Status CompileSession::configure() {
  const CompileOptions &o = options_;
  target_.native = NativeTarget::host(o.mcpu, o.mattr);
  if (!o.mcpu.empty())
    if (std::string why = target_.native.checkCpu(); !why.empty())
      return Status(StatusCode::InvalidArgument, why);
  if (o.timeTile < 1 || o.vectorWidth < 0)
    return Status(StatusCode::InvalidArgument,
                  o.timeTile < 1
                      ? "the time tile must be at least 1, got " +
                            std::to_string(o.timeTile)
                      : "the vector width must be a count of f32 lanes, or 0 "
                        "for the CPU's, got " +
                            std::to_string(o.vectorWidth));
  CpuTargetOptions &lowering = target_.lowering;
  lowering.target = o.target;
  lowering.vectorWidth =
      o.vectorWidth > 0 ? o.vectorWidth : target_.native.vectorWidth();
  lowering.timeTile = o.timeTile;
  lowering.boundsChecks = o.boundsChecks;
  lowering.decodeStep = o.decodeStep;
  // A packaged encoder.onnx + decoder.onnx gets an incremental decoder when
  // its decoder raised to convc ops that have step forms.
  if (o.isPackage() && o.decodeStep.empty()) {
    lowering.decodeStep = "decode";
    lowering.decodeStepIfPossible = true;
  }
  if (o.boundsChecks && o.target == Target::CUDA)
    return Status(StatusCode::InvalidArgument,
                  "--bounds-checks is for the CPU targets (cpu, "
                  "gpu-kernels-on-cpu): device code cannot abort the host");
  if (o.target != Target::CUDA)
    return Status();
  target_.cuda.arch = o.gpuArch;
  target_.cuda.toolkitPath = o.cudaPath;
  std::string error;
  if (!configureCudaTarget(target_.cuda, o.gpuBinary, error))
    return Status(findLibdevice(o.cudaPath).empty()
                      ? StatusCode::Unavailable
                      : StatusCode::InvalidArgument,
                  error);
  // --emit=ptx writes the device module's PTX, whatever the library would
  // embed.
  if (o.emit == Stage::PTX)
    target_.cuda.format = "isa";
  return Status();
}

Status CompileSession::fail(StatusCode code, const std::string &message,
                            Says says) {
  if (mode_ == Mode::CommandLine)
    return Status(code, says == Says::Diagnosed ? "" : message);
  if (says == Says::Plain)
    return Status(code, message);
  bool withDiagnostics = says != Says::Named && !diagnostics_.empty();
  return Status(code, name_ + ": " + message +
                          (withDiagnostics ? ":\n" + diagnostics_ : ""));
}

void CompileSession::createContext() {
  registerCompilerPasses();
  DialectRegistry registry;
  registerCompilerDialects(registry);
  context_ = std::make_unique<MLIRContext>(registry);
  if (mode_ == Mode::InProcess) {
    context_->disableMultithreading();
    return;
  }
  // An error on an op otherwise comes with the op printed, which for a
  // module-level op is the whole model; --mlir-print-op-on-diagnostic asks
  // for it.
  auto &registered = llvm::cl::getRegisteredOptions();
  auto printOp = registered.find("mlir-print-op-on-diagnostic");
  if (printOp == registered.end() || printOp->second->getNumOccurrences() == 0)
    context_->printOpOnDiagnostic(false);
}

/// "node 'N'" for the location of an imported ONNX node (a name with no
/// place in a file), "graph 'G'" for its graph's, else "".
static const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

/// CommandLine: printed against the sources in sourceMgr_, an ONNX node's
/// as "MODEL: error: node 'N': ..." (the source manager would say
/// "<unknown>:0: error: loc("N"): ..."). InProcess: collected, with their
/// locations, for the error message.
void CompileSession::installDiagnostics() {
  if (mode_ == Mode::CommandLine) {
    printer_ = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr_,
                                                            context_.get());
    // Registered last, so asked first; what it declines goes to printer_.
    onnxNodePrinter_ = std::make_unique<ScopedDiagnosticHandler>(
        context_.get(), [this](Diagnostic &diag) -> LogicalResult {
          std::string text = withOnnxLocation(diag.getLocation(), diag.str());
          if (text.empty())
            return failure();
          std::string model =
              options_.isPackage() ? std::string("convc") : options_.input;
          llvm::errs() << model << ": " << severityName(diag.getSeverity())
                       << ": " << text << "\n";
          for (Diagnostic &note : diag.getNotes())
            llvm::errs() << model << ": note: " << note << "\n";
          return success();
        });
    return;
  }
  collector_ = std::make_unique<ScopedDiagnosticHandler>(
      context_.get(), [this](Diagnostic &diag) {
        llvm::raw_string_ostream os(diagnostics_);
        if (auto loc = dyn_cast<FileLineColLoc>(diag.getLocation()))
          os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
             << loc.getColumn();
        else if (std::string text =
                     withOnnxLocation(diag.getLocation(), diag.str());
                 !text.empty())
          return os << text << "\n", success();
        else
          os << diag.getLocation();
        os << ": " << diag << "\n";
        return success();
      });
}

void CompileSession::startTiming() {
  if (mode_ == Mode::CommandLine && options_.mlirCommandLine)
    applyDefaultTimingManagerCLOptions(timing_);
  rootTiming_ = timing_.getRootScope();
}

bool isONNXModelFile(llvm::StringRef path, llvm::StringRef contents) {
  if (llvm::sys::path::extension(path).equals_insensitive(".onnx"))
    return true;
  char first = 0;
  if (!contents.empty())
    first = contents.front();
  else if (std::ifstream in(path.str(), std::ios::binary); in)
    in.get(first);
  return first == 0x08;
}

Status CompileSession::loadFile() {
  const std::string &path = options_.input;
  createContext();
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(path, &error);
  if (!input)
    return fail(StatusCode::NotFound, error, Says::Named);
  sourceMgr_.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  installDiagnostics();
  startTiming();
  {
    TimingScope parseTiming = rootTiming_.nest("Parse and verify");
    bool onnx = isONNXModelFile(
        path,
        sourceMgr_.getMemoryBuffer(sourceMgr_.getMainFileID())->getBuffer());
    if (options_.isPackage() && !onnx)
      return fail(StatusCode::InvalidArgument,
                  "--decoder needs the encoder .onnx as the input",
                  Says::Named);
    if (onnx) {
#ifdef CONVC_HAVE_ONNX
      module_ = options_.isPackage()
                    ? importONNXSeq2Seq(context_.get(), path, options_.decoder)
                    : importONNXFile(context_.get(), path);
#else
      return fail(StatusCode::Unavailable, kNoONNX, Says::Named);
#endif
    } else {
      module_ = parseSourceFile<ModuleOp>(sourceMgr_, context_.get());
    }
  }
  if (!module_) // The parser, verifier or importer reported the error.
    return fail(StatusCode::InvalidArgument,
                "the model does not parse or verify", Says::Diagnosed);
  progress("import");
  return Status();
}

std::string CompileSession::externalDataDigest(const ModelText &source) {
#ifdef CONVC_HAVE_ONNX
  if (source.kind != ModelText::Kind::MLIR)
    return convc::externalDataDigest(source.text, source.path) +
           convc::externalDataDigest(source.decoderText, source.decoderPath);
#endif
  return "";
}

Status CompileSession::loadSource(const ModelText &source) {
  name_ = source.name;
  createContext();
  if (mode_ == Mode::CommandLine)
    sourceMgr_.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(source.text, source.name,
                                         /*RequiresNullTerminator=*/false),
        llvm::SMLoc());
  installDiagnostics();
  startTiming();
  {
    TimingScope parseTiming = rootTiming_.nest("Parse and verify");
    if (source.kind != ModelText::Kind::MLIR) {
#ifdef CONVC_HAVE_ONNX
      module_ =
          source.kind == ModelText::Kind::ONNX
              ? importONNXBytes(context_.get(), source.text.data(),
                                source.text.size(), source.name, source.path)
              : importONNXSeq2SeqBytes(context_.get(), source.text, source.name,
                                       source.decoderText, source.decoderName,
                                       source.path, source.decoderPath);
#else
      return fail(StatusCode::Unavailable, kNoONNX, Says::Named);
#endif
    } else {
      module_ = parseSourceString<ModuleOp>(
          source.text, ParserConfig(context_.get()), source.name);
    }
  }
  if (!module_)
    return fail(StatusCode::InvalidArgument,
                "the model does not parse or verify", Says::Diagnosed);
  progress("import");
  return Status();
}

Status CompileSession::runPipeline(Stage to) {
  to = std::min(to, Stage::LLVM);
  if (to <= stage_)
    return Status();
  PassManager pm(context_.get());
  bool ok = !(mode_ == Mode::CommandLine && options_.mlirCommandLine &&
              failed(applyPassManagerCLOptions(pm)));
  if (ok) {
    pm.enableTiming(rootTiming_);
    ok = succeeded(buildPipelineToStage(pm, stage_, to, target_.lowering,
                                        target_.cuda)) &&
         succeeded(pm.run(*module_));
  }
  if (!ok)
    return fail(StatusCode::InvalidArgument, "compilation failed",
                Says::Diagnosed);
  stage_ = to;
  return Status();
}

Status CompileSession::writeIR(const std::string &path) {
  std::string error;
  auto out = openOutputFile(path, &error);
  if (!out)
    return fail(StatusCode::Internal, error, Says::Named);
  module_->print(out->os());
  out->os() << "\n";
  out->keep();
  return Status();
}

Status CompileSession::writePTX(const std::string &path) {
  // The device module's PTX, as gpu-module-to-binary{format=isa} left it.
  std::string ptx;
  module_->walk([&](gpu::BinaryOp binaryOp) {
    for (Attribute object : binaryOp.getObjects())
      ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().str();
  });
  if (ptx.empty())
    return fail(StatusCode::InvalidArgument,
                "the model has no GPU kernels (no device code to write)",
                Says::Named);
  std::string error;
  auto out = openOutputFile(path, &error);
  if (!out)
    return fail(StatusCode::Internal, error, Says::Named);
  out->os() << ptx;
  out->keep();
  return Status();
}

Status CompileSession::emitBinary(Stage stage, const std::string &path,
                                  const std::string &objectPath) {
  const NativeTarget &native = target_.native;
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      native.createTargetMachine(error);
  if (!machine)
    return fail(StatusCode::Unavailable,
                "no code generator for " + native.triple + ": " + error,
                Says::Plain);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToOptimizedLLVMIR(*module_, llvmContext, *machine, error);
  if (!llvmModule)
    return fail(StatusCode::InvalidArgument, error, Says::WithDiagnostics);
  progress("LLVM IR, optimised (O3)");

  bool library = stage == Stage::Lib;
  llvm::SmallString<128> object(library ? objectPath : path);
  if (library && object.empty())
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("convc", "o", object))
      return fail(StatusCode::Internal,
                  "cannot create a temporary file: " + ec.message(),
                  Says::Named);
  llvm::FileRemover removeObject(object, /*deleteIt=*/library);
  // A killed `convc compile` leaves no object behind either (not in
  // process: the host's own signal handling stays as it is).
  bool onSignal = library && mode_ == Mode::CommandLine;
  if (onSignal)
    llvm::sys::RemoveFileOnSignal(object);
  auto keepHandlers = llvm::make_scope_exit([&] {
    if (onSignal)
      llvm::sys::DontRemoveFileOnSignal(object);
  });
  if (!emitObjectFile(*llvmModule, *machine, std::string(object), error))
    return fail(StatusCode::Internal, error, Says::Named);
  progress("machine code (" + native.cpu + ")");
  if (library) {
    if (!linkSharedLibrary(std::string(object), path, error))
      return fail(StatusCode::Internal, error, Says::Named);
    progress("linked " + path);
  }
  return Status();
}

void CompileSession::progress(const std::string &what) {
  auto now = std::chrono::steady_clock::now();
  if (mode_ == Mode::CommandLine && !options_.quiet)
    llvm::errs() << llvm::formatv(
        "convc: {0,-28} {1,7:f3} s\n", what,
        std::chrono::duration<double>(now - last_).count());
  last_ = now;
}

/// compile()'s default output: stdout for IR, else the input's name with
/// .so or .o, in the working directory.
static std::string defaultOutput(const CompileOptions &options) {
  if (options.emit < Stage::Obj)
    return "-";
  llvm::SmallString<128> path(options.input == "-" ? std::string("out")
                                                    : options.input);
  llvm::sys::path::replace_extension(path, options.emit == Stage::Lib ? ".so"
                                                                      : ".o");
  return std::string(llvm::sys::path::filename(path));
}

/// The progress line after the passes: the stage, and what the target
/// compiled for.
static std::string passesDone(Stage stage, const CompileSession &session) {
  const CompileTarget &target = session.target();
  Target kind = target.lowering.target;
  std::string detail;
  if (stage >= Stage::Loops && kind == Target::CUDA)
    detail = " (" + target.cuda.arch + ", " + target.cuda.format + ")";
  else if (stage >= Stage::Loops && kind == Target::CPU)
    detail = " (" + std::to_string(target.lowering.vectorWidth) + " lanes)";
  return std::string("passes to ") + stageName(stage) + detail;
}

Status compile(const CompileOptions &options) {
  Stage emit = options.emit;
  bool binary = emit >= Stage::Obj;
  std::string output =
      options.output.empty() ? defaultOutput(options) : options.output;
  if (binary && output == "-")
    return Status(StatusCode::InvalidArgument,
                  std::string("--emit=") + stageName(emit) +
                      " writes a binary file: give -o FILE");
  // Writing over a model file would destroy it before (or while) it is read.
  for (const std::string &model : {options.input, options.decoder}) {
    bool same = false;
    if (!model.empty() && output != "-" &&
        !llvm::sys::fs::equivalent(output, model, same) && same)
      return Status(StatusCode::InvalidArgument,
                    "the output '" + output + "' is the model file '" + model +
                        "': give -o another file");
  }

  // Before the pipeline: a missing folder is said plainly, not by the
  // linker after all the work.
  if (output != "-") {
    llvm::StringRef folder = llvm::sys::path::parent_path(output);
    if (!folder.empty() && !llvm::sys::fs::is_directory(folder))
      return Status(StatusCode::InvalidArgument, "cannot write '" + output +
                                                     "': no such directory '" +
                                                     folder.str() + "'");
  }

  CompileSession session(options);
  if (Status status = session.configure(); !status.ok())
    return status;
  if (Status status = session.loadFile(); !status.ok())
    return status;
  Stage irStage = std::min(emit, Stage::LLVM);
  if (options.report) {
    // With --report, stop at the fused stage (or before) to count.
    Stage reportStage = std::min(irStage, Stage::Fused);
    if (Status status = session.runPipeline(reportStage); !status.ok())
      return status;
    printOpReport(session.module(), stageName(reportStage));
  }
  if (irStage > session.stage()) {
    if (Status status = session.runPipeline(irStage); !status.ok())
      return status;
    // A package: say which decoder `convc generate` will run.
    if (options.isPackage() && !options.quiet && irStage >= Stage::Convc)
      llvm::errs() << (session.module().lookupSymbol("decode_step") ||
                               session.module().lookupSymbol(
                                   (kEntrySymbolPrefix + "decode_step").str())
                           ? "convc: decoder: incremental (decode_init + "
                             "decode_step derived from the raised decoder)\n"
                           : "convc: decoder: full, re-run on the whole "
                             "prefix at every step (see the warning above)\n");
    session.progress(passesDone(irStage, session));
  }
  if (emit == Stage::PTX)
    return session.writePTX(output);
  if (!binary)
    return session.writeIR(output);
  return session.emitBinary(emit, output);
}

} // namespace convc
