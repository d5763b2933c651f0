//===- DeriveDecodeStep.cpp - incremental decoding from a full decoder ----===//
//
// A full-sequence decoder mixes positions only in its causal convs (and
// nowhere else: projections, norms, FFNs and attention over the encoder are
// per position). So its step function is the decoder itself, at T = 1, with
// each causal conv replaced by an explicit-state step op; and what does not
// depend on the target tokens can be computed once per sequence.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"

namespace convc {
#define GEN_PASS_DEF_DERIVEDECODESTEPPASS
#include "passes/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// Adds an argument named `name` to `func`'s entry block and type.
BlockArgument addArgument(func::FuncOp func, Type type, StringRef name) {
  unsigned index = func.getNumArguments();
  if (failed(func.insertArgument(index, type,
                                 DictionaryAttr::get(func.getContext(),
                                                     {NamedAttribute(
                                                         StringAttr::get(
                                                             func.getContext(),
                                                             "convc.name"),
                                                         StringAttr::get(
                                                             func.getContext(),
                                                             name))}),
                                 func.getLoc())))
    return {};
  return func.getArgument(index);
}

/// The target tokens: `f`'s [B, T] i64 arguments.
SmallVector<Value> targetTokens(func::FuncOp f) {
  SmallVector<Value> tokens;
  for (BlockArgument arg : f.getArguments())
    if (auto type = dyn_cast<RankedTensorType>(arg.getType());
        type && type.getRank() == 2 && type.getElementType().isInteger(64))
      tokens.push_back(arg);
  return tokens;
}

/// x + bias[c] over x : [B, T, C].
Value addChannelBias(OpBuilder &b, Location loc, Value x, Value bias) {
  auto type = cast<RankedTensorType>(x.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap channel = AffineMap::get(3, 0, {getAffineDimExpr(2, ctx)}, ctx);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       type.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, bias}, ValueRange{init},
             ArrayRef<AffineMap>{identity, channel, identity},
             SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   ValueRange{arith::AddFOp::create(nb, nloc, args[0], args[1])
                                  .getResult()});
             })
      .getResult(0);
}

RankedTensorType withDims(RankedTensorType like, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, like.getElementType());
}

/// `count` plus, per row, the tokens of `embed` that are valid: not its
/// padding_idx, and inside its table (convc.embedding's rule for advancing
/// positions). Into a new tensor, the first token adding to `count` (the
/// step's input is not writable: accumulating into it took a copy per
/// step). A step has one token or more.
Value countValidTokens(OpBuilder &b, EmbeddingOp embed, Value count) {
  Location loc = embed.getLoc();
  MLIRContext *ctx = b.getContext();
  int64_t rows =
      cast<RankedTensorType>(embed.getTable().getType()).getDimSize(0);
  int64_t pad = embed.getPaddingIdx();
  AffineMap tokensMap = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap countMap = AffineMap::get(2, 0, getAffineDimExpr(0, ctx), ctx);
  auto countType = cast<RankedTensorType>(count.getType());
  SmallVector<Value> sizes;
  if (countType.isDynamicDim(0))
    sizes.push_back(tensor::DimOp::create(b, loc, count, 0));
  Value init = tensor::EmptyOp::create(b, loc, countType, sizes);
  return linalg::GenericOp::create(
             b, loc, TypeRange{count.getType()},
             ValueRange{embed.getTokens(), count}, ValueRange{init},
             ArrayRef<AffineMap>{tokensMap, countMap, countMap},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               using P = arith::CmpIPredicate;
               auto i64 = [&](int64_t v) {
                 return arith::ConstantIntOp::create(nb, l, v, 64);
               };
               Value token = args[0];
               Value valid = arith::AndIOp::create(
                   nb, l,
                   arith::AndIOp::create(
                       nb, l,
                       arith::CmpIOp::create(nb, l, P::ne, token, i64(pad)),
                       arith::CmpIOp::create(nb, l, P::sge, token, i64(0))),
                   arith::CmpIOp::create(nb, l, P::slt, token, i64(rows)));
               Value one =
                   arith::ExtUIOp::create(nb, l, nb.getI64Type(), valid);
               Value first = arith::CmpIOp::create(
                   nb, l, P::eq, linalg::IndexOp::create(nb, l, 1),
                   arith::ConstantIndexOp::create(nb, l, 0));
               Value before =
                   arith::SelectOp::create(nb, l, first, args[1], args[2]);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::AddIOp::create(nb, l, before, one)});
             })
      .getResult(0);
}

