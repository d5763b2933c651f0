//===- CudaShimTest.cpp - the runtime's CUDA shim without a GPU ----------===//
//
// Run twice by ctest: once as the machine is (no driver on CI: every CUDA
// path must say "CUDA unavailable"), once against FakeCudaDriver.c's
// libcuda.so.1 (LD_LIBRARY_PATH), which lets the mgpu* plumbing run: module
// loading, copies, the allocation and weight caches, error reporting.
// Kernels do not run on the fake; the GPU itself is scripts/gpu-check's.
//
//===----------------------------------------------------------------------===//

#include "convc/Generate.h"
#include "convc/Runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <dlfcn.h>
#include <cstring>
#include <fstream>
#include <string>

using namespace convc;

namespace {

bool usingFake() { return std::getenv("CONVC_TEST_FAKE_CUDA") != nullptr; }

/// `text` (MLIR) compiled with the convc tool as NAME.so (with `flags`)
/// in the test's temporary directory; "" when the compile fails.
std::string compileText(const std::string &name, const std::string &text,
                        const std::string &flags) {
  std::string stem = ::testing::TempDir() + "/convc_cuda_" + name + "_" +
                     std::to_string(::getpid());
  std::ofstream(stem + ".mlir") << text;
  std::string command = std::string(CONVC_TOOL) + " compile --quiet " + stem +
                        ".mlir " + flags + " -o " + stem + ".so";
  return std::system(command.c_str()) == 0 ? stem + ".so" : "";
}

/// A float32 .npy of zeros of `shape` at `path`.
void writeZerosNpy(const std::string &path, const std::vector<int64_t> &shape) {
  std::string dims;
  int64_t count = 1;
  for (int64_t d : shape)
    dims += std::to_string(d) + ", ", count *= d;
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = header.size();
  out.write(reinterpret_cast<const char *>(&len), 2);
  out << header << std::string(count * 4, '\0');
}

/// What `command` printed (stdout and stderr); "" if it failed.
std::string output(const std::string &command) {
  std::string log = ::testing::TempDir() + "/convc_cuda_output_" +
                    std::to_string(::getpid()) + ".txt";
  if (std::system((command + " > " + log + " 2>&1").c_str()) != 0)
    return "";
  std::ifstream in(log);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

/// A model with a constant weight, for CUDA or for the CPU, once each.
const char *kWeightModel =
    "func.func @main(%x: tensor<?x?x64xf32> {convc.name = \"x\"}) -> "
    "tensor<?x?x64xf32> {\n"
    "  %w = arith.constant dense<[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, "
    "0.8, 0.9], [1.0, 1.1, 1.2]]> : tensor<4x3xf32>\n"
    "  %y = convc.lightweight_conv %x, %w {heads = 4 : i64, padding = 1 : "
    "i64} : tensor<?x?x64xf32>, tensor<4x3xf32>\n"
    "  return %y : tensor<?x?x64xf32>\n}\n";
std::string compileModel() {
  static std::string path =
      compileText("shim", kWeightModel, "--target=cuda --gpu-binary=ptx");
  return path;
}
std::string compileCpuModel() {
  static std::string path = compileText("shim_cpu", kWeightModel, "");
  return path;
}

/// The example Seq2Seq compiled for CUDA with its decode step, once.
std::string compileExampleSeq2Seq() {
  static std::string path;
  if (!path.empty())
    return path;
  std::string so = ::testing::TempDir() + "/convc_cuda_seq2seq_" +
                   std::to_string(::getpid()) + ".so";
  std::string command = std::string(CONVC_TOOL) + " compile --quiet " +
                        CONVC_EXAMPLE +
                        " --target=cuda --gpu-binary=ptx --decode-step=decode "
                        "-o " + so;
  if (std::system(command.c_str()) != 0)
    return "";
  return path = so;
}

struct Counts {
  int allocs, frees, launches, modules, copies, syncs, streams, poolAllocs,
      poolFrees;
  // Copies by direction, page-locked host allocations, graph launches.
  int toDevice, toHost, onDevice, pinned, graphs;
};

Counts fakeCounts() {
  Counts c{};
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  auto fn =
      reinterpret_cast<void (*)(int *, int *, int *, int *, int *, int *,
                                int *, int *, int *)>(
          lib ? dlsym(lib, "fake_cuda_counts") : nullptr);
  if (fn)
    fn(&c.allocs, &c.frees, &c.launches, &c.modules, &c.copies, &c.syncs,
       &c.streams, &c.poolAllocs, &c.poolFrees);
  auto kinds = reinterpret_cast<void (*)(int *, int *, int *, int *)>(
      lib ? dlsym(lib, "fake_cuda_copy_kinds") : nullptr);
  if (kinds)
    kinds(&c.toDevice, &c.toHost, &c.onDevice, &c.pinned);
  auto graphs = reinterpret_cast<int (*)()>(
      lib ? dlsym(lib, "fake_cuda_graph_launches") : nullptr);
  if (graphs)
    c.graphs = graphs();
  return c;
}

Counts operator-(const Counts &a, const Counts &b);

/// What translating the example's source with `beam` beams for exactly
/// `length` tokens (min length = max length) asks of the driver.
Counts translationCounts(const Module &module, int beam, int64_t length) {
  GenerationOptions o;
  o.beam = beam;
  o.maxLength = o.minLength = length;
  std::vector<Hypothesis> results;
  Counts before = fakeCounts();
  // The fake driver computes nothing: each step picks token 0, which never
  // ends a hypothesis, and the generator says no hypothesis came out. Only
  // the driver calls of the `length` steps count here.
  Status s = generate(module, {{5, 9, 3, 2}}, o, results);
  EXPECT_TRUE(s.ok() ||
              s.message().find("no hypothesis meets") != std::string::npos)
      << s.message();
  return fakeCounts() - before;
}

Counts operator-(const Counts &a, const Counts &b) {
  return {a.allocs - b.allocs,       a.frees - b.frees,
          a.launches - b.launches,   a.modules - b.modules,
          a.copies - b.copies,       a.syncs - b.syncs,
          a.streams - b.streams,     a.poolAllocs - b.poolAllocs,
          a.poolFrees - b.poolFrees, a.toDevice - b.toDevice,
          a.toHost - b.toHost,       a.onDevice - b.onDevice,
          a.pinned - b.pinned,       a.graphs - b.graphs};
}

} // namespace

TEST(CudaShim, UnavailableWithoutADriver) {
  if (usingFake() || cudaStatus().ok())
    GTEST_SKIP() << "a CUDA driver is present";
  Status s = cudaStatus();
  EXPECT_EQ(s.code(), StatusCode::Unavailable);
  EXPECT_EQ(s.message().rfind("CUDA unavailable: ", 0), 0u) << s.message();
  EXPECT_EQ(cudaDeviceDescription(), "");
  Tensor t = Tensor::zeros(DType::F32, {4});
  EXPECT_EQ(cudaKeepResident(t).code(), StatusCode::Unavailable);
  cudaForgetResident(t); // nothing to forget: no effect
  std::string model = compileModel();
  ASSERT_FALSE(model.empty());
  std::unique_ptr<Module> module;
  Status load = Module::load(model, module);
  EXPECT_EQ(load.code(), StatusCode::Unavailable);
  EXPECT_NE(load.message().find("was compiled for CUDA (--target=cuda): CUDA "
                                "unavailable:"),
            std::string::npos)
      << load.message();
  EXPECT_FALSE(module);
}

TEST(CudaShim, RunsThroughTheDriverAPI) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  ASSERT_TRUE(cudaStatus().ok()) << cudaStatus().message();
  EXPECT_EQ(cudaDeviceDescription(), "convc fake GPU (sm_90)");
  std::string model = compileModel();
  ASSERT_FALSE(model.empty());
  {
    std::unique_ptr<Module> module;
    Status load = Module::load(model, module);
    ASSERT_TRUE(load.ok()) << load.message();
    EXPECT_EQ(module->device(), Device::CUDA);
    EXPECT_EQ(fakeCounts().modules, 1);

    Tensor x = Tensor::zeros(DType::F32, {2, 5, 64});
    std::vector<Tensor> outputs;
    Counts before = fakeCounts();
    Status run = module->run("main", {x}, outputs);
    ASSERT_TRUE(run.ok()) << run.message();
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{2, 5, 64}));
    Counts first = fakeCounts();
    EXPECT_GT(first.launches, before.launches);
    // Input in, output out, the weight uploaded once.
    EXPECT_GE(first.copies - before.copies, 3);

    // A second call reuses the uploaded weight.
    run = module->run("main", {x}, outputs);
    ASSERT_TRUE(run.ok()) << run.message();
    Counts second = fakeCounts();
    EXPECT_EQ(second.copies - first.copies, 2) << "input and output only";
    // The streams the compiled code asks for are the runtime's idle ones
    // from the first call.
    EXPECT_EQ(second.streams, first.streams) << "streams are reused";
    int syncs = second.syncs - first.syncs;
    EXPECT_GT(syncs, 0);
    if (!std::getenv("FAKE_CUDA_NO_POOLS")) {
      // Temporaries come from the stream-ordered pool and all go back to
      // it; only the weight was a plain allocation. Freeing does not wait
      // for the GPU: the compiled code's synchronisations are all a call
      // has, however many buffers it frees (one more call: the same).
      EXPECT_EQ(second.allocs, 1) << "the weight only";
      EXPECT_GT(second.poolAllocs, first.poolAllocs);
      EXPECT_EQ(second.poolAllocs, second.poolFrees) << "a buffer leaked";
      run = module->run("main", {x}, outputs);
      ASSERT_TRUE(run.ok()) << run.message();
      EXPECT_EQ(fakeCounts().syncs - second.syncs, syncs);
    } else {
      // Without pools: plain allocations, each freed after its stream
      // finishes.
      EXPECT_EQ(second.poolAllocs, 0);
      EXPECT_GT(second.allocs, first.allocs);
      EXPECT_EQ(second.allocs - first.allocs, second.frees - first.frees);
    }

    if (!std::getenv("FAKE_CUDA_NO_POOLS")) {
      // Out of device memory once: the pool gives its idle memory back and
      // the allocation is retried, so the call still succeeds.
      auto trims = reinterpret_cast<int (*)()>(
          dlsym(dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD),
                "fake_cuda_trims"));
      ASSERT_TRUE(trims);
      int before = trims();
      setenv("FAKE_CUDA_OOM_ONCE", "1", 1);
      run = module->run("main", {x}, outputs);
      EXPECT_TRUE(run.ok()) << run.message();
      EXPECT_EQ(trims(), before + 1);
      EXPECT_EQ(std::getenv("FAKE_CUDA_OOM_ONCE"), nullptr)
          << "no pool allocation happened";
    }

    {
      // A resident input is read from its device copy, with no copy per
      // call; forgotten, it is staged from host memory again.
      auto uploads = [&] { return fakeCounts().toDevice; };
      int before = uploads();
      ASSERT_TRUE(module->run("main", {x}, outputs).ok());
      EXPECT_EQ(uploads(), before + 1) << "the input, from host memory";
      Status keep = cudaKeepResident(x);
      ASSERT_TRUE(keep.ok()) << keep.message();
      EXPECT_EQ(uploads(), before + 2) << "uploaded once";
      ASSERT_TRUE(module->run("main", {x}, outputs).ok());
      ASSERT_TRUE(module->run("main", {x}, outputs).ok());
      EXPECT_EQ(uploads(), before + 2) << "no more copies from host memory";
      // Registrations are counted: the copy stays until the last forget.
      ASSERT_TRUE(cudaKeepResident(x).ok());
      EXPECT_EQ(uploads(), before + 2) << "already resident";
      cudaForgetResident(x);
      ASSERT_TRUE(module->run("main", {x}, outputs).ok());
      EXPECT_EQ(uploads(), before + 2) << "still resident";
      Counts beforeForget = fakeCounts();
      cudaForgetResident(x);
      EXPECT_EQ(fakeCounts().frees, beforeForget.frees + 1)
          << "the device copy goes with the last forget";
      ASSERT_TRUE(module->run("main", {x}, outputs).ok());
      EXPECT_EQ(uploads(), before + 3);
      // A tensor of another size at the same address is not the resident
      // one.
      ASSERT_TRUE(cudaKeepResident(x).ok());
      Tensor shorter = Tensor::borrow(DType::F32, {2, 4, 64}, x.data());
      ASSERT_TRUE(module->run("main", {shorter}, outputs).ok());
      EXPECT_EQ(uploads(), before + 5) << "upload, then the shorter input";
      cudaForgetResident(x);
    }

    // A failing kernel is an error of this call, not a crash or zeros.
    setenv("FAKE_CUDA_LAUNCH", "fail", 1);
    run = module->run("main", {x}, outputs);
    unsetenv("FAKE_CUDA_LAUNCH");
    EXPECT_EQ(run.code(), StatusCode::Internal);
    EXPECT_NE(run.message().find("CUDA error in entry 'main': cuLaunchKernel "
                                 "failed: unspecified launch failure"),
              std::string::npos)
        << run.message();
    EXPECT_TRUE(outputs.empty());

    // And the next call is fine again.
    run = module->run("main", {x}, outputs);
    EXPECT_TRUE(run.ok()) << run.message();
  }
  // Unloading the library unloads its device module and frees its weights.
  Counts after = fakeCounts();
  EXPECT_EQ(after.modules, 0);
  EXPECT_GE(after.frees, 1);
}

