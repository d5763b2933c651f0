//===- ShapeFolding.cpp - shape arithmetic evaluated while importing ------===//
//
// What exporters wrap around reshapes and slices (Shape -> Gather -> Div ->
// Cast -> Unsqueeze) is folded here, so shape operands reach Reshape, Slice
// and the rest as constants. Shape of a tensor with symbolic dims keeps the
// static ones known, and the symbolic ones are tracked per element
// (GraphImporter::partialShapes) as the runtime dims they are. Each folder
// returns true when it defined the node's outputs; the op is imported as
// usual otherwise.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include "llvm/Support/MathExtras.h"

#include <numeric>

namespace convc::onnx_import {

namespace {
/// The values and shape of a compile-time int64 tensor.
bool constInts(Value v, SmallVector<int64_t> &data,
               SmallVector<int64_t> &shape) {
  std::optional<SmallVector<int64_t>> values = constantInts(v);
  if (!values)
    return false;
  data = std::move(*values);
  shape = llvm::to_vector(cast<RankedTensorType>(v.getType()).getShape());
  return true;
}

/// Row-major strides of a shape.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> st(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * shape[i + 1];
  return st;
}

/// numpy broadcasting of small constant operands, right-aligned ([[1]]
/// and a [4] vector give [1, 4]): the result's shape and, per operand, the
/// flat index each result element reads. None where the shapes do not
/// broadcast (left to the runtime import and its error) or the result is
/// not small.
struct Broadcast {
  SmallVector<int64_t> shape;
  SmallVector<SmallVector<int64_t>> from;
};
std::optional<Broadcast> broadcast(ArrayRef<SmallVector<int64_t>> shapes) {
  size_t rank = 0;
  for (const auto &s : shapes)
    rank = std::max(rank, s.size());
  Broadcast out;
  out.shape.assign(rank, 1);
  int64_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    for (const auto &s : shapes) {
      int64_t n = d + s.size() >= rank ? s[d + s.size() - rank] : 1;
      if (n != 1 && out.shape[d] != 1 && n != out.shape[d])
        return std::nullopt;
      if (n != 1)
        out.shape[d] = n;
    }
    if ((count *= out.shape[d]) > (int64_t(1) << 16))
      return std::nullopt;
  }
  SmallVector<int64_t> outStrides = stridesOf(out.shape);
  for (const auto &s : shapes) {
    SmallVector<int64_t> strides = stridesOf(s),
                         &from = out.from.emplace_back();
    for (int64_t flat = 0; flat < count; ++flat) {
      int64_t i = 0;
      for (size_t d = 0; d < rank; ++d)
        if (d + s.size() >= rank && s[d + s.size() - rank] != 1)
          i += flat / outStrides[d] % out.shape[d] *
               strides[d + s.size() - rank];
      from.push_back(i);
    }
  }
  return out;
}

/// Two int64 constant operands and their broadcast; none otherwise.
struct ConstantPair {
  SmallVector<int64_t> a, c;
  Broadcast bc;
};
std::optional<ConstantPair> broadcastConstants(ArrayRef<Value> inputs) {
  ConstantPair pair;
  SmallVector<int64_t> aShape, cShape;
  if (inputs.size() != 2 || !constInts(inputs[0], pair.a, aShape) ||
      !constInts(inputs[1], pair.c, cShape))
    return std::nullopt;
  std::optional<Broadcast> bc = broadcast({aShape, cShape});
  if (!bc)
    return std::nullopt;
  pair.bc = std::move(*bc);
  return pair;
}
} // namespace

bool GraphImporter::defineInts(const onnx::NodeProto &node, Location loc,
                               ArrayRef<int64_t> data,
                               ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  // Malformed operands (a fuzzed Gather of an empty vector, say) can leave
  // the data short of the shape: not folded then, the op imports as is.
  if (type.getNumElements() != int64_t(data.size()))
    return false;
  values[node.output(0)] = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(type, data));
  return true;
}

