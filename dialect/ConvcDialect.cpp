//===- ConvcDialect.cpp - convc dialect, verifiers, type inference -------===//
//
// One translation unit for the whole dialect: MLIR headers dominate compile
// time, so fewer, larger files build faster on small machines.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace convc;

#include "dialect/ConvcDialect.cpp.inc"
#include "dialect/ConvcEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/ConvcAttrs.cpp.inc"

namespace {
/// A computation whose results nobody uses is dead even when it holds
/// per-element checks (`convc.check {continues}`, a Gather's index check):
/// they report on values that are never read. Upstream DCE keeps it,
/// because the checks write; raising leaves such gathers behind.
struct EraseDeadCheckedComputation : RewritePattern {
  EraseDeadCheckedComputation(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (op->getNumResults() == 0 || !op->use_empty() ||
        op->getNumRegions() == 0 ||
        !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        llvm::any_of(op->getOperandTypes(),
                     [](Type t) { return isa<BaseMemRefType>(t); }))
      return failure();
    bool checks = false;
    WalkResult walk = op->walk([&](Operation *inner) {
      if (inner == op ||
          inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return WalkResult::advance();
      if (auto check = dyn_cast<CheckOp>(inner); check && check.getContinues()) {
        checks = true;
        return WalkResult::advance();
      }
      return isMemoryEffectFree(inner) ? WalkResult::advance()
                                       : WalkResult::interrupt();
    });
    if (!checks || walk.wasInterrupted())
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

/// A check whose condition folded to true cannot fail: a size compared with
/// itself, or sizes canonicalization proved equal after raising replaced
/// what they were read from.
struct EraseCheckOfTrue : OpRewritePattern<CheckOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CheckOp check,
                                PatternRewriter &rewriter) const override {
    if (!matchPattern(check.getCondition(), m_One()))
      return failure();
    rewriter.eraseOp(check);
    return success();
  }
};
} // namespace

void ConvcDialect::getCanonicalizationPatterns(
    RewritePatternSet &results) const {
  results.add<EraseDeadCheckedComputation, EraseCheckOfTrue>(getContext());
}

void ConvcDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/ConvcAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/ConvcOps.cpp.inc"
      >();
}

Operation *ConvcDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

//===----------------------------------------------------------------------===//
// Verification helpers shared by the conv family. Each message names the rule
// that failed, so a user can tell what to change.
//===----------------------------------------------------------------------===//

