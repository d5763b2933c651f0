//===- ReferencePropertiesTest.cpp - docs/semantics.md's properties -------===//
//
// The seven properties every implementation must satisfy, asserted on the
// reference kernels, plus independent re-derivations (TaLK's soft-box form,
// per-head slicing) so the reference is not only checked against itself.
//
//===----------------------------------------------------------------------===//

#include "convc/reference/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace convc::ref;

namespace {

Tensor random(std::vector<int64_t> shape, std::mt19937 &rng, double lo = -1.0,
              double hi = 1.0) {
  Tensor t(std::move(shape));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (double &v : t.data)
    v = dist(rng);
  return t;
}

double maxAbsDiff(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.shape, b.shape);
  double m = 0.0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

/// Channels [begin, end) of a [B, T, C] tensor.
Tensor sliceChannels(const Tensor &x, int64_t begin, int64_t end) {
  Tensor y({x.dim(0), x.dim(1), end - begin});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t t = 0; t < x.dim(1); ++t)
      for (int64_t c = begin; c < end; ++c)
        y(b, t, c - begin) = x(b, t, c);
  return y;
}

Tensor row(const Tensor &W, int64_t r) {
  Tensor out({1, W.dim(1)});
  for (int64_t k = 0; k < W.dim(1); ++k)
    out.at({0, k}) = W.at({r, k});
  return out;
}

/// x[:, t, :] as [B, C].
Tensor timeStep(const Tensor &x, int64_t t) {
  Tensor xt({x.dim(0), x.dim(2)});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t c = 0; c < x.dim(2); ++c)
      xt.at({b, c}) = x(b, t, c);
  return xt;
}

Tensor permuteBatch(const Tensor &x, const std::vector<int64_t> &perm) {
  Tensor y(x.shape);
  int64_t rowSize = x.numel() / x.dim(0);
  for (size_t i = 0; i < perm.size(); ++i)
    std::copy_n(&x.data[perm[i] * rowSize], rowSize, &y.data[i * rowSize]);
  return y;
}

/// The causal ops under test, each a function of x alone (weights fixed).
struct CausalOp {
  const char *name;
  std::function<Tensor(const Tensor &)> forward;
};

std::vector<CausalOp> causalOps(std::mt19937 &rng, int64_t C, int64_t H,
                                int64_t K, int64_t T, int64_t B) {
  auto dw = std::make_shared<Tensor>(random({C, K}, rng));
  auto lw = std::make_shared<Tensor>(random({H, K}, rng, -2, 2));
  auto wq = std::make_shared<Tensor>(random({H * K, C}, rng));
  auto offsets = std::make_shared<Tensor>(random({B, T, H}, rng, 0, 1));
  int64_t L = K;
  return {
      {"depthwise",
       [=](const Tensor &x) { return depthwiseConv(x, *dw, K - 1, 2); }},
      {"lightweight",
       [=](const Tensor &x) { return lightweightConv(x, *lw, K - 1); }},
      {"dynamic",
       [=](const Tensor &x) {
         return dynamicConv(x, *wq, nullptr, H, K, K - 1);
       }},
      {"talk",
       [=](const Tensor &x) { return talkConv(x, *offsets, L, 0, true); }},
  };
}

} // namespace

// 1. Causality: with P = K - 1, changing x[t'] never changes y[t] for t < t'.
TEST(ReferenceProperties, Causality) {
  std::mt19937 rng(1);
  const int64_t B = 2, T = 12, C = 8, H = 4, K = 5;
  Tensor x = random({B, T, C}, rng);
  for (const CausalOp &op : causalOps(rng, C, H, K, T, B)) {
    Tensor y = op.forward(x);
    for (int64_t tp : {0, 3, 7, 11}) {
      Tensor x2 = x;
      for (int64_t c = 0; c < C; ++c)
        x2(1, tp, c) += 0.5 + 0.1 * c;
      Tensor y2 = op.forward(x2);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            if (t < tp || b == 0) {
              ASSERT_EQ(y(b, t, c), y2(b, t, c))
                  << op.name << ": y[" << b << "," << t << "," << c
                  << "] changed when x[1," << tp << "] did";
            }
          }
      // The change must be visible at t' itself (or the test proves nothing).
      double changed = 0.0;
      for (int64_t c = 0; c < C; ++c)
        changed += std::abs(y(1, tp, c) - y2(1, tp, c));
      EXPECT_GT(changed, 1e-6) << op.name << " ignores x[t'] at t'";
    }
  }
}

