//===- Bench.cpp - `convc bench` -------------------------------------------===//
//
// Times a compiled model's entry point in-process: median, p90 and min of
// the timed runs, and how they were measured. For a CUDA module also the
// wall time with device tensors in and out (no host copies) and the kernel
// time.
//
//===----------------------------------------------------------------------===//

#include "Subcommands.h"

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
  if (!parseSubcommandLine(argc, argv, "convc bench: time a compiled model\n"))
    return 1;
  if (runs < 1 || warmup < 0) {
    llvm::errs() << "convc bench: --runs must be >= 1 and --warmup >= 0\n";
    return 1;
  }
  Invocation inv;
  if (!prepareInvocation(model, inputs, entry, inv, "convc bench",
                         device))
    return 1;
  if (!setThreads(*inv.module, threads, "convc bench"))
    return 1;
  // Median wall time of the timed runs, and on the GPU the median kernel
  // time (CONVC_CUDA_PROFILE=1); empty after an error.
  std::vector<double> kernelMs;
  int64_t timedLaunches = 0; // counted only when the driver profiles
  bool gpu = inv.module->device() == Device::CUDA; // the CPU path never
                                                   // touches the driver
  auto timeRuns = [&](std::vector<double> &ms,
                      const std::vector<Tensor> &inputs,
                      const RunOptions &options) {
    std::vector<Tensor> outputs;
    for (int64_t i = 0; i < int64_t(warmup) + int64_t(runs); ++i) {
      double kernel = 0;
      int64_t launches = 0;
      if (gpu)
        cudaKernelTime(kernel, launches); // reset
      auto t0 = std::chrono::steady_clock::now();
      if (Status s = inv.module->run(inv.entry->name, inputs, outputs, options);
          !s.ok()) {
        llvm::errs() << "convc bench: " << s.message() << "\n";
        return false;
      }
      auto t1 = std::chrono::steady_clock::now();
      if (gpu)
        cudaKernelTime(kernel, launches);
      timedLaunches += launches;
      outputs.clear();
      if (i >= warmup) {
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        kernelMs.push_back(kernel);
      }
    }
    std::sort(ms.begin(), ms.end());
    return true;
  };
  std::vector<double> ms;
  if (!timeRuns(ms, inv.inputs, RunOptions()))
    return 1;
  auto percentile = [&](double p) {
    size_t i = std::min(ms.size() - 1, size_t(p * (ms.size() - 1) + 0.5));
    return ms[i];
  };
  llvm::outs() << llvm::formatv("median_ms={0:f4}\np90_ms={1:f4}\nmin_ms={2:f4}\n",
                                percentile(0.5), percentile(0.9), ms.front());
  if (gpu) {
    // The same with device tensors in and out (what a caller whose data is
    // already on the GPU and stays there pays): no host copies.
    std::sort(kernelMs.begin(), kernelMs.end());
    double kernelMedian = kernelMs[kernelMs.size() / 2];
    bool profiled = timedLaunches > 0;
    std::vector<Tensor> onDevice(inv.inputs.size());
    for (size_t i = 0; i < inv.inputs.size(); ++i)
      if (Status s = cudaToDevice(inv.inputs[i], onDevice[i]); !s.ok()) {
        llvm::errs() << "convc bench: " << s.message() << "\n";
        return 1;
      }
    RunOptions keep;
    keep.outputs = Device::CUDA;
    std::vector<double> device;
    if (!timeRuns(device, onDevice, keep))
      return 1;
    llvm::outs() << llvm::formatv("device_tensors_median_ms={0:f4}\n",
                                  device[device.size() / 2]);
    if (profiled)
      llvm::outs() << llvm::formatv("kernel_median_ms={0:f4}\n", kernelMedian);
    else
      llvm::outs() << "kernel_median_ms=n/a (set CONVC_CUDA_PROFILE=1; "
                      "event timing then adds to the wall times)\n";
  }
  llvm::outs() << "method: entry " << inv.entry->name << ", " << warmup
               << " warm-up + " << runs << " timed in-process runs, threads="
               << convc::detail::threadsUsed(threads)
               << ", wall clock per call incl. output allocation"
               << (inv.module->device() == Device::CUDA
                       ? " and host<->device copies through pinned memory "
                         "(device_tensors_: inputs and outputs on the GPU), "
                         "GPU: " +
                             cudaDeviceDescription() + ", CPU: "
                       : std::string(", CPU: "))
               << cpuModelName() << "\n";
  return 0;
}

} // namespace convc::tool
