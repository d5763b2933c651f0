//===- gpu_runner.cpp - GPU checks and timings with only the runtime -----===//
//
// Part of scripts/gpu-check: runs on a GPU machine that has the NVIDIA
// driver but no LLVM, with libconvc_runtime.so beside it.
//
//   convc-gpu-runner info
//   convc-gpu-runner check MODEL.so CASE_DIR TOLERANCE
//   convc-gpu-runner bench MODEL.so CASE_DIR WARMUP RUNS
//   convc-gpu-runner generate MODEL.so PARAMS_DIR CASE_DIR RUNS
//
// CASE_DIR holds `entry` (the entry point's name), inputs/<input>.npy and,
// for `check`, expected/<output>.npy (from the CPU target, which the test
// suite checks against the reference) or `expect_error` (text the call's
// error must contain). A benchmark's input may instead be
// inputs/<input>.random, "LO HI D0 D1 ...": f32 uniform in [LO, HI) of that
// shape, made here, so that the artifacts stay small enough to carry to the
// GPU machine (the largest benchmark inputs are 256 MiB each). `check` prints the worst relative
// error per output (|got - want| / max(1, |want|)) and exits non-zero above
// TOLERANCE. `bench` prints the median wall time of a call with host tensors
// (the copies included), with device tensors in and out, and, with
// CONVC_CUDA_PROFILE=1, the median kernel time.
// `generate` translates CASE_DIR/batch ("B S BEAM MAX_LEN VOCAB": B random
// sources of S tokens, min length = max length so every run decodes every
// step) with the weights PARAMS_DIR/<name>.random or .npy, after one
// warm-up translation, and prints the median time, the time per step and
// tokens per second.
//
//===----------------------------------------------------------------------===//

#include "convc/Generate.h"
#include "convc/Npy.h"
#include "convc/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace convc;

namespace {

struct Case {
  std::unique_ptr<Module> module;
  const EntryPoint *entry = nullptr;
  std::vector<Tensor> inputs;
};

/// Reads a `.random` input spec into a fresh tensor; false if it is absent.
bool randomInput(const std::string &path, Tensor &tensor, std::string &error) {
  std::ifstream in(path);
  if (!in)
    return false;
  double lo = 0, hi = 0;
  std::vector<int64_t> shape;
  if (!(in >> lo >> hi)) {
    error = "expected 'LO HI D0 D1 ...'";
    return true;
  }
  for (int64_t d; in >> d;) {
    if (d < 0) {
      error = "negative dimension " + std::to_string(d);
      return true;
    }
    shape.push_back(d);
  }
  if (!in.eof()) {
    error = "expected 'LO HI D0 D1 ...' (integer dims)";
    return true;
  }
  tensor = Tensor::zeros(DType::F32, shape);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(lo, hi);
  float *data = tensor.data<float>();
  for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
    data[i] = dist(rng);
  return true;
}

bool loadCase(const std::string &model, const std::string &dir, Case &c) {
  std::string error;
  c.module = Module::load(model, error);
  if (!c.module) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return false;
  }
  std::string entryName;
  std::ifstream(dir + "/entry") >> entryName;
  c.entry = c.module->find(entryName);
  if (!c.entry) {
    std::fprintf(stderr, "%s: no entry '%s'\n", model.c_str(),
                 entryName.c_str());
    return false;
  }
  for (const TensorSpec &spec : c.entry->inputs) {
    NpyArray array;
    Tensor tensor;
    std::string path = dir + "/inputs/" + spec.name + ".npy";
    if (randomInput(dir + "/inputs/" + spec.name + ".random", tensor, error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "%s.random: %s\n", spec.name.c_str(),
                     error.c_str());
        return false;
      }
    } else if (!readNpy(path, array, error) ||
               !tensorFromNpy(array, tensor, error)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
      return false;
    }
    // f16/bf16 models: their inputs are stored as f32 (already rounded).
    if (tensor.dtype() == DType::F32 &&
        (spec.dtype == DType::F16 || spec.dtype == DType::BF16))
      tensor = convertTensor(tensor, spec.dtype);
    c.inputs.push_back(tensor);
  }
  return true;
}

