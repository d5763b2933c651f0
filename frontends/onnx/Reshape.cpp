//===- Reshape.cpp - reshapes with symbolic sizes -------------------------===//
//
// A Reshape (and Squeeze, Unsqueeze, ScatterND's views) becomes
// collapse/expand_shape where each group of dims keeps its elements:
// provably, or behind a run-time check of the group where no analysis
// relates its sizes; the types alone cannot tell [T, B, 12] -> [T * B, 12]
// from [T, B * 12] (both ?x?x12 -> ?x?). Sizes are compared as products of
// constants and symbolic dims. Anything else is a tensor.reshape behind a
// run-time check of the element count. ONNX Reshape's shape entries (0,
// -1, computed ones) are read here too.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

#include "llvm/Support/MathExtras.h"

namespace convc::onnx_import {

namespace {
using SizeProduct = GraphImporter::SizeProduct;

void addDimFactors(Value x, int64_t d, SizeProduct &p, int depth = 0);

/// p.constant *= c, unless that overflows (a fuzzed model's sizes): false.
bool multiplyConstant(SizeProduct &p, int64_t c) {
  int64_t product;
  if (llvm::MulOverflow(p.constant, c, product))
    return false;
  p.constant = product;
  return true;
}

/// Adds the factors of `size` to `p`: constants, tensor.dim (followed to
/// the size it was made with), and the muli / index_cast between them (how
/// Shape arithmetic builds T * B). False for any other size (T - 1,
/// T / 2): its factors are unknown.
bool addFactors(OpFoldResult size, SizeProduct &p, int depth = 0) {
  if (std::optional<int64_t> c = getConstantIntValue(size))
    return multiplyConstant(p, *c);
  Value v = cast<Value>(size);
  if (auto castOp = v.getDefiningOp<arith::IndexCastOp>())
    return addFactors(castOp.getIn(), p, depth);
  if (auto mul = v.getDefiningOp<arith::MulIOp>())
    return addFactors(mul.getLhs(), p, depth) &&
           addFactors(mul.getRhs(), p, depth);
  auto dim = v.getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
  if (!index)
    return false;
  addDimFactors(dim.getSource(), *index, p, depth + 1);
  return true;
}

/// Dim `d` of `x` as factors: followed through the ops that keep a size
/// (elementwise and other destination-style ops, tensor.empty, pads of
/// other dims) to the
/// tensor.reshape that set it, whose shape operand says what it is made
/// of; else the dim itself.
void addDimFactors(Value x, int64_t d, SizeProduct &p, int depth) {
  for (; depth < 64; ++depth) {
    auto type = cast<RankedTensorType>(x.getType());
    // A factor whose constant would overflow stays the dim itself (below).
    if (!type.isDynamicDim(d)) {
      if (multiplyConstant(p, type.getDimSize(d)))
        return;
      break;
    }
    Operation *op = x.getDefiningOp();
    if (auto reshaped = dyn_cast_or_null<tensor::ReshapeOp>(op)) {
      if (auto shape =
              reshaped.getShape().getDefiningOp<tensor::FromElementsOp>()) {
        SizeProduct q;
        if (addFactors(shape.getElements()[d], q, depth + 1) &&
            multiplyConstant(p, q.constant)) {
          p.dims.append(q.dims);
          return;
        }
      }
      break;
    }
    if (Value init = op ? GraphImporter::shapeKeepingLoopInit(cast<OpResult>(x))
                        : Value()) {
      x = init;
      continue;
    }
    if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(op)) {
      // getReassociationIndices() is a temporary: keep it for the loop.
      SmallVector<ReassociationIndices> groups =
          collapse.getReassociationIndices();
      for (int64_t j : groups[d])
        addDimFactors(collapse.getSrc(), j, p, depth + 1);
      return;
    }
    if (auto expand = dyn_cast_or_null<tensor::ExpandShapeOp>(op)) {
      SizeProduct q;
      if (addFactors(expand.getMixedOutputShape()[d], q, depth + 1) &&
          multiplyConstant(p, q.constant)) {
        p.dims.append(q.dims);
        return;
      }
      break;
    }
    if (auto dps = dyn_cast_or_null<DestinationStyleOpInterface>(op)) {
      x = dps.getDpsInitOperand(cast<OpResult>(x).getResultNumber())->get();
      continue;
    }
    if (auto pad = dyn_cast_or_null<tensor::PadOp>(op);
        pad && isConstantIntValue(pad.getMixedLowPad()[d], 0) &&
        isConstantIntValue(pad.getMixedHighPad()[d], 0)) {
      x = pad.getSource(); // a dim the pad leaves alone
      continue;
    }
    if (auto empty = dyn_cast_or_null<tensor::EmptyOp>(op)) {
      SizeProduct q;
      if (addFactors(empty.getDynamicSize(d), q, depth + 1) &&
          multiplyConstant(p, q.constant)) {
        p.dims.append(q.dims);
        return;
      }
    }
    break;
  }
  p.dims.push_back({x, d});
}
} // namespace

