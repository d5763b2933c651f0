//===- SizeReasoning.cpp - what the importer knows of symbolic sizes -----===//
//
// Checks at run time cost little, but one on sizes that are equal (or
// large enough) by construction keeps ops alive that raising replaces, and
// keeps a decoder from stepping. So the importer asks first: do two dims
// have one origin (sameSize), may a dim be empty (knownNonEmpty), how small
// can a scalar size be (sizeLowerBound).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include <cmath>

using namespace mlir;

namespace convc::onnx_import {

namespace {
/// Where the importer took a dynamic size from: a value's dimension, or an
/// SSA size. Results of destination-style ops have their init's sizes,
/// tensor.empty and tensor.reshape the sizes they were given, tensor.dim
/// the size it reads, and convc ops the leading dims of their input. Two dims
/// with the same origin are equal at run time.
struct SizeOrigin {
  Value value;
  int64_t dim; // -1: `value` is the size itself
  bool operator==(const SizeOrigin &o) const {
    return value == o.value && dim == o.dim;
  }
};

SizeOrigin sizeOrigin(Value v, int64_t d) {
  for (int depth = 0; depth < 256; ++depth) {
    if (d < 0) {
      if (auto castOp = v.getDefiningOp<arith::IndexCastOp>()) {
        v = castOp.getIn(); // a shape operand's i64 of a size
        continue;
      }
      auto dim = v.getDefiningOp<tensor::DimOp>();
      std::optional<int64_t> index =
          dim ? dim.getConstantIndex() : std::nullopt;
      if (!index)
        break;
      v = dim.getSource(), d = *index;
      continue;
    }
    Operation *op = v.getDefiningOp();
    if (!op)
      break;
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op)) {
      v = dps.getDpsInitOperand(cast<OpResult>(v).getResultNumber())->get();
    } else if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      if (!empty.getType().isDynamicDim(d))
        break;
      v = empty.getDynamicSize(d), d = -1;
    } else if (auto castOp = dyn_cast<tensor::CastOp>(op)) {
      v = castOp.getSource();
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (slice.getType().getRank() != slice.getSourceType().getRank())
        break; // rank-reducing: dims renumbered
      auto size = dyn_cast<Value>(slice.getMixedSizes()[d]);
      if (!size)
        break;
      v = size, d = -1;
    } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      auto size = dyn_cast<Value>(expand.getMixedOutputShape()[d]);
      if (!size)
        break;
      v = size, d = -1;
    } else if (Value init =
                   GraphImporter::shapeKeepingLoopInit(cast<OpResult>(v))) {
      v = init;
    } else if (auto reshaped = dyn_cast<tensor::ReshapeOp>(op)) {
      // Its dims are its shape operand's (checked against the element
      // count): Concat(Shape(x)[0], Shape(x)[1], -1) has x's.
      auto shape = reshaped.getShape().getDefiningOp<tensor::FromElementsOp>();
      if (!shape)
        break;
      v = shape.getElements()[d], d = -1;
    } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      // A group of one symbolic dim and static 1s keeps that dim's size.
      ReassociationIndices group = collapse.getReassociationIndices()[d];
      auto source = collapse.getSrcType();
      auto symbolicDims = llvm::make_filter_range(
          group, [&](int64_t j) { return source.getDimSize(j) != 1; });
      if (llvm::range_size(symbolicDims) != 1)
        break;
      v = collapse.getSrc(), d = *symbolicDims.begin();
    } else if (isa<ConvcDialect>(op->getDialect()) && op->getNumOperands() &&
               isa<RankedTensorType>(op->getOperand(0).getType()) &&
               d + 1 < cast<RankedTensorType>(v.getType()).getRank()) {
      v = op->getOperand(0); // convc ops keep their input's leading dims
    } else {
      break;
    }
  }
  return {v, d};
}

