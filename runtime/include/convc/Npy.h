//===- Npy.h - reading and writing NumPy .npy files ------------*- C++ -*-===//
//
// The tensor file format of `convc run` and of the cross-checks against
// PyTorch. Little-endian, C order; float32/float64/int32/int64/float16.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_NPY_H
#define CONVC_NPY_H

#include "convc/Runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace convc {

enum class NpyDType { F32, F64, I32, I64, F16, I8, U8, Bool };

/// Size in bytes and the NumPy descriptor ("<f4", ...) of a dtype.
size_t npyElementSize(NpyDType dtype);
const char *npyDescriptor(NpyDType dtype);

struct NpyArray {
  NpyDType dtype = NpyDType::F32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes; // numElements() * element size, C order

  int64_t numElements() const;
  /// Every element converted to double (int64 above 2^53 loses precision).
  std::vector<double> toDoubles() const;
  static NpyArray fromDoubles(NpyDType dtype, std::vector<int64_t> shape,
                              const std::vector<double> &values);
};

/// Reads `path`; on failure returns false and sets `error` to a sentence that
/// names the file and what is wrong with it.
bool readNpy(const std::string &path, NpyArray &array, std::string &error);
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

/// A runtime tensor holding a copy of `array`.
bool tensorFromNpy(const NpyArray &array, Tensor &tensor, std::string &error);

} // namespace convc

#endif // CONVC_NPY_H
