//===- Generate.cpp - greedy and beam search ------------------------------===//

#include "convc/Generate.h"

#include "BeamSearch.h"
#include "ChoosingSteps.h"
#include "NextToken.h"
#include "cuda/DeviceCall.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>

namespace convc {

namespace {

using Named = detail::NamedTensors;
using detail::BeamSearch;
using detail::place;
using detail::greedySteps;
using detail::topKBeamSteps;

/// Runs `entry` with inputs looked up by name; outputs by name.
Status runNamed(const Module &module, const std::string &entry,
                const Named &inputs, Named &outputs,
                const RunOptions &options = RunOptions()) {
  const EntryPoint *e = module.find(entry);
  if (!e)
    return Status(StatusCode::NotFound,
                  "the module has no '" + entry +
                      "' entry point: compile the Seq2Seq model with "
                      "--decode-step=decode");
  std::vector<Tensor> in, out;
  for (const TensorSpec &spec : e->inputs) {
    auto it = inputs.find(spec.name);
    if (it == inputs.end())
      return Status(StatusCode::InvalidArgument,
                    "'" + entry + "' needs an input named '" + spec.name +
                        "' that the generator does not provide (weights "
                        "taken as inputs: convc generate --params DIR, "
                        "Translator(parameters=...) in Python)");
    in.push_back(it->second);
  }
  if (Status s = module.run(entry, in, out, options); !s.ok())
    return s;
  for (size_t i = 0; i < out.size(); ++i)
    outputs[e->outputs[i].name] = out[i];
  return Status();
}

/// Rows `rows` of `t` (along dimension 0), in that order, where `t` is:
/// on the host or on the GPU. All rows in order is `t` itself.
Status gatherRows(const Tensor &t, const std::vector<int64_t> &rows,
                  Tensor &out) {
  bool identity = int64_t(rows.size()) == t.shape()[0];
  for (size_t i = 0; identity && i < rows.size(); ++i)
    identity = rows[i] == int64_t(i);
  if (identity) {
    out = t;
    return Status();
  }
  if (t.device() == Device::CUDA)
    return cuda::gatherRows(t, rows, out);
  std::vector<int64_t> shape = t.shape();
  size_t rowBytes = t.numBytes() / std::max<int64_t>(shape[0], 1);
  shape[0] = rows.size();
  out = Tensor::zeros(t.dtype(), shape);
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(static_cast<char *>(out.data()) + i * rowBytes,
                static_cast<const char *>(t.data()) + rows[i] * rowBytes,
                rowBytes);
  return Status();
}

/// A forced token outside the vocabulary [0, V) would leave no hypothesis.
Status
checkPrefixTokens(const std::vector<const std::vector<int64_t> *> &prefixes,
                  int64_t V) {
  for (const std::vector<int64_t> *prefix : prefixes)
    for (size_t i = 0; prefix && i < prefix->size(); ++i)
      if (int64_t token = (*prefix)[i]; token < 0 || token >= V)
        return Status(StatusCode::InvalidArgument,
                      "target prefix token " + std::to_string(token) +
                          " is outside the vocabulary [0, " +
                          std::to_string(V) + ")");
  return Status();
}

/// An eos id the decoder can never give would let no hypothesis end; a
/// pad id outside the vocabulary would pad batches with a token the model
/// cannot read (and leave its own pad id choosable); a start token outside
/// it is one the decoder's embedding reads as a zero row, or fails on.
Status checkIdsInVocabulary(const GenerationOptions &options, int64_t V) {
  for (auto [what, id] : {std::pair<const char *, int64_t>{"eos", options.eos},
                          {"pad", options.pad},
                          {"start token", options.startToken}})
    if (id >= V)
      return Status(StatusCode::InvalidArgument,
                    std::string("the ") + what + " id " + std::to_string(id) +
                        " is outside the vocabulary [0, " + std::to_string(V) +
                        ")");
  return Status();
}

/// Search from the logits: beam search, greedy or sampling over
/// `decoder`'s [N, T, V] logits, the rules applied on the host. An
/// incremental `step` takes each row's last token, its position and the
/// states (which follow their beams); a full decoder the whole prefix.
Status logitsSteps(const Module &module, const EntryPoint &decoder, bool step,
                   Named &inputs, int64_t B, int64_t K, int64_t start,
                   const std::vector<const std::vector<int64_t> *> &prefixes,
                   const GenerationOptions &options, std::mt19937_64 &rng,
                   bool gpu, std::vector<std::vector<Hypothesis>> &results) {
  const int64_t N = B * K;
  const bool sampling = detail::isSampling(options);
  // Every step's positions, [steps, N], uploaded at once; step t reads row
  // t where it is.
  Tensor positions;
  if (step) {
    Tensor all = Tensor::zeros(DType::I64, {options.maxLength + 1, N});
    for (int64_t t = 0; t <= options.maxLength; ++t)
      std::fill(all.data<int64_t>() + t * N, all.data<int64_t>() + (t + 1) * N,
                t);
    if (Status s = place(all, gpu, positions); !s.ok())
      return s;
  }
  // The step returns its logits to the host, its states where they were.
  RunOptions logitsToHost;
  logitsToHost.outputs = gpu ? Device::CUDA : Device::CPU;
  logitsToHost.outputDevices = {Device::CPU};
  BeamSearch search(B, K, options);
  std::vector<double> logProbs;
  for (int64_t t = 0; t <= options.maxLength; ++t) {
    if (Status s = detail::checkInterrupted(options); !s.ok())
      return s;
    // The step takes each row's last token at its position; the full
    // decoder the whole prefix, [start, tokens so far].
    int64_t T = step ? 1 : t + 1;
    Tensor tokens = Tensor::zeros(DType::I64, {N, T});
    for (int64_t r = 0; r < N; ++r) {
      int64_t *row = tokens.data<int64_t>() + r * T;
      const std::vector<int64_t> &seen = search.beam(r).tokens;
      row[0] = step ? search.lastToken(r, start) : start;
      for (int64_t i = 0; !step && i < t; ++i)
        row[i + 1] = i < int64_t(seen.size()) ? seen[i] : options.pad;
    }
    inputs[decoder.inputs[0].name] = tokens;
    if (step) {
      int64_t *row = positions.data<int64_t>() + t * N;
      inputs["step"] = gpu ? Tensor::borrowDevice(DType::I64, {N}, row)
                           : Tensor::borrow(DType::I64, {N}, row);
    }
    Named out;
    if (Status s = runNamed(module, decoder.name, inputs, out, logitsToHost);
        !s.ok())
      return s;
    const Tensor &logits = out[decoder.outputs[0].name];
    if (logits.dtype() != DType::F32 || logits.shape().size() != 3 ||
        logits.shape()[0] != N || logits.shape()[1] != T)
      return Status(StatusCode::InvalidArgument,
                    "'" + decoder.name + "' must return f32 logits [N, " +
                        std::to_string(T) + ", V]");
    // Each row's logits at its last position.
    int64_t V = logits.shape()[2], rowStride = T * V;
    // V is known from the first step's logits.
    if (t == 0) {
      if (Status s = checkPrefixTokens(prefixes, V); !s.ok())
        return s;
      if (Status s = checkIdsInVocabulary(options, V); !s.ok())
        return s;
    }
    const float *l = logits.data<float>() + (T - 1) * V;
    // Candidates: every live beam extended by every allowed token (or by
    // one sampled token).
    search.step([&](int64_t r, std::vector<BeamSearch::Candidate> &out) {
      double score = search.beam(r).score;
      detail::nextTokenLogProbs(l + r * rowStride, V, search.beam(r).tokens,
                                prefixes[r / K], options, logProbs);
      if (sampling) {
        int64_t v = detail::sampleToken(logProbs, options.samplingTopK,
                                        options.samplingTopP, rng);
        if (v >= 0)
          out.push_back({score + logProbs[v], r, v});
        return;
      }
      for (int64_t v = 0; v < V; ++v)
        if (logProbs[v] != BeamSearch::kNegInf)
          out.push_back({score + logProbs[v], r, v});
    });
    if (!search.end())
      break;
    // Every state follows its beam.
    for (auto &[name, value] : out)
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".next") == 0)
        if (Status s = gatherRows(value, search.sourceRows(),
                                  inputs[name.substr(0, name.size() - 5)]);
            !s.ok())
          return s;
  }
  search.results(results);
  return Status();
}

