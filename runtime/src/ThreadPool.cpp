//===- ThreadPool.cpp - the threads compiled modules run their loops on ---===//
//
// convc-parallel-to-runtime turns each outermost parallel loop of a compiled
// module into `convc_parallel_for(body, ctx, count)`. The work items [0,
// count) are split into one contiguous range per thread (a static schedule,
// as the loops are balanced); the calling thread runs the first range.
//
// A decode step runs a few hundred such loops of a few microseconds each, so
// idle workers spin for a while before they sleep: waking a sleeping thread
// costs more than most loops.
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

using Body = void (*)(void *ctx, int64_t begin, int64_t end);

namespace {

/// More threads than this are never started: beyond a few per core they
/// only cost (a request for 100000 once exhausted the process's threads).
constexpr int64_t kMaxThreads = 256;

/// One step of a spin-wait. Every 64th step yields the core: with more
/// runnable threads than cores (other processes, a thread that shares our
/// core), spinning without yielding would hold the core the awaited thread
/// needs for a whole time slice.
void relax(unsigned step) {
  if (step % 64 == 63) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// CONVC_NUM_THREADS, else OMP_NUM_THREADS (what users of the OpenMP builds
/// set), else one thread per core.
/// A value that is not a whole positive count ("2x", "1e9", "-1") is
/// ignored, not read up to its first odd character.
int defaultThreads() {
  for (const char *name : {"CONVC_NUM_THREADS", "OMP_NUM_THREADS"})
    if (const char *value = std::getenv(name)) {
      char *end = nullptr;
      long n = std::strtol(value, &end, 10);
      if (end != value && *end == '\0' && n > 0)
        return int(std::min<long>(n, kMaxThreads));
    }
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Threads requested by Module::run on this thread (0: the default).
thread_local int requestedThreads = 0;
/// Set inside a work item: nested loops run sequentially.
thread_local bool insideWorkItem = false;

class ThreadPool {
public:
  static ThreadPool &instance() {
    static ThreadPool *pool = [] {
      // A forked child has this pool's memory but none of its threads (and
      // perhaps a mutex some thread held): it starts a pool of its own.
      pthread_atfork(nullptr, nullptr, [] { pool = new ThreadPool(); });
      return new ThreadPool(); // never joined: exit-safe
    }();
    return *pool;
  }

  void parallelFor(Body body, void *ctx, int64_t count, int threads) {
    threads = int(std::min<int64_t>({threads, count, kMaxThreads}));
    if (threads <= 1 || insideWorkItem) {
      runItems(body, ctx, 0, count);
      return;
    }
    // One loop at a time; another host thread calling in waits its turn.
    std::lock_guard<std::mutex> turn(dispatch_);
    grow(threads - 1);
    body_ = body;
    ctx_ = ctx;
    count_ = count;
    // Checks that fail in the workers are the caller's (Checks.cpp).
    checkRecord_ = convc::detail::checkRecordOfThisThread();
    pending_.store(threads - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(sleepMutex_);
      uint64_t next = (generation_.load(std::memory_order_relaxed) >> 16) + 1;
      generation_.store(next << 16 | uint64_t(threads),
                        std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0)
      wake_.notify_all();
    runPart(0, threads);
    for (unsigned step = 0; pending_.load(std::memory_order_acquire) != 0;
         ++step)
      relax(step);
  }

private:
  static void runItems(Body body, void *ctx, int64_t begin, int64_t end) {
    bool outer = insideWorkItem;
    insideWorkItem = true;
    body(ctx, begin, end);
    insideWorkItem = outer;
  }

  void runPart(int part, int parts) {
    int64_t begin = count_ * part / parts, end = count_ * (part + 1) / parts;
    void *previous = convc::detail::adoptCheckRecord(checkRecord_);
    if (begin < end)
      runItems(body_, ctx_, begin, end);
    convc::detail::adoptCheckRecord(previous);
  }

  void grow(int workers) {
    while (workers_ < workers) {
      int part = ++workers_;
      // The worker waits for loops after the current generation: read here,
      // not when the thread starts, which may be after the next loop began.
      uint64_t seen = generation_.load(std::memory_order_relaxed);
      std::thread([this, part, seen] { work(part, seen); }).detach();
    }
  }

  void work(int part, uint64_t seen) {
    for (;;) {
      uint64_t now;
      // Spin a while (kSpinTime), then sleep until the next loop.
      auto start = std::chrono::steady_clock::now();
      for (unsigned step = 0;; ++step) {
        now = generation_.load(std::memory_order_acquire);
        if (now != seen ||
            (step % 1024 == 0 &&
             std::chrono::steady_clock::now() - start > kSpinTime))
          break;
        relax(step);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(sleepMutex_);
        sleepers_.fetch_add(1, std::memory_order_acq_rel);
        wake_.wait(lock, [&] {
          return generation_.load(std::memory_order_acquire) != seen;
        });
        sleepers_.fetch_sub(1, std::memory_order_acq_rel);
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      // The loop's thread count travels in the generation word itself: a
      // worker left out of one loop must not read the next loop's fields.
      int parts = int(now & 0xffff);
      if (part < parts) {
        runPart(part, parts);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  static constexpr std::chrono::microseconds kSpinTime{2000};

  std::mutex dispatch_;
  int workers_ = 0; // detached; part i runs the i-th range of each loop
  // The current loop, published by the generation counter's increment.
  Body body_ = nullptr;
  void *ctx_ = nullptr;
  void *checkRecord_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int> pending_{0};
  // (loop sequence number << 16) | threads taking part in that loop.
  std::atomic<uint64_t> generation_{0};
  std::mutex sleepMutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

} // namespace

namespace convc {
namespace detail {
void setCallerThreads(int threads) { requestedThreads = threads; }
int threadsUsed(int threads) {
  return threads > 0 ? int(std::min<int64_t>(threads, kMaxThreads))
                     : defaultThreads();
}
} // namespace detail
} // namespace convc

extern "C" __attribute__((visibility("default"))) void
convc_parallel_for(Body body, void *ctx, int64_t count) {
  static const int fallback = defaultThreads();
  int threads = requestedThreads > 0 ? requestedThreads : fallback;
  ThreadPool::instance().parallelFor(body, ctx, count, threads);
}