/// What a -1 is by the factors: the input's factors over the other sizes'
/// (a constant and the dims left), when the other sizes' factors are known,
/// all pair off and their constant divides.
static std::optional<GraphImporter::SizeProduct>
inferredFactors(GraphImporter &importer, Value x, ArrayRef<OpFoldResult> sizes,
                int64_t inferred) {
  GraphImporter::SizeProduct in, out;
  for (int64_t d = 0, e = cast<RankedTensorType>(x.getType()).getRank(); d < e;
       ++d)
    addDimFactors(x, d, in);
  for (auto [j, size] : llvm::enumerate(sizes))
    if (int64_t(j) != inferred && !addFactors(size, out))
      return std::nullopt;
  importer.pairOff(in, out);
  if (!out.dims.empty() || out.constant <= 0 || in.constant % out.constant)
    return std::nullopt;
  in.constant /= out.constant;
  return in;
}

/// A -1 that is a constant though the input's dims are symbolic: the
/// input's factors over the other sizes' leave no dim ([B * T, 32] ->
/// [B, T, -1] is 32 when B * T is a collapse of [B, T]).
std::optional<int64_t>
GraphImporter::constantInferredSize(Value x, ArrayRef<OpFoldResult> sizes,
                                    int64_t inferred) {
  std::optional<SizeProduct> left = inferredFactors(*this, x, sizes, inferred);
  if (!left || !left->dims.empty())
    return std::nullopt;
  return left->constant;
}

/// A -1 the factors tell although it is symbolic: a constant times the
/// dims left ([B, 32, T] -> [-1, 4, T] is 8 * B, and that viewed back as
/// [B, 32, -1] is T). Null when the factors do not tell. (A 0 among the
/// other sizes, where no -1 can be inferred, importReshape refuses at run
/// time.)
OpFoldResult GraphImporter::factoredInferredSize(Location loc, Value x,
                                                 ArrayRef<OpFoldResult> sizes,
                                                 int64_t inferred) {
  std::optional<SizeProduct> left = inferredFactors(*this, x, sizes, inferred);
  if (!left)
    return {};
  Value size;
  if (left->constant != 1 || left->dims.empty())
    size = arith::ConstantIndexOp::create(b, loc, left->constant);
  for (auto [v, d] : left->dims) {
    Value dim = tensor::DimOp::create(b, loc, v, d);
    size = size ? arith::MulIOp::create(b, loc, size, dim).getResult() : dim;
  }
  return size;
}

/// Whether `size` is a product of constants and dims (addFactors' forms).
bool GraphImporter::isSizeProduct(Value size) {
  SizeProduct p;
  return addFactors(size, p);
}

/// Removes the dims `a` and `b` share (compared by sameSize) from both.
void GraphImporter::pairOff(SizeProduct &a, SizeProduct &b) {
  for (auto it = a.dims.begin(); it != a.dims.end();) {
    auto match = llvm::find_if(b.dims, [&](const auto &o) {
      return sameSize(it->first, it->second, o.first, o.second);
    });
    if (match == b.dims.end()) {
      ++it;
      continue;
    }
    b.dims.erase(match);
    it = a.dims.erase(it);
  }
}

