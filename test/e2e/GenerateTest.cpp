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

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
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

/// The model of `kind`, compiled once per process (for `target`) and loaded
/// per test.
std::unique_ptr<convc::Module> compileModel(const std::string &kind,
                                            const std::string &target = "cpu") {
  static std::set<std::string> compiled;
  std::string dir = dataDir + "/" + kind;
  std::string lib = dir + "/model" + (target == "cpu" ? "" : "." + target) + ".so";
  std::string command = std::string(CONVC_TOOL) + " compile --quiet " + dir +
                        "/model.mlir --decode-step=decode --target=" + target +
                        " -o " + lib;
  if (!compiled.count(lib) && std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "compilation failed: " << command;
    return nullptr;
  }
  compiled.insert(lib);
  std::string error;
  auto module = convc::Module::load(lib, error);
  EXPECT_TRUE(module) << error;
  return module;
}

/// Equal n-best lists: the same tokens, scores within `tolerance`
/// (relative, plus as much absolute).
void expectSameNBest(const std::vector<std::vector<convc::Hypothesis>> &a,
                     const std::vector<std::vector<convc::Hypothesis>> &b,
                     double tolerance, int beam) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << "source " << i;
    for (size_t h = 0; h < a[i].size(); ++h) {
      EXPECT_EQ(a[i][h].tokens, b[i][h].tokens)
          << "source " << i << ", hypothesis " << h << ", beam " << beam;
      EXPECT_NEAR(a[i][h].score, b[i][h].score,
                  tolerance * (1 + std::abs(b[i][h].score)));
    }
  }
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

// Greedy search through the step that chooses its own tokens
// (decode_step_greedy, issue 15's decode loop on the device) gives the
// tokens and scores of the host search over the step's logits: a
// no-repeat n-gram size longer than any output keeps the host path without
// changing what it chooses. Batched, with minimum lengths that ban and a
// maximum that forces eos.
TEST(Generate, GreedyStepChoosesAsTheHostSearch) {
  for (const char *kind : kKinds) {
    SCOPED_TRACE(kind);
    auto module = compileModel(kind);
    ASSERT_TRUE(module);
    ASSERT_TRUE(module->find("decode_step_greedy"));
    std::vector<std::vector<int64_t>> sources;
    for (const Case &c : readCases(kind))
      sources.push_back(c.source);
    for (int64_t minLength : {0, 3, 7}) {
      for (int64_t maxLength : {7, 16}) {
        convc::GenerationOptions fast;
        fast.maxLength = maxLength;
        fast.minLength = std::min(minLength, maxLength);
        convc::GenerationOptions host = fast;
        host.noRepeatNgramSize = 1000;
        std::vector<convc::Hypothesis> a, b;
        ASSERT_TRUE(convc::generate(*module, sources, fast, a).ok());
        ASSERT_TRUE(convc::generate(*module, sources, host, b).ok());
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
          EXPECT_EQ(a[i].tokens, b[i].tokens)
              << "source " << i << ", min " << minLength << ", max "
              << maxLength;
          EXPECT_NEAR(a[i].score, b[i].score, 1e-9 * (1 + std::abs(b[i].score)));
          EXPECT_GE(int64_t(a[i].tokens.size()), fast.minLength);
          EXPECT_LE(int64_t(a[i].tokens.size()), maxLength);
        }
      }
    }
  }
}

// Beam search through the step that returns each row's 8 best (token,
// log-prob) pairs (decode_step_top8) gives the n-best lists of the host
// search over the logits, for 2 and 4 beams; 5 beams need more pairs than
// the step gives and take the host path.
TEST(Generate, TopKStepBeamsAsTheHostSearch) {
  for (const char *kind : kKinds) {
    SCOPED_TRACE(kind);
    auto module = compileModel(kind);
    ASSERT_TRUE(module);
    ASSERT_TRUE(module->find("decode_step_top8"));
    std::vector<std::vector<int64_t>> sources;
    for (const Case &c : readCases(kind))
      sources.push_back(c.source);
    for (int beam : {2, 4, 5}) {
      for (int64_t minLength : {0, 4}) {
        convc::GenerationOptions fast;
        fast.beam = fast.numHypotheses = beam;
        fast.maxLength = 12;
        fast.minLength = minLength;
        convc::GenerationOptions host = fast;
        host.noRepeatNgramSize = 1000;
        std::vector<std::vector<convc::Hypothesis>> a, b;
        ASSERT_TRUE(convc::generateNBest(*module, sources, fast, a).ok());
        ASSERT_TRUE(convc::generateNBest(*module, sources, host, b).ok());
        expectSameNBest(a, b, 1e-9, beam);
      }
    }
  }
}