/// The encoder run on `source` alone: whether it accepts it.
Status encodeAlone(const Module &module, const std::vector<int64_t> &source,
                   const GenerationOptions &options) {
  Named inputs = options.parameters, encoded;
  Tensor src = Tensor::zeros(DType::I64, {1, int64_t(source.size())});
  std::copy(source.begin(), source.end(), src.data<int64_t>());
  inputs["src_tokens"] = src;
  RunOptions onDevice;
  onDevice.outputs = module.device();
  return runNamed(module, "encode", inputs, encoded, onDevice);
}

/// `failed` with the source it is about: a batch's encoder error (a token
/// id outside the embedding table) names no row. The first of the batch
/// (`order[first, end)`, indices into `sources`) that
/// the encoder refuses on its own, while it accepts another, is named; when
/// it refuses all of them alike the module or the options are at fault,
/// and `failed` stays as it is.
Status nameRefusedSource(const Module &module,
                         const std::vector<std::vector<int64_t>> &sources,
                         const std::vector<size_t> &order, size_t first,
                         size_t end, const GenerationOptions &options,
                         Status failed) {
  if (end - first < 2)
    return failed;
  std::optional<std::pair<size_t, Status>> refused;
  bool accepted = false;
  for (size_t k = first; k < end; ++k) {
    size_t i = order[k];
    Status s = encodeAlone(module, sources[i], options);
    if (s.ok())
      accepted = true;
    else if (!refused)
      refused = {i, s};
    if (accepted && refused)
      return Status(refused->second.code(),
                    "source " + std::to_string(refused->first) + ": " +
                        refused->second.message());
  }
  return failed;
}

