//===- LegacyForms.cpp - old opsets' attribute forms as inputs ------------===//
//
// Slice before opset 10 took `starts`, `ends` and `axes` as attributes; from
// opset 10 on they are inputs. The attributes become int64 initializers the
// node reads, so that the shape folders and the importer see one form. And
// nodes in "ai.onnx", the default domain's other name, move to "".
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/ModelRewrites.h"

#include <string>

namespace convc::onnx_import {

namespace {
void upgradeGraph(onnx::GraphProto &graph, int64_t opsetVersion) {
  for (auto &node : *graph.mutable_node()) {
    for (auto &attr : *node.mutable_attribute()) {
      if (attr.has_g())
        upgradeGraph(*attr.mutable_g(), opsetVersion);
      for (auto &g : *attr.mutable_graphs())
        upgradeGraph(g, opsetVersion);
    }
    if (node.domain() == "ai.onnx")
      node.clear_domain();
    if (!node.domain().empty() || opsetVersion >= 10)
      continue;
    if (node.op_type() != "Slice" || node.input_size() != 1 ||
        node.output_size() == 0)
      continue;
    for (const char *name : {"starts", "ends", "axes"}) {
      const onnx::AttributeProto *attr = findAttr(node, name);
      if (!attr)
        break; // starts and ends are required: the importer says so
      // Named after the node's output, which is unique in the model.
      std::string input = node.output(0) + "/convc.slice." + name;
      onnx::TensorProto *t = graph.add_initializer();
      t->set_name(input);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(attr->ints_size());
      for (int64_t v : attr->ints())
        t->add_int64_data(v);
      node.add_input(input);
    }
    auto *attrs = node.mutable_attribute();
    for (int i = attrs->size() - 1; i >= 0; --i)
      if (attrs->Get(i).name() == "starts" || attrs->Get(i).name() == "ends" ||
          attrs->Get(i).name() == "axes")
        attrs->DeleteSubrange(i, 1);
  }
}
} // namespace

void upgradeLegacyForms(onnx::ModelProto &model, int64_t opsetVersion) {
  upgradeGraph(*model.mutable_graph(), opsetVersion);
}

} // namespace convc::onnx_import
