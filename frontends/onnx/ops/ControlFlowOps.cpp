//===- ControlFlowOps.cpp - If, compiled as the branch its sizes take -----===//
//
// Exporters emit If where a size decides the graph: torch (opset >= 11)
// exports `x.squeeze(d)` of a symbolic dim as
// If(Shape(x)[d] == 1, then: Squeeze(x, d), else: Identity(x)). The branches
// differ in rank, which one compiled graph cannot hold, so convc compiles one
// branch inline:
//  - a constant condition names it;
//  - a condition computed from sizes (shape arithmetic the host tracks) is
//    evaluated at probes of the symbolic dims: all 1, all 2, all 5,
//    pairwise distinct in both orders. The probes above 1 must agree; the
//    branch taken at 1 is compiled (for the squeeze, the one the user
//    wrote it for), behind a run-time check that the condition takes it
//    (other sizes fail the call with a message naming the node, never run
//    the wrong branch);
//  - a condition read from tensor data is refused.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporter.h"
#include "frontends/onnx/OpRegistry.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace convc::onnx_import {

namespace {

/// Per symbolic dim of an entry-point argument, a probe's size.
using DimProbe = std::function<int64_t(BlockArgument, int64_t)>;

/// Evaluates host arithmetic on sizes (index and integer values built from
/// tensor.dim) with the arguments' symbolic dims set by a probe. Result
/// dims of ops are reified (ops built beside them, erased with the
/// evaluator); each op then folds on its operands' values.
class SizeEvaluator : public OpBuilder::Listener {
public:
  ~SizeEvaluator() override {
    for (Operation *op : llvm::reverse(created))
      if (op->use_empty())
        op->erase();
  }

  std::optional<int64_t> evaluate(Value v, const DimProbe &probe) {
    DenseMap<Value, int64_t> memo;
    return eval(v, probe, memo, 0);
  }

  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    created.push_back(op);
  }

private:
  std::optional<int64_t> eval(Value v, const DimProbe &probe,
                              DenseMap<Value, int64_t> &memo, int depth) {
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    if (depth > 200)
      return std::nullopt;
    std::optional<int64_t> r = compute(v, probe, memo, depth + 1);
    if (r)
      memo[v] = *r;
    return r;
  }

  std::optional<int64_t> compute(Value v, const DimProbe &probe,
                                 DenseMap<Value, int64_t> &memo, int depth) {
    if (!v || !v.getType().isIntOrIndex())
      return std::nullopt;
    if (auto dim = v.getDefiningOp<tensor::DimOp>()) {
      std::optional<int64_t> index = eval(dim.getIndex(), probe, memo, depth);
      if (!index)
        return std::nullopt;
      return dimSize(dim.getSource(), *index, probe, memo, depth);
    }
    Operation *def = v.getDefiningOp();
    if (!def || def->getNumRegions() != 0)
      return std::nullopt;
    SmallVector<Attribute> operands;
    for (Value operand : def->getOperands()) {
      if (!operand.getType().isIntOrIndex())
        return std::nullopt;
      std::optional<int64_t> x = eval(operand, probe, memo, depth);
      if (!x)
        return std::nullopt;
      operands.push_back(IntegerAttr::get(operand.getType(), *x));
    }
    // With every operand a constant, the folders of the ops met here
    // (arith, affine.apply) return a constant; an in-place fold (no
    // results: at most an equivalent reordering of operands) counts as
    // not evaluated.
    SmallVector<OpFoldResult> results;
    if (failed(def->fold(operands, results)) || results.empty())
      return std::nullopt;
    OpFoldResult r = results[cast<OpResult>(v).getResultNumber()];
    if (auto value = dyn_cast<Value>(r))
      return value == v ? std::nullopt : eval(value, probe, memo, depth);
    auto attr = dyn_cast<IntegerAttr>(cast<Attribute>(r));
    if (!attr)
      return std::nullopt;
    return attr.getType().isInteger(1) ? int64_t(attr.getValue().getBoolValue())
                                       : attr.getValue().getSExtValue();
  }

