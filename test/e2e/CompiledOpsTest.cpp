//===- CompiledOpsTest.cpp - compiled convc ops against the reference -----===//
//
// Each test writes a small MLIR model, compiles it once with the `convc`
// tool (dynamic batch and time), loads it with the runtime and runs it on
// several shapes, T = 1 and T < K among them, with channel counts that are
// not multiples of the vector width. Outputs must match the double-precision
// reference kernels to 1e-5 (relative to max(1, |reference|)).
//
//===----------------------------------------------------------------------===//

#include "CompiledOpsCommon.h"

using namespace convc::e2e;


TEST(CompiledOps, DepthwiseConv) {
  std::mt19937 rng(1);
  for (auto [C, K, P, r, bias] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, bool>{20, 5, 2, 1, true},
        {16, 3, 2, 3, false},
        {8, 4, 3, 1, false},
        {33, 9, 0, 2, true},
        // 8 + (K - 1) r = 88 rows per thread: the GPU kernel's shared tile
        // with one output per item.
        {12, 9, 4, 10, true},
        // A halo of (K - 1) r = 320 rows: too big for the GPU kernel's
        // shared tile, so its flat form runs.
        {8, 9, 4, 40, false}}) {
    std::string x = shapeText({-1, -1, C}), w = shapeText({C, K}),
                b = shapeText({C});
    std::ostringstream mlir;
    mlir << "func.func @main(%x: " << x << ", %w: " << w
         << (bias ? ", %b: " + b : "") << ") -> " << x << " {\n"
         << "  %y = convc.depthwise_conv %x, %w" << (bias ? ", %b" : "")
         << " {padding = " << P << " : i64, dilation = " << r << " : i64} : "
         << x << ", " << w << (bias ? ", " + b : "") << "\n"
         << "  return %y : " << x << "\n}\n";
    auto module = compile(mlir.str());
    ASSERT_TRUE(module);
    for (auto [B, T] : kShapes) {
      ref::Tensor xs = random({B, T, C}, rng), ws = random({C, K}, rng),
                  bs = random({C}, rng);
      std::vector<ref::Tensor> inputs = {xs, ws};
      if (bias)
        inputs.push_back(bs);
      expectClose(run(*module, inputs),
                  ref::depthwiseConv(xs, ws, P, r, bias ? &bs : nullptr),
                  kTolerance,
                  "depthwise C=" + std::to_string(C) + " T=" + std::to_string(T));
    }
  }
}

TEST(CompiledOps, LightweightConv) {
  std::mt19937 rng(2);
  for (auto [C, H, K, P, softmax, bias] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>{
            64, 4, 7, 3, true, false},
        {20, 4, 7, 6, true, true},
        {24, 8, 31, 15, true, false},
        {12, 3, 3, 0, false, false}}) {
    std::string x = shapeText({-1, -1, C}), w = shapeText({H, K}),
                b = shapeText({C});
    std::ostringstream mlir;
    mlir << "func.func @main(%x: " << x << ", %w: " << w
         << (bias ? ", %b: " + b : "") << ") -> " << x << " {\n"
         << "  %y = convc.lightweight_conv %x, %w" << (bias ? ", %b" : "")
         << " {heads = " << H << " : i64, padding = " << P
         << " : i64, weight_softmax = " << (softmax ? "true" : "false")
         << "} : " << x << ", " << w << (bias ? ", " + b : "") << "\n"
         << "  return %y : " << x << "\n}\n";
    auto module = compile(mlir.str());
    ASSERT_TRUE(module);
    for (auto [B, T] : kShapes) {
      ref::Tensor xs = random({B, T, C}, rng), ws = random({H, K}, rng, -3, 3),
                  bs = random({C}, rng);
      std::vector<ref::Tensor> inputs = {xs, ws};
      if (bias)
        inputs.push_back(bs);
      expectClose(run(*module, inputs),
                  ref::lightweightConv(xs, ws, P, softmax,
                                       bias ? &bs : nullptr),
                  kTolerance, "lightweight T=" + std::to_string(T));
    }
  }
}

