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
// starts/ends/axes/steps, Pad's pads, Split's sizes, ScatterND's indices:
// it compiles shapes
// statically, as exporters emit them) are graph inputs in these tests; the
// test bakes each data set's value into the model as an initializer before
// compiling, and feeds the remaining inputs.
//
// The runtime passes float32 and int64 tensors, so bool graph inputs and
// outputs (comparisons, Not/And/Or/Xor, Where's condition) cross the graph
// boundary as int64: the test adds a Cast to bool after such an input and a
// Cast to int64 before such an output; the op under test still runs on bool.
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

/// The element types convc imports.
bool importable(const onnx::ValueInfoProto &v) {
  int type = v.type().tensor_type().elem_type();
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::INT64;
}

bool isBool(const onnx::ValueInfoProto &v) {
  return v.type().tensor_type().elem_type() == onnx::TensorProto::BOOL;
}

/// Bool graph inputs and outputs become int64 ones with Casts inside.
void castBoolBoundaries(onnx::GraphProto &graph) {
  auto cast = [](const std::string &from, const std::string &to, int type) {
    onnx::NodeProto node;
    node.set_op_type("Cast");
    node.set_name("harness_cast_" + to);
    node.add_input(from);
    node.add_output(to);
    onnx::AttributeProto *attr = node.add_attribute();
    attr->set_name("to");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(type);
    return node;
  };
  std::vector<onnx::NodeProto> before, after;
  for (auto &input : *graph.mutable_input())
    if (isBool(input)) {
      std::string name = input.name();
      input.set_name(name + "_i64");
      input.mutable_type()->mutable_tensor_type()->set_elem_type(
          onnx::TensorProto::INT64);
      before.push_back(cast(input.name(), name, onnx::TensorProto::BOOL));
    }
  for (auto &output : *graph.mutable_output())
    if (isBool(output)) {
      std::string name = output.name();
      output.set_name(name + "_i64");
      output.mutable_type()->mutable_tensor_type()->set_elem_type(
          onnx::TensorProto::INT64);
      after.push_back(cast(name, output.name(), onnx::TensorProto::INT64));
    }
  if (before.empty() && after.empty())
    return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto &n : before)
    *nodes.Add() = n;
  for (auto &n : graph.node())
    *nodes.Add() = n;
  for (auto &n : after)
    *nodes.Add() = n;
  graph.mutable_node()->Swap(&nodes);
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

convc::Tensor toTensor(const onnx::TensorProto &t) {
  std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
  bool f32 = t.data_type() == onnx::TensorProto::FLOAT;
  convc::Tensor out = convc::Tensor::zeros(
      f32 ? convc::DType::F32 : convc::DType::I64, shape);
  size_t n = out.numElements();
  if (t.data_type() == onnx::TensorProto::BOOL) { // as int64 (see above)
    for (size_t i = 0; i < n; ++i)
      out.data<int64_t>()[i] =
          t.has_raw_data() ? t.raw_data().at(i) != 0 : t.int32_data(i) != 0;
    return out;
  }
  if (t.has_raw_data())
    std::memcpy(out.data(), t.raw_data().data(),
                std::min(out.numBytes(), t.raw_data().size()));
  else if (f32)
    for (size_t i = 0; i < n && int(i) < t.float_data_size(); ++i)
      out.data<float>()[i] = t.float_data(i);
  else
    for (size_t i = 0; i < n && int(i) < t.int64_data_size(); ++i)
      out.data<int64_t>()[i] = t.int64_data(i);
  return out;
}

class BackendNode : public ::testing::TestWithParam<std::string> {};

TEST_P(BackendNode, MatchesExpectedOutputs) {
  fs::path dir = fs::path(kData) / GetParam();
  onnx::ModelProto model;
  ASSERT_TRUE(readProto(dir / "model.onnx", model));
  std::string lib = ::testing::TempDir() + "/onnx_" + GetParam() + ".so";
  std::string log = lib + ".log";
  auto compile = [&](const fs::path &modelPath) {
    std::string command = std::string(CONVC_TOOL) + " compile --quiet " +
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
  castBoolBoundaries(*model.mutable_graph());
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
                        op == "Expand" || op == "Split" ||
                        op == "ScatterND"
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
    EXPECT_NE(message.find("not supported"), std::string::npos)
        << message;
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
      inputs.push_back(toTensor(t));
    }
    if (!constantInputs.empty()) {
      fs::path bakedPath = lib + ".onnx";
      std::ofstream out(bakedPath, std::ios::binary);
      ASSERT_TRUE(baked.SerializeToOstream(&out));
      out.close();
      ASSERT_EQ(compile(bakedPath), 0) << "compiling " << bakedPath;
      module = convc::Module::load(lib, error);
      ASSERT_TRUE(module) << error;
    }
    for (int i = 0;; ++i) {
      onnx::TensorProto t;
      if (!readProto(set.path() / ("output_" + std::to_string(i) + ".pb"), t))
        break;
      expected.push_back(t);
    }
    ASSERT_TRUE(module->run("main", inputs, outputs, error)) << error;
    ASSERT_EQ(outputs.size(), expected.size());
    for (size_t o = 0; o < outputs.size(); ++o) {
      convc::Tensor want = toTensor(expected[o]);
      ASSERT_EQ(outputs[o].shape(), want.shape());
      for (int64_t i = 0; i < want.numElements(); ++i) {
        double w = want.dtype() == convc::DType::F32
                       ? want.data<float>()[i]
                       : double(want.data<int64_t>()[i]);
        double g = outputs[o].dtype() == convc::DType::F32
                       ? outputs[o].data<float>()[i]
                       : double(outputs[o].data<int64_t>()[i]);
        ASSERT_LE(std::abs(g - w), 1e-7 + 1e-3 * std::abs(w))
            << set.path().filename() << " output " << o << " element " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Onnx, BackendNode, ::testing::ValuesIn(claimedTests()),
    [](const ::testing::TestParamInfo<std::string> &info) {
      return info.param;
    });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendNode);

} // namespace