/// Whether `a` and `b` are the same product.
bool GraphImporter::sameProduct(SizeProduct a, SizeProduct b) {
  pairOff(a, b);
  return a.constant == b.constant && a.dims.empty() && b.dims.empty();
}

/// Groups for a collapse (`sizes` shorter than x's rank) or an expansion
/// found from the sizes' factors, where the types' own grouping does not
/// hold: [T, B, 12] -> [T * B, 12] is [[0, 1], [2]]. Each dim of the
/// shorter side takes the next dims of the longer until their products
/// agree; the -1 dim, when last, takes the rest; trailing 1s join the last
/// group. None when the factors do not line up.
std::optional<SmallVector<ReassociationIndices>>
GraphImporter::symbolicGroups(Value x, ArrayRef<OpFoldResult> sizes,
                              int64_t inferred) {
  int64_t inRank = cast<RankedTensorType>(x.getType()).getRank();
  int64_t outRank = sizes.size();
  bool collapse = outRank < inRank;
  int64_t shortRank = collapse ? outRank : inRank;
  int64_t longRank = collapse ? inRank : outRank;
  if (shortRank == 0 || (!collapse && inferred >= 0) ||
      (collapse && inferred >= 0 && inferred != outRank - 1))
    return std::nullopt;
  // The factors of dim i of the shorter or the longer side.
  auto factors = [&](bool shortSide, int64_t i, SizeProduct &p) {
    if (shortSide == collapse)
      return addFactors(sizes[i], p);
    addDimFactors(x, i, p);
    return true;
  };
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (int64_t s = 0; s < shortRank; ++s) {
    ReassociationIndices group;
    if (s == inferred) { // the last: what is left
      while (next < longRank)
        group.push_back(next++);
      if (group.empty())
        return std::nullopt;
      groups.push_back(group);
      break;
    }
    SizeProduct want, have;
    if (!factors(true, s, want))
      return std::nullopt;
    do {
      if (next == longRank || !factors(false, next, have))
        return std::nullopt;
      group.push_back(next++);
    } while (!sameProduct(want, have));
    groups.push_back(group);
  }
  for (; next < longRank; ++next) { // trailing 1s
    SizeProduct one;
    if (!factors(false, next, one) || !one.dims.empty() || one.constant != 1)
      return std::nullopt;
    groups.back().push_back(next);
  }
  return groups;
}

