/* A stand-in libcuda.so.1 for testing the runtime's CUDA shim on machines
 * without a GPU: "device" memory is host memory, modules load, kernels do
 * not run (a launch succeeds or fails as FAKE_CUDA_LAUNCH says). It counts
 * what the runtime asks of the driver, for the test to check. Not a model of
 * CUDA's semantics beyond what the shim relies on. Its memory is zeroed, so
 * a module's outputs are zeros rather than undefined. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
static int allocs, frees, launches, modules, copies, syncs, streams;
static int pool_allocs, pool_frees, trims;
/* Capturing a stream: what CUDA forbids then fails here too. */
static int capturing;

#define API __attribute__((visibility("default")))

/* Copies by direction: the fake's device memory is host memory, so it
 * tracks which allocations are device buffers. */
static int h2d, d2h, d2d, host_allocs;
struct range { uintptr_t start; size_t size; };
static struct range *device_ranges;
static size_t num_ranges, cap_ranges;
static void note_device(uint64_t p, size_t bytes) {
  if (num_ranges == cap_ranges) {
    cap_ranges = cap_ranges ? 2 * cap_ranges : 64;
    device_ranges = realloc(device_ranges, cap_ranges * sizeof *device_ranges);
  }
  device_ranges[num_ranges++] = (struct range){(uintptr_t)p, bytes};
}
static void forget_device(uint64_t p) {
  for (size_t i = 0; i < num_ranges; ++i)
    if (device_ranges[i].start == (uintptr_t)p) {
      device_ranges[i] = device_ranges[--num_ranges];
      return;
    }
}
static int on_device(uint64_t p) {
  for (size_t i = 0; i < num_ranges; ++i)
    if ((uintptr_t)p >= device_ranges[i].start &&
        (uintptr_t)p < device_ranges[i].start + device_ranges[i].size)
      return 1;
  return 0;
}
API void fake_cuda_copy_kinds(int *to_device, int *to_host, int *on_gpu,
                              int *pinned) {
  *to_device = h2d, *to_host = d2h, *on_gpu = d2d, *pinned = host_allocs;
}


/* How often the pool was trimmed (after a failed allocation). */
API int fake_cuda_trims(void) { return trims; }

API void fake_cuda_counts(int *a, int *f, int *l, int *m, int *c, int *s,
                          int *st, int *pa, int *pf) {
  *a = allocs, *f = frees, *l = launches, *m = modules, *c = copies;
  *s = syncs, *st = streams, *pa = pool_allocs, *pf = pool_frees;
}