// 2. Head mapping: channel c uses head floor(c / R), contiguous blocks.
TEST(ReferenceProperties, HeadMappingIsContiguousBlocks) {
  std::mt19937 rng(2);
  const int64_t B = 2, T = 9, C = 12, H = 3, R = C / H, K = 5, P = 2;
  Tensor x = random({B, T, C}, rng);

  // LightweightConv: each head's block equals a one-head conv on that block.
  Tensor W = random({H, K}, rng, -3, 3);
  Tensor y = lightweightConv(x, W, P);
  for (int64_t h = 0; h < H; ++h) {
    Tensor block = lightweightConv(sliceChannels(x, h * R, (h + 1) * R),
                                   row(W, h), P);
    EXPECT_LT(maxAbsDiff(sliceChannels(y, h * R, (h + 1) * R), block), 1e-12)
        << "lightweight head " << h;
  }
  // The interleaved mapping c mod H would give a different answer.
  Tensor interleaved({B, T, C});
  Tensor w = kernelSoftmax(W);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < K; ++k) {
          int64_t s = t + k - P;
          if (s >= 0 && s < T)
            interleaved(b, t, c) += w.at({c % H, k}) * x(b, s, c);
        }
  EXPECT_GT(maxAbsDiff(y, interleaved), 1e-3);

  // DynamicConv with given kernels: same per-head decomposition.
  Tensor kernels = kernelSoftmax(random({B, T, H, K}, rng, -2, 2));
  Tensor yd = dynamicKernelConv(x, kernels, P);
  for (int64_t h = 0; h < H; ++h) {
    Tensor kh({B, T, 1, K});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k)
          kh.at({b, t, 0, k}) = kernels.at({b, t, h, k});
    Tensor block =
        dynamicKernelConv(sliceChannels(x, h * R, (h + 1) * R), kh, P);
    EXPECT_LT(maxAbsDiff(sliceChannels(yd, h * R, (h + 1) * R), block), 1e-12)
        << "dynamic head " << h;
  }

  // TaLK: offsets [lt_0..lt_{H-1}, rt_0..rt_{H-1}].
  Tensor offsets = random({B, T, 2 * H}, rng, 0, 1);
  Tensor yt = talkConv(x, offsets, 4, 3, false);
  for (int64_t h = 0; h < H; ++h) {
    Tensor oh({B, T, 2});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        oh(b, t, 0) = offsets(b, t, h);
        oh(b, t, 1) = offsets(b, t, H + h);
      }
    Tensor block = talkConv(sliceChannels(x, h * R, (h + 1) * R), oh, 4, 3,
                            false);
    EXPECT_LT(maxAbsDiff(sliceChannels(yt, h * R, (h + 1) * R), block), 1e-12)
        << "talk head " << h;
  }
}

// 3. LightConv K = 1 with softmax is the identity; W = 0 is a moving sum / K.
TEST(ReferenceProperties, LightweightIdentityAndMovingAverage) {
  std::mt19937 rng(3);
  const int64_t B = 2, T = 10, C = 8, H = 2;
  Tensor x = random({B, T, C}, rng);
  Tensor y1 = lightweightConv(x, random({H, 1}, rng, -5, 5), 0);
  EXPECT_EQ(maxAbsDiff(y1, x), 0.0);

  for (int64_t K : {1, 3, 4, 7, 15}) {
    for (int64_t P : {int64_t(0), K / 2, K - 1}) {
      Tensor y = lightweightConv(x, Tensor({H, K}), P);
      Tensor expected({B, T, C});
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            double sum = 0.0;
            for (int64_t s = std::max<int64_t>(0, t - P);
                 s <= std::min<int64_t>(T - 1, t - P + K - 1); ++s)
              sum += x(b, s, c);
            expected(b, t, c) = sum / double(K);
          }
      EXPECT_LT(maxAbsDiff(y, expected), 1e-12) << "K=" << K << " P=" << P;
    }
  }
}

// 4. DynamicConv with Wq = 0 and logit bias beta is LightConv with W = beta.
TEST(ReferenceProperties, DynamicWithZeroProjectionIsLightweight) {
  std::mt19937 rng(4);
  const int64_t B = 3, T = 11, C = 16, H = 4, K = 7;
  Tensor x = random({B, T, C}, rng);
  Tensor beta = random({H * K}, rng, -2, 2);
  Tensor W({H, K});
  W.data = beta.data; // reshape(beta, H, K): row h*K + k is head h, tap k
  for (int64_t P : {int64_t(0), K / 2, K - 1}) {
    Tensor yd = dynamicConv(x, Tensor({H * K, C}), &beta, H, K, P);
    Tensor yl = lightweightConv(x, W, P);
    EXPECT_LT(maxAbsDiff(yd, yl), 1e-12) << "P=" << P;
  }
}