// Device tensors (issue 15, point 1): a CUDA module reads them where they
// are and, when asked, returns its results on the device, so chained calls
// copy nothing between host and device.
TEST(CudaShim, DeviceTensorsStayOnTheDevice) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  std::unique_ptr<Module> module;
  ASSERT_TRUE(Module::load(compileModel(), module).ok());
  Counts start = fakeCounts();
  {
    Tensor x = Tensor::zeros(DType::F32, {2, 5, 64});
    for (int i = 0; i < 2 * 5 * 64; ++i)
      x.data<float>()[i] = float(i);
    Tensor dx;
    ASSERT_TRUE(cudaToDevice(x, dx).ok());
    EXPECT_EQ(dx.device(), Device::CUDA);
    EXPECT_EQ(dx.shape(), x.shape());
    Tensor back;
    ASSERT_TRUE(cudaToHost(dx, back).ok());
    EXPECT_EQ(back.device(), Device::CPU);
    EXPECT_EQ(std::memcmp(back.data(), x.data(), x.numBytes()), 0)
        << "the round trip keeps the data";

    std::vector<Tensor> outputs;
    ASSERT_TRUE(module->run("main", {dx}, outputs).ok()); // weights, once
    RunOptions keep;
    keep.outputs = Device::CUDA;
    Counts before = fakeCounts();
    Status run = module->run("main", {dx}, outputs, keep);
    ASSERT_TRUE(run.ok()) << run.message();
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].device(), Device::CUDA);
    EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{2, 5, 64}));
    // The output feeds the next call as it is.
    std::vector<Tensor> again;
    run = module->run("main", {outputs[0]}, again, keep);
    ASSERT_TRUE(run.ok()) << run.message();
    Counts chained = fakeCounts() - before;
    EXPECT_EQ(chained.toDevice, 0) << "device inputs are read where they are";
    EXPECT_EQ(chained.toHost, 0) << "device outputs are handed over";
    EXPECT_EQ(chained.onDevice, 0);
    if (!std::getenv("FAKE_CUDA_NO_POOLS")) {
      EXPECT_EQ(chained.syncs, 2) << "one synchronisation per call";
    }
    EXPECT_GT(chained.launches, 0);

    // Host outputs from device inputs: one copy back, staged through the
    // thread's pinned buffer (allocated once, not per call).
    before = fakeCounts();
    ASSERT_TRUE(module->run("main", {dx}, outputs).ok());
    ASSERT_TRUE(module->run("main", {dx}, outputs).ok());
    Counts toHost = fakeCounts() - before;
    EXPECT_EQ(outputs[0].device(), Device::CPU);
    EXPECT_EQ(toHost.toDevice, 0);
    EXPECT_EQ(toHost.toHost, 2);
    // (Without pools every free waits for its stream.)
    if (!std::getenv("FAKE_CUDA_NO_POOLS")) {
      EXPECT_EQ(toHost.syncs, 2) << "still one per call";
    }
    EXPECT_EQ(toHost.pinned, 0) << "the pinned staging buffer is reused";

    // Per output: here the one output to the host.
    RunOptions mixed = keep;
    mixed.outputDevices = {Device::CPU};
    ASSERT_TRUE(module->run("main", {dx}, outputs, mixed).ok());
    EXPECT_EQ(outputs[0].device(), Device::CPU);

    // A borrowed device pointer (another library's tensor) works the same.
    Tensor borrowed = Tensor::borrowDevice(DType::F32, {2, 5, 64}, dx.data());
    before = fakeCounts();
    ASSERT_TRUE(module->run("main", {borrowed}, outputs, keep).ok());
    EXPECT_EQ((fakeCounts() - before).toDevice, 0);

    // A device tensor given to a CPU module is refused, not dereferenced.
    std::unique_ptr<Module> cpu;
    ASSERT_TRUE(Module::load(compileCpuModel(), cpu).ok());
    run = cpu->run("main", {dx}, outputs);
    EXPECT_EQ(run.code(), StatusCode::InvalidArgument);
    EXPECT_NE(run.message().find("input 'x' is a device tensor, but this "
                                 "module runs on the CPU"),
              std::string::npos)
        << run.message();
  }
  if (!std::getenv("FAKE_CUDA_NO_POOLS")) {
    Counts all = fakeCounts() - start;
    EXPECT_EQ(all.poolAllocs, all.poolFrees)
        << "every device buffer, device tensors' included, was freed";
  }
}

