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

#include "dialect/ConvcDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
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
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;

namespace {

constexpr const char *kOverview = R"(convc - a compiler for convolutional sequence-to-sequence models

USAGE: convc <command> [options]

COMMANDS:
  compile IN.mlir   Parse, verify and lower a model; --emit picks the stage
                    to stop at and print.

OPTIONS:
  --help            This text. `convc <command> --help` lists a command's
                    options and the MLIR debugging flags.
  --version         Print the convc and LLVM/MLIR versions.

PIPELINE STAGES (--emit):
  import   the input as parsed and verified (convc + upstream ops)
  convc    canonicalised and CSE'd convc IR
  fused, loops, llvm, obj, lib
           arrive with the CPU code generation; asking for them now is an
           error that says so.

Semantics of every op: docs/dialect.md and docs/ConvcOps.md.
)";

void printVersion(llvm::raw_ostream &os) {
  os << "convc " << CONVC_VERSION << " (LLVM/MLIR " << CONVC_LLVM_VERSION
     << ")\n";
}

enum class Stage { Import, Convc, Fused, Loops, LLVM, Obj, Lib };

int runCompile(int argc, char **argv) {
  llvm::cl::OptionCategory category("convc compile options");
  llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                       llvm::cl::desc("<input .mlir>"),
                                       llvm::cl::Required,
                                       llvm::cl::cat(category));
  llvm::cl::opt<std::string> outputFile(
      "o", llvm::cl::desc("Output file ('-' for stdout)"),
      llvm::cl::value_desc("file"), llvm::cl::init("-"),
      llvm::cl::cat(category));
  llvm::cl::opt<Stage> emit(
      "emit", llvm::cl::desc("Stage to stop at and print"),
      llvm::cl::init(Stage::Convc),
      llvm::cl::values(
          clEnumValN(Stage::Import, "import", "parsed and verified input"),
          clEnumValN(Stage::Convc, "convc", "canonical convc IR"),
          clEnumValN(Stage::Fused, "fused", "after the fusion passes"),
          clEnumValN(Stage::Loops, "loops", "bufferized loops"),
          clEnumValN(Stage::LLVM, "llvm", "LLVM dialect"),
          clEnumValN(Stage::Obj, "obj", "object file"),
          clEnumValN(Stage::Lib, "lib", "loadable shared library")),
      llvm::cl::cat(category));
  llvm::cl::opt<std::string> target(
      "target", llvm::cl::desc("Code generation target: cpu or cuda"),
      llvm::cl::init("cpu"), llvm::cl::cat(category));

  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "convc compile: compile a convc model\n");

  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "convc compile: unknown --target '" << target
                 << "' (expected cpu or cuda)\n";
    return 1;
  }
  if (emit > Stage::Convc) {
    llvm::errs() << "convc compile: --emit="
                 << (emit == Stage::Fused   ? "fused"
                     : emit == Stage::Loops ? "loops"
                     : emit == Stage::LLVM  ? "llvm"
                     : emit == Stage::Obj   ? "obj"
                                            : "lib")
                 << " is not available in this build: the fusion passes and "
                    "code generation are not implemented yet (supported: "
                    "import, convc)\n";
    return 1;
  }

  DialectRegistry registry;
  registry.insert<convc::ConvcDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  MLIRContext context(registry);

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
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();

  OwningOpRef<ModuleOp> module;
  {
    TimingScope parseTiming = rootTiming.nest("Parse and verify");
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  }
  if (!module)
    return 1; // The parser or verifier already reported the error.

  if (emit == Stage::Convc) {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return 1;
    pm.enableTiming(rootTiming);
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    if (failed(pm.run(*module)))
      return 1;
  }

  auto output = openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << "convc compile: " << error << "\n";
    return 1;
  }
  module->print(output->os());
  output->os() << "\n";
  output->keep();
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
  // Shift the command away so llvm::cl sees "convc-compile <options>".
  std::string program = std::string("convc ") + command;
  argv[1] = program.data();
  if (!std::strcmp(command, "compile"))
    return runCompile(argc - 1, argv + 1);

  llvm::errs() << "convc: unknown command '" << command
               << "'. Commands: compile. Run `convc --help`.\n";
  return 1;
}
