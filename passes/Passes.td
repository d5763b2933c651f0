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

#endif // CONVC_PASSES_TD