// A device result is always a buffer of the caller's own: a weight returned
// as it is, or one result returned twice, must not hand the runtime's
// cached weight or one buffer twice to the caller (freeing them would break
// later calls or free twice).
TEST(CudaShim, DeviceResultsAreTheCallersOwn) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  if (std::getenv("FAKE_CUDA_NO_POOLS"))
    GTEST_SKIP() << "counts pool buffers";
  std::string path = compileText(
      "results",
      "func.func @main(%x: tensor<4xf32> {convc.name = \"x\"}) -> "
      "(tensor<4xf32>, tensor<4xf32>, tensor<2xf32>) {\n"
      "  %w = arith.constant dense<[1.5, 2.5]> : tensor<2xf32>\n"
      "  %y = arith.addf %x, %x : tensor<4xf32>\n"
      "  return %y, %y, %w : tensor<4xf32>, tensor<4xf32>, tensor<2xf32>\n}\n",
      "--target=cuda --gpu-binary=ptx");
  ASSERT_FALSE(path.empty());
  std::unique_ptr<Module> module;
  ASSERT_TRUE(Module::load(path, module).ok());
  Tensor x = Tensor::zeros(DType::F32, {4});
  RunOptions keep;
  keep.outputs = Device::CUDA;
  Counts before = fakeCounts();
  for (int call = 0; call < 3; ++call) {
    std::vector<Tensor> outputs;
    Status run = module->run("main", {x}, outputs, keep);
    ASSERT_TRUE(run.ok()) << run.message();
    ASSERT_EQ(outputs.size(), 3u);
    EXPECT_EQ(outputs[0].data(), outputs[1].data()) << "one buffer, shared";
    EXPECT_EQ(outputs[2].device(), Device::CUDA);
    Tensor w;
    ASSERT_TRUE(cudaToHost(outputs[2], w).ok());
    EXPECT_EQ(w.data<float>()[0], 1.5f) << "the weight, copied";
    EXPECT_EQ(w.data<float>()[1], 2.5f);
  } // the outputs go here, each buffer once
  Counts after = fakeCounts() - before;
  EXPECT_EQ(after.poolAllocs, after.poolFrees) << "every result freed once";
  EXPECT_EQ(after.frees, 0) << "the cached weight stays until unload";
}