// Constant weights: convc-fold-weight-softmax applies the softmax at compile
// time; the result must not change.
TEST(CompiledOps, LightweightConvWithFoldedSoftmax) {
  std::mt19937 rng(3);
  const int64_t C = 16, H = 2, K = 5, P = 4;
  ref::Tensor W = random({H, K}, rng, -3, 3);
  std::ostringstream weights;
  weights.precision(9);
  weights << "dense<[";
  for (int64_t h = 0; h < H; ++h) {
    weights << (h ? ", [" : "[");
    for (int64_t k = 0; k < K; ++k)
      weights << (k ? ", " : "") << W.at({h, k});
    weights << "]";
  }
  weights << "]>";
  std::string x = shapeText({-1, -1, C}), w = shapeText({H, K});
  std::string mlir = "func.func @main(%x: " + x + ") -> " + x + " {\n" +
                     "  %w = arith.constant " + weights.str() + " : " + w +
                     "\n  %y = convc.lightweight_conv %x, %w {heads = 2 : i64, "
                     "padding = 4 : i64} : " +
                     x + ", " + w + "\n  return %y : " + x + "\n}\n";
  auto module = compile(mlir);
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, C}, rng);
    expectClose(run(*module, {xs}), ref::lightweightConv(xs, W, P), kTolerance,
                "folded lightweight T=" + std::to_string(T));
  }
}

TEST(CompiledOps, DynamicConv) {
  std::mt19937 rng(4);
  for (auto [C, H, K, P, bias] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, bool>{64, 4, 5, 4, false},
        {20, 4, 7, 3, true},
        // The GPU kernel's channel tiles span one head (R = 64), or two
        // (R = 48); with 8 heads of 31 taps in one tile, its flat form runs.
        {128, 2, 7, 3, true},
        {96, 2, 5, 2, false},
        // R = 12: the tile at channel 32 starts 8 channels into a head and
        // reaches 4 heads.
        {96, 8, 5, 2, false},
        {32, 8, 31, 30, false}}) {
    std::string x = shapeText({-1, -1, C}), w = shapeText({H * K, C}),
                b = shapeText({H * K});
    std::ostringstream mlir;
    mlir << "func.func @main(%x: " << x << ", %w: " << w
         << (bias ? ", %b: " + b : "") << ") -> " << x << " {\n"
         << "  %y = convc.dynamic_conv %x, %w" << (bias ? ", %b" : "")
         << " {heads = " << H << " : i64, kernel_size = " << K
         << " : i64, padding = " << P << " : i64} : " << x << ", " << w
         << (bias ? ", " + b : "") << "\n"
         << "  return %y : " << x << "\n}\n";
    auto module = compile(mlir.str());
    ASSERT_TRUE(module);
    for (auto [B, T] : kShapes) {
      ref::Tensor xs = random({B, T, C}, rng), ws = random({H * K, C}, rng),
                  bs = random({H * K}, rng);
      std::vector<ref::Tensor> inputs = {xs, ws};
      if (bias)
        inputs.push_back(bs);
      expectClose(run(*module, inputs),
                  ref::dynamicConv(xs, ws, bias ? &bs : nullptr, H, K, P),
                  kTolerance, "dynamic C=" + std::to_string(C) +
                                  " T=" + std::to_string(T));
    }
  }
}

// kernel_softmax + dynamic_kernel_conv, fused by convc-fuse-kernel-softmax.
TEST(CompiledOps, DynamicKernelConvWithFusedSoftmax) {
  std::mt19937 rng(5);
  const int64_t C = 24, H = 3, K = 6, P = 5;
  std::string x = shapeText({-1, -1, C}), z = shapeText({-1, -1, H, K});
  std::string mlir =
      "func.func @main(%x: " + x + ", %z: " + z + ") -> " + x + " {\n" +
      "  %w = convc.kernel_softmax %z : " + z + "\n" +
      "  %y = convc.dynamic_kernel_conv %x, %w {padding = 5 : i64} : " + x +
      ", " + z + "\n  return %y : " + x + "\n}\n";
  auto module = compile(mlir);
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, C}, rng), zs = random({B, T, H, K}, rng, -3, 3);
    expectClose(run(*module, {xs, zs}),
                ref::dynamicKernelConv(xs, ref::kernelSoftmax(zs), P),
                kTolerance, "dynamic_kernel_conv T=" + std::to_string(T));
  }
}