/// Upstream's value-bounds analysis of `x[dx] - y[dy]`, with a budget.
/// `ValueBoundsConstraintSet::areEqual` follows both sizes back to the graph
/// inputs and re-solves the constraint set after every value it visits, so
/// each query costs a power of the depth, and a residual chain asks once per
/// block: import grew as n^5 (QuartzNet 15x5, 266 nodes: 261 s). Equal sizes
/// meet within a few ops (a conv's pad and window, a slice), so this solves
/// after 4, 8, 16, ... columns and gives up past kMaxColumns ("not proven":
/// the importer then checks at run time).
class SizeDifference : public ValueBoundsConstraintSet {
public:
  static bool provenZero(Value x, int64_t dx, Value y, int64_t dy) {
    SizeDifference *self = nullptr;
    size_t nextSolve = 4;
    bool zero = false;
    auto stop = [&](Value, std::optional<int64_t>, ValueBoundsConstraintSet &) {
      size_t columns = self->positionToValueDim.size();
      if (zero || columns > kMaxColumns)
        return true;
      if (columns < nextSolve)
        return false;
      nextSolve *= 2;
      return zero = self->isZero(/*the difference's column*/ 0);
    };
    SizeDifference set(x.getContext(), stop);
    self = &set;
    AffineExpr d0, d1;
    bindDims(x.getContext(), d0, d1);
    int64_t pos = set.populateConstraints(AffineMap::get(2, 0, d0 - d1),
                                          {{x, dx}, {y, dy}});
    return zero || set.isZero(pos);
  }

private:
  static constexpr size_t kMaxColumns = 64;
  using ValueBoundsConstraintSet::ValueBoundsConstraintSet;

  bool isZero(int64_t pos) {
    std::optional<int64_t> value =
        cstr.getConstantBound64(presburger::BoundType::EQ, pos);
    return value && *value == 0;
  }
};

/// `size` read where it was taken from (sizeOrigin): a check on it then
/// keeps alive no op it was measured on (a CumSum that raising fuses away).
Value sizeAtOrigin(OpBuilder &b, Location loc, OpFoldResult size) {
  Value v = getValueOrCreateConstantIndexOp(b, loc, size);
  // Through casts and host scalars (a Range's count from Shape(x)[1]).
  for (int depth = 0; depth < 16; ++depth) {
    if (auto castOp = v.getDefiningOp<arith::IndexCastOp>()) {
      v = castOp.getIn();
      continue;
    }
    auto extract = v.getDefiningOp<tensor::ExtractOp>();
    auto elements =
        extract ? extract.getTensor().getDefiningOp<tensor::FromElementsOp>()
                : nullptr;
    if (!elements || elements.getElements().size() != 1)
      break;
    v = elements.getElements()[0];
  }
  auto dim = v.getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
  if (!index)
    return getValueOrCreateConstantIndexOp(b, loc, size);
  SizeOrigin origin = sizeOrigin(dim.getSource(), *index);
  Value at = origin.dim >= 0
                 ? b.createOrFold<tensor::DimOp>(loc, origin.value, origin.dim)
                 : origin.value;
  return at.getType().isIndex()
             ? at
             : b.createOrFold<arith::IndexCastOp>(loc, b.getIndexType(), at);
}

} // namespace

/// Run-time checks that each group in `which` keeps its element count
/// (see groupsKeepSizes). Folded as built: a Range's length against the
/// dim of the Range's result is no check.
void GraphImporter::checkGroupSizes(Location loc, Value x,
                                    ArrayRef<ReassociationIndices> groups,
                                    ArrayRef<OpFoldResult> sizes,
                                    ArrayRef<unsigned> which) {
  bool collapse =
      sizes.size() < size_t(cast<RankedTensorType>(x.getType()).getRank());
  auto product = [&](ArrayRef<OpFoldResult> factors) {
    Value p = arith::ConstantIndexOp::create(b, loc, 1);
    for (OpFoldResult f : factors)
      p = b.createOrFold<arith::MulIOp>(loc, p, sizeAtOrigin(b, loc, f));
    return p;
  };
  auto dimOfX = [&](int64_t d) -> OpFoldResult {
    return b.createOrFold<tensor::DimOp>(loc, x, d);
  };
  for (unsigned g : which) {
    SmallVector<OpFoldResult> in, out;
    for (int64_t d : groups[g])
      (collapse ? in : out).push_back(collapse ? dimOfX(d) : sizes[d]);
    (collapse ? out : in).push_back(collapse ? sizes[g] : dimOfX(g));
    Value have = product(in), want = product(out);
    auto dimA = have.getDefiningOp<tensor::DimOp>(),
         dimB = want.getDefiningOp<tensor::DimOp>();
    if (dimA && dimB && dimA.getSource() == dimB.getSource() &&
        dimA.getConstantIndex() &&
        dimA.getConstantIndex() == dimB.getConstantIndex())
      continue; // one dim, read twice
    Value same = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                               have, want);
    if (matchPattern(same, m_One()))
      continue;
    CheckOp::create(
        b, loc, same, ValueRange{have, want},
        "node '" + nodeName(loc) +
            "': input dims of {0} elements would become sizes of {1} "
            "(convc reshapes each group of dims on its own)");
  }
}