// What one decode step asks of the driver (issue 15, points 2 and 5): the
// difference between a 12-token and a 4-token translation of the example
// model over 8 steps (min length = max length, so both run every step).
// Point 2's budget: one graph launch, one synchronisation, one small
// device-to-host copy and no allocation per step. The step chooses its
// tokens itself (greedy: decode_step_greedy; beam: decode_step_top8, which
// also takes the row each row's states continue) and, from the second step
// on, runs as a CUDA graph that copies in what the host feeds (beam: the
// tokens and the reordering), copies its tokens, positions and states back
// into its inputs and the chosen pairs to pinned memory: per step one graph
// launch and one synchronisation, and nothing else (the copies are nodes
// of the graph). Where the graph cannot be made (no pinned memory, a driver
// without graphs), the step runs as a call: then its copies, kernel
// launches and pool allocations, the latter two held as ceilings. (Kernels
// do not run on the fake, whose memory is zeros: the tokens are
// meaningless; the plumbing is what is checked.) The ceilings are what the
// example's steps take now (greedy 47 launches and 52 pool allocations,
// beam 49 and 84: the top-8 reduction's 17 accumulators per row and per
// chunk of the row; each of the 13 projections a GEMM kernel, a kernel
// summing its splits of D and their buffer, since one row's few tiles split
// D), with room for small changes.
constexpr double kStepLaunches = 52, kGreedyStepAllocs = 54,
                 kBeamStepAllocs = 86;