TEST(CompiledOps, TaLKConv) {
  std::mt19937 rng(6);
  for (auto [C, H, L, Rm, causal] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t, bool>{64, 4, 5, 4, false},
        {20, 4, 6, 0, true},
        {32, 2, 31, 31, false},
        {12, 6, 3, 2, false},
        // Windows wider than the GPU kernel's shared tile: its per-thread
        // form runs.
        {16, 2, 200, 60, false}}) {
    int64_t width = causal ? H : 2 * H;
    std::string x = shapeText({-1, -1, C}), o = shapeText({-1, -1, width});
    std::ostringstream mlir;
    mlir << "func.func @main(%x: " << x << ", %o: " << o << ") -> " << x
         << " {\n  %y = convc.talk_conv %x, %o {" << (causal ? "causal, " : "")
         << "left_max = " << L << " : i64, right_max = " << Rm << " : i64} : "
         << x << ", " << o << "\n  return %y : " << x << "\n}\n";
    auto module = compile(mlir.str());
    ASSERT_TRUE(module);
    for (auto [B, T] : kShapes) {
      ref::Tensor xs = random({B, T, C}, rng),
                  os = random({B, T, width}, rng, 0, 1);
      if (T > 2) { // exact window edges too
        os(0, 1, 0) = 1.0;
        os(0, 2, 0) = 0.0;
      }
      expectClose(run(*module, {xs, os}), ref::talkConv(xs, os, L, Rm, causal),
                  kTolerance, "talk C=" + std::to_string(C) +
                                  " T=" + std::to_string(T));
    }
  }
}

// The decomposed form an importer produces: scale, prefix sum, window
// difference. convc-fuse-talk turns it into one talk_conv.
TEST(CompiledOps, DecomposedTaLKIsFused) {
  std::mt19937 rng(7);
  const int64_t B = 2, T = 50, C = 16, H = 2, L = 4, Rm = 3;
  std::string x = shapeText({B, T, C}), o = shapeText({B, T, 2 * H});
  std::string mlir =
      "func.func @main(%x: " + x + ", %o: " + o + ") -> " + x + " {\n" +
      "  %kn = arith.constant dense<8.0> : " + x + "\n" +
      "  %xs = arith.divf %x, %kn : " + x + "\n" +
      "  %s = convc.prefix_sum %xs : " + x + "\n" +
      "  %y = convc.window_diff %s, %o {left_max = 4 : i64, right_max = 3 : "
      "i64} : " + x + ", " + o + "\n  return %y : " + x + "\n}\n";
  auto module = compile(mlir);
  ASSERT_TRUE(module);
  ref::Tensor xs = random({B, T, C}, rng), os = random({B, T, 2 * H}, rng, 0, 1);
  expectClose(run(*module, {xs, os}), ref::talkConv(xs, os, L, Rm, false),
              kTolerance, "fused talk");
}

// Unfused primitives: prefix_sum (scale 0.5 is not 1/Kn) and window_diff.
TEST(CompiledOps, PrefixSumAndWindowDiff) {
  std::mt19937 rng(8);
  const int64_t C = 20, H = 4;
  std::string x = shapeText({-1, -1, C}), o = shapeText({-1, -1, H});
  std::string mlir =
      "func.func @main(%x: " + x + ", %o: " + o + ") -> " + x + " {\n" +
      "  %s = convc.prefix_sum %x {scale = 0.5 : f64} : " + x + "\n" +
      "  %y = convc.window_diff %s, %o {causal, left_max = 3 : i64, "
      "right_max = 0 : i64} : " + x + ", " + o + "\n  return %y : " + x +
      "\n}\n";
  auto module = compile(mlir);
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, C}, rng), os = random({B, T, H}, rng, 0, 1);
    expectClose(run(*module, {xs, os}),
                ref::windowDiff(ref::prefixSum(xs, 0.5), os, 3, 0, true),
                kTolerance, "window_diff T=" + std::to_string(T));
  }
}

