//===- CApi.cpp - the C API over the C++ runtime --------------------------===//

#include "convc/convc_c_api.h"

#include "convc/Runtime.h"

#include <new>
#include <string>

using namespace convc;

struct convc_status {
  convc_status_code code;
  std::string message;
};

struct convc_tensor {
  Tensor tensor;
};

struct convc_module {
  std::unique_ptr<Module> module;
  // Descriptions handed out by convc_module_describe_arg.
  std::vector<std::vector<std::string>> inputs, outputs;
};

namespace {

convc_status *makeStatus(convc_status_code code, std::string message) {
  return new (std::nothrow) convc_status{code, std::move(message)};
}

convc_status *fromStatus(const Status &status) {
  if (status.ok())
    return nullptr;
  return makeStatus(static_cast<convc_status_code>(status.code()),
                    status.message());
}

} // namespace

extern "C" {

convc_status_code convc_status_get_code(const convc_status *status) {
  return status ? status->code : CONVC_OK;
}

const char *convc_status_get_message(const convc_status *status) {
  return status ? status->message.c_str() : "";
}

void convc_status_free(convc_status *status) { delete status; }

static convc_status *makeTensor(convc_dtype dtype, const int64_t *shape,
                                size_t rank, void *data,
                                convc_tensor **tensor) {
  if (!tensor || (rank && !shape))
    return makeStatus(CONVC_INVALID_ARGUMENT, "null shape or tensor pointer");
  if (dtype < CONVC_F32 || dtype > CONVC_BOOL)
    return makeStatus(CONVC_INVALID_ARGUMENT,
                      "unknown dtype " + std::to_string(int(dtype)));
  std::vector<int64_t> dims(shape, shape + rank);
  for (int64_t d : dims)
    if (d < 0)
      return makeStatus(CONVC_INVALID_ARGUMENT,
                        "negative dimension " + std::to_string(d));
  size_t bytes;
  if (!checkedNumBytes(DType(dtype), dims, bytes))
    return makeStatus(CONVC_INVALID_ARGUMENT, "tensor too large");
  auto *t = new (std::nothrow) convc_tensor;
  if (!t)
    return makeStatus(CONVC_INTERNAL, "out of memory");
  t->tensor = data ? Tensor::borrow(DType(dtype), dims, data)
                   : Tensor::zeros(DType(dtype), dims);
  if (!t->tensor.data() && bytes > 0) {
    delete t;
    return makeStatus(CONVC_INTERNAL, "out of memory");
  }
  *tensor = t;
  return nullptr;
}

convc_status *convc_tensor_create(convc_dtype dtype, const int64_t *shape,
                                  size_t rank, convc_tensor **tensor) {
  return makeTensor(dtype, shape, rank, nullptr, tensor);
}

convc_status *convc_tensor_wrap(convc_dtype dtype, const int64_t *shape,
                                size_t rank, void *data,
                                convc_tensor **tensor) {
  if (!data)
    return makeStatus(CONVC_INVALID_ARGUMENT, "convc_tensor_wrap: null data");
  return makeTensor(dtype, shape, rank, data, tensor);
}

void convc_tensor_free(convc_tensor *tensor) { delete tensor; }

// The getters give a neutral value for a null handle (0, NULL, F32, CPU)
// rather than crash.
convc_dtype convc_tensor_get_dtype(const convc_tensor *tensor) {
  return tensor ? convc_dtype(tensor->tensor.dtype()) : CONVC_F32;
}
size_t convc_tensor_get_rank(const convc_tensor *tensor) {
  return tensor ? tensor->tensor.shape().size() : 0;
}
const int64_t *convc_tensor_get_shape(const convc_tensor *tensor) {
  return tensor ? tensor->tensor.shape().data() : nullptr;
}
void *convc_tensor_get_data(const convc_tensor *tensor) {
  return tensor ? tensor->tensor.data() : nullptr;
}
size_t convc_tensor_get_num_bytes(const convc_tensor *tensor) {
  return tensor ? tensor->tensor.numBytes() : 0;
}
convc_device convc_tensor_get_device(const convc_tensor *tensor) {
  return tensor && tensor->tensor.device() == Device::CUDA ? CONVC_CUDA
                                                           : CONVC_CPU;
}

convc_status *convc_tensor_wrap_device(convc_dtype dtype, const int64_t *shape,
                                       size_t rank, void *device_data,
                                       convc_tensor **tensor) {
  if (!device_data)
    return makeStatus(CONVC_INVALID_ARGUMENT,
                      "convc_tensor_wrap_device: null data");
  // The shape checks of a host tensor, without touching the data.
  if (convc_status *s = makeTensor(dtype, shape, rank, device_data, tensor))
    return s;
  Tensor &t = (*tensor)->tensor;
  t = Tensor::borrowDevice(t.dtype(), t.shape(), device_data);
  return nullptr;
}

static convc_status *copyTensor(const convc_tensor *tensor, convc_tensor **out,
                                bool toDevice) {
  if (!tensor || !out)
    return makeStatus(CONVC_INVALID_ARGUMENT, "null tensor pointer");
  Tensor copy;
  Status status = toDevice ? cudaToDevice(tensor->tensor, copy)
                           : cudaToHost(tensor->tensor, copy);
  if (!status.ok())
    return fromStatus(status);
  *out = new (std::nothrow) convc_tensor{copy};
  return *out ? nullptr : makeStatus(CONVC_INTERNAL, "out of memory");
}

convc_status *convc_tensor_to_device(const convc_tensor *tensor,
                                     convc_tensor **device) {
  return copyTensor(tensor, device, true);
}

convc_status *convc_tensor_to_host(const convc_tensor *tensor,
                                   convc_tensor **host) {
  return copyTensor(tensor, host, false);
}

convc_status *convc_module_load(const char *path, convc_module **module) {
  if (!path || !module)
    return makeStatus(CONVC_INVALID_ARGUMENT, "null path or module pointer");
  std::unique_ptr<Module> loaded;
  if (Status status = Module::load(path, loaded); !status.ok())
    return fromStatus(status);
  auto *m = new (std::nothrow) convc_module;
  if (!m)
    return makeStatus(CONVC_INTERNAL, "out of memory");
  m->module = std::move(loaded);
  for (const EntryPoint &entry : m->module->entryPoints()) {
    m->inputs.emplace_back();
    m->outputs.emplace_back();
    for (const TensorSpec &spec : entry.inputs)
      m->inputs.back().push_back(spec.describe());
    for (const TensorSpec &spec : entry.outputs)
      m->outputs.back().push_back(spec.describe());
  }
  *module = m;
  return nullptr;
}

void convc_module_free(convc_module *module) { delete module; }

convc_device convc_module_get_device(const convc_module *module) {
  return module && module->module->device() == Device::CUDA ? CONVC_CUDA
                                                            : CONVC_CPU;
}

convc_status *convc_cuda_status(void) {
  Status status = cudaStatus();
  return status.ok() ? nullptr : fromStatus(status);
}

size_t convc_module_get_num_entries(const convc_module *module) {
  return module ? module->module->entryPoints().size() : 0;
}

const char *convc_module_get_entry_name(const convc_module *module,
                                        size_t index) {
  if (!module)
    return nullptr;
  const auto &entries = module->module->entryPoints();
  return index < entries.size() ? entries[index].name.c_str() : nullptr;
}

static const EntryPoint *findEntry(const convc_module *module,
                                   const char *entry, size_t &index) {
  if (!module)
    return nullptr;
  const auto &entries = module->module->entryPoints();
  for (index = 0; entry && index < entries.size(); ++index)
    if (entries[index].name == entry)
      return &entries[index];
  return nullptr;
}

convc_status *convc_module_get_num_args(const convc_module *module,
                                        const char *entry, int is_output,
                                        size_t *count) {
  if (!module || !entry || !count)
    return makeStatus(CONVC_INVALID_ARGUMENT, "null argument");
  size_t index;
  const EntryPoint *e = findEntry(module, entry, index);
  if (!e)
    return makeStatus(CONVC_NOT_FOUND, std::string("no entry point '") +
                                           (entry ? entry : "(null)") + "'");
  *count = is_output ? e->outputs.size() : e->inputs.size();
  return nullptr;
}

const char *convc_module_describe_arg(const convc_module *module,
                                      const char *entry, int is_output,
                                      size_t index) {
  size_t e;
  if (!findEntry(module, entry, e))
    return nullptr;
  const auto &list = is_output ? module->outputs[e] : module->inputs[e];
  return index < list.size() ? list[index].c_str() : nullptr;
}

void convc_module_set_num_threads(convc_module *module, int threads) {
  if (module)
    module->module->setNumThreads(threads);
}

convc_status *convc_module_run(const convc_module *module, const char *entry,
                               const convc_tensor *const *inputs,
                               size_t num_inputs, convc_tensor **outputs,
                               size_t num_outputs) {
  return convc_module_run_on(module, entry, inputs, num_inputs, outputs,
                             num_outputs, CONVC_CPU);
}

convc_status *convc_module_run_on(const convc_module *module,
                                  const char *entry,
                                  const convc_tensor *const *inputs,
                                  size_t num_inputs, convc_tensor **outputs,
                                  size_t num_outputs, convc_device outputs_on) {
  // A failed run leaves no stale pointers in the caller's array, whatever
  // else is wrong with the call.
  for (size_t i = 0; outputs && i < num_outputs; ++i)
    outputs[i] = nullptr;
  if (!module || !entry || (num_inputs && !inputs) ||
      (num_outputs && !outputs))
    return makeStatus(CONVC_INVALID_ARGUMENT, "null argument");
  if (outputs_on != CONVC_CPU && outputs_on != CONVC_CUDA)
    return makeStatus(CONVC_INVALID_ARGUMENT,
                      "unknown device " + std::to_string(int(outputs_on)));
  std::vector<Tensor> in;
  for (size_t i = 0; i < num_inputs; ++i) {
    if (!inputs[i])
      return makeStatus(CONVC_INVALID_ARGUMENT,
                        "input " + std::to_string(i) + " is null");
    in.push_back(inputs[i]->tensor);
  }
  size_t index;
  const EntryPoint *e = findEntry(module, entry, index);
  if (e && num_outputs != e->outputs.size())
    return makeStatus(CONVC_INVALID_ARGUMENT,
                      "entry '" + e->name + "' has " +
                          std::to_string(e->outputs.size()) +
                          " outputs, room for " + std::to_string(num_outputs) +
                          " given");
  std::vector<Tensor> out;
  RunOptions options;
  options.outputs = outputs_on == CONVC_CUDA ? Device::CUDA : Device::CPU;
  if (Status status = module->module->run(entry, in, out, options);
      !status.ok())
    return fromStatus(status);
  for (size_t i = 0; i < out.size(); ++i) {
    outputs[i] = new (std::nothrow) convc_tensor{out[i]};
    if (!outputs[i]) {
      for (size_t j = 0; j < i; ++j)
        delete outputs[j], outputs[j] = nullptr;
      return makeStatus(CONVC_INTERNAL, "out of memory");
    }
  }
  return nullptr;
}

} // extern "C"
