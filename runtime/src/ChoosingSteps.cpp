//===- ChoosingSteps.cpp - searches whose steps choose the tokens ---------===//

#include "ChoosingSteps.h"

#include "BeamSearch.h"
#include "cuda/DeviceCall.h"

#include <cmath>
#include <memory>

namespace convc::detail {

/// `t` on the GPU when `gpu`, else as it is.
Status place(const Tensor &t, bool gpu, Tensor &out) {
  if (!gpu) {
    out = t;
    return Status();
  }
  return cudaToDevice(t, out);
}

namespace {

/// The choosing steps' `select` input: [pad, eos, min length, max length].
Status placeSelect(const GenerationOptions &options, bool gpu, Tensor &out) {
  Tensor select = Tensor::zeros(DType::I64, {4});
  int64_t *rule = select.data<int64_t>();
  rule[0] = options.pad, rule[1] = options.eos;
  rule[2] = options.minLength, rule[3] = options.maxLength;
  return place(select, gpu, out);
}

/// Which result of `entry` feeds which of its inputs: "x.next" feeds "x".
std::vector<std::pair<size_t, size_t>> feedbackOf(const EntryPoint &entry) {
  std::vector<std::pair<size_t, size_t>> feedback;
  for (size_t o = 0; o < entry.outputs.size(); ++o)
    for (size_t i = 0; i < entry.inputs.size(); ++i)
      if (entry.outputs[o].name == entry.inputs[i].name + ".next")
        feedback.push_back({o, i});
  return feedback;
}

/// Runs a choosing step: as `graph` where there is one (dropped, and the
/// step run as a call, when it cannot be launched), else as a call whose
/// results feed its inputs, captured as `graph` after the first step on
/// the GPU. `fed` names the inputs the host gives every step, `fedValues`
/// their values; `chosen` gets result `wanted`, the only one `where` sends
/// to the host on the GPU.
Status runChoosingStep(const Module &module, const EntryPoint &entry,
                       NamedTensors &inputs, const RunOptions &where, int64_t t,
                       const GenerationOptions &options, bool gpu,
                       const std::vector<size_t> &fed,
                       const std::vector<Tensor> &fedValues, size_t wanted,
                       std::unique_ptr<cuda::CapturedCall> &graph,
                       Tensor &chosen) {
  if (graph) {
    // A failure while the graph ran is the step's.
    std::vector<Tensor> host;
    Status s = graph->replay(host, fedValues);
    if (s.ok()) {
      chosen = host.empty() ? Tensor() : host[0];
      return s;
    }
    if (s.message().find("cuGraphLaunch") == std::string::npos)
      return s;
    graph.reset();
  }
  for (size_t i = 0; i < fed.size(); ++i)
    inputs[entry.inputs[fed[i]].name] = fedValues[i];
  std::vector<Tensor> in, out;
  for (const TensorSpec &spec : entry.inputs)
    in.push_back(inputs[spec.name]);
  if (Status s = module.run(entry.name, in, out, where); !s.ok())
    return s;
  std::vector<std::pair<size_t, size_t>> feedback = feedbackOf(entry);
  for (auto [o, i] : feedback)
    inputs[entry.inputs[i].name] = out[o];
  if (wanted >= out.size())
    return Status(StatusCode::InvalidArgument,
                  "'" + entry.name + "' returns too few results");
  chosen = out[wanted];
  // The step as a graph from now on, its inputs where they are now (the
  // fed ones in device buffers of their own, filled at every replay).
  if (gpu && t == 0 && options.maxLength > 1) {
    for (size_t i : fed)
      if (Status s = cudaToDevice(inputs[entry.inputs[i].name],
                                  inputs[entry.inputs[i].name]);
          !s.ok())
        return s;
    in.clear();
    for (const TensorSpec &spec : entry.inputs)
      in.push_back(inputs[spec.name]);
    graph = cuda::captureCall(module, entry.name, in, where, feedback,
                              chosen.numBytes(), fed);
  }
  return Status();
}

} // namespace

/// Greedy search where each step chooses its tokens itself
/// (`decode_step_greedy`, convc-add-token-choice): per step only the chosen
/// (token, log-prob) pairs come to the host; the next tokens, positions and
/// states are the step's own results. On the GPU they stay there, and from
/// the second step on the step is a CUDA graph that copies them back into
/// its inputs: one launch and one synchronisation per step. The rules are
/// the host search's for beam 1 without penalties: pad never, eos not
/// before the minimum length and only eos at the maximum.
Status greedySteps(const Module &module, const EntryPoint &entry,
                   NamedTensors &inputs, int64_t N, const GenerationOptions &options,
                   bool gpu, std::vector<std::vector<Hypothesis>> &results) {
  RunOptions where;
  where.outputs = gpu ? Device::CUDA : Device::CPU;
  where.outputDevices = {where.outputs, Device::CPU}; // picked to the host
  if (Status s = placeSelect(options, gpu, inputs["select"]); !s.ok())
    return s;
  if (Status s = place(Tensor::zeros(DType::I64, {N}), gpu, inputs["step"]);
      !s.ok())
    return s;
  std::unique_ptr<cuda::CapturedCall> graph;
  std::vector<std::vector<int64_t>> tokens(N);
  std::vector<double> scores(N, 0.0);
  std::vector<std::vector<Hypothesis>> finished(N);
  std::vector<bool> done(N, false);
  int64_t live = N;
  for (int64_t t = 0; t <= options.maxLength && live > 0; ++t) {
    Tensor picked;
    if (Status s = runChoosingStep(module, entry, inputs, where, t, options,
                                   gpu, {}, {}, /*wanted=*/1, graph, picked);
        !s.ok())
      return s;
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

/// Beam search where each step returns its rows' k best (token, log-prob)
/// pairs (`decode_step_top<k>`, k >= 2K) and takes `reorder`, the row whose
/// states each row continues: per step the host reads the pairs and gives
/// the tokens and `reorder`; the positions and states are the step's own
/// results. On the GPU they stay there, and from the second step on the
/// step is a CUDA graph that copies the tokens and `reorder` in from pinned
/// memory: one launch and one synchronisation per step.
Status topKBeamSteps(const Module &module, const EntryPoint &entry,
                     NamedTensors &inputs, int64_t B, int64_t K, int64_t start,
                     const GenerationOptions &options, bool gpu,
                     std::vector<std::vector<Hypothesis>> &results) {
  const int64_t N = B * K;
  RunOptions where;
  where.outputs = gpu ? Device::CUDA : Device::CPU;
  where.outputDevices = {Device::CPU}; // the candidates
  if (Status s = placeSelect(options, gpu, inputs["select"]); !s.ok())
    return s;
  if (Status s = place(Tensor::zeros(DType::I64, {N}), gpu, inputs["step"]);
      !s.ok())
    return s;
  std::vector<size_t> fed = {0};
  for (size_t i = 0; i < entry.inputs.size(); ++i)
    if (entry.inputs[i].name == "reorder")
      fed.push_back(i);
  if (fed.size() != 2)
    return Status(StatusCode::InvalidArgument,
                  "'" + entry.name + "' has no 'reorder' input");
  BeamSearch search(B, K, options);
  std::unique_ptr<cuda::CapturedCall> graph;
  for (int64_t t = 0; t <= options.maxLength; ++t) {
    Tensor tokens = Tensor::zeros(DType::I64, {N, 1}),
           reorder = Tensor::zeros(DType::I64, {N});
    for (int64_t r = 0; r < N; ++r) {
      tokens.data<int64_t>()[r] = search.lastToken(r, start);
      reorder.data<int64_t>()[r] = t == 0 ? r : search.sourceRows()[r];
    }
    Tensor pairs;
    if (Status s = runChoosingStep(module, entry, inputs, where, t, options,
                                   gpu, fed, {tokens, reorder}, /*wanted=*/0,
                                   graph, pairs);
        !s.ok())
      return s;
    const int64_t k = pairs.shape().size() == 3 ? pairs.shape()[1] : 0;
    if (pairs.dtype() != DType::F64 ||
        pairs.shape() != std::vector<int64_t>{N, k, 2} || k < 2 * K)
      return Status(StatusCode::InvalidArgument,
                    "'" + entry.name + "' must return f64 candidates [N, " +
                        std::to_string(2 * K) + " or more, 2]");
    search.begin();
    std::vector<BeamSearch::Candidate> candidates;
    for (int64_t b = 0; b < B; ++b) {
      if (search.done(b))
        continue;
      candidates.clear();
      for (int64_t r = b * K; r < (b + 1) * K; ++r) {
        if (!search.live(r))
          continue;
        const double *pair = pairs.data<double>() + r * k * 2;
        for (int64_t j = 0; j < k; ++j, pair += 2)
          if (pair[0] >= 0 && pair[1] != BeamSearch::kNegInf)
            candidates.push_back(
                {search.beam(r).score + pair[1], r, int64_t(pair[0])});
      }
      search.extend(b, candidates);
    }
    if (!search.end())
      break;
  }
  search.results(results);
  return Status();
}

} // namespace convc::detail
