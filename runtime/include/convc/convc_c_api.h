/*===- convc/convc_c_api.h - C API of the convc runtime -----------*- C -*-===*
 *
 * Load a compiled convc module (a shared library from `convc compile`), look
 * at its entry points and run them on tensors. Usable from C and C++; the
 * library has no MLIR or LLVM dependency. The C++ API over the same library
 * is convc/Runtime.h; this header has its own name so that the two never
 * collide on a case-insensitive file system.
 *
 * Errors: functions return a convc_status*, NULL on success. A non-NULL
 * status carries a code and a message and must be freed with
 * convc_status_free. A NULL module, tensor or out-pointer is an
 * INVALID_ARGUMENT status; the getters return 0, NULL, CONVC_F32 or
 * CONVC_CPU for a NULL handle. A failed run sets every output to NULL.
 *
 *===----------------------------------------------------------------------===*/

#ifndef CONVC_CONVC_C_API_H
#define CONVC_CONVC_C_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum convc_status_code {
  CONVC_OK = 0,
  CONVC_INVALID_ARGUMENT = 1, /* an input's name, dtype or shape is wrong */
  CONVC_NOT_FOUND = 2,        /* no such entry point or file */
  CONVC_LOAD_FAILED = 3,      /* not a loadable convc module */
  CONVC_UNAVAILABLE = 4,      /* e.g. a device that is not there */
  CONVC_INTERNAL = 5,
  CONVC_CANCELLED = 6 /* stopped when asked */
} convc_status_code;

typedef struct convc_status convc_status;
convc_status_code convc_status_get_code(const convc_status *status);
const char *convc_status_get_message(const convc_status *status);
void convc_status_free(convc_status *status);

typedef enum convc_dtype {
  CONVC_F32 = 0,
  CONVC_F16 = 1,
  CONVC_BF16 = 2,
  CONVC_F64 = 3,
  CONVC_I32 = 4,
  CONVC_I64 = 5,
  CONVC_I8 = 6,
  CONVC_U8 = 7,
  CONVC_BOOL = 8 /* one byte, 0 or 1 */
} convc_dtype;

/* Where a module runs and where a tensor's data lives. */
typedef enum convc_device { CONVC_CPU = 0, CONVC_CUDA = 1 } convc_device;

/* A dense row-major tensor, in host memory or (a device tensor) on the GPU. */
typedef struct convc_tensor convc_tensor;
/* Zero-filled, owned by the tensor. */
convc_status *convc_tensor_create(convc_dtype dtype, const int64_t *shape,
                                  size_t rank, convc_tensor **tensor);
/* Wraps `data`, which the caller keeps alive and frees. */
convc_status *convc_tensor_wrap(convc_dtype dtype, const int64_t *shape,
                                size_t rank, void *data, convc_tensor **tensor);
void convc_tensor_free(convc_tensor *tensor);
convc_dtype convc_tensor_get_dtype(const convc_tensor *tensor);
size_t convc_tensor_get_rank(const convc_tensor *tensor);
const int64_t *convc_tensor_get_shape(const convc_tensor *tensor);
void *convc_tensor_get_data(const convc_tensor *tensor);
size_t convc_tensor_get_num_bytes(const convc_tensor *tensor);
/* CONVC_CPU, or CONVC_CUDA for a device tensor (its data is a device
 * address). */
convc_device convc_tensor_get_device(const convc_tensor *tensor);
/* Wraps GPU memory of this process's CUDA context that the caller keeps
 * alive and frees (another library's device buffer, say). */
convc_status *convc_tensor_wrap_device(convc_dtype dtype, const int64_t *shape,
                                       size_t rank, void *device_data,
                                       convc_tensor **tensor);
/* A new copy of `tensor` on the GPU, or on the host; complete on return.
 * CONVC_UNAVAILABLE without CUDA. */
convc_status *convc_tensor_to_device(const convc_tensor *tensor,
                                     convc_tensor **device);
convc_status *convc_tensor_to_host(const convc_tensor *tensor,
                                   convc_tensor **host);

typedef struct convc_module convc_module;
convc_status *convc_module_load(const char *path, convc_module **module);
/* CONVC_CPU, or CONVC_CUDA for modules compiled with --target=cuda (they
 * take host and device tensors). */
convc_device convc_module_get_device(const convc_module *module);
/* NULL when modules compiled for CUDA can run in this process, else a
 * CONVC_UNAVAILABLE status whose message starts "CUDA unavailable: " and
 * says why (no libcuda.so.1, no GPU, ...). */
convc_status *convc_cuda_status(void);
void convc_module_free(convc_module *module);
size_t convc_module_get_num_entries(const convc_module *module);
const char *convc_module_get_entry_name(const convc_module *module,
                                        size_t index);
/* Signature of an entry point: inputs (is_output = 0) or outputs (1). */
convc_status *convc_module_get_num_args(const convc_module *module,
                                        const char *entry, int is_output,
                                        size_t *count);
/* A description such as "x: f32[s0, s1, 512]" (valid while the module is). */
const char *convc_module_describe_arg(const convc_module *module,
                                      const char *entry, int is_output,
                                      size_t index);
/* Threads for the module's parallel loops; <= 0 keeps one per core. */
void convc_module_set_num_threads(convc_module *module, int threads);

/* Runs `entry`: inputs in signature order; on success outputs[i] receives a
 * new tensor the caller frees with convc_tensor_free. */
convc_status *convc_module_run(const convc_module *module, const char *entry,
                               const convc_tensor *const *inputs,
                               size_t num_inputs, convc_tensor **outputs,
                               size_t num_outputs);
/* The same with the outputs on `outputs_on`: CONVC_CUDA hands a CUDA
 * module's results over as device tensors, without copying them back (the
 * next call can take them as they are). CPU modules return host tensors. */
convc_status *convc_module_run_on(const convc_module *module,
                                  const char *entry,
                                  const convc_tensor *const *inputs,
                                  size_t num_inputs, convc_tensor **outputs,
                                  size_t num_outputs, convc_device outputs_on);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CONVC_CONVC_C_API_H */