double toDouble(const Tensor &t, int64_t i) {
  return t.dtype() == DType::I64 ? double(t.data<int64_t>()[i])
                                 : double(t.data<float>()[i]);
}

int check(const std::string &model, const std::string &dir, double tolerance) {
  Case c;
  if (!loadCase(model, dir, c))
    return 2;
  std::vector<Tensor> outputs;
  Status status = c.module->run(c.entry->name, c.inputs, outputs);
  // A case with `expect_error` must fail with a message containing it (an
  // out-of-range index, say), as the CPU target does.
  std::string expected;
  if (std::FILE *f = std::fopen((dir + "/expect_error").c_str(), "r")) {
    char line[512] = {0};
    if (std::fgets(line, sizeof line, f))
      expected = line;
    std::fclose(f);
    while (!expected.empty() && expected.back() == '\n')
      expected.pop_back();
    bool ok = !status.ok() &&
              status.message().find(expected) != std::string::npos;
    std::printf("%s refused: %s\n", ok ? "PASS" : "FAIL",
                status.ok() ? "(the call succeeded)" : status.message().c_str());
    return ok ? 0 : 1;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.message().c_str());
    return 2;
  }
  double worst = 0;
  for (Tensor &t : outputs)
    if (t.dtype() == DType::F16 || t.dtype() == DType::BF16)
      t = convertTensor(t, DType::F32);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const TensorSpec &spec = c.entry->outputs[o];
    NpyArray array;
    std::string error;
    std::string path = dir + "/expected/" + spec.name + ".npy";
    if (!readNpy(path, array, error)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
      return 2;
    }
    std::vector<double> want = array.toDoubles();
    if (array.shape != outputs[o].shape()) {
      std::fprintf(stderr, "%s: shape differs from the expected output\n",
                   spec.name.c_str());
      return 1;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      double err = std::abs(toDouble(outputs[o], i) - want[i]) /
                   std::max(1.0, std::abs(want[i]));
      if (!(err <= worst))
        worst = err; // NaN counts as worst
    }
  }
  bool ok = worst <= tolerance;
  std::printf("%s max_rel_err=%.3g tolerance=%.3g\n", ok ? "PASS" : "FAIL",
              worst, tolerance);
  return ok ? 0 : 1;
}

