//===- LowerConvcToLoops.cpp - convc ops to vectorised parallel loops ----===//
//
// Each convc op becomes explicit loops over buffers:
//
//   scf.parallel (%b, %tile)            batch x time tiles, across cores
//     scf.for %t in tile                time, sequential within a tile
//       scf.for %c step VL              channels in vector<VL x f32>
//         ... vector.fma ...            (masked for the channel remainder)
//
// Operands are read through `bufferization.to_buffer` and the result is a
// fresh aligned buffer returned as `bufferization.to_tensor restrict
// writable`, so one-shot bufferization takes care of the function around it.
//
// Kernels that depend on a head (dynamic kernels, TaLK offsets) use a vector
// width that divides R = C / H, so every lane of a vector shares one head.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/KernelBuilder.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

namespace convc {
#define GEN_PASS_DEF_LOWERCONVCTOLOOPSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

struct LoweringOptions {
  int64_t vectorWidth;
  int64_t timeTile;
  bool useBlas;
};

/// A projection splits into at most this many row tiles (one sgemm call
/// each, in parallel), of at least kProjectionMinRows rows: sgemm repacks
/// the weights per call, so fewer, larger calls are cheaper.
constexpr int64_t kProjectionMaxTiles = 8;
constexpr int64_t kProjectionMinRows = 256;
/// Largest per-thread scratch buffer placed on the stack.
constexpr int64_t kMaxStackBytes = 256 * 1024;
/// Column chunks of a projection with few rows.
constexpr int64_t kProjectionColumnChunks = 8;

/// The widest power-of-two vector width <= maxLanes that divides `r`, so a
/// vector never straddles two heads.
int64_t lanesWithinHead(int64_t r, int64_t maxLanes) {
  int64_t lanes = 1;
  while (lanes * 2 <= maxLanes && r % (lanes * 2) == 0)
    lanes *= 2;
  return lanes;
}

bool allF32(Operation *op) {
  auto isF32 = [](Type t) { return getElementTypeOrSelf(t).isF32(); };
  return llvm::all_of(op->getOperandTypes(), isF32) &&
         llvm::all_of(op->getResultTypes(), isF32);
}

/// Number of time tiles of `tile` steps covering T.
Value numTiles(KernelBuilder &b, Value T, int64_t tile) {
  return b.ceilDiv(T, b.index(tile));
}

/// Outputs computed together by the depthwise kernel: independent FMA
/// chains hide the FMA latency and share each tap's weight load.
constexpr int64_t kTimeBlock = 8;

/// y[b,t,c] = sum_k wc[k,c] * x[b, t + r(k - P), c] (+ bias[c]), the kernel
/// of depthwise and lightweight convs. wc is [K, C] so taps load along c.
///
/// Each time tile splits into an interior, where every tap of kTimeBlock
/// consecutive outputs is in range (blocks of independent accumulators, no
/// bounds arithmetic), and edges (one output at a time, taps clipped).
void emitDepthwiseKernel(KernelBuilder &b, Value x, Value wc, Value bias,
                         Value y, int64_t K, int64_t P, int64_t r,
                         const LoweringOptions &opt) {
  int64_t C = cast<MemRefType>(x.getType()).getDimSize(2);
  int64_t lanes = opt.vectorWidth;
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  Value B = b.dim(x, 0), T = b.dim(x, 1);
  Value rIdx = b.index(r), zero = b.index(0), one = b.index(1);
  auto initial = [&](Value c, Value mask) -> Value {
    return bias ? b.load(vecType, bias, {c}, mask)
                : Value(arith::ConstantOp::create(b, vecType,
                                                  b.getZeroAttr(vecType)));
  };
  // One output at a time, taps restricted to t + r(k - P) in [0, T).
  auto edgeStep = [&](Value bi, Value t) {
    Value kLo = b.max(zero, b.ceilDiv(b.sub(b.index(P * r), t), rIdx));
    Value kHi = b.min(b.index(K),
                      b.add(b.floorDiv(b.sub(b.sub(T, one), t), rIdx),
                            b.index(P + 1)));
    b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
      Value acc =
          b.forLoop(kLo, kHi, one, initial(c, mask),
                    [&](Value k, ValueRange acc) {
                      Value s = b.add(t, b.mul(rIdx, b.sub(k, b.index(P))));
                      Value xv = b.load(vecType, x, {bi, s, c}, mask);
                      Value wv = b.load(vecType, wc, {k, c}, mask);
                      return SmallVector<Value>{b.fma(xv, wv, acc[0])};
                    })[0];
      b.store(acc, y, {bi, t, c}, mask);
    });
  };
  b.parallel({B, numTiles(b, T, opt.timeTile)}, [&](ValueRange ivs) {
    Value bi = ivs[0];
    Value t0 = b.mul(ivs[1], b.index(opt.timeTile));
    Value t1 = b.min(b.add(t0, b.index(opt.timeTile)), T);
    // Interior: t - rP >= 0 and t + r(K - 1 - P) <= T - 1.
    Value inLo = b.min(b.max(t0, b.index(r * P)), t1);
    Value inHi = b.max(b.min(t1, b.sub(T, b.index(r * (K - 1 - P)))), inLo);
    Value blocks = b.floorDiv(b.sub(inHi, inLo), b.index(kTimeBlock));
    Value blockEnd = b.add(inLo, b.mul(blocks, b.index(kTimeBlock)));
    b.forLoop(t0, inLo, one, [&](Value t) { edgeStep(bi, t); });
    b.forLoop(inLo, blockEnd, b.index(kTimeBlock), [&](Value t) {
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        SmallVector<Value> init(kTimeBlock, initial(c, mask));
        ValueRange accs = b.forLoop(
            zero, b.index(K), one, init, [&](Value k, ValueRange acc) {
              Value wv = b.load(vecType, wc, {k, c}, mask);
              Value s0 = b.add(t, b.mul(rIdx, b.sub(k, b.index(P))));
              SmallVector<Value> next;
              for (int64_t i = 0; i < kTimeBlock; ++i) {
                Value xv = b.load(vecType, x, {bi, b.add(s0, b.index(i)), c},
                                  mask);
                next.push_back(b.fma(xv, wv, acc[i]));
              }
              return next;
            });
        for (int64_t i = 0; i < kTimeBlock; ++i)
          b.store(accs[i], y, {bi, b.add(t, b.index(i)), c}, mask);
      });
    });
    b.forLoop(blockEnd, t1, one, [&](Value t) { edgeStep(bi, t); });
  });
}

/// Softmax over `count` taps, max-subtracted, in vector chunks of `lanes`
/// (the last masked): loadChunk(j, mask, fill) reads chunk j (masked-off
/// lanes = fill), storeChunk(j, value, mask) writes it. Chunks are combined
/// lane-wise first, so each row costs one horizontal max and one sum.
void emitSoftmax(KernelBuilder &b, int64_t count, int64_t lanes,
                 function_ref<Value(int64_t, Value, Value)> loadChunk,
                 function_ref<void(int64_t, Value, Value)> storeChunk) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  int64_t chunks = (count + lanes - 1) / lanes;
  SmallVector<Value> masks;
  for (int64_t j = 0; j < chunks; ++j) {
    int64_t valid = std::min(lanes, count - j * lanes);
    masks.push_back(valid == lanes ? Value()
                                   : Value(vector::ConstantMaskOp::create(
                                         b, maskType, ArrayRef<int64_t>{valid})));
  }
  Value negInf = b.splat(b.f32(-std::numeric_limits<float>::infinity()), lanes);
  Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
  SmallVector<Value> v;
  Value laneMax;
  for (int64_t j = 0; j < chunks; ++j) {
    v.push_back(loadChunk(j, masks[j], negInf));
    laneMax = j ? arith::MaxNumFOp::create(b, laneMax, v[j]) : v[j];
  }
  Value m = b.splat(vector::ReductionOp::create(b, vector::CombiningKind::MAXNUMF,
                                                laneMax,
                                                arith::FastMathFlags::reassoc),
                    lanes);
  SmallVector<Value> e;
  Value laneSum;
  for (int64_t j = 0; j < chunks; ++j) {
    Value ej = b.exp(b.fsub(v[j], m));
    if (masks[j]) // padding lanes hold -inf - m; keep them out of the sum
      ej = arith::SelectOp::create(b, masks[j], ej, zeroV);
    e.push_back(ej);
    laneSum = j ? b.fadd(laneSum, ej) : ej;
  }
  // Reassociation lets the sum reduce as a tree instead of lane by lane.
  Value sum = vector::ReductionOp::create(b, vector::CombiningKind::ADD, laneSum,
                                          arith::FastMathFlags::reassoc);
  Value inv = b.splat(b.fdiv(b.f32(1.0), sum), lanes);
  for (int64_t j = 0; j < chunks; ++j)
    storeChunk(j, b.fmul(e[j], inv), masks[j]);
}