std::optional<SmallVector<GraphImporter::ShapeEntry>>
GraphImporter::shapeEntries(const onnx::NodeProto &node,
                            ArrayRef<Value> inputs, size_t k) {
  if (k >= inputs.size() || !inputs[k])
    return std::nullopt;
  if (auto it = partialShapes.find(node.input(k)); it != partialShapes.end())
    return it->second;
  SmallVector<int64_t> d, sh;
  if (!constInts(inputs[k], d, sh) || sh.size() > 1)
    return std::nullopt;
  SmallVector<ShapeEntry> entries;
  for (int64_t x : d)
    entries.push_back({x, Value()});
  return entries;
}

void GraphImporter::trackThrough(const onnx::NodeProto &node) {
  if (node.input().empty())
    return;
  if (auto it = partialShapes.find(node.input(0)); it != partialShapes.end())
    partialShapes[node.output(0)] = it->second;
}

namespace {

/// A layout op (Reshape, Transpose, Slice, Flatten, Squeeze, Unsqueeze) of
/// a small tracked tensor that its own fold does not track (a 2-D one:
/// torch's F.pad reorders its pads through [n, 2] views): the op's fold on
/// the entries' positions 0..n-1 says which entry lands where.
bool layoutOfTracked(GraphImporter &im, const OpEntry &entry,
                     const onnx::NodeProto &node, Location loc,
                     ArrayRef<Value> inputs) {
  if (!entry.foldShape || inputs.empty() || !inputs[0] ||
      !llvm::is_contained(
          {"Reshape", "Transpose", "Slice", "Flatten", "Squeeze", "Unsqueeze"},
          node.op_type()) ||
      im.partialShapes.count(node.output(0)))
    return false;
  auto it = im.partialShapes.find(node.input(0));
  auto type = cast<RankedTensorType>(inputs[0].getType());
  if (it == im.partialShapes.end() || !type.hasStaticShape() ||
      type.getNumElements() != int64_t(it->second.size()))
    return false;
  SmallVector<GraphImporter::ShapeEntry> entries = it->second;
  // The same node on a constant of positions, under names nothing else
  // uses.
  onnx::NodeProto probe = node;
  probe.set_input(0, node.input(0) + "\x01positions");
  probe.set_output(0, node.output(0) + "\x01positions");
  SmallVector<int64_t> iota(entries.size());
  std::iota(iota.begin(), iota.end(), 0);
  SmallVector<Value> probeInputs(inputs);
  probeInputs[0] = arith::ConstantOp::create(
      im.b, loc,
      DenseIntElementsAttr::get(
          RankedTensorType::get(type.getShape(), im.b.getI64Type()),
          ArrayRef<int64_t>(iota)));
  bool folded = entry.foldShape(im, probe, loc, probeInputs);
  Value positions = folded ? im.values[probe.output(0)] : Value();
  im.values.erase(probe.output(0));
  im.partialShapes.erase(probe.output(0));
  std::optional<SmallVector<int64_t>> order = constantInts(positions);
  if (!order)
    return false;
  SmallVector<GraphImporter::ShapeEntry> out;
  for (int64_t p : *order) {
    if (p < 0 || p >= int64_t(entries.size()))
      return false;
    out.push_back(entries[p]);
  }
  return im.defineTracked(
      node, loc, out, cast<RankedTensorType>(positions.getType()).getShape(),
      type.getElementType().isInteger(1));
}

} // namespace

