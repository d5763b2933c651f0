//===- ExternalData.cpp - tensors stored beside the model -----------------===//
//
// ONNX keeps tensors over protobuf's 2 GiB limit (and any tensor, when the
// exporter is asked to) in files next to the model: the TensorProto names a
// `location` relative to the model's directory, an `offset` and a `length`.
// They are read into raw_data before import, each file mapped once.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelRewrites.h"

#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <memory>
#include <optional>

using namespace mlir;

namespace convc::onnx_import {

namespace {
class ExternalDataLoader {
public:
  ExternalDataLoader(StringRef modelPath, Location loc, llvm::SHA256 *contents)
      : fromBytes(modelPath.empty()), loc(loc), contents(contents) {
    directory = llvm::sys::path::parent_path(modelPath).str();
    if (directory.empty())
      directory = ".";
  }

  LogicalResult loadGraph(onnx::GraphProto &graph) {
    for (auto &t : *graph.mutable_initializer())
      if (failed(load(t)))
        return failure();
    for (auto &node : *graph.mutable_node())
      for (auto &attr : *node.mutable_attribute()) {
        if (attr.has_t() && failed(load(*attr.mutable_t())))
          return failure();
        for (auto &t : *attr.mutable_tensors())
          if (failed(load(t)))
            return failure();
        if (attr.has_g() && failed(loadGraph(*attr.mutable_g())))
          return failure();
        for (auto &g : *attr.mutable_graphs())
          if (failed(loadGraph(g)))
            return failure();
      }
    return success();
  }

private:
  LogicalResult load(onnx::TensorProto &t) {
    if (!t.has_data_location() ||
        t.data_location() != onnx::TensorProto::EXTERNAL)
      return success();
    std::string location;
    std::optional<uint64_t> offset, length;
    for (const auto &entry : t.external_data()) {
      std::optional<uint64_t> *number = entry.key() == "offset"   ? &offset
                                        : entry.key() == "length" ? &length
                                                                  : nullptr;
      if (entry.key() == "location")
        location = entry.value();
      uint64_t value;
      if (number && StringRef(entry.value()).getAsInteger(10, value))
        return error(t) << "external data " << entry.key() << " '"
                        << entry.value() << "' is not a number";
      if (number)
        *number = value;
    }
    if (location.empty())
      return error(t) << "external data names no location";
    if (fromBytes)
      return error(t) << "the data is in an external file ('" << location
                      << "'): compile the model from its file, so that "
                         "convc can find that file beside it";
    // Like onnx's checker: a path inside the model's directory.
    bool escapes = llvm::sys::path::is_absolute(location);
    for (StringRef part : llvm::make_range(llvm::sys::path::begin(location),
                                           llvm::sys::path::end(location)))
      escapes |= part == "..";
    if (escapes)
      return error(t) << "external data location '" << location
                      << "' must be a relative path inside the model's "
                         "directory";
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, location);
    // Nor through a symbolic link that leads out of it.
    llvm::SmallString<256> realDir, realFile;
    if (!llvm::sys::fs::real_path(directory, realDir) &&
        !llvm::sys::fs::real_path(path, realFile) &&
        !StringRef(realFile).starts_with((realDir + "/").str()))
      return error(t) << "external data location '" << location
                      << "' leads out of the model's directory (to '"
                      << realFile << "')";
    auto &file = files[path];
    if (!file) {
      auto mapped =
          llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
      if (!mapped)
        return error(t) << "cannot read its external data file '" << path
                        << "': " << mapped.getError().message();
      file = std::move(*mapped);
      if (contents) {
        contents->update(path);
        contents->update(file->getBuffer());
      }
    }
    uint64_t size = file->getBufferSize(), start = offset.value_or(0);
    // Without a length the tensor takes the bytes its type and dims need,
    // as ONNX Runtime reads it, not the rest of the file.
    if (!length)
      length = byteSize(t);
    if (start > size || length.value_or(0) > size - start)
      return error(t) << "external data (offset " << start << ", length "
                      << length.value_or(size - start)
                      << ") runs past the end of '" << path << "' (" << size
                      << " bytes)";
    if (contents)
      return success(); // hashing the files only: the tensor stays as is
    t.set_raw_data(file->getBufferStart() + start,
                   length.value_or(size - start));
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
    return success();
  }

  /// The bytes `t`'s type and dims take, when its elements have a size.
  static std::optional<uint64_t> byteSize(const onnx::TensorProto &t) {
    using TP = onnx::TensorProto;
    uint64_t element = 0;
    switch (t.data_type()) {
    case TP::UINT8: case TP::INT8: case TP::BOOL: element = 1; break;
    case TP::UINT16: case TP::INT16: case TP::FLOAT16: case TP::BFLOAT16:
      element = 2; break;
    case TP::FLOAT: case TP::INT32: case TP::UINT32: element = 4; break;
    case TP::INT64: case TP::UINT64: case TP::DOUBLE: case TP::COMPLEX64:
      element = 8; break;
    case TP::COMPLEX128: element = 16; break;
    default: return std::nullopt;
    }
    uint64_t bytes = element;
    for (int64_t d : t.dims()) {
      if (d < 0 || (d && bytes > UINT64_MAX / uint64_t(d)))
        return std::nullopt; // the importer names the bad dims
      bytes *= uint64_t(d);
    }
    return bytes;
  }

  InFlightDiagnostic error(const onnx::TensorProto &t) {
    return emitError(loc) << "'" << t.name() << "': ";
  }

  std::string directory;
  bool fromBytes;
  Location loc;
  llvm::SHA256 *contents;
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> files;
};
} // namespace

LogicalResult loadExternalData(onnx::ModelProto &model, StringRef modelPath,
                               Location loc, llvm::SHA256 *contents) {
  return ExternalDataLoader(modelPath, loc, contents)
      .loadGraph(*model.mutable_graph());
}

} // namespace convc::onnx_import
