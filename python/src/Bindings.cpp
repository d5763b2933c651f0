//===- Bindings.cpp - the convc Python module's native part (_convc) ------===//
//
// pybind11 over the runtime (convc/Runtime.h, convc/Generate.h) and the
// in-process compiler (convc/Compiler.h). python/convc/__init__.py is the
// API users see; this file converts between numpy arrays and tensors and
// turns a failed Status into an exception: ValueError for bad arguments
// (InvalidArgument), convc.Error (a RuntimeError) otherwise.
//
// Inputs that are C-contiguous and of the entry point's dtype are passed
// to the module without a copy; outputs are numpy arrays over the buffers
// the module allocated (the array keeps them alive). On a CUDA module, an
// input may also be GPU memory (any object with __cuda_array_interface__:
// a DeviceArray, a PyTorch CUDA tensor, a CuPy array), read where it is,
// and outputs may stay on the GPU as DeviceArrays. Runs and generation
// release the GIL.
//
//===----------------------------------------------------------------------===//

#include "convc/Compiler.h"
#include "convc/Generate.h"
#include "convc/Runtime.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <stdlib.h>
#include <unistd.h>

namespace py = pybind11;
using namespace convc;

namespace {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void throwIfFailed(const Status &s) {
  if (s.ok())
    return;
  if (s.code() == StatusCode::InvalidArgument)
    throw py::value_error(s.message());
  throw Error(s.message());
}

/// numpy's dtype for a runtime dtype; bf16 has none and travels as uint16.
py::dtype numpyDType(DType d) {
  switch (d) {
  case DType::F32: return py::dtype("float32");
  case DType::F16: return py::dtype("float16");
  case DType::BF16: return py::dtype("uint16");
  case DType::F64: return py::dtype("float64");
  case DType::I32: return py::dtype("int32");
  case DType::I64: return py::dtype("int64");
  case DType::I8: return py::dtype("int8");
  case DType::U8: return py::dtype("uint8");
  case DType::Bool: return py::dtype("bool");
  }
  return py::dtype("float32");
}

/// Whether the integers of `given` keep their values as `converted` (of
/// dtype `want`): in range for an integer dtype (a round trip cannot tell:
/// uint64 2^63 wraps to int64 -2^63, which casts back to 2^63), exact for
/// a float one.
bool integersKeepValues(const py::module_ &np, const py::array &given,
                        const py::array &converted, const py::dtype &want) {
  if (want.kind() == 'f')
    return np
        .attr("array_equal")(converted.attr("astype")(given.dtype()), given)
        .cast<bool>();
  if (given.size() == 0)
    return true;
  py::object range = np.attr("iinfo")(want);
  // Python ints compare exactly; numpy compares uint64 with int64 as floats.
  py::int_ lowest(np.attr("min")(given)), highest(np.attr("max")(given));
  return !lowest.attr("__lt__")(range.attr("min")).cast<bool>() &&
         !highest.attr("__gt__")(range.attr("max")).cast<bool>();
}

py::dict describe(const TensorSpec &spec) {
  py::dict d;
  d["name"] = spec.name;
  d["dtype"] = dtypeName(spec.dtype);
  py::list dims;
  for (const std::string &dim : spec.dims) {
    char *end = nullptr;
    long long v = std::strtoll(dim.c_str(), &end, 10);
    if (!dim.empty() && *end == 0)
      dims.append(v);
    else
      dims.append(dim); // symbolic
  }
  d["dims"] = dims;
  return d;
}

/// numpy's array-interface type string of a runtime dtype ("<f4").
std::string typeString(DType d) {
  return py::str(numpyDType(d).attr("str")).cast<std::string>();
}

/// A tensor in GPU memory, for Python: it exposes
/// __cuda_array_interface__ (version 3), so PyTorch, CuPy or Numba can
/// read it without a copy, and `numpy()` copies it to the host.
struct DeviceArray {
  Tensor tensor;

