//===- CompiledLayersTest.cpp - compiled layers against the reference -----===//
//
// As CompiledOpsTest.cpp, for what is built of several ops: projections
// with fused epilogues, LayerNorm, whole fairseq layers, embeddings,
// attention, the derived decode step against the full decoder, and f16 /
// bf16 storage.
//
//===----------------------------------------------------------------------===//

#include "CompiledOpsCommon.h"

using namespace convc::e2e;

namespace {
std::string linearMlir(int64_t D, int64_t N, const std::string &act, bool bias,
                       bool residual, bool layerNorm) {
  int64_t W = act == "glu" ? N / 2 : N;
  std::string x = shapeText({-1, -1, D}), w = shapeText({N, D}),
              b = shapeText({N}), y = shapeText({-1, -1, W}),
              g = shapeText({W});
  std::string args = "%x: " + x + ", %w: " + w;
  std::string operands = "%x, %w", types = x + ", " + w;
  if (bias)
    args += ", %b: " + b, operands += " bias %b", types += ", " + b;
  if (residual)
    args += ", %r: " + y, operands += " residual %r", types += ", " + y;
  if (layerNorm)
    args += ", %g: " + g + ", %be: " + g, operands += " layer_norm %g, %be",
        types += ", " + g + ", " + g;
  return "func.func @main(" + args + ") -> " + y + " {\n  %y = convc.linear " +
         operands + " {activation = #convc<activation " + act + ">} : " +
         types + " -> " + y + "\n  return %y : " + y + "\n}\n";
}

ref::Tensor activate(const ref::Tensor &z, const std::string &act) {
  if (act == "relu")
    return ref::relu(z);
  if (act == "swish")
    return ref::swish(z);
  if (act == "glu")
    return ref::glu(z);
  ref::Tensor y = z;
  if (act == "sigmoid")
    for (double &v : y.data)
      v = ref::sigmoid(v);
  return y;
}
} // namespace

// Projections with each epilogue: activation, residual, LayerNorm.
TEST(CompiledOps, LinearEpilogues) {
  std::mt19937 rng(13);
  for (auto [D, N, act, bias, residual, ln] :
       {std::tuple<int64_t, int64_t, std::string, bool, bool, bool>{
            64, 128, "glu", true, false, false},
        {48, 40, "none", true, true, true},
        {64, 200, "relu", true, false, false},
        {32, 24, "swish", false, false, false},
        {20, 36, "sigmoid", true, true, false},
        {64, 64, "none", false, false, true}}) {
    auto module = compile(linearMlir(D, N, act, bias, residual, ln));
    ASSERT_TRUE(module);
    int64_t W = act == "glu" ? N / 2 : N;
    // Few rows split the columns across cores; 1200 rows tile the rows.
    for (auto [B, T] :
         {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {3, 200}, {2, 600}}) {
      ref::Tensor xs = random({B, T, D}, rng), ws = random({N, D}, rng, -0.3, 0.3),
                  bs = random({N}, rng), rs = random({B, T, W}, rng),
                  gs = random({W}, rng, 0.5, 1.5), bes = random({W}, rng);
      std::vector<ref::Tensor> inputs = {xs, ws};
      if (bias)
        inputs.push_back(bs);
      if (residual)
        inputs.push_back(rs);
      if (ln)
        inputs.push_back(gs), inputs.push_back(bes);
      ref::Tensor want = activate(ref::linear(xs, ws, bias ? &bs : nullptr), act);
      if (residual)
        want = ref::add(want, rs);
      if (ln)
        want = ref::layerNorm(want, gs, bes, 1e-5);
      expectClose(run(*module, inputs), want, kTolerance,
                  "linear " + act + " T=" + std::to_string(T));
    }
  }
}

// The GPU GEMM splits D among blocks when the output has fewer 64 x 64
// tiles than the GPU wants blocks (264), and a second kernel sums the
// splits: one row (decoding) and 100 rows split 4 slabs of D = 100 (the
// last one partial); 1088 rows x 1024 columns (272 tiles), and GLU's 600
// rows x 32 column tiles, do not split.
TEST(CompiledOps, LinearSplitsDepthOnlyForFewTiles) {
  std::mt19937 rng(16);
  for (auto [N, act] : {std::pair<int64_t, std::string>{1024, "relu"},
                        {2048, "glu"}}) {
    int64_t D = 100, W = act == "glu" ? N / 2 : N;
    auto module = compile(linearMlir(D, N, act, true, true, false));
    ASSERT_TRUE(module);
    for (int64_t M : {int64_t(1), int64_t(100), act == "glu" ? int64_t(600)
                                                              : int64_t(1088)}) {
      ref::Tensor xs = random({1, M, D}, rng),
                  ws = random({N, D}, rng, -0.3, 0.3), bs = random({N}, rng),
                  rs = random({1, M, W}, rng);
      ref::Tensor want =
          ref::add(activate(ref::linear(xs, ws, &bs), act), rs);
      expectClose(run(*module, {xs, ws, bs, rs}), want, kTolerance,
                  "linear " + act + " M=" + std::to_string(M));
    }
  }
}

