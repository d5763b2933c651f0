//===- convc.cpp - the convc command line ---------------------------------===//
//
//   convc compile IN.mlir [-o OUT] [--emit=STAGE] [--target=cpu|cuda]
//   convc --help | --version
//
// Commands are dispatched on the first argument; each parses its own flags
// with llvm::cl, so `convc compile --help` lists that command's options plus
// the standard MLIR debugging flags.
//
//===----------------------------------------------------------------------===//

#include "convc/Generate.h"
#include "convc/Npy.h"
#include "convc/Runtime.h"
#include "dialect/ConvcDialect.h"
#ifdef CONVC_HAVE_ONNX
#include "frontends/onnx/ONNXImporter.h"
#endif
#include "lowering/Passes.h"
#include "lowering/llvm/EmitLibrary.h"
#include "passes/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <cstring>

using namespace mlir;
using namespace convc;

namespace {

constexpr const char *kOverview = R"(convc - a compiler for convolutional sequence-to-sequence models

USAGE: convc <command> [options]

COMMANDS:
  compile IN.mlir   Compile a model into a shared library (-o OUT.so), or
                    stop at an earlier stage with --emit and print it.
                    --target=cuda compiles for NVIDIA GPUs (docs/gpu.md).
  run MODEL --input NAME=FILE.npy ... [--output-dir DIR]
                    Run a compiled model (.so, or .mlir/.onnx compiled on
                    the fly)
                    and write DIR/<output>.npy.
  bench MODEL --input NAME=FILE.npy ... [--warmup N] [--runs N] [--threads N]
                    Time the entry point in-process; prints median_ms=,
                    p90_ms= and the method.
  generate MODEL --src "5 9 3 2" ... [--beam N] [--max-len N]
                    Translate with a Seq2Seq model (compiled with
                    --decode-step=decode): greedy or beam search over the
                    derived incremental decoder.

run, bench and generate take --device=cpu|cuda.

OPTIONS:
  --help            This text. `convc <command> --help` lists a command's
                    options and the MLIR debugging flags.
  --version         Print the convc and LLVM/MLIR versions.

PIPELINE STAGES (--emit):
  import   the input as parsed and verified (convc + upstream ops)
  convc    canonicalised and CSE'd convc IR
  fused    after the fusion passes (softmax folding, TaLK, DynamicConv)
  loops    bufferized scf.parallel / vector loops
  llvm     LLVM dialect
  ptx      the GPU device code (--target=cuda)
  obj      an object file
  lib      a shared library for the runtime (the default)

Semantics of every op: docs/dialect.md and docs/ConvcOps.md.
)";

void printVersion(llvm::raw_ostream &os) {
  os << "convc " << CONVC_VERSION << " (LLVM/MLIR " << CONVC_LLVM_VERSION
     << ")\n";
}

const char *stageName(Stage stage) {
  switch (stage) {
  case Stage::Import:
    return "import";
  case Stage::Convc:
    return "convc";
  case Stage::Fused:
    return "fused";
  case Stage::Loops:
    return "loops";
  case Stage::LLVM:
    return "llvm";
  case Stage::PTX:
    return "ptx";
  case Stage::Obj:
    return "obj";
  case Stage::Lib:
    return "lib";
  }
  return "?";
}

/// Progress lines on stderr ("convc: <what> <seconds> s"), off with --quiet.
class Progress {
public:
  explicit Progress(bool quiet) : quiet(quiet) {}
  void done(llvm::StringRef what) {
    auto now = std::chrono::steady_clock::now();
    if (!quiet)
      llvm::errs() << llvm::formatv(
          "convc: {0,-28} {1,7:f3} s\n", what,
          std::chrono::duration<double>(now - last).count());
    last = now;
  }

private:
  bool quiet;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};

struct CompileRequest {
  std::string input, output, mcpu, mattr;
  Stage emit = Stage::Lib;
  int64_t vectorWidth = 0, timeTile = 128;
  std::string decodeStep;
  /// With an encoder .onnx as the input: the full-sequence decoder .onnx.
  std::string decoder;
  bool quiet = false;
  /// Print which convc ops the model compiles to (after raising and fusion).
  bool report = false;
  Target target = Target::CPU;
  std::string gpuArch = "sm_90", cudaPath = "/usr/local/cuda", gpuBinary;
  /// Apply the MLIR debugging flags (only `convc compile` registers them).
  bool mlirCommandLine = false;
};

int compileModule(const CompileRequest &request);