namespace {

bool isStatic(int64_t dim) { return !ShapedType::isDynamic(dim); }

std::string formatDim(int64_t dim) {
  return isStatic(dim) ? std::to_string(dim) : std::string("?");
}

/// Channels are the innermost (SIMD / thread) axis; head rules need them static.
FailureOr<int64_t> getStaticChannels(Operation *op, RankedTensorType type,
                                     StringRef what) {
  int64_t channels = type.getDimSize(type.getRank() - 1);
  if (!isStatic(channels))
    return op->emitOpError() << "channel dimension of the " << what
                             << " must be static, got " << type;
  return channels;
}

LogicalResult verifyHeads(Operation *op, int64_t channels, int64_t heads) {
  if (heads < 1)
    return op->emitOpError() << "heads must be >= 1, got " << heads;
  if (channels % heads != 0)
    return op->emitOpError()
           << "channels must be divisible by heads (C % H != 0): C = "
           << channels << ", H = " << heads;
  return success();
}

LogicalResult verifyKernelSize(Operation *op, int64_t kernelSize) {
  if (!isStatic(kernelSize))
    return op->emitOpError() << "kernel size K must be static";
  if (kernelSize < 1)
    return op->emitOpError() << "kernel size K must be >= 1, got "
                             << kernelSize;
  return success();
}

LogicalResult verifyPadding(Operation *op, int64_t padding,
                            int64_t kernelSize) {
  if (padding < 0 || padding >= kernelSize)
    return op->emitOpError() << "padding out of range: must be in [0, K) = [0, "
                             << kernelSize << "), got " << padding;
  return success();
}

/// The operands (by default all) share the first operand's element type.
LogicalResult verifyElementTypes(Operation *op,
                                 std::optional<unsigned> count = std::nullopt) {
  Type expected = getElementTypeOrSelf(op->getOperand(0).getType());
  for (OpOperand &operand :
       op->getOpOperands().take_front(count.value_or(op->getNumOperands())))
    if (getElementTypeOrSelf(operand.get().getType()) != expected)
      return op->emitOpError()
             << "element type mismatch: operand #" << operand.getOperandNumber()
             << " has " << getElementTypeOrSelf(operand.get().getType())
             << ", the input has " << expected;
  return success();
}

LogicalResult verifyWeightShape(Operation *op, RankedTensorType weight,
                                ArrayRef<int64_t> expected,
                                StringRef layout) {
  for (auto [i, dim] : llvm::enumerate(expected)) {
    int64_t actual = weight.getDimSize(i);
    if (isStatic(dim) && isStatic(actual) && actual != dim) {
      InFlightDiagnostic diag = op->emitOpError()
                                << "weight shape mismatch: expected " << layout
                                << " = [";
      llvm::interleaveComma(expected, diag,
                            [&](int64_t d) { diag << formatDim(d); });
      return diag << "], got " << weight;
    }
  }
  return success();
}

/// Parameters (weights, biases, norm scales) have static shapes: the
/// lowering reads fixed counts from them and nothing else could bound them.
LogicalResult verifyStaticParameter(Operation *op, Value value,
                                    StringRef what) {
  if (value && !cast<RankedTensorType>(value.getType()).hasStaticShape())
    return op->emitOpError() << "the " << what
                             << " must have a static shape, got "
                             << value.getType();
  return success();
}

LogicalResult verifyBias(Operation *op, Value bias, int64_t expected,
                         StringRef layout) {
  if (!bias)
    return success();
  if (failed(verifyStaticParameter(op, bias, "bias")))
    return failure();
  int64_t actual = cast<RankedTensorType>(bias.getType()).getDimSize(0);
  if (isStatic(actual) && actual != expected)
    return op->emitOpError() << "bias shape mismatch: expected " << layout
                             << " = [" << expected << "], got "
                             << bias.getType();
  return success();
}

/// Batch and time of a second per-position operand must agree with the input.
LogicalResult verifySameBatchAndTime(Operation *op, RankedTensorType input,
                                     RankedTensorType other, StringRef what) {
  for (int64_t i = 0; i < 2; ++i) {
    int64_t a = input.getDimSize(i), b = other.getDimSize(i);
    if (isStatic(a) && isStatic(b) && a != b)
      return op->emitOpError()
             << what << " must match the input in batch and time: input is "
             << input << ", " << what << " is " << other;
  }
  return success();
}

/// Rules shared by talk_conv and window_diff.
LogicalResult verifyTaLK(Operation *op, RankedTensorType input,
                         RankedTensorType offsets, int64_t leftMax,
                         int64_t rightMax, bool causal) {
  if (failed(verifyElementTypes(op)))
    return failure();
  if (leftMax < 0 || rightMax < 0)
    return op->emitOpError() << "left_max and right_max must be >= 0, got "
                             << leftMax << " and " << rightMax;
  // Kn = Lmax + Rmax + 1 must not overflow; a window of 2^30 tokens is
  // longer than any sequence already.
  constexpr int64_t kMaxReach = int64_t(1) << 30;
  if (leftMax > kMaxReach || rightMax > kMaxReach)
    return op->emitOpError() << "left_max and right_max must be at most 2^30, "
                                "got "
                             << leftMax << " and " << rightMax;
  if (causal && rightMax != 0)
    return op->emitOpError()
           << "causal TaLK looks at no future token: right_max must be 0, got "
           << rightMax;
  FailureOr<int64_t> channels = getStaticChannels(op, input, "input");
  if (failed(channels))
    return failure();
  FailureOr<int64_t> width = getStaticChannels(op, offsets, "offsets");
  if (failed(width))
    return failure();
  if (failed(verifySameBatchAndTime(op, input, offsets, "offsets")))
    return failure();
  if (!causal && *width % 2 != 0)
    return op->emitOpError()
           << "non-causal offsets hold a left and a right offset per head "
              "([B, T, 2H]): the last dimension must be even, got "
           << *width;
  int64_t heads = causal ? *width : *width / 2;
  return verifyHeads(op, *channels, heads);
}

} // namespace

//===----------------------------------------------------------------------===//
// Result type inference: every op but glu keeps its first operand's type.
//===----------------------------------------------------------------------===//