// Static shapes: a projection within one GEMM tile whose D spans several
// slabs (the GPU kernels' one-tile grid is inlined, its slab loop stays),
// and one of several tiles with D not a multiple of the slab.
TEST(CompiledOps, LinearStaticShapes) {
  std::mt19937 rng(15);
  for (auto [B, T, D, N] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{
                                2, 3, 48, 40},
                            {3, 50, 70, 130}}) {
    std::string x = shapeText({B, T, D}), w = shapeText({N, D}),
                b = shapeText({N}), y = shapeText({B, T, N});
    auto module = compile("func.func @main(%x: " + x + ", %w: " + w +
                          ", %b: " + b + ") -> " + y +
                          " {\n  %y = convc.linear %x, %w bias %b {activation "
                          "= #convc<activation relu>} : " +
                          x + ", " + w + ", " + b + " -> " + y +
                          "\n  return %y : " + y + "\n}\n");
    ASSERT_TRUE(module);
    ref::Tensor xs = random({B, T, D}, rng), ws = random({N, D}, rng, -0.3, 0.3),
                bs = random({N}, rng);
    expectClose(run(*module, {xs, ws, bs}), ref::relu(ref::linear(xs, ws, &bs)),
                kTolerance, "static linear D=" + std::to_string(D));
  }
}

TEST(CompiledOps, LayerNormWithResidual) {
  std::mt19937 rng(14);
  std::string x = shapeText({-1, -1, 40}), g = shapeText({40});
  auto module = compile("func.func @main(%x: " + x + ", %g: " + g + ", %b: " +
                        g + ", %r: " + x + ") -> " + x +
                        " {\n  %y = convc.layer_norm %x, %g, %b residual %r "
                        "{eps = 1.0e-06 : f64} : " +
                        x + ", " + g + ", " + g + ", " + x + "\n  return %y : " +
                        x + "\n}\n");
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, 40}, rng, -3, 3), gs = random({40}, rng),
                bs = random({40}, rng), rs = random({B, T, 40}, rng);
    expectClose(run(*module, {xs, gs, bs, rs}),
                ref::layerNorm(ref::add(xs, rs), gs, bs, 1e-6), kTolerance,
                "layer_norm T=" + std::to_string(T));
  }
}

namespace {
/// A fairseq conv layer as an importer writes it (separate GLU, residual adds
/// and LayerNorms), for convc-fuse-epilogues to fuse.
std::string encoderLayerMlir(ref::ConvKind kind, int64_t C, int64_t H,
                             int64_t K, int64_t P, int64_t F, int64_t L,
                             int64_t Rm) {
  auto t = [](std::vector<int64_t> s) { return shapeText(s); };
  std::string x = t({-1, -1, C}), x2 = t({-1, -1, 2 * C}), xf = t({-1, -1, F});
  std::string vC = t({C});
  std::ostringstream m;
  m << "func.func @main(%x: " << x << ", %w1: " << t({2 * C, C}) << ", %b1: "
    << t({2 * C}) << ", %cw: ";
  if (kind == ref::ConvKind::Lightweight)
    m << t({H, K});
  else if (kind == ref::ConvKind::Dynamic)
    m << t({H * K, C});
  else
    m << t({2 * H, C}) << ", %cb: " << t({2 * H});
  m << ", %w2: " << t({C, C}) << ", %b2: " << vC << ", %g1: " << vC
    << ", %be1: " << vC << ", %wf1: " << t({F, C}) << ", %bf1: " << t({F})
    << ", %wf2: " << t({C, F}) << ", %bf2: " << vC << ", %g2: " << vC
    << ", %be2: " << vC << ") -> " << x << " {\n";
  m << "  %p = convc.linear %x, %w1 bias %b1 : " << x << ", " << t({2 * C, C})
    << ", " << t({2 * C}) << " -> " << x2 << "\n";
  m << "  %u = convc.glu %p : " << x2 << "\n";
  if (kind == ref::ConvKind::Lightweight)
    m << "  %c = convc.lightweight_conv %u, %cw {heads = " << H
      << " : i64, padding = " << P << " : i64} : " << x << ", " << t({H, K})
      << "\n";
  else if (kind == ref::ConvKind::Dynamic)
    m << "  %c = convc.dynamic_conv %u, %cw {heads = " << H
      << " : i64, kernel_size = " << K << " : i64, padding = " << P
      << " : i64} : " << x << ", " << t({H * K, C}) << "\n";
  else
    m << "  %o = convc.linear %u, %cw bias %cb {activation = #convc<activation "
         "sigmoid>} : "
      << x << ", " << t({2 * H, C}) << ", " << t({2 * H}) << " -> "
      << t({-1, -1, 2 * H}) << "\n"
      << "  %c = convc.talk_conv %u, %o {left_max = " << L
      << " : i64, right_max = " << Rm << " : i64} : " << x << ", "
      << t({-1, -1, 2 * H}) << "\n";
  std::string act = kind == ref::ConvKind::TaLK ? "swish" : "relu";
  m << "  %v = convc.linear %c, %w2 bias %b2 : " << x << ", " << t({C, C})
    << ", " << vC << " -> " << x << "\n"
    << "  %s1 = arith.addf %x, %v : " << x << "\n"
    << "  %h = convc.layer_norm %s1, %g1, %be1 : " << x << ", " << vC << ", "
    << vC << "\n"
    << "  %f = convc.linear %h, %wf1 bias %bf1 {activation = "
       "#convc<activation "
    << act << ">} : " << x << ", " << t({F, C}) << ", " << t({F}) << " -> "
    << xf << "\n"
    << "  %o2 = convc.linear %f, %wf2 bias %bf2 : " << xf << ", " << t({C, F})
    << ", " << vC << " -> " << x << "\n"
    << "  %s2 = arith.addf %h, %o2 : " << x << "\n"
    << "  %y = convc.layer_norm %s2, %g2, %be2 : " << x << ", " << vC << ", "
    << vC << "\n  return %y : " << x << "\n}\n";
  return m.str();
}
} // namespace