Value GraphImporter::shapeKeepingLoopInit(OpResult result) {
  auto loop = dyn_cast<scf::ForOp>(result.getOwner());
  if (!loop)
    return {};
  unsigned i = result.getResultNumber();
  Value carried = loop.getRegionIterArgs()[i];
  Value v = loop.getYieldedValues()[i];
  for (int depth = 0; depth < 64 && v != carried; ++depth) {
    Operation *op = v.getDefiningOp();
    if (auto insert = dyn_cast_or_null<tensor::InsertSliceOp>(op))
      v = insert.getDest();
    else if (auto dps = dyn_cast_or_null<DestinationStyleOpInterface>(op))
      v = dps.getDpsInitOperand(cast<OpResult>(v).getResultNumber())->get();
    else
      return {};
  }
  return v == carried ? loop.getInitArgs()[i] : Value();
}

/// The same origin, or equal by upstream's value-bounds analysis (which
/// follows pads, slices and the arithmetic between them, e.g. a conv's
/// T + 2P - K + 1 against T when 2P = K - 1), or graph-input dims declared
/// with one dim_param (the runtime refuses inputs that disagree: the
/// signature unites them, see ExportEntryPoints.cpp).
bool GraphImporter::sameSize(Value x, int64_t dx, Value y, int64_t dy) {
  SizeOrigin ox = sizeOrigin(x, dx), oy = sizeOrigin(y, dy);
  if (ox == oy)
    return true;
  // Declared dims before the (costlier) value-bounds analysis.
  auto px = dimParams.find({ox.value, ox.dim}),
       py = dimParams.find({oy.value, oy.dim});
  if (px != dimParams.end() && py != dimParams.end() &&
      px->second == py->second)
    return true;
  return SizeDifference::provenZero(x, dx, y, dy);
}

std::optional<double> scalarConstant(Value v) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return double(*c);
  FloatAttr f;
  if (matchPattern(v, m_Constant(&f)))
    return f.getValueAsDouble();
  // One element of a splat constant tensor (a host scalar's operand).
  DenseElementsAttr dense;
  if (auto extract = v.getDefiningOp<tensor::ExtractOp>();
      extract && matchPattern(extract.getTensor(), m_Constant(&dense)) &&
      dense.isSplat())
    return dense.getElementType().isIntOrIndex()
               ? double(dense.getSplatValue<APInt>().getSExtValue())
               : dense.getSplatValue<APFloat>().convertToDouble();
  return std::nullopt;
}

/// A lower bound on a scalar size computation, in double: constants, dims
/// (0, or 1 where known not empty), casts, ceil and floor, sums, products
/// of non-negative bounds, differences and quotients by constants, and
/// maxima and minima (a concat's size; a float Range's, max(ceil((limit -
/// start) / delta), 0)). None for anything else.
std::optional<double> GraphImporter::sizeLowerBound(Value size, int depth) {
  if (std::optional<double> c = scalarConstant(size))
    return c;
  Operation *op = size.getDefiningOp();
  if (!op || depth > 64)
    return std::nullopt;
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!index)
      return 0.0;
    // A size computed by scalar arithmetic bounds by that; other dims are
    // 1 where known not empty.
    SizeOrigin origin = sizeOrigin(dim.getSource(), *index);
    if (origin.dim < 0)
      return sizeLowerBound(origin.value, depth + 1);
    return knownNonEmpty(dim.getSource(), *index) ? 1.0 : 0.0;
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    auto elements = extract.getTensor().getDefiningOp<tensor::FromElementsOp>();
    if (!elements || elements.getElements().size() != 1)
      return std::nullopt;
    return sizeLowerBound(elements.getElements()[0], depth + 1);
  }
  auto operand = [&](unsigned i) {
    return sizeLowerBound(op->getOperand(i), depth + 1);
  };
  auto constant = [&](unsigned i) { return scalarConstant(op->getOperand(i)); };
  if (isa<arith::IndexCastOp, arith::SIToFPOp, arith::ExtSIOp, arith::ExtFOp>(
          op))
    return operand(0);
  if (isa<arith::FPToSIOp, math::FloorOp>(op)) {
    std::optional<double> x = operand(0);
    return x ? std::optional<double>(std::floor(*x)) : std::nullopt;
  }
  if (isa<math::CeilOp>(op)) {
    std::optional<double> x = operand(0);
    return x ? std::optional<double>(std::ceil(*x)) : std::nullopt;
  }
  if (isa<arith::MaxSIOp, arith::MaximumFOp, arith::MaxNumFOp>(op)) {
    std::optional<double> lhs = operand(0), rhs = operand(1);
    if (!lhs || !rhs)
      return lhs ? lhs : rhs; // max(a, b) >= a
    return std::max(*lhs, *rhs);
  }
  if (op->getNumOperands() != 2)
    return std::nullopt;
  std::optional<double> lhs = operand(0);
  if (!lhs)
    return std::nullopt;
  if (isa<arith::SubIOp, arith::SubFOp>(op)) {
    std::optional<double> c = constant(1);
    return c ? std::optional<double>(*lhs - *c) : std::nullopt;
  }
  if (isa<arith::DivFOp>(op)) {
    std::optional<double> c = constant(1);
    return c && *c > 0 ? std::optional<double>(*lhs / *c) : std::nullopt;
  }
  std::optional<double> rhs = operand(1);
  if (!rhs)
    return std::nullopt;
  if (isa<arith::AddIOp, arith::AddFOp>(op))
    return *lhs + *rhs;
  if (isa<arith::MulIOp, arith::MulFOp>(op) && *lhs >= 0 && *rhs >= 0)
    return *lhs * *rhs;
  if (isa<arith::MinSIOp, arith::MinimumFOp, arith::MinNumFOp>(op))
    return std::min(*lhs, *rhs);
  return std::nullopt;
}