// 5. TaLK special offsets.
TEST(ReferenceProperties, TaLKZeroOffsetsScaleTheInput) {
  std::mt19937 rng(5);
  const int64_t B = 2, T = 9, C = 8, H = 2;
  Tensor x = random({B, T, C}, rng);
  for (bool causal : {false, true}) {
    int64_t L = 4, Rm = causal ? 0 : 3;
    Tensor offsets({B, T, causal ? H : 2 * H}, 0.0);
    Tensor y = talkConv(x, offsets, L, Rm, causal);
    Tensor expected = x;
    for (double &v : expected.data)
      v /= double(L + Rm + 1);
    EXPECT_LT(maxAbsDiff(y, expected), 1e-12) << "causal=" << causal;
  }
}

TEST(ReferenceProperties, TaLKFullOffsetsAreUniformLightweight) {
  std::mt19937 rng(6);
  const int64_t B = 2, C = 8, H = 2;
  for (int64_t T : {1, 3, 6, 20}) {
    Tensor x = random({B, T, C}, rng);
    for (int64_t L : {1, 2, 5}) {
      // Encoder: offsets 1, Lmax = Rmax = L == uniform K = 2L + 1, P = L.
      Tensor y = talkConv(x, Tensor({B, T, 2 * H}, 1.0), L, L, false);
      Tensor yl = lightweightConv(x, Tensor({H, 2 * L + 1}), L);
      EXPECT_LT(maxAbsDiff(y, yl), 1e-12) << "encoder T=" << T << " L=" << L;
      // Decoder: offsets 1 == causal uniform K = L + 1.
      Tensor yc = talkConv(x, Tensor({B, T, H}, 1.0), L, 0, true);
      Tensor ylc = lightweightConv(x, Tensor({H, L + 1}), L);
      EXPECT_LT(maxAbsDiff(yc, ylc), 1e-12) << "decoder T=" << T << " L=" << L;
    }
  }
}

// TaLK's equivalent soft-box form, computed without any prefix sum: token j
// gets weight |[j-1, j] ∩ [a-1, e]| / Kn.
TEST(ReferenceProperties, TaLKMatchesSoftBoxForm) {
  std::mt19937 rng(7);
  const int64_t B = 2, T = 17, C = 6, H = 3, R = C / H;
  Tensor x = random({B, T, C}, rng);
  for (bool causal : {false, true}) {
    const int64_t L = 6, Rm = causal ? 0 : 5;
    Tensor offsets = random({B, T, causal ? H : 2 * H}, rng, 0, 1);
    Tensor y = talkConv(x, offsets, L, Rm, causal);
    Tensor expected({B, T, C});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) {
          int64_t h = c / R;
          double a = std::clamp(t - offsets(b, t, h) * L, 0.0, double(T - 1));
          double e = causal ? double(t)
                            : std::clamp(t + offsets(b, t, H + h) * Rm, 0.0,
                                         double(T - 1));
          for (int64_t j = 0; j < T; ++j) {
            double overlap = std::max(
                0.0, std::min(double(j), e) - std::max(double(j - 1), a - 1));
            expected(b, t, c) += overlap / double(L + Rm + 1) * x(b, j, c);
          }
        }
    EXPECT_LT(maxAbsDiff(y, expected), 1e-12) << "causal=" << causal;
  }
}

// 6. Token-by-token incremental decoding equals the full causal forward.
TEST(ReferenceProperties, IncrementalLightweightMatchesFullForward) {
  std::mt19937 rng(8);
  const int64_t B = 3, T = 13, C = 8, H = 4, K = 7; // T > K and steps < K - 1
  Tensor x = random({B, T, C}, rng);
  Tensor W = random({H, K}, rng, -2, 2);
  Tensor full = lightweightConv(x, W, K - 1);
  ConvWindowState state(B, C, K);
  for (int64_t t = 0; t < T; ++t) {
    Tensor yt = lightweightConvStep(state, timeStep(x, t), W);
    EXPECT_LT(maxAbsDiff(yt, timeStep(full, t)), 1e-12) << "step " << t;
  }
}