// Whole fairseq layers (fused by convc-fuse-epilogues) against the reference
// layer, for each conv kind.
TEST(CompiledOps, FairseqEncoderLayers) {
  std::mt19937 rng(15);
  const int64_t C = 32, H = 4, F = 64;
  for (ref::ConvKind kind : {ref::ConvKind::Lightweight, ref::ConvKind::Dynamic,
                             ref::ConvKind::TaLK}) {
    ref::ConvLayerWeights w;
    w.kind = kind;
    w.heads = H;
    w.kernelSize = 5;
    w.padding = kind == ref::ConvKind::Dynamic ? 4 : 2;
    w.leftMax = 3;
    w.rightMax = 2;
    auto module = compile(encoderLayerMlir(kind, C, H, w.kernelSize, w.padding,
                                           F, w.leftMax, w.rightMax));
    ASSERT_TRUE(module);
    w.inW = random({2 * C, C}, rng, -0.4, 0.4), w.inB = random({2 * C}, rng);
    if (kind == ref::ConvKind::Lightweight)
      w.convW = random({H, w.kernelSize}, rng, -2, 2);
    else if (kind == ref::ConvKind::Dynamic)
      w.convW = random({H * w.kernelSize, C}, rng);
    else
      w.talkWo = random({2 * H, C}, rng), w.talkBo = random({2 * H}, rng);
    w.outW = random({C, C}, rng, -0.4, 0.4), w.outB = random({C}, rng);
    w.ln1Gamma = random({C}, rng, 0.5, 1.5), w.ln1Beta = random({C}, rng);
    w.fc1W = random({F, C}, rng, -0.4, 0.4), w.fc1B = random({F}, rng);
    w.fc2W = random({C, F}, rng, -0.3, 0.3), w.fc2B = random({C}, rng);
    w.ln2Gamma = random({C}, rng, 0.5, 1.5), w.ln2Beta = random({C}, rng);
    for (auto [B, T] :
         {std::pair<int64_t, int64_t>{1, 1}, {2, 7}, {2, 300}, {3, 400}}) {
      ref::Tensor xs = random({B, T, C}, rng);
      std::vector<ref::Tensor> inputs = {xs, w.inW, w.inB};
      if (kind == ref::ConvKind::TaLK)
        inputs.push_back(w.talkWo), inputs.push_back(w.talkBo);
      else
        inputs.push_back(w.convW);
      for (const ref::Tensor *t :
           {&w.outW, &w.outB, &w.ln1Gamma, &w.ln1Beta, &w.fc1W, &w.fc1B,
            &w.fc2W, &w.fc2B, &w.ln2Gamma, &w.ln2Beta})
        inputs.push_back(*t);
      expectClose(run(*module, inputs), ref::convLayer(xs, w), 1e-4,
                  "layer kind " + std::to_string(int(kind)) +
                      " T=" + std::to_string(T));
    }
  }
}

