//===- Generate.h - greedy and beam search over a compiled Seq2Seq ---------===//
//
// A Seq2Seq module (see frontends/pytorch/convc_torch/seq2seq.py, compiled
// with --decode-step=decode) has the entries
//   encode(src_tokens [B, S] i64) -> (enc, enc_pad)
//   decode_init(enc, enc_pad) -> (cache0, ...)
//   decode_step(tokens [N, 1] i64, step [N] i64, state0.., cache0.., enc_pad)
//     -> (logits [N, 1, V], state0.next, ...)
// The generator encodes once, then decodes token by token, reordering every
// state along the batch axis as beams are chosen.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_GENERATE_H
#define CONVC_GENERATE_H

#include "convc/Runtime.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace convc {

/// How a batch is cut when `maxBatchSize` > 0: at most that many sources
/// (Examples) or padded source tokens, sources x longest (Tokens).
enum class BatchType { Examples, Tokens };

/// The options of CTranslate2's `translate_batch`, with fairseq's defaults
/// for the special tokens.
struct GenerationOptions {
  int beam = 1;             ///< 1: greedy (or sampling, below)
  int numHypotheses = 1;    ///< n-best per source, at most `beam`
  int64_t maxLength = 64;   ///< generated tokens, eos excluded
  int64_t minLength = 0;    ///< eos is not allowed before this many tokens
  int64_t eos = 2, pad = 1; ///< fairseq's dictionary conventions
  /// The decoder's first input token: fairseq starts from eos (-1 means
  /// eos), other models from a bos or pad id.
  int64_t startToken = -1;
  double lengthPenalty = 1.0; ///< score / (length + 1)^penalty ranks finished
                              ///< beams, length the hypothesis' tokens
  /// Random sampling (beam 1 only) when samplingTopK != 1 or samplingTopP < 1:
  /// the next token is drawn from the samplingTopK most likely (0: all),
  /// cut to the smallest set whose probability reaches samplingTopP, of
  /// softmax(logits / temperature). samplingTopK = 1 is greedy search.
  int samplingTopK = 1;
  double samplingTopP = 1.0;
  double temperature = 1.0;
  /// The random generator's seed: the same seed gives the same tokens; none
  /// draws one.
  bool hasSeed = false;
  uint64_t seed = 0;
  /// Logits of tokens already in a hypothesis are divided by this (or
  /// multiplied, when negative) before the softmax (CTRL's penalty).
  double repetitionPenalty = 1.0;
  /// No n-gram of this size appears twice in a hypothesis (0: off).
  int noRepeatNgramSize = 0;
  /// Forced target prefixes: one per source, or one for all; the
  /// hypotheses start with them (and include them).
  std::vector<std::vector<int64_t>> prefixes;
  /// Sources are sorted by length, cut into batches of at most this size
  /// (0: one batch) and the results returned in the sources' order.
  int64_t maxBatchSize = 0;
  BatchType batchType = BatchType::Examples;
  /// Named inputs every entry point may take besides the generator's own
  /// (weights of a model compiled with weights as inputs).
  std::map<std::string, Tensor> parameters;
  /// Asked before every decoding step, from the generating thread; true
  /// stops generation with StatusCode::Cancelled (Python's Ctrl-C).
  std::function<bool()> interrupted;
};

struct Hypothesis {
  std::vector<int64_t> tokens; ///< without the final eos
  double score = 0.0;          ///< sum of log-probabilities, eos included
};

/// The checks generate() makes of `options` for `sources` sources, alone:
/// a corpus tool checks them once, not per batch.
Status checkGenerationOptions(const GenerationOptions &options, size_t sources);

/// Generates the best hypothesis per source. Sources are token lists
/// (fairseq's: ending with eos), any lengths; they are left-padded.
Status generate(const Module &module,
                const std::vector<std::vector<int64_t>> &sources,
                const GenerationOptions &options,
                std::vector<Hypothesis> &results);

/// The `numHypotheses` best per source, best first (distinct hypotheses
/// ranked by score / (length + 1)^lengthPenalty).
Status generateNBest(const Module &module,
                     const std::vector<std::vector<int64_t>> &sources,
                     const GenerationOptions &options,
                     std::vector<std::vector<Hypothesis>> &results);

} // namespace convc

#endif // CONVC_GENERATE_H