/// `--report`: the convc ops the model became, and what stays generic.
void printOpReport(ModuleOp module, llvm::StringRef stage) {
  std::map<std::string, int> convcOps, genericOps;
  int fusedEpilogues = 0;
  module.walk([&](Operation *op) {
    llvm::StringRef dialect = op->getDialect()
                                  ? op->getDialect()->getNamespace()
                                  : llvm::StringRef();
    std::string name = op->getName().getStringRef().str();
    if (dialect == "convc") {
      ++convcOps[name];
      if (auto linear = dyn_cast<convc::LinearOp>(op))
        fusedEpilogues += linear.getActivation() != convc::Activation::none ||
                          linear.getResidual() || linear.getLnGamma();
    } else if (dialect == "linalg" && !isa<linalg::FillOp>(op) &&
               !isa<linalg::YieldOp, linalg::IndexOp>(op)) {
      ++genericOps[name];
    }
  });
  llvm::errs() << "convc: report (" << stage << " IR): ";
  if (convcOps.empty())
    llvm::errs() << "no convc ops";
  bool first = true;
  for (const auto &[name, n] : convcOps) {
    llvm::errs() << (first ? "" : ", ") << n << " x " << name;
    if (name == "convc.linear" && fusedEpilogues)
      llvm::errs() << " (" << fusedEpilogues << " with fused epilogues)";
    first = false;
  }
  int generic = 0;
  for (const auto &entry : genericOps)
    generic += entry.second;
  llvm::errs() << "; " << generic << " op" << (generic == 1 ? "" : "s")
               << " on the generic linalg path";
  first = true;
  for (const auto &[name, n] : genericOps) {
    llvm::errs() << (first ? " (" : ", ") << n << " x " << name;
    first = false;
  }
  llvm::errs() << (generic ? ")" : "") << "\n";
}

int runCompile(int argc, char **argv) {
  llvm::cl::OptionCategory category("convc compile options");
  llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                       llvm::cl::desc("<input .mlir>"),
                                       llvm::cl::Required,
                                       llvm::cl::cat(category));
  llvm::cl::opt<std::string> outputFile(
      "o",
      llvm::cl::desc("Output file: '-' is stdout (IR stages); default for "
                     "lib/obj is the input's name with .so/.o"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));
  llvm::cl::opt<Stage> emit(
      "emit", llvm::cl::desc("Stage to stop at and write"),
      llvm::cl::init(Stage::Lib),
      llvm::cl::values(
          clEnumValN(Stage::Import, "import", "parsed and verified input"),
          clEnumValN(Stage::Convc, "convc", "canonical convc IR"),
          clEnumValN(Stage::Fused, "fused", "after the fusion passes"),
          clEnumValN(Stage::Loops, "loops",
                     "bufferized, vectorised parallel loops"),
          clEnumValN(Stage::LLVM, "llvm", "LLVM dialect"),
          clEnumValN(Stage::PTX, "ptx",
                     "the device code of --target=cuda (PTX text)"),
          clEnumValN(Stage::Obj, "obj", "object file"),
          clEnumValN(Stage::Lib, "lib",
                     "shared library the runtime loads (default)")),
      llvm::cl::cat(category));
  llvm::cl::opt<std::string> target(
      "target",
      llvm::cl::desc("Code generation target: cpu, cuda (NVIDIA GPUs: "
                     "kernels embedded in the library, data copied to the "
                     "device and back per call), or gpu-kernels-on-cpu (the "
                     "cuda target's kernel loops run on the CPU: checks the "
                     "GPU kernels' math without a GPU)"),
      llvm::cl::init("cpu"), llvm::cl::cat(category));
  llvm::cl::opt<std::string> gpuArch(
      "gpu-arch",
      llvm::cl::desc("CUDA: the SM architecture to compile for (sm_80: "
                     "A100, sm_90: H100/H200)"),
      llvm::cl::init("sm_90"), llvm::cl::cat(category));
  llvm::cl::opt<std::string> cudaPath(
      "cuda-path",
      llvm::cl::desc("CUDA: the toolkit (libdevice, ptxas, fatbinary)"),
      llvm::cl::init("/usr/local/cuda"), llvm::cl::cat(category));
  llvm::cl::opt<std::string> gpuBinary(
      "gpu-binary",
      llvm::cl::desc("CUDA: device code embedded in the library: fatbin "
                     "(cubin for --gpu-arch plus PTX for newer GPUs), cubin, "
                     "or ptx (JIT-compiled by the driver; needs no ptxas). "
                     "Default: fatbin when the toolkit has ptxas and "
                     "fatbinary, else ptx"),
      llvm::cl::init(""), llvm::cl::cat(category));
  llvm::cl::opt<std::string> mcpu(
      "mcpu", llvm::cl::desc("CPU to generate code for (default: the host)"),
      llvm::cl::cat(category));
  llvm::cl::opt<std::string> mattr(
      "mattr",
      llvm::cl::desc("CPU features to add or remove, e.g. +avx2,-avx512f"),
      llvm::cl::cat(category));
  llvm::cl::opt<int64_t> vectorWidth(
      "vector-width",
      llvm::cl::desc("f32 lanes per vector (default: from the CPU features)"),
      llvm::cl::init(0), llvm::cl::cat(category));
  llvm::cl::opt<int64_t> timeTile(
      "time-tile", llvm::cl::desc("Time steps per parallel work item"),
      llvm::cl::init(128), llvm::cl::cat(category));
  llvm::cl::opt<std::string> decodeStep(
      "decode-step",
      llvm::cl::desc("Derive <F>_init and <F>_step (incremental decoding) "
                     "from the full-sequence decoder function F"),
      llvm::cl::value_desc("F"), llvm::cl::cat(category));
  llvm::cl::opt<bool> quiet("quiet",
                            llvm::cl::desc("No progress lines on stderr"),
                            llvm::cl::cat(category));
  llvm::cl::opt<std::string> decoder(
      "decoder",
      llvm::cl::desc("A Seq2Seq as two ONNX files: the input is encoder.onnx "
                     "(source tokens -> encoder outputs), this the "
                     "full-sequence decoder.onnx (previous tokens, encoder "
                     "outputs -> logits); `convc generate` runs the module"),
      llvm::cl::value_desc("decoder.onnx"), llvm::cl::cat(category));
  llvm::cl::opt<bool> report(
      "report",
      llvm::cl::desc("Print, after raising and fusion, how many of each convc "
                     "op the model became and how many ops stay on the "
                     "generic (linalg) path"),
      llvm::cl::cat(category));

  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  // --help lists convc's options and MLIR's debugging flags; LLVM's
  // hundreds of backend flags stay usable but only --help-hidden lists them.
  for (auto &[name, option] : llvm::cl::getRegisteredOptions())
    if (!llvm::is_contained(option->Categories, &category) &&
        !name.starts_with("mlir-") && name != "help" && name != "version")
      option->setHiddenFlag(llvm::cl::Hidden);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "convc compile: compile a convc model\n");

  CompileRequest request;
  request.input = inputFile;
  request.output = outputFile;
  request.emit = emit;
  request.mcpu = mcpu;
  request.mattr = mattr;
  request.vectorWidth = vectorWidth;
  request.timeTile = timeTile;
  request.decodeStep = decodeStep;
  request.quiet = quiet;
  request.report = report;
  request.decoder = decoder;
  request.mlirCommandLine = true;
  if (target == "cuda")
    request.target = Target::CUDA;
  else if (target == "gpu-kernels-on-cpu")
    request.target = Target::GPUKernelsOnCPU;
  else if (target != "cpu") {
    llvm::errs() << "convc compile: unknown --target '" << target
                 << "' (expected cpu, cuda or gpu-kernels-on-cpu)\n";
    return 1;
  }
  if (emit == Stage::PTX && request.target != Target::CUDA) {
    llvm::errs() << "convc compile: --emit=ptx needs --target=cuda\n";
    return 1;
  }
  request.gpuArch = gpuArch;
  request.cudaPath = cudaPath;
  request.gpuBinary = gpuBinary;
  return compileModule(request);
}