// Offsets outside [0, 1] (not sigmoid outputs) and NaN are clamped to [0, 1]
// (NaN to 0): windows never leave the sequence.
TEST(CompiledOps, TaLKClampsOffsets) {
  std::mt19937 rng(16);
  const int64_t C = 16, H = 2, L = 4, Rm = 3;
  std::string x = shapeText({-1, -1, C}), o = shapeText({-1, -1, 2 * H});
  auto module = compile("func.func @main(%x: " + x + ", %o: " + o + ") -> " +
                        x + " {\n  %y = convc.talk_conv %x, %o {left_max = 4 : "
                        "i64, right_max = 3 : i64} : " +
                        x + ", " + o + "\n  return %y : " + x + "\n}\n");
  ASSERT_TRUE(module);
  for (auto [B, T] : kShapes) {
    ref::Tensor xs = random({B, T, C}, rng), os = random({B, T, 2 * H}, rng, -3, 4);
    if (T > 3)
      os(0, 2, 1) = std::nan("");
    ref::Tensor clamped = os;
    for (double &v : clamped.data)
      v = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0);
    // The reference clamps too: raw and clamped offsets give the same result.
    ref::Tensor expected = ref::talkConv(xs, clamped, L, Rm, false);
    expectClose(ref::talkConv(xs, os, L, Rm, false), expected, 0.0,
                "reference clamps T=" + std::to_string(T));
    expectClose(run(*module, {xs, os}), expected, kTolerance,
                "clamped talk T=" + std::to_string(T));
  }
}

namespace {
Tensor int64Tensor(const std::vector<std::vector<int64_t>> &rows) {
  Tensor t = Tensor::zeros(DType::I64, {int64_t(rows.size()),
                                         int64_t(rows[0].size())});
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j)
      t.data<int64_t>()[i * rows[0].size() + j] = rows[i][j];
  return t;
}
} // namespace

// fairseq embeddings: sqrt(d) E[token] + sinusoidal positions counted over
// non-pad tokens; pad and out-of-range ids give zero rows; `start` shifts
// the positions for step-by-step decoding.
TEST(CompiledOps, Embedding) {
  std::mt19937 rng(17);
  const int64_t V = 11, d = 20, pad = 1;
  std::string table = shapeText({V, d}), y = shapeText({-1, -1, d});
  auto module = compile(
      "func.func @main(%t: tensor<?x?xi64>, %e: " + table +
      ", %s: tensor<?xi64>) -> " + y +
      " {\n  %y = convc.embedding %t, %e start %s {padding_idx = 1 : i64, "
      "scale = 4.47213595499958 : f64, sinusoidal} : tensor<?x?xi64>, " +
      table + ", tensor<?xi64> -> " + y + "\n  return %y : " + y + "\n}\n");
  ASSERT_TRUE(module);
  ref::Tensor E = random({V, d}, rng);
  std::vector<std::vector<int64_t>> tokens = {{1, 1, 5, 7, 3, 12}, {4, 9, 2, 6, 8, -3}};
  std::vector<int64_t> start = {0, 3};
  Tensor startT = Tensor::zeros(DType::I64, {2});
  startT.data<int64_t>()[0] = start[0];
  startT.data<int64_t>()[1] = start[1];
  std::vector<Tensor> out;
  std::string error;
  ASSERT_TRUE(module->run("main", {int64Tensor(tokens), toRuntime(E), startT},
                          out, error))
      << error;
  ref::Tensor got = fromRuntime(out[0]);
  ref::Tensor pe = ref::sinusoidalPositions(20, d);
  ref::Tensor want({2, 6, d});
  for (int64_t b = 0; b < 2; ++b) {
    int64_t count = start[b];
    for (int64_t t = 0; t < 6; ++t) {
      int64_t tok = tokens[b][t];
      if (tok == pad || tok < 0 || tok >= V)
        continue;
      ++count;
      for (int64_t i = 0; i < d; ++i)
        want(b, t, i) = std::sqrt(double(d)) * E.at({tok, i}) +
                        pe.at({pad + count, i});
    }
  }
  expectClose(got, want, kTolerance, "embedding");
  // Without start, positions begin at padding_idx + 1, as the reference.
  ref::Tensor plain = ref::embedTokens({{1, 1, 5, 7}, {4, 9, 2, 6}}, E, pad);
  Tensor zeros = Tensor::zeros(DType::I64, {2});
  ASSERT_TRUE(module->run("main",
                          {int64Tensor({{1, 1, 5, 7}, {4, 9, 2, 6}}),
                           toRuntime(E), zeros},
                          out, error))
      << error;
  expectClose(fromRuntime(out[0]), plain, kTolerance, "embedding from 0");
}

