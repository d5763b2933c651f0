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

#include <map>
#include <string>
#include <vector>

namespace convc {

struct GenerationOptions {
  int beam = 1;             ///< 1: greedy
  int64_t maxLength = 64;   ///< generated tokens, eos excluded
  int64_t eos = 2, pad = 1; ///< fairseq's dictionary conventions
  double lengthPenalty = 1.0; ///< score / length^penalty ranks finished beams
  /// Named inputs every entry point may take besides the generator's own
  /// (weights of a model compiled with weights as inputs).
  std::map<std::string, Tensor> parameters;
};

struct Hypothesis {
  std::vector<int64_t> tokens; ///< without the final eos
  double score = 0.0;          ///< sum of log-probabilities, eos included
};

/// Generates one hypothesis (the best) per source. Sources are token lists
/// (fairseq ends them with eos); shorter ones are left-padded with `pad`.
Status generate(const Module &module,
                const std::vector<std::vector<int64_t>> &sources,
                const GenerationOptions &options,
                std::vector<Hypothesis> &results);

} // namespace convc

#endif // CONVC_GENERATE_H
