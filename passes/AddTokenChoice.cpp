//===- AddTokenChoice.cpp - decode steps that choose their own tokens -----===//
//
// A search needs from each step only the best tokens and their log-probs,
// not the [N, T, V] logits. @F_step_greedy and @F_step_top<k> are @F_step
// with the choice made inside, where the logits are (on the GPU: no logits
// cross to the host):
//
//   @F_step_greedy(tokens, step, select, caches..., states...)
//       -> (tokens.next [N, 1] i64, picked [N, 2] f64, step.next [N] i64,
//           states.next...)
//
// `select` = [pad, eos, min_length, max_length]: pad is never chosen; at
// position step[n] < min_length eos is banned, at step[n] >= max_length it
// is the only choice. picked[n] = (token, log-prob): the best allowed token
// of the last position (the first on ties) and its logit minus the
// log-sum-exp of all logits, in f64 as the host generator computes it.
// `tokens.next` and `step.next` (step + 1) are the next step's inputs,
// named as the states' `state<i>.next` are (after the tokens input, however
// the decoder calls it), so a step's inputs all come from the one before:
// the runtime can replay it as a CUDA graph that copies each `x.next` back
// into `x`.
//
//   @F_step_top<k>(tokens, step, select, reorder, caches..., states...)
//       -> (candidates [N, k, 2] f64, step.next [N] i64, states.next...)
//
// gives each row's k best (token, log-prob) pairs, best first, under the
// same rules (token -1 and log-prob -inf where fewer are allowed): beam
// search over K <= k / 2 beams needs no more. Row n first takes the states
// of row reorder[n] (the beam it extends, which the host chose from the
// step before): the host feeds only the tokens and `reorder`, so the step
// too replays as a CUDA graph.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace convc {
#define GEN_PASS_DEF_ADDTOKENCHOICEPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

/// The choosing steps reduce a row's logits in chunks of at least kChunk
/// and at most kMaxChunks chunks per row.
constexpr int64_t kChunk = 32, kMaxChunks = 128;

