//===- CublasLtConstantsCheck.cpp - the runtime's cuBLASLt values ---------===//
//
// Built only where the CUDA toolkit's headers are: the constants the runtime
// passes to cuBLASLt (runtime/cuda/CublasLtApi.h) are the header's.
//
//===----------------------------------------------------------------------===//

#include "cuda/CublasLtApi.h"

#include <cublasLt.h>

#include <cstddef>

using namespace convc::cuda::lt;

static_assert(kComputeF32 == CUBLAS_COMPUTE_32F);
static_assert(kRealF32 == CUDA_R_32F && kRealF16 == CUDA_R_16F &&
              kRealBF16 == CUDA_R_16BF);
static_assert(kTransA == CUBLASLT_MATMUL_DESC_TRANSA &&
              kTransB == CUBLASLT_MATMUL_DESC_TRANSB);
static_assert(kOpN == CUBLAS_OP_N && kOpT == CUBLAS_OP_T);
static_assert(kPrefMaxWorkspace == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
static_assert(sizeof(Algo) == sizeof(cublasLtMatmulAlgo_t));
static_assert(sizeof(HeuristicResult) ==
                  sizeof(cublasLtMatmulHeuristicResult_t) &&
              offsetof(HeuristicResult, workspaceSize) ==
                  offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize) &&
              offsetof(HeuristicResult, state) ==
                  offsetof(cublasLtMatmulHeuristicResult_t, state));
