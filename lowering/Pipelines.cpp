//===- Pipelines.cpp - the named stages of `convc compile` ----------------===//
//
// Stages are textual pass pipelines, so any of them can be replayed with
// convc-opt (`convc-opt --pass-pipeline='...'`).
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"
#include "lowering/llvm/EmitLibrary.h"

#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/TargetParser/Triple.h"

#include <map>
#include <mutex>

extern "C" void LLVMInitializeNVPTXTargetInfo();
extern "C" void LLVMInitializeNVPTXTargetMC();

using namespace mlir;

namespace convc {

std::string findLibdevice(const std::string &cudaPath) {
  std::string path = cudaPath + "/nvvm/libdevice/libdevice.10.bc";
  return llvm::sys::fs::exists(path) ? path : std::string();
}

/// Whether `ptxas` accepts `arch` (ptxas -arch=ARCH --version), asked once
/// per process: a JIT compile that hits its cache must not start a process.
/// `why` gets ptxas's complaint.
static bool ptxasSupports(const std::string &ptxas, const std::string &arch,
                          std::string &why) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>,
                  std::pair<bool, std::string>>
      answers;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, fresh] = answers.try_emplace({ptxas, arch});
  if (fresh) {
    llvm::SmallString<64> log;
    llvm::sys::fs::createTemporaryFile("convc-ptxas", "log", log);
    std::string archFlag = "-arch=" + arch;
    std::optional<llvm::StringRef> redirects[] = {
        std::nullopt, llvm::StringRef(""), llvm::StringRef(log)};
    int status = llvm::sys::ExecuteAndWait(
        ptxas, {ptxas, archFlag, "--version"}, std::nullopt, redirects);
    std::string text;
    if (auto buffer = llvm::MemoryBuffer::getFile(log))
      text = llvm::StringRef((*buffer)->getBuffer()).trim().str();
    llvm::sys::fs::remove(log);
    it->second = {status == 0, text};
  }
  why = it->second.second;
  return it->second.first;
}

bool configureCudaTarget(CudaTargetOptions &options, const std::string &binary,
                         std::string &error) {
  const std::string &root = options.toolkitPath;
  if (findLibdevice(root).empty()) {
    error = "CUDA unavailable: no libdevice at " + root +
            "/nvvm/libdevice/libdevice.10.bc (the CUDA toolkit's root is "
            "--cuda-path, or CompilerOptions::cudaPath)";
    return false;
  }
  if (!llvm::StringRef(options.arch).starts_with("sm_")) {
    error = "the GPU architecture must be an SM name such as sm_80 or sm_90, "
            "got '" + options.arch + "'";
    return false;
  }
  std::string known;
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTargetMC();
  if (!knownProcessor(llvm::Triple("nvptx64-nvidia-cuda"), options.arch,
                      "sm_90", &known, "sm_")) {
    error = "LLVM's NVPTX backend does not know GPU architecture '" +
            options.arch + "'" + (known.empty() ? "" : " (it knows " + known + ")");
    return false;
  }
  auto tool = [&](const char *name) {
    return llvm::sys::fs::can_execute(root + "/bin/" + name);
  };
  bool assembler = tool("ptxas"), bundler = tool("fatbinary");
  std::string kind = binary.empty() ? (assembler && bundler ? "fatbin" : "ptx")
                                    : binary;
  if (kind != "fatbin" && kind != "cubin" && kind != "ptx") {
    error = "unknown GPU binary '" + kind + "' (expected fatbin, cubin or ptx)";
    return false;
  }
  if ((kind != "ptx" && !assembler) || (kind == "fatbin" && !bundler)) {
    error = "a " + kind + " GPU binary needs " + root + "/bin/" +
            (assembler ? "fatbinary" : "ptxas") +
            " (ptx needs neither)";
    return false;
  }
  if (kind != "ptx") {
    std::string why;
    if (!ptxasSupports(root + "/bin/ptxas", options.arch, why)) {
      error = root + "/bin/ptxas cannot assemble for " + options.arch +
              (why.empty() ? "" : " (" + why + ")") +
              ": use a toolkit that supports it, or --gpu-binary=ptx for the "
              "driver to compile the PTX";
      return false;
    }
  }
  options.format = kind == "ptx" ? "isa" : kind == "cubin" ? "bin" : "fatbin";
  return true;
}

