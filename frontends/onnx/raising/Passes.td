//===- Passes.td - raising ONNX imports to convc ops -----*- tablegen -*-===//
//
// The ONNX importer emits linalg-on-tensors; these passes recognise the conv
// seq2seq building blocks in what it emits (docs/onnx.md, "Raising") and
// replace them with convc ops. Each matches the importer's forms of one
// block, written the ways exporters write it.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_FRONTENDS_ONNX_RAISING_PASSES_TD
#define CONVC_FRONTENDS_ONNX_RAISING_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldConstantScalarsPass : Pass<"convc-fold-constant-scalars"> {
  let summary = "Evaluate one-element generics of constants (scales from sizes)";
  let description = [{
    `q * head_dim ** -0.5`, `scores / sqrt(d_k)` with the size read off a
    shape export as Cast and Pow or Sqrt of an int64 the importer folds;
    the float math stays a one-element `linalg.generic` on constants. This
    pass evaluates such a generic with its body ops' folders into an
    `arith.constant`, so that the raisings see a constant scale.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def RaiseAttentionPass : Pass<"convc-raise-attention"> {
  let summary = "Recognise exported multi-head attention as convc.attention";
  let description = [{
    Attention over projected `q [B, Tq, d]`, `k`, `v [B, S, d]` exports as:
    - heads split: `Reshape` to [B, T, H, R], `Transpose` to [B, H, T, R]
      (k straight to [B, H, R, S], its transpose composed);
    - `MatMul(qh, kT) / sqrt(R)` (or times 1 / sqrt(R)), or q scaled
      before the product, split into heads or not (fairseq's
      `q_proj(x) * scaling`): the scales multiply;
    - optionally `Where(pad[:, None, None, :], -inf, scores)`;
    - `Softmax` over the keys, `MatMul` with vh;
    - heads merged: `Transpose` back, `Reshape` to [B, Tq, d].

    The importer emits `tensor.expand_shape` / `linalg.transpose`,
    contraction generics into zero fills, the select and the softmax's
    max / shift / exp-sum / divide generics. This pass rewrites the whole into
    `convc.attention q, k, v key_padding m {heads = H}` (m the bool mask as
    f32), the op `convc-derive-decode-step` keeps per query position with the
    key and value projections cached. The scale must be 1 / sqrt(R) to
    float32 rounding and the fill -inf. A query whose keys are all padding
    gives NaN in the export, zeros in `convc.attention`.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RaiseDepthwiseConvPass : Pass<"convc-raise-depthwise-conv"> {
  let summary = "Recognise exported depthwise 1-D convs as convc.depthwise_conv";
  let description = [{
    An exporter writes a depthwise conv over a [B, T, C] sequence as
    `transpose(conv1d_ncw(pad(transpose(pad(x)))))` (PyTorch's
    `F.conv1d(x.transpose(1, 2), w, groups=C).transpose(1, 2)` with zero
    padding of time, before or inside the conv). The ONNX importer emits the
    conv as `linalg.depthwise_conv_1d_ncw_cw` (stride 1) and the transposes
    as `linalg.transpose`; this pass replaces the chain, optionally with a
    per-channel bias add, by `convc.depthwise_conv x, w (, bias)` when the
    time padding is the conv's "same" padding (left = P * dilation, right =
    (K - 1 - P) * dilation: the output keeps T).
      fairseq's TBC layout, transposed [1, 2, 0] into the conv and [2, 0, 1]
    out of it, is raised too: the convc op then runs between transposes to
    and from BTC.
      fairseq's LightweightConv1d folds its heads into the batch instead:
    `x.view(-1, H, T)` of [B, C, T], a grouped conv with one [K] kernel per
    head, `.view(B, C, -1)` back. Channel c meets head c % H, so the chain
    is a depthwise conv of x whose kernel repeats the [H, K] rows C / H
    times; it is rewritten so (when the padding keeps T and the views keep
    x's batch and time) and then raised as above.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def RaiseLightweightConvPass : Pass<"convc-raise-lightweight-conv"> {
  let summary = "Recognise head-shared constant kernels as LightweightConv";
  let description = [{
    A `convc.depthwise_conv` (dilation 1) whose constant weight [C, K] has
    equal rows within each block of R consecutive channels (a LightweightConv
    kernel expanded to channels, as exporters emit it) becomes
    `convc.lightweight_conv {heads = C / R, weight_softmax = false}` with the
    [C / R, K] weight. R is the largest such block size (R = 1: no change).
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::arith::ArithDialect"];
}

def RaiseGLUPass : Pass<"convc-raise-glu"> {
  let summary = "Recognise a split-sigmoid-multiply as convc.glu";
  let description = [{
    `a * sigmoid(b)` where `a` and `b` are the first and second halves of
    the last dimension of the same tensor (what `F.glu` or
    `h[..., :C] * torch.sigmoid(h[..., C:])` export to: Split or Slice,
    Sigmoid, Mul, imported as `tensor.extract_slice` and elementwise
    `linalg.generic`s) becomes `convc.glu`, which fuses into a preceding
    projection.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def RaiseLayerNormPass : Pass<"convc-raise-layer-norm"> {
  let summary = "Recognise a decomposed LayerNorm as convc.layer_norm";
  let description = [{
    Before opset 17, `torch.onnx.export` writes `nn.LayerNorm` as
    ReduceMean, Sub, Pow (or Mul), ReduceMean, Add eps, Sqrt and Div, with
    Mul by gamma and Add of beta. The importer emits these as `linalg.generic`
    reductions and elementwise ops. This pass rewrites the chain into
    `convc.layer_norm x, gamma, beta {eps}`: unit gamma and zero beta when
    there are none, f32 with a static last dimension. The LayerNorm then fuses
    into the projection before it.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::arith::ArithDialect"];
}

def RaiseEmbeddingPass : Pass<"convc-raise-embedding"> {
  let summary = "Recognise fairseq's exported sinusoidal embedding as convc.embedding";
  let description = [{
    fairseq's input embedding exports as:
    - `m = Not(Equal(tokens, pad))`;
    - positions `pos = CumSum(Cast(m), 1) * Cast(m) + pad`;
    - the sinusoid table `PE = Concat(Sin(A), Cos(A), 1)`,
      `A = Range(0, n)[:, None] * w[None, :]`, with `PE[pad] = 0`
      (ScatterND) and n >= pad + T + 1 rows;
    - `y = (scale * Gather(E, tokens) + Gather(PE, pos)) * Cast(m)[..., None]`.

    The importer emits this as elementwise and gathering `linalg.generic`s,
    an `scf.for` scan (the int64 CumSum), `tensor.generate` and
    `tensor.insert_slice`s; the frequencies `w` (Exp of a Range times a
    constant) are folded at import and checked against
    `w_j = exp(-j ln(10000) / (d/2 - 1))` to 1e-5 relative (the float32
    fold's rounding). This pass
    rewrites it into `convc.embedding tokens, E {padding_idx, scale,
    sinusoidal}`, the form `convc-derive-decode-step` runs one position at a
    time. Token ids outside [0, V), undefined in ONNX, then give zero rows
    instead of the importer's clamped ones.

    The positions may also be read as fairseq reads them,
    `Gather(PE, Reshape(pos, [-1]))` viewed back to `[B, T, d]`. And
    fairseq's `SinusoidalPositionalEmbedding` as torch exports it is raised
    too: the table a constant (computed at init, N rows, checked entry by
    entry against the sinusoids to the rounding of their float32
    computation, 1e-5 + 4e-7 p), the sum not masked (E[pad] must be a zero
    row, as padding_idx keeps it), `int32` positions. convc.embedding has no
    table end, so a `convc.check` before it fails a call whose sequence is
    longer than N - pad - 1, naming the position Gather, where the Gather's
    own check would have failed for a row without padding.
  }];
  let dependentDialects = ["::convc::ConvcDialect"];
}

def RaiseTaLKPass : Pass<"convc-raise-talk"> {
  let summary = "Recognise TaLK's exported window sums as convc.window_diff";
  let description = [{
    `torch.onnx.export` writes TaLK's fractional window sums as:
    - `Sp = Concat(zeros [B, 1, C], S)` along time, S the prefix sums
      (`CumSum`, imported as `convc.prefix_sum`);
    - `t = Range(0, T, 1)` viewed [1, T, 1];
    - `a = Clip(t - lt * Lmax, 0, T - 1)`, `e = Clip(t + rt * Rmax, 0, T - 1)`
      (causal: `e = t`), lt and rt each head's offset repeated over its
      channels (`o[..., :H]`, `o[..., H:]` unsqueezed, expanded, reshaped);
    - the interpolation `S~(u) = (1 - frac) * GatherElements(Sp, Floor u + 1)
      + frac * GatherElements(Sp, Ceil u + 1)`, `frac = u - Floor u`;
    - `y = S~(e) - S~(a - 1)`.

    The importer emits this as elementwise and gathering `linalg.generic`s,
    `tensor.insert_slice` and `tensor.generate`, with `T - 1` and the range's
    length computed from `tensor.dim` of S. This pass rewrites it into
    `convc.window_diff S, o {left_max, right_max, causal}`; with S a
    `convc.prefix_sum` of `x / Kn`, `convc-fuse-talk` then fuses both into
    `convc.talk_conv`, so the O(B T C) TaLK kernel runs instead of the gathers.

    `window_diff` clamps its offsets to [0, 1] (TaLK's are a sigmoid's); the
    exported sums clip only `a` and `e`. The pass therefore rewrites only when
    interval bounds (ElementRanges.h: through sigmoid, Clip, tanh, abs,
    scaling, views, slices and `convc.linear`'s activation) prove `o` within
    [0, 1]; other offsets (`relu(..) * 1.5`, `2 * sigmoid(..)`, a graph input)
    keep the generic form, which is correct for any offsets.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RaiseDynamicConvPass : Pass<"convc-raise-dynamic-conv"> {
  let summary = "Recognise DynamicConv's unfolded export as convc.dynamic_kernel_conv";
  let description = [{
    The unfolded form `torch.onnx.export` writes for a DynamicConv is:
    - K Slices of the zero-padded input shifted by 0 .. K-1;
    - stacked along a new tap axis;
    - viewed as [B, T, H, R, K];
    - multiplied by the kernels viewed as [B, T, H, 1, K];
    - summed over the taps.

    The importer emits it as gathering `linalg.generic`s, `tensor.insert_slice`,
    a broadcasting product and a reduction. This pass rewrites it into
    `convc.dynamic_kernel_conv x, kernels {padding = P}`. With the kernels a
    `convc.kernel_softmax` (the importer's Softmax over the taps),
    `convc-fuse-kernel-softmax` then fuses the softmax into the conv, so the
    fused DynamicConv kernel runs instead of the unfolded windows. The same
    windows times one constant kernel per head (`[1, 1, H, 1, K]`, the
    shifted-slices form of LightweightConv, with its softmax folded at import)
    become `convc.lightweight_conv`.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RaiseLinearPass : Pass<"convc-raise-linear"> {
  let summary = "Recognise x @ W (+ bias) with constant weights as convc.linear";
  let description = [{
    nn.Linear exports as MatMul (x [.., K] by an initializer W^T [K, N])
    and Add of the bias; the importer emits a `linalg.generic` contraction
    into a zero fill and an elementwise add broadcasting [N]. This pass
    rewrites the contraction into `convc.linear x, W` (W [N, K], transposed
    at compile time) and folds a following bias add and activation (ReLU,
    Sigmoid, or swish x * Sigmoid(x)) into it; a
    residual add of its result becomes `arith.addf` on tensors. The
    projection then runs through the tuned sgemm path and convc-fuse-epilogues
    fuses GLU, residuals and LayerNorm into it.
  }];
  let dependentDialects = ["::convc::ConvcDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // CONVC_FRONTENDS_ONNX_RAISING_PASSES_TD
