//===- ChoosingSteps.cpp - searches whose steps choose the tokens ---------===//

#include "ChoosingSteps.h"

#include "BeamSearch.h"
#include "NextToken.h"
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

/// A decode step that chooses its tokens itself, run step after step: its
/// results `x.next` feed its inputs `x`, result `chosen` comes to the host,
/// and the inputs at `fed` come from the host at every step. On the GPU the
/// rest stays there and, from the second step on, the step is a CUDA graph.
class ChoosingStep {
public:
  ChoosingStep(const Module &module, const EntryPoint &entry, bool gpu,
               size_t chosen, std::vector<size_t> fed)
      : module_(module), entry_(entry), gpu_(gpu), chosen_(chosen),
        fed_(std::move(fed)) {
    where_.outputs = gpu ? Device::CUDA : Device::CPU;
    where_.outputDevices.assign(chosen + 1, where_.outputs);
    where_.outputDevices[chosen] = Device::CPU;
    for (size_t o = 0; o < entry.outputs.size(); ++o)
      for (size_t i = 0; i < entry.inputs.size(); ++i)
        if (entry.outputs[o].name == entry.inputs[i].name + ".next")
          feedback_.push_back({o, i});
  }

  /// The step's `select` ([pad, eos, min length, max length]) and first
  /// positions (0) for N rows, into `inputs`.
  Status start(NamedTensors &inputs, int64_t N,
               const GenerationOptions &options) {
    Tensor select = Tensor::zeros(DType::I64, {4});
    int64_t *rule = select.data<int64_t>();
    rule[0] = options.pad, rule[1] = options.eos;
    rule[2] = options.minLength, rule[3] = options.maxLength;
    if (Status s = place(select, gpu_, inputs["select"]); !s.ok())
      return s;
    return place(Tensor::zeros(DType::I64, {N}), gpu_, inputs["step"]);
  }

  /// Step t (of at most `steps`) with the fed inputs' `values`: as the
  /// graph where there is one (dropped, and the step run as a call, when it
  /// cannot be launched), else as a call, captured after the first step on
  /// the GPU. `chosen` gets the chosen result.
  Status run(NamedTensors &inputs, int64_t t, int64_t steps,
             const std::vector<Tensor> &values, Tensor &chosen) {
    if (graph_) {
      // A failure while the graph ran is the step's.
      std::vector<Tensor> host;
      Status s = graph_->replay(host, values);
      if (s.ok()) {
        chosen = host.empty() ? Tensor() : host[0];
        return s;
      }
      if (s.message().find("cuGraphLaunch") == std::string::npos)
        return s;
      graph_.reset();
    }
    for (size_t i = 0; i < fed_.size(); ++i)
      inputs[entry_.inputs[fed_[i]].name] = values[i];
    std::vector<Tensor> out;
    if (Status s = module_.run(entry_.name, gather(inputs), out, where_);
        !s.ok())
      return s;
    if (chosen_ >= out.size())
      return Status(StatusCode::InvalidArgument,
                    "'" + entry_.name + "' returns too few results");
    for (auto [o, i] : feedback_)
      inputs[entry_.inputs[i].name] = out[o];
    chosen = out[chosen_];
    // The step as a graph from now on, its inputs where they are now (the
    // fed ones in device buffers of their own, filled at every replay).
    if (gpu_ && t == 0 && steps > 1) {
      for (size_t i : fed_)
        if (Status s = cudaToDevice(inputs[entry_.inputs[i].name],
                                    inputs[entry_.inputs[i].name]);
            !s.ok())
          return s;
      graph_ = cuda::captureCall(module_, entry_.name, gather(inputs), where_,
                                 feedback_, chosen.numBytes(), fed_);
    }
    return Status();
  }

private:
  std::vector<Tensor> gather(NamedTensors &inputs) const {
    std::vector<Tensor> in;
    for (const TensorSpec &spec : entry_.inputs)
      in.push_back(inputs[spec.name]);
    return in;
  }

  const Module &module_;
  const EntryPoint &entry_;
  bool gpu_;
  size_t chosen_;
  std::vector<size_t> fed_;
  RunOptions where_;
  std::vector<std::pair<size_t, size_t>> feedback_;
  std::unique_ptr<cuda::CapturedCall> graph_;
};

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
  ChoosingStep step(module, entry, gpu, /*chosen=*/1, /*fed=*/{}); // picked
  if (Status s = step.start(inputs, N, options); !s.ok())
    return s;
  std::vector<std::vector<int64_t>> tokens(N);
  std::vector<double> scores(N, 0.0);
  std::vector<std::vector<Hypothesis>> finished(N);
  std::vector<bool> done(N, false);
  int64_t live = N;
  for (int64_t t = 0; t <= options.maxLength && live > 0; ++t) {
    if (Status s = checkInterrupted(options); !s.ok())
      return s;
    Tensor picked;
    if (Status s = step.run(inputs, t, options.maxLength, {}, picked); !s.ok())
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
  std::vector<size_t> fed = {0}; // the tokens and `reorder`
  for (size_t i = 0; i < entry.inputs.size(); ++i)
    if (entry.inputs[i].name == "reorder")
      fed.push_back(i);
  if (fed.size() != 2)
    return Status(StatusCode::InvalidArgument,
                  "'" + entry.name + "' has no 'reorder' input");
  ChoosingStep step(module, entry, gpu, /*chosen=*/0, fed); // candidates
  if (Status s = step.start(inputs, N, options); !s.ok())
    return s;
  BeamSearch search(B, K, options);
  for (int64_t t = 0; t <= options.maxLength; ++t) {
    if (Status s = checkInterrupted(options); !s.ok())
      return s;
    Tensor tokens = Tensor::zeros(DType::I64, {N, 1}),
           reorder = Tensor::zeros(DType::I64, {N});
    for (int64_t r = 0; r < N; ++r) {
      tokens.data<int64_t>()[r] = search.lastToken(r, start);
      reorder.data<int64_t>()[r] = t == 0 ? r : search.sourceRows()[r];
    }
    Tensor pairs;
    if (Status s = step.run(inputs, t, options.maxLength, {tokens, reorder},
                            pairs);
        !s.ok())
      return s;
    const int64_t k = pairs.shape().size() == 3 ? pairs.shape()[1] : 0;
    if (pairs.dtype() != DType::F64 ||
        pairs.shape() != std::vector<int64_t>{N, k, 2} || k < 2 * K)
      return Status(StatusCode::InvalidArgument,
                    "'" + entry.name + "' must return f64 candidates [N, " +
                        std::to_string(2 * K) + " or more, 2]");
    search.step([&](int64_t r, std::vector<BeamSearch::Candidate> &out) {
      const double *pair = pairs.data<double>() + r * k * 2;
      for (int64_t j = 0; j < k; ++j, pair += 2)
        if (pair[0] >= 0 && pair[1] != BeamSearch::kNegInf)
          out.push_back({search.beam(r).score + pair[1], r, int64_t(pair[0])});
    });
    if (!search.end())
      break;
  }
  search.results(results);
  return Status();
}

} // namespace convc::detail