/// Whether a reshape of `x` by `groups` (the types' grouping) to `sizes`
/// keeps each group's element count. The types alone cannot tell
/// [T, B, 12] -> [T * B, 12] from [T, B * 12] (both ?x?x12 -> ?x?), so a
/// group fails where its sizes' factors provably differ: after the equal
/// dims pair off, a different number of symbolic dims is left, or two
/// distinct graph-input dims, or a dim another group's other side holds, or
/// unequal constants with no dim. A group whose sizes no analysis equates
/// with its dims (a Div of a size, a slice's length against another
/// tensor's T) is kept, and goes to `unproven`: the caller checks its
/// element count at run time ([a, b] -> [a, b / 2, 2] for an odd b).
/// A group holding the `inferred` (-1) dim needs no proof: its size is what
/// the others leave.
bool GraphImporter::groupsKeepSizes(Value x,
                                    ArrayRef<ReassociationIndices> groups,
                                    ArrayRef<OpFoldResult> sizes,
                                    int64_t inferred,
                                    SmallVectorImpl<unsigned> &unproven) {
  auto type = cast<RankedTensorType>(x.getType());
  bool collapse = sizes.size() < size_t(type.getRank());
  // Every group's input and output factors, the -1's group's included:
  // a dim left unpaired in one group but equal to a factor of another
  // group's other side is misplaced ([T, B] -> [B, T, 1] would pair T with
  // B), not merely unrelated.
  SmallVector<SizeProduct> ins(groups.size()), outs(groups.size());
  SmallVector<bool> factoredGroup(groups.size(), false);
  unproven.clear();
  for (auto [g, group] : llvm::enumerate(groups)) {
    bool factored = true;
    // The group's dims in the larger rank; the other side has dim g.
    if (collapse) {
      for (int64_t d : group)
        addDimFactors(x, d, ins[g]);
      factored = int64_t(g) != inferred && addFactors(sizes[g], outs[g]);
    } else {
      addDimFactors(x, g, ins[g]);
      for (int64_t d : group)
        factored = d != inferred && addFactors(sizes[d], outs[g]) && factored;
    }
    bool holdsInferred =
        collapse ? int64_t(g) == inferred : llvm::is_contained(group, inferred);
    factoredGroup[g] = factored;
    if (!factored && !holdsInferred)
      unproven.push_back(g);
  }
  auto elsewhere = [&](ArrayRef<SizeProduct> products, size_t g, Value v,
                       int64_t d) {
    for (auto [h, p] : llvm::enumerate(products))
      if (h != g && llvm::any_of(p.dims, [&](const auto &f) {
            return sameSize(v, d, f.first, f.second);
          }))
        return true;
    return false;
  };
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!factoredGroup[g])
      continue;
    SizeProduct in = ins[g], out = outs[g];
    pairOff(in, out);
    if (in.dims.size() != out.dims.size() ||
        (in.dims.empty() && in.constant != out.constant))
      return false;
    for (auto [a, o] : llvm::zip_equal(in.dims, out.dims))
      if (distinctInputDims(a.first, a.second, o.first, o.second) ||
          elsewhere(outs, g, a.first, a.second) ||
          elsewhere(ins, g, o.first, o.second))
        return false;
    if (!in.dims.empty() || in.constant != out.constant)
      unproven.push_back(g); // dims no analysis pairs
  }
  return true;
}

/// A run-time check that `sizes` hold x's elements, unless their factors
/// provably are x's (a check on a view of x's own dims would keep alive
/// what raising replaces).
void GraphImporter::checkElementCount(Location loc, Value x,
                                      ArrayRef<OpFoldResult> sizes) {
  auto type = cast<RankedTensorType>(x.getType());
  SizeProduct haveFactors, wantFactors;
  bool factored = true;
  for (int64_t d = 0; d < type.getRank(); ++d)
    addDimFactors(x, d, haveFactors);
  for (OpFoldResult size : sizes)
    factored = addFactors(size, wantFactors) && factored;
  if (factored && sameProduct(haveFactors, wantFactors))
    return;
  Value have = arith::ConstantIndexOp::create(b, loc, 1);
  Value want = have;
  for (OpFoldResult size : sizes)
    want = arith::MulIOp::create(b, loc, want,
                                 getValueOrCreateConstantIndexOp(b, loc, size));
  for (int64_t d = 0; d < type.getRank(); ++d)
    have =
        arith::MulIOp::create(b, loc, have,
                              getValueOrCreateConstantIndexOp(
                                  b, loc, tensor::getMixedSize(b, loc, x, d)));
  CheckOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, have, want),
      ValueRange{have, want},
      "node '" + nodeName(loc) +
          "': a tensor of {0} elements cannot be reshaped to {1}");
}

/// `resultType` with each group's static sizes completed from the input's
/// (12 -> [3, ?] is [3, 4]), as expand_shape requires; none when a group
/// cannot be so (a static input dim split into several dynamic ones).
static std::optional<RankedTensorType>
expandedType(RankedTensorType type, RankedTensorType resultType,
             ArrayRef<ReassociationIndices> groups) {
  if (resultType.getRank() <= type.getRank())
    return std::nullopt;
  SmallVector<int64_t> shape(resultType.getShape());
  for (auto [i, group] : llvm::enumerate(groups)) {
    int64_t known = 1;
    SmallVector<int64_t> open;
    for (int64_t d : group)
      if (ShapedType::isDynamic(shape[d]))
        open.push_back(d);
      else if (llvm::MulOverflow(known, shape[d], known))
        return std::nullopt; // no tensor has that many elements
    if (type.isDynamicDim(i)) {
      if (open.empty())
        return std::nullopt;
      continue;
    }
    if (open.size() > 1 || known == 0 ||
        type.getDimSize(i) % known != 0 ||
        (open.empty() && known != type.getDimSize(i)))
      return std::nullopt;
    if (!open.empty())
      shape[open[0]] = type.getDimSize(i) / known;
  }
  return RankedTensorType::get(shape, resultType.getElementType());
}