  py::tuple shape() const {
    py::tuple t(tensor.shape().size());
    for (size_t i = 0; i < tensor.shape().size(); ++i)
      t[i] = tensor.shape()[i];
    return t;
  }
  std::string dtype() const { return dtypeName(tensor.dtype()); }
  py::dict interface() const {
    py::dict d;
    d["shape"] = shape();
    d["typestr"] = typeString(tensor.dtype());
    d["data"] = py::make_tuple(reinterpret_cast<uintptr_t>(tensor.data()),
                               false);
    d["strides"] = py::none();
    d["version"] = 3;
    return d;
  }
  py::array numpy() const;
};

/// The tensor of an input given as GPU memory (__cuda_array_interface__),
/// after checking its dtype and layout against `spec`.
Tensor deviceInput(const TensorSpec &spec, const py::object &given) {
  if (py::isinstance<DeviceArray>(given)) {
    const Tensor &t = given.cast<const DeviceArray &>().tensor;
    if (t.dtype() != spec.dtype)
      throw py::value_error("input '" + spec.name + "' is " +
                            dtypeName(t.dtype()) +
                            "; the entry point takes " + dtypeName(spec.dtype));
    return t;
  }
  py::dict face = given.attr("__cuda_array_interface__");
  std::string type = face["typestr"].cast<std::string>();
  if (type != typeString(spec.dtype))
    throw py::value_error("input '" + spec.name + "' is GPU memory of type '" +
                          type + "'; the entry point takes " +
                          dtypeName(spec.dtype) + " ('" +
                          typeString(spec.dtype) + "')");
  std::vector<int64_t> shape;
  for (auto d : face["shape"].cast<py::tuple>())
    shape.push_back(d.cast<int64_t>());
  if (face.contains("strides") && !face["strides"].is_none()) {
    // Only C-contiguous memory: the strides of a dense row-major layout.
    py::tuple strides = face["strides"];
    int64_t expect = int64_t(dtypeSize(spec.dtype));
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] > 1 && strides[i].cast<int64_t>() != expect)
        throw py::value_error("input '" + spec.name +
                              "' is GPU memory that is not C-contiguous "
                              "(make it contiguous first)");
      expect *= shape[i];
    }
  }
  auto data = face["data"].cast<py::tuple>()[0].cast<uintptr_t>();
  return Tensor::borrowDevice(spec.dtype, shape, reinterpret_cast<void *>(data));
}