// The choosing steps compiled as GPU kernels (run on the CPU here): greedy
// and beam search (whose step gathers its states by `reorder`, one kernel
// per state) give the CPU target's host search's n-best lists. The kernels
// sum in another order than the CPU target's: scores agree to 1e-4.
TEST(Generate, GpuKernelStepsSearchAsTheHost) {
  for (const char *kind : kKinds) {
    SCOPED_TRACE(kind);
    auto gpu = compileModel(kind, "gpu-kernels-on-cpu");
    auto cpu = compileModel(kind);
    ASSERT_TRUE(gpu && cpu);
    ASSERT_TRUE(gpu->find("decode_step_top8") && gpu->find("decode_step_greedy"));
    std::vector<std::vector<int64_t>> sources;
    for (const Case &c : readCases(kind))
      sources.push_back(c.source);
    for (int beam : {1, 2, 4}) {
      convc::GenerationOptions fast;
      fast.beam = fast.numHypotheses = beam;
      fast.maxLength = 10;
      fast.minLength = 2;
      convc::GenerationOptions host = fast;
      host.noRepeatNgramSize = 1000;
      std::vector<std::vector<convc::Hypothesis>> a, b;
      ASSERT_TRUE(convc::generateNBest(*gpu, sources, fast, a).ok());
      ASSERT_TRUE(convc::generateNBest(*cpu, sources, host, b).ok());
      expectSameNBest(a, b, 1e-4, beam);
    }
  }
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

// --- generation options: each one's defining property ---------------------

namespace {

std::vector<std::vector<int64_t>> sourcesOf(const std::string &kind) {
  std::vector<std::vector<int64_t>> sources;
  for (const Case &c : readCases(kind))
    if (c.beam == 1)
      sources.push_back(c.source);
  return sources;
}

std::vector<std::vector<int64_t>> tokensOf(const std::vector<convc::Hypothesis> &h) {
  std::vector<std::vector<int64_t>> tokens;
  for (const auto &x : h)
    tokens.push_back(x.tokens);
  return tokens;
}

std::vector<convc::Hypothesis> run(const convc::Module &module,
                                   const std::vector<std::vector<int64_t>> &sources,
                                   const convc::GenerationOptions &options) {
  std::vector<convc::Hypothesis> out;
  convc::Status s = convc::generate(module, sources, options, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

bool repeatsNgram(const std::vector<int64_t> &t, size_t n) {
  std::set<std::vector<int64_t>> seen;
  for (size_t i = 0; i + n <= t.size(); ++i)
    if (!seen.insert(std::vector<int64_t>(t.begin() + i, t.begin() + i + n)).second)
      return true;
  return false;
}

} // namespace

// `interrupted` is asked before every step of each search (the greedy
// step, the top-k step's beams, the host search over the logits) and
// stops it when it says so: Cancelled after exactly that many steps.
TEST(GenerationOptions, InterruptedStopsAtTheNextStep) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("light");
  for (int search = 0; search < 3; ++search) {
    SCOPED_TRACE(search);
    convc::GenerationOptions o;
    o.maxLength = o.minLength = 30;
    o.beam = search == 0 ? 1 : 4;
    if (search == 2)
      o.noRepeatNgramSize = 1000; // the host search
    int asked = 0;
    o.interrupted = [&] { return ++asked == 3; };
    std::vector<std::vector<convc::Hypothesis>> results;
    convc::Status s = convc::generateNBest(*module, sources, o, results);
    EXPECT_EQ(s.code(), convc::StatusCode::Cancelled) << s.message();
    EXPECT_EQ(asked, 3);
    o.interrupted = [&] { return ++asked < 0; };
    asked = 0;
    EXPECT_TRUE(convc::generateNBest(*module, sources, o, results).ok());
    EXPECT_EQ(asked, 31); // steps 0 to maxLength
  }
}

TEST(GenerationOptions, TopK1AndTinyTopPAreGreedy) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("light");
  convc::GenerationOptions greedy;
  greedy.maxLength = 12;
  auto want = tokensOf(run(*module, sources, greedy));
  convc::GenerationOptions topk1 = greedy;
  topk1.samplingTopK = 1;
  topk1.temperature = 3.0; // no effect without sampling
  topk1.hasSeed = true, topk1.seed = 5;
  EXPECT_EQ(tokensOf(run(*module, sources, topk1)), want);
  convc::GenerationOptions nucleus = greedy;
  nucleus.samplingTopK = 0;
  nucleus.samplingTopP = 1e-9; // the most likely token alone
  EXPECT_EQ(tokensOf(run(*module, sources, nucleus)), want);
}

TEST(GenerationOptions, TheSameSeedGivesTheSameTokens) {
  auto module = compileModel("dynamic");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("dynamic");
  convc::GenerationOptions o;
  o.maxLength = 20;
  o.samplingTopK = 0;
  o.temperature = 2.0;
  o.hasSeed = true, o.seed = 7;
  auto first = tokensOf(run(*module, sources, o));
  EXPECT_EQ(tokensOf(run(*module, sources, o)), first);
  o.seed = 8;
  EXPECT_NE(tokensOf(run(*module, sources, o)), first);
  o.hasSeed = false; // a drawn seed: random, not greedy
  convc::GenerationOptions greedy;
  greedy.maxLength = 20;
  EXPECT_NE(tokensOf(run(*module, sources, o)), tokensOf(run(*module, sources, greedy)));
}

TEST(GenerationOptions, ABlockedNgramNeverRepeats) {
  for (const char *kind : kKinds) {
    SCOPED_TRACE(kind);
    auto module = compileModel(kind);
    ASSERT_TRUE(module);
    auto sources = sourcesOf(kind);
    for (int beam : {1, 4}) {
      convc::GenerationOptions o;
      o.beam = beam;
      o.maxLength = 16;
      int repeatedBefore = 0;
      for (const auto &t : tokensOf(run(*module, sources, o)))
        repeatedBefore += repeatsNgram(t, 2);
      EXPECT_GT(repeatedBefore, 0) << "the data should repeat bigrams";
      o.noRepeatNgramSize = 2;
      for (const auto &t : tokensOf(run(*module, sources, o)))
        EXPECT_FALSE(repeatsNgram(t, 2)) << "beam " << beam;
    }
  }
}

TEST(GenerationOptions, NBestListsAreSortedAndDistinct) {
  auto module = compileModel("talk");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("talk");
  convc::GenerationOptions o;
  o.beam = 4;
  o.numHypotheses = 4;
  o.maxLength = 10;
  std::vector<std::vector<convc::Hypothesis>> nbest;
  convc::Status s = convc::generateNBest(*module, sources, o, nbest);
  ASSERT_TRUE(s.ok()) << s.message();
  o.numHypotheses = 1;
  auto best = run(*module, sources, o);
  ASSERT_EQ(nbest.size(), sources.size());
  for (size_t i = 0; i < nbest.size(); ++i) {
    ASSERT_EQ(nbest[i].size(), 4u);
    EXPECT_EQ(nbest[i][0].tokens, best[i].tokens);
    std::set<std::vector<int64_t>> distinct;
    for (size_t k = 0; k < nbest[i].size(); ++k) {
      distinct.insert(nbest[i][k].tokens);
      if (k > 0) { // length penalty 1: score / (length + 1)
        auto norm = [](const convc::Hypothesis &h) {
          return h.score / double(h.tokens.size() + 1);
        };
        EXPECT_GE(norm(nbest[i][k - 1]), norm(nbest[i][k]));
      }
    }
    EXPECT_EQ(distinct.size(), 4u);
  }
}

TEST(GenerationOptions, MinLengthPrefixAndStartToken) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("light");
  convc::GenerationOptions o;
  o.maxLength = 12;
  auto plain = run(*module, sources, o);
  o.startToken = o.eos; // fairseq's start, spelled out
  EXPECT_EQ(tokensOf(run(*module, sources, o)), tokensOf(plain));
  o.minLength = 12;
  for (const auto &h : run(*module, sources, o))
    EXPECT_EQ(h.tokens.size(), 12u);
  o.minLength = 0;
  o.prefixes = {{7, 8, 9}};
  for (const auto &h : run(*module, sources, o))
    EXPECT_EQ(std::vector<int64_t>(h.tokens.begin(), h.tokens.begin() + 3),
              (std::vector<int64_t>{7, 8, 9}));
  o.beam = 3;
  o.prefixes.assign(sources.size(), {});
  o.prefixes[0] = {4};
  auto mixed = run(*module, sources, o);
  EXPECT_EQ(mixed[0].tokens.front(), 4);
}

