//===- Bench.cpp - `convc bench` -------------------------------------------===//
//
// Times a compiled model's entry point in-process: median, p90 and min of
// the timed runs, and how they were measured.
//
//===----------------------------------------------------------------------===//

#include "Subcommands.h"

#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <fstream>

namespace convc::tool {

static std::string cpuModelName() {
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

} // namespace convc::tool