/// Softmax of buf[base .. base + count) in place (a 1-D buffer).
void emitSoftmaxInPlace(KernelBuilder &b, Value buf, Value base, int64_t count,
                        int64_t lanes) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  auto at = [&](int64_t j) { return b.add(base, b.index(j * lanes)); };
  emitSoftmax(
      b, count, lanes,
      [&](int64_t j, Value mask, Value fill) -> Value {
        if (!mask)
          return vector::LoadOp::create(b, vecType, buf, ValueRange{at(j)});
        return vector::MaskedLoadOp::create(b, vecType, buf, {at(j)}, mask,
                                            fill);
      },
      [&](int64_t j, Value value, Value mask) {
        b.store(value, buf, {at(j)}, mask);
      });
}

/// `func.func private @cblas_sgemm` (OpenBLAS's CBLAS, 32-bit integers).
func::FuncOp getOrDeclareSgemm(KernelBuilder &b, ModuleOp module) {
  const char *name = "cblas_sgemm";
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  auto type = b.getFunctionType(
      {i32, i32, i32, i32, i32, i32, f32, ptr, i32, ptr, i32, f32, ptr, i32},
      {});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto fn = func::FuncOp::create(b, name, type);
  fn.setPrivate();
  return fn;
}

/// An !llvm.ptr to element `row * rowStride + column` of a row-major f32
/// buffer.
Value rowPointer(KernelBuilder &b, Value buffer, Value row, int64_t rowStride,
                 Value column = Value()) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, buffer);
  Value bytes = b.mul(row, b.index(rowStride * 4));
  if (column)
    bytes = b.add(bytes, b.mul(column, b.index(4)));
  Value address = arith::IndexCastOp::create(b, b.getI64Type(),
                                             b.add(base, bytes));
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext()), address);
}

/// Rows per sgemm call inside a parallel tile when an epilogue follows: the
/// epilogue then finds the call's output in cache. Every call repacks the
/// weights, so calls without an epilogue take the whole tile.
constexpr int64_t kProjectionSubRows = 256;

/// Runs after each sgemm call on rows [m0, m0 + rows) of the projection; `z`
/// holds them starting at row `zRow0`.
using ProjectionEpilogue =
    function_ref<void(Value m0, Value rows, Value z, Value zRow0)>;

/// z[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]) for row-major 2-D buffers
/// x [M, K], w [N, K]: row tiles in parallel, each a sequence of
/// single-threaded sgemm calls of kProjectionSubRows rows (the runtime keeps
/// OpenBLAS to one thread so the runtime's pool owns the cores), the bias written first
/// and accumulated (beta = 1), and `epilogue` run on each call's rows. The
/// calls write into `out` [M, N] when given, else into a per-tile scratch
/// buffer the epilogue reads (e.g. GLU, whose output is narrower).
void emitProjection(KernelBuilder &b, ModuleOp module, Value x, Value w,
                    Value bias, Value out, int64_t N, int64_t K,
                    const LoweringOptions &opt,
                    ProjectionEpilogue epilogue = nullptr) {
  func::FuncOp sgemm = getOrDeclareSgemm(b, module);
  auto vecType = VectorType::get({opt.vectorWidth}, b.getF32Type());
  Value M = b.dim(x, 0);
  Value sub = b.index(kProjectionSubRows);
  bool fusedEpilogue = static_cast<bool>(epilogue);
  // Tiles: at most kProjectionMaxTiles, whole sub-tiles, >= kProjectionMinRows.
  Value tileRows = b.mul(
      b.ceilDiv(b.max(b.index(kProjectionMinRows),
                      b.ceilDiv(M, b.index(kProjectionMaxTiles))),
                sub),
      sub);
  Value tiles = b.ceilDiv(M, tileRows);
  Value wPtr = rowPointer(b, w, b.index(0), K);
  auto i32 = [&](Value index) -> Value {
    return arith::IndexCastOp::create(b, b.getI32Type(), index);
  };
  auto c32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  };
  auto prefillBias = [&](Value dest, Value row) {
    b.forChannelBlocks(N, opt.vectorWidth, [&](Value n, Value mask) {
      b.store(b.load(vecType, bias, {n}, mask), dest, {row, n}, mask);
    });
  };
  Value beta = b.f32(bias ? 1.0 : 0.0);

  // Many rows: row tiles in parallel, the epilogue fused per call.
  auto rowTiled = [&] {
    b.parallel({tiles}, [&](ValueRange ivs) {
      Value m0 = b.mul(ivs[0], tileRows);
      Value end = b.min(b.add(m0, tileRows), M);
      Value scratch =
          out ? Value()
              : Value(memref::AllocOp::create(
                    b, MemRefType::get({kProjectionSubRows, N}, b.getF32Type()),
                    ValueRange{}, b.getI64IntegerAttr(64)));
      Value step = fusedEpilogue ? sub : tileRows;
      b.forLoop(m0, end, step, [&](Value s0) {
        Value rows = b.sub(b.min(b.add(s0, step), end), s0);
        Value dest = out ? out : scratch;
        Value destRow0 = out ? s0 : b.index(0);
        if (bias)
          b.forLoop(b.index(0), rows, b.index(1),
                    [&](Value i) { prefillBias(dest, b.add(destRow0, i)); });
        func::CallOp::create(
            b, sgemm,
            ValueRange{c32(101 /*RowMajor*/), c32(111 /*NoTrans*/),
                       c32(112 /*Trans*/), i32(rows), c32(N), c32(K),
                       b.f32(1.0), rowPointer(b, x, s0, K), c32(K), wPtr,
                       c32(K), beta, rowPointer(b, dest, destRow0, N),
                       c32(N)});
        if (epilogue)
          epilogue(s0, rows, dest, destRow0);
      });
    });
  };

  // Few rows (short sequences, decoding steps): row tiles alone would leave
  // cores idle and every call would repack all of w. Split the columns too,
  // then run the epilogue as a second pass over rows.
  // Chunks of whole 64-column blocks (full vectors, aligned rows).
  int64_t chunkWidth =
      llvm::alignTo((N + kProjectionColumnChunks - 1) / kProjectionColumnChunks,
                    64);
  int64_t chunks = (N + chunkWidth - 1) / chunkWidth;
  auto columnSplit = [&] {
    Value z = out ? out
                  : Value(memref::AllocOp::create(
                        b, MemRefType::get({ShapedType::kDynamic, N},
                                           b.getF32Type()),
                        ValueRange{M}, b.getI64IntegerAttr(64)));
    if (bias)
      b.parallel({M}, [&](ValueRange ivs) { prefillBias(z, ivs[0]); });
    b.parallel({tiles, b.index(chunks)}, [&](ValueRange ivs) {
      Value m0 = b.mul(ivs[0], tileRows);
      Value rows = b.sub(b.min(b.add(m0, tileRows), M), m0);
      Value n0 = b.mul(ivs[1], b.index(chunkWidth));
      Value cols = b.min(b.index(chunkWidth), b.sub(b.index(N), n0));
      func::CallOp::create(
          b, sgemm,
          ValueRange{c32(101 /*RowMajor*/), c32(111 /*NoTrans*/),
                     c32(112 /*Trans*/), i32(rows), i32(cols), c32(K),
                     b.f32(1.0), rowPointer(b, x, m0, K), c32(K),
                     rowPointer(b, w, n0, K), c32(K), beta,
                     rowPointer(b, z, m0, N, n0), c32(N)});
    });
    if (epilogue)
      b.parallel({M}, [&](ValueRange ivs) {
        epilogue(ivs[0], b.index(1), z, ivs[0]);
      });
  };

  if (chunks == 1) {
    rowTiled();
    return;
  }
  Value fewRows = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, tiles,
                                        b.index(kProjectionMaxTiles / 2));
  auto branch = scf::IfOp::create(b, fewRows, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(branch.thenBlock()->getTerminator());
    columnSplit();
    b.setInsertionPoint(branch.elseBlock()->getTerminator());
    rowTiled();
  }
}

Value sigmoid(KernelBuilder &b, Value v, int64_t lanes) {
  Value one = b.splat(b.f32(1.0), lanes);
  return b.fdiv(one, b.fadd(one, b.exp(arith::NegFOp::create(b, v))));
}

/// Sum over channel blocks of fn(c, mask) (a vector per block), reduced.
Value sumChannelBlocks(KernelBuilder &b, int64_t channels, int64_t lanes,
                       function_ref<Value(Value, Value)> fn) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  Value acc = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
  int64_t full = channels / lanes * lanes;
  if (full > 0)
    acc = b.forLoop(b.index(0), b.index(full), b.index(lanes), acc,
                    [&](Value c, ValueRange a) {
                      return SmallVector<Value>{b.fadd(a[0], fn(c, Value()))};
                    })[0];
  if (full < channels) {
    Value mask = vector::CreateMaskOp::create(
        b, VectorType::get({lanes}, b.getI1Type()),
        ValueRange{b.index(channels - full)});
    Value zero = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    acc = b.fadd(acc, arith::SelectOp::create(b, mask, fn(b.index(full), mask),
                                              zero));
  }
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, acc,
                                     arith::FastMathFlags::reassoc);
}

