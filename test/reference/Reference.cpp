//===- Reference.cpp - plain reference kernels ----------------------------===//
//
// Direct transcriptions of the formulas in docs/semantics.md. Clarity over
// speed: each output element is its formula evaluated on its own.
//
//===----------------------------------------------------------------------===//

#include "convc/reference/Reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

namespace convc::ref {

Tensor::Tensor(std::vector<int64_t> s, double fill) : shape(std::move(s)) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  data.assign(n, fill);
}

static int64_t flatIndex(const std::vector<int64_t> &shape,
                         std::initializer_list<int64_t> index) {
  if (index.size() != shape.size())
    throw std::invalid_argument("reference: index rank " +
                                std::to_string(index.size()) +
                                " != tensor rank " +
                                std::to_string(shape.size()));
  int64_t flat = 0, i = 0;
  for (int64_t v : index) {
    if (v < 0 || v >= shape[i])
      throw std::out_of_range("reference: index out of range");
    flat = flat * shape[i++] + v;
  }
  return flat;
}

double &Tensor::at(std::initializer_list<int64_t> index) {
  return data[flatIndex(shape, index)];
}
double Tensor::at(std::initializer_list<int64_t> index) const {
  return data[flatIndex(shape, index)];
}

static void require(bool condition, const char *what) {
  if (!condition)
    throw std::invalid_argument(std::string("reference: ") + what);
}

/// x[b, t, c], zero outside [0, T).
static double padded(const Tensor &x, int64_t b, int64_t t, int64_t c) {
  return (t < 0 || t >= x.dim(1)) ? 0.0 : x(b, t, c);
}

Tensor depthwiseConv(const Tensor &x, const Tensor &w, int64_t padding,
                     int64_t dilation, const Tensor *bias) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), K = w.dim(1);
  require(w.dim(0) == C && K >= 1 && dilation >= 1, "depthwiseConv shapes");
  Tensor y({B, T, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = bias ? bias->data[c] : 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += w.at({c, k}) * padded(x, b, t + dilation * (k - padding), c);
        y(b, t, c) = acc;
      }
  return y;
}

Tensor kernelSoftmax(const Tensor &logits) {
  const int64_t K = logits.dim(-1), rows = logits.numel() / K;
  Tensor out(logits.shape);
  for (int64_t r = 0; r < rows; ++r) {
    const double *z = &logits.data[r * K];
    double m = *std::max_element(z, z + K), sum = 0.0;
    for (int64_t k = 0; k < K; ++k)
      sum += std::exp(z[k] - m);
    for (int64_t k = 0; k < K; ++k)
      out.data[r * K + k] = std::exp(z[k] - m) / sum;
  }
  return out;
}

Tensor lightweightConv(const Tensor &x, const Tensor &W, int64_t padding,
                       bool weightSoftmax, const Tensor *bias) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const int64_t H = W.dim(0), K = W.dim(1);
  require(H >= 1 && C % H == 0, "lightweightConv: C % H != 0");
  const int64_t R = C / H;
  Tensor w = weightSoftmax ? kernelSoftmax(W) : W;
  Tensor y({B, T, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = bias ? bias->data[c] : 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += w.at({c / R, k}) * padded(x, b, t + k - padding, c);
        y(b, t, c) = acc;
      }
  return y;
}

Tensor dynamicKernels(const Tensor &x, const Tensor &Wq, const Tensor *bias,
                      int64_t heads, int64_t kernelSize) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  require(Wq.dim(0) == heads * kernelSize && Wq.dim(1) == C,
          "dynamicKernels: Wq must be [H*K, C]");
  Tensor z({B, T, heads, kernelSize});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t k = 0; k < kernelSize; ++k) {
          int64_t row = h * kernelSize + k;
          double acc = bias ? bias->data[row] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            acc += Wq.at({row, c}) * x(b, t, c);
          z.at({b, t, h, k}) = acc;
        }
  return kernelSoftmax(z);
}

