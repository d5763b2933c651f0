//===- ConvcOps.td - convc op definitions -------------------*- tablegen -*-===//
//
// Each op's description states its exact forward math; the C++ reference in
// test/reference implements the same formulas and every numerical test
// compares against it.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_OPS_TD
#define CONVC_OPS_TD

include "dialect/ConvcDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every convc op is pure and infers its result type from its operands.
class Convc_PureOp<string mnemonic, list<Trait> traits = []>
    : Convc_Op<mnemonic, !listconcat(traits,
                                     [Pure, InferTypeOpAdaptor])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The conv family
//===----------------------------------------------------------------------===//

def Convc_DepthwiseConvOp : Convc_PureOp<"depthwise_conv"> {
  let summary = "depthwise 1-D convolution over time, optionally dilated";
  let description = [{
    One kernel per channel, `weight : [C, K]`, dilation `r`, left padding `P`
    (in taps, `0 <= P < K`):

    ```
    y[b, t, c] = sum_{k=0}^{K-1} w[c, k] * x[b, t + r*(k - P), c]  (+ bias[c])
    ```

    Inputs outside `[0, T)` are zero. `P = K / 2` (odd K) is the centred
    encoder conv, `P = K - 1` the causal decoder conv.

    Example:

    ```mlir
    %y = convc.depthwise_conv %x, %w {dilation = 2 : i64, padding = 2 : i64}
           : tensor<?x?x64xf32>, tensor<64x5xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_MatrixTensor:$weight,
                       Optional<Convc_VectorTensor>:$bias,
                       Convc_IntAttr:$padding,
                       DefaultValuedAttr<Convc_IntAttr, "1">:$dilation);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)?
  }];
  let extraClassDeclaration = [{
    int64_t getKernelSize() { return getWeight().getType().getDimSize(1); }
  }];
}

def Convc_LightweightConvOp : Convc_PureOp<"lightweight_conv"> {
  let summary = "LightweightConv: a softmax-normalised kernel shared per head";
  let description = [{
    `weight : [H, K]`, `H = heads`, `R = C / H` channels per head, head of
    channel `c` is `h(c) = floor(c / R)`. With `weight_softmax` (the fairseq
    default) the kernel is `w[h, :] = softmax(W[h, :])` over all K taps, in
    f32, before any edge truncation; otherwise `w = W`.

    ```
    y[b, t, c] = sum_k w[h(c), k] * x[b, t + k - P, c]  (+ bias[c])
    ```

    Edge weights are not renormalised: a constant input gives a smaller
    output near the edges.

    ```mlir
    %y = convc.lightweight_conv %x, %w {heads = 8 : i64, padding = 15 : i64}
           : tensor<?x?x512xf32>, tensor<8x31xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_MatrixTensor:$weight,
                       Optional<Convc_VectorTensor>:$bias,
                       Convc_IntAttr:$heads,
                       Convc_IntAttr:$padding,
                       DefaultValuedAttr<BoolAttr, "true">:$weight_softmax);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)?
  }];
  let extraClassDeclaration = [{
    int64_t getKernelSize() { return getWeight().getType().getDimSize(1); }
  }];
  // K = 1 with softmax and no bias: every tap weight is 1, so y = x.
  let hasFolder = 1;
}