Value GraphImporter::reshape(Location loc, Value x, RankedTensorType resultType,
                        function_ref<SmallVector<OpFoldResult>()> outputSizes,
                        int64_t inferred) {
  auto type = cast<RankedTensorType>(x.getType());
  // An expansion may split off at most one dynamic size per group: LLVM
  // 22's expand-strided-metadata crashes on more (llvm/llvm-project#186830,
  // fixed for LLVM 23 by #187844).
  auto oneDynamicPerGroup = [&](RankedTensorType expanded,
                                ArrayRef<ReassociationIndices> groups) {
    return llvm::all_of(groups, [&](const ReassociationIndices &group) {
      return llvm::count_if(group, [&](int64_t d) {
               return expanded.isDynamicDim(d);
             }) <= 1;
    });
  };
  // To a scalar from symbolic dims: a collapse to rank 0 needs static ones,
  // so the one element is checked and read.
  if (resultType.getRank() == 0 && !type.hasStaticShape()) {
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (int64_t d = 0; d < type.getRank(); ++d)
      count = arith::MulIOp::create(b, loc, count,
                                    tensor::DimOp::create(b, loc, x, d));
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    CheckOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, count, one),
        ValueRange{count, one},
        "node '" + nodeName(loc) +
            "': a tensor of {0} elements cannot be reshaped to {1}");
    SmallVector<Value> origin(type.getRank(),
                              arith::ConstantIndexOp::create(b, loc, 0));
    return tensor::FromElementsOp::create(
        b, loc, resultType,
        ValueRange{tensor::ExtractOp::create(b, loc, x, origin)});
  }
  auto groups = getReassociationIndicesForReshape(type, resultType);
  SmallVector<unsigned> unproven;
  SmallVector<OpFoldResult> sizes;
  if (!type.hasStaticShape() || !resultType.hasStaticShape()) {
    sizes = outputSizes();
    if (groups && !groupsKeepSizes(x, *groups, sizes, inferred, unproven))
      groups.reset();
    if (!groups) {
      unproven.clear();
      if (type.getRank() != resultType.getRank())
        groups = symbolicGroups(x, sizes, inferred);
    }
  }
  // The result as the groups give it, then cast to the type asked for
  // (the -1 dim is dynamic there but may be static here).
  auto castTo = [&](Value v) -> Value {
    return v.getType() == resultType
               ? v
               : tensor::CastOp::create(b, loc, resultType, v).getResult();
  };
  if (groups) {
    if (resultType.getRank() < type.getRank()) {
      checkGroupSizes(loc, x, *groups, sizes, unproven);
      return castTo(tensor::CollapseShapeOp::create(b, loc, x, *groups));
    }
    if (std::optional<RankedTensorType> expanded =
            expandedType(type, resultType, *groups);
        expanded && oneDynamicPerGroup(*expanded, *groups)) {
      checkGroupSizes(loc, x, *groups, sizes, unproven);
      SmallVector<OpFoldResult> expandedSizes = outputSizes();
      for (auto [d, size] : llvm::enumerate(expandedSizes))
        if (!expanded->isDynamicDim(d))
          size = b.getIndexAttr(expanded->getDimSize(d));
      // A -1 split off a symbolic dim is its quotient by the group's other
      // sizes: [7] -> [-1, 3] would silently drop an element.
      if (inferred >= 0 && !type.hasStaticShape())
        checkElementCount(loc, x, expandedSizes);
      return castTo(tensor::ExpandShapeOp::create(b, loc, *expanded, x, *groups,
                                                  expandedSizes));
    }
    if (resultType.getRank() == type.getRank()) {
      checkGroupSizes(loc, x, *groups, sizes, unproven);
      return type == resultType
                 ? x
                 : tensor::CastOp::create(b, loc, resultType, x).getResult();
    }
  }
  // Symbolic dims split or merged across groups ([T, B, H * R] ->
  // [T, B * H, R], [T, B * H, R] -> [T * B, d]), or sizes no analysis
  // equates with the input's: a tensor.reshape to the result's sizes,
  // symbolic ones from the shape operand's arithmetic, after a run-time
  // check that they hold the input's elements.
  // (An expand_shape group with several dynamic sizes would do too, but
  // LLVM 22's expand-strided-metadata crashes on those: #186830.)
  if (!type.hasStaticShape() || !resultType.hasStaticShape()) {
    SmallVector<Value> sizes;
    SmallVector<OpFoldResult> mixedSizes = outputSizes();
    checkElementCount(loc, x, mixedSizes);
    for (OpFoldResult size : mixedSizes) {
      Value s = getValueOrCreateConstantIndexOp(b, loc, size);
      sizes.push_back(arith::IndexCastOp::create(b, loc, b.getI64Type(), s));
    }
    Value shape = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({resultType.getRank()}, b.getI64Type()),
        sizes);
    return tensor::ReshapeOp::create(b, loc, resultType, x, shape);
  }
  // Static shapes: through one flat dimension.
  auto flatType =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  auto allDims = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  Value flat = x;
  if (type.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, x, allDims(0),
                                         ArrayRef<OpFoldResult>{
                                             b.getIndexAttr(1)});
  else if (type.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, x,
                                           allDims(type.getRank()));
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, flat,
                                           allDims(0));
  if (resultType.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       allDims(resultType.getRank()),
                                       outputSizes());
}