#define CONVC_SAME_TYPE_AS_INPUT_FN(OP)                                        \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,  \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {        \
    results.push_back(adaptor.getOperands().front().getType());               \
    return success();                                                          \
  }
#define CONVC_SAME_TYPE_AS_INPUT(OP)                                           \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,  \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {        \
    results.push_back(adaptor.getOperands().front().getType());               \
    return success();                                                          \
  }
CONVC_SAME_TYPE_AS_INPUT(DepthwiseConvOp)
CONVC_SAME_TYPE_AS_INPUT(LightweightConvOp)
CONVC_SAME_TYPE_AS_INPUT(DynamicConvOp)
CONVC_SAME_TYPE_AS_INPUT(TaLKConvOp)
CONVC_SAME_TYPE_AS_INPUT(KernelSoftmaxOp)
CONVC_SAME_TYPE_AS_INPUT(DynamicKernelConvOp)
CONVC_SAME_TYPE_AS_INPUT(PrefixSumOp)
CONVC_SAME_TYPE_AS_INPUT(WindowDiffOp)

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto weight = dyn_cast<RankedTensorType>(adaptor.getWeight().getType());
  if (!input || !weight || input.getRank() < 1 || weight.getRank() != 2)
    return emitOptionalError(location, "convc.linear needs a ranked input "
                                       "and a 2-D weight");
  SmallVector<int64_t> shape(input.getShape());
  int64_t width = weight.getDimSize(0);
  if (adaptor.getActivation() == Activation::glu && isStatic(width))
    width /= 2; // An odd width is reported by the verifier.
  shape.back() = width;
  results.push_back(input.clone(shape));
  return success();
}

CONVC_SAME_TYPE_AS_INPUT_FN(LayerNormOp)
CONVC_SAME_TYPE_AS_INPUT_FN(AttentionOp)

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto tokens = dyn_cast<RankedTensorType>(adaptor.getTokens().getType());
  auto table = dyn_cast<RankedTensorType>(adaptor.getTable().getType());
  if (!tokens || !table || tokens.getRank() != 2 || table.getRank() != 2)
    return emitOptionalError(location, "convc.embedding needs [B, T] tokens "
                                       "and a [V, d] table");
  results.push_back(RankedTensorType::get(
      {tokens.getDimSize(0), tokens.getDimSize(1), table.getDimSize(1)},
      table.getElementType()));
  return success();
}

LogicalResult GLUOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> location,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!type || type.getRank() == 0)
    return emitOptionalError(location, "convc.glu needs a ranked tensor input");
  SmallVector<int64_t> shape(type.getShape());
  if (isStatic(shape.back()))
    shape.back() /= 2; // An odd size is reported by the verifier.
  results.push_back(type.clone(shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

LogicalResult CheckOp::verify() {
  if (getValues().size() > 2)
    return emitOpError("carries at most two values, got ")
           << getValues().size();
  if (!getContinues() &&
      !isa_and_nonnull<FunctionOpInterface>(getOperation()->getParentOp()))
    return emitOpError("must be directly in a function body (the failure "
                       "returns from it), or marked `continues`");
  return success();
}

LogicalResult DepthwiseConvOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  FailureOr<int64_t> channels =
      getStaticChannels(*this, getInput().getType(), "input");
  if (failed(channels))
    return failure();
  int64_t kernelSize = getKernelSize();
  if (failed(verifyWeightShape(*this, getWeight().getType(),
                               {*channels, ShapedType::kDynamic}, "[C, K]")) ||
      failed(verifyKernelSize(*this, kernelSize)) ||
      failed(verifyStaticParameter(*this, getWeight(), "weight")))
    return failure();
  if (getDilation() < 1)
    return emitOpError() << "dilation must be >= 1, got " << getDilation();
  if (failed(verifyPadding(*this, getPadding(), kernelSize)))
    return failure();
  return verifyBias(*this, getBias(), *channels, "[C]");
}

LogicalResult LightweightConvOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  FailureOr<int64_t> channels =
      getStaticChannels(*this, getInput().getType(), "input");
  if (failed(channels) || failed(verifyHeads(*this, *channels, getHeads())))
    return failure();
  int64_t kernelSize = getKernelSize();
  if (failed(verifyWeightShape(*this, getWeight().getType(),
                               {getHeads(), ShapedType::kDynamic}, "[H, K]")) ||
      failed(verifyKernelSize(*this, kernelSize)) ||
      failed(verifyStaticParameter(*this, getWeight(), "weight")) ||
      failed(verifyPadding(*this, getPadding(), kernelSize)))
    return failure();
  return verifyBias(*this, getBias(), *channels, "[C]");
}