  /// Dim `d` of `t`: static, a probed argument dim, or reified.
  std::optional<int64_t> dimSize(Value t, int64_t d, const DimProbe &probe,
                                 DenseMap<Value, int64_t> &memo, int depth) {
    auto type = dyn_cast<RankedTensorType>(t.getType());
    if (!type || d < 0 || d >= type.getRank())
      return std::nullopt;
    if (!type.isDynamicDim(d))
      return type.getDimSize(d);
    if (auto arg = dyn_cast<BlockArgument>(t))
      return isa<func::FuncOp>(arg.getOwner()->getParentOp())
                 ? std::optional<int64_t>(probe(arg, d))
                 : std::nullopt;
    if (auto cast = t.getDefiningOp<tensor::CastOp>())
      return dimSize(cast.getSource(), d, probe, memo, depth);
    OpResult result = cast<OpResult>(t);
    auto key = std::make_pair(result.getOwner(), result.getResultNumber());
    auto it = reified.find(key);
    if (it == reified.end()) {
      OpBuilder b(result.getOwner()->getContext(), this);
      b.setInsertionPointAfter(result.getOwner());
      ReifiedRankedShapedTypeDims dims;
      if (failed(reifyResultShapes(b, result.getOwner(), dims)))
        return std::nullopt;
      it = reified.try_emplace(key, dims[result.getResultNumber()]).first;
    }
    OpFoldResult size = it->second[d];
    if (auto attr = dyn_cast<Attribute>(size))
      return cast<IntegerAttr>(attr).getInt();
    return eval(cast<Value>(size), probe, memo, depth);
  }

  DenseMap<std::pair<Operation *, unsigned>, SmallVector<OpFoldResult>> reified;
  SmallVector<Operation *> created;
};

/// The probes: every symbolic dim 1; every one 2; every one 5; pairwise
/// distinct in both orders (dims sharing a dim_param share a size).
SmallVector<DimProbe> sizeProbes(GraphImporter &im) {
  Operation *parent = im.b.getInsertionBlock()->getParentOp();
  auto func = isa<func::FuncOp>(parent)
                  ? cast<func::FuncOp>(parent)
                  : parent->getParentOfType<func::FuncOp>();
  // Each symbolic dim's class: its dim_param, else itself.
  std::map<std::string, int64_t> classes;
  std::map<std::pair<unsigned, int64_t>, int64_t> classOf;
  for (BlockArgument arg : func.getArguments())
    for (int64_t d = 0; d < cast<RankedTensorType>(arg.getType()).getRank();
         ++d) {
      auto it = im.dimParams.find({arg, d});
      std::string key =
          it != im.dimParams.end()
              ? "param " + it->second
              : std::to_string(arg.getArgNumber()) + ":" + std::to_string(d);
      classOf[{arg.getArgNumber(), d}] =
          classes.try_emplace(key, int64_t(classes.size())).first->second;
    }
  int64_t n = int64_t(classes.size());
  auto distinct = [classOf, n](bool reversed) -> DimProbe {
    return [classOf, n, reversed](BlockArgument a, int64_t d) {
      int64_t k = classOf.at({a.getArgNumber(), d});
      return 3 + 2 * (reversed ? n - 1 - k : k);
    };
  };
  return {[](BlockArgument, int64_t) { return int64_t(1); },
          [](BlockArgument, int64_t) { return int64_t(2); },
          [](BlockArgument, int64_t) { return int64_t(5); }, distinct(false),
          distinct(true)};
}

} // namespace

