// Compile a convc model from host code and run it: the JIT API in ~30 lines.
// usage: convc-host-example MODEL.mlir    (e.g. examples/conv_block.mlir)
#include "convc/Compiler.h"

#include <cstdio>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.mlir\n", argv[0]);
    return 2;
  }
  convc::Compiler compiler; // host CPU; compiled libraries cached on disk
  std::unique_ptr<convc::Module> model;
  if (convc::Status s = compiler.compileFile(argv[1], model); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::printf("compiled in %.3f s%s\n", compiler.lastSeconds(),
              compiler.lastWasCached() ? " (from the cache)" : "");

  // Zero inputs shaped by the signature: B = 2 and T = 16 where the sizes
  // are symbolic.
  const convc::EntryPoint &entry = model->entryPoints().front();
  std::vector<convc::Tensor> inputs, outputs;
  for (const convc::TensorSpec &spec : entry.inputs) {
    std::vector<int64_t> shape;
    for (const std::string &d : spec.dims)
      shape.push_back(std::isdigit(d[0]) ? std::stoll(d) : shape.empty() ? 2 : 16);
    inputs.push_back(convc::Tensor::zeros(spec.dtype, shape));
  }
  if (convc::Status s = model->run(entry.name, inputs, outputs); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    std::printf("%s: %zu elements\n", entry.outputs[i].describe().c_str(),
                size_t(outputs[i].numElements()));
  return 0;
}