/// One batch: encode, then decode step by step, choosing each row's next
/// token by beam search, greedily or by sampling. `prefixes[b]` is source
/// b's forced prefix, or null.
Status searchBatch(const Module &module,
                   const std::vector<std::vector<int64_t>> &sources,
                   const std::vector<const std::vector<int64_t> *> &prefixes,
                   const GenerationOptions &options, std::mt19937_64 &rng,
                   std::vector<std::vector<Hypothesis>> &results) {
  const int64_t B = sources.size(), K = options.beam, N = B * K;
  const int64_t start = options.startToken < 0 ? options.eos : options.startToken;
  const bool sampling = detail::isSampling(options);
  size_t S = 0;
  for (const auto &src : sources)
    S = std::max(S, src.size());
  // Left-padded sources, as fairseq batches them.
  Tensor src = Tensor::zeros(DType::I64, {B, int64_t(S)});
  for (int64_t b = 0; b < B; ++b) {
    int64_t *row = src.data<int64_t>() + b * S;
    std::fill(row, row + S, options.pad);
    std::copy(sources[b].begin(), sources[b].end(),
              row + S - sources[b].size());
  }
  // On the GPU, what the decoder reads stays there from the encoder on:
  // the encoder's outputs, the caches, the states (the parameters are
  // uploaded by generateNBest). Only the logits come back every step.
  const bool gpu = module.device() == Device::CUDA;
  RunOptions onDevice;
  onDevice.outputs = gpu ? Device::CUDA : Device::CPU;
  Named encodeInputs = options.parameters;
  encodeInputs["src_tokens"] = src;
  Named encoded;
  if (Status s = runNamed(module, "encode", encodeInputs, encoded, onDevice);
      !s.ok())
    return s;
  // Every beam row of a sentence shares its encoder output (batch-major).
  for (auto &[name, value] : encoded)
    if (value.shape().empty() || value.shape()[0] != B)
      return Status(StatusCode::InvalidArgument,
                    "encoder output '" + name + "' must be batch-major ([" +
                        std::to_string(B) +
                        ", ...]), as the generator gathers its rows per "
                        "beam; a time-major [S, B, ...] output is transposed "
                        "by the package when the decoder's export names its "
                        "dim 1 as prev_tokens' dim 0 (dynamic_axes)");
  std::vector<int64_t> expand;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      expand.push_back(b);
  Named inputs = options.parameters;
  for (auto &[name, value] : encoded)
    if (Status s = gatherRows(value, expand, inputs[name]); !s.ok())
      return s;
  // Incremental decoding (decode_init + decode_step, derived by the
  // compiler), or, for a module packaged from encoder.onnx + decoder.onnx,
  // the full decoder `decode(prev_tokens [N, t], encoder outputs...)` run on
  // the whole prefix at every step (as ONNX Runtime users do).
  const EntryPoint *step = module.find("decode_step");
  const EntryPoint *full = step ? nullptr : module.find("decode");
  if (!step && !full)
    return Status(StatusCode::NotFound,
                  "the module has neither 'decode_step' (compile the Seq2Seq "
                  "model with --decode-step=decode) nor a full 'decode' "
                  "(compile encoder.onnx with --decoder decoder.onnx)");
  // The decoder takes the previous tokens (i64 [N, T]) first and returns
  // the logits first: "tokens" and "logits" from MLIR, the names of the
  // decoder.onnx in a package.
  const EntryPoint *decoder = step ? step : full;
  if (decoder->inputs.empty() || decoder->outputs.empty() ||
      decoder->inputs[0].dtype != DType::I64)
    return Status(StatusCode::InvalidArgument,
                  "'" + decoder->name + "' must take the previous tokens "
                  "(i64 [N, T]) first and return logits [N, T, V] first");
  // A static vocabulary bounds the eos id now (else the first logits do).
  if (const auto &dims = decoder->outputs[0].dims; !dims.empty()) {
    const std::string &V = dims.back();
    if (!V.empty() && std::all_of(V.begin(), V.end(), ::isdigit))
      if (Status s = checkIdsInVocabulary(options, std::stoll(V)); !s.ok())
        return s;
  }
  if (step) {
    Named cached;
    if (Status s = runNamed(module, "decode_init", inputs, cached, onDevice);
        !s.ok())
      return s;
    for (auto &[name, value] : cached)
      inputs[name] = value;
    for (const TensorSpec &spec : step->inputs)
      if (spec.name.rfind("state", 0) == 0) {
        std::vector<int64_t> shape = {N};
        for (size_t i = 1; i < spec.dims.size(); ++i)
          shape.push_back(std::stoll(spec.dims[i]));
        if (Status s = place(Tensor::zeros(spec.dtype, shape), gpu,
                             inputs[spec.name]);
            !s.ok())
          return s;
      }
  }
  // Without sampling, penalties or forced prefixes, a step that chooses its
  // tokens itself (convc-add-token-choice) does for greedy search, and for
  // beam search over up to k / 2 beams one that returns each row's k best
  // (token, log-prob) pairs instead of its logits.
  const bool plain = step && !sampling && options.repetitionPenalty == 1.0 &&
                     options.noRepeatNgramSize == 0 &&
                     std::all_of(prefixes.begin(), prefixes.end(),
                                 [](const std::vector<int64_t> *p) { return !p; });
  const EntryPoint *greedy = plain ? module.find("decode_step_greedy") : nullptr;
  int64_t topK = 0;
  if (greedy && K == 1 && greedy->outputs.size() >= 3 &&
      greedy->outputs[1].name == "picked") {
    Tensor starts = Tensor::zeros(DType::I64, {N, 1});
    std::fill(starts.data<int64_t>(), starts.data<int64_t>() + N, start);
    if (Status s = place(starts, gpu, inputs[greedy->inputs[0].name]); !s.ok())
      return s;
    return greedySteps(module, *greedy, inputs, N, options, gpu, results);
  }
  for (const EntryPoint &e : module.entryPoints())
    if (plain && e.name.rfind("decode_step_top", 0) == 0 &&
        e.outputs.size() >= 2 && e.outputs[0].name == "candidates" &&
        e.outputs[1].name == "step.next") {
      int64_t k = std::atoll(e.name.c_str() + 15);
      if (k >= 2 * K && (!topK || k < topK))
        topK = k, decoder = &e;
    }
  if (topK)
    return topKBeamSteps(module, *decoder, inputs, B, K, start, options, gpu,
                         results);
  return logitsSteps(module, *decoder, step != nullptr, inputs, B, K, start,
                     prefixes, options, rng, gpu, results);
}