TEST(CompiledOps, GLU) {
  std::mt19937 rng(9);
  std::string x = shapeText({-1, -1, 42}), y = shapeText({-1, -1, 21});
  auto module = compile("func.func @main(%x: " + x + ") -> " + y +
                        " {\n  %y = convc.glu %x : " + x +
                        "\n  return %y : " + y + "\n}\n");
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, 42}, rng, -6, 6);
    expectClose(run(*module, {xs}), ref::glu(xs), kTolerance,
                "glu T=" + std::to_string(T));
  }
}

TEST(CompiledOps, KernelSoftmax) {
  std::mt19937 rng(10);
  std::string z = shapeText({-1, -1, 3, 19});
  auto module = compile("func.func @main(%z: " + z + ") -> " + z +
                        " {\n  %w = convc.kernel_softmax %z : " + z +
                        "\n  return %w : " + z + "\n}\n");
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor zs = random({B, T, 3, 19}, rng, -20, 20);
    expectClose(run(*module, {zs}), ref::kernelSoftmax(zs), kTolerance,
                "kernel_softmax T=" + std::to_string(T));
  }
}

// TaLK over a long sequence: the tile-local prefix sums keep f32 within
// 1e-5 of the double reference where a global f32 prefix sum would not.
TEST(CompiledOps, TaLKLongSequenceStaysAccurate) {
  std::mt19937 rng(11);
  const int64_t B = 1, T = 10000, C = 16, H = 2, L = 31, Rm = 31;
  std::string x = shapeText({-1, -1, C}), o = shapeText({-1, -1, 2 * H});
  auto module = compile("func.func @main(%x: " + x + ", %o: " + o + ") -> " +
                        x + " {\n  %y = convc.talk_conv %x, %o {left_max = 31 "
                        ": i64, right_max = 31 : i64} : " +
                        x + ", " + o + "\n  return %y : " + x + "\n}\n");
  ASSERT_TRUE(module);
  // A positive mean makes the global prefix sum grow to ~T/2: the case where
  // subtracting two large f32 sums loses digits.
  ref::Tensor xs = random({B, T, C}, rng, 0.0, 1.0);
  ref::Tensor os = random({B, T, 2 * H}, rng, 0, 1);
  ref::Tensor want = ref::talkConv(xs, os, L, Rm, false);
  ref::Tensor got = run(*module, {xs, os});
  double worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, std::abs(got.data[i] - want.data[i]) /
                                std::abs(want.data[i]));
  EXPECT_LE(worst, 1e-5) << "max relative error at T = 10000";
}

// Both vector widths (AVX2's 8 lanes, AVX-512's 16) give the same answers.
TEST(CompiledOps, VectorWidthsAgree) {
  SKIP_UNLESS_CPU_TARGET("GPU kernels are scalar per thread");
  std::mt19937 rng(12);
  const int64_t C = 40, H = 4, K = 5;
  std::string x = shapeText({-1, -1, C}), w = shapeText({H * K, C});
  std::string mlir = "func.func @main(%x: " + x + ", %w: " + w + ") -> " + x +
                     " {\n  %y = convc.dynamic_conv %x, %w {heads = 4 : i64, "
                     "kernel_size = 5 : i64, padding = 2 : i64} : " +
                     x + ", " + w + "\n  return %y : " + x + "\n}\n";
  ref::Tensor xs = random({2, 19, C}, rng), ws = random({H * K, C}, rng);
  ref::Tensor want = ref::dynamicConv(xs, ws, nullptr, H, K, 2);
  for (const char *flags : {"--vector-width=4", "--vector-width=8",
                            "--vector-width=16 --time-tile=5"}) {
    auto module = compile(mlir, flags);
    ASSERT_TRUE(module);
    expectClose(run(*module, {xs, ws}), want, kTolerance, flags);
  }
}