TEST(ReferenceProperties, IncrementalDynamicMatchesFullForward) {
  std::mt19937 rng(9);
  const int64_t B = 2, T = 10, C = 8, H = 2, K = 6;
  Tensor x = random({B, T, C}, rng);
  Tensor Wq = random({H * K, C}, rng);
  Tensor bias = random({H * K}, rng);
  Tensor full = dynamicConv(x, Wq, &bias, H, K, K - 1);
  ConvWindowState state(B, C, K);
  for (int64_t t = 0; t < T; ++t) {
    Tensor yt = dynamicConvStep(state, timeStep(x, t), Wq, &bias, H, K);
    EXPECT_LT(maxAbsDiff(yt, timeStep(full, t)), 1e-12) << "step " << t;
  }
}

TEST(ReferenceProperties, IncrementalTaLKMatchesFullForward) {
  std::mt19937 rng(10);
  const int64_t B = 2, T = 25, C = 8, H = 4;
  for (int64_t L : {1, 3, 8}) {
    Tensor x = random({B, T, C}, rng);
    Tensor offsets = random({B, T, H}, rng, 0, 1);
    offsets(0, 5, 1) = 1.0; // exact window edges too
    offsets(1, 9, 0) = 0.0;
    offsets(0, 12, 2) = 2.5; // clamped to [0, 1]: the step's ring holds Lmax
    offsets(1, 14, 3) = -1.0;
    offsets(0, 20, 0) = std::nan("");
    Tensor full = talkConv(x, offsets, L, 0, true);
    TaLKDecoderState state(B, C, L);
    for (int64_t t = 0; t < T; ++t) {
      Tensor yt = state.step(timeStep(x, t), timeStep(offsets, t));
      EXPECT_LT(maxAbsDiff(yt, timeStep(full, t)), 1e-12)
          << "L=" << L << " step " << t;
    }
  }
}

// Beam search reorders every state along the batch axis: after reorder(rows)
// row i continues the history of old row rows[i].
TEST(ReferenceProperties, IncrementalStateReorder) {
  std::mt19937 rng(11);
  const int64_t C = 4, H = 2, K = 4, L = 3, T1 = 5, T2 = 6;
  const std::vector<int64_t> rows = {1, 0, 1};
  Tensor x1 = random({2, T1, C}, rng), x2 = random({3, T2, C}, rng);
  Tensor o1 = random({2, T1, H}, rng, 0, 1), o2 = random({3, T2, H}, rng, 0, 1);
  Tensor W = random({H, K}, rng, -2, 2);

  // Full sequences each row of the reordered state stands for.
  auto concat = [&](const Tensor &a, const Tensor &b) {
    Tensor out({3, T1 + T2, a.dim(2)});
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t c = 0; c < a.dim(2); ++c) {
        for (int64_t t = 0; t < T1; ++t)
          out(i, t, c) = a(rows[i], t, c);
        for (int64_t t = 0; t < T2; ++t)
          out(i, T1 + t, c) = b(i, t, c);
      }
    return out;
  };
  Tensor fullL = lightweightConv(concat(x1, x2), W, K - 1);
  Tensor fullT = talkConv(concat(x1, x2), concat(o1, o2), L, 0, true);

  ConvWindowState conv(2, C, K);
  TaLKDecoderState talk(2, C, L);
  for (int64_t t = 0; t < T1; ++t) {
    lightweightConvStep(conv, timeStep(x1, t), W);
    talk.step(timeStep(x1, t), timeStep(o1, t));
  }
  conv.reorder(rows);
  talk.reorder(rows);
  for (int64_t t = 0; t < T2; ++t) {
    Tensor yl = lightweightConvStep(conv, timeStep(x2, t), W);
    Tensor yt = talk.step(timeStep(x2, t), timeStep(o2, t));
    EXPECT_LT(maxAbsDiff(yl, timeStep(fullL, T1 + t)), 1e-12) << "step " << t;
    EXPECT_LT(maxAbsDiff(yt, timeStep(fullT, T1 + t)), 1e-12) << "step " << t;
  }
}

