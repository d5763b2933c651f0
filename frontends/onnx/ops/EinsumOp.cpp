//===- EinsumOp.cpp - ONNX Einsum -----------------------------------------===//
//
// An Einsum equation parsed into label ids per operand dim, and imported as
// one linalg.generic contraction (registered with the projections,
// NNOps.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"

#include <cctype>
#include <variant>

namespace convc::onnx_import {

namespace {
/// An Einsum equation's terms as label ids per dim: letters are 0-51, the
/// ellipsis' dims 52 + their place among the widest ellipsis, aligned to
/// the right (numpy's broadcasting).
struct EinsumLabels {
  SmallVector<SmallVector<int>> operands;
  SmallVector<int> output;
  int ellipsisDims = 0;
};

int letterLabel(char c) {
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= 'A' && c <= 'Z')
    return 26 + (c - 'A');
  return -1;
}

char labelName(int label) {
  return label < 26 ? char('a' + label) : label < 52 ? char('A' + label - 26)
                                                     : '.';
}

/// The labels of `equation` for operands of `ranks`, or an error message.
std::variant<EinsumLabels, std::string>
parseEinsum(StringRef equation, ArrayRef<int64_t> ranks) {
  std::string eq;
  for (char c : equation)
    if (!std::isspace(static_cast<unsigned char>(c)))
      eq.push_back(c);
  size_t arrow = eq.find("->");
  StringRef lhs = StringRef(eq).substr(0, arrow);
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != ranks.size())
    return "the equation '" + eq + "' has " + std::to_string(terms.size()) +
           " operand terms and the node " + std::to_string(ranks.size()) +
           " inputs";
  // Per term: the letters before and after its ellipsis.
  EinsumLabels labels;
  SmallVector<std::pair<SmallVector<int>, SmallVector<int>>> split;
  SmallVector<bool> hasEllipsis;
  auto parseTerm = [&](StringRef term, SmallVector<int> &before,
                       SmallVector<int> &after, bool &ellipsis) -> std::string {
    ellipsis = false;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term.substr(i).starts_with("...") && !ellipsis) {
        ellipsis = true;
        i += 2;
        continue;
      }
      int label = letterLabel(term[i]);
      if (label < 0)
        return "the term '" + term.str() + "' has '" + term[i] +
               "', which is not a letter or one ellipsis";
      (ellipsis ? after : before).push_back(label);
    }
    return "";
  };
  for (auto [i, term] : llvm::enumerate(terms)) {
    SmallVector<int> before, after;
    bool ellipsis;
    std::string error = parseTerm(term, before, after, ellipsis);
    if (!error.empty())
      return error;
    int64_t named = before.size() + after.size();
    if (ellipsis ? named > ranks[i] : named != ranks[i])
      return "the term '" + term.str() + "' names " + std::to_string(named) +
             " dims of input " + std::to_string(i) + ", which has rank " +
             std::to_string(ranks[i]);
    if (ellipsis)
      labels.ellipsisDims =
          std::max<int>(labels.ellipsisDims, ranks[i] - named);
    split.push_back({before, after});
    hasEllipsis.push_back(ellipsis);
  }
  auto ellipsisLabels = [&](int64_t count) {
    SmallVector<int> out;
    for (int64_t t = 0; t < count; ++t)
      out.push_back(52 + labels.ellipsisDims - count + t);
    return out;
  };
  for (auto [i, parts] : llvm::enumerate(split)) {
    SmallVector<int> dims = parts.first;
    if (hasEllipsis[i])
      llvm::append_range(dims, ellipsisLabels(ranks[i] - parts.first.size() -
                                              parts.second.size()));
    llvm::append_range(dims, parts.second);
    labels.operands.push_back(dims);
  }
  if (arrow == std::string::npos) {
    // Implicit output: the ellipsis, then the letters used once, sorted.
    labels.output = ellipsisLabels(labels.ellipsisDims);
    std::map<char, int> uses;
    for (const auto &dims : labels.operands)
      for (int label : dims)
        if (label < 52)
          ++uses[labelName(label)];
    for (auto [name, count] : uses)
      if (count == 1)
        labels.output.push_back(letterLabel(name));
    return labels;
  }
  SmallVector<int> before, after;
  bool ellipsis;
  StringRef rhs = StringRef(eq).substr(arrow + 2);
  std::string error = parseTerm(rhs, before, after, ellipsis);
  if (!error.empty())
    return error;
  if (!ellipsis && labels.ellipsisDims > 0)
    return "the operands' ellipsis covers " +
           std::to_string(labels.ellipsisDims) +
           " dims, which the output must keep ('...' in it), as numpy does";
  labels.output = before;
  if (ellipsis)
    llvm::append_range(labels.output, ellipsisLabels(labels.ellipsisDims));
  llvm::append_range(labels.output, after);
  for (auto [i, label] : llvm::enumerate(labels.output)) {
    if (llvm::is_contained(ArrayRef(labels.output).take_front(i), label))
      return "the output names '" + std::string(1, labelName(label)) +
             "' twice";
    if (llvm::none_of(labels.operands, [&](const SmallVector<int> &dims) {
          return llvm::is_contained(dims, label);
        }))
      return "the output's '" + std::string(1, labelName(label)) +
             "' is in no operand";
  }
  return labels;
}
} // namespace

