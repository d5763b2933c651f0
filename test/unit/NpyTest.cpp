//===- NpyTest.cpp - .npy round trips and malformed files -----------------===//

#include "convc/Npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

using namespace convc;

namespace {
std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + name;
}

/// A version 1.0 file with header `dict` (padded to the data's 64-byte
/// boundary) and 64 zero bytes of data.
std::string withHeader(const std::string &dict) {
  std::string header = dict;
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
  std::string path = tempPath("header.npy");
  std::ofstream out(path, std::ios::binary);
  out << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 255)
      << char(header.size() >> 8) << header << std::string(64, '\0');
  return path;
}
} // namespace

TEST(Npy, RoundTripsEveryDType) {
  for (NpyDType dtype : {NpyDType::F32, NpyDType::F64, NpyDType::I32,
                         NpyDType::I64, NpyDType::F16}) {
    NpyArray a = NpyArray::fromDoubles(dtype, {2, 3}, {1, -2, 3, 4, 5, 600});
    std::string path = tempPath("roundtrip.npy"), error;
    ASSERT_TRUE(writeNpy(path, a, error)) << error;
    NpyArray b;
    ASSERT_TRUE(readNpy(path, b, error)) << error;
    EXPECT_EQ(b.dtype, dtype);
    EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(b.toDoubles(), a.toDoubles());
  }
}

TEST(Npy, ScalarAndVectorShapes) {
  std::string path = tempPath("shapes.npy"), error;
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, std::vector<int64_t>{5}}) {
    int64_t n = shape.empty() ? 1 : shape[0];
    NpyArray a =
        NpyArray::fromDoubles(NpyDType::F32, shape, std::vector<double>(n, 2));
    ASSERT_TRUE(writeNpy(path, a, error)) << error;
    NpyArray b;
    ASSERT_TRUE(readNpy(path, b, error)) << error;
    EXPECT_EQ(b.shape, shape);
    EXPECT_EQ(b.numElements(), n);
  }
}

TEST(Npy, ReportsMissingAndMalformedFiles) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(readNpy(tempPath("does-not-exist.npy"), a, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;

  std::string bad = tempPath("bad.npy");
  std::ofstream(bad) << "not numpy at all";
  EXPECT_FALSE(readNpy(bad, a, error));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;

  // A valid header that promises more data than the file holds.
  NpyArray big = NpyArray::fromDoubles(NpyDType::F64, {4}, {1, 2, 3, 4});
  std::string path = tempPath("truncated.npy");
  ASSERT_TRUE(writeNpy(path, big, error));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 8);
  EXPECT_FALSE(readNpy(path, a, error));
  EXPECT_NE(error.find("file ends before"), std::string::npos) << error;

  // Header shapes whose byte count overflows 64 bits, or is far past the
  // file's end, fail before anything is allocated (they crashed).
  for (const char *shape :
       {"(2, 4611686018427387904, 32)", "(4294967296, 4294967296, 1024)",
        "(1000000000000,)"}) {
    std::string header = std::string("{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': ") +
                         shape + ", }";
    header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
    std::string huge = tempPath("huge.npy");
    std::ofstream out(huge, std::ios::binary);
    out << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 255)
        << char(header.size() >> 8) << header << "0123";
    out.close();
    EXPECT_FALSE(readNpy(huge, a, error)) << shape;
    EXPECT_TRUE(error.find("more bytes than") != std::string::npos ||
                error.find("file ends before") != std::string::npos)
        << error;
  }
}

// Headers NumPy itself refuses or reads otherwise: a shape given as a
// string, with a float or hex size, or a key given twice (NumPy takes the
// last, which a first-match parser would not).
TEST(Npy, RefusesHeadersNumPyWouldNot) {
  NpyArray a;
  std::string error;
  const std::string prefix = "{'descr': '<f4', 'fortran_order': False, ";
  ASSERT_TRUE(readNpy(withHeader(prefix + "'shape': (2, 3), }"), a, error))
      << error;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  // Python 2's long suffix and tabs, which NumPy reads too.
  ASSERT_TRUE(readNpy(withHeader(prefix + "'shape': (2L,\t3), }"), a, error))
      << error;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  for (const char *shape :
       {"'shape': '2, 3', }", "'shape': (2.0, 3), }", "'shape': (0x2, 3), }",
        "'shape': (2, -3), }", "'shape': (2, 3), 'shape': (1, 1), }"}) {
    EXPECT_FALSE(readNpy(withHeader(prefix + shape), a, error)) << shape;
    EXPECT_TRUE(error.find("malformed header") != std::string::npos ||
                error.find("bad shape") != std::string::npos)
        << shape << ": " << error;
  }
}