Tensor dynamicKernelConv(const Tensor &x, const Tensor &kernels,
                         int64_t padding) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const int64_t H = kernels.dim(2), K = kernels.dim(3);
  require(C % H == 0, "dynamicKernelConv: C % H != 0");
  const int64_t R = C / H;
  Tensor y({B, T, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += kernels.at({b, t, c / R, k}) *
                 padded(x, b, t + k - padding, c);
        y(b, t, c) = acc;
      }
  return y;
}

Tensor dynamicConv(const Tensor &x, const Tensor &Wq, const Tensor *bias,
                   int64_t heads, int64_t kernelSize, int64_t padding) {
  return dynamicKernelConv(x, dynamicKernels(x, Wq, bias, heads, kernelSize),
                           padding);
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

Tensor talkOffsets(const Tensor &x, const Tensor &Wo, const Tensor &bo) {
  Tensor o = linear(x, Wo, &bo);
  for (double &v : o.data)
    v = sigmoid(v);
  return o;
}

Tensor prefixSum(const Tensor &x, double scale) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  Tensor S({B, T, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0.0;
      for (int64_t t = 0; t < T; ++t) {
        acc += x(b, t, c);
        S(b, t, c) = scale * acc;
      }
    }
  return S;
}

/// S~(u): linear interpolation between S[floor u] and S[ceil u], S[-1] = 0.
// talk_conv's offsets are clamped to [0, 1], NaN to 0 (docs/semantics.md), so a
// window never leaves [t - Lmax, t + Rmax].
static double clampOffset(double o) {
  return std::isnan(o) ? 0.0 : std::clamp(o, 0.0, 1.0);
}

static double interpolate(const Tensor &S, int64_t b, int64_t c, double u) {
  auto at = [&](int64_t j) { return j < 0 ? 0.0 : S(b, j, c); };
  double lo = std::floor(u), frac = u - lo;
  return (1.0 - frac) * at(static_cast<int64_t>(lo)) +
         frac * at(static_cast<int64_t>(std::ceil(u)));
}

Tensor windowDiff(const Tensor &S, const Tensor &offsets, int64_t leftMax,
                  int64_t rightMax, bool causal) {
  const int64_t B = S.dim(0), T = S.dim(1), C = S.dim(2);
  const int64_t H = causal ? offsets.dim(2) : offsets.dim(2) / 2;
  require(C % H == 0 && (!causal || rightMax == 0), "windowDiff shapes");
  const int64_t R = C / H;
  Tensor y({B, T, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t h = c / R;
        double lt = clampOffset(offsets(b, t, h));
        double rt = causal ? 0.0 : clampOffset(offsets(b, t, H + h));
        double a = std::clamp(t - lt * leftMax, 0.0, double(T - 1));
        double e = causal ? double(t)
                          : std::clamp(t + rt * rightMax, 0.0, double(T - 1));
        y(b, t, c) = interpolate(S, b, c, e) - interpolate(S, b, c, a - 1.0);
      }
  return y;
}

Tensor talkConv(const Tensor &x, const Tensor &offsets, int64_t leftMax,
                int64_t rightMax, bool causal) {
  double kn = double(leftMax + rightMax + 1);
  return windowDiff(prefixSum(x, 1.0 / kn), offsets, leftMax, rightMax,
                    causal);
}

Tensor glu(const Tensor &x) {
  const int64_t D = x.dim(-1);
  require(D % 2 == 0, "glu: odd last dimension");
  std::vector<int64_t> shape = x.shape;
  shape.back() = D / 2;
  Tensor y(shape);
  const int64_t rows = x.numel() / D, half = D / 2;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < half; ++i)
      y.data[r * half + i] =
          x.data[r * D + i] * sigmoid(x.data[r * D + half + i]);
  return y;
}

Tensor relu(const Tensor &x) {
  Tensor y = x;
  for (double &v : y.data)
    v = std::max(v, 0.0);
  return y;
}

Tensor swish(const Tensor &x) {
  Tensor y = x;
  for (double &v : y.data)
    v = v * sigmoid(v);
  return y;
}

Tensor add(const Tensor &a, const Tensor &b) {
  require(a.shape == b.shape, "add: shape mismatch");
  Tensor y = a;
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data[i] += b.data[i];
  return y;
}

Tensor linear(const Tensor &x, const Tensor &W, const Tensor *b) {
  const int64_t in = x.dim(-1), out = W.dim(0), rows = x.numel() / in;
  require(W.dim(1) == in, "linear: W must be [out, in]");
  std::vector<int64_t> shape = x.shape;
  shape.back() = out;
  Tensor y(shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b->data[o] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        acc += x.data[r * in + i] * W.data[o * in + i];
      y.data[r * out + o] = acc;
    }
  return y;
}

Tensor layerNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                 double eps) {
  const int64_t D = x.dim(-1), rows = x.numel() / D;
  Tensor y(x.shape);
  for (int64_t r = 0; r < rows; ++r) {
    const double *v = &x.data[r * D];
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < D; ++i)
      mean += v[i];
    mean /= D;
    for (int64_t i = 0; i < D; ++i)
      var += (v[i] - mean) * (v[i] - mean);
    var /= D; // biased, as torch.nn.LayerNorm
    for (int64_t i = 0; i < D; ++i)
      y.data[r * D + i] =
          (v[i] - mean) / std::sqrt(var + eps) * gamma.data[i] + beta.data[i];
  }
  return y;
}