struct AddTokenChoicePass
    : convc::impl::AddTokenChoicePassBase<AddTokenChoicePass> {
  using AddTokenChoicePassBase::AddTokenChoicePassBase;

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
      // The generator then chooses on the host from @F_step's logits.
      step.emitWarning() << "no choosing steps: @" << step.getSymName()
                         << " does not return [N, T, V] float logits first";
      return;
    }
    if (failed(addChoosingStep(step, 1)) ||
        (topK > 1 && failed(addChoosingStep(step, topK))))
      return signalPassFailure();
  }

  /// @F_step_greedy (k = 1) or @F_step_top<k>: @F_step with a `select`
  /// input, its logits replaced by the chosen tokens.
  LogicalResult addChoosingStep(func::FuncOp step, int64_t k) {
    MLIRContext *ctx = &getContext();
    OpBuilder top(ctx);
    top.setInsertionPointAfter(step);
    auto chooser = cast<func::FuncOp>(top.clone(*step));
    chooser.setSymName(function + "_step_" +
                       (k == 1 ? std::string("greedy")
                               : "top" + std::to_string(k)));
    Type i64 = IntegerType::get(ctx, 64);
    Value select =
        appendInput(chooser, RankedTensorType::get({4}, i64), "select");
    if (!select)
      return failure();
    if (k > 1 && failed(reorderStates(chooser)))
      return failure();
    Value position;
    for (unsigned i = 0; i < chooser.getNumArguments(); ++i)
      if (auto name = chooser.getArgAttrOfType<StringAttr>(i, "convc.name");
          name && name.getValue() == "step")
        position = chooser.getArgument(i);
    if (!position) {
      step.emitWarning() << "no choosing steps: @" << step.getSymName()
                         << " has no 'step' input";
      chooser.erase();
      return success();
    }
    auto ret = cast<func::ReturnOp>(chooser.getBody().back().getTerminator());
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    auto [bestTokens, pairs] =
        choose(b, loc, ret.getOperand(0), select, position, k);
    SmallVector<DictionaryAttr> resultAttrs;
    chooser.getAllResultAttrs(resultAttrs);
    SmallVector<std::string> names;
    if (k == 1) {
      // [N, 1, 2] -> [N, 2]; the tokens and positions of the next step.
      auto type = cast<RankedTensorType>(pairs.getType());
      Value picked = tensor::CollapseShapeOp::create(
          b, loc,
          RankedTensorType::get({type.getDimSize(0), 2}, b.getF64Type()),
          pairs, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
      auto tokensType = cast<RankedTensorType>(bestTokens.getType());
      Value nextTokens = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({tokensType.getDimSize(0), 1}, i64),
          bestTokens, ArrayRef<ReassociationIndices>{{0, 1}});
      ret->setOperand(0, nextTokens);
      ret->insertOperands(1, ValueRange{picked, nextStep(b, loc, position)});
      resultAttrs.insert(resultAttrs.begin() + 1, 2, DictionaryAttr::get(ctx));
      auto tokensName =
          chooser.getArgAttrOfType<StringAttr>(0, "convc.name");
      names = {(tokensName ? tokensName.str() : "input0") + ".next", "picked",
               "step.next"};
    } else {
      ret->setOperand(0, pairs);
      ret->insertOperands(1, ValueRange{nextStep(b, loc, position)});
      resultAttrs.insert(resultAttrs.begin() + 1, DictionaryAttr::get(ctx));
      names = {"candidates", "step.next"};
    }
    SmallVector<Type> results(ret.getOperandTypes());
    chooser.setType(
        FunctionType::get(ctx, chooser.getArgumentTypes(), results));
    chooser.setAllResultAttrs(resultAttrs);
    for (auto [i, name] : llvm::enumerate(names))
      chooser.setResultAttr(i, "convc.name", StringAttr::get(ctx, name));
    return success();
  }

  /// A new last input of `fn` named `name` (convc.name); null on failure.
  Value appendInput(func::FuncOp fn, Type type, StringRef name) {
    MLIRContext *ctx = &getContext();
    unsigned index = fn.getNumArguments();
    auto attrs = DictionaryAttr::get(
        ctx, {NamedAttribute(StringAttr::get(ctx, "convc.name"),
                             StringAttr::get(ctx, name))});
    if (failed(fn.insertArgument(index, type, attrs, fn.getLoc())))
      return Value();
    return fn.getArgument(index);
  }

  /// Adds the `reorder` input ([N] i64, after `select`) and makes every
  /// use of a state input (`state<i>`) read its gathered rows:
  /// state'[n, ...] = state[reorder[n], ...], the index clamped to [0, N).
  LogicalResult reorderStates(func::FuncOp chooser) {
    MLIRContext *ctx = &getContext();
    Type i64 = IntegerType::get(ctx, 64);
    auto tokensType = dyn_cast<RankedTensorType>(chooser.getArgument(0).getType());
    if (!tokensType || tokensType.getRank() < 1)
      return chooser.emitError("the step's first input (the tokens) must be "
                               "a ranked tensor [N, ...]");
    unsigned index = chooser.getNumArguments();
    Value reorder = appendInput(
        chooser, RankedTensorType::get({tokensType.getDimSize(0)}, i64),
        "reorder");
    if (!reorder)
      return failure();
    OpBuilder b = OpBuilder::atBlockBegin(&chooser.getBody().front());
    for (unsigned i = 0; i < index; ++i) {
      auto name = chooser.getArgAttrOfType<StringAttr>(i, "convc.name");
      auto type = dyn_cast<RankedTensorType>(chooser.getArgument(i).getType());
      if (!name || !name.getValue().starts_with("state") || !type ||
          type.getRank() < 1)
        continue;
      Value state = chooser.getArgument(i);
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : state.getUses())
        uses.push_back(&use);
      Value gathered = gatherRows(b, chooser.getLoc(), state, reorder);
      for (OpOperand *use : uses)
        use->set(gathered);
    }
    return success();
  }

  /// out[n, ...] = data[clamp(rows[n], 0, N - 1), ...].
  Value gatherRows(OpBuilder &b, Location loc, Value data, Value rows) {
    auto type = cast<RankedTensorType>(data.getType());
    int64_t rank = type.getRank();
    SmallVector<Value> dynamic;
    for (int64_t d = 0; d < rank; ++d)
      if (type.isDynamicDim(d))
        dynamic.push_back(tensor::DimOp::create(b, loc, data, d));
    Value init = tensor::EmptyOp::create(b, loc, type, dynamic);
    Value last = arith::SubIOp::create(
        b, loc,
        arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                   tensor::DimOp::create(b, loc, data, 0)),
        arith::ConstantIntOp::create(b, loc, 1, 64));
    MLIRContext *ctx = b.getContext();
    return linalg::GenericOp::create(
               b, loc, TypeRange{type}, ValueRange{rows}, ValueRange{init},
               ArrayRef<AffineMap>{
                   AffineMap::get(rank, 0, b.getAffineDimExpr(0), ctx),
                   AffineMap::getMultiDimIdentityMap(rank, ctx)},
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
                 Value row = arith::MaxSIOp::create(
                     nb, l, zero, arith::MinSIOp::create(nb, l, args[0], last));
                 SmallVector<Value> at = {arith::IndexCastOp::create(
                     nb, l, nb.getIndexType(), row)};
                 for (int64_t d = 1; d < rank; ++d)
                   at.push_back(linalg::IndexOp::create(nb, l, d));
                 linalg::YieldOp::create(
                     nb, l, ValueRange{tensor::ExtractOp::create(nb, l, data, at)});
               })
        .getResult(0);
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

  /// [N] tensors, the i-th filled with values[i], by one linalg.generic.
  SmallVector<Value> filledRows(OpBuilder &b, Location loc, int64_t N,
                                ValueRange dynamicN, ArrayRef<TypedAttr> values) {
    SmallVector<Value> empties;
    SmallVector<Type> types;
    for (TypedAttr value : values) {
      types.push_back(RankedTensorType::get({N}, value.getType()));
      empties.push_back(tensor::EmptyOp::create(b, loc, types.back(), dynamicN));
    }
    SmallVector<AffineMap> maps(
        values.size(), AffineMap::getMultiDimIdentityMap(1, b.getContext()));
    auto fill = linalg::GenericOp::create(
        b, loc, types, ValueRange{}, empties, maps,
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location l, ValueRange) {
          SmallVector<Value> constants;
          for (TypedAttr value : values)
            constants.push_back(arith::ConstantOp::create(nb, l, value));
          linalg::YieldOp::create(nb, l, constants);
        });
    return SmallVector<Value>(fill.getResults());
  }

  /// pairs[n, i] = (token i, its logit - (max + log(sum))): `ranked` holds
  /// the k best logits, then the k best tokens, per row.
  Value pairsOf(OpBuilder &b, Location loc, int64_t N, ValueRange dynamicN,
                int64_t k, Value max, Value sum, ValueRange ranked) {
    Type f64 = b.getF64Type();
    SmallVector<Value> pairInputs = {max, sum};
    llvm::append_range(pairInputs, ranked);
    auto pairsMap = AffineMap::get(3, 0, {b.getAffineDimExpr(0),
                                          b.getAffineDimExpr(1),
                                          b.getAffineDimExpr(2)},
                                   b.getContext());
    SmallVector<AffineMap> pairMaps(pairInputs.size(),
                                    AffineMap::get(3, 0, b.getAffineDimExpr(0)));
    pairMaps.push_back(pairsMap);
    Value pairs = tensor::EmptyOp::create(
        b, loc, RankedTensorType::get({N, k, 2}, f64), dynamicN);
    auto pick = linalg::GenericOp::create(
        b, loc, TypeRange{pairs.getType()}, pairInputs, ValueRange{pairs},
        pairMaps,
        SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value logZ = arith::AddFOp::create(
              nb, l, args[0], math::LogOp::create(nb, l, args[1]));
          Value slot = linalg::IndexOp::create(nb, l, 1);
          Value logit = args[2], token = args[2 + k];
          for (int64_t i = 1; i < k; ++i) {
            Value here = arith::CmpIOp::create(
                nb, l, arith::CmpIPredicate::eq, slot,
                arith::ConstantIndexOp::create(nb, l, i));
            logit = arith::SelectOp::create(nb, l, here, args[2 + i], logit);
            token = arith::SelectOp::create(nb, l, here, args[2 + k + i], token);
          }
          Value first = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::eq,
              linalg::IndexOp::create(nb, l, 2),
              arith::ConstantIndexOp::create(nb, l, 0));
          Value logProb = arith::SubFOp::create(nb, l, logit, logZ);
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::SelectOp::create(
                  nb, l, first, arith::SIToFPOp::create(nb, l, f64, token),
                  logProb)});
        });
    return pick.getResult(0);
  }

  /// Whether token v may be chosen at position t: never pad; before the
  /// minimum length not eos; at the maximum only eos.
  static Value allowedToken(OpBuilder &nb, Location l, Value v, Value pad,
                            Value eos, Value minLength, Value maxLength,
                            Value t) {
    auto eq = [&](Value a, Value c) {
      return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, a, c)
          .getResult();
    };
    Value yes = arith::ConstantIntOp::create(nb, l, 1, 1);
    auto no = [&](Value c) {
      return arith::XOrIOp::create(nb, l, c, yes).getResult();
    };
    Value isEos = eq(v, eos);
    Value early =
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, t, minLength);
    Value late =
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, t, maxLength);
    Value banned = arith::OrIOp::create(
        nb, l, arith::AndIOp::create(nb, l, early, isEos),
        arith::AndIOp::create(nb, l, late, no(isEos)));
    return arith::AndIOp::create(nb, l, no(eq(v, pad)), no(banned));
  }

  /// The k best logits, then their k tokens (`slots`, sorted, best first)
  /// with (x, v) inserted where `allowed` and x passes a slot's logit: a
  /// later token never passes an equal one.
  static SmallVector<Value> insertBest(OpBuilder &nb, Location l,
                                       ValueRange slots, int64_t k, Value x,
                                       Value v, Value allowed) {
    SmallVector<Value> above(k), next;
    for (int64_t i = 0; i < k; ++i)
      above[i] = arith::AndIOp::create(
          nb, l, allowed,
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x,
                                slots[i]));
    // Slot i takes x where x passes it but not slot i - 1, slot i - 1's
    // entry where x passes both, else keeps its own.
    for (int kind = 0; kind < 2; ++kind) {
      ValueRange kindSlots = slots.slice(kind * k, k);
      Value mine = kind == 0 ? x : v;
      for (int64_t i = 0; i < k; ++i) {
        Value shifted =
            i == 0 ? mine
                   : arith::SelectOp::create(nb, l, above[i - 1],
                                             kindSlots[i - 1], mine)
                         .getResult();
        next.push_back(
            arith::SelectOp::create(nb, l, above[i], shifted, kindSlots[i]));
      }
    }
    return next;
  }

  /// logits[:, T - 1, :], [N, V] (n: N).
  static Value lastPosition(OpBuilder &b, Location loc, Value logits,
                            Value n) {
    auto type = cast<RankedTensorType>(logits.getType());
    int64_t N = type.getDimSize(0), V = type.getDimSize(2);
    Value t = tensor::DimOp::create(b, loc, logits, 1);
    Value last = arith::SubIOp::create(
        b, loc, t, arith::ConstantIndexOp::create(b, loc, 1));
    OpFoldResult rowsSize =
        N == ShapedType::kDynamic ? OpFoldResult(n) : b.getIndexAttr(N);
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({N, V}, type.getElementType()), logits,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), last, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rowsSize, b.getIndexAttr(1), b.getIndexAttr(V)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  }

  /// The best allowed tokens [N] and the `k` best (token, log-prob) pairs
  /// [N, k, 2], best first, of `logits`' last position under `select`
  /// (missing ones: token -1, log-prob -inf).
  std::pair<Value, Value> choose(OpBuilder &b, Location loc, Value logits,
                                 Value select, Value position, int64_t k) {
    auto type = cast<RankedTensorType>(logits.getType());
    Type f64 = b.getF64Type(), i64 = b.getI64Type();
    int64_t V = type.getDimSize(2), N = type.getDimSize(0);
    Value n = tensor::DimOp::create(b, loc, logits, 0);
    Value rows = lastPosition(b, loc, logits, n);
    auto toF64 = [&](OpBuilder &nb, Location l, Value x) -> Value {
      return x.getType() == f64 ? x : arith::ExtFOp::create(nb, l, f64, x);
    };
    SmallVector<Value> dynamicN;
    if (N == ShapedType::kDynamic)
      dynamicN.push_back(n);
    double inf = std::numeric_limits<double>::infinity();
    // The reductions' starting values, [N] each, made by one kernel rather
    // than a fill each: the max and the k best logits -inf, the k best
    // tokens -1, the sum 0.
    SmallVector<TypedAttr> starts(1 + k, b.getF64FloatAttr(-inf));
    starts.append(k, b.getI64IntegerAttr(-1));
    starts.push_back(b.getF64FloatAttr(0));
    SmallVector<Value> inits = filledRows(b, loc, N, dynamicN, starts);
    auto rowMap = AffineMap::get(2, 0, b.getAffineDimExpr(0));
    auto at = [&](int64_t i) {
      return AffineMap::get(2, 0, b.getAffineConstantExpr(i));
    };
    SmallVector<utils::IteratorType> reduce = {utils::IteratorType::parallel,
                                               utils::IteratorType::reduction};
    SmallVector<utils::IteratorType> both(2, utils::IteratorType::parallel);
    // The row splits into P chunks of C logits, one work item each (a row
    // alone would be one thread's loop over V on the GPU), and the chunks'
    // results merge in chunk order.
    int64_t C = std::max<int64_t>(kChunk, (V + kMaxChunks - 1) / kMaxChunks);
    int64_t P = (V + C - 1) / C;
    SmallVector<Value> chunkSizes = dynamicN;
    auto chunkType = [&](Type e) { return RankedTensorType::get({N, P}, e); };
    auto chunkMap = AffineMap::getMultiDimIdentityMap(2, b.getContext());
    // Over chunk p of row n: body(v, x, state) for v in the chunk, from
    // `start` (x: logit v in f64).
    auto overChunk = [&](OpBuilder &nb, Location l, ValueRange start,
                         function_ref<SmallVector<Value>(
                             OpBuilder &, Location, Value, Value, ValueRange)>
                             body) {
      Value n = linalg::IndexOp::create(nb, l, 0);
      Value lo = arith::MulIOp::create(nb, l, linalg::IndexOp::create(nb, l, 1),
                                       arith::ConstantIndexOp::create(nb, l, C));
      Value hi = arith::MinSIOp::create(
          nb, l, arith::AddIOp::create(nb, l, lo,
                                       arith::ConstantIndexOp::create(nb, l, C)),
          arith::ConstantIndexOp::create(nb, l, V));
      auto loop = scf::ForOp::create(
          nb, l, lo, hi, arith::ConstantIndexOp::create(nb, l, 1), start,
          [&](OpBuilder &fb, Location fl, Value c, ValueRange state) {
            Value x = toF64(fb, fl, tensor::ExtractOp::create(
                                        fb, fl, rows, ValueRange{n, c}));
            Value v = arith::IndexCastOp::create(fb, fl, i64, c);
            scf::YieldOp::create(fb, fl, body(fb, fl, v, x, state));
          });
      return SmallVector<Value>(loop.getResults());
    };
    // One pass: the max of all logits (for the log-sum-exp) and the k best
    // allowed tokens with their logits, kept sorted (an insertion per
    // token: a later token never passes an equal one), per chunk.
    SmallVector<Type> bestTypes(1 + k, chunkType(f64));
    bestTypes.append(k, chunkType(i64));
    SmallVector<Value> bestOuts;
    for (Type t : bestTypes)
      bestOuts.push_back(tensor::EmptyOp::create(b, loc, t, chunkSizes));
    SmallVector<AffineMap> bestMaps = {at(0), at(1), at(2), at(3),
                                       rowMap};
    bestMaps.append(1 + 2 * k, chunkMap);
    auto best = linalg::GenericOp::create(
        b, loc, bestTypes, ValueRange{select, select, select, select, position},
        bestOuts, bestMaps, both,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value pad = args[0], eos = args[1], minLength = args[2],
                maxLength = args[3], t = args[4];
          SmallVector<Value> start;
          for (TypedAttr a : ArrayRef<TypedAttr>(starts).take_front(1 + 2 * k))
            start.push_back(arith::ConstantOp::create(nb, l, a));
          linalg::YieldOp::create(
              nb, l,
              overChunk(nb, l, start,
                        [&](OpBuilder &fb, Location fl, Value v, Value x,
                            ValueRange cur) {
                          Value allowed = allowedToken(fb, fl, v, pad, eos,
                                                       minLength, maxLength, t);
                          SmallVector<Value> next = {
                              arith::MaximumFOp::create(fb, fl, cur[0], x)};
                          llvm::append_range(
                              next, insertBest(fb, fl, cur.drop_front(), k, x,
                                               v, allowed));
                          return next;
                        }));
        });
    // The chunks merged in order: their maxima, and each chunk's k best
    // inserted best first (an equal logit from a later chunk never passes).
    SmallVector<Value> bestInits(inits.begin(), inits.begin() + 1 + 2 * k);
    SmallVector<AffineMap> mergeMaps(1 + 2 * k, chunkMap);
    mergeMaps.append(1 + 2 * k, rowMap);
    auto merged = linalg::GenericOp::create(
        b, loc, ValueRange(bestInits).getTypes(), best.getResults(), bestInits,
        mergeMaps, reduce, [&](OpBuilder &nb, Location l, ValueRange args) {
          ValueRange in = args.take_front(1 + 2 * k),
                     cur = args.drop_front(1 + 2 * k);
          Value max = arith::MaximumFOp::create(nb, l, cur[0], in[0]);
          SmallVector<Value> slots(cur.drop_front());
          Value yes = arith::ConstantIntOp::create(nb, l, 1, 1);
          for (int64_t j = 0; j < k; ++j)
            slots = insertBest(nb, l, slots, k, in[1 + j], in[1 + k + j], yes);
          SmallVector<Value> next = {max};
          llvm::append_range(next, slots);
          linalg::YieldOp::create(nb, l, next);
        });
    Value max = merged.getResult(0);
    // Sum of exp(x - max) over the row: per chunk, then in chunk order.
    auto chunkSums = linalg::GenericOp::create(
        b, loc, TypeRange{chunkType(f64)}, ValueRange{max},
        ValueRange{tensor::EmptyOp::create(b, loc, chunkType(f64), chunkSizes)},
        ArrayRef<AffineMap>{rowMap, chunkMap}, both,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value zero = arith::ConstantOp::create(nb, l, starts.back());
          linalg::YieldOp::create(
              nb, l,
              overChunk(nb, l, zero,
                        [&](OpBuilder &fb, Location fl, Value, Value x,
                            ValueRange acc) {
                          Value e = math::ExpOp::create(
                              fb, fl, arith::SubFOp::create(fb, fl, x, args[0]));
                          return SmallVector<Value>{
                              arith::AddFOp::create(fb, fl, acc[0], e)};
                        }));
        });
    auto sum = linalg::GenericOp::create(
        b, loc, TypeRange{RankedTensorType::get({N}, f64)},
        chunkSums.getResults(), ValueRange{inits.back()},
        ArrayRef<AffineMap>{chunkMap, rowMap}, reduce,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::AddFOp::create(nb, l, args[1], args[0])});
        });
    SmallVector<Value> ranked;
    for (int64_t i = 0; i < 2 * k; ++i)
      ranked.push_back(merged.getResult(1 + i));
    Value pairs = pairsOf(b, loc, type.getDimSize(0), dynamicN, k, max,
                          sum.getResult(0), ranked);
    return {merged.getResult(1 + k), pairs};
  }
};

} // namespace