// Headers NumPy reads that NumPy's own writer does not produce: keys and
// strings in double quotes, descriptors without a byte order or with '=',
// type names and '?'. Big-endian data is refused, not read as little.
TEST(Npy, ReadsHeadersOtherWritersProduce) {
  auto withDescr = [](const std::string &descr) {
    return withHeader("{'descr': '" + descr +
                      "', 'fortran_order': False, 'shape': (2, 3), }");
  };
  NpyArray a;
  std::string error;
  ASSERT_TRUE(readNpy(withHeader("{\"descr\": \"<f8\", \"fortran_order\": "
                                 "False, \"shape\": (2, 3)}"),
                      a, error))
      << error;
  EXPECT_EQ(a.dtype, NpyDType::F64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  const std::pair<const char *, NpyDType> readable[] = {
      {"f4", NpyDType::F32},      {"=f4", NpyDType::F32},
      {"float32", NpyDType::F32}, {"=i8", NpyDType::I64},
      {"int32", NpyDType::I32},   {"f2", NpyDType::F16},
      {"<i1", NpyDType::I8},      {">u1", NpyDType::U8},
      {"?", NpyDType::Bool},      {"bool", NpyDType::Bool}};
  for (auto [descr, dtype] : readable) {
    ASSERT_TRUE(readNpy(withDescr(descr), a, error)) << descr << ": " << error;
    EXPECT_EQ(a.dtype, dtype) << descr;
  }
  for (const char *descr : {">f4", ">i8", "<c8", "f3", "<U4"}) {
    EXPECT_FALSE(readNpy(withDescr(descr), a, error)) << descr;
    EXPECT_NE(error.find("unsupported dtype"), std::string::npos) << error;
  }
  // One key in both quotes is a key given twice.
  EXPECT_FALSE(readNpy(withHeader("{'descr': '<f4', \"descr\": '<f8', "
                                  "'fortran_order': False, 'shape': (2,), }"),
                       a, error));
  EXPECT_NE(error.find("malformed header"), std::string::npos) << error;
}

// A file that cannot be written says why.
TEST(Npy, WriteFailureSaysWhy) {
  NpyArray a = NpyArray::fromDoubles(NpyDType::F32, {1}, {1});
  std::string error;
  EXPECT_FALSE(writeNpy(tempPath("no-such-dir") + "/y.npy", a, error));
  EXPECT_NE(error.find("No such file or directory"), std::string::npos)
      << error;
}

// f16 files hold NumPy's float16 ('<f2'): read as an F16 tensor, bits kept.
TEST(Npy, Float16FileIsAnF16Tensor) {
  NpyArray a = NpyArray::fromDoubles(NpyDType::F16, {3}, {1.0, -0.5, 65504});
  std::string path = tempPath("half.npy"), error;
  ASSERT_TRUE(writeNpy(path, a, error)) << error;
  std::ifstream in(path, std::ios::binary);
  std::string header(64, '\0');
  in.read(header.data(), 64);
  EXPECT_NE(header.find("'descr': '<f2'"), std::string::npos) << header;
  NpyArray b;
  ASSERT_TRUE(readNpy(path, b, error)) << error;
  Tensor t;
  ASSERT_TRUE(tensorFromNpy(b, t, error)) << error;
  EXPECT_EQ(t.dtype(), DType::F16);
  EXPECT_EQ(t.data<uint16_t>()[0], 0x3C00); // 1.0
  EXPECT_EQ(t.data<uint16_t>()[1], 0xB800); // -0.5
  EXPECT_EQ(t.data<uint16_t>()[2], 0x7BFF); // 65504, the largest
}

// f32 <-> f16 / bf16 conversion: round to nearest even, exact widening,
// NaN and infinities kept; pairs without a conversion give no data.
TEST(ConvertTensor, RoundsToNearestEven) {
  Tensor f = Tensor::zeros(DType::F32, {6});
  float values[6] = {1.0f + std::ldexp(1.0f, -11),     // f16 tie: to 1.0
                     1.0f + 3 * std::ldexp(1.0f, -11), // f16 tie: up
                     1.0f + std::ldexp(1.0f, -8),      // bf16 tie: to 1.0
                     1.0f + 3 * std::ldexp(1.0f, -8),  // bf16 tie: up
                     INFINITY, NAN};
  std::memcpy(f.data(), values, sizeof(values));
  Tensor h = convertTensor(f, DType::F16), bh = convertTensor(f, DType::BF16);
  ASSERT_TRUE(h.data() && bh.data());
  Tensor hf = convertTensor(h, DType::F32), bf = convertTensor(bh, DType::F32);
  EXPECT_EQ(hf.data<float>()[0], 1.0f);
  EXPECT_EQ(hf.data<float>()[1], 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(bf.data<float>()[2], 1.0f);
  EXPECT_EQ(bf.data<float>()[3], 1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isinf(hf.data<float>()[4]) && std::isinf(bf.data<float>()[4]));
  EXPECT_TRUE(std::isnan(hf.data<float>()[5]) && std::isnan(bf.data<float>()[5]));
  EXPECT_EQ(convertTensor(f, DType::F32).data<float>()[3], values[3]);
  EXPECT_EQ(convertTensor(h, DType::BF16).data(), nullptr);
  EXPECT_EQ(convertTensor(f, DType::I64).data(), nullptr);
}