// The runtime checks every call against the signature.
// The runtime's thread pool: modules run from several host threads at once,
// each with its own thread count (1 = inline), give the reference's result.
TEST(CompiledOps, ConcurrentCallersShareThePool) {
  const char *mlir = R"(
func.func @main(%x: tensor<?x?x48xf32>, %w: tensor<4x7xf32>) -> tensor<?x?x48xf32> {
  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 3 : i64, weight_softmax = true} : tensor<?x?x48xf32>, tensor<4x7xf32>
  return %y : tensor<?x?x48xf32>
})";
  std::string stem = ::testing::TempDir() + "/convc_e2e_pool_" +
                     std::to_string(::getpid());
  std::ofstream(stem + ".mlir") << mlir;
  ASSERT_EQ(std::system((std::string(CONVC_TOOL) + " compile --quiet " +
                         stem + ".mlir -o " + stem + ".so")
                            .c_str()),
            0);
  std::mt19937 rng(11);
  ref::Tensor xs = random({3, 700, 48}, rng), ws = random({4, 7}, rng, -3, 3);
  ref::Tensor want = ref::lightweightConv(xs, ws, 3, true, nullptr);
  std::vector<std::thread> callers;
  std::vector<double> worst(4, 0.0);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      std::string error;
      auto module = Module::load(stem + ".so", error);
      if (!module)
        return void(worst[c] = 1e9);
      module->setNumThreads(c + 1);
      for (int repeat = 0; repeat < 20; ++repeat) {
        std::vector<Tensor> out;
        if (!module->run("main", {toRuntime(xs), toRuntime(ws)}, out, error))
          return void(worst[c] = 1e9);
        ref::Tensor got = fromRuntime(out[0]);
        for (int64_t i = 0; i < want.numel(); ++i)
          worst[c] = std::max(worst[c], std::abs(got.data[i] - want.data[i]));
      }
    });
  for (std::thread &t : callers)
    t.join();
  for (int c = 0; c < 4; ++c)
    EXPECT_LE(worst[c], kTolerance) << "caller with " << c + 1 << " threads";
}

TEST(CompiledOps, RuntimeRejectsBadInputs) {
  std::string x = shapeText({-1, -1, 16}), o = shapeText({-1, -1, 4});
  auto module = compile(
      "func.func @main(%x: " + x + " {convc.name = \"x\"}, %o: " + o +
      " {convc.name = \"offsets\"}) -> (" + x + " {convc.name = \"y\"}) {\n" +
      "  %y = convc.talk_conv %x, %o {left_max = 2 : i64, right_max = 2 : "
      "i64} : " + x + ", " + o + "\n  return %y : " + x + "\n}\n");
  ASSERT_TRUE(module);
  const convc::EntryPoint &entry = module->entryPoints()[0];
  EXPECT_EQ(entry.inputs[0].describe(), "x: f32[s0, s1, 16]");
  EXPECT_EQ(entry.inputs[1].describe(), "offsets: f32[s0, s1, 4]");
  EXPECT_EQ(entry.outputs[0].describe(), "y: f32[s0, s1, 16]");

  std::vector<Tensor> out;
  std::string error;
  auto f32 = [](std::vector<int64_t> s) { return Tensor::zeros(DType::F32, s); };
  EXPECT_FALSE(module->run("main", {f32({2, 5, 16})}, out, error));
  EXPECT_NE(error.find("takes 2 inputs, given 1"), std::string::npos) << error;
  EXPECT_FALSE(module->run("main", {f32({2, 5, 8}), f32({2, 5, 4})}, out, error));
  EXPECT_NE(error.find("input 'x': expected shape x: f32[s0, s1, 16], given [2, 5, 8]"),
            std::string::npos)
      << error;
  EXPECT_FALSE(module->run("main", {f32({2, 5, 16}), f32({2, 6, 4})}, out, error));
  EXPECT_NE(error.find("input 'offsets': dimension 1 (s1) is 6 but input 'x' set s1 = 5"),
            std::string::npos)
      << error;
  EXPECT_FALSE(module->run("main",
                           {Tensor::zeros(DType::I32, {2, 5, 16}), f32({2, 5, 4})},
                           out, error));
  EXPECT_NE(error.find("expected dtype f32, given i32"), std::string::npos) << error;
  EXPECT_FALSE(module->run("main", {f32({2, 0, 16}), f32({2, 0, 4})}, out, error));
  EXPECT_NE(error.find("sizes must be at least 1"), std::string::npos) << error;
  EXPECT_FALSE(module->run("decode", {}, out, error));
  EXPECT_NE(error.find("unknown entry point 'decode'"), std::string::npos) << error;
  EXPECT_TRUE(module->run("main", {f32({2, 5, 16}), f32({2, 5, 4})}, out, error))
      << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 5, 16}));
}