void expectStepBudget(int beam) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  if (std::getenv("FAKE_CUDA_NO_POOLS"))
    GTEST_SKIP() << "measured with stream-ordered pools";
  std::string path = compileExampleSeq2Seq();
  ASSERT_FALSE(path.empty());
  std::unique_ptr<Module> module;
  ASSERT_TRUE(Module::load(path, module).ok());
  int64_t captured = 0, replays = 0;
  cudaGraphCounts(captured, replays); // reset
  translationCounts(*module, beam, 2); // uploads the weights
  Counts shortRun = translationCounts(*module, beam, 4),
         longRun = translationCounts(*module, beam, 12);
  cudaGraphCounts(captured, replays);
  auto perStep = [&](int Counts::*field) {
    return double(longRun.*field - shortRun.*field) / 8.0;
  };
  double launches = perStep(&Counts::launches), syncs = perStep(&Counts::syncs),
         toDevice = perStep(&Counts::toDevice), toHost = perStep(&Counts::toHost),
         onDevice = perStep(&Counts::onDevice),
         streams = perStep(&Counts::streams), graphs = perStep(&Counts::graphs),
         allocs = perStep(&Counts::allocs) + perStep(&Counts::poolAllocs);
  std::printf("per %s step: %.1f graph launches, %.1f kernel launches, "
              "%.1f synchronisations, %.1f copies to the device, %.1f to the "
              "host, %.1f on the device, %.1f allocations, %.1f streams "
              "(budget: 1 graph launch, 1 sync, 1 copy, 0 allocations)\n",
              beam == 1 ? "greedy" : "beam", graphs, launches, syncs, toDevice,
              toHost, onDevice, allocs, streams);
  EXPECT_EQ(syncs, 1);
  EXPECT_EQ(onDevice, 0) << "the states follow their beams inside the step";
  EXPECT_EQ(streams, 0) << "one stream per thread";
  EXPECT_EQ(longRun.poolAllocs, longRun.poolFrees) << "a buffer leaked";
  bool graphsExpected =
      !std::getenv("FAKE_CUDA_NO_PINNED") && !std::getenv("FAKE_CUDA_NO_GRAPHS");
  if (graphsExpected) {
    EXPECT_EQ(graphs, 1) << "the step is one graph launch";
    EXPECT_EQ(launches, 0) << "no kernel launched outside the graph";
    EXPECT_EQ(allocs, 0) << "the graph allocates and frees its own";
    EXPECT_EQ(toHost, 0) << "the pairs' copy is a node of the graph";
    EXPECT_EQ(toDevice, 0) << "the fed inputs' copies are nodes of the graph";
    // One capture per translation, replayed for every step but the first:
    // lengths 2, 4 and 12 decode 3, 5 and 13 steps.
    EXPECT_EQ(captured, 3);
    EXPECT_EQ(replays, 2 + 4 + 12);
  } else {
    EXPECT_EQ(graphs, 0);
    EXPECT_EQ(captured, 0);
    EXPECT_EQ(replays, 0);
    EXPECT_EQ(toHost, 1) << "the chosen pairs, not the logits";
    EXPECT_EQ(toDevice, beam == 1 ? 0 : 2)
        << "greedy: the chosen tokens stay on the device; beam: the tokens "
           "and the reordering";
    EXPECT_LE(launches, kStepLaunches);
    EXPECT_LE(allocs, beam == 1 ? kGreedyStepAllocs : kBeamStepAllocs);
    EXPECT_GT(launches, 0);
    EXPECT_EQ(perStep(&Counts::poolAllocs), perStep(&Counts::poolFrees));
  }
}