// 7. Batch rows are independent: permuting the batch permutes the output.
TEST(ReferenceProperties, BatchRowsAreIndependent) {
  std::mt19937 rng(12);
  const int64_t B = 4, T = 8, C = 8, H = 2, K = 5;
  const std::vector<int64_t> perm = {2, 0, 3, 1};
  Tensor x = random({B, T, C}, rng);
  Tensor offsets = random({B, T, 2 * H}, rng, 0, 1);
  Tensor dw = random({C, K}, rng), lw = random({H, K}, rng),
         wq = random({H * K, C}, rng);
  std::vector<std::pair<const char *,
                        std::function<Tensor(const Tensor &, const Tensor &)>>>
      ops = {
          {"depthwise",
           [&](const Tensor &v, const Tensor &) {
             return depthwiseConv(v, dw, 2, 2);
           }},
          {"lightweight",
           [&](const Tensor &v, const Tensor &) {
             return lightweightConv(v, lw, 2);
           }},
          {"dynamic",
           [&](const Tensor &v, const Tensor &) {
             return dynamicConv(v, wq, nullptr, H, K, 2);
           }},
          {"talk",
           [&](const Tensor &v, const Tensor &o) {
             return talkConv(v, o, 3, 2, false);
           }},
          {"glu", [&](const Tensor &v, const Tensor &) { return glu(v); }},
      };
  for (auto &[name, op] : ops) {
    Tensor y = op(x, offsets);
    Tensor yp = op(permuteBatch(x, perm), permuteBatch(offsets, perm));
    EXPECT_EQ(maxAbsDiff(yp, permuteBatch(y, perm)), 0.0) << name;
  }
}

// Primitive identities the fusion passes rely on.
TEST(ReferencePrimitives, TaLKIsScaledPrefixSumThenWindowDiff) {
  std::mt19937 rng(13);
  Tensor x = random({2, 15, 4}, rng);
  Tensor o = random({2, 15, 4}, rng, 0, 1);
  Tensor scaled = x;
  for (double &v : scaled.data)
    v /= 7.0;
  Tensor y1 = windowDiff(prefixSum(scaled), o, 3, 3, false);
  Tensor y2 = windowDiff(prefixSum(x, 1.0 / 7.0), o, 3, 3, false);
  EXPECT_LT(maxAbsDiff(y1, talkConv(x, o, 3, 3, false)), 1e-12);
  EXPECT_LT(maxAbsDiff(y2, talkConv(x, o, 3, 3, false)), 1e-12);
}

TEST(ReferencePrimitives, GluAndSoftmax) {
  Tensor x({1, 4});
  x.data = {1.0, -2.0, 0.0, 3.0};
  Tensor y = glu(x);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(y.data[0], 1.0 * 0.5);
  EXPECT_DOUBLE_EQ(y.data[1], -2.0 / (1.0 + std::exp(-3.0)));

  Tensor z({2, 3});
  z.data = {1000.0, 1000.0, 1000.0, 0.0, std::log(2.0), std::log(5.0)};
  Tensor s = kernelSoftmax(z); // max-subtracted: no overflow at 1000
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(s.data[k], 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.data[3], 1.0 / 8.0, 1e-15);
  EXPECT_NEAR(s.data[5], 5.0 / 8.0, 1e-15);
}

TEST(ReferencePrimitives, SinusoidalPositionsAreConcatenatedSinCos) {
  Tensor pe = sinusoidalPositions(5, 8);
  const double w1 = std::exp(-std::log(10000.0) / 3.0); // j = 1, d/2 - 1 = 3
  EXPECT_DOUBLE_EQ(pe.at({3, 1}), std::sin(3 * w1));
  EXPECT_DOUBLE_EQ(pe.at({3, 5}), std::cos(3 * w1));
  EXPECT_DOUBLE_EQ(pe.at({0, 4}), 1.0);
}

TEST(ReferencePrimitives, EmbeddingPositionsSkipPadding) {
  const int64_t pad = 1, d = 4;
  Tensor E({6, d});
  for (int64_t i = 0; i < E.numel(); ++i)
    E.data[i] = 0.01 * i;
  Tensor y = embedTokens({{1, 1, 3, 4}, {3, 4, 5, 2}}, E, pad);
  Tensor pe = sinusoidalPositions(8, d);
  for (int64_t i = 0; i < d; ++i) {
    EXPECT_EQ(y(0, 0, i), 0.0); // pad rows are zero
    // Row 0's first real token sits at position pad + 1, like row 1's.
    EXPECT_DOUBLE_EQ(y(0, 2, i), 2.0 * E.at({3, i}) + pe.at({pad + 1, i}));
    EXPECT_DOUBLE_EQ(y(1, 0, i), 2.0 * E.at({3, i}) + pe.at({pad + 1, i}));
    EXPECT_DOUBLE_EQ(y(1, 3, i), 2.0 * E.at({2, i}) + pe.at({pad + 4, i}));
  }
}

TEST(ReferencePrimitives, RejectsHeadsThatDoNotDivideChannels) {
  Tensor x({1, 3, 10});
  EXPECT_THROW(lightweightConv(x, Tensor({4, 3}), 1), std::invalid_argument);
}