def Convc_DynamicConvOp : Convc_PureOp<"dynamic_conv"> {
  let summary = "DynamicConv: position-specific kernels predicted from the input";
  let description = [{
    Kernel projection `weight : [H*K, C]` (row `h*K + k` is head `h`, tap
    `k`), optional logit bias `bias : [H*K]`:

    ```
    z[b, t, h, k] = sum_c weight[h*K + k, c] * x[b, t, c]  (+ bias[h*K + k])
    w[b, t, h, :] = softmax_k(z[b, t, h, :])                 (all K taps)
    y[b, t, c]    = sum_k w[b, t, h(c), k] * x[b, t + k - P, c]
    ```

    The kernel at `t` depends only on `x[b, t, :]`, so `P = K - 1` is causal.
    For `T < K` the softmax still runs over all K taps (zero padding).

    ```mlir
    %y = convc.dynamic_conv %x, %wq {heads = 8 : i64, kernel_size = 31 : i64,
                                      padding = 30 : i64}
           : tensor<?x?x512xf32>, tensor<248x512xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_MatrixTensor:$weight,
                       Optional<Convc_VectorTensor>:$bias,
                       Convc_IntAttr:$heads,
                       Convc_IntAttr:$kernel_size,
                       Convc_IntAttr:$padding);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight)
    (`,` type($bias)^)?
  }];
}

def Convc_TaLKConvOp : Convc_PureOp<"talk_conv"> {
  let summary = "TaLK: adaptive windows summed through prefix sums";
  let description = [{
    Time-aware large kernel convolution. `offsets : [B, T, 2H]` holds the
    sigmoid outputs `lt = offsets[..., h]`, `rt = offsets[..., H + h]`
    (causal: `[B, T, H]`, right offsets are 0). With `Kn = left_max +
    right_max + 1`:

    ```
    a  = clamp(t - lt * left_max, 0, T - 1)
    e  = clamp(t + rt * right_max, 0, T - 1)           (causal: e = t)
    S[j] = sum_{u <= j} x[u] / Kn,   S[-1] = 0
    S~(u) = (1 - frac u) * S[floor u] + frac u * S[ceil u]
    y[b, t, c] = S~(e) - S~(a - 1)                     (h = h(c))
    ```

    The normalisation is the constant `1/Kn`, not the window length. Cost is
    O(B*T*C) whatever the window sizes. `causal` requires `right_max = 0`.
    Offsets are sigmoid outputs; compiled code clamps values outside [0, 1]
    (and NaN, to 0) so that a window never leaves the sequence.

    ```mlir
    %y = convc.talk_conv %x, %o {left_max = 31 : i64, right_max = 31 : i64}
           : tensor<?x?x512xf32>, tensor<?x?x16xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_SequenceTensor:$offsets,
                       Convc_IntAttr:$left_max,
                       Convc_IntAttr:$right_max,
                       UnitAttr:$causal);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $offsets attr-dict `:` type($input) `,` type($offsets)
  }];
  let extraClassDeclaration = [{
    /// Kn, the constant the window sum is divided by.
    int64_t getNormalizer() { return getLeftMax() + getRightMax() + 1; }
  }];
  // Lmax = Rmax = 0: the window is [t, t] and Kn = 1, so y = x.
  let hasFolder = 1;
}

