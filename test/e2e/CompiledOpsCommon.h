//===- CompiledOpsCommon.h - what the compiled-op tests share -*- C++ -*-===//
//
// Compiling a model with the convc tool for the target under test, running
// it on reference tensors, and the shapes and tolerance every test uses
// (CompiledOpsTest.cpp: the ops; CompiledLayersTest.cpp: projections,
// layers, embeddings, attention, decoding steps, half-precision storage).
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_TEST_E2E_COMPILEDOPSCOMMON_H
#define CONVC_TEST_E2E_COMPILEDOPSCOMMON_H

#include "convc/Runtime.h"
#include "convc/reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace convc::e2e {

namespace ref = convc::ref;
using convc::DType;
using convc::Module;
using convc::Tensor;


inline int compileCounter = 0; // shared by the test files: unique paths

/// CONVC_E2E_TARGET (set by ctest for the gpu_kernels_on_cpu.* copies of
/// these tests): the compile target, e.g. gpu-kernels-on-cpu.
inline std::string targetUnderTest() {
  const char *target = std::getenv("CONVC_E2E_TARGET");
  return target ? target : "cpu";
}

/// For tests of what only the CPU lowering does.
#define SKIP_UNLESS_CPU_TARGET(why)                                             \
  if (targetUnderTest() != "cpu")                                              \
  GTEST_SKIP() << "target " << targetUnderTest() << ": " << why

/// Compiles `mlir` with the convc tool; extra flags e.g. "--vector-width=8".
inline std::unique_ptr<Module> compile(const std::string &mlir,
                                const std::string &flags = "") {
  std::string dir = ::testing::TempDir();
  std::string stem = dir + "/convc_e2e_" + std::to_string(::getpid()) + "_" +
                     std::to_string(compileCounter++);
  std::ofstream(stem + ".mlir") << mlir;
  // CONVC_E2E_FLAGS (the bounds_checked.* copies): flags for every compile.
  const char *always = std::getenv("CONVC_E2E_FLAGS");
  std::string command = std::string(CONVC_TOOL) + " compile --quiet " + stem +
                        ".mlir -o " + stem + ".so --target=" +
                        targetUnderTest() + " " + flags + " " +
                        (always ? always : "");
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "compilation failed: " << command << "\n" << mlir;
    return nullptr;
  }
  std::string error;
  auto module = Module::load(stem + ".so", error);
  EXPECT_TRUE(module) << error;
  return module;
}

inline ref::Tensor random(std::vector<int64_t> shape, std::mt19937 &rng,
                   double lo = -1.0, double hi = 1.0) {
  ref::Tensor t(std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  for (double &v : t.data)
    v = dist(rng); // representable in f32
  return t;
}

inline Tensor toRuntime(const ref::Tensor &t) {
  Tensor out = Tensor::zeros(DType::F32, t.shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    out.data<float>()[i] = static_cast<float>(t.data[i]);
  return out;
}

inline ref::Tensor fromRuntime(const Tensor &t) {
  ref::Tensor out(t.shape());
  for (int64_t i = 0; i < out.numel(); ++i)
    out.data[i] = t.data<float>()[i];
  return out;
}

/// Runs the module's first entry point and returns its first output.
inline ref::Tensor run(const Module &module, const std::vector<ref::Tensor> &inputs) {
  std::vector<Tensor> in, out;
  for (const ref::Tensor &t : inputs)
    in.push_back(toRuntime(t));
  std::string error;
  if (!module.run(module.entryPoints()[0].name, in, out, error)) {
    ADD_FAILURE() << error;
    return ref::Tensor();
  }
  return fromRuntime(out.at(0));
}

inline void expectClose(const ref::Tensor &got, const ref::Tensor &want,
                 double tolerance, const std::string &what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  double worst = 0.0;
  int64_t at = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double err = std::abs(got.data[i] - want.data[i]) /
                 std::max(1.0, std::abs(want.data[i]));
    if (!(err <= worst)) // NaN counts as worst
      worst = err, at = i;
  }
  EXPECT_LE(worst, tolerance)
      << what << ": element " << at << " got " << got.data[at] << " want "
      << want.data[at];
}

inline std::string shapeText(std::vector<int64_t> shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return text + "f32>";
}

/// (B, T) pairs every test runs: T = 1, T < K, several tiles.
inline const std::vector<std::pair<int64_t, int64_t>> kShapes = {
    {1, 1}, {2, 3}, {3, 37}, {1, 300}};

inline constexpr double kTolerance = 1e-5;


} // namespace convc::e2e

#endif // CONVC_TEST_E2E_COMPILEDOPSCOMMON_H