namespace fold {

bool foldOnHost(GraphImporter &im, const OpEntry &entry,
                const onnx::NodeProto &node, Location loc,
                ArrayRef<Value> inputs) {
  if (!node.domain().empty())
    return false;
  if (entry.foldWeights && foldWeights(im, entry, node, loc, inputs))
    return true;
  if (hostArithmetic(im, node, loc, inputs))
    return true;
  if (entry.foldShape && entry.foldShape(im, node, loc, inputs))
    return true;
  return layoutOfTracked(im, entry, node, loc, inputs);
}

/// Shape: its static dims as constants, its symbolic ones tracked.
bool shape(GraphImporter &im, const onnx::NodeProto &node, Location loc,
           ArrayRef<Value> inputs) {
  OpBuilder &b = im.b;
  auto &values = im.values;
  auto &partialShapes = im.partialShapes;
  if (inputs.size() == 1 && inputs[0]) {
    auto type = cast<RankedTensorType>(inputs[0].getType());
    int64_t rank = type.getRank();
    int64_t start = intAttr(node, "start", 0), end = intAttr(node, "end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    SmallVector<GraphImporter::ShapeEntry> known;
    SmallVector<int64_t> data;
    SmallVector<Value> dims;
    for (int64_t i = start; i < end; ++i) {
      int64_t d = type.getDimSize(i);
      Value dim = tensor::DimOp::create(b, loc, inputs[0], i);
      known.push_back({ShapedType::isDynamic(d) ? std::nullopt
                                                : std::optional<int64_t>(d),
                       dim});
      data.push_back(d);
      dims.push_back(arith::IndexCastOp::create(b, loc, b.getI64Type(), dim));
    }
    int64_t n = int64_t(known.size());
    if (llvm::all_of(known, [](auto &k) { return k.value.has_value(); }))
      return im.defineInts(node, loc, data, {n});
    partialShapes[node.output(0)] = known;
    values[node.output(0)] = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({n}, b.getI64Type()), dims);
    return true;
  }
  return false;
}

/// Size: the product of the dims, a constant when they are static, else
/// tracked like Shape's entries.
bool size(GraphImporter &im, const onnx::NodeProto &node, Location loc,
          ArrayRef<Value> inputs) {
  if (inputs.size() != 1 || !inputs[0])
    return false;
  OpBuilder &b = im.b;
  auto type = cast<RankedTensorType>(inputs[0].getType());
  int64_t known = 1;
  Value product;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i)) {
      Value dim = tensor::DimOp::create(b, loc, inputs[0], i);
      product = product ? arith::MulIOp::create(b, loc, product, dim) : dim;
    } else if (llvm::MulOverflow(known, type.getDimSize(i), known)) {
      return false;
    }
  }
  if (!product)
    return im.defineInts(node, loc, {known}, {});
  if (known != 1)
    product = arith::MulIOp::create(
        b, loc, product, arith::ConstantIndexOp::create(b, loc, known));
  return im.defineTracked(node, loc, {{std::nullopt, product}}, {}, false);
}

/// Gather (axis 0) of a tracked or constant shape vector.
bool gather(GraphImporter &im, const onnx::NodeProto &node, Location loc,
            ArrayRef<Value> inputs) {
  OpBuilder &b = im.b;
  auto &values = im.values;
  auto &partialShapes = im.partialShapes;
  SmallVector<int64_t> a, aShape, c, cShape;
  if (inputs.size() == 2 && intAttr(node, "axis", 0) == 0 &&
      constInts(inputs[1], c, cShape)) {
    SmallVector<GraphImporter::ShapeEntry> known;
    if (auto it = partialShapes.find(node.input(0)); it != partialShapes.end())
      known = it->second;
    else if (constInts(inputs[0], a, aShape) && aShape.size() == 1)
      for (int64_t x : a)
        known.push_back({x, Value()});
    else
      return false;
    SmallVector<int64_t> out;
    SmallVector<GraphImporter::ShapeEntry> picked;
    for (int64_t i : c) {
      int64_t j = i < 0 ? i + int64_t(known.size()) : i;
      if (j < 0 || j >= int64_t(known.size()))
        return false;
      picked.push_back(known[j]);
      if (known[j].value)
        out.push_back(*known[j].value);
    }
    if (out.size() == picked.size())
      return im.defineInts(node, loc, out, cShape);
    // A symbolic dim picked: tracked, and defined from the dims themselves
    // (T - 1 and arange(T) then read tensor.dim, which the raising passes
    // can follow, instead of a runtime gather out of the shape vector).
    partialShapes[node.output(0)] = picked;
    SmallVector<Value> elements;
    for (const GraphImporter::ShapeEntry &e : picked)
      elements.push_back(
          e.value ? Value(arith::ConstantIntOp::create(b, loc, *e.value, 64))
                  : Value(arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                                     e.dim)));
    values[node.output(0)] = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get(cShape, b.getI64Type()), elements);
    return true;
  }
  return false;
}

