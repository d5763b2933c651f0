//===- ModuleRunFuzzer.cpp - random shapes and indices into checked modules -===//
//
// Host ASan sees nothing inside a compiled module, so the generated code is
// fuzzed through modules compiled with `--bounds-checks` (every load, store
// and view checked; a violation aborts, which libFuzzer reports as a crash):
// each input picks a module and an entry point, a size in [1, 40] for every
// symbolic dim (now and then one input's size off its shared dim, which the
// signature check must refuse), and every input's values, integers mostly
// near the sizes (indices and token ids in and out of range) and now and
// then anywhere in int64. A call must succeed or fail with a Status; a
// crash, an abort, a hang or a host memory error (the runtime is built with
// ASan and UBSan here) is a finding. scripts/fuzz compiles the modules into
// CONVC_FUZZ_MODULES (a directory of .so files).
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

std::vector<std::unique_ptr<convc::Module>> &modules() {
  static std::vector<std::unique_ptr<convc::Module>> loaded;
  return loaded;
}

/// The fuzz input read as a stream of bytes, zeros once it runs out.
class Bytes {
public:
  Bytes(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t next32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v = v << 8 | next();
    return v;
  }
  int64_t next64() { return int64_t(uint64_t(next32()) << 32 | next32()); }

private:
  const uint8_t *data_;
  size_t size_, pos_ = 0;
};

/// An integer input's element: near the sizes mostly (indices, token ids,
/// in range or just outside), else anything.
int64_t integerValue(Bytes &in, int64_t largest) {
  uint8_t kind = in.next();
  if (kind < 200)
    return int64_t(in.next() % (2 * largest + 4)) - largest - 2;
  if (kind < 250)
    return int64_t(int8_t(in.next()));
  return in.next64();
}

void fill(convc::Tensor &t, Bytes &in, int64_t largest) {
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
    case convc::DType::F32: {
      // Small values, with an infinity or NaN now and then.
      uint8_t b = in.next();
      float v = b == 255 ? INFINITY : b == 254 ? NAN : (float(b) - 128) / 32;
      t.data<float>()[i] = v;
      break;
    }
    case convc::DType::I64:
      t.data<int64_t>()[i] = integerValue(in, largest);
      break;
    case convc::DType::I32:
      t.data<int32_t>()[i] = int32_t(integerValue(in, largest));
      break;
    default: { // the narrow types: any bit pattern but bool's
      uint8_t *p = static_cast<uint8_t *>(t.data()) + i * convc::dtypeSize(t.dtype());
      for (size_t k = 0; k < convc::dtypeSize(t.dtype()); ++k)
        p[k] = in.next();
      if (t.dtype() == convc::DType::Bool)
        *p &= 1;
    }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *dir = std::getenv("CONVC_FUZZ_MODULES");
  if (!dir) {
    std::fprintf(stderr, "convc-module-fuzz: set CONVC_FUZZ_MODULES to a "
                         "directory of modules compiled with --bounds-checks\n");
    std::exit(2);
  }
  std::vector<std::string> names;
  if (DIR *d = opendir(dir)) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0)
        names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end()); // the same order on every run
  for (const std::string &name : names) {
    std::string error;
    auto module = convc::Module::load(std::string(dir) + "/" + name, error);
    if (!module) {
      std::fprintf(stderr, "convc-module-fuzz: %s\n", error.c_str());
      std::exit(2);
    }
    module->setNumThreads(2);
    modules().push_back(std::move(module));
  }
  if (modules().empty()) {
    std::fprintf(stderr, "convc-module-fuzz: no .so in %s\n", dir);
    std::exit(2);
  }
  std::fprintf(stderr, "convc-module-fuzz: %zu modules\n", modules().size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Bytes in(data, size);
  const convc::Module &module = *modules()[in.next() % modules().size()];
  const auto &entries = module.entryPoints();
  if (entries.empty())
    return 0;
  const convc::EntryPoint &entry = entries[in.next() % entries.size()];
  // One size per symbolic dim name, shared by every input that names it.
  std::map<std::string, int64_t> sizes;
  int64_t largest = 1;
  std::vector<convc::Tensor> inputs;
  for (const convc::TensorSpec &spec : entry.inputs) {
    std::vector<int64_t> shape;
    for (const std::string &dim : spec.dims) {
      char *end = nullptr;
      long long fixed = std::strtoll(dim.c_str(), &end, 10);
      if (!dim.empty() && *end == 0) {
        shape.push_back(fixed);
        continue;
      }
      auto [it, fresh] = sizes.try_emplace(dim, 1 + in.next() % 40);
      int64_t s = it->second;
      if (!fresh && in.next() == 255)
        s = 1 + in.next() % 40; // off its shared dim: refused, not run
      shape.push_back(s);
    }
    for (int64_t s : shape)
      largest = std::max(largest, s);
    inputs.push_back(convc::Tensor::zeros(spec.dtype, shape));
  }
  for (convc::Tensor &t : inputs)
    fill(t, in, largest);
  std::vector<convc::Tensor> outputs;
  (void)module.run(entry.name, inputs, outputs); // an error Status is fine
  return 0;
}