Tensor rmsNorm(const Tensor &x, const Tensor &gamma, double eps) {
  const int64_t D = x.dim(-1), rows = x.numel() / D;
  Tensor y(x.shape);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0.0;
    for (int64_t i = 0; i < D; ++i)
      ms += x.data[r * D + i] * x.data[r * D + i];
    double scale = 1.0 / std::sqrt(ms / D + eps);
    for (int64_t i = 0; i < D; ++i)
      y.data[r * D + i] = x.data[r * D + i] * scale * gamma.data[i];
  }
  return y;
}

Tensor sinusoidalPositions(int64_t numPositions, int64_t d) {
  const int64_t half = d / 2;
  require(half >= 2, "sinusoidalPositions: d must be >= 4");
  Tensor pe({numPositions, d});
  for (int64_t p = 0; p < numPositions; ++p)
    for (int64_t j = 0; j < half; ++j) {
      double wj = std::exp(-double(j) * std::log(10000.0) / double(half - 1));
      pe.at({p, j}) = std::sin(double(p) * wj);
      pe.at({p, half + j}) = std::cos(double(p) * wj);
    }
  return pe;
}

Tensor embedTokens(const std::vector<std::vector<int64_t>> &tokens,
                   const Tensor &E, int64_t paddingIdx) {
  const int64_t B = tokens.size(), T = B ? tokens[0].size() : 0;
  const int64_t d = E.dim(1);
  Tensor pe = sinusoidalPositions(paddingIdx + T + 1, d);
  Tensor y({B, T, d});
  const double scale = std::sqrt(double(d));
  for (int64_t b = 0; b < B; ++b) {
    int64_t position = paddingIdx;
    for (int64_t t = 0; t < T; ++t) {
      int64_t tok = tokens[b][t];
      require(tok >= 0 && tok < E.dim(0), "embedTokens: token out of range");
      if (tok == paddingIdx)
        continue; // embedding and position rows of pad are zero
      ++position;
      for (int64_t i = 0; i < d; ++i)
        y(b, t, i) = scale * E.at({tok, i}) + pe.at({position, i});
    }
  }
  return y;
}

