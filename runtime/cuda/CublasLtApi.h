//===- CublasLtApi.h - the cuBLASLt constants the runtime uses --*- C++ -*-===//
//
// The runtime opens cuBLASLt at run time and includes none of its headers;
// these are cublasLt.h's values (checked against it, where the toolkit is
// installed, by test/gpu/CublasLtConstantsCheck.cpp at build time).
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_RUNTIME_CUDA_CUBLASLTAPI_H
#define CONVC_RUNTIME_CUDA_CUBLASLTAPI_H

#include <cstddef>
#include <cstdint>

namespace convc::cuda::lt {

constexpr int kComputeF32 = 68;                             // CUBLAS_COMPUTE_32F
constexpr int kRealF32 = 0, kRealF16 = 2, kRealBF16 = 14;   // cudaDataType
constexpr int kTransA = 3, kTransB = 4; // CUBLASLT_MATMUL_DESC_TRANSA / B
constexpr int32_t kOpN = 0, kOpT = 1;   // CUBLAS_OP_N, CUBLAS_OP_T
constexpr int kPrefMaxWorkspace = 1; // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES

/// cublasLtMatmulAlgo_t and cublasLtMatmulHeuristicResult_t as laid out in
/// cublasLt.h (opaque algorithm data, then what the heuristic says of it).
struct Algo {
  uint64_t data[8];
};
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

} // namespace convc::cuda::lt

#endif // CONVC_RUNTIME_CUDA_CUBLASLTAPI_H
