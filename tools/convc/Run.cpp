//===- Run.cpp - `convc run` -----------------------------------------------===//
//
// Runs a compiled model (a .so, or a .mlir / .onnx compiled on the fly) on
// inputs from .npy files and writes DIR/<output>.npy.
//
//===----------------------------------------------------------------------===//

#include "Subcommands.h"

#include "convc/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <set>

namespace convc::tool {

int runRun(int argc, char **argv) {
  ModelOptions opts("run");
  auto &[sub, categoryName, category, model, inputs, entry, threads, device] =
      opts;
  llvm::cl::opt<std::string> outputDir(
      "output-dir",
      llvm::cl::desc("Where to write <output>.npy files (default: the "
                     "current directory)"),
      llvm::cl::init("."), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::HideUnrelatedOptions(category, sub);
  if (!parseSubcommandLine(argc, argv, "convc run: run a compiled model\n"))
    return 1;
  Invocation inv;
  if (!prepareInvocation(model, inputs, entry, inv, "convc run", device))
    return 1;
  if (!setThreads(*inv.module, threads, "convc run"))
    return 1;
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
  std::set<std::string> files;
  for (size_t i = 0; i < outputs.size(); ++i) {
    // NumPy has no bf16: such an output is written widened to f32.
    bool widened = outputs[i].dtype() == DType::BF16;
    Tensor t = widened ? convertTensor(outputs[i], DType::F32) : outputs[i];
    NpyArray array;
    array.dtype = t.dtype() == DType::F32    ? NpyDType::F32
                  : t.dtype() == DType::F64  ? NpyDType::F64
                  : t.dtype() == DType::F16  ? NpyDType::F16
                  : t.dtype() == DType::I32  ? NpyDType::I32
                  : t.dtype() == DType::I8   ? NpyDType::I8
                  : t.dtype() == DType::U8   ? NpyDType::U8
                  : t.dtype() == DType::Bool ? NpyDType::Bool
                                             : NpyDType::I64;
    array.shape = t.shape();
    array.bytes.assign(static_cast<unsigned char *>(t.data()),
                       static_cast<unsigned char *>(t.data()) + t.numBytes());
    // The file is named after the output, with '/' as '_': a name such
    // as "../x" stays inside the output directory. Two names that come out
    // the same ("a/b", "a_b") must not write one file: the later one gets
    // its output index.
    std::string file = inv.entry->outputs[i].name;
    std::replace(file.begin(), file.end(), '/', '_');
    if (file.empty())
      file = "output" + std::to_string(i);
    while (!files.insert(file).second)
      file += "." + std::to_string(i);
    std::string path = outputDir + "/" + file + ".npy";
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

} // namespace convc::tool
