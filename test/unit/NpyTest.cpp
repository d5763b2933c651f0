//===- NpyTest.cpp - .npy round trips and malformed files -----------------===//

#include "convc/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace convc;

namespace {
std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + name;
}
} // namespace

TEST(Npy, RoundTripsEveryDType) {
  for (NpyDType dtype :
       {NpyDType::F32, NpyDType::F64, NpyDType::I32, NpyDType::I64}) {
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
}
