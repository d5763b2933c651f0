//===- TorchCrossCheckTest.cpp - the reference against PyTorch ------------===//
//
// Usage: convc-torch-crosscheck DIR, where DIR was written by
// test/pytorch/make_crosscheck_data.py. Every case's output is recomputed by
// the C++ reference from the same inputs and must agree with PyTorch's to
// |ref - torch| <= 1e-5 * max(1, |ref|).
//
//===----------------------------------------------------------------------===//

#include "convc/Npy.h"
#include "convc/reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

using namespace convc::ref;

namespace {

std::string dataDir;

struct Case {
  std::string name, op;
  std::map<std::string, int64_t> attrs;

  int64_t attr(const std::string &key) const {
    auto it = attrs.find(key);
    if (it == attrs.end())
      ADD_FAILURE() << name << ": missing attribute " << key;
    return it == attrs.end() ? 0 : it->second;
  }

  std::string path(const std::string &tensor) const {
    return dataDir + "/" + name + "." + tensor + ".npy";
  }
  bool has(const std::string &tensor) const {
    return std::ifstream(path(tensor)).good();
  }
  Tensor load(const std::string &tensor) const {
    convc::NpyArray array;
    std::string error;
    if (!convc::readNpy(path(tensor), array, error)) {
      ADD_FAILURE() << error;
      return Tensor();
    }
    Tensor t(array.shape);
    t.data = array.toDoubles();
    return t;
  }
  std::vector<std::vector<bool>> loadMask(const std::string &tensor) const {
    Tensor m = load(tensor);
    std::vector<std::vector<bool>> mask(m.dim(0),
                                        std::vector<bool>(m.dim(1)));
    for (int64_t i = 0; i < m.dim(0); ++i)
      for (int64_t j = 0; j < m.dim(1); ++j)
        mask[i][j] = m.data[i * m.dim(1) + j] != 0.0;
    return mask;
  }
};

std::vector<Case> readCases() {
  std::vector<Case> cases;
  std::ifstream in(dataDir + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    Case c;
    if (!(words >> c.name >> c.op))
      continue;
    std::string kv;
    while (words >> kv) {
      size_t eq = kv.find('=');
      c.attrs[kv.substr(0, eq)] = std::stoll(kv.substr(eq + 1));
    }
    cases.push_back(c);
  }
  return cases;
}

void expectClose(const Case &c, const Tensor &ref, const Tensor &torch) {
  ASSERT_EQ(ref.shape, torch.shape) << c.name;
  double worst = 0.0;
  int64_t worstAt = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    double err = std::abs(ref.data[i] - torch.data[i]) /
                 std::max(1.0, std::abs(ref.data[i]));
    if (err > worst)
      worst = err, worstAt = i;
  }
  EXPECT_LE(worst, 1e-5) << c.name << " (" << c.op << "): element " << worstAt
                         << " reference " << ref.data[worstAt] << " torch "
                         << torch.data[worstAt];
}

Tensor optionalBias(const Case &c, Tensor &storage) {
  return c.has("bias") ? (storage = c.load("bias")) : Tensor();
}