API CUresult cuInit(unsigned flags) { (void)flags; return 0; }
API CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
API CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return 0; }
API CUresult cuDeviceGetName(char *name, int len, int d) {
  (void)d;
  strncpy(name, "convc fake GPU", (size_t)len);
  return 0;
}
API CUresult cuDeviceGetAttribute(int *v, int attr, int d) {
  (void)d;
  /* compute capability 9.0; memory pools unless FAKE_CUDA_NO_POOLS */
  *v = attr == 75 ? 9 : attr == 115 ? !getenv("FAKE_CUDA_NO_POOLS") : 0;
  return 0;
}
API CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) {
  (void)d;
  *ctx = (void *)0x1;
  return 0;
}
API CUresult cuCtxSetCurrent(void *ctx) { (void)ctx; return 0; }
API CUresult cuCtxSynchronize(void) { return 0; }
API CUresult cuModuleLoadData(void **m, const void *image) {
  (void)image;
  ++modules;
  *m = malloc(1);
  return 0;
}
API CUresult cuModuleUnload(void *m) { free(m); --modules; return 0; }
API CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  (void)m, (void)name;
  *f = (void *)0x2;
  return 0;
}
API CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                            unsigned bx, unsigned by, unsigned bz,
                            unsigned smem, void *stream, void **params,
                            void **extra) {
  (void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz;
  (void)smem, (void)stream, (void)params, (void)extra;
  ++launches;
  const char *mode = getenv("FAKE_CUDA_LAUNCH");
  return mode && strcmp(mode, "fail") == 0 ? 719 /* LAUNCH_FAILED */ : 0;
}
API CUresult cuStreamCreate(void **s, unsigned flags) {
  (void)flags;
  ++streams;
  *s = malloc(1);
  return 0;
}
API CUresult cuStreamDestroy_v2(void *s) { free(s); return 0; }
API CUresult cuStreamSynchronize(void *s) {
  (void)s;
  if (capturing)
    return 900; /* STREAM_CAPTURE_UNSUPPORTED, as CUDA */
  ++syncs;
  return 0;
}
API CUresult cuStreamWaitEvent(void *s, void *e, unsigned f) {
  (void)s, (void)e, (void)f;
  return 0;
}
API CUresult cuEventCreate(void **e, unsigned f) {
  (void)f;
  *e = malloc(1);
  return 0;
}
API CUresult cuEventDestroy_v2(void *e) { free(e); return 0; }
API CUresult cuEventRecord(void *e, void *s) { (void)e, (void)s; return 0; }
API CUresult cuEventSynchronize(void *e) { (void)e; return 0; }
API CUresult cuEventElapsedTime(float *ms, void *a, void *b) {
  (void)a, (void)b;
  *ms = 0.25f;
  return 0;
}
API CUresult cuMemAlloc_v2(uint64_t *p, size_t bytes) {
  if (capturing)
    return 900; /* STREAM_CAPTURE_UNSUPPORTED */
  ++allocs;
  *p = (uint64_t)(uintptr_t)calloc(1, bytes);
  if (*p)
    note_device(*p, bytes);
  return *p ? 0 : 2 /* OUT_OF_MEMORY */;
}
API CUresult cuMemFree_v2(uint64_t p) {
  ++frees;
  forget_device(p);
  free((void *)(uintptr_t)p);
  return 0;
}
/* The stream-ordered allocator: the pool is malloc, a free is immediate
 * (nothing runs asynchronously here). */
API CUresult cuDeviceGetDefaultMemPool(void **pool, int d) {
  (void)d;
  *pool = (void *)0x3;
  return 0;
}
API CUresult cuMemPoolSetAttribute(void *pool, int attr, void *value) {
  (void)pool, (void)attr, (void)value;
  return 0;
}
API CUresult cuMemPoolTrimTo(void *pool, size_t keep) {
  (void)pool, (void)keep;
  ++trims;
  return 0;
}
/* FAKE_CUDA_OOM_ONCE: the next pool allocation fails, out of memory. */
API CUresult cuMemAllocAsync(uint64_t *p, size_t bytes, void *s) {
  (void)s;
  if (getenv("FAKE_CUDA_OOM_ONCE")) {
    unsetenv("FAKE_CUDA_OOM_ONCE");
    return 2; /* OUT_OF_MEMORY */
  }
  ++pool_allocs;
  *p = (uint64_t)(uintptr_t)calloc(1, bytes);
  if (*p)
    note_device(*p, bytes);
  return *p ? 0 : 2 /* OUT_OF_MEMORY */;
}
API CUresult cuMemFreeAsync(uint64_t p, void *s) {
  (void)s;
  ++pool_frees;
  forget_device(p);
  free((void *)(uintptr_t)p);
  return 0;
}
API CUresult cuMemcpyAsync(uint64_t dst, uint64_t src, size_t bytes, void *s) {
  (void)s;
  ++copies;
  int from = on_device(src), to = on_device(dst);
  if (from && to)
    ++d2d;
  else if (to)
    ++h2d;
  else if (from)
    ++d2h;
  memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}
API CUresult cuMemsetD32Async(uint64_t dst, unsigned v, size_t n, void *s) {
  (void)s;
  for (size_t i = 0; i < n; ++i)
    ((unsigned *)(uintptr_t)dst)[i] = v;
  return 0;
}
API CUresult cuMemsetD16Async(uint64_t dst, unsigned short v, size_t n,
                              void *s) {
  (void)s;
  for (size_t i = 0; i < n; ++i)
    ((unsigned short *)(uintptr_t)dst)[i] = v;
  return 0;
}
/* Stream capture and graphs (FAKE_CUDA_NO_GRAPHS: a driver without them,
 * as far as the runtime can tell: capture fails). Work issued while
 * capturing runs at once here, as everything does; a launch of the graph
 * is counted and does nothing. */
static int graph_launches;
API int fake_cuda_graph_launches(void) { return graph_launches; }
API CUresult cuStreamBeginCapture_v2(void *s, int mode) {
  (void)s, (void)mode;
  if (getenv("FAKE_CUDA_NO_GRAPHS"))
    return 801; /* NOT_SUPPORTED */
  capturing = 1;
  return 0;
}
API CUresult cuStreamEndCapture(void *s, void **graph) {
  (void)s;
  capturing = 0;
  *graph = malloc(1);
  return 0;
}
API CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                         unsigned long long flags) {
  (void)graph, (void)flags;
  *exec = malloc(1);
  return 0;
}
API CUresult cuGraphLaunch(void *exec, void *s) {
  (void)exec, (void)s;
  ++graph_launches;
  return 0;
}
API CUresult cuGraphExecDestroy(void *exec) { free(exec); return 0; }
API CUresult cuGraphDestroy(void *graph) { free(graph); return 0; }
/* Only CU_POINTER_ATTRIBUTE_MEMORY_TYPE: device for the fake's device
 * buffers, an error (unregistered) for any other address. */
API CUresult cuPointerGetAttribute(void *value, int attr, uint64_t p) {
  if (attr != 2 || !on_device(p))
    return 1; /* INVALID_VALUE */
  *(unsigned *)value = 2; /* CU_MEMORYTYPE_DEVICE */
  return 0;
}

/* Page-locked host memory: host memory here (FAKE_CUDA_NO_PINNED: none). */
API CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned flags) {
  (void)flags;
  if (capturing)
    return 900; /* STREAM_CAPTURE_UNSUPPORTED */
  if (getenv("FAKE_CUDA_NO_PINNED"))
    return 2; /* OUT_OF_MEMORY */
  ++host_allocs;
  *p = malloc(bytes);
  return *p ? 0 : 2;
}
API CUresult cuMemFreeHost(void *p) {
  free(p);
  return 0;
}
API CUresult cuGetErrorString(CUresult r, const char **text) {
  *text = r == 719 ? "unspecified launch failure (fake)" : "fake error";
  return 0;
}