/// `object` as the input `spec` of an entry point: a device array
/// (`__cuda_array_interface__`) as it is, a numpy array borrowed when it is
/// C-contiguous and of the spec's dtype, else converted by numpy's
/// "same_kind" rules, refusing conversions that change values. `keep` holds
/// what the tensor borrows.
Tensor hostOrDeviceInput(const TensorSpec &spec, const py::object &object,
                         std::vector<py::object> &keep) {
  if (py::hasattr(object, "__cuda_array_interface__")) {
    keep.push_back(object);
    return deviceInput(spec, object);
  }
  py::module_ np = py::module_::import("numpy");
  py::dtype want = numpyDType(spec.dtype);
  py::array given = py::reinterpret_borrow<py::object>(object);
  // Zero copy for C-contiguous arrays of the right dtype; a converted
  // copy otherwise (numpy's casting rules: "same_kind").
  py::array a = given;
  if (!given.dtype().is(want)) {
    if (!np.attr("can_cast")(given.dtype(), want, "same_kind").cast<bool>())
      throw py::value_error("input '" + spec.name + "' is " +
                            py::str(given.dtype()).cast<std::string>() +
                            "; the entry point takes " + dtypeName(spec.dtype));
    // asarray keeps a 0-d array 0-d (ascontiguousarray makes it [1]).
    // Quietly: an overflow is the ValueError below, not a warning
    // (which -W error would turn into another exception).
    py::object quiet = np.attr("errstate")(py::arg("over") = "ignore");
    quiet.attr("__enter__")();
    try {
      a = np.attr("asarray")(given, want, "C");
    } catch (...) {
      quiet.attr("__exit__")(py::none(), py::none(), py::none());
      throw;
    }
    quiet.attr("__exit__")(py::none(), py::none(), py::none());
    // Integers narrowed (int64 ids to an int32 input, uint64 to int64)
    // must keep their values: numpy's cast wraps 2^32 + 5 to 5, a wrong
    // index, and 2^63 to -2^63 (which even casts back to 2^63).
    if (!np.attr("can_cast")(given.dtype(), want, "safe").cast<bool>() &&
        given.dtype().kind() != 'f' && given.dtype().kind() != 'c' &&
        !integersKeepValues(np, given, a, want))
      throw py::value_error("input '" + spec.name + "' holds " +
                            py::str(given.dtype()).cast<std::string>() +
                            " values that " + dtypeName(spec.dtype) +
                            ", the entry point's type, cannot hold");
    // Floats narrowed (float64 to float32, float32 to float16) must
    // stay finite: 1e300 would run as inf.
    if (given.dtype().kind() == 'f' &&
        np.attr("any")(np.attr("logical_and")(
                           np.attr("isfinite")(given),
                           np.attr("logical_not")(np.attr("isfinite")(a))))
            .cast<bool>())
      throw py::value_error("input '" + spec.name + "' holds " +
                            py::str(given.dtype()).cast<std::string>() +
                            " values beyond the range of " +
                            dtypeName(spec.dtype) + ", the entry point's type");
  } else if (!(given.flags() & py::array::c_style)) {
    a = np.attr("asarray")(given, py::none(), "C");
  }
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  // Inputs are only read: read-only arrays (np.load(mmap_mode='r'),
  // np.frombuffer) are borrowed too.
  keep.push_back(a);
  return Tensor::borrow(spec.dtype, shape, const_cast<void *>(a.data()));
}

/// A loaded module and what Python calls on it.
class PyModule {
public:
  PyModule(const std::string &path, int threads) {
    std::unique_ptr<Module> m;
    throwIfFailed(Module::load(path, m));
    module_ = std::move(m);
    module_->setNumThreads(threads);
  }

  std::string device() const { return deviceName(module_->device()); }

  py::list entries() const {
    py::list out;
    for (const EntryPoint &e : module_->entryPoints()) {
      py::dict d;
      d["name"] = e.name;
      py::list in, res;
      for (const TensorSpec &s : e.inputs)
        in.append(describe(s));
      for (const TensorSpec &s : e.outputs)
        res.append(describe(s));
      d["inputs"] = in;
      d["outputs"] = res;
      out.append(d);
    }
    return out;
  }

  py::dict run(const std::string &entryName, const py::dict &arrays,
               const std::string &outputsOn) const {
    if (outputsOn != "cpu" && outputsOn != "cuda")
      throw py::value_error("outputs_on is 'cpu' or 'cuda', not '" +
                            outputsOn + "'");
    const EntryPoint *entry = module_->find(entryName);
    if (!entry) { // the runtime's message lists the entry points
      std::vector<Tensor> none;
      throw py::value_error(module_->run(entryName, {}, none).message());
    }
    std::vector<Tensor> inputs;
    std::vector<py::object> keep; // alive until the run returns
    size_t used = 0;
    // The names given that the entry point does not take ("'a', 'b'"),
    // for the errors only.
    auto unknownNames = [&] {
      std::string unknown;
      for (auto item : arrays) {
        std::string name = py::str(item.first);
        if (std::none_of(
                entry->inputs.begin(), entry->inputs.end(),
                [&](const TensorSpec &spec) { return spec.name == name; }))
          unknown += (unknown.empty() ? "'" : ", '") + name + "'";
      }
      return unknown;
    };
    for (const TensorSpec &spec : entry->inputs) {
      if (!arrays.contains(spec.name)) {
        // A misspelling, most likely: the unknown names are said too.
        std::string unknown = unknownNames();
        throw py::value_error("entry '" + entryName + "' needs the input '" +
                              spec.name + "' (" + spec.describe() + ")" +
                              (unknown.empty()
                                   ? std::string()
                                   : "; it takes no input named " + unknown));
      }
      ++used;
      inputs.push_back(
          hostOrDeviceInput(spec, arrays[spec.name.c_str()], keep));
    }
    if (used != arrays.size())
      throw py::value_error("entry '" + entryName + "' has no input named " +
                            unknownNames());
    std::vector<Tensor> outputs;
    Status status;
    {
      py::gil_scoped_release release;
      RunOptions options;
      options.outputs = outputsOn == "cuda" ? Device::CUDA : Device::CPU;
      status = module_->run(entryName, inputs, outputs, options);
    }
    throwIfFailed(status);
    py::dict result;
    for (size_t i = 0; i < outputs.size(); ++i)
      result[py::str(entry->outputs[i].name)] =
          outputs[i].device() == Device::CUDA
              ? py::cast(DeviceArray{outputs[i]})
              : py::object(toNumpy(outputs[i]));
    return result;
  }