/// Squeeze / Unsqueeze: a tracked vector passes through; constants fold.
bool squeezeUnsqueeze(GraphImporter &im, const onnx::NodeProto &node, Location loc,
                      ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  SmallVector<int64_t> a, aShape;
  im.trackThrough(node);
  if (!inputs.empty() &&
      constInts(inputs[0], a, aShape)) {
    SmallVector<int64_t> axes, axesShape;
    if (const auto *attr = findAttr(node, "axes"))
      axes.assign(attr->ints().begin(), attr->ints().end());
    else if (inputs.size() > 1 && !constInts(inputs[1], axes, axesShape))
      return false;
    int64_t outRank = op == "Unsqueeze"
                          ? int64_t(aShape.size() + axes.size())
                          : int64_t(aShape.size());
    llvm::SmallDenseSet<int64_t> set;
    for (int64_t x : axes) {
      int64_t v = x < 0 ? x + outRank : x;
      if (v < 0 || v >= outRank || !set.insert(v).second)
        return false; // out of range or repeated: the runtime import reports it
    }
    SmallVector<int64_t> shape;
    if (op == "Unsqueeze") {
      for (int64_t i = 0, j = 0; i < outRank; ++i)
        shape.push_back(set.contains(i) ? 1 : aShape[j++]);
    } else {
      for (int64_t i = 0; i < int64_t(aShape.size()); ++i)
        if (!(set.empty() ? aShape[i] == 1 : set.contains(i)))
          shape.push_back(aShape[i]);
    }
    return im.defineInts(node, loc, a, shape);
  }
  return false;
}

/// Identity: a tracked vector passes through; a constant is itself.
bool identity(GraphImporter &im, const onnx::NodeProto &node, Location loc,
              ArrayRef<Value> inputs) {
  SmallVector<int64_t> a, aShape;
  im.trackThrough(node);
  if (inputs.size() == 1 && constInts(inputs[0], a, aShape))
    return im.defineInts(node, loc, a, aShape);
  return false;
}

/// Cast to int64: as Identity (shape values are int64 already).
bool castToInt64(GraphImporter &im, const onnx::NodeProto &node, Location loc,
                 ArrayRef<Value> inputs) {
  return intAttr(node, "to", 0) == onnx::TensorProto::INT64 &&
         identity(im, node, loc, inputs);
}

/// Reshape: a tracked vector passes a 1-D target; int64 constants fold.
bool reshape(GraphImporter &im, const onnx::NodeProto &node, Location loc,
             ArrayRef<Value> inputs) {
  SmallVector<int64_t> a, aShape, c, cShape;
  // A 1-D target keeps a tracked vector's elements.
  std::optional<SmallVector<int64_t>> target =
      inputs.size() == 2 ? constantInts(inputs[1]) : std::nullopt;
  if (target && target->size() == 1)
    im.trackThrough(node);
  // Layout ops on int64 constants (F.pad's pads are computed this way).
  if (inputs.size() == 2 &&
      constInts(inputs[0], a, aShape) && constInts(inputs[1], c, cShape)) {
    int64_t total = int64_t(a.size()), known = 1, inferred = -1;
    SmallVector<int64_t> shape;
    for (auto [i, d] : llvm::enumerate(c)) {
      if (d == 0 && i < aShape.size())
        d = aShape[i];
      // Sizes below -1 or whose product overflows are no shape to fold.
      if (d < -1 || (d != -1 && llvm::MulOverflow(known, d, known)))
        return false;
      if (d == -1)
        inferred = int64_t(i);
      shape.push_back(d);
    }
    if (inferred >= 0) {
      if (known == 0 || total % known)
        return false;
      shape[inferred] = total / known;
    }
    int64_t n = 1;
    for (int64_t d : shape)
      if (llvm::MulOverflow(n, d, n))
        return false;
    if (n != total)
      return false;
    return im.defineInts(node, loc, a, shape);
  }
  return false;
}