int compileModule(const CompileRequest &request) {
  const std::string &inputFile = request.input;
  Stage emit = request.emit;
  bool binary = emit >= Stage::Obj;
  std::string output = request.output;
  if (output.empty()) {
    if (!binary) {
      output = "-";
    } else {
      llvm::SmallString<128> path(inputFile == "-" ? std::string("out")
                                                    : inputFile);
      llvm::sys::path::replace_extension(path,
                                         emit == Stage::Lib ? ".so" : ".o");
      output = std::string(llvm::sys::path::filename(path));
    }
  }
  if (binary && output == "-") {
    llvm::errs() << "convc compile: --emit=" << stageName(emit)
                 << " writes a binary file: give -o FILE\n";
    return 1;
  }

  Progress progress(request.quiet);
  NativeTarget native = NativeTarget::host(request.mcpu, request.mattr);
  CpuTargetOptions cpuOptions;
  cpuOptions.vectorWidth = request.vectorWidth > 0 ? request.vectorWidth
                                                   : native.vectorWidth();
  cpuOptions.timeTile = request.timeTile;
  cpuOptions.decodeStep = request.decodeStep;
  // A packaged encoder.onnx + decoder.onnx gets an incremental decoder when
  // its decoder raised to convc ops that have step forms.
  if (!request.decoder.empty() && request.decodeStep.empty()) {
    cpuOptions.decodeStep = "decode";
    cpuOptions.decodeStepIfPossible = true;
  }
  cpuOptions.target = request.target;
  if (request.target == Target::CUDA) {
    cpuOptions.gpuArch = request.gpuArch;
    cpuOptions.cudaPath = request.cudaPath;
    std::string error;
    if (!configureCudaTarget(cpuOptions, request.gpuBinary, error)) {
      llvm::errs() << "convc compile: " << error << "\n";
      return 1;
    }
    // --emit=ptx writes the device module's PTX, whatever the library would
    // embed.
    if (emit == Stage::PTX)
      cpuOptions.gpuFormat = "isa";
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary translates the device module to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  registry.insert<convc::ConvcDialect>();
  MLIRContext context(registry);
  // An error on an op otherwise comes with the op printed, which for a
  // module-level op is the whole model; --mlir-print-op-on-diagnostic asks
  // for it.
  auto &registered = llvm::cl::getRegisteredOptions();
  auto printOp = registered.find("mlir-print-op-on-diagnostic");
  if (printOp == registered.end() || printOp->second->getNumOccurrences() == 0)
    context.printOpOnDiagnostic(false);

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << "convc compile: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);

  DefaultTimingManager timing;
  if (request.mlirCommandLine)
    applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();

  OwningOpRef<ModuleOp> module;
  {
    TimingScope parseTiming = rootTiming.nest("Parse and verify");
    if (!request.decoder.empty() &&
        !llvm::StringRef(inputFile).ends_with(".onnx")) {
      llvm::errs() << "convc compile: --decoder needs the encoder .onnx as "
                      "the input\n";
      return 1;
    }
    if (llvm::StringRef(inputFile).ends_with(".onnx")) {
#ifdef CONVC_HAVE_ONNX
      module = request.decoder.empty()
                   ? importONNXFile(&context, inputFile)
                   : importONNXSeq2Seq(&context, inputFile, request.decoder);
#else
      llvm::errs() << "convc compile: ONNX import is unavailable: this convc "
                      "was built without libonnx (apt-get install "
                      "libonnx-dev)\n";
      return 1;
#endif
    } else {
      module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    }
  }
  if (!module)
    return 1; // The parser or verifier already reported the error.
  progress.done("import");

  Stage irStage = std::min(emit, Stage::LLVM);
  // With --report, stop at the fused stage (or before) to count.
  Stage reportStage = std::min(irStage, Stage::Fused);
  auto runPasses = [&](Stage from, Stage to) {
    PassManager pm(&context);
    if (request.mlirCommandLine && failed(applyPassManagerCLOptions(pm)))
      return false;
    pm.enableTiming(rootTiming);
    return succeeded(buildPipelineToStage(pm, from, to, cpuOptions)) &&
           succeeded(pm.run(*module));
  };
  Stage done = Stage::Import;
  if (request.report) {
    if (reportStage > done && !runPasses(done, reportStage))
      return 1;
    done = reportStage;
    printOpReport(*module, stageName(reportStage));
  }
  if (irStage > done) {
    if (!runPasses(done, irStage))
      return 1;
    // A package: say which decoder `convc generate` will run.
    if (!request.decoder.empty() && !request.quiet && irStage >= Stage::Convc)
      llvm::errs() << (module->lookupSymbol("decode_step")
                           ? "convc: decoder: incremental (decode_init + "
                             "decode_step derived from the raised decoder)\n"
                           : "convc: decoder: full, re-run on the whole "
                             "prefix at every step (see the warning above)\n");
    progress.done(std::string("passes to ") + stageName(irStage) +
                  (irStage >= Stage::Loops && request.target == Target::CUDA
                       ? " (" + request.gpuArch + ", " +
                             cpuOptions.gpuFormat + ")"
                   : irStage >= Stage::Loops && request.target == Target::CPU
                       ? " (" + std::to_string(cpuOptions.vectorWidth) +
                             " lanes)"
                       : ""));
  }

  if (emit == Stage::PTX) {
    // The device module's PTX, as gpu-module-to-binary{format=isa} left it.
    std::string ptx;
    module->walk([&](gpu::BinaryOp binaryOp) {
      for (Attribute object : binaryOp.getObjects())
        ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().str();
    });
    if (ptx.empty()) {
      llvm::errs() << "convc compile: the model has no GPU kernels (no "
                      "device code to write)\n";
      return 1;
    }
    auto out = openOutputFile(output, &error);
    if (!out) {
      llvm::errs() << "convc compile: " << error << "\n";
      return 1;
    }
    out->os() << ptx;
    out->keep();
    return 0;
  }

  if (!binary) {
    auto out = openOutputFile(output, &error);
    if (!out) {
      llvm::errs() << "convc compile: " << error << "\n";
      return 1;
    }
    module->print(out->os());
    out->os() << "\n";
    out->keep();
    return 0;
  }

  std::unique_ptr<llvm::TargetMachine> machine =
      native.createTargetMachine(error);
  if (!machine) {
    llvm::errs() << "convc compile: no code generator for " << native.triple
                 << ": " << error << "\n";
    return 1;
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToOptimizedLLVMIR(*module, llvmContext, *machine, error);
  if (!llvmModule) {
    llvm::errs() << "convc compile: " << error << "\n";
    return 1;
  }
  progress.done("LLVM IR, optimised (O3)");

  std::string objectPath = output;
  llvm::SmallString<128> tempObject;
  if (emit == Stage::Lib) {
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "convc", "o", tempObject)) {
      llvm::errs() << "convc compile: cannot create a temporary file: "
                   << ec.message() << "\n";
      return 1;
    }
    objectPath = std::string(tempObject);
  }
  llvm::FileRemover removeTemp(tempObject);
  if (!emitObjectFile(*llvmModule, *machine, objectPath, error)) {
    llvm::errs() << "convc compile: " << error << "\n";
    return 1;
  }
  progress.done("machine code (" + native.cpu + ")");
  if (emit == Stage::Lib) {
    if (!linkSharedLibrary(objectPath, output, error)) {
      llvm::errs() << "convc compile: " << error << "\n";
      return 1;
    }
    progress.done("linked " + output);
  }
  return 0;
}