LogicalResult DynamicConvOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  FailureOr<int64_t> channels =
      getStaticChannels(*this, getInput().getType(), "input");
  if (failed(channels) || failed(verifyHeads(*this, *channels, getHeads())) ||
      failed(verifyKernelSize(*this, getKernelSize())))
    return failure();
  int64_t logits = getHeads() * getKernelSize();
  if (failed(verifyWeightShape(*this, getWeight().getType(),
                               {logits, *channels}, "[H*K, C]")) ||
      failed(verifyStaticParameter(*this, getWeight(), "weight")) ||
      failed(verifyPadding(*this, getPadding(), getKernelSize())))
    return failure();
  return verifyBias(*this, getBias(), logits, "[H*K]");
}

LogicalResult TaLKConvOp::verify() {
  return verifyTaLK(*this, getInput().getType(), getOffsets().getType(),
                    getLeftMax(), getRightMax(), getCausal());
}

LogicalResult WindowDiffOp::verify() {
  return verifyTaLK(*this, getPrefixSums().getType(), getOffsets().getType(),
                    getLeftMax(), getRightMax(), getCausal());
}

/// The channels of a [..., C] vector operand of a row-wise op must be C.
static LogicalResult verifyRowVector(Operation *op, Value vector,
                                     int64_t width, StringRef what) {
  if (!vector)
    return success();
  int64_t actual = cast<RankedTensorType>(vector.getType()).getDimSize(0);
  if (isStatic(actual) && isStatic(width) && actual != width)
    return op->emitOpError() << what << " shape mismatch: expected [" << width
                             << "], got " << vector.getType();
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  int64_t inWidth = input.getShape().back();
  if (!isStatic(inWidth) || !weight.hasStaticShape())
    return emitOpError() << "the input's last dimension and the weight shape "
                            "must be static, got "
                         << input << " and " << weight;
  if (weight.getDimSize(1) != inWidth)
    return emitOpError() << "weight shape mismatch: expected [N, D] with D = "
                         << inWidth << " (the input's last dimension), got "
                         << weight;
  int64_t width = weight.getDimSize(0);
  if (getActivation() == Activation::glu && width % 2 != 0)
    return emitOpError() << "a glu epilogue splits the projection in halves: "
                            "the weight needs an even row count, got "
                         << width;
  if (failed(verifyRowVector(*this, getBias(), width, "bias")))
    return failure();
  int64_t outWidth = getType().getShape().back();
  if (getResidual() && getResidual().getType() != getType())
    return emitOpError() << "residual must have the result type "
                         << getType() << ", got " << getResidual().getType();
  if (static_cast<bool>(getLnGamma()) != static_cast<bool>(getLnBeta()))
    return emitOpError() << "layer_norm needs both gamma and beta";
  if (failed(verifyStaticParameter(*this, getLnGamma(), "ln_gamma")) ||
      failed(verifyStaticParameter(*this, getLnBeta(), "ln_beta")))
    return failure();
  if (failed(verifyRowVector(*this, getLnGamma(), outWidth, "ln_gamma")) ||
      failed(verifyRowVector(*this, getLnBeta(), outWidth, "ln_beta")))
    return failure();
  // eps = 0 is allowed, as ONNX and PyTorch allow it (a constant row is 0/0).
  if (!(getEps().convertToDouble() >= 0.0))
    return emitOpError() << "eps must be >= 0, got "
                         << getEps().convertToDouble();
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  RankedTensorType input = getInput().getType();
  int64_t width = input.getShape().back();
  if (!isStatic(width))
    return emitOpError() << "the normalised (last) dimension must be static";
  if (getResidual() && getResidual().getType() != input)
    return emitOpError() << "residual must have the input type " << input
                         << ", got " << getResidual().getType();
  if (failed(verifyStaticParameter(*this, getGamma(), "gamma")) ||
      failed(verifyStaticParameter(*this, getBeta(), "beta")))
    return failure();
  if (failed(verifyRowVector(*this, getGamma(), width, "gamma")) ||
      failed(verifyRowVector(*this, getBeta(), width, "beta")))
    return failure();
  // eps = 0 is allowed, as ONNX and PyTorch allow it (a constant row is 0/0).
  if (!(getEps().convertToDouble() >= 0.0))
    return emitOpError() << "eps must be >= 0, got "
                         << getEps().convertToDouble();
  return success();
}