/// The input dim a Reshape's -1 must be, when every other symbolic input
/// dim has an output dim of the same size and the static sizes' products
/// agree: [B, T, 16] -> [B, -1, 4, 4] is T. The size then stays the input's
/// (the same at run time by construction) instead of a quotient of
/// products that no analysis can equate to T.
std::optional<int64_t> GraphImporter::cancelledDim(Value input,
                                                   ArrayRef<OpFoldResult> sizes,
                                                   int64_t inferred) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> unmatched;
  int64_t inStatic = 1, outStatic = 1;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      unmatched.push_back(i);
    else if (llvm::MulOverflow(inStatic, type.getDimSize(i), inStatic))
      return std::nullopt; // no such tensor runs; the general path checks
  for (auto [j, size] : llvm::enumerate(sizes)) {
    if (int64_t(j) == inferred)
      continue;
    if (std::optional<int64_t> c = getConstantIntValue(size)) {
      if (llvm::MulOverflow(outStatic, *c, outStatic))
        return std::nullopt;
      continue;
    }
    auto dim = cast<Value>(size).getDefiningOp<tensor::DimOp>();
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!index)
      return std::nullopt;
    int64_t measured = *index;
    auto match = llvm::find_if(unmatched, [&](int64_t i) {
      return sameSize(dim.getSource(), measured, input, i);
    });
    if (match == unmatched.end())
      return std::nullopt;
    unmatched.erase(match);
  }
  if (unmatched.size() != 1 || inStatic != outStatic)
    return std::nullopt;
  return unmatched[0];
}

