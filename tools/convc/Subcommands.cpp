//===- Subcommands.cpp - what the convc commands share --------------------===//

#include "Subcommands.h"

#include "compiler/CompileSession.h"
#include "convc/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

namespace convc::tool {

bool parseSubcommandLine(int argc, char **argv, llvm::StringRef overview) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (llvm::cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  std::string command = std::string("convc ") + argv[1];
  llvm::StringRef program = llvm::sys::path::filename(argv[0]);
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(errors).split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef line : lines) {
    std::string text = line.str();
    if (line.consume_front((program + ": ").str()))
      text = command + ": " + line.str();
    for (std::string help :
         {std::string(argv[0]) + " --help", program.str() + " --help"})
      for (size_t at; (at = text.find(help)) != std::string::npos;)
        text.replace(at, help.size(), command + " --help");
    llvm::errs() << text << "\n";
  }
  return false;
}

bool compileReported(const CompileOptions &options) {
  Status status = compile(options);
  if (status.ok())
    return true;
  if (!status.message().empty())
    llvm::errs() << "convc compile: " << status.message() << "\n";
  return false;
}

bool compileForDevice(const std::string &model, const std::string &library,
                      Device device, const std::string &decodeStep) {
  CompileOptions options;
  options.input = model;
  options.output = library;
  options.decodeStep = decodeStep;
  options.target = device == Device::CUDA ? Target::CUDA : Target::CPU;
  options.quiet = true;
  return compileReported(options);
}

bool parseDevice(const std::string &name, Device &device, const char *command) {
  if (name == "cpu" || name == "cuda") {
    device = name == "cuda" ? Device::CUDA : Device::CPU;
    return true;
  }
  llvm::errs() << command << ": unknown --device '" << name
               << "' (expected cpu or cuda)\n";
  return false;
}

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

/// --input NAME=FILE.npy, in any order, every input of `entry` exactly
/// once, into `inputs`.
static bool readInputs(const std::vector<std::string> &inputArgs,
                       const EntryPoint &entry, std::vector<Tensor> &inputs,
                       const char *command) {
  std::map<std::string, std::string> files;
  for (const std::string &arg : inputArgs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      llvm::errs() << command << ": --input expects NAME=FILE.npy, got '"
                   << arg << "'\n";
      return false;
    }
    auto isInput = [&](const std::string &name) {
      return llvm::any_of(entry.inputs, [&](const TensorSpec &spec) {
        return spec.name == name;
      });
    };
    // A name may hold '=' itself (ONNX allows it): the first '=' after
    // which the prefix is an input's name splits NAME from FILE.
    for (size_t at = eq; at != std::string::npos; at = arg.find('=', at + 1))
      if (isInput(arg.substr(0, at))) {
        eq = at;
        break;
      }
    std::string name = arg.substr(0, eq);
    if (!isInput(name)) {
      llvm::errs() << command << ": entry '" << entry.name
                   << "' has no input named '" << name << "'; its inputs:";
      for (const TensorSpec &spec : entry.inputs)
        llvm::errs() << " " << spec.describe() << ";";
      llvm::errs() << "\n";
      return false;
    }
    if (!files.emplace(name, arg.substr(eq + 1)).second) {
      llvm::errs() << command << ": input '" << name << "' given twice\n";
      return false;
    }
  }
  std::string error;
  for (const TensorSpec &spec : entry.inputs) {
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
    // A value beyond the narrower range is refused, not run as inf.
    if (tensor.dtype() == DType::F32 &&
        (spec.dtype == DType::F16 || spec.dtype == DType::BF16)) {
      Tensor narrowed = convertTensor(tensor, spec.dtype);
      Tensor back = convertTensor(narrowed, DType::F32);
      const float *given = tensor.data<float>(), *kept = back.data<float>();
      for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
        if (std::isfinite(given[i]) && !std::isfinite(kept[i])) {
          llvm::errs() << command << ": input '" << spec.name << "': element "
                       << i << " (" << given[i] << ") is beyond "
                       << dtypeName(spec.dtype) << "'s range\n";
          return false;
        }
      tensor = narrowed;
    }
    inputs.push_back(tensor);
  }
  return true;
}