LogicalResult GraphImporter::importIf(const onnx::NodeProto &node, Location loc,
                                      ArrayRef<Value> inputs) {
  const auto *thenAttr = findAttr(node, "then_branch");
  const auto *elseAttr = findAttr(node, "else_branch");
  if (!thenAttr || !elseAttr || !thenAttr->has_g() || !elseAttr->has_g())
    return emitError(loc) << "If needs then_branch and else_branch graphs";
  if (inputs.empty() || !inputs[0])
    return emitError(loc) << "If needs a condition";
  auto condType = cast<RankedTensorType>(inputs[0].getType());
  if (!condType.getElementType().isInteger(1) || !condType.hasStaticShape() ||
      condType.getNumElements() != 1)
    return emitError(loc) << "If's condition must be one bool, not "
                          << condType;
  for (const auto *branch : {thenAttr, elseAttr})
    if (branch->g().output_size() != node.output_size())
      return emitError(loc) << "If's " << branch->name() << " has "
                            << branch->g().output_size()
                            << " outputs; the node has " << node.output_size();

  // The branch: constant, or the one every size probe takes.
  std::optional<bool> taken;
  Value condSize; // the tracked condition as a host index value (0 or 1)
  DenseElementsAttr constCond;
  if (matchPattern(inputs[0], m_Constant(&constCond))) {
    taken = *constCond.getValues<bool>().begin();
  } else if (auto it = partialShapes.find(node.input(0));
             it != partialShapes.end() && it->second.size() == 1) {
    if (it->second[0].value)
      taken = *it->second[0].value != 0;
    else
      condSize = it->second[0].dim;
  }
  if (!taken && !condSize)
    return emitError(loc)
           << "If's condition is computed from tensor data: convc compiles "
              "one branch, chosen from a constant or size condition (such as "
              "torch's squeeze of a symbolic dim); compute both branches and "
              "select with Where instead";
  if (!taken) {
    // The branch taken when the symbolic dims are 1; the other probes must
    // agree among themselves (a condition that tells sizes above 1 apart is
    // not one a single branch serves).
    SizeEvaluator evaluator;
    SmallVector<int64_t> results;
    for (const DimProbe &probe : sizeProbes(*this)) {
      std::optional<int64_t> value = evaluator.evaluate(condSize, probe);
      if (!value)
        return emitError(loc) << "If's size condition could not be evaluated "
                                 "for a probe of the symbolic dims";
      results.push_back(*value);
    }
    if (!llvm::all_equal(ArrayRef(results).drop_front()))
      return emitError(loc)
             << "If's condition depends on the run-time sizes (it differs "
                "between sizes convc tried above 1); convc compiles one "
                "branch, so only conditions that tell size 1 from the others "
                "are supported";
    taken = results[0] != 0;
    bool atOne = results[0] != results[1];
    // A condition no probe met (say T > 10): sizes past the probes' may
    // take the other branch, which only the run time would tell.
    if (!atOne)
      emitWarning(loc) << "If on sizes is compiled for its "
                       << (*taken ? "then" : "else")
                       << " branch alone, which its condition takes at every "
                          "size convc tried (every symbolic dim 1, 2, 5, "
                          "and 3, 5, 7, ...); inputs whose sizes take the "
                          "other branch fail at run time, naming this node";
    Value holds = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, condSize,
        arith::ConstantIndexOp::create(b, loc, *taken ? 1 : 0));
    CheckOp::create(
        b, loc, holds, ValueRange{},
        "node '" + nodeName(loc) + "': If was compiled for its " +
            (*taken ? "then" : "else") + " branch, " +
            (atOne ? "the one its size condition takes when the symbolic "
                     "dims are 1 (as torch's squeeze of a symbolic dim "
                     "expects)"
                   : "which its size condition takes at every size convc "
                     "tried") +
            "; these run-time sizes take the other branch, which is not "
            "compiled");
  }
  const onnx::GraphProto &branch = *taken ? thenAttr->g() : elseAttr->g();
  if (failed(importSubgraph(branch, loc)))
    return failure();
  for (int i = 0; i < node.output_size(); ++i) {
    const std::string &from = branch.output(i).name();
    auto it = values.find(from);
    if (it == values.end())
      return emitError(loc) << "If's branch output '" << from
                            << "' is not computed by any node";
    if (node.output(i).empty())
      continue;
    values[node.output(i)] = it->second;
    if (auto tracked = partialShapes.find(from); tracked != partialShapes.end())
      partialShapes[node.output(i)] = tracked->second;
  }
  return success();
}

/// If.
NamedOps controlFlowOps() {
  using G = GraphImporter;
  return {{"If", opEntry(&G::importIf)}};
}

} // namespace convc::onnx_import