/// --device: "cpu" or "cuda" into `device`; false (reported) otherwise.
bool parseDevice(const std::string &name, Device &device, const char *command) {
  if (name == "cpu" || name == "cuda") {
    device = name == "cuda" ? Device::CUDA : Device::CPU;
    return true;
  }
  llvm::errs() << command << ": unknown --device '" << name
               << "' (expected cpu or cuda)\n";
  return false;
}

/// A compiled module runs where it was compiled for: say so when asked for
/// another device.
bool checkDevice(const Module &module, const std::string &model, Device device,
                 const char *command) {
  if (module.device() == device)
    return true;
  llvm::errs() << command << ": '" << model << "' was compiled for the "
               << (module.device() == Device::CUDA ? "GPU (--target=cuda)"
                                                   : "CPU")
               << " but --device=" << deviceName(device)
               << " was asked for; compile it with --target="
               << deviceName(device) << "\n";
  return false;
}

/// The model, its inputs and entry point: shared by `run` and `bench`.
struct Invocation {
  std::unique_ptr<Module> module;
  const EntryPoint *entry = nullptr;
  std::vector<Tensor> inputs;
  llvm::SmallString<128> tempLibrary;
};

bool prepareInvocation(const std::string &model,
                       const std::vector<std::string> &inputArgs,
                       const std::string &entryName, Invocation &inv,
                       const char *command, const std::string &deviceArg) {
  std::string error;
  Device device;
  if (!parseDevice(deviceArg, device, command))
    return false;
  std::string library = model;
  if (llvm::StringRef(model).ends_with(".mlir") ||
      llvm::StringRef(model).ends_with(".onnx")) {
    if (llvm::sys::fs::createTemporaryFile("convc-model", "so",
                                           inv.tempLibrary)) {
      llvm::errs() << command << ": cannot create a temporary file\n";
      return false;
    }
    CompileRequest request;
    request.input = model;
    request.output = std::string(inv.tempLibrary);
    request.quiet = true;
    request.target = device == Device::CUDA ? Target::CUDA : Target::CPU;
    if (compileModule(request) != 0)
      return false;
    library = request.output;
  }
  inv.module = Module::load(library, error);
  if (!inv.module) {
    llvm::errs() << command << ": " << error << "\n";
    return false;
  }
  if (!checkDevice(*inv.module, model, device, command))
    return false;
  if (inv.module->entryPoints().empty()) {
    llvm::errs() << command << ": '" << model << "' has no entry point\n";
    return false;
  }
  inv.entry = entryName.empty() ? &inv.module->entryPoints().front()
                                : inv.module->find(entryName);
  if (!inv.entry) {
    llvm::errs() << command << ": no entry point '" << entryName << "' in '"
                 << model << "'\n";
    return false;
  }
  // --input NAME=FILE.npy, in any order, every input exactly once.
  std::map<std::string, std::string> files;
  for (const std::string &arg : inputArgs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      llvm::errs() << command << ": --input expects NAME=FILE.npy, got '"
                   << arg << "'\n";
      return false;
    }
    std::string name = arg.substr(0, eq);
    bool known = false;
    for (const TensorSpec &spec : inv.entry->inputs)
      known |= spec.name == name;
    if (!known) {
      llvm::errs() << command << ": entry '" << inv.entry->name
                   << "' has no input named '" << name << "'; its inputs:";
      for (const TensorSpec &spec : inv.entry->inputs)
        llvm::errs() << " " << spec.describe() << ";";
      llvm::errs() << "\n";
      return false;
    }
    if (!files.emplace(name, arg.substr(eq + 1)).second) {
      llvm::errs() << command << ": input '" << name << "' given twice\n";
      return false;
    }
  }
  for (const TensorSpec &spec : inv.entry->inputs) {
    auto it = files.find(spec.name);
    if (it == files.end()) {
      llvm::errs() << command << ": missing --input " << spec.name
                   << "=FILE.npy (" << spec.describe() << ")\n";
      return false;
    }
    NpyArray array;
    Tensor tensor;
    if (!readNpy(it->second, array, error) ||
        !tensorFromNpy(array, tensor, error)) {
      llvm::errs() << command << ": input '" << spec.name << "': " << error
                   << "\n";
      return false;
    }
    // NumPy has no bf16, and f16 data often comes as f32: an f32 file for
    // an f16/bf16 input is rounded to it.
    if (tensor.dtype() == DType::F32 &&
        (spec.dtype == DType::F16 || spec.dtype == DType::BF16))
      tensor = convertTensor(tensor, spec.dtype);
    inv.inputs.push_back(tensor);
  }
  return true;
}

