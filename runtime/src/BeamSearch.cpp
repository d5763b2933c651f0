//===- BeamSearch.cpp - the host's side of beam search --------------------===//

#include "BeamSearch.h"

#include <algorithm>
#include <cmath>

namespace convc::detail {

/// Each sentence's finished hypotheses, best first by length-normalised
/// score, as many as asked for.
void collect(std::vector<std::vector<Hypothesis>> &finished,
             const GenerationOptions &options,
             std::vector<std::vector<Hypothesis>> &results) {
  auto normalized = [&](const Hypothesis &h) {
    return h.score /
           std::pow(double(h.tokens.size() + 1), options.lengthPenalty);
  };
  results.assign(finished.size(), {});
  for (size_t b = 0; b < finished.size(); ++b) {
    std::vector<Hypothesis> &found = finished[b];
    std::stable_sort(found.begin(), found.end(),
                     [&](const Hypothesis &a, const Hypothesis &c) {
                       return normalized(a) > normalized(c);
                     });
    if (int64_t(found.size()) > options.numHypotheses)
      found.resize(options.numHypotheses);
    results[b] = found;
  }
}

void BeamSearch::extend(int64_t b, std::vector<Candidate> &candidates) {
  size_t keep = std::min<size_t>(2 * K_, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + keep,
                    candidates.end(),
                    [](const Candidate &a, const Candidate &c) {
                      return a.score > c.score;
                    });
  int64_t filled = 0;
  for (size_t i = 0; i < keep && filled < K_; ++i) {
    const Candidate &c = candidates[i];
    if (c.token == options_.eos) {
      if (int64_t(finished_[b].size()) < K_)
        finished_[b].push_back(Hypothesis{beams_[c.row].tokens, c.score});
      continue;
    }
    Beam nb{beams_[c.row].tokens, c.score};
    nb.tokens.push_back(c.token);
    next_[b * K_ + filled] = nb;
    source_[b * K_ + filled] = c.row;
    ++filled;
  }
  if (int64_t(finished_[b].size()) >= K_ || filled == 0)
    done_[b] = true;
}

} // namespace convc::detail