  const Module &module() const { return *module_; }

  /// A numpy array over the tensor's buffer; the capsule owns a reference.
  static py::array toNumpy(const Tensor &t) {
    auto *owner = new Tensor(t);
    py::capsule free(owner, [](void *p) { delete static_cast<Tensor *>(p); });
    std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
    return py::array(numpyDType(t.dtype()), shape, {}, t.data(), free);
  }

private:
  std::unique_ptr<Module> module_;
};

py::array DeviceArray::numpy() const {
  Tensor host;
  Status status;
  {
    py::gil_scoped_release release;
    status = cudaToHost(tensor, host);
  }
  throwIfFailed(status);
  return PyModule::toNumpy(host);
}

GenerationOptions generationOptions(const py::dict &o) {
  GenerationOptions g;
  // A value of the wrong type (beam_size=2.0, seed=-1) is a ValueError
  // naming the option, not pybind11's "Unable to cast".
  auto get = [&](const char *key, auto &field) {
    if (!o.contains(key) || o[key].is_none())
      return;
    try {
      field = o[key].cast<std::decay_t<decltype(field)>>();
    } catch (const py::cast_error &) {
      throw py::value_error(
          std::string(key) + " cannot be " +
          py::repr(o[key]).cast<std::string>().substr(0, 80) + " (" +
          py::str(py::type::of(o[key]).attr("__name__")).cast<std::string>() +
          ")");
    }
  };
  get("beam_size", g.beam);
  get("num_hypotheses", g.numHypotheses);
  get("max_decoding_length", g.maxLength);
  get("min_decoding_length", g.minLength);
  get("length_penalty", g.lengthPenalty);
  get("sampling_topk", g.samplingTopK);
  get("sampling_topp", g.samplingTopP);
  get("sampling_temperature", g.temperature);
  get("repetition_penalty", g.repetitionPenalty);
  get("no_repeat_ngram_size", g.noRepeatNgramSize);
  get("start_token", g.startToken);
  get("eos", g.eos);
  get("pad", g.pad);
  get("max_batch_size", g.maxBatchSize);
  get("target_prefix", g.prefixes);
  if (o.contains("seed") && !o["seed"].is_none()) {
    g.hasSeed = true;
    get("seed", g.seed);
  }
  if (o.contains("batch_type")) {
    std::string type;
    get("batch_type", type);
    if (type != "examples" && type != "tokens")
      throw py::value_error("batch_type is 'examples' or 'tokens', not '" +
                            type + "'");
    g.batchType = type == "tokens" ? BatchType::Tokens : BatchType::Examples;
  }
  return g;
}

