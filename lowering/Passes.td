//===- Passes.td - convc lowering passes --------------------*- tablegen -*-===//

#ifndef CONVC_LOWERING_PASSES_TD
#define CONVC_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerConvcToLoopsPass : Pass<"convc-lower-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower convc ops to vectorised, parallel loops on buffers";
  let description = [{
    Every convc op becomes an `scf.parallel` over batch x time tiles whose
    body runs along channels in `vector<VL x f32>` registers (masked for the
    channel remainder), on buffers obtained with `bufferization.to_buffer`;
    the result is handed back as a tensor (`bufferization.to_tensor
    restrict writable`), so one-shot bufferization finishes the function.
    `dynamic_conv` first becomes its kernel projection and a
    `dynamic_kernel_conv {kernel_softmax}`; the projection is one
    single-threaded `cblas_sgemm` per row tile in parallel (`use-blas`), or
    a `linalg.generic` contraction. TaLK runs as one streaming
    kernel per time tile with a tile-local prefix sum: no full-length prefix
    sum is ever formed, and f32 sums stay short.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector register (8 for AVX2, 16 for AVX-512)">,
    Option<"timeTile", "time-tile", "int64_t", /*default=*/"128",
           "time steps per parallel work item">,
    Option<"useBlas", "use-blas", "bool", /*default=*/"true",
           "hand projections to cblas_sgemm (OpenBLAS)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"];
}

