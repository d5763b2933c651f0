//===- LowerProjections.cpp - linear layers and GLU to sgemm calls --------===//
//
// A projection is cblas_sgemm calls over row tiles, each followed, while
// its rows are still in cache, by a row epilogue (activation, residual,
// LayerNorm). dynamic_conv's kernel projection and layer_norm reuse them.
//
// Math: docs/semantics.md, linear, glu.
//
//===----------------------------------------------------------------------===//

#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/MathExtras.h"

namespace convc::cpu_lowering {
namespace {

/// A projection splits into at most this many row tiles (one sgemm call
/// each, in parallel), of at least kProjectionMinRows rows: sgemm repacks
/// the weights per call, so fewer, larger calls are cheaper.
constexpr int64_t kProjectionMaxTiles = 8;
constexpr int64_t kProjectionMinRows = 256;
/// Column chunks of a projection with few rows.
constexpr int64_t kProjectionColumnChunks = 8;

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

} // namespace

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
                    ProjectionEpilogue epilogue) {
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

namespace {

Value sigmoid(KernelBuilder &b, Value v, int64_t lanes) {
  Value one = b.splat(b.f32(1.0), lanes);
  return b.fdiv(one, b.fadd(one, b.exp(arith::NegFOp::create(b, v))));
}

} // namespace

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

namespace {

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

} // namespace

void populateProjectionLoweringPatterns(RewritePatternSet &patterns,
                                        const LoweringOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerGLU, LowerLinear>(ctx, options);
}

} // namespace convc::cpu_lowering