py::list pyGenerate(const PyModule &module,
                  const std::vector<std::vector<int64_t>> &sources,
                  const py::dict &options) {
  GenerationOptions g = generationOptions(options);
  // Weights given as inputs (a model compiled with --params), each as the
  // first entry point taking an input of its name reads it.
  std::vector<py::object> keep; // alive until generation returns
  if (options.contains("parameters") && !options["parameters"].is_none()) {
    for (auto [key, value] : options["parameters"].cast<py::dict>()) {
      std::string name = py::str(key);
      const TensorSpec *spec = nullptr;
      for (const EntryPoint &e : module.module().entryPoints())
        for (const TensorSpec &input : e.inputs)
          if (!spec && input.name == name)
            spec = &input;
      if (!spec)
        throw py::value_error("parameter '" + name +
                              "': no entry point of the module takes an "
                              "input of that name");
      g.parameters[name] = hostOrDeviceInput(
          *spec, py::reinterpret_borrow<py::object>(value), keep);
    }
  }
  // Ctrl-C: Python runs its signal handlers only in the main thread, and
  // only when the interpreter has control, so generation asks it (taking
  // the GIL at most every 50 ms) whether a handler raised.
  py::module_ threading = py::module_::import("threading");
  if (threading.attr("current_thread")().is(threading.attr("main_thread")())) {
    auto last = std::chrono::steady_clock::now();
    g.interrupted = [last]() mutable {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(50))
        return false;
      last = now;
      py::gil_scoped_acquire gil;
      return PyErr_CheckSignals() != 0;
    };
  }
  std::vector<std::vector<Hypothesis>> results;
  Status status;
  {
    py::gil_scoped_release release;
    status = generateNBest(module.module(), sources, g, results);
  }
  if (status.code() == StatusCode::Cancelled && PyErr_Occurred())
    throw py::error_already_set(); // the handler's exception: KeyboardInterrupt
  throwIfFailed(status);
  py::list out;
  for (const auto &list : results) {
    py::list hyps;
    for (const Hypothesis &h : list)
      hyps.append(py::make_tuple(h.tokens, h.score));
    out.append(hyps);
  }
  return out;
}

/// Compiles `path` (.mlir or .onnx; with `decoder`, an encoder.onnx +
/// decoder.onnx package) through the host API's on-disk cache; the cached
/// library's path and whether the cache served it.
/// Copies `library` to `output` through a file of its own beside it,
/// renamed over `output`: writing into the old file would change a library
/// a Module may have loaded, and each call (threads too) has its own name.
void copyLibrary(const std::string &library, const std::string &output) {
  namespace fs = std::filesystem;
  fs::path partial;
  std::error_code ec;
  for (unsigned attempt = 0; attempt < 100 && partial.empty(); ++attempt) {
    std::string name = output + ".partial-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::random_device{}());
    if (fs::copy_file(library, name, ec))
      partial = name; // copy_file refuses to overwrite: the name was free
    else if (ec != std::errc::file_exists)
      break;
  }
  if (!partial.empty())
    fs::rename(partial, output, ec);
  if (partial.empty() || ec) {
    if (!partial.empty())
      fs::remove(partial);
    PyErr_SetString(PyExc_OSError,
                    ("convc.compile: cannot write '" + output +
                     "': " + (ec ? ec.message() : "no free name"))
                        .c_str());
    throw py::error_already_set();
  }
}

