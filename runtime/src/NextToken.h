//===- NextToken.h - the next token's scores under the generation options -===//
//
// What the search does with one hypothesis' logits before choosing: the
// repetition penalty, temperature (sampling only), log-softmax, and the
// tokens that may not come next (pad; eos before the minimum length; every
// token but eos at the maximum; a token completing a repeated n-gram; any
// but the forced prefix's). Then greedy, beam or sampled choice.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_NEXTTOKEN_H
#define CONVC_RUNTIME_NEXTTOKEN_H

#include "convc/Generate.h"

#include <cstdint>
#include <random>
#include <vector>

namespace convc::detail {

/// Whether the options ask for random sampling rather than search.
bool isSampling(const GenerationOptions &options);

/// Cancelled when `options.interrupted` says so; asked before each step.
Status checkInterrupted(const GenerationOptions &options);

/// Log-probabilities of each next token of a hypothesis that has
/// `history` so far (its forced prefix included) and, when it has one,
/// `prefix`; -inf for the tokens that may not come next.
void nextTokenLogProbs(const float *logits, int64_t vocabulary,
                       const std::vector<int64_t> &history,
                       const std::vector<int64_t> *prefix,
                       const GenerationOptions &options,
                       std::vector<double> &logProbs);

/// A token drawn from `logProbs` cut to the top-k most likely (0: all) and
/// then to the smallest set reaching probability top-p; -1 if every token
/// is forbidden.
int64_t sampleToken(const std::vector<double> &logProbs, int topK, double topP,
                    std::mt19937_64 &rng);

} // namespace convc::detail

#endif // CONVC_RUNTIME_NEXTTOKEN_H
