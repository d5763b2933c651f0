//===- AddGreedyStep.cpp - a decode step that picks its own token ---------===//
//
// Greedy decoding needs from each step only the best token and its log-prob,
// not the [N, T, V] logits. @F_step_greedy is @F_step with the choice made
// inside, where the logits are (on the GPU: no logits cross to the host):
//
//   @F_step_greedy(tokens, step, select, caches..., states...)
//       -> (next_tokens [N, 1] i64, picked [N, 2] f64, next_step [N] i64,
//           states.next...)
//
// `select` = [pad, eos, min_length, max_length]: pad is never chosen; at
// position step[n] < min_length eos is banned, at step[n] >= max_length it
// is the only choice. picked[n] = (token, log-prob): the best allowed token
// of the last position (the first on ties) and its logit minus the
// log-sum-exp of all logits, in f64 as the host generator computes it.
// `next_tokens` and `next_step` (step + 1) are the next step's inputs, so a
// step's inputs all come from the one before: the runtime can replay it as
// a CUDA graph that copies them back.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace convc {
#define GEN_PASS_DEF_ADDGREEDYSTEPPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

struct AddGreedyStepPass
    : convc::impl::AddGreedyStepPassBase<AddGreedyStepPass> {
  using AddGreedyStepPassBase::AddGreedyStepPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto step = module.lookupSymbol<func::FuncOp>(function + "_step");
    if (!step)
      return; // no step derived: nothing to add
    auto ret = cast<func::ReturnOp>(step.getBody().back().getTerminator());
    auto logitsType = ret.getNumOperands()
                          ? dyn_cast<RankedTensorType>(ret.getOperand(0).getType())
                          : RankedTensorType();
    if (!logitsType || logitsType.getRank() != 3 ||
        !isa<FloatType>(logitsType.getElementType()) ||
        logitsType.isDynamicDim(2)) {
      // The generator then selects on the host from @F_step's logits.
      step.emitWarning() << "no greedy step: @" << step.getSymName()
                         << " does not return [N, T, V] float logits first";
      return;
    }
    OpBuilder top(&getContext());
    top.setInsertionPointAfter(step);
    auto greedy = cast<func::FuncOp>(top.clone(*step));
    greedy.setSymName(function + "_step_greedy");
    MLIRContext *ctx = &getContext();
    Type i64 = IntegerType::get(ctx, 64);
    unsigned selectIndex = greedy.getNumArguments();
    if (failed(greedy.insertArgument(
            selectIndex, RankedTensorType::get({4}, i64),
            DictionaryAttr::get(ctx, {NamedAttribute(
                                         StringAttr::get(ctx, "convc.name"),
                                         StringAttr::get(ctx, "select"))}),
            greedy.getLoc())))
      return signalPassFailure();
    Value select = greedy.getArgument(selectIndex);
    Value position;
    for (unsigned i = 0; i < greedy.getNumArguments(); ++i)
      if (auto name = greedy.getArgAttrOfType<StringAttr>(i, "convc.name");
          name && name.getValue() == "step")
        position = greedy.getArgument(i);
    if (!position) {
      step.emitWarning() << "no greedy step: @" << step.getSymName()
                         << " has no 'step' input";
      greedy.erase();
      return;
    }

    ret = cast<func::ReturnOp>(greedy.getBody().back().getTerminator());
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    auto [nextTokens, picked] =
        choose(b, loc, ret.getOperand(0), select, position);
    ret->setOperand(0, nextTokens);
    ret->insertOperands(1, ValueRange{picked, nextStep(b, loc, position)});
    SmallVector<Type> results(ret.getOperandTypes());
    SmallVector<DictionaryAttr> resultAttrs;
    greedy.getAllResultAttrs(resultAttrs);
    resultAttrs.insert(resultAttrs.begin() + 1, 2, DictionaryAttr::get(ctx));
    greedy.setType(
        FunctionType::get(ctx, greedy.getArgumentTypes(), results));
    greedy.setAllResultAttrs(resultAttrs);
    greedy.setResultAttr(0, "convc.name", StringAttr::get(ctx, "next_tokens"));
    greedy.setResultAttr(1, "convc.name", StringAttr::get(ctx, "picked"));
    greedy.setResultAttr(2, "convc.name", StringAttr::get(ctx, "next_step"));
  }

  /// step + 1.
  Value nextStep(OpBuilder &b, Location loc, Value position) {
    auto type = cast<RankedTensorType>(position.getType());
    SmallVector<Value> dynamic;
    if (type.isDynamicDim(0))
      dynamic.push_back(tensor::DimOp::create(b, loc, position, 0));
    Value empty = tensor::EmptyOp::create(b, loc, type, dynamic);
    auto map = AffineMap::getMultiDimIdentityMap(1, b.getContext());
    return linalg::GenericOp::create(
               b, loc, TypeRange{type}, ValueRange{position}, ValueRange{empty},
               ArrayRef<AffineMap>{map, map},
               ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value one = arith::ConstantIntOp::create(nb, l, 1, 64);
                 linalg::YieldOp::create(
                     nb, l, ValueRange{arith::AddIOp::create(nb, l, args[0], one)});
               })
        .getResult(0);
  }

  /// The next tokens [N, 1] and (token, log-prob) pairs [N, 2] of `logits`'
  /// last position under `select`.
  std::pair<Value, Value> choose(OpBuilder &b, Location loc, Value logits,
                                 Value select, Value position) {
    auto type = cast<RankedTensorType>(logits.getType());
    Type f64 = b.getF64Type(), i64 = b.getI64Type();
    int64_t V = type.getDimSize(2);
    // [N, V]: the last position.
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value n = tensor::DimOp::create(b, loc, logits, 0);
    Value t = tensor::DimOp::create(b, loc, logits, 1);
    Value last = arith::SubIOp::create(b, loc, t, one);
    int64_t N = type.getDimSize(0);
    auto rowsType = RankedTensorType::get({N, V}, type.getElementType());
    OpFoldResult rowsSize =
        N == ShapedType::kDynamic ? OpFoldResult(n) : b.getIndexAttr(N);
    Value rows = tensor::ExtractSliceOp::create(
        b, loc, rowsType, logits,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), last, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rowsSize, b.getIndexAttr(1), b.getIndexAttr(V)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
    auto toF64 = [&](OpBuilder &nb, Location l, Value x) -> Value {
      return x.getType() == f64 ? x : arith::ExtFOp::create(nb, l, f64, x);
    };
    SmallVector<Value> dynamicN;
    if (N == ShapedType::kDynamic)
      dynamicN.push_back(n);
    auto filled = [&](Type element, TypedAttr value) {
      Value empty = tensor::EmptyOp::create(
          b, loc, RankedTensorType::get({N}, element), dynamicN);
      Value init = arith::ConstantOp::create(b, loc, value);
      return linalg::FillOp::create(b, loc, init, empty).getResult(0);
    };
    double inf = std::numeric_limits<double>::infinity();
    auto rowsMap = AffineMap::getMultiDimIdentityMap(2, b.getContext());
    auto rowMap = AffineMap::get(2, 0, b.getAffineDimExpr(0));
    auto at = [&](int64_t i) {
      return AffineMap::get(2, 0, b.getAffineConstantExpr(i));
    };
    SmallVector<utils::IteratorType> reduce = {utils::IteratorType::parallel,
                                               utils::IteratorType::reduction};
    // One pass: the max of all logits (for the log-sum-exp) and the best
    // allowed token with its logit.
    auto best = linalg::GenericOp::create(
        b, loc,
        TypeRange{RankedTensorType::get({N}, f64),
                  RankedTensorType::get({N}, f64),
                  RankedTensorType::get({N}, i64)},
        ValueRange{rows, select, select, select, select, position},
        ValueRange{filled(f64, b.getF64FloatAttr(-inf)),
                   filled(f64, b.getF64FloatAttr(-inf)),
                   filled(i64, b.getI64IntegerAttr(-1))},
        ArrayRef<AffineMap>{rowsMap, at(0), at(1), at(2), at(3), rowMap,
                            rowMap, rowMap, rowMap},
        reduce, [&](OpBuilder &nb, Location l, ValueRange args) {
          Value x = toF64(nb, l, args[0]);
          Value pad = args[1], eos = args[2], minLength = args[3],
                maxLength = args[4], t = args[5];
          Value cur = args[6], curBest = args[7], curToken = args[8];
          Value v = arith::IndexCastOp::create(
              nb, l, i64, linalg::IndexOp::create(nb, l, 1));
          auto eq = [&](Value a, Value c) {
            return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, a, c)
                .getResult();
          };
          Value isEos = eq(v, eos);
          Value notPad = arith::XOrIOp::create(
              nb, l, eq(v, pad), arith::ConstantIntOp::create(nb, l, 1, 1));
          // Before the minimum length not eos; at the maximum only eos.
          Value early = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                              t, minLength);
          Value last = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                             t, maxLength);
          Value banned = arith::AndIOp::create(nb, l, early, isEos);
          Value forcedOut = arith::AndIOp::create(
              nb, l, last,
              arith::XOrIOp::create(nb, l, isEos,
                                    arith::ConstantIntOp::create(nb, l, 1, 1)));
          Value allowed = arith::AndIOp::create(
              nb, l, notPad,
              arith::XOrIOp::create(
                  nb, l, arith::OrIOp::create(nb, l, banned, forcedOut),
                  arith::ConstantIntOp::create(nb, l, 1, 1)));
          Value max = arith::MaximumFOp::create(nb, l, cur, x);
          Value better = arith::AndIOp::create(
              nb, l, allowed,
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x,
                                    curBest));
          linalg::YieldOp::create(
              nb, l,
              ValueRange{max,
                         arith::SelectOp::create(nb, l, better, x, curBest),
                         arith::SelectOp::create(nb, l, better, v, curToken)});
        });
    Value max = best.getResult(0), bestLogit = best.getResult(1),
          bestToken = best.getResult(2);
    // Sum of exp(x - max) over the row.
    auto sum = linalg::GenericOp::create(
        b, loc, TypeRange{RankedTensorType::get({N}, f64)},
        ValueRange{rows, max}, ValueRange{filled(f64, b.getF64FloatAttr(0))},
        ArrayRef<AffineMap>{rowsMap, rowMap, rowMap}, reduce,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value x = toF64(nb, l, args[0]);
          Value e = math::ExpOp::create(
              nb, l, arith::SubFOp::create(nb, l, x, args[1]));
          linalg::YieldOp::create(nb, l,
                                  ValueRange{arith::AddFOp::create(
                                      nb, l, args[2], e)});
        });
    // picked[n] = (token, logit - (max + log(sum))).
    Value pairs = tensor::EmptyOp::create(
        b, loc, RankedTensorType::get({N, 2}, f64), dynamicN);
    auto pick = linalg::GenericOp::create(
        b, loc, TypeRange{pairs.getType()},
        ValueRange{bestToken, bestLogit, max, sum.getResult(0)},
        ValueRange{pairs},
        ArrayRef<AffineMap>{rowMap, rowMap, rowMap, rowMap, rowsMap},
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value token = arith::SIToFPOp::create(nb, l, f64, args[0]);
          Value logZ = arith::AddFOp::create(
              nb, l, args[2], math::LogOp::create(nb, l, args[3]));
          Value logProb = arith::SubFOp::create(nb, l, args[1], logZ);
          Value first = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::eq,
              linalg::IndexOp::create(nb, l, 1),
              arith::ConstantIndexOp::create(nb, l, 0));
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::SelectOp::create(nb, l, first, token, logProb)});
        });
    Value nextTokens = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({N, 1}, i64), bestToken,
        ArrayRef<ReassociationIndices>{{0, 1}});
    return {nextTokens, pick.getResult(0)};
  }
};

} // namespace