// Attention of projected q, k, v against the reference (identity projection
// weights), with padded keys masked.
TEST(CompiledOps, Attention) {
  std::mt19937 rng(18);
  const int64_t C = 32, H = 4;
  std::string q = shapeText({-1, -1, C}), m = shapeText({-1, -1});
  auto module = compile(
      "func.func @main(%q: " + q + ", %kv: " + q + ", %m: " + m + ") -> " +
      q + " {\n  %y = convc.attention %q, %kv, %kv key_padding %m {heads = 4 "
      ": i64} : " + q + ", " + q + ", " + q + ", " + m +
      "\n  return %y : " + q + "\n}\n");
  ASSERT_TRUE(module);
  ref::AttentionWeights w;
  ref::Tensor eye({C, C});
  for (int64_t i = 0; i < C; ++i)
    eye.at({i, i}) = 1.0;
  w.Wq = w.Wk = w.Wv = w.Wo = eye;
  w.bq = w.bk = w.bv = w.bo = ref::Tensor({C});
  // Tk > 256 spans several key blocks of the CPU kernel; with Tk = 600
  // the first row's first block is all padding.
  for (auto [B, Tq, Tk] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                           {2, 3, 7}, {2, 40, 33}, {2, 1, 513}, {1, 2, 600}}) {
    ref::Tensor qs = random({B, Tq, C}, rng, -2, 2), kv = random({B, Tk, C}, rng, -2, 2);
    ref::Tensor mask({B, Tk});
    std::vector<std::vector<bool>> padding(B, std::vector<bool>(Tk));
    for (int64_t s = Tk - Tk / 3; s < Tk; ++s)
      mask.at({B - 1, s}) = 1.0, padding[B - 1][s] = true;
    if (Tk > 512)
      for (int64_t s = 0; s < Tk / 2; ++s)
        mask.at({0, s}) = 1.0, padding[0][s] = true;
    expectClose(run(*module, {qs, kv, mask}),
                ref::multiheadAttention(qs, kv, w, H, &padding), kTolerance,
                "attention Tq=" + std::to_string(Tq));
  }
}

