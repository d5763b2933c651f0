//===- TensorCoreGemm.cpp - f16 / bf16 projections through cuBLASLt ------===//
//
// A CUDA module's f16 / bf16 projection first asks the runtime for
//
//   z[M, N] (f32) = x[M, K] w[N, K]^T        (x, w row-major, f16 or bf16)
//
// with `convc_cuda_gemm_lowp` (convc-lower-to-gpu-loops{gemm-library=cuda}),
// then applies its bias, activation and residual in a kernel of its own.
// The runtime opens cuBLASLt at run time as it opens the driver
// (libcublasLt.so.13, .12, or unversioned), so no CUDA library is linked,
// and queues one cublasLtMatmul on the thread's stream: tensor cores, f32
// accumulation. A nonzero return (no cuBLASLt, a shape or alignment it
// refuses, CONVC_TENSOR_CORES=0) sends the module to its own SIMT GEMM.
//
// `convc_host_gemm_lowp` is the same contract on host memory, for
// `--target=gpu-kernels-on-cpu`: the lowering around the call (the
// epilogue kernel, the fallback) is then checked on machines without a
// GPU.
//
//===----------------------------------------------------------------------===//

#include "CublasLtApi.h"
#include "CudaDriver.h"
#include "DeviceCall.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <optional>
#include <type_traits>

using namespace convc;
using namespace convc::cuda;

namespace {

/// The element types the compiled code names (its `type` argument).
enum LowPrecision : int32_t { kF16 = 0, kBF16 = 1 };

bool tensorCoresOff() {
  const char *flag = std::getenv("CONVC_TENSOR_CORES");
  return flag && std::strcmp(flag, "0") == 0;
}

// The subset of cuBLASLt used here (constants: CublasLtApi.h).
using LtStatus = int;
using namespace convc::cuda::lt;

struct CublasLt {
  LtStatus (*create)(void **);
  LtStatus (*destroy)(void *);
  LtStatus (*descCreate)(void **, int, int);
  LtStatus (*descSetAttribute)(void *, int, const void *, size_t);
  LtStatus (*descDestroy)(void *);
  LtStatus (*layoutCreate)(void **, int, uint64_t, uint64_t, int64_t);
  LtStatus (*layoutDestroy)(void *);
  LtStatus (*matmul)(void *, void *, const void *, const void *, void *,
                   const void *, void *, const void *, const void *, void *,
                   void *, void *, const void *, void *, size_t, void *);
  // Optional: without them every matmul chooses its own algorithm.
  LtStatus (*prefCreate)(void **);
  LtStatus (*prefSetAttribute)(void *, int, const void *, size_t);
  LtStatus (*prefDestroy)(void *);
  LtStatus (*heuristic)(void *, void *, void *, void *, void *, void *,
                        void *, int, HeuristicResult *, int *);
  bool ok = false;

