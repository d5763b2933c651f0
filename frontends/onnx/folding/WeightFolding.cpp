//===- WeightFolding.cpp - float32 weight computations on the host --------===//
//
// The softmax, expand and reshape that exporters put in front of a
// LightweightConv's grouped Conv, on initializers, are evaluated here, so the
// weights reach the compiler as constants and the raising patterns can read
// them. Float32 only; small ops only (2^24 elements).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace convc::onnx_import {

namespace {
constexpr int64_t kMaxElements = int64_t(1) << 24;
} // namespace

std::optional<HostTensor> hostFloat(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isF32())
    return std::nullopt;
  HostTensor t;
  t.shape = llvm::to_vector(attr.getType().getShape());
  auto values = attr.getValues<float>();
  t.data.assign(values.begin(), values.end());
  return t;
}

/// Numpy broadcasting of a and b into fn(a, b).
std::optional<HostTensor> broadcast(const HostTensor &a, const HostTensor &b,
                                    function_ref<float(float, float)> fn) {
  size_t rank = std::max(a.shape.size(), b.shape.size());
  HostTensor out;
  out.shape.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    auto dim = [&](const HostTensor &t) -> int64_t {
      int64_t j = int64_t(i) - int64_t(rank - t.shape.size());
      return j < 0 ? 1 : t.shape[j];
    };
    int64_t x = dim(a), y = dim(b);
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out.shape[i] = x == 1 ? y : x; // 1 broadcasts, to 0 as well
  }
  SmallVector<int64_t> sa = a.stridesFor(out.shape), sb = b.stridesFor(out.shape);
  int64_t n = out.size();
  if (n > (int64_t(1) << 24))
    return std::nullopt; // too big to evaluate here: imported as an op
  out.data.resize(n);
  SmallVector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d)
      ia += index[d] * sa[d], ib += index[d] * sb[d];
    out.data[flat] = fn(a.data[ia], b.data[ib]);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      if (++index[d] < out.shape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

namespace fold {

bool foldWeights(GraphImporter &im, const OpEntry &entry,
                 const onnx::NodeProto &node, Location loc,
                 ArrayRef<Value> inputs) {
  if (!entry.foldWeights || inputs.empty() || node.output_size() != 1)
    return false;
  // Every operand a compile-time constant (checked before any is copied to
  // the host: a large weight times a runtime value is not folded).
  if (llvm::any_of(inputs, [](Value v) {
        return v && !matchPattern(v, m_Constant());
      }))
    return false;
  std::optional<HostTensor> x = hostFloat(inputs[0]);
  if (!x || x->size() > kMaxElements)
    return false;
  std::optional<HostTensor> out =
      entry.foldWeights(WeightFold{node, *x, inputs, im.opset});
  if (!out)
    return false;
  auto type = RankedTensorType::get(out->shape, im.b.getF32Type());
  im.values[node.output(0)] = arith::ConstantOp::create(
      im.b, loc, DenseElementsAttr::get(type, ArrayRef<float>(out->data)));
  return true;
}

std::optional<HostTensor> identityWeights(const WeightFold &w) { return w.x; }

WeightFoldFn unaryWeights(float (*fn)(float)) {
  return [fn](const WeightFold &w) -> std::optional<HostTensor> {
    HostTensor out = w.x;
    for (float &v : out.data)
      v = fn(v);
    return out;
  };
}

WeightFoldFn binaryWeights(float (*fn)(float, float)) {
  return [fn](const WeightFold &w) -> std::optional<HostTensor> {
    std::optional<HostTensor> y =
        w.inputs.size() == 2 ? hostFloat(w.inputs[1]) : std::nullopt;
    if (!y)
      return std::nullopt;
    return broadcast(w.x, *y, fn);
  };
}

/// Opset 13 semantics: along one axis, max-subtracted.
std::optional<HostTensor> softmaxWeights(const WeightFold &w) {
  const HostTensor *x = &w.x;
  int64_t rank = int64_t(x->shape.size());
  int64_t axis = intAttr(w.node, "axis", -1);
  if (w.opset < 13 || axis < -rank || axis >= rank)
    return std::nullopt;
  if (axis < 0)
    axis += rank;
  int64_t inner = 1, n = x->shape[axis];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= x->shape[d];
  std::optional<HostTensor> out = *x;
  for (int64_t outer = 0; outer < x->size() / std::max<int64_t>(n * inner, 1);
       ++outer)
    for (int64_t i = 0; i < inner; ++i) {
      float *base = out->data.data() + outer * n * inner + i;
      float m = -INFINITY;
      for (int64_t k = 0; k < n; ++k)
        m = std::max(m, base[k * inner]);
      double sum = 0;
      for (int64_t k = 0; k < n; ++k)
        sum += base[k * inner] = std::exp(base[k * inner] - m);
      for (int64_t k = 0; k < n; ++k)
        base[k * inner] = float(base[k * inner] / sum);
    }
  return out;
}

std::optional<HostTensor> expandWeights(const WeightFold &w) {
  const HostTensor *x = &w.x;
  std::optional<SmallVector<int64_t>> shape =
      w.inputs.size() == 2 ? constantInts(w.inputs[1]) : std::nullopt;
  if (!shape)
    return std::nullopt;
  HostTensor ones;
  ones.shape = *shape;
  if (llvm::any_of(ones.shape, [](int64_t d) { return d < 0; }) ||
      ones.size() > kMaxElements)
    return std::nullopt;
  ones.data.assign(ones.size(), 0.0f);
  return broadcast(*x, ones, [](float a, float) { return a; });
}

/// The data stays; only the shape changes (a result of another element
/// count is not folded: the runtime import reports it).
std::optional<HostTensor> withShape(const HostTensor &x,
                                    SmallVector<int64_t> shape) {
  HostTensor out = x;
  out.shape = std::move(shape);
  if (out.size() != x.size())
    return std::nullopt;
  return out;
}

std::optional<HostTensor> reshapeWeights(const WeightFold &w) {
  const HostTensor *x = &w.x;
  int64_t rank = int64_t(x->shape.size());
  SmallVector<int64_t> shape;
  std::optional<SmallVector<int64_t>> target =
      w.inputs.size() == 2 ? constantInts(w.inputs[1]) : std::nullopt;
  if (!target)
    return std::nullopt;
  int64_t known = 1, infer = -1;
  for (auto [i, d] : llvm::enumerate(*target)) {
    int64_t v = d == 0 && !intAttr(w.node, "allowzero", 0) && int64_t(i) < rank
                    ? x->shape[i]
                    : d;
    // A size below -1, or a product that overflows, is no shape to fold
    // to: the Reshape is imported as it is and refused with its node.
    if (v < -1 || (v != -1 && llvm::MulOverflow(known, v, known)))
      return std::nullopt;
    if (v == -1)
      infer = int64_t(i);
    shape.push_back(v);
  }
  if (infer >= 0)
    shape[infer] = known > 0 ? x->size() / known : 0;
  return withShape(*x, std::move(shape));
}

std::optional<HostTensor> squeezeUnsqueezeWeights(const WeightFold &w) {
  const HostTensor *x = &w.x;
  int64_t rank = int64_t(x->shape.size());
  bool unsqueeze = w.node.op_type() == "Unsqueeze";
  std::optional<SmallVector<int64_t>> axes;
  if (w.inputs.size() > 1 && w.inputs[1])
    axes = constantInts(w.inputs[1]);
  else if (const auto *a = findAttr(w.node, "axes"))
    axes = SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  else
    axes = SmallVector<int64_t>{};
  if (!axes)
    return std::nullopt;
  int64_t outRank = unsqueeze ? rank + int64_t(axes->size()) : rank;
  llvm::SmallBitVector marked(outRank);
  for (int64_t a : *axes) {
    int64_t v = a < 0 ? a + outRank : a;
    if (v < 0 || v >= outRank || marked[v])
      return std::nullopt; // out of range or repeated
    marked.set(v);
  }
  SmallVector<int64_t> shape;
  if (unsqueeze) {
    for (int64_t i = 0, j = 0; i < outRank; ++i)
      shape.push_back(marked[i] ? 1 : x->shape[j++]);
  } else {
    for (int64_t i = 0; i < rank; ++i)
      if (!(axes->empty() ? x->shape[i] == 1 : marked[i]))
        shape.push_back(x->shape[i]);
  }
  return withShape(*x, std::move(shape));
}

std::optional<HostTensor> transposeWeights(const WeightFold &w) {
  const HostTensor *x = &w.x;
  int64_t rank = int64_t(x->shape.size());
  SmallVector<int64_t> perm;
  if (const auto *a = findAttr(w.node, "perm"))
    perm.assign(a->ints().begin(), a->ints().end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if (int64_t(perm.size()) != rank)
    return std::nullopt;
  HostTensor t;
  llvm::SmallBitVector seen(rank);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return std::nullopt; // not a permutation: the runtime import reports it
    seen.set(p);
    t.shape.push_back(x->shape[p]);
  }
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * x->shape[d + 1];
  t.data.resize(x->size());
  SmallVector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < t.size(); ++flat) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += index[d] * inStrides[perm[d]];
    t.data[flat] = x->data[from];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < t.shape[d])
        break;
      index[d] = 0;
    }
  }
  return t;
}

} // namespace fold
} // namespace convc::onnx_import