/// ONNX Einsum: one linalg.generic over every label (the output's
/// parallel, the others summed) accumulating the operands' product. A label
/// has one size in every operand (checked at run time where symbolic), or
/// a static 1 there, which broadcasts.
LogicalResult GraphImporter::importEinsum(const onnx::NodeProto &node,
                                          Location loc, ArrayRef<Value> inputs) {
  const auto *attr = findAttr(node, "equation");
  if (!attr)
    return emitError(loc) << "Einsum needs its equation";
  if (inputs.empty() || llvm::any_of(inputs, [](Value v) { return !v; }))
    return emitError(loc) << "Einsum needs its inputs";
  Type element = getElementTypeOrSelf(inputs[0].getType());
  SmallVector<int64_t> ranks;
  for (Value v : inputs) {
    if (!(isFloat(v) || isInt64(v)) ||
        getElementTypeOrSelf(v.getType()) != element)
      return emitError(loc) << "Einsum needs float inputs or int64 ones, of "
                               "one type";
    ranks.push_back(cast<RankedTensorType>(v.getType()).getRank());
  }
  auto parsed = parseEinsum(attr->s(), ranks);
  if (auto *error = std::get_if<std::string>(&parsed))
    return emitError(loc) << "Einsum: " << *error;
  const EinsumLabels &labels = std::get<EinsumLabels>(parsed);
  // Loop dims: the output's labels, then the summed ones as they appear.
  SmallVector<int> loops = labels.output;
  for (const auto &dims : labels.operands)
    for (int label : dims)
      if (!llvm::is_contained(loops, label))
        loops.push_back(label);
  auto loopOf = [&](int label) {
    return llvm::find(loops, label) - loops.begin();
  };
  // Per label, the operand dim that gives its size: a static size other
  // than 1 first, then a symbolic one.
  DenseMap<int, std::pair<unsigned, int64_t>> source;
  auto sizeOf = [&](unsigned k, int64_t d) {
    return cast<RankedTensorType>(inputs[k].getType()).getDimSize(d);
  };
  auto rankOf = [&](int64_t size) {
    return size == 1 ? 0 : ShapedType::isDynamic(size) ? 1 : 2;
  };
  for (auto [k, dims] : llvm::enumerate(labels.operands))
    for (auto [d, label] : llvm::enumerate(dims)) {
      auto it = source.find(label);
      if (it == source.end() ||
          rankOf(sizeOf(k, d)) > rankOf(sizeOf(it->second.first,
                                               it->second.second)))
        source[label] = {unsigned(k), int64_t(d)};
    }
  SmallVector<AffineMap> maps;
  for (auto [k, dims] : llvm::enumerate(labels.operands)) {
    SmallVector<AffineExpr> exprs;
    for (auto [d, label] : llvm::enumerate(dims)) {
      auto [sk, sd] = source[label];
      int64_t size = sizeOf(k, d), want = sizeOf(sk, sd);
      std::string name(1, labelName(label));
      if (size == 1 && want != 1 && sk != k) {
        // A static 1 broadcasts against another operand, in the ellipsis
        // and (as torch and ONNX Runtime have it) in a named label; within
        // one operand (a diagonal) the sizes must agree.
        exprs.push_back(getAffineConstantExpr(0, ctx));
        continue;
      }
      exprs.push_back(getAffineDimExpr(loopOf(label), ctx));
      if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(want)) {
        if (size != want)
          return emitError(loc)
                 << "Einsum: '" << name << "' has size " << size
                 << " in input " << k << " and " << want << " in input " << sk;
        continue;
      }
      if ((sk == k && sd == int64_t(d)) ||
          sameSize(inputs[k], d, inputs[sk], sd))
        continue;
      Value x = tensor::DimOp::create(b, loc, inputs[k], d);
      Value y = tensor::DimOp::create(b, loc, inputs[sk], sd);
      CheckOp::create(
          b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y),
          ValueRange{x, y},
          "node '" + nodeName(loc) + "': Einsum's '" +
              (label >= 52 ? std::string("...") : name) + "' has size {0} in input " +
              std::to_string(k) + " and {1} in input " + std::to_string(sk));
    }
    maps.push_back(AffineMap::get(loops.size(), 0, exprs, ctx));
  }
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  SmallVector<AffineExpr> outExprs;
  for (int label : labels.output) {
    auto [sk, sd] = source[label];
    shape.push_back(sizeOf(sk, sd));
    if (ShapedType::isDynamic(shape.back()))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, inputs[sk], sd));
    outExprs.push_back(getAffineDimExpr(loopOf(label), ctx));
  }
  maps.push_back(AffineMap::get(loops.size(), 0, outExprs, ctx));
  auto type = RankedTensorType::get(shape, element);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  Value init =
      linalg::FillOp::create(
          b, loc, zero,
          tensor::EmptyOp::create(b, loc, type, dynamicSizes).getResult())
          .getResult(0);
  SmallVector<utils::IteratorType> iterators(loops.size(),
                                             utils::IteratorType::reduction);
  std::fill_n(iterators.begin(), labels.output.size(),
              utils::IteratorType::parallel);
  bool integer = isa<IntegerType>(element);
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iterators,
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value product = a[0];
            for (Value v : a.drop_front().drop_back())
              product = integer
                            ? Value(arith::MulIOp::create(nb, l, product, v))
                            : Value(arith::MulFOp::create(nb, l, product, v));
            Value sum =
                integer ? Value(arith::AddIOp::create(nb, l, a.back(), product))
                        : Value(arith::AddFOp::create(nb, l, a.back(), product));
            linalg::YieldOp::create(nb, l, ValueRange{sum});
          })
          .getResult(0);
  return define(node, result);
}

} // namespace convc::onnx_import