/// A Reshape's shape entries computed at run time (b - 1, a Div of a size)
/// that may come out 0 or negative. Without allowzero a 0 copies the
/// input's dim, as a constant 0 does; a negative one (a -1 to infer) is
/// refused by a check naming the entry, as convc infers a -1 only where it
/// is known when compiling. Products of dims and constants are left: they
/// are 0 only for an empty tensor, where copying the dim would be refused.
void GraphImporter::computedShapeEntries(Location loc, Value x,
                                         MutableArrayRef<Value> sizes,
                                         bool allowZero) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  for (auto [i, size] : llvm::enumerate(sizes)) {
    if (!size || isSizeProduct(size))
      continue;
    std::optional<double> low = sizeLowerBound(size);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    if (!low || *low < 0)
      CheckOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, size, zero),
          ValueRange{size},
          "node '" + nodeName(loc) + "': Reshape shape entry " +
              std::to_string(i) +
              " is {0} at run time (a -1 computed at run time is not "
              "inferred)");
    if (allowZero || (low && *low >= 1))
      continue;
    Value isZero =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, zero);
    if (int64_t(i) >= rank) {
      CheckOp::create(
          b, loc,
          arith::XOrIOp::create(b, loc, isZero,
                                arith::ConstantIntOp::create(b, loc, 1, 1)),
          ValueRange{},
          "node '" + nodeName(loc) + "': Reshape shape entry " +
              std::to_string(i) +
              " is 0 at run time, which copies a dim the "
              "input (rank " +
              std::to_string(rank) + ") lacks");
      continue;
    }
    size = arith::SelectOp::create(b, loc, isZero,
                                   tensor::DimOp::create(b, loc, x, i), size);
  }
}