// Elementwise ops (linalg loops: the GPU target gives each work item 4
// consecutive elements as vectors where the buffers are aligned and rows
// hold whole vectors, lane by lane for a last partial vector, and keeps the
// scalar loop otherwise) at every length mod 4, with x starting 0 to 3
// floats past an aligned address: rows with a broadcast column vector, and
// a flat sequence (the only place a partial vector occurs).
TEST(CompiledOps, ElementwiseAtEveryLengthAndAlignment) {
  // y = (x + b) * x, b broadcast along rows.
  const char *rowsModel = R"(
#x = affine_map<(i, j) -> (i, j)>
#b = affine_map<(i, j) -> (j)>
func.func @main(%x: tensor<?x?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n0 = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n1 = tensor.dim %x, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%n0, %n1) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#x, #b, #x],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<?x?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %p = arith.mulf %s, %a : f32
    linalg.yield %p : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
)";
  const char *flatModel = R"(
func.func @main(%x: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %s = arith.addf %x, %b : tensor<?xf32>
  %p = arith.mulf %s, %x : tensor<?xf32>
  return %p : tensor<?xf32>
}
)";
  std::mt19937 rng(31);
  for (bool flat : {false, true}) {
    auto module = compile(flat ? flatModel : rowsModel);
    ASSERT_TRUE(module);
    for (int64_t rows : flat ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 3})
      for (int64_t cols : {1, 3, 4, 5, 8, 13, 18})
        for (int64_t shift : {0, 1, 2, 3}) {
          std::vector<int64_t> shape = flat ? std::vector<int64_t>{cols}
                                            : std::vector<int64_t>{rows, cols};
          ref::Tensor xs = random(shape, rng), bs = random({cols}, rng);
          // x borrowed from `shift` floats into a 64-byte-aligned buffer.
          std::vector<float> storage(rows * cols + 32);
          float *base = reinterpret_cast<float *>(
              (reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63));
          for (int64_t i = 0; i < rows * cols; ++i)
            base[shift + i] = static_cast<float>(xs.data[i]);
          std::vector<Tensor> in = {
              Tensor::borrow(DType::F32, shape, base + shift), toRuntime(bs)};
          std::vector<Tensor> out;
          std::string error;
          ASSERT_TRUE(module->run("main", in, out, error)) << error;
          ref::Tensor want(shape);
          for (int64_t i = 0; i < rows * cols; ++i) {
            float a = xs.data[i], c = bs.data[i % cols];
            want.data[i] = (a + c) * a;
          }
          expectClose(fromRuntime(out.at(0)), want, 1e-6,
                      std::string(flat ? "flat" : "rows") + " rows=" +
                          std::to_string(rows) + " cols=" + std::to_string(cols) +
                          " shift=" + std::to_string(shift));
        }
  }
}
