//===- BackendNodeTest.cpp - the official ONNX backend node tests ---------===//
//
// Runs every node test of Debian's libonnx-testdata whose graph uses only ops
// the importer supports: compile model.onnx with the convc tool, feed
// test_data_set_*/input_*.pb, compare with output_*.pb (ONNX's backend
// tolerance: |got - want| <= 1e-7 + 1e-3 |want|). Tests whose values convc
// does not import (uint8 tensors, sequences, optionals) must fail to compile
// with a message saying what is not supported, not crash.
//
// Inputs that convc requires to be constant (Squeeze/Unsqueeze/ReduceSum
// axes, the Reshape/Expand/ConstantOfShape shape, Slice's
// starts/ends/axes/steps, Pad's pads, Split's sizes, ScatterND's indices,
// Tile's repeats: it compiles shapes statically, as exporters emit them;
// Dropout's ratio and training_mode, which exports fix) are graph inputs in
// these tests; the test bakes each data set's value into the model as an
// initializer before compiling, and feeds the remaining inputs.
//
// Each test runs twice: as written (static shapes), and with every dim of
// every graph input and output made symbolic (no dim_param, so independent),
// as onnx-mlir's check-onnx-backend-dynamic does: the importer may then rely
// on nothing the run-time sizes do not tell it.
// Models of opsets convc does not import (below 7) must fail with the opset
// error.
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"
#include "frontends/onnx/ONNXImporter.h"

#include "llvm/ADT/STLExtras.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <onnx/onnx_pb.h>

namespace fs = std::filesystem;