/// The options `run` and `bench` share, in their own subcommand (LLVM
/// already owns a top-level --threads).
struct ModelOptions {
  ModelOptions(const char *name)
      : sub(name, ""), categoryName(std::string("convc ") + name + " options"),
        category(categoryName),
        model(llvm::cl::Positional,
              llvm::cl::desc("<model .so (or .mlir / .onnx)>"),
              llvm::cl::Required, llvm::cl::cat(category),
              llvm::cl::sub(sub)),
        inputs("input",
               llvm::cl::desc("An input: NAME=FILE.npy (repeat per input)"),
               llvm::cl::value_desc("NAME=FILE.npy"), llvm::cl::cat(category),
               llvm::cl::sub(sub)),
        entry("entry", llvm::cl::desc("Entry point (default: the first)"),
              llvm::cl::cat(category), llvm::cl::sub(sub)),
        threads("threads", llvm::cl::desc("Threads (default: all cores)"),
                llvm::cl::init(0), llvm::cl::cat(category),
                llvm::cl::sub(sub)),
        device("device",
               llvm::cl::desc("cpu or cuda: where the model runs (a .so "
                              "must have been compiled for it; a .mlir is "
                              "compiled for it)"),
               llvm::cl::init("cpu"), llvm::cl::cat(category),
               llvm::cl::sub(sub)) {}

