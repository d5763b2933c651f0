//===- NextToken.cpp - the next token's scores under the generation options ===//

#include "NextToken.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace convc::detail {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// Tokens that would complete an n-gram the history already holds.
void banRepeatedNgrams(const std::vector<int64_t> &h, int n,
                       std::vector<double> &logProbs) {
  if (n < 1 || int64_t(h.size()) < n - 1)
    return;
  size_t keyStart = h.size() - (n - 1);
  for (size_t i = 0; i + n <= h.size(); ++i)
    if (std::equal(h.begin() + i, h.begin() + i + n - 1, h.begin() + keyStart)) {
      int64_t banned = h[i + n - 1];
      if (banned >= 0 && banned < int64_t(logProbs.size()))
        logProbs[banned] = kNegInf;
    }
}
} // namespace

bool isSampling(const GenerationOptions &options) {
  return options.samplingTopK != 1 || options.samplingTopP < 1.0;
}

Status checkInterrupted(const GenerationOptions &options) {
  if (options.interrupted && options.interrupted())
    return Status(StatusCode::Cancelled, "generation interrupted");
  return Status();
}

void nextTokenLogProbs(const float *logits, int64_t V,
                       const std::vector<int64_t> &history,
                       const std::vector<int64_t> *prefix,
                       const GenerationOptions &o,
                       std::vector<double> &logProbs) {
  logProbs.assign(logits, logits + V);
  if (o.repetitionPenalty != 1.0) {
    std::vector<bool> seen(V, false);
    for (int64_t tok : history)
      if (tok >= 0 && tok < V && !seen[tok]) {
        seen[tok] = true;
        double &l = logProbs[tok];
        l = l > 0 ? l / o.repetitionPenalty : l * o.repetitionPenalty;
      }
  }
  if (isSampling(o) && o.temperature != 1.0)
    for (double &l : logProbs)
      l /= o.temperature;
  double m = *std::max_element(logProbs.begin(), logProbs.end()), sum = 0.0;
  for (double l : logProbs)
    sum += std::exp(l - m);
  double logZ = m + std::log(sum);
  for (double &l : logProbs)
    l -= logZ;

  int64_t t = history.size();
  if (o.pad >= 0 && o.pad < V)
    logProbs[o.pad] = kNegInf;
  if (prefix && t < int64_t(prefix->size())) {
    // Only the forced token; its score is what the model gives it.
    int64_t forced = (*prefix)[t];
    double keep = forced >= 0 && forced < V ? logProbs[forced] : kNegInf;
    std::fill(logProbs.begin(), logProbs.end(), kNegInf);
    if (forced >= 0 && forced < V)
      logProbs[forced] = keep;
    return;
  }
  bool eosAllowed = t >= o.minLength;
  double eosScore = o.eos >= 0 && o.eos < V ? logProbs[o.eos] : kNegInf;
  if (t >= o.maxLength) { // eos is the only continuation
    std::fill(logProbs.begin(), logProbs.end(), kNegInf);
    if (o.eos >= 0 && o.eos < V)
      logProbs[o.eos] = eosScore;
    return;
  }
  if (!eosAllowed && o.eos >= 0 && o.eos < V)
    logProbs[o.eos] = kNegInf;
  banRepeatedNgrams(history, o.noRepeatNgramSize, logProbs);
}

int64_t sampleToken(const std::vector<double> &logProbs, int topK, double topP,
                    std::mt19937_64 &rng) {
  std::vector<int64_t> order;
  for (size_t v = 0; v < logProbs.size(); ++v)
    if (logProbs[v] != kNegInf)
      order.push_back(v);
  if (order.empty())
    return -1;
  // Most likely first; ties by token id, so a seed gives the same tokens.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logProbs[a] > logProbs[b];
  });
  if (topK > 0 && int64_t(order.size()) > topK)
    order.resize(topK);
  // Weights relative to the likeliest allowed token: a token ruled out
  // (the pad id, eos before min-len) may hold nearly all the probability,
  // and at a low temperature every allowed one's would underflow to 0.
  std::vector<double> p(order.size());
  double kept = 0.0;
  for (size_t i = 0; i < order.size(); ++i)
    kept += p[i] = std::exp(logProbs[order[i]] - logProbs[order[0]]);
  if (topP < 1.0) {
    // The smallest head whose share of what top-k kept reaches top-p.
    double cumulative = 0.0;
    size_t n = 0;
    while (n < order.size() && (n == 0 || cumulative < topP * kept))
      cumulative += p[n++];
    order.resize(n);
    p.resize(n);
  }
  double total = std::accumulate(p.begin(), p.end(), 0.0);
  double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (size_t i = 0; i < order.size(); ++i) {
    u -= p[i];
    if (u < 0)
      return order[i];
  }
  return order.back();
}

} // namespace convc::detail
