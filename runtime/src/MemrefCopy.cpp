//===- MemrefCopy.cpp - the copy helper compiled modules call -------------===//
//
// MLIR lowers a memref.copy between non-contiguous views to a call of
// `memrefCopy(elementSize, src, dst)` on unranked descriptors; upstream keeps
// it in libmlir_c_runner_utils, which is LLVM. The runtime provides it so that
// compiled modules need no LLVM library.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct UnrankedDescriptor {
  int64_t rank;
  void *descriptor; // {allocated, aligned, offset, sizes[rank], strides[rank]}
};

struct View {
  char *base;
  const int64_t *sizes, *strides;
};

View view(const UnrankedDescriptor *d, int64_t elementSize) {
  auto *words = static_cast<int64_t *>(d->descriptor);
  char *aligned = reinterpret_cast<char *>(words[1]);
  int64_t offset = words[2];
  return {aligned + offset * elementSize, words + 3, words + 3 + d->rank};
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
memrefCopy(int64_t elementSize, UnrankedDescriptor *src,
           UnrankedDescriptor *dst) {
  int64_t rank = src->rank;
  View s = view(src, elementSize), d = view(dst, elementSize);
  if (rank == 0) {
    std::memcpy(d.base, s.base, elementSize);
    return;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (s.sizes[i] == 0)
      return;
  // Odometer over all indices; the innermost dimension copied element-wise
  // (or at once when both sides are contiguous there).
  std::vector<int64_t> index(rank, 0);
  int64_t inner = s.sizes[rank - 1];
  bool contiguous = s.strides[rank - 1] == 1 && d.strides[rank - 1] == 1;
  while (true) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i + 1 < rank; ++i)
      so += index[i] * s.strides[i], dof += index[i] * d.strides[i];
    if (contiguous) {
      std::memcpy(d.base + dof * elementSize, s.base + so * elementSize,
                  inner * elementSize);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        std::memcpy(d.base + (dof + j * d.strides[rank - 1]) * elementSize,
                    s.base + (so + j * s.strides[rank - 1]) * elementSize,
                    elementSize);
    }
    int64_t i = rank - 2;
    for (; i >= 0; --i) {
      if (++index[i] < s.sizes[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}