/// The last conversions of host code to the LLVM dialect, both targets.
static constexpr const char *kHostToLLVM =
    "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-ub-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
    "reconcile-unrealized-casts,"
    "canonicalize";

/// Bufferized loops -> kernels -> NVVM -> device binary; host code -> LLVM.
/// No PTX version is named (nvvm-attach-target's own default, PTX 6.0, is
/// too old for sm_90): LLVM then declares the lowest the architecture
/// allows, PTX 7.8 for sm_90 and 8.6 for sm_100, which the most drivers can
/// JIT-compile.
/// Parallel loops nested in a kernel's work item run sequentially
/// (upstream's scf-parallel-for-to-nested-fors).
/// Device math (exp, rsqrt, sin, ...) becomes libdevice calls, linked and
/// inlined from the toolkit's libdevice, so no `__nv_` function stays
/// external in the PTX.
static std::string cudaPipeline(const CudaTargetOptions &cuda) {
  std::string libdevice = findLibdevice(cuda.toolkitPath);
  return llvm::formatv(
      "convert-bufferization-to-memref,"
      "func.func(convert-linalg-to-parallel-loops,"
      "convc-vectorize-elementwise-loops),"
      "convc-parallel-to-gpu,convc-gpu-host-buffers,convc-gpu-device-checks,"
      "canonicalize,cse,"
      "gpu-launch-sink-index-computations,"
      "gpu-kernel-outlining,convc-merge-gpu-modules,"
      "nvvm-attach-target{{chip={0} features= O=3 l={1}},"
      "gpu.module(scf-parallel-for-to-nested-fors,expand-strided-metadata,"
      "lower-affine,convert-scf-to-cf,"
      "convert-gpu-to-nvvm{{index-bitwidth=64},canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "gpu-module-to-binary{{format={2} toolkit={3}},"
      "func.func(gpu-async-region),convc-defer-result-sync,"
      "convc-lower-checks,"
      "expand-strided-metadata,lower-affine,"
      "convert-scf-to-cf,gpu-to-llvm,finalize-memref-to-llvm,{4}",
      cuda.arch, libdevice, cuda.format, cuda.toolkitPath, kHostToLLVM);
}

static std::string pipelineText(Stage stage, const CpuTargetOptions &opt,
                                const CudaTargetOptions &cuda) {
  switch (stage) {
  case Stage::Import:
  case Stage::PTX:
  case Stage::Obj:
  case Stage::Lib:
    return "";
  case Stage::Convc:
    // Raising first: imported models then get the convc ops every later
    // pass (decode-step derivation included) works on. Before CSE,
    // tensor.empty becomes bufferization.alloc_tensor: equal empties merged
    // by CSE become one buffer that one-shot bufferization may let a later
    // op overwrite while a convc op still reads it through to_buffer (an
    // imported TaLK decoder miscompiled so). After canonicalize, which
    // removes what raising left dead (alloc_tensor is not trivially dead).
    // A raised TaLK is fused here already: the step derivation knows
    // talk_conv, not its prefix sum and window difference.
    // Projections are raised before DynamicConv, whose kernels are one.
    // Scales computed from sizes (head_dim ** -0.5) are folded first.
    // The importer's run-time size checks (Concat's, say) read dims of
    // what raising replaced: resolving those dims to the sizes they were
    // computed from lets the replaced ops die.
    return "convc-fold-constant-scalars,convc-raise-glu,canonicalize,"
           "convc-raise-layer-norm,"
           "convc-raise-linear,convc-raise-dynamic-conv,convc-raise-talk,"
           "convc-fuse-talk,convc-raise-embedding,convc-raise-attention,"
           "convc-raise-depthwise-conv,convc-raise-lightweight-conv,"
           "resolve-ranked-shaped-type-result-dims," +
           (opt.decodeStep.empty()
                ? std::string()
                // Canonicalize first: a gather raising left dead is kept
                // by the greedy driver while its per-index checks write.
                : "canonicalize,convc-derive-decode-step{function=" +
                      opt.decodeStep +
                      (opt.decodeStepIfPossible ? " if-possible=true" : "") +
                      "},convc-add-token-choice{function=" + opt.decodeStep +
                      "},") +
           "canonicalize,empty-tensor-to-alloc-tensor,cse";
  case Stage::Fused:
    // Sums left as generics are widened last: fusion matches f32 forms.
    // The empties it makes become allocations before CSE (see Convc).
    return "convc-fold-weight-softmax,convc-fuse-kernel-softmax,"
           "convc-fuse-talk,convc-fuse-epilogues,convc-widen-float-sums,"
           "canonicalize,empty-tensor-to-alloc-tensor,cse";
  case Stage::Loops: {
    // The target's convc lowering, then bufferization of the function
    // around it (shared by both targets).
    std::string lowering =
        opt.target == Target::CPU
            ? llvm::formatv("convc-lower-to-loops{{vector-width={0} "
                            "time-tile={1} use-blas={2}}",
                            opt.vectorWidth, opt.timeTile,
                            opt.useBlas ? "true" : "false")
                  .str()
            : std::string("convc-lower-to-gpu-loops{gemm-library=") +
                  (opt.target == Target::CUDA ? "cuda" : "host") + "}";
    return std::string(opt.target == Target::CUDA
                           ? "convc-export-entry-points{target=cuda},"
                           : "convc-export-entry-points,") +
           "convert-elementwise-to-linalg," + lowering +
           ",canonicalize,empty-tensor-to-alloc-tensor,cse,"
           "one-shot-bufferize{bufferize-function-boundaries "
           "function-boundary-type-conversion=identity-layout-map},"
           "convc-dense-results,buffer-deallocation-pipeline,canonicalize";
  }
  case Stage::LLVM:
    if (opt.target == Target::CUDA)
      return cudaPipeline(cuda);
    // Outermost parallel loops go to the runtime's thread pool before
    // vector-to-scf adds loops of its own.
    // With bounds checks, every memref access gets a cf.assert of its
    // indices once linalg is loops (the vector ops convc emits are not
    // covered).
    // gpu-kernels-on-cpu runs linalg's loops as the CUDA target makes them,
    // elementwise ones 4 lanes per item.
    // A null allocation fails the call (convc-check-allocations) before the
    // checks are lowered.
    return std::string("convert-bufferization-to-memref,"
                       "convc-check-allocations,") +
           (opt.target == Target::GPUKernelsOnCPU
                ? "func.func(convert-linalg-to-parallel-loops,"
                  "convc-vectorize-elementwise-loops),"
                : "func.func(convert-linalg-to-loops),") +
           (opt.boundsChecks ? "generate-runtime-verification," : "") +
           "convc-lower-checks,convc-approximate-math,"
           "convc-parallel-to-runtime,convert-vector-to-scf,lower-affine,"
           "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
           "convert-scf-to-cf,convert-vector-to-llvm," +
           std::string(kHostToLLVM);
  }
  return "";
}

LogicalResult buildPipelineToStage(OpPassManager &pm, Stage from, Stage to,
                                   const CpuTargetOptions &options,
                                   const CudaTargetOptions &cuda) {
  for (int s = int(from) + 1; s <= int(to); ++s) {
    std::string text = pipelineText(Stage(s), options, cuda);
    if (!text.empty() && failed(parsePassPipeline(text, pm)))
      return failure();
  }
  return success();
}

} // namespace convc