constexpr int64_t kMaxBeam = 1024;

Status invalid(const std::string &message) {
  return Status(StatusCode::InvalidArgument, message);
}

Status checkOptions(const GenerationOptions &o, size_t sources) {
  if (o.beam < 1 || o.maxLength < 1)
    return invalid("beam and max length must be >= 1");
  // Every beam is a decoder row: a beam of millions is memory, not search.
  if (o.beam > kMaxBeam)
    return invalid("beam " + std::to_string(o.beam) + " is over " +
                   std::to_string(kMaxBeam));
  if (o.numHypotheses < 1 || o.numHypotheses > o.beam)
    return invalid("num_hypotheses must be in [1, beam] (" +
                   std::to_string(o.numHypotheses) + " with beam " +
                   std::to_string(o.beam) + ")");
  if (o.eos < 0 || o.pad < 0 || o.eos == o.pad)
    return invalid("the eos and pad ids must be distinct token ids >= 0 (eos " +
                   std::to_string(o.eos) + ", pad " + std::to_string(o.pad) +
                   ")");
  if (o.startToken < -1)
    return invalid("start token " + std::to_string(o.startToken) +
                   " is not a token id (-1: eos)");
  if (!std::isfinite(o.lengthPenalty))
    return invalid("the length penalty must be a finite number");
  if (o.minLength < 0 || o.minLength > o.maxLength)
    return invalid("min length must be in [0, max length]");
  if (detail::isSampling(o) && o.beam != 1)
    return invalid("random sampling (top-k != 1 or top-p < 1) needs beam 1");
  // An infinite temperature or penalty divides scores into NaN or 0.
  if (o.samplingTopK < 0 || !(o.samplingTopP > 0 && o.samplingTopP <= 1) ||
      !(o.temperature > 0) || !std::isfinite(o.temperature))
    return invalid("sampling needs top-k >= 0, top-p in (0, 1] and a "
                   "finite temperature > 0");
  if (!(o.repetitionPenalty > 0) || !std::isfinite(o.repetitionPenalty) ||
      o.noRepeatNgramSize < 0)
    return invalid("the repetition penalty must be finite and > 0 and the "
                   "no-repeat n-gram size >= 0");
  if (o.maxBatchSize < 0)
    return invalid("max batch size must be >= 0 (0: one batch)");
  if (!o.prefixes.empty() && o.prefixes.size() != 1 &&
      o.prefixes.size() != sources)
    return invalid("give one target prefix per source, or one for all (" +
                   std::to_string(o.prefixes.size()) + " prefixes for " +
                   std::to_string(sources) + " sources)");
  for (const auto &prefix : o.prefixes) {
    if (int64_t(prefix.size()) > o.maxLength)
      return invalid("a target prefix is longer than the max length");
    // The pad id is never chosen (sources are padded with it), so forcing
    // it would leave no hypothesis.
    // Nor eos: a hypothesis ends there, so the rest could not follow.
    for (size_t i = 0; i < prefix.size(); ++i)
      if (prefix[i] == o.pad || prefix[i] == o.eos)
        return invalid("target prefix token " + std::to_string(prefix[i]) +
                       " (position " + std::to_string(i) + ") is the " +
                       (prefix[i] == o.pad
                            ? "pad id, which is never generated"
                            : "eos id, which ends a hypothesis"));
  }
  return Status();
}

} // namespace

