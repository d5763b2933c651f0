//===- JitTest.cpp - compiling from host code, with the disk cache --------===//

#include "convc/Compiler.h"
#include "convc/Generate.h"
#include "convc/reference/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
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

// A Seq2Seq packaged from encoder.onnx + decoder.onnx from host code (a TaLK
// model, test/lit/tools/Inputs): the module gets the incremental decoder,
// and greedy generation through it gives the tokens of a greedy loop over
// the same module's full `decode` on the whole prefix.
TEST(Jit, CompilesONNXSeq2SeqPackagesWithAnIncrementalDecoder) {
  convc::CompilerOptions options;
  options.cacheDir = freshCacheDir();
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  std::string inputs =
      std::string(CONVC_SOURCE_DIR) + "/test/lit/tools/Inputs/";
  convc::Status status = compiler.compileSeq2SeqFiles(
      inputs + "export_talk_seq2seq_encoder.onnx",
      inputs + "export_talk_seq2seq_decoder.onnx", module);
  ASSERT_TRUE(status.ok()) << status.message();
  for (const char *entry : {"encode", "decode", "decode_init", "decode_step"})
    EXPECT_NE(module->find(entry), nullptr) << entry;

  const std::vector<int64_t> source = {5, 9, 3, 7, 12, 2};
  convc::GenerationOptions greedy;
  greedy.maxLength = 10;
  std::vector<convc::Hypothesis> results;
  status = convc::generate(*module, {source}, greedy, results);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(results.size(), 1u);

  // The full decoder, step by step.
  convc::Tensor src = convc::Tensor::zeros(
      convc::DType::I64, {1, int64_t(source.size())});
  std::copy(source.begin(), source.end(), src.data<int64_t>());
  std::vector<convc::Tensor> encoded;
  ASSERT_TRUE(module->run("encode", {src}, encoded).ok());
  std::vector<int64_t> prefix = {greedy.eos}, want;
  for (int64_t t = 0; t <= greedy.maxLength; ++t) {
    convc::Tensor prev =
        convc::Tensor::zeros(convc::DType::I64, {1, int64_t(prefix.size())});
    std::copy(prefix.begin(), prefix.end(), prev.data<int64_t>());
    std::vector<convc::Tensor> in = {prev}, out;
    in.insert(in.end(), encoded.begin(), encoded.end());
    status = module->run("decode", in, out);
    ASSERT_TRUE(status.ok()) << status.message();
    int64_t V = out[0].shape()[2];
    std::vector<float> last(out[0].data<float>() + t * V,
                            out[0].data<float>() + (t + 1) * V);
    last[greedy.pad] = -INFINITY; // padding is never generated
    int64_t best = std::max_element(last.begin(), last.end()) - last.begin();
    if (best == greedy.eos || t == greedy.maxLength)
      break;
    want.push_back(best);
    prefix.push_back(best);
  }
  EXPECT_EQ(results[0].tokens, want);
  EXPECT_FALSE(want.empty());
}

// Device selection from the host API: CompilerOptions::device = CUDA
// compiles for the GPU. Where CUDA modules cannot run, the answer is an
// Unavailable status that says why (no toolkit to compile with, or no
// driver to load with), never a crash; with a GPU, a CUDA module runs.
TEST(Jit, CompilesForTheGPUWhenAsked) {
  convc::CompilerOptions options;
  options.cacheDir = freshCacheDir();
  options.device = convc::Device::CUDA;
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  convc::Status status = compiler.compile(kModel, module);
  bool toolkit = std::ifstream(options.cudaPath +
                               "/nvvm/libdevice/libdevice.10.bc")
                     .good();
  if (!toolkit) {
    EXPECT_EQ(status.code(), convc::StatusCode::Unavailable);
    EXPECT_NE(status.message().find("no libdevice"), std::string::npos)
        << status.message();
    GTEST_SKIP() << "no CUDA toolkit at " << options.cudaPath
                 << ": checked the Unavailable status only";
  }
  if (!convc::cudaStatus().ok()) {
    // Compiled (a library is in the cache), then not loadable here.
    EXPECT_EQ(status.code(), convc::StatusCode::Unavailable);
    EXPECT_NE(status.message().find("CUDA unavailable"), std::string::npos)
        << status.message();
    EXPECT_TRUE(std::ifstream(compiler.lastLibraryPath()).good())
        << compiler.lastLibraryPath();
  } else {
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(module->device(), convc::Device::CUDA);
    std::mt19937 rng(2);
    ref::Tensor x = random({2, 9, 16}, rng), w = random({4, 5}, rng);
    std::vector<convc::Tensor> outputs;
    status = module->run("main", {toRuntime(x), toRuntime(w)}, outputs);
    ASSERT_TRUE(status.ok()) << status.message();
    ref::Tensor want = ref::lightweightConv(x, w, 2);
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_NEAR(outputs[0].data<float>()[i], want.data[i], 1e-5);
  }
  // The same model for the CPU is another library.
  convc::CompilerOptions cpu = options;
  cpu.device = convc::Device::CPU;
  convc::Compiler cpuCompiler(cpu);
  ASSERT_TRUE(cpuCompiler.compile(kModel, module).ok());
  EXPECT_EQ(module->device(), convc::Device::CPU);
  EXPECT_NE(cpuCompiler.lastLibraryPath(), compiler.lastLibraryPath());

  // A bad architecture is the caller's error, named.
  convc::CompilerOptions bad = options;
  bad.gpuArch = "volta";
  convc::Compiler badCompiler(bad);
  status = badCompiler.compile(kModel, module);
  EXPECT_EQ(status.code(), convc::StatusCode::InvalidArgument);
  EXPECT_NE(status.message().find("'volta'"), std::string::npos)
      << status.message();
}

// An entry point never writes its caller's buffers: bufferization could
// compute `exp(x + x)` in place in x (function arguments are writable to
// it by default), and a second call with the same inputs then read the
// first call's result (exp(2 exp(2 x))).
TEST(Jit, EntryPointsLeaveTheirInputsAsGiven) {
  convc::CompilerOptions options;
  options.cacheDir = freshCacheDir();
  convc::Compiler compiler(options);
  std::unique_ptr<convc::Module> module;
  convc::Status status = compiler.compile(R"(
func.func @main(%x: tensor<?x4xf32> {convc.name = "x"}) -> tensor<?x4xf32> {
  %y = arith.addf %x, %x : tensor<?x4xf32>
  %z = math.exp %y : tensor<?x4xf32>
  return %z : tensor<?x4xf32>
}
)",
                                          module);
  ASSERT_TRUE(status.ok()) << status.message();
  convc::Tensor x = convc::Tensor::zeros(convc::DType::F32, {2, 4});
  for (int i = 0; i < 8; ++i)
    x.data<float>()[i] = 0.25f * float(i) - 1.0f;
  for (int call = 0; call < 2; ++call) {
    std::vector<convc::Tensor> outputs;
    status = module->run("main", {x}, outputs);
    ASSERT_TRUE(status.ok()) << status.message();
    for (int i = 0; i < 8; ++i) {
      float given = 0.25f * float(i) - 1.0f;
      EXPECT_EQ(x.data<float>()[i], given) << "call " << call << ", x[" << i << "]";
      EXPECT_NEAR(outputs[0].data<float>()[i], std::exp(2.0f * given), 1e-5)
          << "call " << call << ", output[" << i << "]";
    }
  }
}
