//===- GenerateTest.cpp - generation against PyTorch ----------------------===//
//
// usage: convc-generate-tests DIR, where DIR was written by
// test/pytorch/make_generation_data.py (random ConvSeq2Seq models of each
// conv kind exported to MLIR, and PyTorch's greedy / beam-search outputs). The model is compiled
// with --decode-step=decode; the runtime's generator, which runs the derived
// step function with explicit states and reorders them between beams, must
// produce the same tokens.
//
//===----------------------------------------------------------------------===//

#include "convc/Generate.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

std::string dataDir;

std::vector<int64_t> parseTokens(const std::string &text) {
  std::istringstream in(text);
  std::vector<int64_t> tokens;
  int64_t t;
  while (in >> t)
    tokens.push_back(t);
  return tokens;
}

struct Case {
  int beam;
  int64_t maxLength;
  std::vector<int64_t> source, expected;
};

/// Model kinds written by make_generation_data.py.
const char *kKinds[] = {"light", "dynamic", "talk"};

std::vector<Case> readCases(const std::string &kind) {
  std::ifstream in(dataDir + "/" + kind + "/cases.txt");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find('|'), b = line.find('|', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      continue;
    Case c;
    std::istringstream head(line.substr(0, a));
    head >> c.beam >> c.maxLength;
    c.source = parseTokens(line.substr(a + 1, b - a - 1));
    c.expected = parseTokens(line.substr(b + 1));
    cases.push_back(c);
  }
  return cases;
}

std::unique_ptr<convc::Module> compileModel(const std::string &kind) {
  std::string dir = dataDir + "/" + kind;
  std::string lib = dir + "/model.so";
  std::string command = std::string(CONVC_TOOL) + " compile --quiet " + dir +
                        "/model.mlir --decode-step=decode -o " + lib;
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "compilation failed: " << command;
    return nullptr;
  }
  std::string error;
  auto module = convc::Module::load(lib, error);
  EXPECT_TRUE(module) << error;
  return module;
}

} // namespace

TEST(Generate, MatchesPyTorchGreedyAndBeamSearch) {
  int beamsDifferFromGreedy = 0;
  for (const char *kind : kKinds) {
  SCOPED_TRACE(kind);
  std::vector<Case> cases = readCases(kind);
  ASSERT_FALSE(cases.empty());
  auto module = compileModel(kind);
  ASSERT_TRUE(module);
  std::map<std::vector<int64_t>, std::vector<int64_t>> greedy;
  for (const Case &c : cases) {
    convc::GenerationOptions options;
    options.beam = c.beam;
    options.maxLength = c.maxLength;
    std::vector<convc::Hypothesis> out;
    convc::Status s = convc::generate(*module, {c.source}, options, out);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(out[0].tokens, c.expected) << "beam " << c.beam;
    if (c.beam == 1)
      greedy[c.source] = out[0].tokens;
    else if (greedy.count(c.source) && greedy[c.source] != out[0].tokens)
      ++beamsDifferFromGreedy;
  }
  }
  // The data exercises beam search beyond greedy somewhere.
  EXPECT_GT(beamsDifferFromGreedy, 0);
}

// A batch of left-padded sources gives each sentence its own result.
TEST(Generate, BatchEqualsOneByOne) {
  for (const char *kind : kKinds) {
  SCOPED_TRACE(kind);
  std::vector<Case> cases = readCases(kind);
  auto module = compileModel(kind);
  ASSERT_TRUE(module);
  for (int beam : {1, 4}) {
    std::vector<std::vector<int64_t>> sources;
    std::vector<std::vector<int64_t>> expected;
    for (const Case &c : cases)
      if (c.beam == beam)
        sources.push_back(c.source), expected.push_back(c.expected);
    convc::GenerationOptions options;
    options.beam = beam;
    options.maxLength = cases[0].maxLength;
    std::vector<convc::Hypothesis> out;
    convc::Status s = convc::generate(*module, sources, options, out);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(out.size(), sources.size());
    for (size_t i = 0; i < out.size(); ++i)
      EXPECT_EQ(out[i].tokens, expected[i]) << "beam " << beam << " row " << i;
  }
  }
}

TEST(Generate, RejectsBadRequests) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  std::vector<convc::Hypothesis> out;
  convc::GenerationOptions options;
  EXPECT_EQ(convc::generate(*module, {}, options, out).code(),
            convc::StatusCode::InvalidArgument);
  EXPECT_EQ(convc::generate(*module, {{}}, options, out).code(),
            convc::StatusCode::InvalidArgument);
  options.beam = 0;
  EXPECT_EQ(convc::generate(*module, {{5, 2}}, options, out).code(),
            convc::StatusCode::InvalidArgument);
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
