//===- Generate.cpp - greedy and beam search ------------------------------===//

#include "convc/Generate.h"

#include "NextToken.h"
#include "cuda/DeviceCall.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <random>

namespace convc {

namespace {

using Named = std::map<std::string, Tensor>;

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
                        "' that the generator does not provide");
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

/// `t` on the GPU when `gpu`, else as it is.
Status place(const Tensor &t, bool gpu, Tensor &out) {
  if (!gpu) {
    out = t;
    return Status();
  }
  return cudaToDevice(t, out);
}

struct Beam {
  std::vector<int64_t> tokens;
  double score;
};

/// The choosing steps' `select` input: [pad, eos, min length, max length].
Status placeSelect(const GenerationOptions &options, bool gpu, Tensor &out) {
  Tensor select = Tensor::zeros(DType::I64, {4});
  int64_t *rule = select.data<int64_t>();
  rule[0] = options.pad, rule[1] = options.eos;
  rule[2] = options.minLength, rule[3] = options.maxLength;
  return place(select, gpu, out);
}

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

/// Greedy search where each step chooses its tokens itself
/// (`decode_step_greedy`, convc-add-token-choice): per step only the chosen
/// (token, log-prob) pairs come to the host; the next tokens, positions and
/// states are the step's own results. On the GPU they stay there, and from
/// the second step on the step is a CUDA graph that copies them back into
/// its inputs: one launch and one synchronisation per step. The rules are
/// the host search's for beam 1 without penalties: pad never, eos not
/// before the minimum length and only eos at the maximum.
Status greedySteps(const Module &module, const EntryPoint &entry,
                   Named &inputs, int64_t N, const GenerationOptions &options,
                   bool gpu, std::vector<std::vector<Hypothesis>> &results) {
  RunOptions where;
  where.outputs = gpu ? Device::CUDA : Device::CPU;
  where.outputDevices = {where.outputs, Device::CPU}; // picked to the host
  if (Status s = placeSelect(options, gpu, inputs["select"]); !s.ok())
    return s;
  if (Status s = place(Tensor::zeros(DType::I64, {N}), gpu, inputs["step"]);
      !s.ok())
    return s;
  // Which result feeds which input: "x.next" feeds "x".
  std::vector<std::pair<size_t, size_t>> feedback;
  for (size_t o = 0; o < entry.outputs.size(); ++o)
    for (size_t i = 0; i < entry.inputs.size(); ++i) {
      const std::string &out = entry.outputs[o].name, &in = entry.inputs[i].name;
      if (out == in + ".next")
        feedback.push_back({o, i});
    }
  std::unique_ptr<cuda::CapturedCall> graph;
  std::vector<std::vector<int64_t>> tokens(N);
  std::vector<double> scores(N, 0.0);
  std::vector<std::vector<Hypothesis>> finished(N);
  std::vector<bool> done(N, false);
  int64_t live = N;
  for (int64_t t = 0; t <= options.maxLength && live > 0; ++t) {
    Tensor picked;
    if (graph) {
      // A graph that cannot be launched (out of memory for its own pool,
      // say) gives way to calls; a failure while it ran is the step's.
      std::vector<Tensor> host;
      Status s = graph->replay(host);
      if (s.ok())
        picked = host.empty() ? Tensor() : host[0];
      else if (s.message().find("cuGraphLaunch") != std::string::npos)
        graph.reset();
      else
        return s;
    }
    if (!graph) {
      std::vector<Tensor> in, out;
      for (const TensorSpec &spec : entry.inputs)
        in.push_back(inputs[spec.name]);
      if (Status s = module.run(entry.name, in, out, where); !s.ok())
        return s;
      picked = out[1];
      for (auto [o, i] : feedback)
        inputs[entry.inputs[i].name] = out[o];
      // The step as a graph from now on, its inputs where they are now.
      if (gpu && t == 0 && options.maxLength > 1) {
        in.clear();
        for (const TensorSpec &spec : entry.inputs)
          in.push_back(inputs[spec.name]);
        graph = cuda::captureCall(module, entry.name, in, where, feedback,
                                  picked.numBytes());
      }
    }
    if (picked.dtype() != DType::F64 ||
        picked.shape() != std::vector<int64_t>{N, 2})
      return Status(StatusCode::InvalidArgument,
                    "'" + entry.name + "' must return picked f64 [N, 2]");
    for (int64_t r = 0; r < N; ++r) {
      if (done[r])
        continue;
      double token = picked.data<double>()[2 * r],
             logProb = picked.data<double>()[2 * r + 1];
      if (token < 0 || std::isinf(logProb)) { // no token allowed
        done[r] = true, --live;
        continue;
      }
      scores[r] += logProb;
      if (int64_t(token) == options.eos) {
        finished[r].push_back(Hypothesis{tokens[r], scores[r]});
        done[r] = true, --live;
        continue;
      }
      tokens[r].push_back(int64_t(token));
    }
  }
  collect(finished, options, results);
  return Status();
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
                    "encoder output '" + name +
                        "' must be batch-major ([" + std::to_string(B) +
                        ", ...]), as the generator gathers its rows per beam");
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
  if (greedy && K == 1 && greedy->outputs.size() >= 3 &&
      greedy->outputs[1].name == "picked") {
    Tensor starts = Tensor::zeros(DType::I64, {N, 1});
    std::fill(starts.data<int64_t>(), starts.data<int64_t>() + N, start);
    if (Status s = place(starts, gpu, inputs[greedy->inputs[0].name]); !s.ok())
      return s;
    return greedySteps(module, *greedy, inputs, N, options, gpu, results);
  }
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
  // The step returns its logits (or pairs) to the host, its states where
  // they were.
  RunOptions logitsToHost = onDevice;
  logitsToHost.outputDevices = {Device::CPU};
  int64_t topK = 0;
  for (const EntryPoint &e : module.entryPoints())
    if (plain && e.name.rfind("decode_step_top", 0) == 0 &&
        !e.outputs.empty() && e.outputs[0].name == "candidates") {
      int64_t k = std::atoll(e.name.c_str() + 15);
      if (k >= 2 * K && (!topK || k < topK))
        topK = k, decoder = &e;
    }
  if (topK)
    if (Status s = placeSelect(options, gpu, inputs["select"]); !s.ok())
      return s;