def Convc_GLUOp : Convc_PureOp<"glu"> {
  let summary = "gated linear unit over the last axis";
  let description = [{
    Splits the last axis (size `2D`) into halves `a = x[..., :D]` and
    `b = x[..., D:]`:

    ```
    y = a * sigmoid(b)
    ```

    ```mlir
    %u = convc.glu %x : tensor<?x?x1024xf32>
    ```
  }];
  let arguments = (ins Convc_AnyFloatTensor:$input);
  let results = (outs Convc_AnyFloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// The rest of a conv seq2seq layer, where fusion needs to see it
//===----------------------------------------------------------------------===//

def Convc_LinearOp : Convc_PureOp<"linear", [AttrSizedOperandSegments]> {
  let summary = "projection with a fused epilogue";
  let description = [{
    `weight : [N, D]` (PyTorch's layout), input `[..., D]`:

    ```
    z = x W^T (+ bias)
    a = activation(z)        none | relu | swish (z sigmoid z) | sigmoid |
                             glu (z[:N/2] * sigmoid(z[N/2:]), halves N)
    a = a + residual         (optional)
    y = layer_norm(a) * ln_gamma + ln_beta   (optional, over the last axis,
                                              eps = `eps`, biased variance)
    ```

    The epilogue runs on each row tile while the projection's output is in
    cache; `convc-fuse-epilogues` forms it from separate `glu`, `arith.addf`
    and `layer_norm` ops.

    ```mlir
    %u = convc.linear %x, %w1 bias %b1 {activation = #convc<activation glu>}
           : tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>
           -> tensor<?x?x512xf32>
    %h = convc.linear %v, %w2 bias %b2 residual %x layer_norm %g, %beta
           : tensor<?x?x512xf32>, tensor<512x512xf32>, tensor<512xf32>,
             tensor<?x?x512xf32>, tensor<512xf32>, tensor<512xf32>
           -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Convc_AnyFloatTensor:$input,
                       Convc_MatrixTensor:$weight,
                       Optional<Convc_VectorTensor>:$bias,
                       Optional<Convc_AnyFloatTensor>:$residual,
                       Optional<Convc_VectorTensor>:$ln_gamma,
                       Optional<Convc_VectorTensor>:$ln_beta,
                       DefaultValuedAttr<Convc_Activation,
                                         "::convc::Activation::none">:$activation,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Convc_AnyFloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`residual` $residual^)?
    (`layer_norm` $ln_gamma^ `,` $ln_beta)? attr-dict `:` type(operands)
    `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// Columns the projection computes (before GLU halves them).
    int64_t getProjectionWidth() { return getWeight().getType().getDimSize(0); }
  }];
}

def Convc_LayerNormOp : Convc_PureOp<"layer_norm"> {
  let summary = "LayerNorm over the last axis, with an optional residual";
  let description = [{
    `a = x (+ residual)`, `y = (a - mean(a)) / sqrt(var(a) + eps) * gamma +
    beta` over the last axis (biased variance, as `torch.nn.LayerNorm`).

    ```mlir
    %y = convc.layer_norm %x, %g, %b residual %r {eps = 1.0e-05 : f64}
           : tensor<?x?x512xf32>, tensor<512xf32>, tensor<512xf32>, tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Convc_AnyFloatTensor:$input,
                       Convc_VectorTensor:$gamma,
                       Convc_VectorTensor:$beta,
                       Optional<Convc_AnyFloatTensor>:$residual,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Convc_AnyFloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta (`residual` $residual^)? attr-dict `:`
    type($input) `,` type($gamma) `,` type($beta) (`,` type($residual)^)?
  }];
}

def Convc_EmbeddingOp : Convc_PureOp<"embedding"> {
  let summary = "token embedding, scaled, plus sinusoidal positions";
  let description = [{
    fairseq's input embedding. `tokens : [B, T]` (i64), `table : [V, d]`:

    ```
    y[b, t, :] = scale * table[tokens[b, t], :] + PE(pos[b, t])
    pos[b, t]  = padding_idx + start[b] + #(non-pad tokens in tokens[b, 0..t])
    PE(p)      = [sin(p w_j) for j < d/2] ++ [cos(p w_j) for j < d/2],
                 w_j = exp(-j ln(10000) / (d/2 - 1))     (zero last column
                                                          when d is odd)
    ```

    Pad tokens (`padding_idx`) and ids outside `[0, V)` give zero rows;
    with `check_ids` (an imported Gather's contract) an id outside `[0, V)`
    also fails the call, naming the node, once the entry point returns.
    `start` (optional, `[B]` i64) counts the non-pad tokens before this
    chunk, for decoding step by step; without it positions start at
    `padding_idx + 1`. Without `sinusoidal`, no positions are added.

    ```mlir
    %x = convc.embedding %tokens, %table {padding_idx = 1 : i64,
                                          scale = 22.627 : f64, sinusoidal}
           : tensor<?x?xi64>, tensor<1000x512xf32> -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[I64]>:$tokens,
                       Convc_MatrixTensor:$table,
                       Optional<1DTensorOf<[I64]>>:$start,
                       Convc_IntAttr:$padding_idx,
                       F64Attr:$scale,
                       UnitAttr:$sinusoidal,
                       UnitAttr:$check_ids);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $tokens `,` $table (`start` $start^)? attr-dict `:` type($tokens) `,`
    type($table) (`,` type($start)^)? `->` type($result)
  }];
}

def Convc_AttentionOp : Convc_PureOp<"attention"> {
  let summary = "multi-head scaled dot-product attention over projected q, k, v";
  let description = [{
    `query : [B, Tq, C]`, `key`, `value : [B, Tk, C]`, already projected;
    head `h` uses channels `[h R, (h + 1) R)`, `R = C / H`:

    ```
    p[b, h, t, s] = softmax_s(q[b, t, h] . k[b, s, h] / sqrt(R)
                              masked where key_padding[b, s] != 0)
    y[b, t, h]    = sum_s p[b, h, t, s] v[b, s, h]
    ```

    `key_padding : [B, Tk]` (optional, f32, nonzero = padding) masks keys;
    a query whose keys are all masked gives NaN (as softmax over -inf does
    in ONNX and PyTorch; no keys at all give zeros). The output projection is
    a separate `convc.linear`.

    ```mlir
    %a = convc.attention %q, %k, %v key_padding %m {heads = 8 : i64}
           : tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>,
             tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$query,
                       Convc_SequenceTensor:$key,
                       Convc_SequenceTensor:$value,
                       Optional<2DTensorOf<[F32]>>:$key_padding,
                       Convc_IntAttr:$heads);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`key_padding` $key_padding^)? attr-dict `:`
    type($query) `,` type($key) `,` type($value) (`,` type($key_padding)^)?
  }];
}

def Convc_PaddingMaskOp : Convc_Op<"padding_mask", [Pure]> {
  let summary = "1.0 where a token is padding, else 0.0";
  let description = [{
    `mask[b, t] = tokens[b, t] == padding_idx ? 1 : 0` (f32), the
    `key_padding` of attention over a padded source.

    ```mlir
    %m = convc.padding_mask %src {padding_idx = 1 : i64}
           : tensor<?x?xi64> -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[I64]>:$tokens, Convc_IntAttr:$padding_idx);
  let results = (outs 2DTensorOf<[F32]>:$result);
  let assemblyFormat = "$tokens attr-dict `:` type($tokens) `->` type($result)";
}

def Convc_MaskPositionsOp : Convc_Op<"mask_positions", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "zero the positions a mask marks (padding)";
  let description = [{
    `y[b, t, :] = mask[b, t] != 0 ? 0 : x[b, t, :]`: fairseq's encoder zeroes
    padded positions before its convs (`u[pad positions] = 0`).

    ```mlir
    %u0 = convc.mask_positions %u, %m : tensor<?x?x512xf32>, tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input, 2DTensorOf<[F32]>:$mask);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $mask attr-dict `:` type($input) `,` type($mask)
  }];
}

//===----------------------------------------------------------------------===//
// Incremental decoding: one position of a causal conv, with explicit state
//===----------------------------------------------------------------------===//

def Convc_ConvWindowStepOp : Convc_Op<"conv_window_step", [Pure,
    AllTypesMatch<["input", "result"]>, AllTypesMatch<["state", "new_state"]>]> {
  let summary = "one step of a causal LightweightConv or DynamicConv";
  let description = [{
    `input : [B, 1, C]` is the conv input at step t, `state : [B, K-1, C]`
    the K-1 inputs before it (zeros before the sequence starts). With
    `window = state ++ input` (K rows), the output is the causal conv
    (P = K - 1) at t:

    ```
    lightweight: y[b, 0, c] = sum_k w[h(c), k] window[b, k, c]
                 (w = softmax(weight) when weight_softmax)
    dynamic:     y[b, 0, c] = sum_k softmax_k(Wq x_t (+ bias))[h(c), k]
                                   window[b, k, c]
    new_state    = window[:, 1:K]
    ```

    `convc-derive-decode-step` puts it where a full-sequence decoder has a
    causal conv; it equals that conv at every position.

    ```mlir
    %y, %s = convc.conv_window_step %x, %state, %w
               {heads = 8 : i64, kind = "lightweight"}
               : tensor<?x1x512xf32>, tensor<?x30x512xf32>, tensor<8x31xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_SequenceTensor:$state,
                       Convc_MatrixTensor:$weight,
                       Optional<Convc_VectorTensor>:$bias,
                       Convc_IntAttr:$heads,
                       StrAttr:$kind,
                       DefaultValuedAttr<BoolAttr, "true">:$weight_softmax);
  let results = (outs Convc_SequenceTensor:$result,
                      Convc_SequenceTensor:$new_state);
  let assemblyFormat = [{
    $input `,` $state `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($state) `,` type($weight) (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getKernelSize() {
      return getState().getType().getDimSize(1) + 1;
    }
  }];
}

def Convc_TaLKStepOp : Convc_Op<"talk_step", [Pure,
    AllTypesMatch<["input", "result"]>, AllTypesMatch<["ring", "new_ring"]>]> {
  let summary = "one step of a causal TaLK convolution";
  let description = [{
    `input : [B, 1, C]` at step `t` (`step : [B]`, i64, the position of this
    input), `offsets : [B, 1, H]` its left offsets, `ring : [B, Lmax+2, C]`
    the last Lmax + 2 prefix sums (f32; S[j] in slot j mod (Lmax + 2)):

    ```
    S[t] = S[t-1] + x_t / Kn                (Kn = Lmax + 1, S[-1] = 0)
    a    = max(t - lt Lmax, 0)
    y    = S[t] - S~(a - 1)                 (S~: linear interpolation)
    ```

    The result is the output and the ring with S[t] stored. It equals a
    causal `talk_conv` at every step.
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_SequenceTensor:$offsets,
                       Convc_SequenceTensor:$ring,
                       1DTensorOf<[I64]>:$step,
                       Convc_IntAttr:$left_max);
  let results = (outs Convc_SequenceTensor:$result,
                      Convc_SequenceTensor:$new_ring);
  let assemblyFormat = [{
    $input `,` $offsets `,` $ring `,` $step attr-dict `:` type($input) `,`
    type($offsets) `,` type($ring) `,` type($step)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Primitives the fusion passes rewrite
//===----------------------------------------------------------------------===//

def Convc_KernelSoftmaxOp : Convc_PureOp<"kernel_softmax"> {
  let summary = "softmax over the kernel-tap (last) axis";
  let description = [{
    `y[..., k] = exp(x[..., k] - m) / sum_j exp(x[..., j] - m)` with `m` the
    maximum over the last axis. Normalises LightweightConv weights `[H, K]`
    and DynamicConv logits `[B, T, H, K]` over all K taps.

    ```mlir
    %w = convc.kernel_softmax %logits : tensor<8x31xf32>
    ```
  }];
  let arguments = (ins Convc_AnyFloatTensor:$input);
  let results = (outs Convc_AnyFloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  // A constant input folds to its softmax (computed in f32).
  let hasFolder = 1;
}

def Convc_DynamicKernelConvOp : Convc_PureOp<"dynamic_kernel_conv"> {
  let summary = "convolution with a kernel per position and head";
  let description = [{
    The conv half of DynamicConv, with the kernels given: `kernels :
    [B, T, H, K]`. When `kernel_softmax` is set the kernels are logits and
    are normalised over the K taps inside the conv (the fused form, in which
    the normalised kernels never reach memory).

    ```
    w = kernel_softmax ? softmax_k(kernels) : kernels
    y[b, t, c] = sum_k w[b, t, h(c), k] * x[b, t + k - P, c]
    ```

    ```mlir
    %y = convc.dynamic_kernel_conv %x, %z {kernel_softmax, padding = 30 : i64}
           : tensor<?x?x512xf32>, tensor<?x?x8x31xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       Convc_PositionKernelTensor:$kernels,
                       Convc_IntAttr:$padding,
                       UnitAttr:$kernel_softmax);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $input `,` $kernels attr-dict `:` type($input) `,` type($kernels)
  }];
}

def Convc_PrefixSumOp : Convc_PureOp<"prefix_sum"> {
  let summary = "scaled inclusive prefix sum over time";
  let description = [{
    `y[b, t, c] = scale * sum_{u <= t} x[b, u, c]`. The scale carries
    TaLK's constant normalisation `1/Kn`, so the normalisation is fused with
    the sum rather than a separate pass over the data.

    ```mlir
    %s = convc.prefix_sum %x {scale = 0.25 : f64} : tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$input,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Convc_WindowDiffOp : Convc_PureOp<"window_diff"> {
  let summary = "interpolated window difference of a prefix sum (TaLK)";
  let description = [{
    Given prefix sums `S : [B, T, C]` and TaLK offsets (as for
    `convc.talk_conv`), computes the fractional window sums

    ```
    y[b, t, c] = S~(e) - S~(a - 1)
    ```

    with `a`, `e` and the linear interpolation `S~` of `convc.talk_conv`.
    `talk_conv(x) == window_diff(prefix_sum(x, scale = 1/Kn))`.

    ```mlir
    %y = convc.window_diff %s, %o {causal, left_max = 4 : i64, right_max = 0 : i64}
           : tensor<?x?x64xf32>, tensor<?x?x4xf32>
    ```
  }];
  let arguments = (ins Convc_SequenceTensor:$prefix_sums,
                       Convc_SequenceTensor:$offsets,
                       Convc_IntAttr:$left_max,
                       Convc_IntAttr:$right_max,
                       UnitAttr:$causal);
  let results = (outs Convc_SequenceTensor:$result);
  let assemblyFormat = [{
    $prefix_sums `,` $offsets attr-dict `:` type($prefix_sums) `,` type($offsets)
  }];
}

//===----------------------------------------------------------------------===//
// Run-time checks
//===----------------------------------------------------------------------===//

def Convc_CheckOp : Convc_Op<"check", [MemoryEffects<[MemWrite]>]> {
  let summary = "fails the running entry point when a condition is false";
  let description = [{
    A check on sizes (or other scalars) that only the run time knows:

    ```mlir
    convc.check %ok, "Add node 'add': input 1 dim 1 of size {1} does not broadcast to {0}" (%r, %u)
    ```

    When `%ok` is false the entry point returns at once and the runtime
    reports `message` with `{0}`, `{1}` replaced by `values`: the call fails
    (a non-OK Status naming the check's ONNX node), no output is produced,
    and nothing after the check runs, so the code after it may assume the
    condition (a broadcast's operands read within their buffers, say).

    It sits in a function body and carries at most two values.
    `convc-lower-checks` turns it into a branch to a call of the runtime's
    `convc_rt_check_failed` and a return.

    With `continues`, the check is per element, in a loop body (a Gather's
    index): a failure calls the runtime, which records the first message of
    the call, and the loop goes on, so the code after the check must stay
    in bounds by itself (Gather clamps). The runtime fails the call when the
    entry point returns, and writes no output. In CUDA kernels such a check
    writes a device flag the host reads after the kernels
    (`convc-gpu-device-checks`).
  }];
  let arguments = (ins I1:$condition, Variadic<Index>:$values,
                       StrAttr:$message, UnitAttr:$continues);
  let assemblyFormat = [{
    $condition `,` $message (`(` $values^ `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

#endif // CONVC_OPS_TD
