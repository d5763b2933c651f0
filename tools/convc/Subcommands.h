//===- Subcommands.h - the convc tool's commands and their helpers -*- C++ -*-===//
//
// One file per command (Compile.cpp, Run.cpp, Bench.cpp, Generate.cpp), each
// over the compile session (compiler/) and the runtime; convc.cpp dispatches
// to them. Each parses its own flags with llvm::cl.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_TOOLS_CONVC_SUBCOMMANDS_H
#define CONVC_TOOLS_CONVC_SUBCOMMANDS_H

#include "compiler/CompileOptions.h"
#include "convc/Runtime.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"

#include <memory>
#include <string>
#include <vector>

namespace convc::tool {

/// `convc compile`, `run`, `bench` and `generate`: argv[0] is "convc
/// compile" for compile, "convc" (then the command) for the others.
int runCompile(int argc, char **argv);
int runRun(int argc, char **argv);
int runBench(int argc, char **argv);
int runGenerate(int argc, char **argv);
int runTranslate(int argc, char **argv);

/// llvm::cl's parse of a subcommand's flags (argv[1] is the subcommand);
/// false once its errors are on stderr, told as "convc run: ..." with the
/// subcommand's --help (llvm::cl names the program and the top-level one).
bool parseSubcommandLine(int argc, char **argv, llvm::StringRef overview);

/// Compiles as `options` say; false once `convc compile: <why>` is on
/// stderr (or the diagnostics printed said it).
bool compileReported(const CompileOptions &options);

/// `model` (.mlir or .onnx) compiled quietly into the shared library
/// `library` for `device`, as run, bench and generate do with a model that
/// is not a .so; false once said why.
bool compileForDevice(const std::string &model, const std::string &library,
                      Device device, const std::string &decodeStep = "");

/// --device: "cpu" or "cuda" into `device`; false (reported) otherwise.
bool parseDevice(const std::string &name, Device &device, const char *command);

/// A compiled module runs where it was compiled for: say so when asked for
/// another device.
bool checkDevice(const Module &module, const std::string &model, Device device,
                 const char *command);

/// The model, its inputs and entry point: shared by `run` and `bench`.
struct Invocation {
  ~Invocation(); // removes tempLibrary
  std::unique_ptr<Module> module;
  const EntryPoint *entry = nullptr;
  std::vector<Tensor> inputs;
  llvm::SmallString<128> tempLibrary;
};

/// `model` loaded into `inv.module`: a .so as it is, a .mlir or .onnx
/// compiled first for `device` (with `decodeStep` derived, if named) into a
/// temporary library that `inv` removes; checked to run on `device`. False
/// once `<command>: <why>` is on stderr.
bool loadModel(const std::string &model, Device device, Invocation &inv,
               const char *command, const std::string &decodeStep = "");


/// Loads `model` (compiling a .mlir or .onnx first), picks the entry point
/// and reads every input from --input NAME=FILE.npy; false once said why.
bool prepareInvocation(const std::string &model,
                       const std::vector<std::string> &inputArgs,
                       const std::string &entryName, Invocation &inv,
                       const char *command, const std::string &deviceArg);

/// Gives `module` --threads N (0: all cores); false once it said a negative
/// count is an error.
bool setThreads(Module &module, int threads, const char *command);

/// The options `run` and `bench` share, in their own subcommand (LLVM
/// already owns a top-level --threads).
struct ModelOptions {
  ModelOptions(const char *name);

  llvm::cl::SubCommand sub;
  std::string categoryName; // the category keeps a StringRef to it
  llvm::cl::OptionCategory category;
  llvm::cl::opt<std::string> model;
  llvm::cl::list<std::string> inputs;
  llvm::cl::opt<std::string> entry;
  llvm::cl::opt<int> threads;
  llvm::cl::opt<std::string> device;
};

} // namespace convc::tool

#endif // CONVC_TOOLS_CONVC_SUBCOMMANDS_H