LogicalResult EmbeddingOp::verify() {
  RankedTensorType table = getTable().getType();
  if (!table.hasStaticShape())
    return emitOpError() << "the table must have a static shape, got "
                         << table;
  if (table.getDimSize(1) < 4)
    return emitOpError() << "embedding width must be >= 4 (sinusoidal "
                            "positions need d/2 - 1 > 0), got "
                         << table.getDimSize(1);
  if (getPaddingIdx() < 0)
    return emitOpError() << "padding_idx must be >= 0, got "
                         << getPaddingIdx();
  if (auto start = getStart()) {
    int64_t b = start.getType().getDimSize(0),
            tb = getTokens().getType().getDimSize(0);
    if (isStatic(b) && isStatic(tb) && b != tb)
      return emitOpError() << "start must have one entry per batch row: "
                              "expected ["
                           << tb << "], got " << start.getType();
  }
  return success();
}

LogicalResult AttentionOp::verify() {
  // q, k and v share the storage type; the key padding mask is f32.
  if (failed(verifyElementTypes(*this, 3)))
    return failure();
  RankedTensorType q = getQuery().getType(), k = getKey().getType(),
                   v = getValue().getType();
  FailureOr<int64_t> channels = getStaticChannels(*this, q, "query");
  if (failed(channels) || failed(verifyHeads(*this, *channels, getHeads())))
    return failure();
  if (k != v)
    return emitOpError() << "key and value must have the same type, got "
                         << k << " and " << v;
  auto mismatch = [](int64_t a, int64_t b) {
    return isStatic(a) && isStatic(b) && a != b;
  };
  if (mismatch(q.getDimSize(0), k.getDimSize(0)) ||
      mismatch(q.getDimSize(2), k.getDimSize(2)))
    return emitOpError() << "query and key must agree in batch and channels: "
                         << q << " vs " << k;
  if (auto mask = getKeyPadding()) {
    auto m = mask.getType();
    if (mismatch(m.getDimSize(0), k.getDimSize(0)) ||
        mismatch(m.getDimSize(1), k.getDimSize(1)))
      return emitOpError() << "key_padding must be [B, Tk] of the key " << k
                           << ", got " << m;
  }
  return success();
}

LogicalResult ConvWindowStepOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  RankedTensorType input = getInput().getType(), state = getState().getType();
  FailureOr<int64_t> channels = getStaticChannels(*this, input, "input");
  if (failed(channels) || failed(verifyHeads(*this, *channels, getHeads())))
    return failure();
  if (isStatic(input.getDimSize(1)) && input.getDimSize(1) != 1)
    return emitOpError() << "a step takes one position: the input must be "
                            "[B, 1, C], got "
                         << input;
  int64_t K = getKernelSize();
  if (!isStatic(state.getDimSize(1)) || state.getDimSize(2) != *channels)
    return emitOpError() << "state must be [B, K-1, C] with static K-1 and C = "
                         << *channels << ", got " << state;
  if (getKind() == "lightweight") {
    if (failed(verifyWeightShape(*this, getWeight().getType(),
                                 {getHeads(), K}, "[H, K]")))
      return failure();
    if (getBias())
      return emitOpError() << "a lightweight step takes no bias";
  } else if (getKind() == "dynamic") {
    if (failed(verifyWeightShape(*this, getWeight().getType(),
                                 {getHeads() * K, *channels}, "[H*K, C]")) ||
        failed(verifyBias(*this, getBias(), getHeads() * K, "[H*K]")))
      return failure();
  } else {
    return emitOpError() << "kind must be \"lightweight\" or \"dynamic\", got \""
                         << getKind() << "\"";
  }
  return verifyStaticParameter(*this, getWeight(), "weight");
}