/// ONNX Reshape.
LogicalResult GraphImporter::importReshape(const onnx::NodeProto &node,
                                           Location loc,
                                           ArrayRef<Value> inputs) {
  Value result;
  // The shape must be constant (exports emit it so once shape arithmetic
  // is folded); 0 copies the input dim (unless allowzero), -1 is inferred.
  // A shape built from symbolic dims (Shape -> Gather -> Concat) carries
  // their runtime values.
  std::optional<ShapeOperand> operand = shapeOperand(node, inputs, 1);
  if (inputs.size() != 2 || !operand)
    return emitError(loc) << "Reshape needs data and a shape that is "
                             "constant or built from the input dims (an "
                             "initializer, a Constant node, or folded "
                             "Shape arithmetic): convc compiles shapes "
                             "statically";
  const SmallVector<int64_t> &target = operand->values;
  SmallVector<Value> symbolicSizes = operand->symbolicSizes;
  SmallVector<int64_t> shape;
  if (!inputs[0])
    return emitError(loc) << "Reshape needs data";
  auto type = cast<RankedTensorType>(inputs[0].getType());
  bool allowZero = false;
  if (const auto *a = findAttr(node, "allowzero"))
    allowZero = a->i() != 0;
  computedShapeEntries(loc, inputs[0], symbolicSizes, allowZero);
  int64_t inferred = -1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (ShapedType::isDynamic(d)) {
      shape.push_back(ShapedType::kDynamic);
    } else if (d == -1) {
      if (inferred >= 0)
        return emitError(loc) << "Reshape shape has more than one -1";
      inferred = i;
      shape.push_back(ShapedType::kDynamic);
    } else if (d == 0 && !allowZero) {
      if (int64_t(i) >= type.getRank())
        return emitError(loc)
               << "Reshape shape entry " << i << " is 0 but the input has rank "
               << type.getRank();
      shape.push_back(type.getDimSize(i));
    } else if (d < 0) {
      return emitError(loc) << "Reshape shape entry " << d << " is invalid";
    } else {
      shape.push_back(d);
    }
  }
  // Infer -1 here when all else is static (computed sizes: below).
  bool othersStatic = llvm::all_of(llvm::enumerate(shape), [&](auto entry) {
    return int64_t(entry.index()) == inferred ||
           !ShapedType::isDynamic(entry.value());
  });
  if (inferred >= 0 && type.hasStaticShape() && othersStatic) {
    int64_t known = 1;
    for (auto [i, d] : llvm::enumerate(shape))
      if (int64_t(i) != inferred && llvm::MulOverflow(known, d, known))
        return emitError(loc) << "Reshape shape's sizes overflow int64";
    if (known == 0 || type.getNumElements() % known != 0)
      return emitError(loc)
             << "Reshape cannot infer the -1 entry: " << type.getNumElements()
             << " elements do not divide by " << known;
    shape[inferred] = type.getNumElements() / known;
  } else if (inferred >= 0) {
    // Symbolic input dims may still leave a constant: [B * T, 32] ->
    // [B, T, -1] (a view after a projection of the flattened sequence).
    SmallVector<OpFoldResult> known;
    for (auto [i, d] : llvm::enumerate(shape))
      known.push_back(
          !ShapedType::isDynamic(d) ? OpFoldResult(b.getIndexAttr(d))
          : int64_t(i) == inferred  ? OpFoldResult()
          : symbolicSizes[i]        ? OpFoldResult(symbolicSizes[i])
                             : tensor::getMixedSize(b, loc, inputs[0], i));
    if (std::optional<int64_t> size =
            constantInferredSize(inputs[0], known, inferred))
      shape[inferred] = *size;
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  if (resultType.hasStaticShape() && type.hasStaticShape() &&
      resultType.getNumElements() != type.getNumElements())
    return emitError(loc) << "Reshape from " << type << " to " << resultType
                          << " changes the element count";
  // Sizes of the output, as values where symbolic.
  auto outputSizes = [&]() {
    SmallVector<OpFoldResult> sizes;
    Value numel;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      Value d = getValueOrCreateConstantIndexOp(
          b, loc, tensor::getMixedSize(b, loc, inputs[0], i));
      numel = numel ? arith::MulIOp::create(b, loc, numel, d) : d;
    }
    if (!numel)
      numel = arith::ConstantIndexOp::create(b, loc, 1);
    Value others = arith::ConstantIndexOp::create(b, loc, 1);
    for (auto [i, d] : llvm::enumerate(shape)) {
      if (!ShapedType::isDynamic(d))
        sizes.push_back(b.getIndexAttr(d));
      else if (int64_t(i) == inferred)
        sizes.push_back(OpFoldResult());
      else if (symbolicSizes[i])
        sizes.push_back(symbolicSizes[i]);
      else
        sizes.push_back(tensor::getMixedSize(b, loc, inputs[0], i));
      if (int64_t(i) != inferred)
        others = arith::MulIOp::create(
            b, loc, others,
            getValueOrCreateConstantIndexOp(b, loc, sizes.back()));
    }
    if (inferred >= 0 && !sizes[inferred])
      if (std::optional<int64_t> left =
              cancelledDim(inputs[0], sizes, inferred))
        sizes[inferred] = tensor::getMixedSize(b, loc, inputs[0], *left);
    if (inferred >= 0 && !sizes[inferred])
      sizes[inferred] = factoredInferredSize(loc, inputs[0], sizes, inferred);
    if (inferred >= 0 && !sizes[inferred])
      sizes[inferred] =
          arith::DivUIOp::create(
              b, loc, numel,
              arith::MaxUIOp::create(b, loc, others,
                                     arith::ConstantIndexOp::create(b, loc, 1)))
              .getResult(); // a 0 among the others fails the element check
    return sizes;
  };
  // ONNX Runtime and PyTorch refuse to infer a -1 against a 0: its size
  // would be anything. The factors' inference would make one up.
  if (inferred >= 0 && !type.hasStaticShape()) {
    Value others = arith::ConstantIndexOp::create(b, loc, 1);
    bool mayBeZero = false;
    for (auto [i, d] : llvm::enumerate(shape)) {
      if (int64_t(i) == inferred || !ShapedType::isDynamic(d))
        continue;
      Value size =
          symbolicSizes[i]
              ? symbolicSizes[i]
              : tensor::DimOp::create(b, loc, inputs[0], i).getResult();
      std::optional<double> low = sizeLowerBound(size);
      mayBeZero = mayBeZero || !low || *low < 1;
      others = arith::MulIOp::create(b, loc, others, size);
    }
    if (mayBeZero)
      CheckOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, others,
                                arith::ConstantIndexOp::create(b, loc, 0)),
          ValueRange{},
          "node '" + nodeName(loc) +
              "': Reshape cannot infer its -1 entry when "
              "another size is 0");
  }
  result = reshape(loc, inputs[0], resultType, outputSizes, inferred);
  if (!result)
    return failure();
  return define(node, result);
}

} // namespace convc::onnx_import