namespace {

const char *kData = "/usr/share/libonnx-testdata/data/node";

/// What the importer claims: every test of these ops must pass.
bool claimed(const std::string &op) {
  return llvm::is_contained(convc::supportedONNXOps(), op);
}

bool readProto(const fs::path &path, google::protobuf::Message &message) {
  std::ifstream in(path, std::ios::binary);
  return in && message.ParseFromIstream(&in);
}

/// The element types that cross convc's entry point.
bool importable(const onnx::ValueInfoProto &v) {
  using TP = onnx::TensorProto;
  return llvm::is_contained({TP::FLOAT, TP::DOUBLE, TP::FLOAT16, TP::BFLOAT16,
                             TP::INT64, TP::INT32, TP::INT8, TP::UINT8,
                             TP::BOOL},
                            v.type().tensor_type().elem_type());
}

/// Every dim of every graph input and output made symbolic, but for a Conv's
/// (or ConvTranspose's)
/// weights and bias (convc needs their shapes: exports make them
/// initializers) and dims that are 0 in the data (symbolic sizes are at
/// least 1 in convc's runtime).
void makeDimsSymbolic(onnx::GraphProto &graph, const fs::path &dir) {
  std::set<std::string> keep;
  for (const auto &node : graph.node())
    if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose")
      for (int k = 1; k < node.input_size(); ++k)
        keep.insert(node.input(k));
  for (int i = 0; i < graph.input_size(); ++i) {
    auto &v = *graph.mutable_input(i);
    if (keep.count(v.name()) || !v.type().tensor_type().has_shape())
      continue;
    onnx::TensorProto data;
    bool haveData = readProto(
        dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb"), data);
    auto *dims = v.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int d = 0; d < dims->dim_size(); ++d)
      if (!(haveData && d < data.dims_size() && data.dims(d) == 0))
        dims->mutable_dim(d)->Clear();
  }
  for (auto &v : *graph.mutable_output())
    if (v.type().tensor_type().has_shape())
      for (auto &dim :
           *v.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim())
        dim.Clear();
}

int64_t defaultOpset(const onnx::ModelProto &model) {
  for (const auto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      return opset.version();
  return 0;
}

/// Test directories whose single op the importer claims.
std::vector<std::string> claimedTests() {
  std::vector<std::string> names;
  if (!fs::exists(kData))
    return names;
  for (const auto &entry : fs::directory_iterator(kData)) {
    onnx::ModelProto model;
    if (!readProto(entry.path() / "model.onnx", model))
      continue;
    bool all = model.graph().node_size() > 0;
    for (const auto &node : model.graph().node())
      all &= node.domain().empty() && claimed(node.op_type());
    if (all)
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// `t` as a runtime tensor of the graph's `declared` element type (the
/// test data keeps bfloat16 values as UINT16 bits).
convc::Tensor toTensor(const onnx::TensorProto &t, int declared) {
  using TP = onnx::TensorProto;
  using convc::DType;
  std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
  DType dtype;
  switch (declared == TP::BFLOAT16 ? declared : t.data_type()) {
  case TP::FLOAT: dtype = DType::F32; break;
  case TP::DOUBLE: dtype = DType::F64; break;
  case TP::FLOAT16: dtype = DType::F16; break;
  case TP::BFLOAT16: dtype = DType::BF16; break;
  case TP::INT32: dtype = DType::I32; break;
  case TP::INT8: dtype = DType::I8; break;
  case TP::UINT8: dtype = DType::U8; break;
  case TP::BOOL: dtype = DType::Bool; break;
  default: dtype = DType::I64; break;
  }
  convc::Tensor out = convc::Tensor::zeros(dtype, shape);
  size_t n = out.numElements(), size = convc::dtypeSize(dtype);
  auto *bytes = static_cast<unsigned char *>(out.data());
  if (t.has_raw_data()) {
    std::memcpy(bytes, t.raw_data().data(),
                std::min(out.numBytes(), t.raw_data().size()));
    return out;
  }
  // Typed fields: narrow ints, bool and half floats (their bits) live in
  // int32_data, little-endian on every machine this runs on.
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::F32 && int(i) < t.float_data_size())
      out.data<float>()[i] = t.float_data(i);
    else if (dtype == DType::F64 && int(i) < t.double_data_size())
      out.data<double>()[i] = t.double_data(i);
    else if (dtype == DType::I64 && int(i) < t.int64_data_size())
      out.data<int64_t>()[i] = t.int64_data(i);
    else if (int(i) < t.int32_data_size()) {
      int32_t v = t.int32_data(i);
      std::memcpy(bytes + i * size, &v, size);
    }
  }
  return out;
}

/// Element `i` of `t` as a double.
double element(const convc::Tensor &t, int64_t i) {
  using convc::DType;
  const auto *bytes = static_cast<const unsigned char *>(t.data());
  switch (t.dtype()) {
  case DType::F32: return t.data<float>()[i];
  case DType::F64: return t.data<double>()[i];
  case DType::I64: return double(t.data<int64_t>()[i]);
  case DType::I32: return t.data<int32_t>()[i];
  case DType::I8: return int8_t(bytes[i]);
  case DType::U8: return bytes[i];
  case DType::Bool: return bytes[i] != 0;
  case DType::F16:
  case DType::BF16: {
    convc::Tensor wide = convc::convertTensor(t, DType::F32);
    return wide.data<float>()[i];
  }
  }
  return 0;
}

/// A test directory, and whether its dims are made symbolic.
using Case = std::tuple<std::string, bool>;
class BackendNode : public ::testing::TestWithParam<Case> {};

TEST_P(BackendNode, MatchesExpectedOutputs) {
  auto [name, dynamic] = GetParam();
  fs::path dir = fs::path(kData) / name;
  onnx::ModelProto model;
  ASSERT_TRUE(readProto(dir / "model.onnx", model));
  std::string lib = ::testing::TempDir() + "/onnx_" + name +
                    (dynamic ? "_dynamic" : "") + ".so";
  std::string log = lib + ".log";
  auto compile = [&](const fs::path &modelPath) {
    // CONVC_BACKEND_COMPILE_FLAGS: --bounds-checks in the checked variant.
    const char *flags = std::getenv("CONVC_BACKEND_COMPILE_FLAGS");
    std::string command = std::string(CONVC_TOOL) + " compile --quiet " +
                          (flags ? std::string(flags) + " " : "") +
                          modelPath.string() + " -o " + lib + " 2> " + log;
    return std::system(command.c_str());
  };
  auto logText = [&] {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  if (int64_t opset = defaultOpset(model); opset < 7) {
    EXPECT_NE(compile(dir / "model.onnx"), 0);
    EXPECT_NE(logText().find("convc imports opsets 7 to"), std::string::npos)
        << logText();
    return;
  }
  if (dynamic)
    makeDimsSymbolic(*model.mutable_graph(), dir);
  fs::path modelPath = lib + ".model.onnx";
  {
    std::ofstream out(modelPath, std::ios::binary);
    ASSERT_TRUE(model.SerializeToOstream(&out));
  }
  bool supportedTypes =
      llvm::all_of(model.graph().input(), importable) &&
      llvm::all_of(model.graph().output(), importable);
  // Graph inputs that must be constant: (input position -> name).
  std::map<int, std::string> constantInputs;
  for (const auto &node : model.graph().node()) {
    const std::string &op = node.op_type();
    // The first input that must be constant (the data inputs come before).
    int first = op == "ConstantOfShape" ? 0
                : op == "Squeeze" || op == "Unsqueeze" || op == "Reshape" ||
                        op == "ReduceSum" || op == "Slice" || op == "Pad" ||
                        op == "CumSum" ||
                        op == "Expand" || op == "Split" ||
                        op == "ScatterND" || op == "Tile" || op == "Dropout"
                    ? 1
                    : -1;
    for (int k = first; k >= 0 && k < node.input_size(); ++k)
      for (int i = 0; i < model.graph().input_size(); ++i)
        if (model.graph().input(i).name() == node.input(k))
          constantInputs[i] = node.input(k);
  }
  int rc = constantInputs.empty() || !supportedTypes ? compile(modelPath) : 0;
  if (!supportedTypes) {
    // An element type convc does not import: a clean error, not a crash.
    std::string message = logText();
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(message.find("cannot cross the entry point") !=
                    std::string::npos ||
                message.find("not supported") != std::string::npos)
        << message;
    return;
  }
  if (name == "test_if") {
    // Its condition is a graph input: convc compiles the one branch a
    // constant or size condition takes, and refuses a data condition.
    EXPECT_NE(rc, 0);
    EXPECT_NE(logText().find("computed from tensor data"), std::string::npos)
        << logText();
    return;
  }
  ASSERT_EQ(rc, 0) << "compiling " << (dir / "model.onnx") << "\n"
                   << logText();
  std::string error;
  std::unique_ptr<convc::Module> module;
  if (constantInputs.empty()) {
    module = convc::Module::load(lib, error);
    ASSERT_TRUE(module) << error;
  }
  for (const auto &set : fs::directory_iterator(dir)) {
    if (!set.is_directory())
      continue;
    std::vector<convc::Tensor> inputs, outputs;
    std::vector<onnx::TensorProto> expected;
    onnx::ModelProto baked = model;
    baked.mutable_graph()->clear_input();
    for (int i = 0;; ++i) {
      onnx::TensorProto t;
      if (!readProto(set.path() / ("input_" + std::to_string(i) + ".pb"), t))
        break;
      if (auto c = constantInputs.find(i); c != constantInputs.end()) {
        t.set_name(c->second);
        *baked.mutable_graph()->add_initializer() = t;
        continue;
      }
      *baked.mutable_graph()->add_input() = model.graph().input(i);
      inputs.push_back(
          toTensor(t, model.graph().input(i).type().tensor_type().elem_type()));
    }
    if (!constantInputs.empty()) {
      fs::path bakedPath = lib + ".onnx";
      std::ofstream out(bakedPath, std::ios::binary);
      ASSERT_TRUE(baked.SerializeToOstream(&out));
      out.close();
      if (name.rfind("test_training_dropout", 0) == 0 &&
          name.find("zero_ratio") == std::string::npos) {
        // A random mask: convc compiles inference and refuses training
        // mode with a ratio above 0.
        EXPECT_NE(compile(bakedPath), 0);
        EXPECT_NE(logText().find("training mode"), std::string::npos)
            << logText();
        continue;
      }
      ASSERT_EQ(compile(bakedPath), 0) << "compiling " << bakedPath << "\n"
                                       << logText();
      module = convc::Module::load(lib, error);
      ASSERT_TRUE(module) << error;
    }
    for (int i = 0;; ++i) {
      onnx::TensorProto t;
      if (!readProto(set.path() / ("output_" + std::to_string(i) + ".pb"), t))
        break;
      expected.push_back(t);
    }
    if (name.rfind("test_castlike_BFLOAT16_to_FLOAT", 0) == 0 ||
        name.rfind("test_castlike_FLOAT_to_BFLOAT16", 0) == 0) {
      // The data's `like` is [1] where the model declares [3, 4]: the
      // entry point refuses it, as it refuses any input of the wrong rank.
      ASSERT_FALSE(module->run("main", inputs, outputs, error));
      EXPECT_NE(error.find("expected rank 2"), std::string::npos) << error;
      continue;
    }
    ASSERT_TRUE(module->run("main", inputs, outputs, error)) << error;
    ASSERT_EQ(outputs.size(), expected.size());
    std::optional<convc::Tensor> roundedInput;
    if (name == "test_cast_FLOAT_to_BFLOAT16") {
      // The data was made by truncating to bfloat16 (onnx before 1.14);
      // convc rounds to nearest even, as IEEE, PyTorch and today's ONNX
      // reference do: the expectation is the input so rounded (by the
      // runtime's host conversion, not by compiled code).
      roundedInput = convc::convertTensor(inputs[0], convc::DType::BF16);
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      convc::Tensor want =
          roundedInput ? *roundedInput
                       : toTensor(expected[o], model.graph()
                                                   .output(o)
                                                   .type()
                                                   .tensor_type()
                                                   .elem_type());
      ASSERT_EQ(outputs[o].shape(), want.shape());
      ASSERT_EQ(outputs[o].dtype(), want.dtype());
      for (int64_t i = 0; i < want.numElements(); ++i) {
        double w = element(want, i), g = element(outputs[o], i);
        ASSERT_TRUE(g == w || std::abs(g - w) <= 1e-7 + 1e-3 * std::abs(w) ||
                    (std::isnan(g) && std::isnan(w)))
            << set.path().filename() << " output " << o << " element " << i
            << ": " << g << " vs " << w;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Onnx, BackendNode,
    ::testing::Combine(::testing::ValuesIn(claimedTests()),
                       ::testing::Bool()),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::get<0>(info.param) +
             (std::get<1>(info.param) ? "_dynamic" : "");
    });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendNode);

} // namespace
