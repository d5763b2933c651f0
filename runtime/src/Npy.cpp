//===- Npy.cpp - NumPy .npy reader and writer -----------------------------===//
//
// Format: magic "\x93NUMPY", version (1.0, 2.0 or 3.0), header length, then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (..)}
// padded so the data starts on a 64-byte boundary.
//
//===----------------------------------------------------------------------===//

#include "convc/Npy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace convc {

size_t npyElementSize(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F32:
  case NpyDType::I32:
    return 4;
  case NpyDType::F16:
    return 2;
  case NpyDType::I8:
  case NpyDType::U8:
  case NpyDType::Bool:
    return 1;
  case NpyDType::F64:
  case NpyDType::I64:
    return 8;
  }
  return 0;
}

const char *npyDescriptor(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F32:
    return "<f4";
  case NpyDType::F64:
    return "<f8";
  case NpyDType::I32:
    return "<i4";
  case NpyDType::I64:
    return "<i8";
  case NpyDType::F16:
    return "<f2";
  case NpyDType::I8:
    return "|i1";
  case NpyDType::U8:
    return "|u1";
  case NpyDType::Bool:
    return "|b1";
  }
  return "?";
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<double> NpyArray::toDoubles() const {
  int64_t n = numElements();
  std::vector<double> out(n);
  const unsigned char *p = bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDType::F32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
      break;
    }
    case NpyDType::F64:
      std::memcpy(&out[i], p + 8 * i, 8);
      break;
    case NpyDType::I32: {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
      break;
    }
    case NpyDType::I64: {
      int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = static_cast<double>(v);
      break;
    }
    case NpyDType::F16: {
      _Float16 v;
      std::memcpy(&v, p + 2 * i, 2);
      out[i] = static_cast<double>(v);
      break;
    }
    case NpyDType::I8:
      out[i] = static_cast<int8_t>(p[i]);
      break;
    case NpyDType::U8:
      out[i] = p[i];
      break;
    case NpyDType::Bool:
      out[i] = p[i] != 0;
      break;
    }
  }
  return out;
}

NpyArray NpyArray::fromDoubles(NpyDType dtype, std::vector<int64_t> shape,
                               const std::vector<double> &values) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  size_t size = npyElementSize(dtype);
  a.bytes.resize(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    unsigned char *p = a.bytes.data() + i * size;
    switch (dtype) {
    case NpyDType::F32: {
      float v = static_cast<float>(values[i]);
      std::memcpy(p, &v, 4);
      break;
    }
    case NpyDType::F64:
      std::memcpy(p, &values[i], 8);
      break;
    case NpyDType::I32: {
      int32_t v = static_cast<int32_t>(values[i]);
      std::memcpy(p, &v, 4);
      break;
    }
    case NpyDType::I64: {
      int64_t v = static_cast<int64_t>(values[i]);
      std::memcpy(p, &v, 8);
      break;
    }
    case NpyDType::F16: {
      _Float16 v = static_cast<_Float16>(values[i]);
      std::memcpy(p, &v, 2);
      break;
    }
    case NpyDType::I8:
      *p = static_cast<unsigned char>(static_cast<int8_t>(values[i]));
      break;
    case NpyDType::U8:
      *p = static_cast<unsigned char>(values[i]);
      break;
    case NpyDType::Bool:
      *p = values[i] != 0;
      break;
    }
  }
  return a;
}

