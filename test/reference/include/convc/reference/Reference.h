//===- Reference.h - plain reference kernels for every convc op -*- C++ -*-===//
//
// Obviously-correct implementations of docs/semantics.md: direct loops,
// double accumulation, no cleverness. Tests and benchmarks compare compiled
// code against these; compiled code never calls them.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_REFERENCE_REFERENCE_H
#define CONVC_REFERENCE_REFERENCE_H

#include <cstdint>
#include <vector>

namespace convc::ref {

/// A dense, row-major tensor of doubles.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape, double fill = 0.0);

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }

  double &at(std::initializer_list<int64_t> index);
  double at(std::initializer_list<int64_t> index) const;
  double &operator()(int64_t i, int64_t j, int64_t k) { return at({i, j, k}); }
  double operator()(int64_t i, int64_t j, int64_t k) const {
    return at({i, j, k});
  }
};

//===--------------------------------------------------------------------===//
// Sequence-mixing ops. Activations are [B, T, C]; head of channel c is
// floor(c / (C / H)); inputs outside [0, T) are zero.
//===--------------------------------------------------------------------===//

/// y[b,t,c] = sum_k w[c,k] x[b, t + r(k - P), c] (+ bias[c]); w is [C, K].
Tensor depthwiseConv(const Tensor &x, const Tensor &w, int64_t padding,
                     int64_t dilation = 1, const Tensor *bias = nullptr);

/// Softmax over the last axis, max-subtracted.
Tensor kernelSoftmax(const Tensor &logits);

/// LightweightConv with W [H, K]; softmax over all K taps when weightSoftmax.
Tensor lightweightConv(const Tensor &x, const Tensor &W, int64_t padding,
                       bool weightSoftmax = true, const Tensor *bias = nullptr);

/// DynamicConv's normalised per-position kernels [B, T, H, K] from
/// Wq [H*K, C] (row h*K + k) and an optional logit bias [H*K].
Tensor dynamicKernels(const Tensor &x, const Tensor &Wq, const Tensor *bias,
                      int64_t heads, int64_t kernelSize);

/// y[b,t,c] = sum_k kernels[b,t,h(c),k] x[b, t + k - P, c].
Tensor dynamicKernelConv(const Tensor &x, const Tensor &kernels,
                         int64_t padding);

/// DynamicConv = dynamicKernelConv(x, dynamicKernels(x, ...), P).
Tensor dynamicConv(const Tensor &x, const Tensor &Wq, const Tensor *bias,
                   int64_t heads, int64_t kernelSize, int64_t padding);

/// TaLK offsets sigmoid(x Wo^T + bo): Wo is [2H, C] (decoder [H, C]).
Tensor talkOffsets(const Tensor &x, const Tensor &Wo, const Tensor &bo);

/// S[b,t,c] = scale * sum_{u <= t} x[b,u,c].
Tensor prefixSum(const Tensor &x, double scale = 1.0);

/// y = S~(e) - S~(a - 1) with the clamped window edges of TaLK
/// (docs/semantics.md#window_diff).
Tensor windowDiff(const Tensor &S, const Tensor &offsets, int64_t leftMax,
                  int64_t rightMax, bool causal);

/// TaLK = windowDiff(prefixSum(x, 1/Kn), offsets), Kn = Lmax + Rmax + 1.
Tensor talkConv(const Tensor &x, const Tensor &offsets, int64_t leftMax,
                int64_t rightMax, bool causal);

/// GLU over the last axis: a * sigmoid(b), [a ; b] = x.
Tensor glu(const Tensor &x);

//===--------------------------------------------------------------------===//
// The rest of a conv seq2seq layer.
//===--------------------------------------------------------------------===//

double sigmoid(double v);
Tensor relu(const Tensor &x);
Tensor swish(const Tensor &x); // x * sigmoid(x)
Tensor add(const Tensor &a, const Tensor &b);

/// y[..., o] = sum_i x[..., i] W[o, i] (+ b[o]).
Tensor linear(const Tensor &x, const Tensor &W, const Tensor *b = nullptr);
Tensor layerNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                 double eps = 1e-5);
Tensor rmsNorm(const Tensor &x, const Tensor &gamma, double eps = 1e-6);