Tensor multiheadAttention(const Tensor &query, const Tensor &keyValue,
                          const AttentionWeights &w, int64_t heads,
                          const std::vector<std::vector<bool>> *keyPadding) {
  const int64_t B = query.dim(0), Tq = query.dim(1), C = query.dim(2);
  const int64_t Tk = keyValue.dim(1), dh = C / heads;
  require(C % heads == 0, "attention: C % H != 0");
  Tensor q = linear(query, w.Wq, &w.bq), k = linear(keyValue, w.Wk, &w.bk),
         v = linear(keyValue, w.Wv, &w.bv);
  Tensor context({B, Tq, C});
  const double scale = 1.0 / std::sqrt(double(dh));
  std::vector<double> p(Tk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < Tq; ++t) {
        double m = -INFINITY;
        for (int64_t s = 0; s < Tk; ++s) {
          bool masked = keyPadding && (*keyPadding)[b][s];
          double score = 0.0;
          for (int64_t i = 0; i < dh; ++i)
            score += q(b, t, h * dh + i) * k(b, s, h * dh + i);
          p[s] = masked ? -INFINITY : score * scale;
          m = std::max(m, p[s]);
        }
        double sum = 0.0;
        for (int64_t s = 0; s < Tk; ++s)
          sum += (p[s] = std::isinf(p[s]) ? 0.0 : std::exp(p[s] - m));
        for (int64_t i = 0; i < dh; ++i) {
          double acc = 0.0;
          for (int64_t s = 0; s < Tk; ++s)
            acc += p[s] / sum * v(b, s, h * dh + i);
          context(b, t, h * dh + i) = acc;
        }
      }
  return linear(context, w.Wo, &w.bo);
}

Tensor convLayer(const Tensor &x, const ConvLayerWeights &w,
                 const std::vector<std::vector<bool>> *padMask) {
  Tensor u = linear(x, w.inW, &w.inB);
  if (w.useGlu)
    u = glu(u);
  if (padMask)
    for (int64_t b = 0; b < u.dim(0); ++b)
      for (int64_t t = 0; t < u.dim(1); ++t)
        if ((*padMask)[b][t])
          for (int64_t c = 0; c < u.dim(2); ++c)
            u(b, t, c) = 0.0;
  Tensor conv;
  switch (w.kind) {
  case ConvKind::Lightweight:
    conv = lightweightConv(u, w.convW, w.padding);
    break;
  case ConvKind::Dynamic:
    conv = dynamicConv(u, w.convW, nullptr, w.heads, w.kernelSize, w.padding);
    break;
  case ConvKind::TaLK:
    conv = talkConv(u, talkOffsets(u, w.talkWo, w.talkBo), w.leftMax,
                    w.rightMax, w.causal);
    break;
  }
  Tensor h = layerNorm(add(x, linear(conv, w.outW, &w.outB)), w.ln1Gamma,
                       w.ln1Beta, w.eps);
  Tensor f = linear(h, w.fc1W, &w.fc1B);
  f = w.kind == ConvKind::TaLK ? swish(f) : relu(f);
  return layerNorm(add(h, linear(f, w.fc2W, &w.fc2B)), w.ln2Gamma, w.ln2Beta,
                   w.eps);
}

//===----------------------------------------------------------------------===//
// Incremental decoding
//===----------------------------------------------------------------------===//

static Tensor reorderRows(const Tensor &t, const std::vector<int64_t> &rows) {
  std::vector<int64_t> shape = t.shape;
  shape[0] = rows.size();
  Tensor out(shape);
  const int64_t rowSize = t.numel() / t.dim(0);
  for (size_t i = 0; i < rows.size(); ++i) {
    require(rows[i] >= 0 && rows[i] < t.dim(0), "reorder: row out of range");
    std::copy_n(&t.data[rows[i] * rowSize], rowSize, &out.data[i * rowSize]);
  }
  return out;
}