/// What happens to each projected row: activation, residual, LayerNorm.
struct RowEpilogue {
  Activation activation = Activation::none;
  Value residual; // [M, W] buffer or null
  Value gamma, beta;
  double eps = 1e-5;
};

/// out[outRow] = LN(act(z[zRow]) + residual[outRow]) over W output columns
/// (W = N / 2 for GLU, which reads both halves of z's row).
void emitRowEpilogue(KernelBuilder &b, const RowEpilogue &e, Value z,
                     Value zRow, Value out, Value outRow, int64_t W,
                     int64_t lanes) {
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  b.forChannelBlocks(W, lanes, [&](Value c, Value mask) {
    Value a = b.load(vecType, z, {zRow, c}, mask);
    switch (e.activation) {
    case Activation::none:
      break;
    case Activation::relu:
      a = arith::MaximumFOp::create(
          b, a, arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType)));
      break;
    case Activation::swish:
      a = b.fmul(a, sigmoid(b, a, lanes));
      break;
    case Activation::sigmoid:
      a = sigmoid(b, a, lanes);
      break;
    case Activation::glu: {
      Value g = b.load(vecType, z, {zRow, b.add(c, b.index(W))}, mask);
      a = b.fmul(a, sigmoid(b, g, lanes));
      break;
    }
    }
    if (e.residual)
      a = b.fadd(a, b.load(vecType, e.residual, {outRow, c}, mask));
    b.store(a, out, {outRow, c}, mask);
  });
  if (!e.gamma)
    return;
  // LayerNorm over the row just written (in L1): mean, biased variance.
  Value invW = b.f32(1.0 / double(W));
  Value mean = b.fmul(sumChannelBlocks(b, W, lanes,
                                       [&](Value c, Value mask) {
                                         return b.load(vecType, out,
                                                       {outRow, c}, mask);
                                       }),
                      invW);
  Value meanV = b.splat(mean, lanes);
  Value var = b.fmul(sumChannelBlocks(b, W, lanes,
                                      [&](Value c, Value mask) {
                                        Value d = b.fsub(
                                            b.load(vecType, out, {outRow, c},
                                                   mask),
                                            meanV);
                                        return b.fmul(d, d);
                                      }),
                     invW);
  Value rstd = math::RsqrtOp::create(b, b.fadd(var, b.f32(e.eps)));
  Value rstdV = b.splat(rstd, lanes);
  b.forChannelBlocks(W, lanes, [&](Value c, Value mask) {
    Value v = b.fsub(b.load(vecType, out, {outRow, c}, mask), meanV);
    Value g = b.load(vecType, e.gamma, {c}, mask);
    Value bt = b.load(vecType, e.beta, {c}, mask);
    b.store(b.fma(b.fmul(v, rstdV), g, bt), out, {outRow, c}, mask);
  });
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

template <typename OpTy>
struct ConvcLoweringPattern : OpRewritePattern<OpTy> {
  ConvcLoweringPattern(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern<OpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    Value result = lower(op, b);
    if (!result)
      return failure();
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Emits the loops and returns the result tensor (null: not lowered).
  virtual Value lower(OpTy op, KernelBuilder &b) const = 0;

  LoweringOptions options;
};

struct LowerDepthwiseConv : ConvcLoweringPattern<DepthwiseConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(DepthwiseConvOp op, KernelBuilder &b) const override {
    int64_t K = op.getKernelSize();
    int64_t C = op.getWeight().getType().getDimSize(0);
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    // Transpose [C, K] -> [K, C] once so each tap loads along channels.
    Value wc = b.alloc({K, C});
    b.forLoop(b.index(0), b.index(C), b.index(1), [&](Value c) {
      b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
        b.storeScalar(b.loadScalar(w, {c, k}), wc, {k, c});
      });
    });
    Value y = b.allocLike(x);
    emitDepthwiseKernel(b, x, wc, bias, y, K, op.getPadding(),
                        op.getDilation(), options);
    return b.toTensor(y, op.getType());
  }
};

/// A LightweightConv weight [H, K] as a flat [H * K] buffer, each head's K
/// taps softmaxed in f32 unless already normalised.
Value emitHeadTaps(KernelBuilder &b, Value W, int64_t H, int64_t K,
                   bool softmax, int64_t lanes) {
  Value wh = b.alloc({H * K});
  b.forLoop(b.index(0), b.index(H), b.index(1), [&](Value h) {
    Value base = b.mul(h, b.index(K));
    b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
      b.storeScalar(b.loadScalar(W, {h, k}), wh, {b.add(base, k)});
    });
    if (softmax)
      emitSoftmaxInPlace(b, wh, base, K, lanes);
  });
  return wh;
}

/// Per-channel taps wc[k, c] = w[h(c), k] of a LightweightConv weight
/// [H, K], softmaxed over all K taps in f32 unless already normalised.
Value emitLightweightTaps(KernelBuilder &b, Value W, int64_t H, int64_t K,
                         int64_t C, bool softmax, int64_t lanes) {
  int64_t R = C / H;
  Value wh = emitHeadTaps(b, W, H, K, softmax, lanes);
  Value wc = b.alloc({K, C});
  b.forLoop(b.index(0), b.index(C), b.index(1), [&](Value c) {
    Value h = b.floorDiv(c, b.index(R));
    b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
      b.storeScalar(b.loadScalar(wh, {b.add(b.mul(h, b.index(K)), k)}), wc,
                    {k, c});
    });
  });
  return wc;
}

struct LowerLightweightConv : ConvcLoweringPattern<LightweightConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(LightweightConvOp op, KernelBuilder &b) const override {
    int64_t K = op.getKernelSize(), H = op.getHeads();
    int64_t C = op.getInput().getType().getDimSize(2);
    Value x = b.toBuffer(op.getInput()), W = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value wc = emitLightweightTaps(b, W, H, K, C, op.getWeightSoftmax(),
                                   options.vectorWidth);
    Value y = b.allocLike(x);
    emitDepthwiseKernel(b, x, wc, bias, y, K, op.getPadding(), 1, options);
    return b.toTensor(y, op.getType());
  }
};

