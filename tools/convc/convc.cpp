//===- convc.cpp - the convc command line ---------------------------------===//
//
//   convc compile IN.mlir [-o OUT] [--emit=STAGE] [--target=cpu|cuda]
//   convc run | bench | generate MODEL ...
//   convc --help | --version
//
// Commands are dispatched on the first argument, each to its own file
// (Compile.cpp, Run.cpp, Bench.cpp, Generate.cpp); each parses its own flags
// with llvm::cl, so `convc compile --help` lists that command's options plus
// the standard MLIR debugging flags.
//
//===----------------------------------------------------------------------===//

#include "Subcommands.h"

#include "compiler/CompileSession.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <string>

using namespace convc;
using namespace convc::tool;

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
                    --decode-step=decode): greedy or beam search, or
                    sampling (--sampling-topk/-topp/-temperature, --seed),
                    over the derived incremental decoder; --num-hypotheses,
                    --min-len, --repetition-penalty, --no-repeat-ngram-size,
                    --prefix, --start-token, --max-batch-size.
  translate MODEL --input FILE --output FILE
                    Translate a corpus (a line of token ids per source) in
                    batches of like lengths, with progress; the same
                    generation options. A bad line is reported with its
                    number and left empty; the others are translated.

run, bench, generate and translate take --device=cpu|cuda.

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
  registerCompilerPasses();
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
  if (!std::strcmp(command, "translate"))
    return runTranslate(argc, argv);

  llvm::errs() << "convc: unknown command '" << command
               << "'. Commands: compile, run, bench, generate, translate. Run `convc --help`.\n";
  return 1;
}