Status checkGenerationOptions(const GenerationOptions &options,
                              size_t sources) {
  return checkOptions(options, sources);
}

Status generateNBest(const Module &module,
                     const std::vector<std::vector<int64_t>> &sources,
                     const GenerationOptions &options,
                     std::vector<std::vector<Hypothesis>> &results) {
  if (sources.empty())
    return invalid("no source sentences");
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::vector<int64_t> &src = sources[i];
    if (src.empty())
      return invalid("empty source sentence (give at least the eos token)");
    // Attention over it would have no key: NaN, as in PyTorch.
    if (std::all_of(src.begin(), src.end(),
                    [&](int64_t t) { return t == options.pad; }))
      return invalid("source " + std::to_string(i) +
                     " is all padding (the pad id " +
                     std::to_string(options.pad) + ")");
  }
  if (Status s = checkOptions(options, sources.size()); !s.ok())
    return s;
  // On the GPU, the parameters go there once for all batches (device
  // tensors given stay where they are).
  GenerationOptions placed = options;
  if (module.device() == Device::CUDA)
    for (auto &[name, value] : placed.parameters)
      if (Status s = cudaToDevice(value, value); !s.ok())
        return s;
  std::mt19937_64 rng(options.hasSeed ? options.seed
                                      : uint64_t(std::random_device{}()));
  auto prefixOf = [&](size_t i) -> const std::vector<int64_t> * {
    if (options.prefixes.empty())
      return nullptr;
    return &options.prefixes[options.prefixes.size() == 1 ? 0 : i];
  };
  // Batches of sources of like lengths (longest first), when asked for.
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  if (options.maxBatchSize > 0)
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return sources[a].size() > sources[b].size();
    });
  results.assign(sources.size(), {});
  for (size_t first = 0; first < order.size();) {
    size_t end = first + 1, longest = sources[order[first]].size();
    while (options.maxBatchSize > 0 && end < order.size()) {
      size_t count = end - first + 1;
      int64_t size = options.batchType == BatchType::Examples
                         ? int64_t(count)
                         : int64_t(count * std::max(longest, sources[order[end]].size()));
      if (size > options.maxBatchSize)
        break;
      longest = std::max(longest, sources[order[end]].size());
      ++end;
    }
    if (options.maxBatchSize == 0)
      end = order.size();
    std::vector<std::vector<int64_t>> batch;
    std::vector<const std::vector<int64_t> *> prefixes;
    for (size_t i = first; i < end; ++i) {
      batch.push_back(sources[order[i]]);
      prefixes.push_back(prefixOf(order[i]));
    }
    std::vector<std::vector<Hypothesis>> found;
    if (Status s = searchBatch(module, batch, prefixes, placed, rng, found);
        !s.ok())
      return s.code() == StatusCode::Cancelled
                 ? s
                 : nameRefusedSource(module, sources, order, first, end, placed,
                                     s);
    for (size_t i = first; i < end; ++i) {
      // Every beam can die when the rules leave no token (--min-len past
      // what --no-repeat-ngram-size allows): say so, not an empty answer.
      if (found[i - first].empty())
        return invalid("source " + std::to_string(order[i]) +
                       ": no hypothesis meets the options: at some step no "
                       "token was left to choose (the options ruled out "
                       "every one: min length " +
                       std::to_string(options.minLength) +
                       ", no-repeat n-gram size " +
                       std::to_string(options.noRepeatNgramSize) +
                       "; or the decoder's logits are NaN)");
      results[order[i]] = std::move(found[i - first]);
    }
    first = end;
  }
  return Status();
}

Status generate(const Module &module,
                const std::vector<std::vector<int64_t>> &sources,
                const GenerationOptions &options,
                std::vector<Hypothesis> &results) {
  GenerationOptions best = options;
  best.numHypotheses = 1;
  std::vector<std::vector<Hypothesis>> nbest;
  if (Status s = generateNBest(module, sources, best, nbest); !s.ok())
    return s;
  results.clear();
  for (auto &list : nbest)
    results.push_back(list.empty() ? Hypothesis{} : list.front());
  return Status();
}

} // namespace convc