struct LowerDynamicKernelConv : ConvcLoweringPattern<DynamicKernelConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(DynamicKernelConvOp op, KernelBuilder &b) const override {
    auto kernelsType = op.getKernels().getType();
    int64_t H = kernelsType.getDimSize(2), K = kernelsType.getDimSize(3);
    int64_t C = op.getInput().getType().getDimSize(2), R = C / H;
    int64_t P = op.getPadding();
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    // Vectors per step: up to 4, dividing the head's R / lanes vectors (lanes
    // divides R, so channel blocks never need a mask here).
    int64_t group = 1;
    while (group < 4 && (R / lanes) % (group * 2) == 0)
      group *= 2;
    Value x = b.toBuffer(op.getInput()), z = b.toBuffer(op.getKernels());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value zero = b.index(0), one = b.index(1);
    b.parallel({B, numTiles(b, T, options.timeTile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(options.timeTile));
      Value t1 = b.min(b.add(t0, b.index(options.timeTile)), T);
      // This position's kernels, normalised in registers and a stack buffer:
      // they never go back to memory the caller sees.
      Value w = b.allocaF32({H * K});
      b.forLoop(t0, t1, one, [&](Value t) {
        int64_t sl = options.vectorWidth;
        auto slType = VectorType::get({sl}, b.getF32Type());
        b.forLoop(zero, b.index(H), one, [&](Value h) {
          Value base = b.mul(h, b.index(K));
          auto zAt = [&](int64_t j) -> SmallVector<Value> {
            return {bi, t, h, b.index(j * sl)};
          };
          auto wAt = [&](int64_t j) -> SmallVector<Value> {
            return {b.add(base, b.index(j * sl))};
          };
          if (!op.getKernelSoftmax()) {
            for (int64_t j = 0; j * sl < K; ++j) {
              Value mask = (j + 1) * sl <= K
                               ? Value()
                               : Value(vector::ConstantMaskOp::create(
                                     b, VectorType::get({sl}, b.getI1Type()),
                                     ArrayRef<int64_t>{K - j * sl}));
              b.store(b.load(slType, z, zAt(j), mask), w, wAt(j), mask);
            }
            return;
          }
          emitSoftmax(
              b, K, sl,
              [&](int64_t j, Value mask, Value fill) -> Value {
                if (!mask)
                  return vector::LoadOp::create(b, slType, z, zAt(j));
                return vector::MaskedLoadOp::create(b, slType, z, zAt(j), mask,
                                                    fill);
              },
              [&](int64_t j, Value value, Value mask) {
                b.store(value, w, wAt(j), mask);
              });
        });
        Value kLo = b.max(zero, b.sub(b.index(P), t));
        Value kHi = b.min(b.index(K), b.add(b.sub(T, t), b.index(P)));
        // `group` vectors of one head at a time: independent FMA chains
        // sharing each broadcast tap weight.
        b.forLoop(zero, b.index(C), b.index(lanes * group), [&](Value c) {
          Value hBase = b.mul(b.floorDiv(c, b.index(R)), b.index(K));
          Value zeroV =
              arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
          SmallVector<Value> init(group, zeroV);
          ValueRange accs =
              b.forLoop(kLo, kHi, one, init, [&](Value k, ValueRange acc) {
                Value s = b.add(t, b.sub(k, b.index(P)));
                Value wv = b.splat(b.loadScalar(w, {b.add(hBase, k)}), lanes);
                SmallVector<Value> next;
                for (int64_t g = 0; g < group; ++g) {
                  Value xv = vector::LoadOp::create(
                      b, vecType, x,
                      ValueRange{bi, s, b.add(c, b.index(g * lanes))});
                  next.push_back(b.fma(xv, wv, acc[g]));
                }
                return next;
              });
          for (int64_t g = 0; g < group; ++g)
            vector::StoreOp::create(
                b, accs[g], y, ValueRange{bi, t, b.add(c, b.index(g * lanes))});
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

/// dynamic_conv -> kernel projection (a contraction over channels, plus the
/// optional logit bias) + dynamic_kernel_conv {kernel_softmax}.
struct DecomposeDynamicConv : OpRewritePattern<DynamicConvOp> {
  DecomposeDynamicConv(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  /// The projection as single-threaded sgemm calls over row tiles.
  Value projectWithBlas(DynamicConvOp op, KernelBuilder &b) const {
    auto inType = op.getInput().getType();
    int64_t C = inType.getDimSize(2), HK = op.getHeads() * op.getKernelSize();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    auto logitsType = MemRefType::get(
        {inType.getDimSize(0), inType.getDimSize(1), HK}, b.getF32Type());
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < 2; ++i)
      if (inType.isDynamicDim(i))
        dynamicSizes.push_back(b.dim(x, i));
    Value logits = memref::AllocOp::create(b, logitsType, dynamicSizes,
                                           b.getI64IntegerAttr(64));
    auto rows = [&](Value buffer) -> Value {
      return memref::CollapseShapeOp::create(
          b, buffer, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    };
    emitProjection(b, op->getParentOfType<ModuleOp>(), rows(x), w, bias,
                   rows(logits), HK, C, options);
    return b.toTensor(logits, RankedTensorType::get(logitsType.getShape(),
                                                    b.getF32Type()));
  }

  LogicalResult matchAndRewrite(DynamicConvOp op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    auto inType = op.getInput().getType();
    int64_t H = op.getHeads(), K = op.getKernelSize();
    Type f32 = b.getF32Type();
    // Static sizes stay static (ONNX models carry them).
    OpFoldResult Bdim = tensor::getMixedSize(b, b.getLoc(), op.getInput(), 0);
    OpFoldResult Tdim = tensor::getMixedSize(b, b.getLoc(), op.getInput(), 1);
    Value logits = options.useBlas ? projectWithBlas(op, b)
                                   : projectWithLinalg(op, b, Bdim, Tdim);
    // [B, T, H*K] -> [B, T, H, K]
    auto kernelsType = RankedTensorType::get(
        {inType.getDimSize(0), inType.getDimSize(1), H, K}, f32);
    Value kernels = tensor::ExpandShapeOp::create(
        b, kernelsType, logits,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
        ArrayRef<OpFoldResult>{Bdim, Tdim, b.getIndexAttr(H),
                               b.getIndexAttr(K)});
    rewriter.replaceOpWithNewOp<DynamicKernelConvOp>(
        op, op.getInput(), kernels, op.getPadding(), /*kernel_softmax=*/true);
    return success();
  }

  /// The projection as a linalg contraction (portable, unoptimised).
  Value projectWithLinalg(DynamicConvOp op, KernelBuilder &b,
                          OpFoldResult Bdim, OpFoldResult Tdim) const {
    int64_t H = op.getHeads(), K = op.getKernelSize();
    Type f32 = b.getF32Type();
    // logits[b, t, j] = sum_c x[b, t, c] * Wq[j, c] (+ bias[j]). Kept 3-D:
    // splitting a collapsed B*T back into B and T trips upstream's
    // expand-strided-metadata (LLVM 22) when both are dynamic.
    Value empty = tensor::EmptyOp::create(
        b, ArrayRef<OpFoldResult>{Bdim, Tdim, b.getIndexAttr(H * K)}, f32);
    Value init;
    if (Value bias = op.getBias()) {
      auto lastDim = AffineMap::get(3, 0, {b.getAffineDimExpr(2)},
                                    b.getContext());
      auto id = AffineMap::getMultiDimIdentityMap(3, b.getContext());
      init = linalg::GenericOp::create(
                 b, TypeRange{empty.getType()}, ValueRange{bias},
                 ValueRange{empty}, ArrayRef<AffineMap>{lastDim, id},
                 SmallVector<utils::IteratorType>(
                     3, utils::IteratorType::parallel),
                 [](OpBuilder &nb, Location loc, ValueRange args) {
                   linalg::YieldOp::create(nb, loc, args[0]);
                 })
                 .getResult(0);
    } else {
      init = linalg::FillOp::create(b, b.f32(0.0), empty).getResult(0);
    }
    MLIRContext *ctx = b.getContext();
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3); // b, t, j, c
    Value logits =
        linalg::GenericOp::create(
            b, TypeRange{init.getType()}, ValueRange{op.getInput(), op.getWeight()},
            ValueRange{init},
            ArrayRef<AffineMap>{AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                                AffineMap::get(4, 0, {d2, d3}, ctx),
                                AffineMap::get(4, 0, {d0, d1, d2}, ctx)},
            ArrayRef<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::parallel, utils::IteratorType::reduction},
            [](OpBuilder &nb, Location loc, ValueRange args) {
              Value prod = arith::MulFOp::create(nb, loc, args[0], args[1]);
              Value sum = arith::AddFOp::create(nb, loc, args[2], prod);
              linalg::YieldOp::create(nb, loc, sum);
            })
            .getResult(0);
    return logits;
  }
};

/// Shared by talk_conv and window_diff: the interpolated prefix value
/// S~ = S[fl] + frac (S[fl + 1] - S[fl]) at row `base + delta`, where `base`
/// is an integer row and `delta` a small real offset. Keeping the integer
/// part out of the float keeps the fraction exact to f32 precision of
/// |delta| <= max window, not of t (which at T = 10^4 would lose 1e-3).
Value interpolate(KernelBuilder &b, int64_t lanes,
                  function_ref<Value(Value)> loadRow, Value base, Value delta,
                  Value last) {
  Value fl = math::FloorOp::create(b, delta);
  Value frac = b.fsub(delta, fl);
  Value offset = arith::IndexCastOp::create(
      b, b.getIndexType(), arith::FPToSIOp::create(b, b.getI64Type(), fl));
  Value idx = b.add(base, offset);
  Value next = b.min(b.add(idx, b.index(1)), last);
  Value lo = loadRow(idx), hi = loadRow(next);
  return b.fma(b.splat(frac, lanes), b.fsub(hi, lo), lo);
}

/// A fractional prefix-sum position `base + delta`: the two rows around it
/// and the weight of the upper one, computed once and shared by all the
/// channel vectors of a head.
struct FractionalRow {
  Value lower, upper, frac; // rows (index), frac (vector of the row type)
};

FractionalRow fractionalRow(KernelBuilder &b, int64_t lanes, Value base,
                            Value delta, Value last) {
  Value fl = math::FloorOp::create(b, delta);
  Value frac = b.fsub(delta, fl);
  Value offset = arith::IndexCastOp::create(
      b, b.getIndexType(), arith::FPToSIOp::create(b, b.getI64Type(), fl));
  Value idx = b.add(base, offset);
  return {idx, b.min(b.add(idx, b.index(1)), last), b.splat(frac, lanes)};
}

/// TaLK's window edges relative to t: e - t and (a - 1) - t, clamped to the
/// sequence (a >= 0, e <= T - 1). Offsets are per head.
/// Positions are computed in `type` (f64 for the fused TaLK kernel, where
/// an f32 product lt * Lmax would already cost 1e-6 of the fraction).
std::pair<Value, Value> talkEdges(KernelBuilder &b, Value o, Value bi, Value t,
                                  Value h, Value T, int64_t heads,
                                  int64_t leftMax, int64_t rightMax,
                                  bool causal, Type type) {
  auto widen = [&](Value v) -> Value {
    return v.getType() == type ? v : Value(arith::ExtFOp::create(b, type, v));
  };
  // Offsets are sigmoid outputs; anything outside [0, 1] (or NaN, which
  // maxnumf maps to 0) is clamped so that windows stay inside the sequence.
  auto unit = [&](Value v) -> Value {
    Value lo = arith::MaxNumFOp::create(b, v, b.floatConst(type, 0.0));
    return arith::MinNumFOp::create(b, lo, b.floatConst(type, 1.0));
  };
  Value tF = b.indexToFloat(t, type);
  Value lt = unit(widen(b.loadScalar(o, {bi, t, h})));
  Value left = arith::MaximumFOp::create(
      b, arith::NegFOp::create(b, b.fmul(lt, b.floatConst(type, leftMax))),
      arith::NegFOp::create(b, tF));
  Value aMinus1 = b.fsub(left, b.floatConst(type, 1.0));
  Value e = b.floatConst(type, 0.0);
  if (!causal) {
    Value rt = unit(widen(b.loadScalar(o, {bi, t, b.add(h, b.index(heads))})));
    Value room = b.indexToFloat(b.sub(b.sub(T, b.index(1)), t), type);
    e = arith::MinimumFOp::create(
        b, b.fmul(rt, b.floatConst(type, rightMax)), room);
  }
  return {e, aMinus1};
}

/// The sizes talk_conv and window_diff share.
struct TaLKShape {
  int64_t C, H, R, L, Rm, lanes;
  bool causal;
};

template <typename OpTy>
TaLKShape talkShape(OpTy op, Value input, int64_t vectorWidth) {
  TaLKShape s;
  s.C = cast<RankedTensorType>(input.getType()).getDimSize(2);
  int64_t width = op.getOffsets().getType().getDimSize(2);
  s.causal = op.getCausal();
  s.H = s.causal ? width : width / 2;
  s.R = s.C / s.H;
  s.L = op.getLeftMax();
  s.Rm = op.getRightMax();
  s.lanes = lanesWithinHead(s.R, vectorWidth);
  return s;
}

struct LowerTaLKConv : ConvcLoweringPattern<TaLKConvOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(TaLKConvOp op, KernelBuilder &b) const override {
    auto [C, H, R, L, Rm, lanes, causal] =
        talkShape(op, op.getInput(), options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    // The tile-local prefix sums and window positions are f64: a window sum
    // is a difference of two prefix values, and in f32 that difference loses
    // up to 1e-4 relative for short windows inside long prefixes. Short
    // sums in f64 keep every output within f32 rounding of the exact value.
    Type f64 = b.getF64Type();
    auto wideType = VectorType::get({lanes}, f64);
    // Vectors per group: the largest divisor of R / lanes up to 4 (lanes
    // divides R and C = H R, so no channel block needs a mask).
    int64_t group = 1;
    for (int64_t g = 4; g >= 1; --g)
      if ((R / lanes) % g == 0) {
        group = g;
        break;
      }
    // Tiles long enough that the halo (L + Rm + 1 rows) is a small overhead.
    int64_t tile = std::max<int64_t>(options.timeTile, 4 * (L + Rm + 1));
    int64_t rows = tile + L + Rm + 2;
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value zero = b.index(0), one = b.index(1);
    Value invKn = b.splat(b.floatConst(f64, 1.0 / double(L + Rm + 1)), lanes);
    b.parallel({B, numTiles(b, T, tile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(tile));
      Value t1 = b.min(b.add(t0, b.index(tile)), T);
      // Rows [lo, hi] of x feed this tile; P[i] = S[lo - 1 + i] - S[lo - 1],
      // a tile-local prefix sum of x / Kn: no full-length prefix sum.
      Value lo = b.max(zero, b.sub(t0, b.index(L + 1)));
      Value hi = b.min(b.sub(T, one), b.add(b.sub(t1, one), b.index(Rm)));
      Value last = b.add(b.sub(hi, lo), one);
      // Channels go in groups of `group` vectors of one head: the window
      // positions are computed once per group and time step. The group's
      // prefix sums live on the stack unless the window is huge.
      auto prefixType = MemRefType::get({rows, group * lanes}, f64);
      Value prefix =
          rows * group * lanes * 8 <= kMaxStackBytes
              ? Value(memref::AllocaOp::create(b, prefixType, ValueRange{},
                                               b.getI64IntegerAttr(64)))
              : Value(memref::AllocOp::create(b, prefixType, ValueRange{},
                                              b.getI64IntegerAttr(64)));
      Value zeroV =
          arith::ConstantOp::create(b, wideType, b.getZeroAttr(wideType));
      b.forLoop(zero, b.index(C), b.index(group * lanes), [&](Value c0) {
        Value h = b.floorDiv(c0, b.index(R));
        auto col = [&](int64_t g) { return b.index(g * lanes); };
        for (int64_t g = 0; g < group; ++g)
          vector::StoreOp::create(b, zeroV, prefix, ValueRange{zero, col(g)});
        SmallVector<Value> init(group, zeroV);
        b.forLoop(lo, b.add(hi, one), one, init, [&](Value j, ValueRange acc) {
          Value row = b.add(b.sub(j, lo), one);
          SmallVector<Value> next;
          for (int64_t g = 0; g < group; ++g) {
            Value narrow = vector::LoadOp::create(
                b, vecType, x, ValueRange{bi, j, b.add(c0, col(g))});
            Value xv = arith::ExtFOp::create(b, wideType, narrow);
            Value s = b.fma(xv, invKn, acc[g]);
            vector::StoreOp::create(b, s, prefix, ValueRange{row, col(g)});
            next.push_back(s);
          }
          return next;
        });
        b.forLoop(t0, t1, one, [&](Value t) {
          auto [e, aMinus1] =
              talkEdges(b, o, bi, t, h, T, H, L, Rm, causal, f64);
          Value base = b.add(b.sub(t, lo), one); // S[t] lives at row t - lo + 1
          FractionalRow pe = fractionalRow(b, lanes, base, e, last);
          FractionalRow pa = fractionalRow(b, lanes, base, aMinus1, last);
          for (int64_t g = 0; g < group; ++g) {
            auto at = [&](Value row) -> Value {
              return vector::LoadOp::create(b, wideType, prefix,
                                            ValueRange{row, col(g)});
            };
            auto value = [&](const FractionalRow &p) {
              Value lowV = at(p.lower);
              return b.fma(p.frac, b.fsub(at(p.upper), lowV), lowV);
            };
            Value yv = arith::TruncFOp::create(b, vecType,
                                               b.fsub(value(pe), value(pa)));
            vector::StoreOp::create(b, yv, y,
                                    ValueRange{bi, t, b.add(c0, col(g))});
          }
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerWindowDiff : ConvcLoweringPattern<WindowDiffOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(WindowDiffOp op, KernelBuilder &b) const override {
    auto [C, H, R, L, Rm, lanes, causal] =
        talkShape(op, op.getPrefixSums(), options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value S = b.toBuffer(op.getPrefixSums()), o = b.toBuffer(op.getOffsets());
    Value y = b.allocLike(S);
    Value B = b.dim(S, 0), T = b.dim(S, 1);
    Value one = b.index(1);
    b.parallel({B, numTiles(b, T, options.timeTile)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t0 = b.mul(ivs[1], b.index(options.timeTile));
      Value t1 = b.min(b.add(t0, b.index(options.timeTile)), T);
      b.forLoop(t0, t1, one, [&](Value t) {
        b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
          Value h = b.floorDiv(c, b.index(R));
          // Row i of the virtual buffer is S[i - 1]; row 0 is S[-1] = 0.
          auto loadRow = [&](Value i) -> Value {
            Value zeroV =
                arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
            Value isFirst = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                  i, b.index(0));
            Value row = b.max(b.sub(i, one), b.index(0));
            Value v = b.load(vecType, S, {bi, row, c}, mask);
            return arith::SelectOp::create(b, isFirst, zeroV, v);
          };
          auto [e, aMinus1] = talkEdges(b, o, bi, t, h, T, H, L, Rm, causal,
                                        b.getF32Type());
          Value base = b.add(t, one); // S[t] is row t + 1; row 0 is S[-1]
          Value se = interpolate(b, lanes, loadRow, base, e, T);
          Value sa = interpolate(b, lanes, loadRow, base, aMinus1, T);
          b.store(b.fsub(se, sa), y, {bi, t, c}, mask);
        });
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerPrefixSum : ConvcLoweringPattern<PrefixSumOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(PrefixSumOp op, KernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t lanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    Value B = b.dim(x, 0), T = b.dim(x, 1);
    Value scale = b.splat(b.f32(op.getScale().convertToDouble()), lanes);
    int64_t blocks = (C + lanes - 1) / lanes;
    // A prefix sum is sequential in time: parallel over batch x channels.
    b.parallel({B, b.index(blocks)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value c = b.mul(ivs[1], b.index(lanes));
      Value valid = b.min(b.index(lanes), b.sub(b.index(C), c));
      Value mask = vector::CreateMaskOp::create(
          b, VectorType::get({lanes}, b.getI1Type()), ValueRange{valid});
      Value zeroV =
          arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
      b.forLoop(b.index(0), T, b.index(1), zeroV,
                [&](Value t, ValueRange acc) {
                  Value xv = b.load(vecType, x, {bi, t, c}, mask);
                  Value s = b.fma(xv, scale, acc[0]);
                  b.store(s, y, {bi, t, c}, mask);
                  return SmallVector<Value>{s};
                });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerGLU : ConvcLoweringPattern<GLUOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(GLUOp op, KernelBuilder &b) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t D = resultType.getShape().back();
    int64_t lanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(resultType, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    Value rows = b.dim(x2, 0);
    Value one = b.splat(b.f32(1.0), lanes);
    b.parallel({rows}, [&](ValueRange ivs) {
      Value r = ivs[0];
      b.forChannelBlocks(D, lanes, [&](Value c, Value mask) {
        Value a = b.load(vecType, x2, {r, c}, mask);
        Value g = b.load(vecType, x2, {r, b.add(c, b.index(D))}, mask);
        // a * sigmoid(g) = a / (1 + exp(-g))
        Value neg = arith::NegFOp::create(b, g);
        Value sig = b.fdiv(one, b.fadd(one, b.exp(neg)));
        b.store(b.fmul(a, sig), y2, {r, c}, mask);
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerLinear : ConvcLoweringPattern<LinearOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(LinearOp op, KernelBuilder &b) const override {
    if (!options.useBlas)
      return Value(); // reported by the pass: projections need cblas_sgemm
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t N = op.getProjectionWidth();
    int64_t D = op.getInput().getType().getShape().back();
    int64_t W = resultType.getShape().back();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocResult(resultType, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    RowEpilogue e;
    e.activation = op.getActivation();
    if (op.getResidual())
      e.residual = b.rows(b.toBuffer(op.getResidual()));
    if (op.getLnGamma()) {
      e.gamma = b.toBuffer(op.getLnGamma());
      e.beta = b.toBuffer(op.getLnBeta());
      e.eps = op.getEps().convertToDouble();
    }
    bool plain = e.activation == Activation::none && !e.residual && !e.gamma;
    // GLU narrows the row: the sgemm writes a scratch tile, the epilogue the
    // output. Every other epilogue works in place on the output rows.
    bool scratch = e.activation == Activation::glu;
    int64_t lanes = options.vectorWidth;
    emitProjection(
        b, op->getParentOfType<ModuleOp>(), x2, w, bias,
        scratch ? Value() : y2, N, D, options,
        plain ? ProjectionEpilogue()
              : ProjectionEpilogue([&](Value m0, Value rows, Value z,
                                       Value zRow0) {
                  b.forLoop(b.index(0), rows, b.index(1), [&](Value i) {
                    emitRowEpilogue(b, e, z, b.add(zRow0, i), y2,
                                    b.add(m0, i), W, lanes);
                  });
                }));
    return b.toTensor(y, resultType);
  }
};

struct LowerLayerNorm : ConvcLoweringPattern<LayerNormOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(LayerNormOp op, KernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    RowEpilogue e;
    if (op.getResidual())
      e.residual = b.rows(b.toBuffer(op.getResidual()));
    e.gamma = b.toBuffer(op.getGamma());
    e.beta = b.toBuffer(op.getBeta());
    e.eps = op.getEps().convertToDouble();
    b.parallel({b.dim(x2, 0)}, [&](ValueRange ivs) {
      emitRowEpilogue(b, e, x2, ivs[0], y2, ivs[0], W, options.vectorWidth);
    });
    return b.toTensor(y, type);
  }
};

struct LowerEmbedding : ConvcLoweringPattern<EmbeddingOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;

  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getTable().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    rewriter.replaceOp(op, lower(op, b));
    return success();
  }

  Value lower(EmbeddingOp op, KernelBuilder &b) const override {
    auto tableType = op.getTable().getType();
    int64_t V = tableType.getDimSize(0), d = tableType.getDimSize(1);
    int64_t half = d / 2, lanes = options.vectorWidth;
    Type f64 = b.getF64Type(), i64 = b.getI64Type();
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    auto wideType = VectorType::get({lanes}, f64);
    Value tokens = b.toBuffer(op.getTokens()), table = b.toBuffer(op.getTable());
    Value start = op.getStart() ? b.toBuffer(op.getStart()) : Value();
    Value B = b.dim(tokens, 0), T = b.dim(tokens, 1);
    Value y = b.allocResult(cast<RankedTensorType>(op.getType()), tokens);
    // w_j = exp(-j ln(10000) / (d/2 - 1)), in f64 like the positions: the
    // angles p w_j reach hundreds, where f32 would lose 1e-5.
    Value freq;
    if (op.getSinusoidal()) {
      freq = memref::AllocOp::create(b, MemRefType::get({half}, f64),
                                     ValueRange{}, b.getI64IntegerAttr(64));
      b.forLoop(b.index(0), b.index(half), b.index(1), [&](Value j) {
        Value jf = b.indexToFloat(j, f64);
        Value e = b.fmul(jf, b.floatConst(f64, -std::log(10000.0) /
                                                    double(half - 1)));
        b.storeScalar(b.exp(e), freq, {j});
      });
    }
    Value scale = b.splat(b.f32(op.getScale().convertToDouble()), lanes);
    Value pad = arith::ConstantIntOp::create(b, i64, op.getPaddingIdx());
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    // Channels [lo, hi) in vector blocks, the last one masked.
    auto forRange = [&](int64_t lo, int64_t hi,
                        function_ref<void(Value, Value)> body) {
      if (hi > lo)
        b.forChannelBlocks(hi - lo, lanes, [&](Value c, Value mask) {
          body(b.add(c, b.index(lo)), mask);
        });
    };
    b.parallel({B}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value count0 = start ? b.loadScalar(start, {bi})
                           : Value(arith::ConstantIntOp::create(b, i64, 0));
      b.forLoop(b.index(0), T, b.index(1), ValueRange{count0},
                [&](Value t, ValueRange acc) {
        Value tok = b.loadScalar(tokens, {bi, t});
        auto cmp = [&](arith::CmpIPredicate p, Value l, Value r) -> Value {
          return arith::CmpIOp::create(b, p, l, r);
        };
        Value valid = arith::AndIOp::create(
            b,
            arith::AndIOp::create(
                b, cmp(arith::CmpIPredicate::ne, tok, pad),
                cmp(arith::CmpIPredicate::sge, tok,
                    arith::ConstantIntOp::create(b, i64, 0))),
            cmp(arith::CmpIPredicate::slt, tok,
                arith::ConstantIntOp::create(b, i64, V)));
        Value count = arith::SelectOp::create(
            b, valid,
            arith::AddIOp::create(b, acc[0],
                                  arith::ConstantIntOp::create(b, i64, 1)),
            acc[0]);
        auto branch = scf::IfOp::create(b, valid, /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(branch.thenBlock()->getTerminator());
          Value row = arith::IndexCastOp::create(b, b.getIndexType(), tok);
          Value p = arith::SIToFPOp::create(b, f64,
                                            arith::AddIOp::create(b, count, pad));
          Value pV = b.splat(p, lanes);
          auto embed = [&](Value c, Value mask) {
            return b.fmul(b.load(vecType, table, {row, c}, mask), scale);
          };
          auto position = [&](Value c, Value mask, Value j, bool cosine) {
            Value w = mask ? Value(vector::MaskedLoadOp::create(
                                 b, wideType, freq, {j}, mask,
                                 arith::ConstantOp::create(
                                     b, wideType, b.getZeroAttr(wideType))))
                           : Value(vector::LoadOp::create(b, wideType, freq,
                                                          ValueRange{j}));
            Value angle = b.fmul(pV, w);
            Value pe = cosine ? Value(math::CosOp::create(b, angle))
                              : Value(math::SinOp::create(b, angle));
            return arith::TruncFOp::create(b, vecType, pe);
          };
          if (op.getSinusoidal()) {
            forRange(0, half, [&](Value c, Value mask) {
              b.store(b.fadd(embed(c, mask), position(c, mask, c, false)), y,
                      {bi, t, c}, mask);
            });
            forRange(half, 2 * half, [&](Value c, Value mask) {
              Value j = b.sub(c, b.index(half));
              b.store(b.fadd(embed(c, mask), position(c, mask, j, true)), y,
                      {bi, t, c}, mask);
            });
            forRange(2 * half, d, [&](Value c, Value mask) {
              b.store(embed(c, mask), y, {bi, t, c}, mask);
            });
          } else {
            forRange(0, d, [&](Value c, Value mask) {
              b.store(embed(c, mask), y, {bi, t, c}, mask);
            });
          }
          b.setInsertionPoint(branch.elseBlock()->getTerminator());
          forRange(0, d, [&](Value c, Value mask) {
            b.store(zeroV, y, {bi, t, c}, mask);
          });
        }
        return SmallVector<Value>{count};
      });
    });
    return b.toTensor(y, op.getType());
  }
};

/// Keys per block of the attention kernel's online softmax.
constexpr int64_t kAttentionKeyBlock = 256;

/// Attention with an online softmax over blocks of keys, a work item per
/// (batch row, query, head) so that even one decoding query keeps every
/// thread busy. Per block of 256 keys: the scores (R-wide dot products in
/// vector registers) into a stack buffer with their maximum, then their
/// exponentials in vector registers, then the weighted values; the running
/// maximum, sum and R accumulators are rescaled once per block, not per
/// key, and no [Tq, Tk] score matrix is ever stored.
struct LowerAttention : ConvcLoweringPattern<AttentionOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(AttentionOp op, KernelBuilder &b) const override {
    int64_t C = op.getQuery().getType().getDimSize(2), H = op.getHeads();
    int64_t R = C / H, lanes = lanesWithinHead(R, options.vectorWidth);
    int64_t nvec = R / lanes;
    // Score vectors of the full vector width (a block is a multiple).
    int64_t sLanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    auto sType = VectorType::get({sLanes}, b.getF32Type());
    Value q = b.toBuffer(op.getQuery()), k = b.toBuffer(op.getKey()),
          v = b.toBuffer(op.getValue());
    Value mask = op.getKeyPadding() ? b.toBuffer(op.getKeyPadding()) : Value();
    Value y = b.allocLike(q);
    Value B = b.dim(q, 0), Tq = b.dim(q, 1), Tk = b.dim(k, 1);
    Value scale = b.splat(b.f32(1.0 / std::sqrt(double(R))), lanes);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    Value negInf = b.f32(-std::numeric_limits<float>::infinity());
    Value one = b.index(1), zero = b.index(0);
    b.parallel({B, Tq, b.index(H)}, [&](ValueRange ivs) {
      Value bi = ivs[0], t = ivs[1];
      Value base = b.mul(ivs[2], b.index(R));
      auto at = [&](int64_t i) { return b.add(base, b.index(i * lanes)); };
      // The query, scaled by 1/sqrt(R) once.
      SmallVector<Value> qv;
      for (int64_t i = 0; i < nvec; ++i)
        qv.push_back(b.fmul(vector::LoadOp::create(b, vecType, q,
                                                   ValueRange{bi, t, at(i)}),
                            scale));
      Value scores = b.allocaF32({kAttentionKeyBlock});
      SmallVector<Value> init = {negInf, b.f32(0.0)};
      init.append(nvec, zeroV);
      ValueRange state = b.forLoop(
          zero, Tk, b.index(kAttentionKeyBlock), init,
          [&](Value s0, ValueRange st) {
            Value n = b.min(b.index(kAttentionKeyBlock), b.sub(Tk, s0));
            // Scores of the block (padded keys: -inf) and their maximum.
            Value blockMax = b.forLoop(
                zero, n, one, ValueRange{negInf}, [&](Value j, ValueRange mx) {
                  Value s = b.add(s0, j);
                  Value dot = zeroV;
                  for (int64_t i = 0; i < nvec; ++i)
                    dot = b.fma(qv[i],
                                vector::LoadOp::create(b, vecType, k,
                                                       ValueRange{bi, s, at(i)}),
                                dot);
                  Value score = vector::ReductionOp::create(
                      b, vector::CombiningKind::ADD, dot,
                      arith::FastMathFlags::reassoc);
                  if (mask) {
                    Value padded = arith::CmpFOp::create(
                        b, arith::CmpFPredicate::UNE,
                        b.loadScalar(mask, {bi, s}), b.f32(0.0));
                    score = arith::SelectOp::create(b, padded, negInf, score);
                  }
                  b.storeScalar(score, scores, {j});
                  return SmallVector<Value>{
                      arith::MaximumFOp::create(b, mx[0], score)};
                })[0];
            Value mNew = arith::MaximumFOp::create(b, st[0], blockMax);
            // With every key so far padded, mNew = -inf: exponentials
            // against 0 instead give p = 0 and keep the state at zero.
            Value mRef = arith::SelectOp::create(
                b,
                arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew,
                                      negInf),
                b.f32(0.0), mNew);
            Value corr = b.exp(b.fsub(st[0], mRef));
            // p = exp(score - mRef), in place, vector by vector.
            Value mRefV = b.splat(mRef, sLanes);
            Value negInfV = b.splat(negInf, sLanes);
            Value sumV = b.forLoop(
                zero, n, b.index(sLanes),
                ValueRange{arith::ConstantOp::create(b, sType,
                                                     b.getZeroAttr(sType))},
                [&](Value j, ValueRange acc) {
                  Value live = vector::CreateMaskOp::create(
                      b, VectorType::get({sLanes}, b.getI1Type()),
                      ValueRange{b.sub(n, j)});
                  Value sv = vector::MaskedLoadOp::create(b, sType, scores, {j},
                                                          live, negInfV);
                  Value p = b.exp(b.fsub(sv, mRefV));
                  vector::StoreOp::create(b, p, scores, ValueRange{j});
                  return SmallVector<Value>{b.fadd(acc[0], p)};
                })[0];
            Value sum = vector::ReductionOp::create(
                b, vector::CombiningKind::ADD, sumV,
                arith::FastMathFlags::reassoc);
            Value corrV = b.splat(corr, lanes);
            SmallVector<Value> accs;
            for (int64_t i = 0; i < nvec; ++i)
              accs.push_back(b.fmul(st[2 + i], corrV));
            ValueRange weighted = b.forLoop(
                zero, n, one, accs, [&](Value j, ValueRange acc) {
                  Value pV = b.splat(b.loadScalar(scores, {j}), lanes);
                  Value s = b.add(s0, j);
                  SmallVector<Value> next;
                  for (int64_t i = 0; i < nvec; ++i)
                    next.push_back(b.fma(
                        vector::LoadOp::create(b, vecType, v,
                                               ValueRange{bi, s, at(i)}),
                        pV, acc[i]));
                  return next;
                });
            SmallVector<Value> next = {mNew,
                                       b.fadd(b.fmul(st[1], corr), sum)};
            next.append(weighted.begin(), weighted.end());
            return next;
          });
      // All keys masked: l = 0, the output is zero.
      Value l = state[1];
      Value inv = arith::SelectOp::create(
          b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, b.f32(0.0)),
          b.fdiv(b.f32(1.0), l), b.f32(0.0));
      Value invV = b.splat(inv, lanes);
      for (int64_t i = 0; i < nvec; ++i)
        vector::StoreOp::create(b, b.fmul(state[2 + i], invV), y,
                                ValueRange{bi, t, at(i)});
    });
    return b.toTensor(y, op.getType());
  }
};

/// One causal LightweightConv/DynamicConv step over window = state ++ x.
struct LowerConvWindowStep : OpRewritePattern<ConvWindowStepOp> {
  LowerConvWindowStep(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  LogicalResult matchAndRewrite(ConvWindowStepOp op,
                                PatternRewriter &rewriter) const override {
    if (!allF32(op))
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    int64_t C = op.getInput().getType().getDimSize(2), H = op.getHeads();
    int64_t K = op.getKernelSize(), R = C / H;
    bool dynamic = op.getKind() == "dynamic";
    // Vectors stay within a head: every lane of one shares its tap weight.
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), state = b.toBuffer(op.getState());
    Value W = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value y = b.allocLike(x), next = b.allocLike(state);
    // LightweightConv: the per-head taps [H * K], softmaxed, once per step
    // (a per-channel [K, C] copy would cost K * C per step when the weights
    // are inputs).
    Value wh = dynamic ? Value()
                       : emitHeadTaps(b, W, H, K, op.getWeightSoftmax(),
                                      options.vectorWidth);
    Value zero = b.index(0), one = b.index(1), last = b.index(K - 1);
    b.parallel({b.dim(x, 0)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value wpos;
      if (dynamic) {
        // This position's kernels: softmax(Wq x_t + bias) per head.
        wpos = b.allocaF32({H * K});
        b.forLoop(zero, b.index(H * K), one, [&](Value j) {
          Value dot = sumChannelBlocks(
              b, C, options.vectorWidth, [&](Value c, Value mask) {
                auto v = VectorType::get({options.vectorWidth}, b.getF32Type());
                return b.fmul(b.load(v, W, {j, c}, mask),
                              b.load(v, x, {bi, zero, c}, mask));
              });
          if (bias)
            dot = b.fadd(dot, b.loadScalar(bias, {j}));
          b.storeScalar(dot, wpos, {j});
        });
        b.forLoop(zero, b.index(H), one, [&](Value h) {
          emitSoftmaxInPlace(b, wpos, b.mul(h, b.index(K)), K,
                             options.vectorWidth);
        });
      }
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        Value hBase = b.mul(b.floorDiv(c, b.index(R)), b.index(K));
        Value taps = dynamic ? wpos : wh;
        auto weight = [&](Value k) -> Value {
          return b.splat(b.loadScalar(taps, {b.add(hBase, k)}), lanes);
        };
        Value acc0 =
            arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
        Value acc = b.forLoop(zero, last, one, acc0,
                              [&](Value k, ValueRange a) {
                                Value v = b.load(vecType, state, {bi, k, c},
                                                 mask);
                                return SmallVector<Value>{
                                    b.fma(v, weight(k), a[0])};
                              })[0];
        Value xv = b.load(vecType, x, {bi, zero, c}, mask);
        b.store(b.fma(xv, weight(last), acc), y, {bi, zero, c}, mask);
        // Keep the newest K - 1 inputs.
        if (K > 1) {
          b.forLoop(zero, b.index(K - 2), one, [&](Value k) {
            b.store(b.load(vecType, state, {bi, b.add(k, one), c}, mask), next,
                    {bi, k, c}, mask);
          });
          b.store(xv, next, {bi, b.index(K - 2), c}, mask);
        }
      });
    });
    rewriter.replaceOp(op, {b.toTensor(y, op.getResult().getType()),
                            b.toTensor(next, op.getNewState().getType())});
    return success();
  }
};

/// One causal TaLK step on a ring of the last Lmax + 2 prefix sums.
struct LowerTaLKStep : OpRewritePattern<TaLKStepOp> {
  LowerTaLKStep(MLIRContext *ctx, LoweringOptions options)
      : OpRewritePattern(ctx), options(options) {}
  LoweringOptions options;

  LogicalResult matchAndRewrite(TaLKStepOp op,
                                PatternRewriter &rewriter) const override {
    if (!getElementTypeOrSelf(op.getInput().getType()).isF32())
      return rewriter.notifyMatchFailure(op, "only f32 is lowered");
    KernelBuilder b(op.getLoc(), rewriter);
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t H = op.getOffsets().getType().getDimSize(2), R = C / H;
    int64_t L = op.getLeftMax(), slots = L + 2;
    int64_t lanes = lanesWithinHead(R, options.vectorWidth);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), o = b.toBuffer(op.getOffsets());
    Value ring = b.toBuffer(op.getRing()), step = b.toBuffer(op.getStep());
    Value y = b.allocLike(x), next = b.allocLike(ring);
    Value zero = b.index(0), one = b.index(1);
    Value invKn = b.splat(b.f32(1.0 / double(L + 1)), lanes);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    auto slotOf = [&](Value j) { // j >= 0
      return arith::RemSIOp::create(b, j, b.index(slots));
    };
    b.parallel({b.dim(x, 0)}, [&](ValueRange ivs) {
      Value bi = ivs[0];
      Value t = arith::IndexCastOp::create(b, b.getIndexType(),
                                           b.loadScalar(step, {bi}));
      Value tSlot = slotOf(t);
      Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, zero);
      Value prevSlot = slotOf(b.max(b.sub(t, one), zero));
      // S[j] from the updated ring; S[-1] = 0.
      auto prefixAt = [&](Value j, Value c) -> Value {
        Value negative =
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, j, zero);
        Value v = vector::LoadOp::create(
            b, vecType, next, ValueRange{bi, slotOf(b.max(j, zero)), c});
        return arith::SelectOp::create(b, negative, zeroV, v);
      };
      b.forChannelBlocks(C, lanes, [&](Value c, Value) {
        for (int64_t s = 0; s < slots; ++s)
          vector::StoreOp::create(
              b,
              vector::LoadOp::create(b, vecType, ring,
                                     ValueRange{bi, b.index(s), c}),
              next, ValueRange{bi, b.index(s), c});
        Value prev = vector::LoadOp::create(b, vecType, ring,
                                            ValueRange{bi, prevSlot, c});
        prev = arith::SelectOp::create(b, first, zeroV, prev);
        Value xv = vector::LoadOp::create(b, vecType, x, ValueRange{bi, zero, c});
        Value St = b.fma(xv, invKn, prev);
        vector::StoreOp::create(b, St, next, ValueRange{bi, tSlot, c});
        // a - 1 relative to t, with lt clamped to [0, 1]; a >= 0.
        Value h = b.floorDiv(c, b.index(R));
        Value lt = b.loadScalar(o, {bi, zero, h});
        lt = arith::MinNumFOp::create(
            b, arith::MaxNumFOp::create(b, lt, b.f32(0.0)), b.f32(1.0));
        Value left = arith::MaximumFOp::create(
            b, arith::NegFOp::create(b, b.fmul(lt, b.f32(double(L)))),
            arith::NegFOp::create(b, b.indexToF32(t)));
        Value delta = b.fsub(left, b.f32(1.0));
        Value fl = math::FloorOp::create(b, delta);
        Value frac = b.splat(b.fsub(delta, fl), lanes);
        Value j = b.add(t, arith::IndexCastOp::create(
                               b, b.getIndexType(),
                               arith::FPToSIOp::create(b, b.getI64Type(), fl)));
        Value lo = prefixAt(j, c), hi = prefixAt(b.min(b.add(j, one), t), c);
        Value Sa = b.fma(frac, b.fsub(hi, lo), lo);
        vector::StoreOp::create(b, b.fsub(St, Sa), y, ValueRange{bi, zero, c});
      });
    });
    rewriter.replaceOp(op, {b.toTensor(y, op.getResult().getType()),
                            b.toTensor(next, op.getNewRing().getType())});
    return success();
  }
};

struct LowerPaddingMask : OpRewritePattern<PaddingMaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PaddingMaskOp op,
                                PatternRewriter &rewriter) const override {
    KernelBuilder b(op.getLoc(), rewriter);
    Value tokens = b.toBuffer(op.getTokens());
    Value B = b.dim(tokens, 0), T = b.dim(tokens, 1);
    Value y = b.allocResult(op.getType(), tokens);
    Value pad = arith::ConstantIntOp::create(b, b.getI64Type(),
                                             op.getPaddingIdx());
    b.parallel({B}, [&](ValueRange ivs) {
      b.forLoop(b.index(0), T, b.index(1), [&](Value t) {
        Value isPad = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                            b.loadScalar(tokens, {ivs[0], t}),
                                            pad);
        b.storeScalar(arith::SelectOp::create(b, isPad, b.f32(1.0), b.f32(0.0)),
                      y, {ivs[0], t});
      });
    });
    rewriter.replaceOp(op, b.toTensor(y, op.getType()));
    return success();
  }
};

struct LowerMaskPositions : ConvcLoweringPattern<MaskPositionsOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(MaskPositionsOp op, KernelBuilder &b) const override {
    int64_t C = op.getInput().getType().getDimSize(2);
    int64_t lanes = options.vectorWidth;
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    Value x = b.toBuffer(op.getInput()), m = b.toBuffer(op.getMask());
    Value y = b.allocLike(x);
    Value zeroV = arith::ConstantOp::create(b, vecType, b.getZeroAttr(vecType));
    b.parallel({b.dim(x, 0), b.dim(x, 1)}, [&](ValueRange ivs) {
      Value masked = arith::CmpFOp::create(b, arith::CmpFPredicate::UNE,
                                           b.loadScalar(m, ivs), b.f32(0.0));
      b.forChannelBlocks(C, lanes, [&](Value c, Value mask) {
        Value v = b.load(vecType, x, {ivs[0], ivs[1], c}, mask);
        b.store(arith::SelectOp::create(b, masked, zeroV, v), y,
                {ivs[0], ivs[1], c}, mask);
      });
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerKernelSoftmax : ConvcLoweringPattern<KernelSoftmaxOp> {
  using ConvcLoweringPattern::ConvcLoweringPattern;
  Value lower(KernelSoftmaxOp op, KernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t K = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocLike(x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    // Copy then normalise each row in place, through a flat view of y.
    Value rows = b.dim(x2, 0);
    Value flat = memref::CollapseShapeOp::create(
        b, y2, SmallVector<ReassociationIndices>{{0, 1}});
    b.parallel({rows}, [&](ValueRange ivs) {
      Value r = ivs[0];
      b.forLoop(b.index(0), b.index(K), b.index(1), [&](Value k) {
        b.storeScalar(b.loadScalar(x2, {r, k}), y2, {r, k});
      });
      emitSoftmaxInPlace(b, flat, b.mul(r, b.index(K)), K,
                         options.vectorWidth);
    });
    return b.toTensor(y, op.getType());
  }
};

struct LowerConvcToLoopsPass
    : convc::impl::LowerConvcToLoopsPassBase<LowerConvcToLoopsPass> {
  using LowerConvcToLoopsPassBase::LowerConvcToLoopsPassBase;

  void runOnOperation() override {
    if (vectorWidth < 1 || (vectorWidth & (vectorWidth - 1))) {
      getOperation().emitError()
          << "convc-lower-to-loops: vector-width must be a power of two, got "
          << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    LoweringOptions options{vectorWidth, std::max<int64_t>(1, timeTile),
                            useBlas};
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<LowerDepthwiseConv, LowerLightweightConv,
                 LowerDynamicKernelConv, LowerTaLKConv, LowerWindowDiff,
                 LowerPrefixSum, LowerGLU, LowerKernelSoftmax, LowerLinear,
                 LowerLayerNorm, LowerEmbedding, LowerAttention>(ctx, options);
    patterns.add<DecomposeDynamicConv, LowerConvWindowStep, LowerTaLKStep,
                 LowerMaskPositions>(ctx, options);
    patterns.add<LowerPaddingMask>(ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Anything left is a case the CPU lowering does not handle: say which.
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<ConvcDialect>(op->getDialect()))
        return WalkResult::advance();
      if (!allF32(op))
        op->emitError() << "the CPU lowering handles f32 convc ops only; this "
                           "op has "
                        << getElementTypeOrSelf(op->getResultTypes().front())
                        << " (f16/bf16 storage is compiled by --target=cuda only)";
      else if (isa<LinearOp>(op) && !useBlas)
        op->emitError() << "convc.linear is lowered to cblas_sgemm calls; "
                           "it needs use-blas=true (OpenBLAS)";
      else
        op->emitError() << "no CPU lowering for this op";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
