//===- JitTest.cpp - compiling from host code, with the disk cache --------===//

#include "convc/Compiler.h"
#include "convc/reference/Reference.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

namespace ref = convc::ref;

namespace {
const char *kModel = R"(
func.func @main(%x: tensor<?x?x16xf32> {convc.name = "x"}, %w: tensor<4x5xf32> {convc.name = "w"}) -> tensor<?x?x16xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 2 : i64} : tensor<?x?x16xf32>, tensor<4x5xf32>
  return %y : tensor<?x?x16xf32>
}
)";

convc::Tensor toRuntime(const ref::Tensor &t) {
  convc::Tensor out = convc::Tensor::zeros(convc::DType::F32, t.shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    out.data<float>()[i] = float(t.data[i]);
  return out;
}

/// Uniform values in [-1, 1), f32-representable.
ref::Tensor random(std::vector<int64_t> shape, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1, 1);
  ref::Tensor t(std::move(shape));
  for (double &v : t.data)
    v = dist(rng);
  return t;
}

std::string freshCacheDir() {
  static int n = 0;
  return ::testing::TempDir() + "/convc_jit_cache_" + std::to_string(::getpid()) +
         "_" + std::to_string(n++);
}
} // namespace

TEST(Jit, CompilesRunsAndCaches) {
  convc::CompilerOptions options;
  options.cacheDir = freshCacheDir();
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  convc::Status status = compiler.compile(kModel, module);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_FALSE(compiler.lastWasCached());

  std::mt19937 rng(1);
  ref::Tensor x = random({2, 9, 16}, rng), w = random({4, 5}, rng);
  std::vector<convc::Tensor> outputs;
  status = module->run("main", {toRuntime(x), toRuntime(w)}, outputs);
  ASSERT_TRUE(status.ok()) << status.message();
  ref::Tensor want = ref::lightweightConv(x, w, 2);
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(outputs[0].data<float>()[i], want.data[i], 1e-5);

  // A second compiler with the same cache finds the library.
  convc::Compiler again(options);
  std::unique_ptr<convc::Module> cached;
  status = again.compile(kModel, cached);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(again.lastWasCached());
  EXPECT_EQ(again.lastLibraryPath(), compiler.lastLibraryPath());
  EXPECT_LT(again.lastSeconds(), compiler.lastSeconds());

  // Other options, other key.
  convc::CompilerOptions narrow = options;
  narrow.vectorWidth = 4;
  convc::Compiler third(narrow);
  status = third.compile(kModel, cached);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_FALSE(third.lastWasCached());
  EXPECT_NE(third.lastLibraryPath(), compiler.lastLibraryPath());
}

TEST(Jit, ReportsModelErrorsWithLocations) {
  convc::CompilerOptions options;
  options.cacheDir = "off";
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  convc::Status status = compiler.compile(
      "func.func @main(%x: tensor<?x?x10xf32>, %w: tensor<4x3xf32>) -> "
      "tensor<?x?x10xf32> {\n  %y = convc.lightweight_conv %x, %w {heads = 4 "
      ": i64, padding = 1 : i64} : tensor<?x?x10xf32>, tensor<4x3xf32>\n  "
      "return %y : tensor<?x?x10xf32>\n}\n",
      module, "bad.mlir");
  EXPECT_EQ(status.code(), convc::StatusCode::InvalidArgument);
  EXPECT_NE(status.message().find("bad.mlir:2:8"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("C % H != 0"), std::string::npos)
      << status.message();
  EXPECT_FALSE(module);

  status = compiler.compileFile("/nonexistent/model.mlir", module);
  EXPECT_EQ(status.code(), convc::StatusCode::NotFound);
}

// ONNX from host code: a .onnx file compiles through the same API (here a
// convc-domain LightweightConv node, H = 2, K = 3, padding 1, weights as an
// input), and an ONNX model is its own cache key.
TEST(Jit, CompilesONNXFiles) {
  convc::CompilerOptions options;
  options.cacheDir = freshCacheDir();
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  convc::Status status = compiler.compileFile(
      std::string(CONVC_SOURCE_DIR) + "/test/lit/tools/Inputs/convc_light.onnx",
      module);
  ASSERT_TRUE(status.ok()) << status.message();
  std::mt19937 rng(3);
  ref::Tensor x = random({1, 8, 8}, rng), w = random({2, 3}, rng);
  std::vector<convc::Tensor> outputs;
  status = module->run("main", {toRuntime(x), toRuntime(w)}, outputs);
  ASSERT_TRUE(status.ok()) << status.message();
  ref::Tensor want = ref::lightweightConv(x, w, 1);
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(outputs[0].data<float>()[i], want.data[i], 1e-5);

  // Garbage is an error naming the file, not a crash.
  status = compiler.compileONNX("not a protobuf", module, "garbage.onnx");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("garbage.onnx"), std::string::npos)
      << status.message();
}