  const double negInf = -std::numeric_limits<double>::infinity();
  std::vector<Beam> beams(N, Beam{{}, negInf});
  for (int64_t b = 0; b < B; ++b)
    beams[b * K].score = 0.0; // one live hypothesis per sentence at first
  std::vector<std::vector<Hypothesis>> finished(B);
  std::vector<bool> done(B, false);

  std::vector<double> logProbs;
  for (int64_t t = 0; t <= options.maxLength; ++t) {
    // The step takes each row's last token at its position; the full
    // decoder the whole prefix, [eos, tokens so far].
    int64_t T = step ? 1 : t + 1;
    Tensor tokens = Tensor::zeros(DType::I64, {N, T});
    for (int64_t r = 0; r < N; ++r) {
      int64_t *row = tokens.data<int64_t>() + r * T;
      const std::vector<int64_t> &seen = beams[r].tokens;
      if (step) {
        row[0] = seen.empty() ? start : seen.back();
        continue;
      }
      row[0] = start;
      for (int64_t i = 0; i < t; ++i)
        row[i + 1] = i < int64_t(seen.size()) ? seen[i] : options.pad;
    }
    inputs[decoder->inputs[0].name] = tokens;
    if (step) {
      int64_t *row = positions.data<int64_t>() + t * N;
      inputs["step"] = gpu ? Tensor::borrowDevice(DType::I64, {N}, row)
                           : Tensor::borrow(DType::I64, {N}, row);
    }
    Named out;
    if (Status s = runNamed(module, decoder->name, inputs, out, logitsToHost);
        !s.ok())
      return s;
    const Tensor &logits = out[decoder->outputs[0].name];
    if (topK ? logits.dtype() != DType::F64 ||
                   logits.shape() != std::vector<int64_t>{N, topK, 2}
             : logits.dtype() != DType::F32 || logits.shape().size() != 3 ||
                   logits.shape()[0] != N || logits.shape()[1] != T)
      return Status(StatusCode::InvalidArgument,
                    "'" + decoder->name + "' must return " +
                        (topK ? "f64 candidates [N, k, 2]"
                              : "f32 logits [N, " + std::to_string(T) +
                                    ", V]"));
    // Each row's logits at its last position (or its k best pairs).
    int64_t V = topK ? 0 : logits.shape()[2], rowStride = T * V;
    const float *l = topK ? nullptr : logits.data<float>() + (T - 1) * V;

    std::vector<int64_t> sourceRow(N);
    std::vector<Beam> next(N, Beam{{}, negInf});
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t k = 0; k < K; ++k)
        sourceRow[b * K + k] = b * K; // finished sentences keep any row
      if (done[b])
        continue;
      // Candidates: every live beam extended by every token.
      struct Candidate {
        double score;
        int64_t row, token;
      };
      std::vector<Candidate> candidates;
      for (int64_t k = 0; k < K; ++k) {
        int64_t r = b * K + k;
        if (beams[r].score == negInf)
          continue;
        if (topK) {
          const double *pair = logits.data<double>() + r * topK * 2;
          for (int64_t j = 0; j < topK; ++j, pair += 2)
            if (pair[0] >= 0 && pair[1] != negInf)
              candidates.push_back(
                  {beams[r].score + pair[1], r, int64_t(pair[0])});
          continue;
        }
        detail::nextTokenLogProbs(l + r * rowStride, V, beams[r].tokens,
                                  prefixes[b], options, logProbs);
        if (sampling) {
          int64_t v = detail::sampleToken(logProbs, options.samplingTopK,
                                          options.samplingTopP, rng);
          if (v >= 0)
            candidates.push_back({beams[r].score + logProbs[v], r, v});
          continue;
        }
        for (int64_t v = 0; v < V; ++v)
          if (logProbs[v] != negInf)
            candidates.push_back({beams[r].score + logProbs[v], r, v});
      }
      size_t keep = std::min<size_t>(2 * K, candidates.size());
      std::partial_sort(candidates.begin(), candidates.begin() + keep,
                        candidates.end(),
                        [](const Candidate &a, const Candidate &c) {
                          return a.score > c.score;
                        });
      int64_t filled = 0;
      for (size_t i = 0; i < keep && filled < K; ++i) {
        const Candidate &c = candidates[i];
        if (c.token == options.eos) {
          if (int64_t(finished[b].size()) < K)
            finished[b].push_back(Hypothesis{beams[c.row].tokens, c.score});
          continue;
        }
        Beam nb{beams[c.row].tokens, c.score};
        nb.tokens.push_back(c.token);
        next[b * K + filled] = nb;
        sourceRow[b * K + filled] = c.row;
        ++filled;
      }
      if (int64_t(finished[b].size()) >= K || filled == 0)
        done[b] = true;
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }))
      break;
    beams = next;
    // Every state follows its beam.
    for (auto &[name, value] : out)
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".next") == 0)
        if (Status s = gatherRows(value, sourceRow,
                                  inputs[name.substr(0, name.size() - 5)]);
            !s.ok())
          return s;
  }
  collect(finished, options, results);
  return Status();
}