LogicalResult TaLKStepOp::verify() {
  RankedTensorType input = getInput().getType(), ring = getRing().getType();
  FailureOr<int64_t> channels = getStaticChannels(*this, input, "input");
  FailureOr<int64_t> heads =
      getStaticChannels(*this, getOffsets().getType(), "offsets");
  if (failed(channels) || failed(heads) ||
      failed(verifyHeads(*this, *channels, *heads)))
    return failure();
  if (getLeftMax() < 0)
    return emitOpError() << "left_max must be >= 0, got " << getLeftMax();
  if (ring.getDimSize(1) != getLeftMax() + 2 || ring.getDimSize(2) != *channels)
    return emitOpError() << "ring must be [B, Lmax + 2, C] = [B, "
                         << getLeftMax() + 2 << ", " << *channels << "], got "
                         << ring;
  return success();
}

LogicalResult GLUOp::verify() {
  int64_t last = getInput().getType().getShape().back();
  if (!isStatic(last) || last % 2 != 0)
    return emitOpError() << "the last dimension is split into two halves: it "
                            "must be static and even, got "
                         << formatDim(last);
  return success();
}

LogicalResult KernelSoftmaxOp::verify() {
  RankedTensorType type = getInput().getType();
  if (type.getRank() == 0)
    return emitOpError() << "needs a tap axis: the input must have rank >= 1";
  return verifyKernelSize(*this, type.getShape().back());
}

LogicalResult DynamicKernelConvOp::verify() {
  if (failed(verifyElementTypes(*this)))
    return failure();
  RankedTensorType input = getInput().getType();
  RankedTensorType kernels = getKernels().getType();
  FailureOr<int64_t> channels = getStaticChannels(*this, input, "input");
  if (failed(channels) ||
      failed(verifySameBatchAndTime(*this, input, kernels, "kernels")))
    return failure();
  int64_t heads = kernels.getDimSize(2), kernelSize = kernels.getDimSize(3);
  if (!isStatic(heads))
    return emitOpError() << "the heads dimension of the kernels must be static";
  if (failed(verifyHeads(*this, *channels, heads)) ||
      failed(verifyKernelSize(*this, kernelSize)))
    return failure();
  return verifyPadding(*this, getPadding(), kernelSize);
}

LogicalResult PrefixSumOp::verify() {
  if (failed(getStaticChannels(*this, getInput().getType(), "input")))
    return failure();
  if (!std::isfinite(getScale().convertToDouble()))
    return emitOpError() << "scale must be finite, got "
                         << getScale().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// Folding
//===----------------------------------------------------------------------===//

DenseElementsAttr convc::foldKernelSoftmax(DenseElementsAttr logits) {
  auto type = dyn_cast<RankedTensorType>(logits.getType());
  if (!type || !type.hasStaticShape() || type.getRank() == 0 ||
      !isa<FloatType>(type.getElementType()))
    return {};
  const llvm::fltSemantics &semantics =
      cast<FloatType>(type.getElementType()).getFloatSemantics();
  int64_t taps = type.getShape().back();
  if (taps < 1)
    return {};
  SmallVector<float> values;
  for (APFloat v : logits.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    values.push_back(v.convertToFloat());
  }
  SmallVector<APFloat> result;
  for (size_t row = 0; row < values.size(); row += taps) {
    float m = *std::max_element(&values[row], &values[row] + taps), sum = 0.f;
    for (int64_t k = 0; k < taps; ++k)
      sum += std::exp(values[row + k] - m);
    for (int64_t k = 0; k < taps; ++k) {
      APFloat v(std::exp(values[row + k] - m) / sum);
      bool lost;
      v.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
      result.push_back(v);
    }
  }
  return DenseElementsAttr::get(type, result);
}

OpFoldResult KernelSoftmaxOp::fold(FoldAdaptor adaptor) {
  if (auto logits = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput()))
    return foldKernelSoftmax(logits);
  return {};
}

OpFoldResult TaLKConvOp::fold(FoldAdaptor) {
  if (getLeftMax() == 0 && getRightMax() == 0)
    return getInput();
  return {};
}

OpFoldResult LightweightConvOp::fold(FoldAdaptor) {
  if (getKernelSize() == 1 && getWeightSoftmax() && !getBias())
    return getInput();
  return {};
}

#define GET_OP_CLASSES
#include "dialect/ConvcOps.cpp.inc"
