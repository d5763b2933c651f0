//===- membw.cpp - the machine's bounds for the benchmarks ---------------===//
//
// Measures, with N threads: copy bandwidth (bytes read + written per second,
// 256 MiB arrays, best of 7) and peak f32 FMA throughput (independent vector
// FMAs, 8 accumulators per thread). The benchmark tables divide bytes and
// multiply-adds by these to give each op's lower bound.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

double seconds(std::chrono::steady_clock::time_point a,
               std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

template <typename F> double bestOf(int runs, F &&f) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds(t0, std::chrono::steady_clock::now()));
  }
  return best;
}

template <typename F> void parallel(int threads, F &&f) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(f, t);
  for (auto &th : pool)
    th.join();
}

typedef float vec16 __attribute__((vector_size(64)));

} // namespace

int main(int argc, char **argv) {
  int threads = 2;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
  const size_t n = (256u << 20) / sizeof(float);
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  double copy = bestOf(7, [&] {
    parallel(threads, [&](int t) {
      size_t lo = n * t / threads, hi = n * (t + 1) / threads;
      std::memcpy(&b[lo], &a[lo], (hi - lo) * sizeof(float));
    });
  });
  double gbps = 2.0 * n * sizeof(float) / copy / 1e9;

  const long iters = 20000000;
  std::vector<float> sink(threads);
  double fma = bestOf(3, [&] {
    parallel(threads, [&](int t) {
      vec16 acc[8], x, y;
      for (int l = 0; l < 16; ++l)
        x[l] = 1.0f + 1e-7f * l, y[l] = 0.999999f;
      for (auto &v : acc)
        v = x;
      for (long i = 0; i < iters; ++i)
        for (auto &v : acc)
          v = v * y + x;
      float s = 0;
      for (auto &v : acc)
        for (int l = 0; l < 16; ++l)
          s += v[l];
      sink[t] = s;
    });
  });
  double gflops = 2.0 * 16 * 8 * iters * threads / fma / 1e9;
  std::printf("threads=%d\ncopy_GBps=%.2f\nfma_GFLOPs=%.1f\n", threads, gbps,
              gflops);
  return sink[0] == 12345.0f; // keep the FMA loop alive
}
