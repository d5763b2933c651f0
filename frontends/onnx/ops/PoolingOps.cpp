//===- PoolingOps.cpp - MaxPool and AveragePool ---------------------------===//
//
// Windowed pooling over the spatial dims of [N, C, D1, ...] data, each one
// linalg.generic over (N, C, outputs..., window...): the input position of
// output o and window tap k is o * stride + k * dilation - pad_begin, read
// clamped and masked (padding never counts as a maximum; an average
// divides by the taps it covered). Registered with the convolutions
// (NNOps.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

#include <variant>

namespace convc::onnx_import {

namespace {
/// A pool's sizes per spatial dim: the input's, the begin padding and the
/// output's (index values, folded where static), and the window.
struct PoolGeometry {
  SmallVector<int64_t> kernel, strides, dilations;
  SmallVector<Value> in, padBegin, padEnd, out;
};

/// The geometry of `node` over `x`, or an error message.
std::variant<PoolGeometry, std::string>
poolGeometry(GraphImporter &im, Location loc, const onnx::NodeProto &node,
             Value x) {
  OpBuilder &b = im.b;
  int64_t spatial = cast<RankedTensorType>(x.getType()).getRank() - 2;
  PoolGeometry g;
  g.kernel = intsAttr(node, "kernel_shape", 0, 0);
  g.strides = intsAttr(node, "strides", spatial, 1);
  g.dilations = intsAttr(node, "dilations", spatial, 1);
  SmallVector<int64_t> pads = intsAttr(node, "pads", 2 * spatial, 0);
  if (int64_t(g.kernel.size()) != spatial ||
      int64_t(g.strides.size()) != spatial ||
      int64_t(g.dilations.size()) != spatial ||
      int64_t(pads.size()) != 2 * spatial)
    return std::string("kernel_shape/strides/dilations/pads do not match the "
                       "spatial rank ") +
           std::to_string(spatial);
  for (int64_t i = 0; i < spatial; ++i)
    if (g.kernel[i] < 1 || g.strides[i] < 1 || g.dilations[i] < 1 ||
        pads[i] < 0 || pads[i + spatial] < 0)
      return std::string("kernel_shape, strides and dilations must be "
                         "positive and pads not negative");
  std::string autoPad = "NOTSET";
  if (const auto *a = findAttr(node, "auto_pad"))
    autoPad = a->s();
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return "auto_pad '" + autoPad + "' is not supported";
  bool ceil = intAttr(node, "ceil_mode", 0) != 0;
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  for (int64_t i = 0; i < spatial; ++i) {
    Value in = getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, x, i + 2));
    int64_t span = g.dilations[i] * (g.kernel[i] - 1) + 1;
    Value s = idx(g.strides[i]), begin, end, out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      // out = ceil(in / s); the padding makes the last window fit.
      out = b.createOrFold<arith::CeilDivSIOp>(loc, in, s);
      Value need = b.createOrFold<arith::SubIOp>(
          loc,
          b.createOrFold<arith::AddIOp>(
              loc,
              b.createOrFold<arith::MulIOp>(
                  loc, b.createOrFold<arith::SubIOp>(loc, out, idx(1)), s),
              idx(span)),
          in);
      Value total = b.createOrFold<arith::MaxSIOp>(loc, need, idx(0));
      Value half = b.createOrFold<arith::DivSIOp>(loc, total, idx(2));
      Value rest = b.createOrFold<arith::SubIOp>(loc, total, half);
      begin = autoPad == "SAME_UPPER" ? half : rest;
      end = autoPad == "SAME_UPPER" ? rest : half;
    } else {
      bool valid = autoPad == "VALID";
      begin = idx(valid ? 0 : pads[i]);
      end = idx(valid ? 0 : pads[i + spatial]);
      Value room = b.createOrFold<arith::SubIOp>(
          loc,
          b.createOrFold<arith::AddIOp>(
              loc, in, b.createOrFold<arith::AddIOp>(loc, begin, end)),
          idx(span));
      // An input shorter than the window (a negative output size) fails
      // the call, as ONNX Runtime and PyTorch refuse it; pads of span - 1
      // or more cover any input of one element or more (span of them one
      // that may be empty, a cropped one).
      Value source;
      int64_t sourceDim;
      int64_t padTotal = (valid ? 0 : pads[i] + pads[i + spatial]) +
                         padsBefore(x, i + 2, &source, &sourceDim) -
                         (im.knownNonEmpty(source, sourceDim) ? 0 : 1);
      if (!getConstantIntValue(room) && padTotal < span - 1) {
        Value padded = b.createOrFold<arith::AddIOp>(loc, room, idx(span));
        CheckOp::create(
            b, loc,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, room,
                                  idx(0)),
            ValueRange{padded, idx(span)},
            "node '" + GraphImporter::nodeName(loc) + "': " + node.op_type() +
                " input padded to {0} in spatial dim " + std::to_string(i) +
                " is shorter than the window {1}");
      }
      out = b.createOrFold<arith::AddIOp>(
          loc,
          ceil ? b.createOrFold<arith::CeilDivSIOp>(loc, room, s)
               : b.createOrFold<arith::FloorDivSIOp>(loc, room, s),
          idx(1));
      if (ceil) {
        // The last window must start inside the input or its begin padding
        // (PyTorch's and ONNX Runtime's rule).
        Value lastStart = b.createOrFold<arith::MulIOp>(
            loc, b.createOrFold<arith::SubIOp>(loc, out, idx(1)), s);
        Value outside = b.createOrFold<arith::CmpIOp>(
            loc, arith::CmpIPredicate::sge, lastStart,
            b.createOrFold<arith::AddIOp>(loc, in, begin));
        out = b.createOrFold<arith::SelectOp>(
            loc, outside, b.createOrFold<arith::SubIOp>(loc, out, idx(1)),
            out);
      }
    }
    if (auto c = getConstantIntValue(out); c && *c < 1)
      return "output spatial size is " + std::to_string(*c) +
             " (the window is larger than the padded input)";
    g.in.push_back(in);
    g.padBegin.push_back(begin);
    g.padEnd.push_back(end);
    g.out.push_back(out);
  }
  return g;
}