Status invalid(const std::string &message) {
  return Status(StatusCode::InvalidArgument, message);
}

Status checkOptions(const GenerationOptions &o, size_t sources) {
  if (o.beam < 1 || o.maxLength < 1)
    return invalid("beam and max length must be >= 1");
  if (o.numHypotheses < 1 || o.numHypotheses > o.beam)
    return invalid("num_hypotheses must be in [1, beam] (" +
                   std::to_string(o.numHypotheses) + " with beam " +
                   std::to_string(o.beam) + ")");
  if (o.minLength < 0 || o.minLength > o.maxLength)
    return invalid("min length must be in [0, max length]");
  if (detail::isSampling(o) && o.beam != 1)
    return invalid("random sampling (top-k != 1 or top-p < 1) needs beam 1");
  if (o.samplingTopK < 0 || !(o.samplingTopP > 0 && o.samplingTopP <= 1) ||
      !(o.temperature > 0))
    return invalid("sampling needs top-k >= 0, top-p in (0, 1] and a "
                   "temperature > 0");
  if (!(o.repetitionPenalty > 0) || o.noRepeatNgramSize < 0)
    return invalid("the repetition penalty must be > 0 and the no-repeat "
                   "n-gram size >= 0");
  if (o.maxBatchSize < 0)
    return invalid("max batch size must be >= 0 (0: one batch)");
  if (!o.prefixes.empty() && o.prefixes.size() != 1 &&
      o.prefixes.size() != sources)
    return invalid("give one target prefix per source, or one for all (" +
                   std::to_string(o.prefixes.size()) + " prefixes for " +
                   std::to_string(sources) + " sources)");
  for (const auto &prefix : o.prefixes)
    if (int64_t(prefix.size()) > o.maxLength)
      return invalid("a target prefix is longer than the max length");
  return Status();
}

} // namespace

Status generateNBest(const Module &module,
                     const std::vector<std::vector<int64_t>> &sources,
                     const GenerationOptions &options,
                     std::vector<std::vector<Hypothesis>> &results) {
  if (sources.empty())
    return invalid("no source sentences");
  for (const auto &src : sources)
    if (src.empty())
      return invalid("empty source sentence (give at least the eos token)");
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
      return s;
    for (size_t i = first; i < end; ++i)
      results[order[i]] = std::move(found[i - first]);
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