Invocation::~Invocation() {
  if (!tempLibrary.empty()) {
    llvm::sys::fs::remove(tempLibrary);
    llvm::sys::DontRemoveFileOnSignal(tempLibrary);
  }
}

bool loadModel(const std::string &model, Device device, Invocation &inv,
               const char *command, const std::string &decodeStep) {
  std::string error;
  std::string library = model;
  bool onnx = isONNXModelFile(model);
  if (!decodeStep.empty() && onnx) {
    llvm::errs() << command
                 << ": an ONNX Seq2Seq is an encoder and a decoder: compile "
                    "them into one module first (convc compile encoder.onnx "
                    "--decoder decoder.onnx -o model.so) and give the .so\n";
    return false;
  }
  if (llvm::StringRef(model).ends_with(".mlir") || onnx) {
    // Said before compiling for a GPU this process cannot use (~20 s).
    if (device == Device::CUDA) {
      if (Status cuda = cudaStatus(); !cuda.ok()) {
        llvm::errs() << command << ": --device=cuda: " << cuda.message()
                     << "\n";
        return false;
      }
    }
    if (llvm::sys::fs::createTemporaryFile("convc-model", "so",
                                           inv.tempLibrary)) {
      llvm::errs() << command << ": cannot create a temporary file\n";
      return false;
    }
    library = std::string(inv.tempLibrary);
    llvm::sys::RemoveFileOnSignal(inv.tempLibrary); // a killed run, too
    if (!compileForDevice(model, library, device, decodeStep))
      return false;
  }
  inv.module = Module::load(library, error);
  if (!inv.module) {
    // The temporary library is ours: the message names the user's model.
    std::string temporary = "'" + library + "'";
    if (!inv.tempLibrary.empty())
      for (size_t at; (at = error.find(temporary)) != std::string::npos;)
        error.replace(at, temporary.size(), "'" + model + "'");
    llvm::errs() << command << ": " << error << "\n";
    return false;
  }
  return checkDevice(*inv.module, model, device, command);
}

bool setThreads(Module &module, int threads, const char *command) {
  if (threads < 0) {
    llvm::errs() << command << ": --threads takes a count of threads, or 0 "
                 << "for all cores; got " << threads << "\n";
    return false;
  }
  module.setNumThreads(threads);
  return true;
}

bool prepareInvocation(const std::string &model,
                       const std::vector<std::string> &inputArgs,
                       const std::string &entryName, Invocation &inv,
                       const char *command, const std::string &deviceArg) {
  Device device;
  if (!parseDevice(deviceArg, device, command) ||
      !loadModel(model, device, inv, command))
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
  return readInputs(inputArgs, *inv.entry, inv.inputs, command);
}

ModelOptions::ModelOptions(const char *name)
    : sub(name, ""), categoryName(std::string("convc ") + name + " options"),
      category(categoryName),
      model(llvm::cl::Positional,
            llvm::cl::desc("<model .so (or .mlir / .onnx)>"),
            llvm::cl::Required, llvm::cl::cat(category), llvm::cl::sub(sub)),
      inputs("input",
             llvm::cl::desc("An input: NAME=FILE.npy (repeat per input)"),
             llvm::cl::value_desc("NAME=FILE.npy"), llvm::cl::cat(category),
             llvm::cl::sub(sub)),
      entry("entry", llvm::cl::desc("Entry point (default: the first)"),
            llvm::cl::cat(category), llvm::cl::sub(sub)),
      threads("threads", llvm::cl::desc("Threads (default: all cores)"),
              llvm::cl::init(0), llvm::cl::cat(category), llvm::cl::sub(sub)),
      device("device",
             llvm::cl::desc("cpu or cuda: where the model runs (a .so "
                            "must have been compiled for it; a .mlir is "
                            "compiled for it)"),
             llvm::cl::init("cpu"), llvm::cl::cat(category),
             llvm::cl::sub(sub)) {}

} // namespace convc::tool