/// Iterators and maps of a generic over (N, C, outputs..., window...).
struct PoolLoops {
  int64_t rank, spatial;
  MLIRContext *ctx;

  unsigned loops() const { return rank + spatial; }
  AffineMap outputMap() const {
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < rank; ++i)
      e.push_back(getAffineDimExpr(i, ctx));
    return AffineMap::get(loops(), 0, e, ctx);
  }
  AffineMap spatialOutputMap() const {
    SmallVector<AffineExpr> e;
    for (int64_t i = 2; i < rank; ++i)
      e.push_back(getAffineDimExpr(i, ctx));
    return AffineMap::get(loops(), 0, e, ctx);
  }
  AffineMap windowMap() const {
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < spatial; ++i)
      e.push_back(getAffineDimExpr(rank + i, ctx));
    return AffineMap::get(loops(), 0, e, ctx);
  }
  SmallVector<utils::IteratorType> iterators() const {
    SmallVector<utils::IteratorType> it(rank, utils::IteratorType::parallel);
    it.append(spatial, utils::IteratorType::reduction);
    return it;
  }
};

/// Per spatial dim, the input position of the current (output, tap) pair.
SmallVector<Value> inputPositions(OpBuilder &b, Location l,
                                  const PoolGeometry &g, int64_t rank) {
  int64_t spatial = g.kernel.size();
  SmallVector<Value> at;
  for (int64_t i = 0; i < spatial; ++i) {
    Value o = linalg::IndexOp::create(b, l, 2 + i);
    Value k = linalg::IndexOp::create(b, l, rank + i);
    Value p = arith::AddIOp::create(
        b, l,
        arith::MulIOp::create(b, l, o,
                              arith::ConstantIndexOp::create(b, l, g.strides[i])),
        arith::MulIOp::create(
            b, l, k, arith::ConstantIndexOp::create(b, l, g.dilations[i])));
    at.push_back(arith::SubIOp::create(b, l, p, g.padBegin[i]));
  }
  return at;
}

/// Whether every position lies in [lo_i, hi_i).
Value within(OpBuilder &b, Location l, ArrayRef<Value> at, ArrayRef<Value> lo,
             ArrayRef<Value> hi) {
  Value all = arith::ConstantIntOp::create(b, l, 1, 1);
  for (auto [p, a, z] : llvm::zip(at, lo, hi)) {
    all = arith::AndIOp::create(
        b, l, all, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, p, a));
    all = arith::AndIOp::create(
        b, l, all, arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, p, z));
  }
  return all;
}

