//===- GenerationFlags.cpp - generation options as command-line flags -----===//

#include "GenerationFlags.h"

#include "convc/Npy.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace convc::tool {

namespace cl = llvm::cl;

GenerationFlags::GenerationFlags(cl::OptionCategory &cat, cl::SubCommand &sub)
    : beam("beam", cl::desc("Beam size (1: greedy search, or sampling)"),
           cl::init(1), cl::cat(cat), cl::sub(sub)),
      numHypotheses(
          "num-hypotheses",
          cl::desc("Hypotheses printed per source, best first (generate; "
                   "translate writes one) (at most --beam)"),
          cl::init(1), cl::cat(cat), cl::sub(sub)),
      samplingTopK("sampling-topk",
                   cl::desc("Sample the next token from the K most likely "
                            "(0: all; 1: greedy search, the default)"),
                   cl::init(1), cl::cat(cat), cl::sub(sub)),
      noRepeatNgram("no-repeat-ngram-size",
                    cl::desc("No n-gram of this size appears twice in a "
                             "hypothesis (0: off)"),
                    cl::init(0), cl::cat(cat), cl::sub(sub)),
      maxLength("max-len", cl::desc("Most tokens to generate"), cl::init(64),
                cl::cat(cat), cl::sub(sub)),
      minLength("min-len", cl::desc("Fewest tokens before end-of-sentence"),
                cl::init(0), cl::cat(cat), cl::sub(sub)),
      startToken("start-token",
                 cl::desc("The decoder's first token (default -1: eos, as "
                          "fairseq; others start from bos or pad)"),
                 cl::init(-1), cl::cat(cat), cl::sub(sub)),
      eosToken("eos-token",
               cl::desc("The end-of-sentence id: ends hypotheses, and the "
                        "default start token (fairseq's dictionary: 2)"),
               cl::init(2), cl::cat(cat), cl::sub(sub)),
      padToken("pad-token",
               cl::desc("The padding id: batches of sources are left-padded "
                        "with it, and it is never generated (fairseq's "
                        "dictionary: 1; the model must mask it)"),
               cl::init(1), cl::cat(cat), cl::sub(sub)),
      maxBatchSize("max-batch-size",
                   cl::desc("Sort sources by length and translate at most "
                            "this many at a time (examples or tokens, see "
                            "--batch-type; 0: all at once)"),
                   cl::init(0), cl::cat(cat), cl::sub(sub)),
      lengthPenalty(
          "length-penalty",
          cl::desc("Finished beams rank by score / (length + 1)^penalty"),
          cl::init(1.0), cl::cat(cat), cl::sub(sub)),
      samplingTopP("sampling-topp",
                   cl::desc("Sample within the smallest set of most likely "
                            "tokens whose probability reaches P"),
                   cl::init(1.0), cl::cat(cat), cl::sub(sub)),
      temperature("sampling-temperature",
                  cl::desc("Divide the logits by this before sampling"),
                  cl::init(1.0), cl::cat(cat), cl::sub(sub)),
      repetitionPenalty("repetition-penalty",
                        cl::desc("Penalise tokens a hypothesis already has "
                                 "(> 1 repeats less; CTRL's penalty)"),
                        cl::init(1.0), cl::cat(cat), cl::sub(sub)),
      seed("seed",
           cl::desc("Seed for sampling: the same seed gives the same tokens "
                    "(default: a random one)"),
           cl::cat(cat), cl::sub(sub)),
      prefix("prefix",
             cl::desc("Token ids every hypothesis must start with, e.g. "
                      "\"4 17\""),
             cl::cat(cat), cl::sub(sub)),
      batchType("batch-type",
                cl::desc("What --max-batch-size counts: examples or tokens"),
                cl::init("examples"), cl::cat(cat), cl::sub(sub)),
      params("params",
             cl::desc("A directory of <name>.npy weights, for models "
                      "compiled with weights as inputs"),
             cl::value_desc("DIR"), cl::cat(cat), cl::sub(sub)) {}

bool parseTokenIds(llvm::StringRef text, std::vector<int64_t> &tokens,
                   std::string &error) {
  // Any blanks separate ids (tabs in a corpus, say).
  llvm::SmallVector<llvm::StringRef> words;
  llvm::SplitString(text, words);
  for (llvm::StringRef w : words) {
    int64_t id;
    if (w.trim().getAsInteger(10, id)) {
      error = "'" + w.str() + "' is not a token id";
      return false;
    }
    tokens.push_back(id);
  }
  return true;
}

/// --params DIR: every DIR/<name>.npy as the parameter <name>.
static bool readParameters(const std::string &dir, GenerationOptions &options,
                           const char *command) {
  std::string error;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    llvm::StringRef path = it->path();
    if (!path.ends_with(".npy"))
      continue;
    NpyArray array;
    Tensor tensor;
    if (!readNpy(path.str(), array, error) ||
        !tensorFromNpy(array, tensor, error)) {
      llvm::errs() << command << ": " << error << "\n";
      return false;
    }
    options.parameters[llvm::sys::path::stem(path).str()] = tensor;
  }
  if (ec) {
    llvm::errs() << command << ": cannot read '" << dir
                 << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}

bool GenerationFlags::apply(GenerationOptions &o, const char *command) const {
  o.beam = beam;
  o.numHypotheses = numHypotheses;
  o.maxLength = maxLength;
  o.minLength = minLength;
  o.startToken = startToken;
  o.eos = eosToken;
  o.pad = padToken;
  o.lengthPenalty = lengthPenalty;
  o.samplingTopK = samplingTopK;
  o.samplingTopP = samplingTopP;
  o.temperature = temperature;
  o.repetitionPenalty = repetitionPenalty;
  o.noRepeatNgramSize = noRepeatNgram;
  o.maxBatchSize = maxBatchSize;
  if (!seed.empty()) {
    if (llvm::StringRef(seed).getAsInteger(10, o.seed)) {
      llvm::errs() << command << ": --seed '" << seed
                   << "' is not a non-negative integer\n";
      return false;
    }
    o.hasSeed = true;
  }
  if (batchType == "examples" || batchType == "tokens") {
    o.batchType = batchType == "tokens" ? BatchType::Tokens : BatchType::Examples;
  } else {
    llvm::errs() << command << ": --batch-type is examples or tokens, not '"
                 << batchType << "'\n";
    return false;
  }
  if (!prefix.empty()) {
    std::vector<int64_t> tokens;
    std::string error;
    if (!parseTokenIds(prefix, tokens, error)) {
      llvm::errs() << command << ": --prefix: " << error << "\n";
      return false;
    }
    o.prefixes = {tokens};
  }
  return params.empty() || readParameters(params, o, command);
}

} // namespace convc::tool