int bench(const std::string &model, const std::string &dir, int warmup,
          int runs) {
  Case c;
  if (!loadCase(model, dir, c))
    return 2;
  std::vector<Tensor> outputs;
  std::vector<double> wall, kernel;
  for (int i = 0; i < warmup + runs; ++i) {
    double ms;
    int64_t launches;
    cudaKernelTime(ms, launches); // reset
    auto t0 = std::chrono::steady_clock::now();
    Status status = c.module->run(c.entry->name, c.inputs, outputs);
    auto t1 = std::chrono::steady_clock::now();
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.message().c_str());
      return 2;
    }
    cudaKernelTime(ms, launches);
    if (i >= warmup) {
      wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      kernel.push_back(ms);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  size_t bytes = 0;
  for (const Tensor &t : c.inputs)
    bytes += t.numBytes();
  for (const Tensor &t : outputs)
    bytes += t.numBytes();
  // The same calls with device tensors in and out: no host copies (a dry
  // run's CPU-compiled kernels have no device).
  if (c.module->device() != Device::CUDA) {
    std::printf("wall_ms=%.4f device_wall_ms=n/a kernel_ms=%.4f io_bytes=%zu "
                "runs=%d warmup=%d\n",
                median(wall), median(kernel), bytes, runs, warmup);
    return 0;
  }
  std::vector<Tensor> onDevice(c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (Status s = cudaToDevice(c.inputs[i], onDevice[i]); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 2;
    }
  RunOptions keep;
  keep.outputs = Device::CUDA;
  std::vector<double> deviceWall;
  for (int i = 0; i < warmup + runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Status status = c.module->run(c.entry->name, onDevice, outputs, keep);
    auto t1 = std::chrono::steady_clock::now();
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.message().c_str());
      return 2;
    }
    if (i >= warmup)
      deviceWall.push_back(
          std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("wall_ms=%.4f device_wall_ms=%.4f kernel_ms=%.4f io_bytes=%zu "
              "runs=%d warmup=%d\n",
              median(wall), median(deviceWall), median(kernel), bytes, runs,
              warmup);
  return 0;
}

int generateBench(const std::string &model, const std::string &paramsDir,
                  const std::string &dir, int runs) {
  std::string error;
  auto module = Module::load(model, error);
  if (!module) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  int64_t B = 0, S = 0, beam = 0, maxLength = 0, vocab = 0;
  std::ifstream(dir + "/batch") >> B >> S >> beam >> maxLength >> vocab;
  if (B < 1 || S < 1 || beam < 1 || maxLength < 1 || vocab < 5) {
    std::fprintf(stderr, "%s/batch: expected 'B S BEAM MAX_LEN VOCAB'\n",
                 dir.c_str());
    return 2;
  }
  GenerationOptions options;
  options.beam = beam;
  options.maxLength = options.minLength = maxLength;
  // Every entry point's weight inputs, from PARAMS_DIR.
  for (const EntryPoint &e : module->entryPoints())
    for (const TensorSpec &spec : e.inputs) {
      if (options.parameters.count(spec.name))
        continue;
      Tensor t;
      std::string base = paramsDir + "/" + spec.name;
      NpyArray array;
      error.clear();
      if (randomInput(base + ".random", t, error)) {
        if (!error.empty()) {
          std::fprintf(stderr, "%s.random: %s\n", base.c_str(), error.c_str());
          return 2;
        }
      } else if (!readNpy(base + ".npy", array, error) ||
                 !tensorFromNpy(array, t, error)) {
        continue; // not a weight (tokens, states, ...)
      }
      options.parameters[spec.name] = t;
    }
  // The weights live on the GPU, as a server keeps them: not uploaded per
  // translation.
  if (module->device() == Device::CUDA)
    for (auto &[name, t] : options.parameters)
      if (Status s = cudaToDevice(t, t); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 2;
      }
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> token(4, vocab - 1);
  std::vector<std::vector<int64_t>> sources(B);
  for (auto &src : sources) {
    for (int64_t i = 0; i < S; ++i)
      src.push_back(token(rng));
    src.push_back(options.eos);
  }
  std::vector<Hypothesis> results;
  std::vector<double> wall;
  int64_t captured = 0, replays = 0;
  cudaGraphCounts(captured, replays); // reset
  for (int i = 0; i < 1 + runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Status status = generate(*module, sources, options, results);
    auto t1 = std::chrono::steady_clock::now();
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.message().c_str());
      return 2;
    }
    if (i > 0)
      wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(wall.begin(), wall.end());
  double ms = wall[wall.size() / 2];
  int64_t steps = maxLength + 1, tokens = B * steps;
  // Whether the steps ran as CUDA graphs (greedy search on the GPU).
  cudaGraphCounts(captured, replays);
  std::printf("B=%lld beam=%lld steps=%lld ms=%.2f ms_per_step=%.3f "
              "tokens_per_s=%.0f runs=%d graphs_captured=%lld "
              "graph_replays=%lld\n",
              (long long)B, (long long)beam, (long long)steps, ms, ms / steps,
              tokens / (ms / 1000.0), runs, (long long)captured,
              (long long)replays);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "info") {
    Status s = cudaStatus();
    if (!s.ok()) {
      std::printf("%s\n", s.message().c_str());
      return 3;
    }
    std::printf("CUDA device: %s\n", cudaDeviceDescription().c_str());
    return 0;
  }
  if (cmd == "check" && argc == 5)
    return check(argv[2], argv[3], std::atof(argv[4]));
  if (cmd == "bench" && argc == 6)
    return bench(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
  if (cmd == "generate" && argc == 6)
    return generateBench(argv[2], argv[3], argv[4], std::atoi(argv[5]));
  std::fprintf(stderr,
               "usage: convc-gpu-runner info\n"
               "       convc-gpu-runner check MODEL.so CASE_DIR TOLERANCE\n"
               "       convc-gpu-runner bench MODEL.so CASE_DIR WARMUP RUNS\n"
               "       convc-gpu-runner generate MODEL.so PARAMS_DIR CASE_DIR "
               "RUNS\n");
  return 2;
}
