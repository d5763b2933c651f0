//===- BeamSearch.h - the host's side of beam search ------------*- C++ -*-===//
//
// The bookkeeping of beam search, shared by the searches over a step's
// logits and over its k best (token, log-prob) pairs: which hypotheses are
// alive in which rows, which have finished, and which row each row
// continues.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_BEAMSEARCH_H
#define CONVC_RUNTIME_BEAMSEARCH_H

#include "convc/Generate.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace convc::detail {

struct Beam {
  std::vector<int64_t> tokens;
  double score;
};

/// Each sentence's finished hypotheses, best first by length-normalised
/// score, as many as asked for.
void collect(std::vector<std::vector<Hypothesis>> &finished,
             const GenerationOptions &options,
             std::vector<std::vector<Hypothesis>> &results);

/// The beams of B sentences, K rows each (row b * K + k), and their
/// finished hypotheses, advanced a step at a time from the candidate
/// extensions of each sentence's live rows.
class BeamSearch {
public:
  struct Candidate {
    double score;
    int64_t row, token;
  };

  BeamSearch(int64_t B, int64_t K, const GenerationOptions &options)
      : K_(K), options_(options), beams_(B * K, Beam{{}, kNegInf}),
        finished_(B), done_(B, false) {
    for (int64_t b = 0; b < B; ++b)
      beams_[b * K].score = 0.0; // one live hypothesis per sentence at first
  }

  int64_t rows() const { return int64_t(beams_.size()); }
  const Beam &beam(int64_t r) const { return beams_[r]; }
  bool live(int64_t r) const { return beams_[r].score != kNegInf; }
  /// The token row r's next step reads: its last, or `start`.
  int64_t lastToken(int64_t r, int64_t start) const {
    return beams_[r].tokens.empty() ? start : beams_[r].tokens.back();
  }
  /// The row whose states each row continues in the next step.
  const std::vector<int64_t> &sourceRows() const { return source_; }

  /// One step: `extendRow(r, candidates)` appends the extensions of live
  /// row r (scores included) for every sentence not yet done; each such
  /// sentence then keeps its best (`extend`).
  template <typename ExtendRow> void step(ExtendRow extendRow) {
    begin();
    for (int64_t b = 0; b < int64_t(done_.size()); ++b) {
      if (done_[b])
        continue;
      candidates_.clear();
      for (int64_t r = b * K_; r < (b + 1) * K_; ++r)
        if (live(r))
          extendRow(r, candidates_);
      extend(b, candidates_);
    }
  }

  /// Ends the step; false once every sentence is done.
  bool end() {
    if (std::all_of(done_.begin(), done_.end(), [](bool d) { return d; }))
      return false;
    beams_.swap(next_);
    return true;
  }

  void results(std::vector<std::vector<Hypothesis>> &out) {
    collect(finished_, options_, out);
  }

  static constexpr double kNegInf = -std::numeric_limits<double>::infinity();

private:
  /// Starts a step: until chosen, a row continues its sentence's first.
  void begin() {
    next_.assign(beams_.size(), Beam{{}, kNegInf});
    source_.resize(beams_.size());
    for (int64_t r = 0; r < rows(); ++r)
      source_[r] = r / K_ * K_;
  }

  /// Sentence b's next beams: of its 2K best candidates (any order given),
  /// those ending in eos finish (up to K), the others fill its K rows.
  void extend(int64_t b, std::vector<Candidate> &candidates);

  int64_t K_;
  const GenerationOptions &options_;
  std::vector<Beam> beams_, next_;
  std::vector<int64_t> source_;
  std::vector<Candidate> candidates_;
  std::vector<std::vector<Hypothesis>> finished_;
  std::vector<bool> done_;
};

} // namespace convc::detail

#endif // CONVC_RUNTIME_BEAMSEARCH_H