/// The body of a pooling reduction: (the tap's value, whether it lies in
/// the input, extra operands, acc) -> acc.
using PoolBody =
    function_ref<Value(OpBuilder &, Location, Value, Value, ValueRange, Value)>;

/// A reduction over the window into `init` ([N, C, outputs...]); `extra`
/// operands are read through `extraMap`.
Value poolReduce(OpBuilder &b, Location loc, Value x, const PoolGeometry &g,
                 Value init, ValueRange extra, AffineMap extraMap,
                 PoolBody body) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  PoolLoops loops{rank, rank - 2, b.getContext()};
  // The window's extent as an operand (its values unused).
  Value window = tensor::EmptyOp::create(b, loc, g.kernel, b.getF32Type());
  SmallVector<Value> ins = {window};
  llvm::append_range(ins, extra);
  SmallVector<AffineMap> maps = {loops.windowMap()};
  maps.append(extra.size(), extraMap);
  maps.push_back(loops.outputMap());
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
             loops.iterators(),
             [&](OpBuilder &nb, Location l, ValueRange a) {
               SmallVector<Value> at = inputPositions(nb, l, g, rank);
               Value zero = arith::ConstantIndexOp::create(nb, l, 0);
               Value one = arith::ConstantIndexOp::create(nb, l, 1);
               SmallVector<Value> zeros(rank - 2, zero);
               Value valid = within(nb, l, at, zeros, g.in);
               SmallVector<Value> clamped = {linalg::IndexOp::create(nb, l, 0),
                                             linalg::IndexOp::create(nb, l, 1)};
               for (auto [p, n] : llvm::zip(at, g.in))
                 clamped.push_back(arith::MinSIOp::create(
                     nb, l, arith::MaxSIOp::create(nb, l, p, zero).getResult(),
                     arith::SubIOp::create(nb, l, n, one)));
               Value v = tensor::ExtractOp::create(nb, l, x, clamped);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{body(nb, l, v, valid, a.drop_front().drop_back(),
                                   a.back())});
             })
      .getResult(0);
}

/// MaxPool's Indices: the first tap holding each maximum, as a position in
/// the flattened input (the spatial dims in row-major order, or with
/// storage_order 1 in column-major order, after (n * C + c)).
Value maxPoolIndices(OpBuilder &b, Location loc, Value x, Value max,
                     const PoolGeometry &g, Value init, bool columnMajor) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  PoolLoops loops{rank, rank - 2, b.getContext()};
  Value channels = tensor::DimOp::create(b, loc, x, 1);
  return poolReduce(
      b, loc, x, g, init, {max}, loops.outputMap(),
      [&](OpBuilder &nb, Location l, Value v, Value valid, ValueRange extra,
          Value acc) -> Value {
        SmallVector<Value> at = inputPositions(nb, l, g, rank);
        Value flat = arith::AddIOp::create(
            nb, l,
            arith::MulIOp::create(nb, l, linalg::IndexOp::create(nb, l, 0),
                                  channels),
            linalg::IndexOp::create(nb, l, 1));
        SmallVector<int64_t> order =
            llvm::to_vector(llvm::seq<int64_t>(0, rank - 2));
        if (columnMajor)
          std::reverse(order.begin(), order.end());
        for (int64_t i : order)
          flat = arith::AddIOp::create(
              nb, l, arith::MulIOp::create(nb, l, flat, g.in[i]), at[i]);
        // The maximum propagates NaN (as torch's max_pool does): a NaN
        // tap matches a NaN maximum.
        Value same;
        if (isa<IntegerType>(v.getType())) {
          same = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, v,
                                       extra[0]);
        } else {
          Value bothNaN = arith::AndIOp::create(
              nb, l,
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, v, v),
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO,
                                    extra[0], extra[0]));
          same = arith::OrIOp::create(
              nb, l,
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, v,
                                    extra[0]),
              bothNaN);
        }
        Value hit = arith::AndIOp::create(nb, l, valid, same);
        Value candidate = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                     flat);
        return arith::SelectOp::create(
            nb, l, hit, arith::MinSIOp::create(nb, l, candidate, acc), acc);
      });
}
} // namespace