struct DeriveDecodeStepPass
    : convc::impl::DeriveDecodeStepPassBase<DeriveDecodeStepPass> {
  using DeriveDecodeStepPassBase::DeriveDecodeStepPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto decoder = module.lookupSymbol<func::FuncOp>(function);
    if (!decoder) {
      module.emitError() << "convc-derive-decode-step: no function @"
                         << function << " to derive a step from";
      return signalPassFailure();
    }
    if (succeeded(deriveStep(module, decoder)))
      return;
    if (!ifPossible)
      return signalPassFailure();
    // Leave the module as it was: the full decoder runs at every step.
    for (StringRef suffix : {"_step", "_init"})
      if (auto f = module.lookupSymbol<func::FuncOp>(function + suffix.str()))
        f.erase();
  }

  /// Why `op` keeps the decoder from stepping: an error, or with
  /// if-possible a warning (the module then keeps only the full decoder).
  LogicalResult unsupported(Operation *op, const Twine &why) {
    if (!ifPossible)
      return op->emitOpError() << why;
    op->emitWarning() << why
                      << "; no incremental decoder is derived, so the full "
                         "decoder runs on the whole prefix at every step";
    return failure();
  }

  /// Ops other than convc ones that depend on the target tokens must be
  /// per position (elementwise on the sequence), or the decoder at T = 1
  /// would not be one step of the full decoder: an imported decoder whose
  /// embedding, attention or convs were not all raised fails here.
  LogicalResult checkPerPosition(func::FuncOp decoder, ArrayRef<Value> tokens) {
    llvm::SetVector<Operation *> slice;
    for (Value t : tokens)
      getForwardSlice(t, &slice);
    Block &entry = decoder.getBody().front();
    llvm::SmallPtrSet<Operation *, 16> seen;
    for (Operation *inner : slice) {
      Operation *op = entry.findAncestorOpInBlock(*inner);
      if (!op || !seen.insert(op).second)
        continue;
      // Attention mixes its keys' time steps: over the encoder output it
      // is per (query) position, over the target tokens it would need the
      // earlier steps' keys, which no step form keeps.
      if (auto attention = dyn_cast<AttentionOp>(op)) {
        for (Value kv : {attention.getKey(), attention.getValue()})
          if (llvm::is_contained(tokens, kv) ||
              (kv.getDefiningOp() && slice.contains(kv.getDefiningOp())))
            return unsupported(op, "attends over keys or values computed "
                                   "from the target tokens (self-attention) "
                                   "and has no step form");
        continue;
      }
      if (isa<ConvcDialect>(op->getDialect()) ||
          isa<func::ReturnOp, tensor::DimOp, tensor::EmptyOp, tensor::CastOp,
              bufferization::AllocTensorOp, linalg::FillOp>(op))
        continue;
      // Shape arithmetic on sizes (and comparisons of sizes, for
      // convc.check; integer scalars, a size's clamp in i64, a float
      // Range's length), and elementwise math on tensors. What builds a
      // tensor from a size (tensor.generate, from_elements) is not among
      // these.
      if (isa<affine::AffineApplyOp, affine::AffineMinOp, affine::AffineMaxOp>(
              op))
        continue; // sizes resolved from a pad's or a slice's
      if (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) &&
          llvm::all_of(op->getResultTypes(), [](Type t) {
            return t.isIndex() || t.isSignlessInteger() ||
                   isa<FloatType, RankedTensorType>(t);
          }))
        continue;
      if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
        bool reads = false;
        generic.getBody()->walk([&](Operation *bodyOp) {
          reads |= isa<tensor::ExtractOp, linalg::IndexOp>(bodyOp);
        });
        // A 0 in a map reads a unit dim (a [1, 1, C] gain broadcast): a
        // unit time dim on the tokens' path would need an op that mixes
        // time steps first, which this check stops at.
        if (!reads && generic.getNumReductionLoops() == 0 &&
            llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap m) {
              return m.isProjectedPermutation(/*allowZeroInResults=*/true);
            }))
          continue;
      }
      return unsupported(op, "is not known to act per position (it may mix "
                             "time steps) and has no step form");
    }
    return success();
  }

  LogicalResult deriveStep(ModuleOp module, func::FuncOp decoder) {
    MLIRContext *ctx = &getContext();
    SmallVector<Value> tokens = targetTokens(decoder);
    if (tokens.empty())
      return unsupported(decoder, "has no [B, T] i64 target-token "
                                  "argument");
    // Checked on the decoder itself, before anything is built.
    if (failed(checkPerPosition(decoder, tokens)))
      return failure();

    OpBuilder top(ctx);
    top.setInsertionPointAfter(decoder);
    auto step = cast<func::FuncOp>(top.clone(*decoder));
    step.setSymName(function + "_step");
    // Per-step inputs: target tokens, then `step` and states.
    SmallVector<Value> stepInputs = targetTokens(step);
    auto batch = cast<RankedTensorType>(stepInputs[0].getType()).getDimSize(0);
    Value position = addArgument(
        step, RankedTensorType::get({batch}, IntegerType::get(ctx, 64)),
        "step");
    stepInputs.push_back(position);

    // Only what the target tokens reach steps; the rest (a conv of the
    // encoder output) is the same at every step and is hoisted below.
    llvm::SetVector<Operation *> tokenSlice;
    for (Value t : targetTokens(step))
      getForwardSlice(t, &tokenSlice);
    SmallVector<Operation *> ops;
    step.walk([&](Operation *op) {
      if (isa<ConvcDialect>(op->getDialect()) && tokenSlice.contains(op))
        ops.push_back(op);
    });
    SmallVector<Value> newStates;
    int stateIndex = 0;
    for (Operation *op : ops) {
      OpBuilder b(op);
      auto stateName = [&]() {
        return "state" + std::to_string(stateIndex++);
      };
      if (auto embed = dyn_cast<EmbeddingOp>(op)) {
        if (embed.getStart())
          continue;
        if (!embed.getSinusoidal()) { // no positions: any start serves
          embed.getStartMutable().assign(position);
          continue;
        }
        // Positions count the valid tokens before, not the steps: a pad
        // start token, or pads in a forced prefix, do not advance them in
        // the full decoder. A per-row counter state follows them.
        BlockArgument count = addArgument(
            step, RankedTensorType::get({batch}, IntegerType::get(ctx, 64)),
            stateName());
        stepInputs.push_back(count);
        embed.getStartMutable().assign(count);
        b.setInsertionPointAfter(embed);
        newStates.push_back(countValidTokens(b, embed, count));
        continue;
      }
      // LightConv and DynamicConv: a window of the last K - 1 inputs.
      auto windowStep = [&](Value input, Value result, Value weight, Value bias,
                            int64_t heads, int64_t K, int64_t padding,
                            StringRef kind, bool softmax,
                            Value outputBias = {}) -> LogicalResult {
        if (padding != K - 1)
          return unsupported(op, "is not causal (padding " +
                                     Twine(padding) + ", K - 1 = " +
                                     Twine(K - 1) +
                                     "): a decoder step exists only for "
                                     "causal convs");
        auto type = cast<RankedTensorType>(input.getType());
        BlockArgument state = addArgument(
            step, withDims(type, {batch, K - 1, type.getDimSize(2)}),
            stateName());
        stepInputs.push_back(state);
        auto stepOp =
            ConvWindowStepOp::create(b, op->getLoc(), input, state, weight,
                                     bias, heads, kind, softmax);
        Value y = stepOp.getResult();
        if (outputBias)
          y = addChannelBias(b, op->getLoc(), y, outputBias);
        result.replaceAllUsesWith(y);
        newStates.push_back(stepOp.getNewState());
        op->erase();
        return success();
      };
      if (auto conv = dyn_cast<LightweightConvOp>(op)) {
        if (failed(windowStep(
                conv.getInput(), conv.getResult(), conv.getWeight(), Value(),
                conv.getHeads(), conv.getKernelSize(), conv.getPadding(),
                "lightweight", conv.getWeightSoftmax(), conv.getBias())))
          return failure();
        continue;
      }
      // A depthwise conv is a lightweight one with a head per channel.
      if (auto conv = dyn_cast<DepthwiseConvOp>(op)) {
        if (conv.getDilation() != 1)
          return unsupported(conv, "is dilated: a decoder step exists only "
                                   "for undilated depthwise convs");
        if (failed(
                windowStep(conv.getInput(), conv.getResult(), conv.getWeight(),
                           Value(), conv.getWeight().getType().getDimSize(0),
                           conv.getKernelSize(), conv.getPadding(),
                           "lightweight", /*softmax=*/false, conv.getBias())))
          return failure();
        continue;
      }
      if (auto conv = dyn_cast<DynamicConvOp>(op)) {
        if (failed(windowStep(conv.getInput(), conv.getResult(),
                              conv.getWeight(), conv.getBias(),
                              conv.getHeads(), conv.getKernelSize(),
                              conv.getPadding(), "dynamic", true)))
          return failure();
        continue;
      }
      if (auto talk = dyn_cast<TaLKConvOp>(op)) {
        if (!talk.getCausal())
          return unsupported(talk, "is not causal: a decoder step exists "
                                   "only for causal TaLK");
        auto type = talk.getInput().getType();
        int64_t L = talk.getLeftMax();
        BlockArgument ring = addArgument(
            step, withDims(type, {batch, L + 2, type.getDimSize(2)}),
            stateName());
        stepInputs.push_back(ring);
        auto stepOp =
            TaLKStepOp::create(b, talk.getLoc(), talk.getInput(),
                               talk.getOffsets(), ring, position, L);
        talk.getResult().replaceAllUsesWith(stepOp.getResult());
        newStates.push_back(stepOp.getNewRing());
        talk.erase();
        continue;
      }
      if (isa<PrefixSumOp, WindowDiffOp, DynamicKernelConvOp>(op))
        return unsupported(op, "mixes time steps and has no step form: "
                               "decoders may use depthwise_conv, "
                               "lightweight_conv, dynamic_conv and talk_conv");
    }

    // The new states become results.
    auto ret = cast<func::ReturnOp>(step.getBody().back().getTerminator());
    unsigned firstState = ret.getNumOperands();
    ret->insertOperands(firstState, newStates);
    SmallVector<Type> results(ret.getOperandTypes());
    step.setType(FunctionType::get(ctx, step.getArgumentTypes(), results));
    for (unsigned i = 0; i < newStates.size(); ++i)
      step.setResultAttr(firstState + i, "convc.name",
                         StringAttr::get(ctx, "state" + std::to_string(i) +
                                                  ".next"));
    return hoistInvariants(module, decoder, step, stepInputs);
  }

  /// Moves the expensive values that do not depend on the per-step inputs
  /// into @F_init and passes them to @F_step as `cache<i>` inputs.
  LogicalResult hoistInvariants(ModuleOp module, func::FuncOp decoder,
                                func::FuncOp step,
                                ArrayRef<Value> stepInputs) {
    MLIRContext *ctx = &getContext();
    llvm::SetVector<Operation *> dependent;
    llvm::SmallPtrSet<Value, 16> dependentValues(stepInputs.begin(),
                                                 stepInputs.end());
    step.walk([&](Operation *op) {
      if (llvm::any_of(op->getOperands(), [&](Value v) {
            return dependentValues.contains(v);
          })) {
        dependent.insert(op);
        for (Value r : op->getResults())
          dependentValues.insert(r);
      }
    });
    // Invariant convc results (projections of the encoder output, ...) that
    // per-step computations use.
    llvm::SetVector<Value> frontier;
    for (Operation *op : dependent)
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && !dependent.contains(def) &&
            isa<ConvcDialect>(def->getDialect()))
          frontier.insert(operand);
    if (frontier.empty())
      return success();

    // @F_init: the original arguments, the invariant slice, the frontier.
    OpBuilder top(ctx);
    top.setInsertionPoint(step);
    auto init = func::FuncOp::create(
        top, step.getLoc(), function + "_init",
        FunctionType::get(ctx, decoder.getArgumentTypes(), {}));
    init.setAllArgAttrs(decoder.getAllArgAttrs());
    Block *body = init.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockEnd(body);
    IRMapping map;
    for (unsigned i = 0; i < decoder.getNumArguments(); ++i)
      map.map(step.getArgument(i), body->getArgument(i));
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(frontier.begin(), frontier.end());
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || !slice.insert(def))
        continue;
      llvm::append_range(worklist, def->getOperands());
    }
    SmallVector<Operation *> ordered(slice.begin(), slice.end());
    llvm::sort(ordered, [](Operation *a, Operation *c) {
      return a->isBeforeInBlock(c);
    });
    for (Operation *op : ordered)
      b.clone(*op, map);
    SmallVector<Value> cached;
    for (Value v : frontier)
      cached.push_back(map.lookup(v));
    func::ReturnOp::create(b, step.getLoc(), cached);
    init.setType(FunctionType::get(ctx, decoder.getArgumentTypes(),
                                   ValueRange(cached).getTypes()));
    for (unsigned i = 0; i < cached.size(); ++i)
      init.setResultAttr(i, "convc.name",
                         StringAttr::get(ctx, "cache" + std::to_string(i)));
    // @F_init takes only what it reads (not the target tokens).
    llvm::BitVector unused(init.getNumArguments());
    for (BlockArgument arg : init.getArguments())
      if (arg.use_empty())
        unused.set(arg.getArgNumber());
    if (failed(init.eraseArguments(unused)))
      return failure();

    // @F_step takes them as inputs; the invariant ops die.
    for (auto [i, value] : llvm::enumerate(frontier)) {
      BlockArgument arg =
          addArgument(step, value.getType(), "cache" + std::to_string(i));
      Value(value).replaceAllUsesWith(arg);
    }
    for (Operation *op : llvm::reverse(ordered))
      if (op->use_empty())
        op->erase();
    // @F_step keeps the per-step inputs and what it still reads.
    llvm::SmallPtrSet<Value, 8> keep(stepInputs.begin(), stepInputs.end());
    llvm::BitVector unread(step.getNumArguments());
    for (BlockArgument arg : step.getArguments())
      if (arg.use_empty() && !keep.contains(arg))
        unread.set(arg.getArgNumber());
    return step.eraseArguments(unread);
  }
};

} // namespace