namespace {

/// Finds where `key`, in either of Python's quotes, is in the header dict
/// (npos if absent); `twice` is set when it is there more than once.
size_t findKey(const std::string &header, const std::string &key, bool &twice) {
  size_t first = std::string::npos;
  twice = false;
  for (char quote : {'\'', '"'}) {
    std::string quoted = quote + key + quote;
    for (size_t pos = header.find(quoted); pos != std::string::npos;
         pos = header.find(quoted, pos + 1)) {
      if (first != std::string::npos)
        twice = true;
      first = std::min(first, pos);
    }
  }
  return first;
}

/// Finds the value text after `'key':` in the header dict; `opening` is
/// the value's first character (`(` for a tuple, a quote for a string). A
/// key given twice is malformed (NumPy's parser would take the last).
bool findValue(const std::string &header, const std::string &key,
               std::string &value, char *opening = nullptr) {
  bool twice = false;
  size_t pos = findKey(header, key, twice);
  if (pos == std::string::npos || twice)
    return false;
  pos = header.find(':', pos + key.size() + 2);
  if (pos == std::string::npos)
    return false;
  ++pos;
  while (pos < header.size() && header[pos] == ' ')
    ++pos;
  if (pos >= header.size())
    return false;
  if (opening)
    *opening = header[pos];
  if (header[pos] == '(') {
    size_t end = header.find(')', pos);
    if (end == std::string::npos)
      return false;
    value = header.substr(pos + 1, end - pos - 1);
  } else if (header[pos] == '\'' || header[pos] == '"') {
    size_t end = header.find(header[pos], pos + 1);
    if (end == std::string::npos)
      return false;
    value = header.substr(pos + 1, end - pos - 1);
  } else {
    size_t end = header.find_first_of(",}", pos);
    value = header.substr(pos, end - pos);
  }
  return true;
}

/// The dtype of a descriptor as NumPy's np.dtype(descr) reads it: a byte
/// order ('<' little, '=' native, '|' not applicable, none: native; this
/// reader runs on little-endian hosts) and a kind code ('f4', '?'), or a
/// type name ('float32'). Big-endian ('>') multi-byte data is refused.
bool parseDescriptor(std::string descr, NpyDType &dtype) {
  bool bigEndian = false;
  if (!descr.empty() && std::strchr("<=|>", descr.front())) {
    bigEndian = descr.front() == '>';
    descr.erase(0, 1);
  }
  static const struct {
    const char *code, *name;
    NpyDType dtype;
  } kTypes[] = {
      {"f4", "float32", NpyDType::F32}, {"f8", "float64", NpyDType::F64},
      {"i4", "int32", NpyDType::I32},   {"i8", "int64", NpyDType::I64},
      {"f2", "float16", NpyDType::F16}, {"i1", "int8", NpyDType::I8},
      {"u1", "uint8", NpyDType::U8},    {"b1", "bool", NpyDType::Bool}};
  for (const auto &type : kTypes) {
    if (descr != type.code && descr != type.name &&
        !(type.dtype == NpyDType::Bool && descr == "?"))
      continue;
    if (bigEndian && npyElementSize(type.dtype) > 1)
      return false;
    dtype = type.dtype;
    return true;
  }
  return false;
}
} // namespace

