//===- Generate.cpp - `convc generate` -------------------------------------===//
//
// Translates token sequences with a compiled Seq2Seq model: greedy or beam
// search or sampling over its incremental decoder (or the full decoder
// where it has none), printing fairseq-style S-/H- lines.
//
//===----------------------------------------------------------------------===//

#include "GenerationFlags.h"
#include "Subcommands.h"

#include "convc/Generate.h"
#include "convc/Npy.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace convc::tool {

/// --src: token ids ("5 9 3 2") or a .npy of [B, S] ids, into `batch`.
static bool readSources(const std::vector<std::string> &sources,
                        std::vector<std::vector<int64_t>> &batch) {
  std::string error;
  for (const std::string &src : sources) {
    if (llvm::StringRef(src).ends_with(".npy")) {
      NpyArray array;
      if (!readNpy(src, array, error)) {
        llvm::errs() << "convc generate: " << error << "\n";
        return false;
      }
      if (array.shape.size() != 2 || (array.dtype != NpyDType::I64 &&
                                      array.dtype != NpyDType::I32)) {
        llvm::errs() << "convc generate: '" << src
                     << "' must hold a [B, S] int64 (or int32) array\n";
        return false;
      }
      std::vector<double> values = array.toDoubles();
      for (int64_t b = 0; b < array.shape[0]; ++b)
        batch.emplace_back(values.begin() + b * array.shape[1],
                           values.begin() + (b + 1) * array.shape[1]);
      continue;
    }
    std::vector<int64_t> tokens;
    if (!parseTokenIds(src, tokens, error)) {
      llvm::errs() << "convc generate: --src '" << src << "': " << error
                   << "\n";
      return false;
    }
    batch.push_back(tokens);
  }
  if (batch.empty()) {
    llvm::errs() << "convc generate: give at least one --src\n";
    return false;
  }
  return true;
}

/// S-<i> (the source, without the padding of a .npy batch) and H-<i>
/// (score, tokens) per sentence, one H line per hypothesis, best first; the
/// tokens generated, end-of-sentence included.
static size_t printResults(const std::vector<std::vector<int64_t>> &batch,
                           const std::vector<std::vector<Hypothesis>> &results,
                           int64_t pad) {
  size_t generated = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    llvm::outs() << "S-" << i << "\t";
    const char *separator = "";
    for (int64_t token : batch[i])
      if (token != pad) {
        llvm::outs() << separator << token;
        separator = " ";
      }
    llvm::outs() << "\n";
    for (const Hypothesis &h : results[i]) {
      llvm::outs() << "H-" << i << "\t" << llvm::formatv("{0:f4}", h.score)
                   << "\t";
      for (size_t j = 0; j < h.tokens.size(); ++j)
        llvm::outs() << (j ? " " : "") << h.tokens[j];
      llvm::outs() << "\n";
      generated += h.tokens.size() + 1;
    }
  }
  return generated;
}

int runGenerate(int argc, char **argv) {
  llvm::cl::SubCommand sub("generate", "");
  llvm::cl::OptionCategory category("convc generate options");
  llvm::cl::opt<std::string> model(
      llvm::cl::Positional,
      llvm::cl::desc("<Seq2Seq model .so (an .mlir compiled with "
                     "--decode-step=decode, or an ONNX encoder compiled with "
                     "--decoder decoder.onnx), or .mlir>"),
      llvm::cl::Required, llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::list<std::string> sources(
      "src",
      llvm::cl::desc("A source sentence as token ids, e.g. \"5 9 3 2\" "
                     "(repeat for a batch), or a .npy of [B, S] int64 ids"),
      llvm::cl::cat(category), llvm::cl::sub(sub));
  GenerationFlags flags(category, sub);
  llvm::cl::opt<int> threads("threads",
                             llvm::cl::desc("Threads (default: all cores)"),
                             llvm::cl::init(0), llvm::cl::cat(category),
                             llvm::cl::sub(sub));
  llvm::cl::opt<std::string> deviceArg(
      "device",
      llvm::cl::desc("cpu or cuda: where the model runs (a .so must have "
                     "been compiled for it; a .mlir is compiled for it)"),
      llvm::cl::init("cpu"), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::opt<int> warmup(
      "warmup",
      llvm::cl::desc("Translate the batch this many times before the timed "
                     "run (the first run of a process also pages in and "
                     "caches the weights)"),
      llvm::cl::init(0), llvm::cl::cat(category), llvm::cl::sub(sub));
  llvm::cl::HideUnrelatedOptions(category, sub);
  if (!parseSubcommandLine(
          argc, argv,
          "convc generate: translate with a compiled Seq2Seq model\n"))
    return 1;
  Device device;
  if (!parseDevice(deviceArg, device, "convc generate"))
    return 1;

  std::vector<std::vector<int64_t>> batch;
  if (!readSources(sources, batch))
    return 1;
  Invocation inv;
  if (!loadModel(model, device, inv, "convc generate", /*decodeStep=*/"decode"))
    return 1;
  Module *module = inv.module.get();
  if (!setThreads(*module, threads, "convc generate"))
    return 1;
  GenerationOptions options;
  if (!flags.apply(options, "convc generate"))
    return 1;
  if (warmup < 0) {
    llvm::errs() << "convc generate: --warmup must be >= 0\n";
    return 1;
  }
  std::vector<std::vector<Hypothesis>> results;
  for (int i = 0; i < warmup; ++i)
    if (Status s = generateNBest(*module, batch, options, results); !s.ok()) {
      llvm::errs() << "convc generate: " << s.message() << "\n";
      return 1;
    }
  auto t0 = std::chrono::steady_clock::now();
  Status status = generateNBest(*module, batch, options, results);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  if (!status.ok()) {
    llvm::errs() << "convc generate: " << status.message() << "\n";
    return 1;
  }
  size_t generated = printResults(batch, results, options.pad);
  llvm::errs() << llvm::formatv(
      "convc generate: {0} sentence{7}, beam {1}, {2} tokens in {3:f1} ms "
      "({4:f0} tokens/s, {5}{6})\n",
      results.size(), int(flags.beam), generated, ms, generated / (ms / 1000.0),
      module->find("decode_step")
          ? "incremental decoder"
          : "full decoder on the whole prefix at every step",
      warmup > 0 ? ", after " + std::to_string(int(warmup)) + " warm-up runs"
                 : std::string(),
      results.size() == 1 ? "" : "s");
  return 0;
}

} // namespace convc::tool