/// The reference's answer for one case.
Tensor compute(const Case &c) {
  Tensor bias;
  const std::string &op = c.op;
  if (op == "depthwise_conv") {
    optionalBias(c, bias);
    return depthwiseConv(c.load("x"), c.load("w"), c.attr("padding"),
                         c.attr("dilation"), c.has("bias") ? &bias : nullptr);
  }
  if (op == "lightweight_conv") {
    optionalBias(c, bias);
    return lightweightConv(c.load("x"), c.load("w"), c.attr("padding"),
                           c.attr("weight_softmax"),
                           c.has("bias") ? &bias : nullptr);
  }
  if (op == "dynamic_conv") {
    optionalBias(c, bias);
    return dynamicConv(c.load("x"), c.load("w"),
                       c.has("bias") ? &bias : nullptr, c.attr("heads"),
                       c.attr("kernel_size"), c.attr("padding"));
  }
  if (op == "talk_conv") {
    Tensor x = c.load("x");
    // The offsets come from the reference's own sigmoid projection.
    Tensor offsets = talkOffsets(x, c.load("wo"), c.load("bo"));
    expectClose(c, offsets, c.load("offsets"));
    return talkConv(x, offsets, c.attr("left_max"), c.attr("right_max"),
                    c.attr("causal"));
  }
  if (op == "window_diff")
    return windowDiff(c.load("s"), c.load("offsets"), c.attr("left_max"),
                      c.attr("right_max"), c.attr("causal"));
  if (op == "prefix_sum")
    return prefixSum(c.load("x"), 1.0 / double(c.attr("scale_inverse")));
  if (op == "glu")
    return glu(c.load("x"));
  if (op == "kernel_softmax")
    return kernelSoftmax(c.load("x"));
  if (op == "dynamic_kernel_conv")
    return dynamicKernelConv(c.load("x"), c.load("kernels"),
                             c.attr("padding"));
  if (op == "conv_layer") {
    ConvLayerWeights w;
    w.kind = static_cast<ConvKind>(c.attr("kind"));
    w.heads = c.attr("heads");
    w.kernelSize = c.attr("kernel_size");
    w.padding = c.attr("padding");
    w.leftMax = c.attr("left_max");
    w.rightMax = c.attr("right_max");
    w.causal = c.attr("causal");
    w.inW = c.load("in_w"), w.inB = c.load("in_b");
    w.outW = c.load("out_w"), w.outB = c.load("out_b");
    w.ln1Gamma = c.load("ln1_g"), w.ln1Beta = c.load("ln1_b");
    w.fc1W = c.load("fc1_w"), w.fc1B = c.load("fc1_b");
    w.fc2W = c.load("fc2_w"), w.fc2B = c.load("fc2_b");
    w.ln2Gamma = c.load("ln2_g"), w.ln2Beta = c.load("ln2_b");
    if (w.kind == ConvKind::TaLK)
      w.talkWo = c.load("talk_wo"), w.talkBo = c.load("talk_bo");
    else
      w.convW = c.load("conv_w");
    auto pad = c.loadMask("pad");
    return convLayer(c.load("x"), w, &pad);
  }
  if (op == "attention") {
    AttentionWeights w{c.load("wq"), c.load("bq"), c.load("wk"), c.load("bk"),
                       c.load("wv"), c.load("bv"), c.load("wo"), c.load("bo")};
    auto pad = c.loadMask("pad");
    return multiheadAttention(c.load("q"), c.load("kv"), w, c.attr("heads"),
                              &pad);
  }
  if (op == "embedding") {
    Tensor t = c.load("tokens");
    std::vector<std::vector<int64_t>> tokens(t.dim(0));
    for (int64_t b = 0; b < t.dim(0); ++b)
      for (int64_t i = 0; i < t.dim(1); ++i)
        tokens[b].push_back(static_cast<int64_t>(t.data[b * t.dim(1) + i]));
    return embedTokens(tokens, c.load("e"), c.attr("padding_idx"));
  }
  if (op == "rms_norm")
    return rmsNorm(c.load("x"), c.load("g"));
  ADD_FAILURE() << c.name << ": unknown op '" << op << "'";
  return Tensor();
}

} // namespace

TEST(TorchCrossCheck, EveryCaseMatchesPyTorch) {
  std::vector<Case> cases = readCases();
  ASSERT_FALSE(cases.empty()) << "no cases in " << dataDir << "/cases.txt";
  std::map<std::string, int> perOp;
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    expectClose(c, compute(c), c.load("y"));
    ++perOp[c.op];
  }
  // Every op of docs/semantics.md that the cross-check covers has a case.
  for (const char *op :
       {"depthwise_conv", "lightweight_conv", "dynamic_conv", "talk_conv",
        "window_diff", "prefix_sum", "glu", "kernel_softmax",
        "dynamic_kernel_conv", "conv_layer", "attention", "embedding",
        "rms_norm"})
    EXPECT_GT(perOp[op], 0) << "no cross-check case for " << op;
}

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
    return 2;
  }
  dataDir = argv[1];
  return RUN_ALL_TESTS();
}