namespace {
/// Runs `entry` with inputs looked up by name.
std::map<std::string, Tensor> runNamed(const Module &module,
                                       const std::string &entry,
                                       const std::map<std::string, Tensor> &in) {
  const convc::EntryPoint *e = module.find(entry);
  std::map<std::string, Tensor> result;
  if (!e) {
    ADD_FAILURE() << "no entry " << entry;
    return result;
  }
  std::vector<Tensor> inputs, outputs;
  for (const convc::TensorSpec &spec : e->inputs) {
    auto it = in.find(spec.name);
    if (it == in.end()) {
      ADD_FAILURE() << entry << ": no value for input " << spec.name;
      return result;
    }
    inputs.push_back(it->second);
  }
  std::string error;
  if (!module.run(entry, inputs, outputs, error)) {
    ADD_FAILURE() << entry << ": " << error;
    return result;
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    result[e->outputs[i].name] = outputs[i];
  return result;
}

/// A one-layer decoder (embedding, GLU projection, causal conv, residual +
/// LayerNorm, encoder-decoder attention, tied output projection).
std::string decoderMlir(const std::string &conv) {
  return R"(
func.func @decode(%tokens: tensor<?x?xi64> {convc.name = "tokens"},
                  %enc: tensor<?x?x16xf32> {convc.name = "enc"},
                  %enc_pad: tensor<?x?xf32> {convc.name = "enc_pad"},
                  %emb: tensor<13x16xf32> {convc.name = "emb"},
                  %w1: tensor<32x16xf32> {convc.name = "w1"},
                  %cw: tensor<12x16xf32> {convc.name = "cw"},
                  %w2: tensor<16x16xf32> {convc.name = "w2"},
                  %g: tensor<16xf32> {convc.name = "g"}, %be: tensor<16xf32> {convc.name = "be"},
                  %wq: tensor<16x16xf32> {convc.name = "wq"}, %wk: tensor<16x16xf32> {convc.name = "wk"},
                  %wv: tensor<16x16xf32> {convc.name = "wv"}, %wo: tensor<16x16xf32> {convc.name = "wo"})
    -> (tensor<?x?x13xf32> {convc.name = "logits"}) {
  %x = convc.embedding %tokens, %emb {padding_idx = 1 : i64, scale = 4.0 : f64, sinusoidal} : tensor<?x?xi64>, tensor<13x16xf32> -> tensor<?x?x16xf32>
  %u = convc.linear %x, %w1 {activation = #convc<activation glu>} : tensor<?x?x16xf32>, tensor<32x16xf32> -> tensor<?x?x16xf32>
)" + conv + R"(
  %h = convc.linear %c, %w2 residual %x layer_norm %g, %be : tensor<?x?x16xf32>, tensor<16x16xf32>, tensor<?x?x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<?x?x16xf32>
  %q = convc.linear %h, %wq : tensor<?x?x16xf32>, tensor<16x16xf32> -> tensor<?x?x16xf32>
  %k = convc.linear %enc, %wk : tensor<?x?x16xf32>, tensor<16x16xf32> -> tensor<?x?x16xf32>
  %v = convc.linear %enc, %wv : tensor<?x?x16xf32>, tensor<16x16xf32> -> tensor<?x?x16xf32>
  %a = convc.attention %q, %k, %v key_padding %enc_pad {heads = 4 : i64} : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?xf32>
  %o = convc.linear %a, %wo residual %h layer_norm %g, %be : tensor<?x?x16xf32>, tensor<16x16xf32>, tensor<?x?x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<?x?x16xf32>
  %logits = convc.linear %o, %emb : tensor<?x?x16xf32>, tensor<13x16xf32> -> tensor<?x?x13xf32>
  return %logits : tensor<?x?x13xf32>
}
)";
}
} // namespace

// The derived step function, fed token by token with its states, returns the
// full decoder's logits at every position, the first K - 1 included.
TEST(CompiledOps, DecodeStepEqualsFullDecoder) {
  const std::vector<std::pair<std::string, std::string>> convs = {
      {"lightweight",
       "  %cw0 = tensor.extract_slice %cw[0, 0] [4, 5] [1, 1] : "
       "tensor<12x16xf32> to tensor<4x5xf32>\n"
       "  %c = convc.lightweight_conv %u, %cw0 {heads = 4 : i64, padding = 4 : "
       "i64} : tensor<?x?x16xf32>, tensor<4x5xf32>"},
      {"dynamic",
       "  %c = convc.dynamic_conv %u, %cw {heads = 4 : i64, kernel_size = 3 : "
       "i64, padding = 2 : i64} : tensor<?x?x16xf32>, tensor<12x16xf32>"},
      {"talk",
       "  %wo4 = tensor.extract_slice %cw[0, 0] [4, 16] [1, 1] : "
       "tensor<12x16xf32> to tensor<4x16xf32>\n"
       "  %off = convc.linear %u, %wo4 {activation = #convc<activation "
       "sigmoid>} : tensor<?x?x16xf32>, tensor<4x16xf32> -> "
       "tensor<?x?x4xf32>\n"
       "  %c = convc.talk_conv %u, %off {causal, left_max = 3 : i64, "
       "right_max = 0 : i64} : tensor<?x?x16xf32>, tensor<?x?x4xf32>"}};
  for (const auto &[kind, conv] : convs) {
    SCOPED_TRACE(kind);
    std::mt19937 rng(19);
    std::string mlir = decoderMlir(conv);
    auto module = compile(mlir, "--decode-step=decode");
    ASSERT_TRUE(module);
    ASSERT_TRUE(module->find("decode_init") && module->find("decode_step"));
    const int64_t B = 2, T = 9, S = 5;
    std::map<std::string, Tensor> in;
    auto put = [&](const std::string &name, std::vector<int64_t> shape,
                   double lo, double hi) {
      in[name] = toRuntime(random(shape, rng, lo, hi));
    };
    put("enc", {B, S, 16}, -1, 1);
    put("emb", {13, 16}, -1, 1);
    put("w1", {32, 16}, -0.5, 0.5);
    put("cw", {12, 16}, -1, 1);
    put("w2", {16, 16}, -0.5, 0.5);
    put("g", {16}, 0.5, 1.5);
    put("be", {16}, -0.5, 0.5);
    for (const char *w : {"wq", "wk", "wv", "wo"})
      put(w, {16, 16}, -0.5, 0.5);
    ref::Tensor pad({B, S});
    pad.at({1, S - 1}) = 1.0; // row 1's last source token is padding
    in["enc_pad"] = toRuntime(pad);
    std::uniform_int_distribution<int64_t> token(2, 12);
    std::vector<std::vector<int64_t>> tokens(B, std::vector<int64_t>(T));
    for (auto &row : tokens)
      for (int64_t &t : row)
        t = token(rng);
    in["tokens"] = int64Tensor(tokens);
    ref::Tensor full = fromRuntime(runNamed(*module, "decode", in)["logits"]);
    ASSERT_EQ(full.shape, (std::vector<int64_t>{B, T, 13}));

    for (auto &[name, value] : runNamed(*module, "decode_init", in))
      in[name] = value;
    // Zero states of each one's type: conv windows [B, K - 1, C] (f32), and
    // the embedding's count of real tokens [B] (i64).
    for (const convc::TensorSpec &spec : module->find("decode_step")->inputs)
      if (spec.name.rfind("state", 0) == 0) {
        std::vector<int64_t> shape = {B};
        for (size_t d = 1; d < spec.dims.size(); ++d)
          shape.push_back(std::stoll(spec.dims[d]));
        in[spec.name] = Tensor::zeros(spec.dtype, shape);
      }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<std::vector<int64_t>> column(B);
      for (int64_t b = 0; b < B; ++b)
        column[b] = {tokens[b][t]};
      in["tokens"] = int64Tensor(column);
      Tensor step = Tensor::zeros(DType::I64, {B});
      for (int64_t b = 0; b < B; ++b)
        step.data<int64_t>()[b] = t;
      in["step"] = step;
      auto out = runNamed(*module, "decode_step", in);
      ref::Tensor logits = fromRuntime(out["logits"]);
      ASSERT_EQ(logits.shape, (std::vector<int64_t>{B, 1, 13}));
      ref::Tensor want({B, 1, 13});
      for (int64_t b = 0; b < B; ++b)
        for (int64_t v = 0; v < 13; ++v)
          want(b, 0, v) = full(b, t, v);
      expectClose(logits, want, kTolerance, kind + " step " + std::to_string(t));
      for (auto &[name, value] : out)
        if (name.size() > 5 && name.substr(name.size() - 5) == ".next")
          in[name.substr(0, name.size() - 5)] = value;
    }
  }
}