/// Compiles, and returns (library, cached). With `output`, the library is
/// copied there; with the cache off and no `output`, to a new file in the
/// temporary directory (the compiler's own directory goes with it).
py::tuple pyCompile(const std::string &path, const std::string &decoder,
                    const std::string &decodeStep, const std::string &target,
                    const std::string &gpuArch, const std::string &cudaPath,
                    const std::string &cacheDir, const std::string &mcpu,
                    std::string output) {
  CompilerOptions o;
  o.decodeStep = decodeStep;
  o.mcpu = mcpu;
  o.cacheDir = cacheDir;
  if (target == "cuda") {
    o.device = Device::CUDA;
    if (!gpuArch.empty())
      o.gpuArch = gpuArch;
    if (!cudaPath.empty())
      o.cudaPath = cudaPath;
  } else if (target != "cpu") {
    throw py::value_error("target is 'cpu' or 'cuda', not '" + target + "'");
  }
  Compiler compiler(o);
  std::unique_ptr<Module> module;
  Status status;
  {
    py::gil_scoped_release release;
    status = decoder.empty() ? compiler.compileFile(path, module)
                             : compiler.compileSeq2SeqFiles(path, decoder, module);
  }
  // A CUDA library builds without a GPU; only loading it needs one.
  bool builtElsewhere = status.code() == StatusCode::Unavailable &&
                        !compiler.lastLibraryPath().empty() &&
                        std::filesystem::exists(compiler.lastLibraryPath());
  if (!builtElsewhere)
    throwIfFailed(status);
  if (output.empty() && !compiler.keepsLibraries()) {
    std::string name =
        (std::filesystem::temp_directory_path() / "convc-module-XXXXXX.so")
            .string();
    int fd = ::mkstemps(name.data(), 3);
    if (fd < 0) {
      PyErr_SetFromErrnoWithFilename(PyExc_OSError, name.c_str());
      throw py::error_already_set();
    }
    ::close(fd);
    output = name;
  }
  if (output.empty())
    return py::make_tuple(compiler.lastLibraryPath(), compiler.lastWasCached());
  copyLibrary(compiler.lastLibraryPath(), output);
  return py::make_tuple(output, compiler.lastWasCached());
}

} // namespace

PYBIND11_MODULE(_convc, m) {
  m.doc() = "convc's native part: see the convc package";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  py::class_<PyModule>(m, "Module")
      .def(py::init<const std::string &, int>(), py::arg("path"),
           py::arg("threads") = 0)
      .def_property_readonly("device", &PyModule::device)
      .def_property_readonly("entries", &PyModule::entries)
      .def("run", &PyModule::run, py::arg("entry"), py::arg("arrays"),
           py::arg("outputs_on") = "cpu");
  py::class_<DeviceArray>(m, "DeviceArray")
      .def_property_readonly("shape", &DeviceArray::shape)
      .def_property_readonly("dtype", &DeviceArray::dtype)
      .def_property_readonly("__cuda_array_interface__",
                             &DeviceArray::interface)
      .def("numpy", &DeviceArray::numpy)
      .def("__repr__", [](const DeviceArray &a) {
        return "DeviceArray(" + a.dtype() + ", " +
               py::str(a.shape()).cast<std::string>() + ")";
      });
  m.def(
      "to_device",
      [](const py::array &a) {
        py::module_ np = py::module_::import("numpy");
        py::array c = np.attr("asarray")(a, py::none(), "C");
        DType dtype;
        std::string name = py::str(c.dtype()).cast<std::string>();
        static const std::pair<const char *, DType> known[] = {
            {"float32", DType::F32}, {"float16", DType::F16},
            {"float64", DType::F64}, {"int32", DType::I32},
            {"int64", DType::I64},   {"int8", DType::I8},
            {"uint8", DType::U8},    {"bool", DType::Bool}};
        bool found = false;
        for (auto [n, d] : known)
          if (name == n)
            dtype = d, found = true;
        if (!found)
          throw py::value_error("no device tensor of dtype " + name);
        std::vector<int64_t> shape(c.shape(), c.shape() + c.ndim());
        Tensor device;
        throwIfFailed(cudaToDevice(
            Tensor::borrow(dtype, shape, const_cast<void *>(c.data())), device));
        return DeviceArray{device};
      },
      py::arg("array"));
  m.def("generate", &pyGenerate, py::arg("module"), py::arg("sources"),
        py::arg("options"));
  m.def("compile", &pyCompile, py::arg("path"), py::arg("decoder"),
        py::arg("decode_step"), py::arg("target"), py::arg("gpu_arch"),
        py::arg("cuda_path"), py::arg("cache_dir"), py::arg("mcpu"),
        py::arg("output"));
  m.def("cuda_status", [] {
    Status s = cudaStatus();
    return s.ok() ? std::string() : s.message();
  });
}