ConvWindowState::ConvWindowState(int64_t batch, int64_t channels,
                                 int64_t kernelSize)
    : batch(batch), channels(channels), kernelSize(kernelSize),
      history({batch, kernelSize - 1, channels}) {}

Tensor ConvWindowState::push(const Tensor &xt) {
  require(xt.dim(0) == batch && xt.dim(1) == channels, "push: x_t shape");
  Tensor window({batch, kernelSize, channels});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t k = 0; k + 1 < kernelSize; ++k)
        window(b, k, c) = history(b, k, c);
      window(b, kernelSize - 1, c) = xt.at({b, c});
      // Keep the newest K-1 inputs.
      for (int64_t k = 0; k + 1 < kernelSize; ++k)
        history(b, k, c) = window(b, k + 1, c);
    }
  return window;
}

void ConvWindowState::reorder(const std::vector<int64_t> &rows) {
  history = reorderRows(history, rows);
  batch = rows.size();
}

Tensor lightweightConvStep(ConvWindowState &state, const Tensor &xt,
                           const Tensor &W, bool weightSoftmax) {
  const int64_t B = xt.dim(0), C = xt.dim(1), H = W.dim(0), K = W.dim(1);
  const int64_t R = C / H;
  Tensor w = weightSoftmax ? kernelSoftmax(W) : W;
  Tensor window = state.push(xt);
  Tensor y({B, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k)
        acc += w.at({c / R, k}) * window(b, k, c);
      y.at({b, c}) = acc;
    }
  return y;
}

Tensor dynamicConvStep(ConvWindowState &state, const Tensor &xt,
                       const Tensor &Wq, const Tensor *bias, int64_t heads,
                       int64_t kernelSize) {
  const int64_t B = xt.dim(0), C = xt.dim(1), R = C / heads;
  Tensor x3({B, 1, C});
  x3.data = xt.data;
  Tensor kernels = dynamicKernels(x3, Wq, bias, heads, kernelSize);
  Tensor window = state.push(xt);
  Tensor y({B, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0.0;
      for (int64_t k = 0; k < kernelSize; ++k)
        acc += kernels.at({b, 0, c / R, k}) * window(b, k, c);
      y.at({b, c}) = acc;
    }
  return y;
}

TaLKDecoderState::TaLKDecoderState(int64_t batch, int64_t channels,
                                   int64_t leftMax)
    : batch(batch), channels(channels), leftMax(leftMax),
      ringSize(leftMax + 2), ring({batch, leftMax + 2, channels}) {}

double TaLKDecoderState::prefix(int64_t b, int64_t c, int64_t j) const {
  if (j < 0)
    return 0.0;
  require(j <= time && time - j < ringSize, "TaLK ring: S[j] not kept");
  return ring(b, j % ringSize, c);
}

Tensor TaLKDecoderState::step(const Tensor &xt, const Tensor &offsetsT) {
  const int64_t H = offsetsT.dim(1), R = channels / H;
  const double kn = double(leftMax + 1);
  const int64_t t = time;
  Tensor y({batch, channels});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      double St = (t == 0 ? 0.0 : ring(b, (t - 1) % ringSize, c)) +
                  xt.at({b, c}) / kn;
      ring(b, t % ringSize, c) = St;
    }
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      // Causal: e = t, and a = max(t - lt * Lmax, 0) needs no upper clamp.
      double a =
          std::max(t - clampOffset(offsetsT.at({b, c / R})) * leftMax, 0.0);
      double u = a - 1.0, lo = std::floor(u), frac = u - lo;
      double Su = (1.0 - frac) * prefix(b, c, int64_t(lo)) +
                  frac * prefix(b, c, int64_t(std::ceil(u)));
      y.at({b, c}) = ring(b, t % ringSize, c) - Su;
    }
  time = t + 1;
  return y;
}

void TaLKDecoderState::reorder(const std::vector<int64_t> &rows) {
  ring = reorderRows(ring, rows);
  batch = rows.size();
}

} // namespace convc::ref
