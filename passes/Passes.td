//===- Passes.td - convc transformation passes --------------*- tablegen -*-===//

#ifndef CONVC_PASSES_TD
#define CONVC_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseTaLKPass : Pass<"convc-fuse-talk"> {
  let summary = "Fuse TaLK's normalisation, prefix sum and window difference";
  let description = [{
    Folds a constant scale of the input into `convc.prefix_sum` (`x * c`,
    `x / c`), and rewrites `window_diff(prefix_sum(x, scale = 1/Kn))` into
    `convc.talk_conv`, whose lowering is one streaming kernel that never
    materialises a full-length prefix sum.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def FuseKernelSoftmaxPass : Pass<"convc-fuse-kernel-softmax"> {
  let summary = "Normalise DynamicConv kernels inside the conv";
  let description = [{
    `dynamic_kernel_conv(kernel_softmax(z))` becomes
    `dynamic_kernel_conv(z) {kernel_softmax}`: the softmax runs in registers
    inside the conv, so normalised per-position kernels never reach memory.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def FoldWeightSoftmaxPass : Pass<"convc-fold-weight-softmax"> {
  let summary = "Apply LightweightConv's weight softmax at compile time";
  let description = [{
    A `lightweight_conv {weight_softmax = true}` whose weight is a constant
    gets the softmaxed constant (computed in f32) and `weight_softmax =
    false`: no softmax is left for run time.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::arith::ArithDialect"];
}

def FuseEpiloguesPass : Pass<"convc-fuse-epilogues"> {
  let summary = "Fold GLU, residual adds and LayerNorm into projections";
  let description = [{
    Rewrites, where the projection's result has no other use:
    `glu(linear(x))` into `linear(x) {activation = glu}`,
    `linear(x) + r` into `linear(x) residual r`,
    `layer_norm(a + r)` into `layer_norm(a) residual r`, and
    `layer_norm(linear(x) ...)` into `linear(x) ... layer_norm`.
    The lowering then applies them per row tile right after the projection,
    while its output is in cache.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def WidenFloatSumsPass : Pass<"convc-widen-float-sums"> {
  let summary = "Carry float sums of linalg.generic reductions in f64";
  let description = [{
    A reducing `linalg.generic` whose body yields `term + acc` into an f32
    (or narrower) output becomes the same generic over an f64 output,
    `extf(term) + acc`, followed by one `truncf` per element. Sums over
    long or run-time axes (ReduceSum, ReduceMean, a Softmax's denominator,
    an Einsum or MatMul left as a generic) then round once, not once per
    term. Run after raising and fusion, which match the f32 forms.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AddTokenChoicePass : Pass<"convc-add-token-choice", "::mlir::ModuleOp"> {
  let summary = "Add decode steps that choose their tokens themselves";
  let description = [{
    After `convc-derive-decode-step`: clones `@F_step` twice, each taking one
    more input, `select` ([4] i64: pad, eos, minimum and maximum length), and
    choosing among the last position's logits inside the step. A token is
    allowed unless it is pad, it is eos while step < min length, or it is
    not eos once step >= max length; log-probs are the logit minus the
    log-sum-exp of all logits, in f64.
    - `@F_step_greedy` returns `<tokens>.next` ([N, 1] i64, the best allowed
      token, the first on ties), `picked` ([N, 2] f64: that token and its
      log-prob) and `step.next` (step + 1) instead of the logits, named
      after the inputs they feed as the states' `state<i>.next` are. Every
      input of a step then comes from the step before (or stays the same),
      so the runtime replays it as a CUDA graph.
    - `@F_step_top<k>` returns `candidates` ([N, k, 2] f64: the k best
      allowed (token, log-prob) pairs, best first; token -1 and -inf where
      fewer are allowed) and `step.next` instead of the logits: beam search
      over up to k / 2 beams. It takes one more input, `reorder` ([N] i64):
      row n first takes the states of row reorder[n] (the beam it extends),
      so between steps the host feeds only the tokens and `reorder`, and
      the step too replays as a CUDA graph.
    Both reduce a row's logits in chunks (at least 32 logits, at most 128
    chunks a row), a parallel work item each, and merge the chunks in
    order, so an equal logit of a later chunk never passes an earlier one.
    The runtime's searches then copy N x k pairs to the host per step
    instead of N x V logits. Without `@F_step` or a `step` input, or when its
    first result is not [N, T, V] float logits, nothing is added (a warning
    in the latter cases).
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"decode\"",
           "the full-sequence decoder whose step gets choosing forms">,
    Option<"topK", "top-k", "int64_t", /*default=*/"8",
           "k of @F_step_top<k> (beam search up to k / 2 beams; 1: none)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DeriveDecodeStepPass : Pass<"convc-derive-decode-step", "::mlir::ModuleOp"> {
  let summary = "Derive an incremental decoding step from a full decoder";
  let description = [{
    From `@F` (a full-sequence decoder: [B, T] i64 target tokens in, every
    conv causal) derives
    - `@F_init`: the computations that do not depend on the target tokens
      and feed ones that do (e.g. the encoder-side key and value
      projections of encoder-decoder attention), returned as `cache<i>`;
    - `@F_step`: `@F` for one position: an extra `step` input ([B], i64, the
      position) offsets the embedding's positions, each causal
      LightweightConv / DynamicConv the target tokens reach (and depthwise
      conv, a LightweightConv with a head per channel; an output bias is
      added after the step) becomes a `convc.conv_window_step` with a
      `state<i>` input ([B, K-1, C], the last K-1 conv inputs) and a
      `state<i>.next` output, each causal TaLK a `convc.talk_step` with a
      ring of the last Lmax + 2 prefix sums, and the cached values are
      inputs. Fed token by token, `@F_step` returns exactly what `@F`
      returns at each position.
    A conv that is not causal (padding != K - 1), a dilated depthwise conv or
    other time-mixing ops are reported, not guessed at; so is any other op
    that depends on the target tokens and is not elementwise per position
    (an imported decoder whose embedding or attention was not raised).
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"decode\"",
           "the full-sequence decoder to derive the step from">,
    Option<"ifPossible", "if-possible", "bool", /*default=*/"false",
           "when the decoder has no step form, warn and leave the module "
           "unchanged instead of failing (packaged ONNX decoders)">,
  ];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // CONVC_PASSES_TD