namespace {

/// f32 <-> f16 / bf16 storage, with the compiler's own conversions.
uint16_t narrow(float v, DType dtype) {
  uint16_t bits;
  if (dtype == DType::F16) {
    _Float16 h = static_cast<_Float16>(v);
    std::memcpy(&bits, &h, 2);
  } else {
    // bf16: the upper half of the f32, rounded to nearest even (finite v).
    uint32_t word;
    std::memcpy(&word, &v, 4);
    word += 0x7FFFu + ((word >> 16) & 1u);
    bits = static_cast<uint16_t>(word >> 16);
  }
  return bits;
}

float widen(uint16_t bits, DType dtype) {
  if (dtype == DType::F16) {
    _Float16 h;
    std::memcpy(&h, &bits, 2);
    return static_cast<float>(h);
  }
  uint32_t word = uint32_t(bits) << 16;
  float v;
  std::memcpy(&v, &word, 4);
  return v;
}

/// Rounds `t` to the storage type in place and returns it as a runtime
/// tensor of that type.
Tensor toStorage(ref::Tensor &t, DType dtype) {
  Tensor out = Tensor::zeros(dtype, t.shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    uint16_t bits = narrow(static_cast<float>(t.data[i]), dtype);
    out.data<uint16_t>()[i] = bits;
    t.data[i] = widen(bits, dtype);
  }
  return out;
}

} // namespace

// GPU kernels store f16 / bf16 and accumulate in f32: with inputs already
// in the storage type, the only error left is the output's rounding, half
// an ulp (2^-11 relative for f16, 2^-8 for bf16), plus f32 sums.
TEST(CompiledOps, HalfPrecisionStorageAccumulatesInF32) {
  SKIP_UNLESS_CPU_TARGET("this test compiles for gpu-kernels-on-cpu itself");
  std::mt19937 rng(40);
  const int64_t C = 48, H = 4, K = 7, L = 9, Rm = 4;
  for (DType dtype : {DType::F16, DType::BF16}) {
    std::string e = dtype == DType::F16 ? "f16" : "bf16";
    std::string x = "tensor<?x?x" + std::to_string(C) + "x" + e + ">";
    std::string o = "tensor<?x?x" + std::to_string(2 * H) + "x" + e + ">";
    std::string w = "tensor<" + std::to_string(H) + "x" + std::to_string(K) +
                    "x" + e + ">";
    std::string v = "tensor<" + std::to_string(C) + "x" + e + ">";
    std::string wp = "tensor<" + std::to_string(2 * C) + "x" +
                     std::to_string(C) + "x" + e + ">";
    std::string bp = "tensor<" + std::to_string(2 * C) + "x" + e + ">";
    std::ostringstream mlir;
    mlir << "func.func @main(%x: " << x << ", %o: " << o << ", %w: " << w
         << ", %g: " << v << ", %b: " << v << ", %wp: " << wp
         << ", %bp: " << bp << ") -> (" << x << ", " << x << ", " << x
         << ", " << x << ") {\n"
         << "  %t = convc.talk_conv %x, %o {left_max = " << L
         << " : i64, right_max = " << Rm << " : i64} : " << x << ", " << o
         << "\n  %l = convc.lightweight_conv %x, %w {heads = " << H
         << " : i64, padding = 3 : i64} : " << x << ", " << w
         << "\n  %n = convc.layer_norm %x, %g, %b : " << x << ", " << v << ", "
         << v << "\n  %p = convc.linear %x, %wp bias %bp {activation = "
         << "#convc<activation glu>} : " << x << ", " << wp << ", " << bp
         << " -> " << x << "\n  return %t, %l, %n, %p : " << x << ", " << x
         << ", " << x << ", " << x << "\n}\n";
    auto module = compile(mlir.str(), "--target=gpu-kernels-on-cpu");
    ASSERT_TRUE(module);
    double tolerance = dtype == DType::F16 ? 1e-3 : 8e-3;
    for (auto [B, T] : kShapes) {
      ref::Tensor xs = random({B, T, C}, rng), os = random({B, T, 2 * H}, rng, 0, 1),
                  ws = random({H, K}, rng), gs = random({C}, rng),
                  bs = random({C}, rng),
                  wps = random({2 * C, C}, rng, -0.3, 0.3),
                  bps = random({2 * C}, rng);
      std::vector<Tensor> in = {toStorage(xs, dtype), toStorage(os, dtype),
                                toStorage(ws, dtype), toStorage(gs, dtype),
                                toStorage(bs, dtype), toStorage(wps, dtype),
                                toStorage(bps, dtype)};
      std::vector<Tensor> out;
      std::string error;
      ASSERT_TRUE(module->run("main", in, out, error)) << error;
      ASSERT_EQ(out.size(), 4u);
      std::vector<ref::Tensor> want = {
          ref::talkConv(xs, os, L, Rm, false), ref::lightweightConv(xs, ws, 3),
          ref::layerNorm(xs, gs, bs, 1e-5), ref::glu(ref::linear(xs, wps, &bps))};
      for (size_t i = 0; i < 4; ++i) {
        ASSERT_EQ(out[i].dtype(), dtype);
        ref::Tensor got(out[i].shape());
        for (int64_t j = 0; j < got.numel(); ++j)
          got.data[j] = widen(out[i].data<uint16_t>()[j], dtype);
        expectClose(got, want[i], tolerance,
                    e + " output " + std::to_string(i) + " T=" +
                        std::to_string(T));
      }
    }
  }
}