/// Transpose of an int64 constant.
bool transpose(GraphImporter &im, const onnx::NodeProto &node, Location loc,
               ArrayRef<Value> inputs) {
  SmallVector<int64_t> a, aShape;
  if (inputs.size() == 1 &&
      constInts(inputs[0], a, aShape)) {
    int64_t rank = int64_t(aShape.size());
    SmallVector<int64_t> perm;
    if (const auto *attr = findAttr(node, "perm"))
      perm.assign(attr->ints().begin(), attr->ints().end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    llvm::SmallBitVector seen(rank);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p])
        return false; // not a permutation: the runtime import reports it
      seen.set(p);
    }
    if (int64_t(perm.size()) != rank)
      return false;
    SmallVector<int64_t> shape, inStrides = stridesOf(aShape);
    for (int64_t p : perm)
      shape.push_back(aShape[p]);
    SmallVector<int64_t> out, outStrides = stridesOf(shape);
    for (int64_t flat = 0; flat < int64_t(a.size()); ++flat) {
      int64_t src = 0;
      for (int64_t i = 0; i < rank; ++i)
        src += (flat / outStrides[i] % shape[i]) * inStrides[perm[i]];
      out.push_back(a[src]);
    }
    return im.defineInts(node, loc, out, shape);
  }
  return false;
}

/// Slice: x[a:b] of a tracked vector; any slice of an int64 constant.
bool slice(GraphImporter &im, const onnx::NodeProto &node, Location loc,
           ArrayRef<Value> inputs) {
  auto &partialShapes = im.partialShapes;
  SmallVector<int64_t> a, aShape;
  // x[a:b] of a tracked vector (a shape's trailing dims, say).
  if (inputs.size() >= 3 &&
      partialShapes.count(node.input(0))) {
    const SmallVector<GraphImporter::ShapeEntry> &known = partialShapes[node.input(0)];
    auto starts = constantInts(inputs[1]), ends = constantInts(inputs[2]);
    auto axes = inputs.size() > 3 && inputs[3] ? constantInts(inputs[3])
                                               : std::optional<SmallVector<int64_t>>(
                                                     SmallVector<int64_t>{0});
    auto steps = inputs.size() > 4 && inputs[4] ? constantInts(inputs[4])
                                                : std::optional<SmallVector<int64_t>>(
                                                      SmallVector<int64_t>{1});
    if (starts && ends && axes && steps && starts->size() == 1 &&
        ends->size() == 1 && axes->size() == 1 && (*axes)[0] == 0 &&
        steps->size() == 1 && (*steps)[0] == 1) {
      int64_t n = int64_t(known.size());
      auto clampIndex = [&](int64_t v) {
        return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n);
      };
      SmallVector<GraphImporter::ShapeEntry> picked(known.begin() + clampIndex((*starts)[0]),
                                     known.begin() +
                                         std::max(clampIndex((*starts)[0]),
                                                  clampIndex((*ends)[0])));
      if (llvm::all_of(picked, [](auto &e) { return e.value.has_value(); })) {
        SmallVector<int64_t> out;
        for (auto &e : picked)
          out.push_back(*e.value);
        return im.defineInts(node, loc, out, {int64_t(out.size())});
      }
      partialShapes[node.output(0)] = picked;
    }
  }
  if (inputs.size() >= 3 && constInts(inputs[0], a, aShape)) {
    SmallVector<int64_t> st, stS, en, enS, ax, axS, sp, spS;
    if (!constInts(inputs[1], st, stS) || !constInts(inputs[2], en, enS) ||
        (inputs.size() > 3 && inputs[3] && !constInts(inputs[3], ax, axS)) ||
        (inputs.size() > 4 && inputs[4] && !constInts(inputs[4], sp, spS)))
      return false;
    int64_t rank = int64_t(aShape.size());
    if (en.size() != st.size() || (!ax.empty() && ax.size() != st.size()) ||
        (!sp.empty() && sp.size() != st.size()))
      return false; // the runtime import reports it
    SmallVector<int64_t> first(rank, 0), step(rank, 1), shape(aShape);
    for (size_t k = 0; k < st.size(); ++k) {
      int64_t axis = ax.empty() ? int64_t(k) : ax[k];
      if (axis < 0)
        axis += rank;
      if (axis < 0 || axis >= rank)
        return false;
      int64_t n = aShape[axis], s0 = st[k], e0 = en[k],
              stp = sp.empty() ? 1 : sp[k];
      if (stp == 0)
        return false;
      s0 = s0 < 0 ? s0 + n : s0;
      e0 = e0 < 0 ? e0 + n : e0;
      // The bounds end up within [-1, n], so a step longer than n + 1
      // counts as n + 1 (the same count, and no overflow).
      int64_t span = stp > 0 ? std::min(stp, n + 1) : std::max(stp, -(n + 1));
      int64_t count;
      if (stp > 0) {
        s0 = std::clamp<int64_t>(s0, 0, n);
        e0 = std::clamp<int64_t>(e0, 0, n);
        count = std::max<int64_t>(0, (e0 - s0 + span - 1) / span);
      } else {
        // Not std::clamp: an empty dim gives bounds [0, -1].
        s0 = std::min<int64_t>(std::max<int64_t>(s0, 0), n - 1);
        e0 = std::min<int64_t>(std::max<int64_t>(e0, -1), n - 1);
        count = std::max<int64_t>(0, (s0 - e0 - span - 1) / -span);
      }
      first[axis] = s0;
      step[axis] = stp;
      shape[axis] = count;
    }
    SmallVector<int64_t> out, inStrides = stridesOf(aShape),
                              outStrides = stridesOf(shape);
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    for (int64_t flat = 0; flat < n; ++flat) {
      int64_t src = 0;
      for (int64_t i = 0; i < rank; ++i)
        src += (first[i] + (flat / outStrides[i] % shape[i]) * step[i]) *
               inStrides[i];
      out.push_back(a[src]);
    }
    return im.defineInts(node, loc, out, shape);
  }
  return false;
}

