//===- ChoosingSteps.h - searches whose steps choose the tokens -*- C++ -*-===//
//
// Greedy and beam search over the decode steps that choose their tokens
// themselves (convc-add-token-choice): per step only the chosen pairs come
// to the host; on the GPU the step replays as a CUDA graph.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_CHOOSINGSTEPS_H
#define CONVC_RUNTIME_CHOOSINGSTEPS_H

#include "convc/Generate.h"

#include <map>
#include <string>
#include <vector>

namespace convc::detail {

using NamedTensors = std::map<std::string, Tensor>;

/// `t` on the GPU when `gpu`, else as it is.
Status place(const Tensor &t, bool gpu, Tensor &out);

/// Greedy search over `decode_step_greedy` for N rows whose first tokens,
/// caches and states are in `inputs`.
Status greedySteps(const Module &module, const EntryPoint &entry,
                   NamedTensors &inputs, int64_t N,
                   const GenerationOptions &options, bool gpu,
                   std::vector<std::vector<Hypothesis>> &results);

/// Beam search over K beams of B sentences with `decode_step_top<k>`
/// (k >= 2K), whose caches and states are in `inputs`; rows start from
/// token `start`.
Status topKBeamSteps(const Module &module, const EntryPoint &entry,
                     NamedTensors &inputs, int64_t B, int64_t K, int64_t start,
                     const GenerationOptions &options, bool gpu,
                     std::vector<std::vector<Hypothesis>> &results);

} // namespace convc::detail

#endif // CONVC_RUNTIME_CHOOSINGSTEPS_H