  llvm::cl::SubCommand sub;
  std::string categoryName; // the category keeps a StringRef to it
  llvm::cl::OptionCategory category;
  llvm::cl::opt<std::string> model;
  llvm::cl::list<std::string> inputs;
  llvm::cl::opt<std::string> entry;
  llvm::cl::opt<int> threads;
  llvm::cl::opt<std::string> device;
};

int runRun(int argc, char **argv) {
  ModelOptions opts("run");
  auto &[sub, categoryName, category, model, inputs, entry, threads, device] =
      opts;
  llvm::cl::opt<std::string> outputDir(
      "output-dir", llvm::cl::desc("Where to write <output>.npy files"),
      llvm::cl::init("."), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::HideUnrelatedOptions(category, sub);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "convc run: run a compiled model\n");
  Invocation inv;
  llvm::FileRemover removeTemp(inv.tempLibrary);
  if (!prepareInvocation(model, inputs, entry, inv, "convc run", device))
    return 1;
  inv.module->setNumThreads(threads);
  std::vector<Tensor> outputs;
  std::string error;
  if (!inv.module->run(inv.entry->name, inv.inputs, outputs, error)) {
    llvm::errs() << "convc run: " << error << "\n";
    return 1;
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
    llvm::errs() << "convc run: cannot create '" << outputDir
                 << "': " << ec.message() << "\n";
    return 1;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    // NumPy has no bf16: such an output is written widened to f32.
    bool widened = outputs[i].dtype() == DType::BF16;
    Tensor t = widened ? convertTensor(outputs[i], DType::F32) : outputs[i];
    NpyArray array;
    array.dtype = t.dtype() == DType::F32   ? NpyDType::F32
                  : t.dtype() == DType::F64 ? NpyDType::F64
                  : t.dtype() == DType::F16 ? NpyDType::F16
                  : t.dtype() == DType::I32 ? NpyDType::I32
                                            : NpyDType::I64;
    array.shape = t.shape();
    array.bytes.assign(static_cast<unsigned char *>(t.data()),
                       static_cast<unsigned char *>(t.data()) + t.numBytes());
    std::string path =
        outputDir + "/" + inv.entry->outputs[i].name + ".npy";
    if (!writeNpy(path, array, error)) {
      llvm::errs() << "convc run: " << error << "\n";
      return 1;
    }
    llvm::outs() << "wrote " << path << " " << inv.entry->outputs[i].name
                 << ": " << dtypeName(outputs[i].dtype()) << "[";
    for (size_t d = 0; d < t.shape().size(); ++d)
      llvm::outs() << (d ? ", " : "") << t.shape()[d];
    llvm::outs() << "]" << (widened ? " (as f32)" : "") << "\n";
  }
  return 0;
}

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