/// fairseq sinusoidal table [numPositions, d]: sin block then cos block,
/// w_j = exp(-j ln(10000) / (d/2 - 1)); an odd d gets a zero last column.
Tensor sinusoidalPositions(int64_t numPositions, int64_t d);

/// sqrt(d) * E[tokens] + PE(positions). tokens [B, T]; positions count the
/// non-pad tokens from paddingIdx + 1; pad tokens get a zero row.
Tensor embedTokens(const std::vector<std::vector<int64_t>> &tokens,
                   const Tensor &E, int64_t paddingIdx);

struct AttentionWeights {
  Tensor Wq, bq, Wk, bk, Wv, bv, Wo, bo; // [C, C] and [C]
};
/// Multi-head attention of query [B, Tq, C] over keys/values [B, Tk, C];
/// keyPadding[b][s] = true masks key s. Scores scaled by 1/sqrt(C/H).
Tensor multiheadAttention(const Tensor &query, const Tensor &keyValue,
                          const AttentionWeights &w, int64_t heads,
                          const std::vector<std::vector<bool>> *keyPadding =
                              nullptr);

enum class ConvKind { Lightweight, Dynamic, TaLK };

/// One fairseq conv encoder/decoder-self layer (post-norm):
///   u = GLU(Linear_{C->2C}(x)) (or Linear_{C->C}); u[pad] = 0
///   v = Linear_{C->C}(Conv(u));  x = LN(x + v)
///   x = LN(x + fc2(act(fc1(x))))  (act = ReLU; swish for TaLK)
struct ConvLayerWeights {
  ConvKind kind = ConvKind::Lightweight;
  bool useGlu = true;
  int64_t heads = 1, kernelSize = 1, padding = 0;
  int64_t leftMax = 0, rightMax = 0; // TaLK
  bool causal = false;
  Tensor inW, inB, convW, outW, outB;
  Tensor talkWo, talkBo;
  Tensor ln1Gamma, ln1Beta, fc1W, fc1B, fc2W, fc2B, ln2Gamma, ln2Beta;
  double eps = 1e-5;
};
Tensor convLayer(const Tensor &x, const ConvLayerWeights &w,
                 const std::vector<std::vector<bool>> *padMask = nullptr);

//===--------------------------------------------------------------------===//
// Incremental decoding. Each step takes x_t [B, C] and returns y_t [B, C];
// reorder(rows) makes row i the old row rows[i] (beam search).
//===--------------------------------------------------------------------===//

/// The last K-1 conv inputs per row (zeros before the sequence starts).
class ConvWindowState {
public:
  ConvWindowState(int64_t batch, int64_t channels, int64_t kernelSize);
  /// Appends x_t and returns the window [B, K, C], oldest first.
  Tensor push(const Tensor &xt);
  void reorder(const std::vector<int64_t> &rows);

private:
  int64_t batch, channels, kernelSize;
  Tensor history; // [B, K-1, C]
};

/// Causal LightweightConv step (P = K - 1).
Tensor lightweightConvStep(ConvWindowState &state, const Tensor &xt,
                           const Tensor &W, bool weightSoftmax = true);
/// Causal DynamicConv step: the kernel comes from x_t alone.
Tensor dynamicConvStep(ConvWindowState &state, const Tensor &xt,
                       const Tensor &Wq, const Tensor *bias, int64_t heads,
                       int64_t kernelSize);

/// Causal TaLK: a ring of the last Lmax + 2 prefix sums per channel.
class TaLKDecoderState {
public:
  TaLKDecoderState(int64_t batch, int64_t channels, int64_t leftMax);
  /// offsetsT [B, H] are the left offsets of this step.
  Tensor step(const Tensor &xt, const Tensor &offsetsT);
  void reorder(const std::vector<int64_t> &rows);

private:
  double prefix(int64_t b, int64_t c, int64_t j) const; // S[j], S[-1] = 0
  int64_t batch, channels, leftMax, ringSize, time = 0;
  Tensor ring; // [B, Lmax + 2, C]; S[j] lives in slot j mod (Lmax + 2)
};

} // namespace convc::ref

#endif // CONVC_REFERENCE_REFERENCE_H