TEST(CudaShim, DriverCallsPerGreedyStep) { expectStepBudget(1); }

TEST(CudaShim, DriverCallsPerBeamStep) { expectStepBudget(2); }

extern "C" int32_t convc_cuda_gemm_lowp(int32_t type, int64_t M, int64_t N,
                                        int64_t K, const void *x,
                                        const void *w, float *z);

namespace {
/// A counter of the fake cuBLASLt (-1 without it).
int fakeLt(const char *counter) {
  void *lib = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
  auto fn =
      reinterpret_cast<int (*)()>(lib ? dlsym(lib, counter) : nullptr);
  return fn ? fn() : -1;
}
int fakeMatmuls() { return fakeLt("fake_cublaslt_matmuls"); }
} // namespace

// Issue 15, point 4: f16 / bf16 projections on tensor cores through
// cuBLASLt, opened at run time. The fake cuBLASLt computes on the fake's
// host-memory buffers, so the runtime's call (operand order, transposes,
// leading dimensions) is checked by its numbers: z = x w^T for x [3, 5],
// w [4, 5], exact in both types. Refused (or CONVC_TENSOR_CORES=0), the
// call returns nonzero and the compiled code runs its own GEMM. A compiled
// bf16 projection calls it once per run and frees its scratch.
TEST(CudaShim, LowPrecisionProjectionsGoThroughCublasLt) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  const int64_t M = 3, N = 4, K = 5;
  for (int type : {0, 1}) {
    SCOPED_TRACE(type == 0 ? "f16" : "bf16");
    DType dtype = type == 0 ? DType::F16 : DType::BF16;
    // Small integers and halves: exact in both types.
    std::vector<float> xs(M * K), ws(N * K);
    for (int64_t i = 0; i < M * K; ++i)
      xs[i] = float(i % 7) - 3.0f;
    for (int64_t i = 0; i < N * K; ++i)
      ws[i] = 0.5f * float(i % 5) - 1.0f;
    Tensor x = convertTensor(Tensor::borrow(DType::F32, {M, K}, xs.data()), dtype),
           w = convertTensor(Tensor::borrow(DType::F32, {N, K}, ws.data()), dtype);
    Tensor dx, dw, dz, z;
    ASSERT_TRUE(cudaToDevice(x, dx).ok());
    ASSERT_TRUE(cudaToDevice(w, dw).ok());
    ASSERT_TRUE(cudaToDevice(Tensor::zeros(DType::F32, {M, N}), dz).ok());
    int before = fakeMatmuls();
    ASSERT_EQ(convc_cuda_gemm_lowp(type, M, N, K, dx.data(), dw.data(),
                                   dz.data<float>()),
              0);
    EXPECT_EQ(fakeMatmuls(), before + 1);
    ASSERT_TRUE(cudaToHost(dz, z).ok());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double want = 0;
        for (int64_t k = 0; k < K; ++k)
          want += double(xs[m * K + k]) * ws[n * K + k];
        EXPECT_EQ(z.data<float>()[m * N + n], float(want)) << m << ", " << n;
      }
    // The heuristic chooses the algorithm once per shape and thread; every
    // matmul gets it. (A matmul given no algorithm would run the heuristic
    // on the host itself.)
    int heuristics = fakeLt("fake_cublaslt_heuristics"),
        withAlgo = fakeLt("fake_cublaslt_matmuls_with_algo");
    for (int again = 0; again < 2; ++again)
      ASSERT_EQ(convc_cuda_gemm_lowp(type, M, N, K, dx.data(), dw.data(),
                                     dz.data<float>()),
                0);
    ASSERT_EQ(convc_cuda_gemm_lowp(type, M, N - 1, K, dx.data(), dw.data(),
                                   dz.data<float>()),
              0);
    EXPECT_EQ(fakeLt("fake_cublaslt_heuristics"), heuristics + 1)
        << "the same shape again: the cached algorithm; N - 1: one more";
    EXPECT_EQ(fakeLt("fake_cublaslt_matmuls_with_algo"), withAlgo + 3);
    ::setenv("FAKE_CUBLASLT_REFUSE", "1", 1);
    EXPECT_NE(convc_cuda_gemm_lowp(type, M, N, K, dx.data(), dw.data(),
                                   dz.data<float>()), 0);
    ::unsetenv("FAKE_CUBLASLT_REFUSE");
    ::setenv("CONVC_TENSOR_CORES", "0", 1);
    EXPECT_NE(convc_cuda_gemm_lowp(type, M, N, K, dx.data(), dw.data(),
                                   dz.data<float>()), 0);
    ::unsetenv("CONVC_TENSOR_CORES");
  }
  std::string path = compileText(
      "bf16_linear",
      "func.func @main(%x: tensor<?x?x64xbf16> {convc.name = \"x\"}, %w: "
      "tensor<96x64xbf16> {convc.name = \"w\"}) -> tensor<?x?x96xbf16> {\n"
      "  %y = convc.linear %x, %w : tensor<?x?x64xbf16>, tensor<96x64xbf16> "
      "-> tensor<?x?x96xbf16>\n  return %y : tensor<?x?x96xbf16>\n}\n",
      "--target=cuda --gpu-binary=ptx");
  ASSERT_FALSE(path.empty());
  std::unique_ptr<Module> module;
  ASSERT_TRUE(Module::load(path, module).ok());
  int before = fakeMatmuls();
  Counts counts = fakeCounts();
  std::vector<Tensor> out;
  Status run = module->run("main", {Tensor::zeros(DType::BF16, {2, 7, 64}),
                                    Tensor::zeros(DType::BF16, {96, 64})},
                           out);
  ASSERT_TRUE(run.ok()) << run.message();
  EXPECT_EQ(fakeMatmuls(), before + 1) << "the product through cuBLASLt";
  counts = fakeCounts() - counts;
  EXPECT_EQ(counts.poolAllocs + counts.allocs, counts.poolFrees + counts.frees)
      << "the f32 scratch is freed";
  if (!std::getenv("FAKE_CUDA_NO_POOLS")) { // plain frees wait for the device
    EXPECT_EQ(counts.syncs, 2) << "the matmul queues behind the kernels: no "
                                  "wait before it; one after its branch and "
                                  "one for the results";
  }
  // Profiled, the matmul is kernel time as the launches are (the fake's
  // events say 0.25 ms each): the epilogue and the matmul; without tensor
  // cores the GEMM kernel and the kernel summing its splits of D (14 rows
  // make 2 tiles, too few blocks for the GPU, so D's 2 slabs split).
  std::string x = path + "_x.npy", w = path + "_w.npy";
  writeZerosNpy(x, {2, 7, 64});
  writeZerosNpy(w, {96, 64});
  for (const char *cores : {"1", "0"}) {
    std::string text = output(
        std::string("CONVC_CUDA_PROFILE=1 CONVC_TENSOR_CORES=") + cores + " " +
        CONVC_TOOL + " bench " + path + " --device=cuda --input=x=" + x +
        " --input=w=" + w + " --runs 3 --warmup 1");
    EXPECT_NE(text.find("kernel_median_ms=0.5000"), std::string::npos)
        << text;
  }
}

