/* A stand-in libcublasLt.so.13 beside the fake driver (FakeCudaDriver.c):
 * its "device" memory is host memory, so cublasLtMatmul computes here, on
 * the host, what cuBLASLt would on the GPU (f16 / bf16 / f32 operands,
 * column-major, op(A) and op(B), f32 accumulation): the runtime's
 * arguments (transposes, layouts, leading dimensions) are checked by the
 * numbers they give. Only what the runtime uses; FAKE_CUBLASLT_REFUSE makes
 * every matmul fail, as an unsupported shape would. It counts matmuls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define API __attribute__((visibility("default")))

enum { F32 = 0, F16 = 2, BF16 = 14 };
struct desc { int32_t trans_a, trans_b; };
struct layout { int type; uint64_t rows, cols; int64_t ld; };
static int matmuls, heuristics, matmuls_with_algo;

API int fake_cublaslt_matmuls(void) { return matmuls; }
API int fake_cublaslt_heuristics(void) { return heuristics; }
API int fake_cublaslt_matmuls_with_algo(void) { return matmuls_with_algo; }

/* The heuristic: one algorithm (its data a marker the matmul checks), no
 * workspace. */
struct heuristic_result {
  uint64_t algo[8];
  size_t workspace_size;
  int state;
  float waves;
  int reserved[4];
};
static const uint64_t kAlgoMarker = 0xC0DEC0DEu;
API int cublasLtMatmulPreferenceCreate(void **p) {
  *p = calloc(1, sizeof(uint64_t));
  return 0;
}
API int cublasLtMatmulPreferenceDestroy(void *p) { free(p); return 0; }
API int cublasLtMatmulPreferenceSetAttribute(void *p, int attr,
                                             const void *buf, size_t size) {
  if (attr != 1 /* MAX_WORKSPACE_BYTES */ || size != sizeof(uint64_t))
    return 7;
  memcpy(p, buf, size);
  return 0;
}
API int cublasLtMatmulAlgoGetHeuristic(void *handle, void *desc, void *a,
                                       void *b, void *c, void *d, void *pref,
                                       int requested,
                                       struct heuristic_result *results,
                                       int *found) {
  (void)handle, (void)desc, (void)a, (void)b, (void)c, (void)d;
  ++heuristics;
  if (requested < 1 || *(const uint64_t *)pref != 0)
    return 7; /* the runtime asks for no workspace */
  memset(results, 0, sizeof *results);
  results->algo[0] = kAlgoMarker;
  *found = 1;
  return 0;
}

API int cublasLtCreate(void **handle) { *handle = malloc(1); return 0; }
API int cublasLtDestroy(void *handle) { free(handle); return 0; }
API int cublasLtMatmulDescCreate(void **d, int compute, int scale) {
  if (compute != 68 /* COMPUTE_32F */ || scale != F32)
    return 7; /* INVALID_VALUE */
  *d = calloc(1, sizeof(struct desc));
  return 0;
}
API int cublasLtMatmulDescDestroy(void *d) { free(d); return 0; }
API int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf,
                                       size_t size) {
  struct desc *m = d;
  if (size != sizeof(int32_t))
    return 7;
  if (attr == 3)
    memcpy(&m->trans_a, buf, size);
  else if (attr == 4)
    memcpy(&m->trans_b, buf, size);
  else
    return 7;
  return 0;
}
API int cublasLtMatrixLayoutCreate(void **l, int type, uint64_t rows,
                                   uint64_t cols, int64_t ld) {
  struct layout *m = malloc(sizeof *m);
  *m = (struct layout){type, rows, cols, ld};
  *l = m;
  return 0;
}
API int cublasLtMatrixLayoutDestroy(void *l) { free(l); return 0; }

static float element(const void *p, int type, int64_t i) {
  uint32_t word;
  float v;
  if (type == F32)
    return ((const float *)p)[i];
  uint16_t bits = ((const uint16_t *)p)[i];
  if (type == BF16) {
    word = (uint32_t)bits << 16;
  } else {
    uint32_t sign = (uint32_t)(bits & 0x8000) << 16, e = (bits >> 10) & 31,
             m = bits & 1023;
    if (e == 0) {
      v = (float)m / 16777216.0f;
      return sign ? -v : v;
    }
    word = sign | (e == 31 ? 0x7F800000u : (e + 112) << 23) | (m << 13);
  }
  memcpy(&v, &word, 4);
  return v;
}

/* Element (r, c) of op(X) for column-major X. */
static float at(const void *p, const struct layout *l, int32_t trans,
                uint64_t r, uint64_t c) {
  return trans ? element(p, l->type, (int64_t)r * l->ld + (int64_t)c)
               : element(p, l->type, (int64_t)c * l->ld + (int64_t)r);
}

API int cublasLtMatmul(void *handle, void *desc, const void *alpha,
                       const void *A, void *Adesc, const void *B, void *Bdesc,
                       const void *beta, const void *C, void *Cdesc, void *D,
                       void *Ddesc, const void *algo, void *workspace,
                       size_t workspace_size, void *stream) {
  (void)handle, (void)workspace, (void)workspace_size;
  if (algo && *(const uint64_t *)algo != kAlgoMarker)
    return 7; /* not an algorithm the heuristic gave */
  (void)stream;
  const struct desc *m = desc;
  const struct layout *a = Adesc, *b = Bdesc, *c = Cdesc, *d = Ddesc;
  if (getenv("FAKE_CUBLASLT_REFUSE"))
    return 15; /* NOT_SUPPORTED */
  uint64_t rows = m->trans_a ? a->cols : a->rows;
  uint64_t depth = m->trans_a ? a->rows : a->cols;
  uint64_t cols = m->trans_b ? b->rows : b->cols;
  if ((m->trans_b ? b->cols : b->rows) != depth || d->rows != rows ||
      d->cols != cols || d->type != F32 || c->type != F32)
    return 7;
  float al = *(const float *)alpha, be = *(const float *)beta;
  for (uint64_t j = 0; j < cols; ++j)
    for (uint64_t i = 0; i < rows; ++i) {
      float acc = 0.0f;
      for (uint64_t k = 0; k < depth; ++k)
        acc += at(A, a, m->trans_a, i, k) * at(B, b, m->trans_b, k, j);
      float *out = (float *)D + j * d->ld + i;
      float prior = be != 0.0f ? ((const float *)C)[j * c->ld + i] : 0.0f;
      *out = al * acc + be * prior;
    }
  ++matmuls;
  matmuls_with_algo += algo != NULL;
  return 0;
}
