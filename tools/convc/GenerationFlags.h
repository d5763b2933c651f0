//===- GenerationFlags.h - generation options as command-line flags -*- C++ -*-===//
//
// `convc generate` and `convc translate` take the same search and sampling
// flags, named after CTranslate2's translate_batch options.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_TOOLS_CONVC_GENERATIONFLAGS_H
#define CONVC_TOOLS_CONVC_GENERATIONFLAGS_H

#include "convc/Generate.h"

#include "llvm/Support/CommandLine.h"

#include <string>

namespace convc::tool {

struct GenerationFlags {
  GenerationFlags(llvm::cl::OptionCategory &category, llvm::cl::SubCommand &sub);

  /// The flags into `options`; false once `<command>: <why>` is on stderr.
  bool apply(GenerationOptions &options, const char *command) const;

  llvm::cl::opt<int> beam, numHypotheses, samplingTopK, noRepeatNgram;
  llvm::cl::opt<int64_t> maxLength, minLength, startToken, eosToken, padToken,
      maxBatchSize;
  llvm::cl::opt<double> lengthPenalty, samplingTopP, temperature,
      repetitionPenalty;
  llvm::cl::opt<std::string> seed, prefix, batchType, params;
};

/// "5 9 3 2" as token ids; false (with `error`) on a word that is not one.
bool parseTokenIds(llvm::StringRef text, std::vector<int64_t> &tokens,
                   std::string &error);

} // namespace convc::tool

#endif // CONVC_TOOLS_CONVC_GENERATIONFLAGS_H