def ApproximateMathPass : Pass<"convc-approximate-math"> {
  let summary = "Replace math.exp (and friends) by vectorisable polynomials";
  let description = [{
    Applies upstream's polynomial approximations to `math.exp`, `math.tanh`,
    `math.erf`, ... so that vector math stays in vector registers instead of
    becoming one libm call per lane. Upstream exposes these only as pattern
    sets; this pass applies them. `math.sin` and `math.cos` stay libm calls:
    upstream's polynomials reduce the argument in f32 through an i32, which
    loses digits from |x| ~ 1e3 and gives 0 past 2^31.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def ExportEntryPointsPass : Pass<"convc-export-entry-points", "::mlir::ModuleOp"> {
  let summary = "Give public functions a C ABI and a signature table";
  let description = [{
    Marks every public function `llvm.emit_c_interface` and adds the global
    string `convc_signature` that the runtime reads: for each entry, its
    inputs and outputs with names, element types and shapes. Dynamic sizes
    get symbols (`s0`, `s1`, ...); sizes that the convc ops require to be
    equal (the batch and time of a TaLK input and its offsets, say) share a
    symbol, so the runtime rejects inconsistent inputs instead of letting the
    compiled code read out of bounds. Run it on tensor IR, before
    bufferization. Names come from `convc.name` argument and result
    attributes, else `input<i>` / `output<i>`. Arguments are marked
    `bufferization.writable = false`: the caller's buffers are never
    overwritten. With `target=cuda` the table
    says so (`target cuda`), and the runtime checks for a usable GPU when it
    loads the module.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "where the module runs: cpu or cuda">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def DenseResultsPass : Pass<"convc-dense-results", "::mlir::ModuleOp"> {
  let summary = "Copy results returned as strided views into dense buffers";
  let description = [{
    Runs after one-shot bufferization with identity-layout function
    boundaries. That bufferization returns a view whose layout has dynamic
    strides and offset 0 (the first part of a Split of a result with
    symbolic sizes, say) through a `memref.cast` to the identity layout,
    which is wrong unless the view spans whole rows; the runtime reads
    results as dense. Each such returned value is copied into a fresh
    dense buffer. Casts from layouts that are provably dense stay.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def CheckAllocationsPass : Pass<"convc-check-allocations", "::mlir::ModuleOp"> {
  let summary = "Fail the call when a buffer cannot be allocated";
  let description = [{
    Runs on the CPU targets after bufferization. Sizes known only at run
    time can ask for more memory than there is (a Tile or Expand to 2^34
    rows); malloc then returns null, and the first write crashed. Every
    `memref.alloc` in a function's body gets a `convc.check` that its
    pointer is not null, naming the element count and the buffer's type, so
    the call fails with that message. Allocations inside loops are not
    checked (a check cannot stop the loop's writes there).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::convc::ConvcDialect"];
}

def ParallelToRuntimePass : Pass<"convc-parallel-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Run outermost scf.parallel loops on the runtime's thread pool";
  let description = [{
    Outlines the body of every outermost `scf.parallel` (on buffers, without
    reductions) into a function `void body(ctx, begin, end)` that runs the
    work items [begin, end) of the loop's linearised iteration space, and
    replaces the loop by a call of the runtime's
    `convc_parallel_for(body, ctx, count)`. `ctx` points to a stack struct
    of the values the body captures (memref descriptors, scalars); constants
    are cloned into the body instead. Fixed-size `memref.alloca` buffers of
    the body move to the outlined function's entry (one per call, reused by
    its items) so the stack does not grow per item. Nested `scf.parallel`
    loops stay and run sequentially inside their work item. Compiled modules thus depend on
    libconvc_runtime for threading, not on an OpenMP runtime.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def LowerConvcToGPULoopsPass : Pass<"convc-lower-to-gpu-loops", "::mlir::ModuleOp"> {
  let summary = "Lower convc ops to GPU-shaped parallel loops on buffers";
  let description = [{
    Every convc op becomes `scf.parallel` nests shaped for a GPU, with
    scalar f32 bodies, in two forms that `convc-parallel-to-gpu` maps to
    threads:

    - flat: one work item per output element, channels innermost, so a
      warp's neighbouring threads touch neighbouring channels of the BTC
      layout;
    - block-structured: an outer loop with one block per tile, whose body
      holds `memref.alloca {convc.gpu_shared}` tiles and 1-D
      `scf.parallel {convc.gpu_threads = 256}` phases (a barrier after each
      on the GPU).

    Block-structured kernels: the window convs (tile and halo staged in
    shared memory, 8 time steps per thread), TaLK (one fused prefix-sum
    window pass per tile), DynamicConv (each step's kernel softmax computed
    once per head), projections (a shared-memory GEMM with the epilogue on
    its tile) and LayerNorm (a tree reduction per row). f16 and bf16
    storage load into f32 and accumulate in f32. The loops run on a CPU
    too, the phases one after another, which lets CPU-only machines test
    the GPU kernels' math.

    With `gemm-library=cuda`, an f16 / bf16 projection (linear, and
    dynamic_conv's kernel projection) first calls the runtime's
    `convc_cuda_gemm_lowp` for its product x W^T in f32 (cuBLASLt, tensor
    cores), then applies bias, activation and residual in a kernel; where
    the call returns nonzero (no cuBLASLt, a refused shape) the
    shared-memory GEMM runs instead. `gemm-library=host` calls the host
    twin `convc_host_gemm_lowp`, so the same structure runs on a CPU.
  }];
  let options = [
    Option<"timeTile", "time-tile", "int64_t", /*default=*/"32",
           "time steps per work item of TaLK's per-thread form (windows "
           "too wide for a shared tile)">,
    Option<"gemmLibrary", "gemm-library", "std::string", /*default=*/"\"none\"",
           "where f16 / bf16 projections get their product: none (the "
           "shared-memory GEMM), cuda (cuBLASLt through the runtime, the "
           "GEMM kernel as fallback) or host (its host twin, for "
           "gpu-kernels-on-cpu)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

def ParallelToGPUPass : Pass<"convc-parallel-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run outermost scf.parallel loops as gpu.launch kernels";
  let description = [{
    Each outermost `scf.parallel` of a function (on buffers, without
    reductions) becomes a 1-D `gpu.launch` of `block-size` threads per
    block: thread `i` runs the work item whose linear index is `i`, the
    innermost loop dimension varying fastest (coalesced channels). Nested
    parallel loops stay in their work item, for upstream's
    `scf-parallel-for-to-nested-fors` to make sequential after outlining. Other
    top-level ops that read or write buffers run as one-thread kernels, so
    no host code touches device memory (with the private scratch buffers
    they use); one whose results the host needs is an error. The
    exception: a small integer buffer that only host code
    fills and reads, as a `memref.reshape`'s shape, is marked
    `convc.gpu_host_buffer` and its accesses stay on the host. A copy
    between strided views becomes a kernel of loads and stores. Loops with
    thread phases (`convc.gpu_threads`) become one block per work item,
    with a barrier after each phase, and before one that writes shared
    memory while block-level code since the last barrier reads it. Marks
    the module `gpu.container_module`.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

def GPUHostBuffersPass : Pass<"convc-gpu-host-buffers", "::mlir::ModuleOp"> {
  let summary = "Move a function's buffers to the GPU around its kernels";
  let description = [{
    After `convc-parallel-to-gpu`, makes public functions keep the CPU
    target's ABI while all data lives on the device: each argument passes
    through the runtime's `convc_cuda_input_<T>`, which returns the caller's
    device buffer as it is or stages a host buffer to the device, every
    `memref.alloc` / `memref.dealloc` (but those marked
    `convc.gpu_host_buffer`) becomes `gpu.alloc` / `gpu.dealloc`,
    `memref.copy` becomes `gpu.memcpy`, and each result passes through
    `convc_cuda_output_<T>`, which hands the device buffer to a caller that
    wants device outputs or queues its copy to a fresh host buffer (the
    device buffer is then freed). Constant globals (weights) come from
    the runtime's `convc_cuda_constant_<T>`, which uploads them on first use
    and keeps them while the module is loaded, so neither the device code
    nor each call carries them; a mutable global gets a device copy per
    call.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUDeviceChecksPass : Pass<"convc-gpu-device-checks", "::mlir::ModuleOp"> {
  let summary = "Report per-element checks in kernels through a device flag";
  let description = [{
    After `convc-gpu-host-buffers`: a kernel cannot call the runtime, so each
    per-element `convc.check {continues}` inside a `gpu.launch` (a Gather's
    index in range) becomes a store of `[check id + 1, a, b]` to a 24-byte
    device buffer when it fails. The function zeroes the buffer on entry
    (`gpu.memset`), copies it to the host before each return and checks it
    there with one host `convc.check {continues}` per kernel check, which
    `convc-lower-checks` turns into runtime calls as on the CPU: the call
    fails naming the node, the index and the size, and writes no output.
    Checks outside kernels are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def DeferResultSyncPass : Pass<"convc-defer-result-sync", "::mlir::ModuleOp"> {
  let summary = "Wait for a call's kernels after queueing its result copies";
  let description = [{
    After `gpu-async-region`, which synchronises the host before every
    opaque call: a host `gpu.wait` right before the runtime's result hooks
    (`convc_cuda_output_<T>`, `convc_cuda_release_<T>`) moves past them and
    the pure ops among them. The hooks only queue copies and frees on the
    calling thread's single stream, behind the kernels, so one wait then
    covers the kernels and the result copies: one synchronisation per call
    instead of two. For the same reason a host wait right before the
    stream-ordered `convc_cuda_gemm_lowp` is dropped when the work it waits
    for copies nothing (a copy is how the host reads device data).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def VectorizeElementwiseLoopsPass
    : Pass<"convc-vectorize-elementwise-loops", "::mlir::func::FuncOp"> {
  let summary = "Four elements per work item in elementwise parallel loops";
  let description = [{
    For the GPU target, after `convert-linalg-to-parallel-loops`: an
    outermost `scf.parallel` whose body is provably elementwise along its
    innermost dimension (loads, stores, constants and elementwise-mappable
    ops; the innermost induction variable only as the last index) becomes
    a loop in which each iteration handles 4 consecutive elements with
    `vector.load` / `vector.store` (16 bytes of f32). An iteration runs the
    original body lane by lane instead when its vector is partial, or when
    a buffer it accesses as vectors is not aligned to the vector or (ranks
    above 1) its rows do not hold whole vectors, which only the running
    kernel knows.
    A thread then has 16 bytes of each operand in flight instead of 4.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def MergeGPUModulesPass : Pass<"convc-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Gather every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel; this moves all
    kernels (and the globals they use, once) into a single `gpu.module
    @convc_kernels` and retargets the `gpu.launch_func` ops. One device
    binary then holds the whole model: one PTX file for `--emit ptx`, one
    module load at run time.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def LowerChecksPass : Pass<"convc-lower-checks", "::mlir::ModuleOp"> {
  let summary = "Turn convc.check into a runtime call and an early return";
  let description = [{
    Runs on bufferized functions (the first step to LLVM, CPU and CUDA host
    code alike). Each `convc.check %ok, "message" (%a, %b)` splits its block:
    when `%ok` is false, a call `convc_rt_check_failed(message, a, b)` (the
    runtime records the first failure of the call) and a return of poison
    results, which the runtime never reads; otherwise the rest of the
    function. Buffers allocated before a failed check are not freed.

    A check marked `continues` (per element, in a loop body: a Gather's
    index) becomes `scf.if` around the call; the loop goes on and the
    runtime fails the call once the entry point returns.

    The `cf.assert` ops of `--bounds-checks` (upstream's
    generate-runtime-verification) become `scf.if` around a call of
    `convc_rt_access_check_failed(message)`, which prints the op and its
    location to stderr and aborts before the access.
  }];
  let dependentDialects = ["::mlir::cf::ControlFlowDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::ub::UBDialect"];
}

#endif // CONVC_LOWERING_PASSES_TD