// A pad start token is masked in the full decoder: it does not advance
// the sinusoidal positions, so the incremental step counts valid tokens
// in a state rather than taking its position from the step. (It took the
// step: every logit after the first was off.) The full decoder is the
// reference: the module compiled without --decode-step.
TEST(GenerationOptions, PadStartTokenAsTheFullDecoder) {
  for (const char *kind : kKinds) {
    SCOPED_TRACE(kind);
    auto module = compileModel(kind);
    ASSERT_TRUE(module);
    std::string dir = dataDir + "/" + kind, lib = dir + "/model.full.so";
    std::string command = std::string(CONVC_TOOL) + " compile --quiet " + dir +
                          "/model.mlir -o " + lib;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::string error;
    auto full = convc::Module::load(lib, error);
    ASSERT_TRUE(full) << error;
    ASSERT_FALSE(full->find("decode_step"));
    auto sources = sourcesOf(kind);
    for (int beam : {1, 3}) {
      convc::GenerationOptions o;
      o.maxLength = 10;
      o.beam = beam;
      o.startToken = o.pad;
      std::vector<std::vector<convc::Hypothesis>> a, b;
      ASSERT_TRUE(convc::generateNBest(*module, sources, o, a).ok());
      ASSERT_TRUE(convc::generateNBest(*full, sources, o, b).ok());
      expectSameNBest(a, b, 1e-4, beam);
    }
  }
}