/// ConstantOfShape of a compile-time shape (the exporter's -1 handling for
/// Expand).
bool constantOfShape(GraphImporter &im, const onnx::NodeProto &node, Location loc,
                     ArrayRef<Value> inputs) {
  OpBuilder &b = im.b;
  auto &values = im.values;
  SmallVector<int64_t> a, aShape, c, cShape;
  // The exporter's -1 handling for Expand: ConstantOfShape, Equal, Where on
  // compile-time shape values.
  auto boundedShape = [](ArrayRef<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0 || d > (int64_t(1) << 31))
        return false;
      n *= d;
      if (n > (int64_t(1) << 31))
        return false;
    }
    return true;
  };
  if (inputs.size() == 1 &&
      constInts(inputs[0], a, aShape) && boundedShape(a)) {
    const auto *v = findAttr(node, "value");
    if (v && v->t().data_type() == onnx::TensorProto::INT64) {
      Value c = im.constant(v->t(), loc);
      DenseIntElementsAttr attr;
      if (!c || !matchPattern(c, m_Constant(&attr)) ||
          attr.getNumElements() != 1)
        return false;
      // A splat, as for float: the shape may promise 2^31 values.
      auto type = RankedTensorType::get(a, b.getI64Type());
      values[node.output(0)] = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, *attr.begin()));
      return true;
    }
    if (!v || v->t().data_type() == onnx::TensorProto::FLOAT) {
      Value c = v ? im.constant(v->t(), loc) : Value();
      DenseFPElementsAttr attr;
      if (v && (!c || !matchPattern(c, m_Constant(&attr)) ||
                attr.getNumElements() != 1))
        return false;
      float fill = v ? (*attr.begin()).convertToFloat() : 0.0f;
      auto type = RankedTensorType::get(a, b.getF32Type());
      values[node.output(0)] = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, fill));
      return true;
    }
    return false;
  }
  return false;
}