int runBench(int argc, char **argv) {
  ModelOptions opts("bench");
  auto &[sub, categoryName, category, model, inputs, entry, threads, device] =
      opts;
  llvm::cl::opt<int> warmup("warmup", llvm::cl::desc("Untimed runs first"),
                            llvm::cl::init(3), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<int> runs("runs", llvm::cl::desc("Timed runs"),
                          llvm::cl::init(20), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::HideUnrelatedOptions(category, sub);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "convc bench: time a compiled model\n");
  if (runs < 1 || warmup < 0) {
    llvm::errs() << "convc bench: --runs must be >= 1 and --warmup >= 0\n";
    return 1;
  }
  Invocation inv;
  llvm::FileRemover removeTemp(inv.tempLibrary);
  if (!prepareInvocation(model, inputs, entry, inv, "convc bench",
                         device))
    return 1;
  inv.module->setNumThreads(threads);
  std::vector<Tensor> outputs;
  std::string error;
  std::vector<double> ms;
  for (int i = 0; i < warmup + runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!inv.module->run(inv.entry->name, inv.inputs, outputs, error)) {
      llvm::errs() << "convc bench: " << error << "\n";
      return 1;
    }
    auto t1 = std::chrono::steady_clock::now();
    outputs.clear();
    if (i >= warmup)
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto percentile = [&](double p) {
    size_t i = std::min(ms.size() - 1, size_t(p * (ms.size() - 1) + 0.5));
    return ms[i];
  };
  llvm::outs() << llvm::formatv("median_ms={0:f4}\np90_ms={1:f4}\nmin_ms={2:f4}\n",
                                percentile(0.5), percentile(0.9), ms.front());
  llvm::outs() << "method: entry " << inv.entry->name << ", " << warmup
               << " warm-up + " << runs << " timed in-process runs, threads="
               << (threads > 0 ? std::to_string(threads) : std::string("all"))
               << ", wall clock per call incl. output allocation, CPU: "
               << cpuModelName() << "\n";
  return 0;
}

int runGenerate(int argc, char **argv) {
  llvm::cl::SubCommand sub("generate", "");
  llvm::cl::OptionCategory category("convc generate options");
  llvm::cl::opt<std::string> model(
      llvm::cl::Positional,
      llvm::cl::desc("<Seq2Seq model .so (compiled with --decode-step=decode), "
                     "or .mlir>"),
      llvm::cl::Required, llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::list<std::string> sources(
      "src",
      llvm::cl::desc("A source sentence as token ids, e.g. \"5 9 3 2\" "
                     "(repeat for a batch), or a .npy of [B, S] int64 ids"),
      llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<int> beam("beam", llvm::cl::desc("Beam size (1: greedy)"),
                          llvm::cl::init(1), llvm::cl::cat(category),
                          llvm::cl::sub(sub));
  llvm::cl::opt<int64_t> maxLength(
      "max-len", llvm::cl::desc("Most tokens to generate"),
      llvm::cl::init(64), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<double> lengthPenalty(
      "length-penalty",
      llvm::cl::desc("Finished beams rank by score / length^penalty"),
      llvm::cl::init(1.0), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<int> threads("threads",
                             llvm::cl::desc("Threads (default: all cores)"),
                             llvm::cl::init(0), llvm::cl::cat(category),
                             llvm::cl::sub(sub));
  llvm::cl::opt<std::string> params(
      "params",
      llvm::cl::desc("A directory of <name>.npy weights, for models compiled "
                     "with weights as inputs"),
      llvm::cl::value_desc("DIR"), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<std::string> deviceArg(
      "device",
      llvm::cl::desc("cpu or cuda: where the model runs (a .so must have "
                     "been compiled for it; a .mlir is compiled for it)"),
      llvm::cl::init("cpu"), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<int> warmup(
      "warmup",
      llvm::cl::desc("Translate the batch this many times before the timed "
                     "run (the first run of a process also pages in and "
                     "caches the weights)"),
      llvm::cl::init(0), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::HideUnrelatedOptions(category, sub);
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "convc generate: translate with a compiled Seq2Seq model\n");
  Device device;
  if (!parseDevice(deviceArg, device, "convc generate"))
    return 1;

  std::vector<std::vector<int64_t>> batch;
  std::string error;
  for (const std::string &src : sources) {
    if (llvm::StringRef(src).ends_with(".npy")) {
      NpyArray array;
      if (!readNpy(src, array, error)) {
        llvm::errs() << "convc generate: " << error << "\n";
        return 1;
      }
      if (array.shape.size() != 2 || (array.dtype != NpyDType::I64 &&
                                      array.dtype != NpyDType::I32)) {
        llvm::errs() << "convc generate: '" << src
                     << "' must hold a [B, S] int64 (or int32) array\n";
        return 1;
      }
      std::vector<double> values = array.toDoubles();
      for (int64_t b = 0; b < array.shape[0]; ++b)
        batch.emplace_back(values.begin() + b * array.shape[1],
                           values.begin() + (b + 1) * array.shape[1]);
      continue;
    }
    std::vector<int64_t> tokens;
    llvm::SmallVector<llvm::StringRef> words;
    llvm::StringRef(src).split(words, ' ', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef w : words) {
      int64_t id;
      if (w.getAsInteger(10, id)) {
        llvm::errs() << "convc generate: --src '" << src
                     << "': '" << w << "' is not a token id\n";
        return 1;
      }
      tokens.push_back(id);
    }
    batch.push_back(tokens);
  }
  if (batch.empty()) {
    llvm::errs() << "convc generate: give at least one --src\n";
    return 1;
  }
  Invocation inv;
  llvm::FileRemover removeTemp(inv.tempLibrary);
  std::string library = model;
  if (llvm::StringRef(model).ends_with(".mlir")) {
    if (llvm::sys::fs::createTemporaryFile("convc-model", "so",
                                           inv.tempLibrary))
      return 1;
    CompileRequest request;
    request.input = model;
    request.output = std::string(inv.tempLibrary);
    request.decodeStep = "decode";
    request.target = device == Device::CUDA ? Target::CUDA : Target::CPU;
    request.quiet = true;
    if (compileModule(request) != 0)
      return 1;
    library = request.output;
  }
  auto module = Module::load(library, error);
  if (!module) {
    llvm::errs() << "convc generate: " << error << "\n";
    return 1;
  }
  if (!checkDevice(*module, model, device, "convc generate"))
    return 1;
  module->setNumThreads(threads);
  GenerationOptions options;
  options.beam = beam;
  options.maxLength = maxLength;
  options.lengthPenalty = lengthPenalty;
  if (!params.empty()) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(params, ec), end;
         !ec && it != end; it.increment(ec)) {
      llvm::StringRef path = it->path();
      if (!path.ends_with(".npy"))
        continue;
      NpyArray array;
      Tensor tensor;
      if (!readNpy(path.str(), array, error) ||
          !tensorFromNpy(array, tensor, error)) {
        llvm::errs() << "convc generate: " << error << "\n";
        return 1;
      }
      options.parameters[llvm::sys::path::stem(path).str()] = tensor;
    }
    if (ec) {
      llvm::errs() << "convc generate: cannot read '" << params
                   << "': " << ec.message() << "\n";
      return 1;
    }
  }
  std::vector<Hypothesis> results;
  for (int i = 0; i < warmup; ++i)
    if (Status s = generate(*module, batch, options, results); !s.ok()) {
      llvm::errs() << "convc generate: " << s.message() << "\n";
      return 1;
    }
  auto t0 = std::chrono::steady_clock::now();
  Status status = generate(*module, batch, options, results);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  if (!status.ok()) {
    llvm::errs() << "convc generate: " << status.message() << "\n";
    return 1;
  }
  size_t generated = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    llvm::outs() << "S-" << i << "\t";
    for (size_t j = 0; j < batch[i].size(); ++j)
      llvm::outs() << (j ? " " : "") << batch[i][j];
    llvm::outs() << "\nH-" << i << "\t"
                 << llvm::formatv("{0:f4}", results[i].score) << "\t";
    for (size_t j = 0; j < results[i].tokens.size(); ++j)
      llvm::outs() << (j ? " " : "") << results[i].tokens[j];
    llvm::outs() << "\n";
    generated += results[i].tokens.size() + 1;
  }
  llvm::errs() << llvm::formatv(
      "convc generate: {0} sentences, beam {1}, {2} tokens in {3:f1} ms "
      "({4:f0} tokens/s, {5}{6})\n",
      results.size(), int(beam), generated, ms, generated / (ms / 1000.0),
      module->find("decode_step")
          ? "incremental decoder"
          : "full decoder on the whole prefix at every step",
      warmup > 0 ? ", after " + std::to_string(int(warmup)) + " warm-up runs"
                 : std::string());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  if (argc < 2) {
    llvm::errs() << kOverview;
    return 1;
  }
  const char *command = argv[1];
  if (!std::strcmp(command, "--help") || !std::strcmp(command, "-help") ||
      !std::strcmp(command, "-h") || !std::strcmp(command, "help")) {
    llvm::outs() << kOverview;
    return 0;
  }
  if (!std::strcmp(command, "--version") || !std::strcmp(command, "-version")) {
    printVersion(llvm::outs());
    return 0;
  }
  // compile: shift the command away so llvm::cl sees "convc compile <opts>"
  // as one program name; run and bench parse it as an llvm::cl subcommand.
  std::string program = std::string("convc ") + command;
  registerAllPasses();
  registerConvcPasses();
  registerConvcLoweringPasses();
  if (!std::strcmp(command, "compile")) {
    argv[1] = program.data();
    return runCompile(argc - 1, argv + 1);
  }
  if (!std::strcmp(command, "run"))
    return runRun(argc, argv);
  if (!std::strcmp(command, "bench"))
    return runBench(argc, argv);
  if (!std::strcmp(command, "generate"))
    return runGenerate(argc, argv);

  llvm::errs() << "convc: unknown command '" << command
               << "'. Commands: compile, run, bench, generate. Run `convc --help`.\n";
  return 1;
}
