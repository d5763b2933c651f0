/* The C API exercised from C: usage: convc-capi-test MODULE.so
 * MODULE.so is test/unit/Inputs/capi_model.mlir compiled by convc. */
#include "convc/convc_c_api.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0, checks = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Consumes `status`: 1 if it has `code` and its message contains `text`. */
static int expect(convc_status *status, convc_status_code code,
                  const char *text) {
  int ok = convc_status_get_code(status) == code &&
           strstr(convc_status_get_message(status), text) != NULL;
  if (!ok)
    fprintf(stderr, "got code %d: %s\n", convc_status_get_code(status),
            convc_status_get_message(status));
  convc_status_free(status);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODULE.so\n", argv[0]);
    return 2;
  }
  convc_module *module = NULL;
  CHECK(expect(convc_module_load("/nonexistent/model.so", &module),
               CONVC_NOT_FOUND, "cannot load compiled module"));
  CHECK(expect(convc_module_load(argv[0], &module), CONVC_LOAD_FAILED,
               "cannot load"));
  CHECK(convc_module_load(argv[1], &module) == NULL);
  if (!module)
    return 1;
  convc_module_set_num_threads(module, 2);
  CHECK(convc_module_get_device(module) == CONVC_CPU);

  /* CUDA: either usable, or a clear "CUDA unavailable" status. */
  convc_status *cuda = convc_cuda_status();
  int cudaMissing = cuda != NULL;
  if (cuda) {
    CHECK(expect(cuda, CONVC_UNAVAILABLE, "CUDA unavailable: "));
  }

  CHECK(convc_module_get_num_entries(module) == 1);
  const char *entry = convc_module_get_entry_name(module, 0);
  CHECK(entry && strcmp(entry, "main") == 0);
  size_t n = 0;
  CHECK(convc_module_get_num_args(module, "main", 0, &n) == NULL && n == 1);
  CHECK(convc_module_get_num_args(module, "main", 1, &n) == NULL && n == 1);
  CHECK(strcmp(convc_module_describe_arg(module, "main", 0, 0),
               "x: f32[s0, s1, 8]") == 0);
  CHECK(expect(convc_module_get_num_args(module, "decode", 0, &n),
               CONVC_NOT_FOUND, "no entry point 'decode'"));

  /* y = glu(x) over a 1 x 2 x 8 input, checked against the formula. */
  float data[16];
  for (int i = 0; i < 16; ++i)
    data[i] = 0.25f * (float)(i - 8);
  int64_t shape[3] = {1, 2, 8};
  convc_tensor *x = NULL, *y = NULL;
  CHECK(convc_tensor_wrap(CONVC_F32, shape, 3, data, &x) == NULL);
  const convc_tensor *inputs[1] = {x};
  CHECK(convc_module_run(module, "main", inputs, 1, &y, 1) == NULL);
  if (y) {
    CHECK(convc_tensor_get_rank(y) == 3);
    CHECK(convc_tensor_get_shape(y)[2] == 4);
    const float *out = (const float *)convc_tensor_get_data(y);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 4; ++c) {
        float a = data[r * 8 + c], g = data[r * 8 + 4 + c];
        CHECK(fabsf(out[r * 4 + c] - a / (1.0f + expf(-g))) < 1e-6f);
      }
    convc_tensor_free(y);
  }

  /* Device tensors: a CPU module returns host tensors whatever is asked,
   * refuses a device tensor, and without CUDA nothing goes to the GPU. */
  CHECK(convc_tensor_get_device(x) == CONVC_CPU);
  y = NULL;
  CHECK(convc_module_run_on(module, "main", inputs, 1, &y, 1, CONVC_CUDA) ==
        NULL);
  if (y) {
    CHECK(convc_tensor_get_device(y) == CONVC_CPU);
    convc_tensor_free(y);
  }
  convc_tensor *onGpu = NULL;
  CHECK(convc_tensor_wrap_device(CONVC_F32, shape, 3, data, &onGpu) == NULL);
  if (onGpu) {
    CHECK(convc_tensor_get_device(onGpu) == CONVC_CUDA);
    const convc_tensor *gpuInputs[1] = {onGpu};
    CHECK(expect(convc_module_run(module, "main", gpuInputs, 1, &y, 1),
                 CONVC_INVALID_ARGUMENT,
                 "input 'x' is a device tensor, but this module runs on the "
                 "CPU"));
    convc_tensor_free(onGpu);
  }
  if (cudaMissing) {
    convc_tensor *copy = NULL;
    CHECK(expect(convc_tensor_to_device(x, &copy), CONVC_UNAVAILABLE,
                 "CUDA unavailable: "));
  }

  /* Bad calls are errors, not crashes. */
  int64_t bad[3] = {1, 2, 6};
  convc_tensor *wrong = NULL;
  CHECK(convc_tensor_create(CONVC_F32, bad, 3, &wrong) == NULL);
  const convc_tensor *wrongInputs[1] = {wrong};
  CHECK(expect(convc_module_run(module, "main", wrongInputs, 1, &y, 1),
               CONVC_INVALID_ARGUMENT, "input 'x': expected shape"));
  convc_tensor *ints = NULL;
  CHECK(convc_tensor_create(CONVC_I32, shape, 3, &ints) == NULL);
  const convc_tensor *intInputs[1] = {ints};
  CHECK(expect(convc_module_run(module, "main", intInputs, 1, &y, 1),
               CONVC_INVALID_ARGUMENT, "expected dtype f32, given i32"));
  CHECK(expect(convc_module_run(module, "main", inputs, 0, &y, 1),
               CONVC_INVALID_ARGUMENT, "takes 1 input, given 0"));
  CHECK(expect(convc_module_run(module, "decode", inputs, 1, &y, 1),
               CONVC_NOT_FOUND, "unknown entry point 'decode'"));
  CHECK(expect(convc_module_run(module, "main", inputs, 1, &y, 0),
               CONVC_INVALID_ARGUMENT, "has 1 outputs, room for 0"));
  int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
  CHECK(expect(convc_tensor_create(CONVC_F32, huge, 2, &wrong),
               CONVC_INVALID_ARGUMENT, "tensor too large"));
  int64_t negative[1] = {-1};
  CHECK(expect(convc_tensor_create(CONVC_F32, negative, 1, &wrong),
               CONVC_INVALID_ARGUMENT, "negative dimension"));

  /* NULL handles and out-pointers are errors or neutral values, not
   * crashes; a failed run leaves no stale output pointer. */
  size_t count = 7;
  CHECK(expect(convc_module_get_num_args(NULL, "main", 0, &count),
               CONVC_INVALID_ARGUMENT, "null argument"));
  CHECK(expect(convc_module_get_num_args(module, "main", 0, NULL),
               CONVC_INVALID_ARGUMENT, "null argument"));
  CHECK(convc_module_get_num_entries(NULL) == 0);
  CHECK(convc_module_get_entry_name(NULL, 0) == NULL);
  CHECK(convc_module_describe_arg(NULL, "main", 0, 0) == NULL);
  CHECK(convc_module_get_device(NULL) == CONVC_CPU);
  convc_module_set_num_threads(NULL, 2);
  CHECK(convc_tensor_get_rank(NULL) == 0 &&
        convc_tensor_get_data(NULL) == NULL &&
        convc_tensor_get_shape(NULL) == NULL &&
        convc_tensor_get_num_bytes(NULL) == 0);
  convc_tensor *stale = x;
  CHECK(expect(convc_module_run(module, "main", intInputs, 1, &stale, 1),
               CONVC_INVALID_ARGUMENT, "expected dtype f32") &&
        stale == NULL);
  /* Also when the call itself is malformed (these returned before clearing). */
  stale = x;
  CHECK(expect(convc_module_run_on(module, "main", inputs, 1, &stale, 1,
                                   (convc_device)7),
               CONVC_INVALID_ARGUMENT, "unknown device 7") &&
        stale == NULL);
  stale = x;
  CHECK(expect(convc_module_run(NULL, "main", inputs, 1, &stale, 1),
               CONVC_INVALID_ARGUMENT, "null argument") &&
        stale == NULL);
  stale = x;
  CHECK(expect(convc_module_run(module, NULL, inputs, 1, &stale, 1),
               CONVC_INVALID_ARGUMENT, "null argument") &&
        stale == NULL);

  convc_tensor_free(ints);
  convc_tensor_free(wrong);
  convc_tensor_free(x);
  convc_module_free(module);
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures != 0;
}