TEST(GenerationOptions, RepetitionPenaltyRepeatsLess) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("light");
  auto repeats = [&](double penalty) {
    convc::GenerationOptions o;
    o.maxLength = 12;
    o.repetitionPenalty = penalty;
    int n = 0;
    for (const auto &t : tokensOf(run(*module, sources, o)))
      n += t.size() - std::set<int64_t>(t.begin(), t.end()).size();
    return n;
  };
  EXPECT_LT(repeats(5.0), repeats(1.0));
}

TEST(GenerationOptions, BatchesByExamplesOrTokensKeepTheOrder) {
  auto module = compileModel("dynamic");
  ASSERT_TRUE(module);
  auto sources = sourcesOf("dynamic");
  ASSERT_GE(sources.size(), 3u);
  convc::GenerationOptions o;
  o.beam = 2;
  o.maxLength = 10;
  auto whole = tokensOf(run(*module, sources, o));
  o.maxBatchSize = 1;
  EXPECT_EQ(tokensOf(run(*module, sources, o)), whole);
  o.maxBatchSize = 2;
  EXPECT_EQ(tokensOf(run(*module, sources, o)), whole);
  o.batchType = convc::BatchType::Tokens;
  o.maxBatchSize = 9;
  EXPECT_EQ(tokensOf(run(*module, sources, o)), whole);
}

TEST(GenerationOptions, BadOptionsAreErrors) {
  auto module = compileModel("light");
  ASSERT_TRUE(module);
  std::vector<std::vector<convc::Hypothesis>> out;
  auto code = [&](convc::GenerationOptions o) {
    return convc::generateNBest(*module, {{5, 2}, {6, 2}}, o, out).code();
  };
  auto bad = convc::StatusCode::InvalidArgument;
  convc::GenerationOptions o;
  o.numHypotheses = 2; // > beam
  EXPECT_EQ(code(o), bad);
  o = {}, o.beam = 4, o.samplingTopK = 5; // sampling with a beam
  EXPECT_EQ(code(o), bad);
  o = {}, o.samplingTopK = 0, o.samplingTopP = 0;
  EXPECT_EQ(code(o), bad);
  o = {}, o.samplingTopK = 0, o.temperature = 0;
  EXPECT_EQ(code(o), bad);
  o = {}, o.minLength = 100;
  EXPECT_EQ(code(o), bad);
  o = {}, o.prefixes = {{1}, {2}, {3}}; // 3 prefixes, 2 sources
  EXPECT_EQ(code(o), bad);
  o = {}, o.repetitionPenalty = 0;
  EXPECT_EQ(code(o), bad);
  o = {}, o.maxBatchSize = -1;
  EXPECT_EQ(code(o), bad);
  // A forced pad (never generated: it left no hypothesis and exit 0), a
  // start token below -1 (was taken as eos), a NaN length penalty, eos =
  // pad, an eos outside the vocabulary.
  o = {}, o.prefixes = {{o.pad, 5}};
  EXPECT_EQ(code(o), bad);
  o = {}, o.startToken = -5;
  EXPECT_EQ(code(o), bad);
  o = {}, o.lengthPenalty = std::nan("");
  EXPECT_EQ(code(o), bad);
  o = {}, o.eos = o.pad;
  EXPECT_EQ(code(o), bad);
  o = {}, o.eos = 1 << 20;
  EXPECT_EQ(code(o), bad);
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