/// Equal of int64 constants (tracked operands are hostArithmetic's).
bool equal(GraphImporter &im, const onnx::NodeProto &node, Location loc,
           ArrayRef<Value> inputs) {
  OpBuilder &b = im.b;
  auto &values = im.values;
  std::optional<ConstantPair> pair = broadcastConstants(inputs);
  if (!pair)
    return false;
  SmallVector<bool> out;
  for (auto [i, j] : llvm::zip(pair->bc.from[0], pair->bc.from[1]))
    out.push_back(pair->a[i] == pair->c[j]);
  auto type = RankedTensorType::get(pair->bc.shape, b.getI1Type());
  values[node.output(0)] =
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, out));
  return true;
}

/// Where over shape values with a constant condition.
bool where(GraphImporter &im, const onnx::NodeProto &node, Location loc,
           ArrayRef<Value> inputs) {
  SmallVector<int64_t> a, aShape;
  if (inputs.size() == 3) {
    DenseElementsAttr cond;
    SmallVector<int64_t> y, yShape;
    if (!inputs[0] || !matchPattern(inputs[0], m_Constant(&cond)) ||
        !cond.getElementType().isInteger(1) ||
        !constInts(inputs[1], a, aShape) || !constInts(inputs[2], y, yShape))
      return false;
    SmallVector<bool> flags(cond.getValues<bool>());
    std::optional<Broadcast> bc =
        broadcast({llvm::to_vector(cond.getType().getShape()), aShape, yShape});
    if (!bc)
      return false;
    SmallVector<int64_t> out;
    for (auto [f, i, j] : llvm::zip(bc->from[0], bc->from[1], bc->from[2]))
      out.push_back(flags[f] ? a[i] : y[j]);
    SmallVector<int64_t> shape = bc->shape;
    return im.defineInts(node, loc, out, shape);
  }
  return false;
}

/// Concat (axis 0) of shape vectors: tracked when a dim is symbolic.
bool concat(GraphImporter &im, const onnx::NodeProto &node, Location loc,
            ArrayRef<Value> inputs) {
  auto &partialShapes = im.partialShapes;
  if (intAttr(node, "axis", 0) == 0 && !inputs.empty()) {
    SmallVector<GraphImporter::ShapeEntry> entries;
    bool tracked = true;
    for (auto [k, v] : llvm::enumerate(inputs)) {
      SmallVector<int64_t> d, sh;
      if (auto it = partialShapes.find(node.input(k));
          it != partialShapes.end())
        entries.append(it->second);
      else if (constInts(v, d, sh) && sh.size() <= 1)
        for (int64_t x : d)
          entries.push_back({x, Value()});
      else
        tracked = false;
    }
    if (tracked &&
        llvm::any_of(entries, [](auto &e) { return !e.value.has_value(); })) {
      partialShapes[node.output(0)] = entries;
      return false;
    }
  }
  if (intAttr(node, "axis", 0) == 0 && !inputs.empty()) {
    SmallVector<int64_t> out;
    for (Value v : inputs) {
      SmallVector<int64_t> d, sh;
      if (!constInts(v, d, sh) || sh.size() != 1)
        return false;
      out.append(d);
    }
    return im.defineInts(node, loc, out, {int64_t(out.size())});
  }
  return false;
}