bool readNpy(const std::string &path, NpyArray &array, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  char magic[6];
  unsigned char version[2];
  if (!in.read(magic, 6) || std::memcmp(magic, "\x93NUMPY", 6) != 0 ||
      !in.read(reinterpret_cast<char *>(version), 2)) {
    error = "'" + path + "' is not a .npy file (bad magic)";
    return false;
  }
  uint32_t headerLen = 0;
  if (version[0] == 1) {
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char *>(len), 2)) {
      error = "'" + path + "': truncated header";
      return false;
    }
    headerLen = len[0] | (len[1] << 8);
  } else if (version[0] == 2 || version[0] == 3) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char *>(len), 4)) {
      error = "'" + path + "': truncated header";
      return false;
    }
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) |
                (static_cast<uint32_t>(len[3]) << 24);
  } else {
    error = "'" + path + "': unsupported .npy version " +
            std::to_string(version[0]);
    return false;
  }
  if (headerLen > (1u << 20)) {
    error = "'" + path + "': header too large";
    return false;
  }
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen)) {
    error = "'" + path + "': truncated header";
    return false;
  }
  std::string descr, fortran, shapeText;
  char shapeOpening = 0;
  if (!findValue(header, "descr", descr) ||
      !findValue(header, "fortran_order", fortran) ||
      !findValue(header, "shape", shapeText, &shapeOpening) ||
      shapeOpening != '(') {
    error = "'" + path + "': malformed header: " + header;
    return false;
  }
  if (fortran.rfind("False", 0) != 0) {
    error = "'" + path + "': Fortran-ordered arrays are not supported; save "
                         "with numpy.ascontiguousarray";
    return false;
  }
  if (!parseDescriptor(descr, array.dtype)) {
    error = "'" + path + "': unsupported dtype '" + descr +
            "' (supported: <f4, <f8, <i4, <i8, <f2, |i1, |u1, |b1, with '=' "
            "or no byte order too; big-endian data is not)";
    return false;
  }
  array.shape.clear();
  std::stringstream dims(shapeText);
  std::string item;
  while (std::getline(dims, item, ',')) {
    const char *blanks = " \t\r\n";
    size_t first = item.find_first_not_of(blanks);
    if (first == std::string::npos)
      continue;
    // Decimal digits only, as NumPy writes them (no 2.0, 0x2, -1), with
    // Python 2's long suffix (4L) that NumPy still reads.
    size_t last = item.find_last_not_of(blanks);
    std::string digits = item.substr(first, last - first + 1);
    if (digits.size() > 1 && (digits.back() == 'L' || digits.back() == 'l'))
      digits.pop_back();
    char *end = nullptr;
    long long d = std::strtoll(digits.c_str(), &end, 10);
    if (digits.find_first_not_of("0123456789") != std::string::npos ||
        *end != '\0' || d < 0) {
      error = "'" + path + "': bad shape (" + shapeText + ")";
      return false;
    }
    array.shape.push_back(d);
  }
  // The header's sizes are checked against the file before allocating: a
  // product that overflows, or one past the file's end, is an error.
  uint64_t bytes = npyElementSize(array.dtype);
  for (int64_t d : array.shape)
    if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes)) {
      error = "'" + path + "': shape (" + shapeText +
              ") holds more bytes than a file can";
      return false;
    }
  auto endsEarly = [&] {
    error = "'" + path + "': file ends before its " + std::to_string(bytes) +
            " data bytes";
    return false;
  };
  std::streampos start = in.tellg();
  if (start != std::streampos(-1) && in.seekg(0, std::ios::end)) {
    uint64_t available = uint64_t(in.tellg() - start);
    in.seekg(start);
    if (bytes > available)
      return endsEarly();
    array.bytes.resize(bytes);
    if (bytes && !in.read(reinterpret_cast<char *>(array.bytes.data()), bytes))
      return endsEarly();
    return true;
  }
  // A pipe (--input x=/dev/stdin) cannot seek: read in chunks, so a header
  // claiming more than arrives allocates no more than arrived.
  in.clear();
  constexpr uint64_t kChunk = 1 << 20;
  array.bytes.clear();
  while (array.bytes.size() < bytes) {
    uint64_t n = std::min<uint64_t>(kChunk, bytes - array.bytes.size());
    size_t at = array.bytes.size();
    array.bytes.resize(at + n);
    if (!in.read(reinterpret_cast<char *>(array.bytes.data()) + at, n))
      return endsEarly();
  }
  return true;
}

bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error) {
  std::string header = std::string("{'descr': '") +
                       npyDescriptor(array.dtype) +
                       "', 'fortran_order': False, 'shape': (";
  for (int64_t d : array.shape)
    header += std::to_string(d) + ", ";
  if (!array.shape.empty())
    header.pop_back(); // "(2, 3,)" and "(2,)": valid tuples either way
  header += "), }";
  // Pad with spaces and a newline so the data is 64-byte aligned.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    // errno says why (no such directory, name too long, read-only).
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  uint16_t len = static_cast<uint16_t>(header.size());
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<unsigned char>(len & 0xff),
                              static_cast<unsigned char>(len >> 8)};
  out.write(reinterpret_cast<const char *>(prefix), 10);
  out << header;
  out.write(reinterpret_cast<const char *>(array.bytes.data()),
            array.bytes.size());
  // A small file is only written when the buffer is flushed: a full disk
  // shows there, not at write().
  out.close();
  if (!out) {
    error = "error writing '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

bool tensorFromNpy(const NpyArray &array, Tensor &tensor, std::string &error) {
  DType dtype;
  switch (array.dtype) {
  case NpyDType::F32:
    dtype = DType::F32;
    break;
  case NpyDType::F64:
    dtype = DType::F64;
    break;
  case NpyDType::I32:
    dtype = DType::I32;
    break;
  case NpyDType::I64:
    dtype = DType::I64;
    break;
  case NpyDType::F16:
    dtype = DType::F16;
    break;
  case NpyDType::I8:
    dtype = DType::I8;
    break;
  case NpyDType::U8:
    dtype = DType::U8;
    break;
  case NpyDType::Bool:
    dtype = DType::Bool;
    break;
  default:
    error = "unsupported .npy dtype";
    return false;
  }
  tensor = Tensor::zeros(dtype, array.shape);
  if (!tensor.data() && tensor.numElements() > 0) {
    error = "cannot allocate the tensor";
    return false;
  }
  std::memcpy(tensor.data(), array.bytes.data(), array.bytes.size());
  return true;
}

} // namespace convc