/// ONNX MaxPool (with the optional Indices output) and AveragePool
/// (count_include_pad).
LogicalResult GraphImporter::importPool(const onnx::NodeProto &node,
                                        Location loc, ArrayRef<Value> inputs) {
  const std::string &op = node.op_type();
  bool isMax = op == "MaxPool";
  bool integer = isMax && inputs.size() == 1 && isInt64(inputs[0]);
  if (inputs.size() != 1 || !(isFloat(inputs[0]) || integer))
    return emitError(loc) << op << " needs one float"
                          << (isMax ? " or integer" : "") << " input";
  Value x = inputs[0];
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank < 3)
    return emitError(loc) << op << " needs [N, C, D1, ...] data";
  if (llvm::is_contained(type.getShape().drop_front(2), 0))
    return emitError(loc) << op << " over an empty spatial dim";
  auto parsed = poolGeometry(*this, loc, node, x);
  if (auto *error = std::get_if<std::string>(&parsed))
    return emitError(loc) << op << ": " << *error;
  const PoolGeometry &g = std::get<PoolGeometry>(parsed);
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1)};
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < 2; ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, i));
  for (Value out : g.out) {
    std::optional<int64_t> c = getConstantIntValue(out);
    shape.push_back(c ? *c : ShapedType::kDynamic);
    if (!c)
      dynamicSizes.push_back(out);
  }
  auto filled = [&](Type element, TypedAttr v) -> Value {
    return linalg::FillOp::create(
               b, loc, arith::ConstantOp::create(b, loc, v).getResult(),
               tensor::EmptyOp::create(b, loc, shape, element, dynamicSizes)
                   .getResult())
        .getResult(0);
  };
  Type f32 = b.getF32Type();
  if (isMax) {
    Type element = type.getElementType();
    TypedAttr lowest =
        integer ? TypedAttr(b.getIntegerAttr(
                      element, std::numeric_limits<int64_t>::min()))
                : TypedAttr(b.getF32FloatAttr(-INFINITY));
    Value result = poolReduce(
        b, loc, x, g, filled(element, lowest), {}, {},
        [&](OpBuilder &nb, Location l, Value v, Value valid, ValueRange,
            Value acc) -> Value {
          Value max = integer
                          ? Value(arith::MaxSIOp::create(nb, l, v, acc))
                          : Value(arith::MaximumFOp::create(nb, l, v, acc));
          return arith::SelectOp::create(nb, l, valid, max, acc);
        });
    if (node.output_size() > 1 && !node.output(1).empty())
      values[node.output(1)] = maxPoolIndices(
          b, loc, x, result, g,
          filled(b.getI64Type(),
                 b.getI64IntegerAttr(std::numeric_limits<int64_t>::max())),
          intAttr(node, "storage_order", 0) != 0);
    return define(node, result);
  }
  // AveragePool: the sum over the covered taps, divided by their count
  // (within the input, or with count_include_pad within the padded input).
  Value sum = poolReduce(
      b, loc, x, g, filled(f32, b.getF32FloatAttr(0)), {}, {},
      [](OpBuilder &nb, Location l, Value v, Value valid, ValueRange,
         Value acc) -> Value {
        return arith::SelectOp::create(
            nb, l, valid, arith::AddFOp::create(nb, l, v, acc), acc);
      });
  bool includePad = intAttr(node, "count_include_pad", 0) != 0;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> lo(rank - 2, zero), hi = g.in;
  if (includePad)
    for (int64_t i = 0; i < rank - 2; ++i) {
      lo[i] = arith::SubIOp::create(b, loc, zero, g.padBegin[i]);
      hi[i] = arith::AddIOp::create(b, loc, g.in[i], g.padEnd[i]);
    }
  Value count = poolReduce(
      b, loc, x, g, filled(f32, b.getF32FloatAttr(0)), {}, {},
      [&](OpBuilder &nb, Location l, Value, Value, ValueRange,
          Value acc) -> Value {
        Value counted = within(nb, l, inputPositions(nb, l, g, rank), lo, hi);
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1));
        return arith::SelectOp::create(
            nb, l, counted, arith::AddFOp::create(nb, l, acc, one), acc);
      });
  return define(node, elementwise(loc, {sum, count},
                                  [](OpBuilder &nb, Location l,
                                     ValueRange a) -> Value {
                                    return arith::DivFOp::create(nb, l, a[0],
                                                                 a[1]);
                                  }));
}

} // namespace convc::onnx_import