// f16 / bf16 projections through the gemm library (on gpu-kernels-on-cpu
// the runtime's host twin of the cuBLASLt call, then the epilogue kernel)
// and, with CONVC_TENSOR_CORES=0, through the shared-memory GEMM the
// library falls back to: both give the reference's linear with bias, ReLU
// and residual, and DynamicConv (whose kernel projection takes the same
// path). Tolerances as above.
TEST(CompiledOps, HalfPrecisionProjectionsWithAndWithoutTheGemmLibrary) {
  SKIP_UNLESS_CPU_TARGET("this test compiles for gpu-kernels-on-cpu itself");
  std::mt19937 rng(41);
  const int64_t C = 40, W = 72, H = 4, K = 5;
  for (DType dtype : {DType::F16, DType::BF16}) {
    std::string e = dtype == DType::F16 ? "f16" : "bf16";
    auto type = [&](std::vector<int64_t> shape) {
      std::string s = "tensor<";
      for (int64_t d : shape)
        s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
      return s + e + ">";
    };
    std::string x = type({-1, -1, C}), y = type({-1, -1, W}),
                w = type({W, C}), b = type({W}), q = type({H * K, C});
    std::string mlir =
        "func.func @main(%x: " + x + ", %w: " + w + ", %b: " + b + ", %r: " +
        y + ", %q: " + q + ") -> (" + y + ", " + x + ") {\n"
        "  %p = convc.linear %x, %w bias %b residual %r {activation = "
        "#convc<activation relu>} : " + x + ", " + w + ", " + b + ", " + y +
        " -> " + y + "\n"
        "  %d = convc.dynamic_conv %x, %q {heads = 4 : i64, kernel_size = 5 "
        ": i64, padding = 4 : i64} : " + x + ", " + q + "\n"
        "  return %p, %d : " + y + ", " + x + "\n}\n";
    auto module = compile(mlir, "--target=gpu-kernels-on-cpu");
    ASSERT_TRUE(module);
    double tolerance = dtype == DType::F16 ? 1e-3 : 8e-3;
    for (const char *library : {"1", "0"}) {
      ::setenv("CONVC_TENSOR_CORES", library, 1);
      for (auto [B, T] : kShapes) {
        ref::Tensor xs = random({B, T, C}, rng),
                    ws = random({W, C}, rng, -0.3, 0.3), bs = random({W}, rng),
                    rs = random({B, T, W}, rng),
                    qs = random({H * K, C}, rng, -0.3, 0.3);
        std::vector<Tensor> in = {toStorage(xs, dtype), toStorage(ws, dtype),
                                  toStorage(bs, dtype), toStorage(rs, dtype),
                                  toStorage(qs, dtype)};
        std::vector<Tensor> out;
        std::string error;
        ASSERT_TRUE(module->run("main", in, out, error)) << error;
        ASSERT_EQ(out.size(), 2u);
        std::vector<ref::Tensor> want = {
            ref::add(ref::relu(ref::linear(xs, ws, &bs)), rs),
            ref::dynamicConv(xs, qs, nullptr, H, K, 4)};
        for (size_t i = 0; i < 2; ++i) {
          ref::Tensor got(out[i].shape());
          for (int64_t j = 0; j < got.numel(); ++j)
            got.data[j] = widen(out[i].data<uint16_t>()[j], dtype);
          expectClose(got, want[i], tolerance,
                      e + " output " + std::to_string(i) + " library " +
                          library + " T=" + std::to_string(T));
        }
      }
    }
    ::unsetenv("CONVC_TENSOR_CORES");
  }
}