  static const CublasLt &get() {
    static const CublasLt api = open();
    return api;
  }

private:
  static CublasLt open() {
    CublasLt api{};
    void *lib = nullptr;
    for (const char *name :
         {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    if (!lib)
      return api;
    auto load = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
      return fn != nullptr;
    };
    api.ok = load(api.create, "cublasLtCreate") &&
             load(api.destroy, "cublasLtDestroy") &&
             load(api.descCreate, "cublasLtMatmulDescCreate") &&
             load(api.descSetAttribute, "cublasLtMatmulDescSetAttribute") &&
             load(api.descDestroy, "cublasLtMatmulDescDestroy") &&
             load(api.layoutCreate, "cublasLtMatrixLayoutCreate") &&
             load(api.layoutDestroy, "cublasLtMatrixLayoutDestroy") &&
             load(api.matmul, "cublasLtMatmul");
    if (!(load(api.prefCreate, "cublasLtMatmulPreferenceCreate") &&
          load(api.prefSetAttribute, "cublasLtMatmulPreferenceSetAttribute") &&
          load(api.prefDestroy, "cublasLtMatmulPreferenceDestroy") &&
          load(api.heuristic, "cublasLtMatmulAlgoGetHeuristic")))
      api.heuristic = nullptr;
    return api;
  }
};

/// The calling thread's cuBLASLt handle, made on first use outside a
/// capture (making one may allocate) and destroyed with the thread; null
/// without cuBLASLt.
void *threadHandle(const CublasLt &lt) {
  struct Handle {
    void *handle = nullptr;
    bool tried = false;
    ~Handle() {
      if (handle && CublasLt::get().destroy && Driver::get().ok())
        CublasLt::get().destroy(handle);
    }
  };
  thread_local Handle h;
  if (!h.tried && !capturing()) {
    h.tried = true;
    if (lt.create(&h.handle) != 0)
      h.handle = nullptr;
  }
  return h.handle;
}

/// The algorithm for this thread's matmuls of (type, M, N, K), chosen by
/// cuBLASLt's heuristic once per shape (with no workspace): a matmul given
/// no algorithm runs that heuristic on the host at every call. Null where
/// there is none (the matmul then chooses, as before).
const Algo *cachedAlgo(const CublasLt &lt, void *handle, void *desc, void *a,
                       void *b, void *c, int type, int64_t M, int64_t N,
                       int64_t K) {
  thread_local std::map<std::array<int64_t, 4>, std::optional<Algo>> algos;
  auto [it, fresh] = algos.try_emplace({type, M, N, K});
  if (!fresh || !lt.heuristic)
    return it->second ? &*it->second : nullptr;
  void *pref = nullptr;
  uint64_t noWorkspace = 0;
  HeuristicResult result{};
  int found = 0;
  if (lt.prefCreate(&pref) == 0 &&
      lt.prefSetAttribute(pref, kPrefMaxWorkspace, &noWorkspace,
                          sizeof noWorkspace) == 0 &&
      lt.heuristic(handle, desc, a, b, c, c, pref, 1, &result, &found) == 0 &&
      found > 0 && result.state == 0 && result.workspaceSize == 0)
    it->second = result.algo;
  if (pref)
    lt.prefDestroy(pref);
  return it->second ? &*it->second : nullptr;
}

} // namespace

/// Queues z = x w^T (column-major for cuBLASLt: z^T [N, M] = w^T^T x^T,
/// i.e. A = w [K x N] transposed, B = x [K x M]); 0 when queued.
extern "C" int32_t convc_cuda_gemm_lowp(int32_t type, int64_t M, int64_t N,
                                        int64_t K, const void *x,
                                        const void *w, float *z) {
  if (tensorCoresOff() || (type != kF16 && type != kBF16) || M <= 0 ||
      N <= 0 || K <= 0)
    return 1;
  Driver *d = usableDriver();
  if (!d) {
    Driver::get().takeError(); // the module's own launches will report it
    return 1;
  }
  // A call that failed already (a scratch buffer out of memory: null)
  // queues nothing more; the fallback's launches are skipped too and the
  // recorded error is the call's.
  if (d->failed() || !x || !w || !z)
    return 1;
  const CublasLt &lt = CublasLt::get();
  if (!lt.ok)
    return 1;
  void *handle = threadHandle(lt);
  if (!handle)
    return 1;
  int element = type == kF16 ? kRealF16 : kRealBF16;
  void *desc = nullptr, *a = nullptr, *b = nullptr, *c = nullptr;
  bool ok = lt.descCreate(&desc, kComputeF32, kRealF32) == 0 &&
            lt.descSetAttribute(desc, kTransA, &kOpT, sizeof kOpT) == 0 &&
            lt.descSetAttribute(desc, kTransB, &kOpN, sizeof kOpN) == 0 &&
            lt.layoutCreate(&a, element, K, N, K) == 0 &&
            lt.layoutCreate(&b, element, K, M, K) == 0 &&
            lt.layoutCreate(&c, kRealF32, N, M, N) == 0;
  const float one = 1.0f, zero = 0.0f;
  const Algo *algo =
      ok ? cachedAlgo(lt, handle, desc, a, b, c, type, M, N, K) : nullptr;
  // No workspace: nothing to allocate, so the call can be captured too.
  // Profiled, the matmul counts as kernel time, as launches do.
  ok = ok && d->timed(
                threadStream(),
                [&] {
                  return lt.matmul(handle, desc, &one, w, a, x, b, &zero, z,
                                   c, z, c, algo, nullptr, 0,
                                   threadStream()) == 0;
                },
                "cublasLtMatmul");
  if (c)
    lt.layoutDestroy(c);
  if (b)
    lt.layoutDestroy(b);
  if (a)
    lt.layoutDestroy(a);
  if (desc)
    lt.descDestroy(desc);
  return ok ? 0 : 1;
}

/// The same product on host memory, in f32 in ascending k (the
/// gpu-kernels-on-cpu target's stand-in for cuBLASLt).
extern "C" int32_t convc_host_gemm_lowp(int32_t type, int64_t M, int64_t N,
                                        int64_t K, const void *x,
                                        const void *w, float *z) {
  if (tensorCoresOff() || (type != kF16 && type != kBF16))
    return 1;
  // Widened as the runtime widens any f16 / bf16 tensor.
  DType dtype = type == kF16 ? DType::F16 : DType::BF16;
  auto widened = [&](const void *data, int64_t rows) {
    return convertTensor(
        Tensor::borrow(dtype, {rows, K}, const_cast<void *>(data)), DType::F32);
  };
  Tensor xs = widened(x, M), ws = widened(w, N);
  if (!xs.data() || !ws.data())
    return 1;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        acc += xs.data<float>()[m * K + k] * ws.data<float>()[n * K + k];
      z[m * N + n] = acc;
    }
  return 0;
}