/// Expand of an int64 constant to a constant shape (repeat_interleave's
/// repeat counts, exported as Expand -> Split -> Concat into a shape).
bool expand(GraphImporter &im, const onnx::NodeProto &node, Location loc,
            ArrayRef<Value> inputs) {
  SmallVector<int64_t> x, xShape, target, targetShape;
  if (inputs.size() != 2 || !constInts(inputs[0], x, xShape) ||
      !constInts(inputs[1], target, targetShape) || targetShape.size() != 1)
    return false;
  // numpy broadcasting of the two shapes, right-aligned.
  size_t rank = std::max(xShape.size(), target.size());
  SmallVector<int64_t> shape(rank, 1);
  int64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i + xShape.size() >= rank ? xShape[i + xShape.size() - rank] : 1;
    int64_t t = i + target.size() >= rank ? target[i + target.size() - rank] : 1;
    if (t < 0 || (a != t && a != 1 && t != 1))
      return false; // left to the runtime import and its error
    shape[i] = std::max(a, t);
    if ((count *= shape[i]) > (int64_t(1) << 16))
      return false; // shape values are small; bigger data stays a tensor op
  }
  SmallVector<int64_t> xStrides = stridesOf(xShape), out(count);
  SmallVector<int64_t> outStrides = stridesOf(shape);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t from = 0;
    for (size_t i = 0; i < rank; ++i) {
      int64_t j = i + xShape.size() - rank; // x's dim, when i + |x| >= rank
      if (i + xShape.size() >= rank && xShape[j] != 1)
        from += (flat / outStrides[i] % shape[i]) * xStrides[j];
    }
    out[flat] = x[from];
  }
  return im.defineInts(node, loc, out, shape);
}

/// Split (axis 0) of a 1-D int64 constant, with sizes that are constant:
/// an input (opset 13), the `split` attribute, or equal parts.
bool split(GraphImporter &im, const onnx::NodeProto &node, Location loc,
           ArrayRef<Value> inputs) {
  SmallVector<int64_t> x, xShape;
  if (inputs.empty() || !constInts(inputs[0], x, xShape) ||
      xShape.size() != 1 ||
      (intAttr(node, "axis", 0) != 0 && intAttr(node, "axis", 0) != -1))
    return false;
  int64_t parts = node.output_size();
  SmallVector<int64_t> sizes;
  if (inputs.size() > 1 && inputs[1]) {
    std::optional<SmallVector<int64_t>> given = constantInts(inputs[1]);
    if (!given)
      return false;
    sizes = *given;
  } else if (const auto *a = findAttr(node, "split")) {
    sizes.assign(a->ints().begin(), a->ints().end());
  } else {
    int64_t n = int64_t(x.size()), chunk = parts ? (n + parts - 1) / parts : 0;
    for (int64_t k = 0; k < parts; ++k)
      sizes.push_back(std::clamp<int64_t>(n - k * chunk, 0, chunk));
  }
  int64_t total = 0;
  for (int64_t sz : sizes)
    total += sz;
  if (int64_t(sizes.size()) != parts || total != int64_t(x.size()) ||
      llvm::any_of(sizes, [](int64_t sz) { return sz < 0; }))
    return false; // left to the import and its error
  int64_t offset = 0;
  for (int64_t k = 0; k < parts; ++k) {
    auto type = RankedTensorType::get({sizes[k]}, im.b.getI64Type());
    im.values[node.output(k)] = arith::ConstantOp::create(
        im.b, loc,
        DenseIntElementsAttr::get(
            type, ArrayRef<int64_t>(x).slice(offset, sizes[k])));
    offset += sizes[k];
  }
  return true;
}

/// Add/Sub/Mul/Div of int64 constants of any rank (Div by 0 is left to the
/// runtime op and its error); tracked operands are hostArithmetic's.
ShapeFoldFn arithmetic(int64_t (*fn)(int64_t, int64_t), bool isDiv) {
  return [=](GraphImporter &im, const onnx::NodeProto &node, Location loc,
             ArrayRef<Value> inputs) {
    std::optional<ConstantPair> pair = broadcastConstants(inputs);
    if (!pair)
      return false;
    SmallVector<int64_t> out;
    for (auto [i, j] : llvm::zip(pair->bc.from[0], pair->bc.from[1])) {
      if (isDiv &&
          (pair->c[j] == 0 || (pair->c[j] == -1 && pair->a[i] == INT64_MIN)))
        return false; // left to the runtime op (and its error)
      out.push_back(fn(pair->a[i], pair->c[j]));
    }
    return im.defineInts(node, loc, out, pair->bc.shape);
  };
}

} // namespace fold
} // namespace convc::onnx_import