// `convc bench --device=cuda` reports the wall time with host tensors, with
// device tensors in and out, and (with CONVC_CUDA_PROFILE=1) the kernel
// time; the fake driver stands in for the GPU.
TEST(CudaShim, BenchReportsDeviceAndKernelTimes) {
  if (!usingFake())
    GTEST_SKIP() << "needs the fake driver (ctest runs this with it)";
  std::string model = compileModel();
  ASSERT_FALSE(model.empty());
  std::string stem = ::testing::TempDir() + "/convc_cuda_bench_" +
                     std::to_string(::getpid());
  std::string npy = stem + "_x.npy";
  writeZerosNpy(npy, {2, 5, 64});
  for (const char *profile : {"0", "1"}) {
    std::string log = stem + "_" + profile + ".txt";
    std::string command = std::string("CONVC_CUDA_PROFILE=") + profile + " " +
                          CONVC_TOOL + " bench " + model + " --device=cuda " +
                          "--input=x=" + npy + " --runs 3 --warmup 1 > " +
                          log + " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("median_ms="), std::string::npos) << text;
    EXPECT_NE(text.find("device_tensors_median_ms="), std::string::npos)
        << text;
    EXPECT_NE(text.find("GPU: convc fake GPU (sm_90)"), std::string::npos)
        << text;
    if (std::string(profile) == "1")
      EXPECT_NE(text.find("kernel_median_ms=0."), std::string::npos) << text;
    else
      EXPECT_NE(text.find("kernel_median_ms=n/a"), std::string::npos) << text;
  }
  // Per kernel, named after the function and the convc op: the LightConv
  // kernel (4 timed runs + warm-up x 0.25 ms on the fake's events).
  std::string table = output(std::string("CONVC_CUDA_PROFILE=kernels ") +
                             CONVC_TOOL + " bench " + model +
                             " --device=cuda --input=x=" + npy +
                             " --runs 3 --warmup 1");
  EXPECT_NE(table.find("convc kernel profile (CONVC_CUDA_PROFILE=kernels)"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("main_lightweight_conv"), std::string::npos) << table;
  EXPECT_EQ(table.find(" ?\n"), std::string::npos) << "an unnamed kernel\n"
                                                   << table;
}