bool GraphImporter::knownNonEmpty(Value x, int64_t dim) {
  for (int depth = 0; depth < 256; ++depth) {
    auto type = cast<RankedTensorType>(x.getType());
    if (!type.isDynamicDim(dim))
      return type.getDimSize(dim) > 0;
    SizeOrigin origin = sizeOrigin(x, dim);
    if (origin.dim < 0) {
      std::optional<double> bound = sizeLowerBound(origin.value, depth);
      return bound && *bound >= 1.0;
    }
    if (auto arg = dyn_cast<BlockArgument>(origin.value))
      return isa<func::FuncOp>(arg.getOwner()->getParentOp());
    auto pad = origin.value.getDefiningOp<tensor::PadOp>();
    if (!pad)
      return false;
    std::optional<int64_t> low =
        getConstantIntValue(pad.getMixedLowPad()[origin.dim]);
    std::optional<int64_t> high =
        getConstantIntValue(pad.getMixedHighPad()[origin.dim]);
    if (low && high && *low >= 0 && *high >= 0 && *low + *high > 0)
      return true;
    if (!low || !high || *low < 0 || *high < 0)
      return false;
    x = pad.getSource(), dim = origin.dim;
  }
  return false;
}

bool GraphImporter::distinctInputDims(Value x, int64_t dx, Value y,
                                      int64_t dy) {
  SizeOrigin ox = sizeOrigin(x, dx), oy = sizeOrigin(y, dy);
  if (ox == oy || ox.dim < 0 || oy.dim < 0 || !isa<BlockArgument>(ox.value) ||
      !isa<BlockArgument>(oy.value))
    return false;
  auto px = dimParams.find({ox.value, ox.dim}),
       py = dimParams.find({oy.value, oy.dim});
  return px == dimParams.end() || py == dimParams.end() ||
         px->second != py->second;
}

/// A bound on |v| for a host scalar computed from sizes and constants (a
/// dim is at most 2^48: no buffer is larger), or none.
std::optional<double> magnitudeBound(Value v, int depth) {
  if (depth > 32)
    return std::nullopt;
  if (std::optional<double> c = scalarConstant(v))
    return std::abs(*c);
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  auto operand = [&](unsigned i) {
    return magnitudeBound(op->getOperand(i), depth + 1);
  };
  if (isa<tensor::DimOp>(op))
    return 0x1p48;
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    auto elements = extract.getTensor().getDefiningOp<tensor::FromElementsOp>();
    if (elements && elements.getElements().size() == 1)
      return magnitudeBound(elements.getElements()[0], depth + 1);
    return std::nullopt;
  }
  if (isa<arith::IndexCastOp, arith::SIToFPOp, arith::NegFOp>(op))
    return operand(0);
  if (isa<math::CeilOp, math::FloorOp>(op)) {
    std::optional<double> x = operand(0);
    return x ? std::optional<double>(*x + 1) : std::nullopt;
  }
  if (op->getNumOperands() != 2)
    return std::nullopt;
  std::optional<double> a = operand(0), b = operand(1);
  if (!a || !b)
    return std::nullopt;
  if (isa<arith::AddIOp, arith::SubIOp, arith::AddFOp, arith::SubFOp>(op))
    return *a + *b;
  if (isa<arith::MulIOp, arith::MulFOp>(op))
    return *a * *b;
  if (isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxSIOp, arith::MinSIOp>(
          op))
    return std::max(*a, *b);
  return std::nullopt;
}

} // namespace convc::onnx_import
