//===- Compile.cpp - `convc compile` ---------------------------------------===//
//
// Flags into CompileOptions; the compile session does the rest. `convc
// compile --help` lists these options and MLIR's debugging flags.
//
//===----------------------------------------------------------------------===//

#include "Subcommands.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/raw_ostream.h"

namespace convc::tool {

int runCompile(int argc, char **argv) {
  const CompileOptions defaults;
  llvm::cl::OptionCategory category("convc compile options");
  llvm::cl::opt<std::string> inputFile(
      llvm::cl::Positional, llvm::cl::desc("<input .mlir or .onnx>"),
      llvm::cl::Required, llvm::cl::cat(category));
  llvm::cl::opt<std::string> outputFile(
      "o",
      llvm::cl::desc("Output file: '-' is stdout (IR stages); default for "
                     "lib/obj is the input's name with .so/.o"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));
  llvm::cl::opt<Stage> emit(
      "emit", llvm::cl::desc("Stage to stop at and write"),
      llvm::cl::init(defaults.emit),
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
      llvm::cl::init(targetName(defaults.target)), llvm::cl::cat(category));
  llvm::cl::opt<std::string> gpuArch(
      "gpu-arch",
      llvm::cl::desc("CUDA: the SM architecture to compile for (sm_80: "
                     "A100, sm_90: H100/H200)"),
      llvm::cl::init(defaults.gpuArch), llvm::cl::cat(category));
  llvm::cl::opt<std::string> cudaPath(
      "cuda-path",
      llvm::cl::desc("CUDA: the toolkit (libdevice, ptxas, fatbinary)"),
      llvm::cl::init(defaults.cudaPath), llvm::cl::cat(category));
  llvm::cl::opt<std::string> gpuBinary(
      "gpu-binary",
      llvm::cl::desc("CUDA: device code embedded in the library: fatbin "
                     "(cubin for --gpu-arch plus PTX for newer GPUs), cubin, "
                     "or ptx (JIT-compiled by the driver; needs no ptxas). "
                     "Default: fatbin when the toolkit has ptxas and "
                     "fatbinary, else ptx"),
      llvm::cl::init(defaults.gpuBinary), llvm::cl::cat(category));
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
      llvm::cl::init(defaults.vectorWidth), llvm::cl::cat(category));
  llvm::cl::opt<int64_t> timeTile(
      "time-tile",
      llvm::cl::desc("Time steps per parallel work item (default: 128)"),
      llvm::cl::init(defaults.timeTile), llvm::cl::cat(category));
  llvm::cl::opt<bool> boundsChecks(
      "bounds-checks",
      llvm::cl::desc("Check every load, store and view of the generated code "
                     "against its buffer at run time (CPU targets; MLIR's "
                     "generate-runtime-verification): an out-of-bounds "
                     "access aborts, naming the op and its location. For "
                     "testing; slower"),
      llvm::cl::cat(category));
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

  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // --help lists convc's options and MLIR's debugging flags; LLVM's
  // hundreds of backend flags stay usable but only --help-hidden lists them.
  for (auto &[name, option] : llvm::cl::getRegisteredOptions())
    if (!llvm::is_contained(option->Categories, &category) &&
        !name.starts_with("mlir-") && name != "help" && name != "version")
      option->setHiddenFlag(llvm::cl::Hidden);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "convc compile: compile a convc model\n");

  CompileOptions options;
  options.input = inputFile;
  options.output = outputFile;
  options.emit = emit;
  options.mcpu = mcpu;
  options.mattr = mattr;
  options.vectorWidth = vectorWidth;
  options.timeTile = timeTile;
  options.boundsChecks = boundsChecks;
  options.decodeStep = decodeStep;
  options.quiet = quiet;
  options.report = report;
  options.decoder = decoder;
  options.mlirCommandLine = true;
  if (!parseTarget(target, options.target)) {
    llvm::errs() << "convc compile: unknown --target '" << target
                 << "' (expected cpu, cuda or gpu-kernels-on-cpu)\n";
    return 1;
  }
  if (emit == Stage::PTX && options.target != Target::CUDA) {
    llvm::errs() << "convc compile: --emit=ptx needs --target=cuda\n";
    return 1;
  }
  options.gpuArch = gpuArch;
  options.cudaPath = cudaPath;
  options.gpuBinary = gpuBinary;
  return compileReported(options) ? 0 : 1;
}

} // namespace convc::tool
