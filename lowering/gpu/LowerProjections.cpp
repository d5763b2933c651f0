//===- LowerProjections.cpp - linear layers and GLU to GPU loops ----------===//
//
// A projection is a shared-memory GEMM with its bias, activation and
// residual fused into the store; dynamic_conv's kernel projection runs
// the same GEMM.
//
// Math: docs/semantics.md, linear, glu.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace convc::gpu_lowering {
namespace {

/// The projection's block tile: 64 rows by 64 output columns (GLU: 32 of
/// each half), a 32-deep slab of D staged per step, 256 threads as 16 x 16.
constexpr int64_t kGemmRows = 64, kGemmCols = 64, kGemmDepth = 32,
                  kGemmThreadsPerSide = 16;
/// Each thread's register tile: rows ty + 16 i, columns tx + 16 j.
constexpr int64_t kGemmThreadRows = kGemmRows / kGemmThreadsPerSide;
// Staging item (r, k) loads input row r and weight row r: as many weight
// rows (both GLU halves) as input rows. The compute phase is one item per
// thread of the block.
static_assert(kGemmRows == kGemmCols, "staging pairs input and weight rows");
static_assert(kGemmThreadsPerSide * kGemmThreadsPerSide == kTileThreads,
              "one compute item per thread");

/// act(z) from `biased(h)`, half h's biased product (GLU: z(0) sigmoid(z(1))).
Value activate(GPUKernelBuilder &b, Activation act,
               function_ref<Value(int64_t)> biased) {
  Value z = biased(0);
  switch (act) {
  case Activation::none:
    return z;
  case Activation::relu:
    return b.fmax(z, b.f32(0.0));
  case Activation::swish:
    return b.fmul(z, b.sigmoid(z));
  case Activation::sigmoid:
    return b.sigmoid(z);
  case Activation::glu:
    return b.fmul(z, b.sigmoid(biased(1)));
  }
  return z;
}

/// out[m, n] = act(z(h) + bias[h W + n]) (+ res[m, n]) from the products of
/// its halves, z(h): every projection kernel's epilogue.
void storeProjected(GPUKernelBuilder &b, Activation act, Value bias, Value res,
                    Value out, Value m, Value n,
                    function_ref<Value(int64_t)> z) {
  int64_t W = cast<MemRefType>(out.getType()).getDimSize(1);
  auto biased = [&](int64_t h) {
    Value v = z(h);
    return bias ? b.fadd(v, b.loadF32(bias, {b.add(n, b.index(h * W))})) : v;
  };
  Value v = activate(b, act, biased);
  if (res)
    v = b.fadd(v, b.loadF32(res, {m, n}));
  b.storeF32(v, out, {m, n});
}

/// Whether `buffer` is a row-major [M, D] memref with rows D apart.
bool denseRows(Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type.getRank() == 2 && !type.isDynamicDim(1) &&
         succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides[1] == 1 && strides[0] == type.getDimSize(1);
}

/// The address of `buffer`'s first element, as an i64.
Value address(GPUKernelBuilder &b, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, buffer);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, buffer);
  Value bytes = b.mul(meta.getOffset(),
                      b.index(type.getElementTypeBitWidth() / 8));
  return arith::IndexCastOp::create(b, b.getI64Type(), b.add(base, bytes));
}

/// `func.func private @name(i32, i64 x 6) -> i32`: the runtime's
/// convc_{cuda,host}_gemm_lowp(type, M, N, K, x, w, z).
func::FuncOp declareGemm(GPUKernelBuilder &b, ModuleOp module,
                         StringRef name) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto fn = func::FuncOp::create(
      b, name, b.getFunctionType({i32, i64, i64, i64, i64, i64, i64}, {i32}));
  fn.setPrivate();
  return fn;
}

} // namespace

void emitProjection(GPUKernelBuilder &b, Value x2, Value w, Value bias,
                    Activation act, Value res, Value out,
                    GemmLibrary library) {
  Type element = cast<MemRefType>(x2.getType()).getElementType();
  bool lowPrecision =
      (element.isF16() || element.isBF16()) &&
      cast<MemRefType>(w.getType()).getElementType() == element;
  auto module = b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  if (library == GemmLibrary::none || !lowPrecision || !denseRows(x2) ||
      !denseRows(w) || !module)
    return emitGemm(b, x2, w, bias, act, res, out);
  int64_t D = cast<MemRefType>(x2.getType()).getDimSize(1);
  int64_t W = cast<MemRefType>(out.getType()).getDimSize(1);
  int64_t N = cast<MemRefType>(w.getType()).getDimSize(0); // halves x W
  Value M = b.dim(x2, 0);
  Value z = b.allocF32({ShapedType::kDynamic, N}, {M});
  auto i64 = [&](Value v) {
    return arith::IndexCastOp::create(b, b.getI64Type(), v).getResult();
  };
  func::FuncOp gemm = declareGemm(
      b, module,
      library == GemmLibrary::cuda ? "convc_cuda_gemm_lowp"
                                   : "convc_host_gemm_lowp");
  Value status =
      func::CallOp::create(
          b, gemm,
          ValueRange{arith::ConstantIntOp::create(b, element.isF16() ? 0 : 1, 32),
                     i64(M), i64(b.index(N)), i64(b.index(D)), address(b, x2),
                     address(b, w), address(b, z)})
          .getResult(0);
  Value done = b.cmpI(arith::CmpIPredicate::eq, status,
                      arith::ConstantIntOp::create(b, 0, 32));
  auto branch = scf::IfOp::create(b, done, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(branch.thenBlock()->getTerminator());
    // The epilogue, a work item per output.
    b.parallel({M, b.index(W)}, [&](ValueRange ivs) {
      Value m = ivs[0], n = ivs[1];
      storeProjected(b, act, bias, res, out, m, n, [&](int64_t h) {
        return b.loadScalar(z, {m, b.add(n, b.index(h * W))});
      });
    });
    b.setInsertionPoint(branch.elseBlock()->getTerminator());
    emitGemm(b, x2, w, bias, act, res, out);
  }
}

namespace {

/// Blocks a projection's grid should have at least: two per SM of an H100
/// or H200 (132 SMs). A projection of few rows (a decoding step's) has few
/// 64 x 64 tiles, W / 64 for one row, and each block's slab loop is a
/// chain of DRAM round trips (64 for D = 2048): it then splits D instead.
constexpr int64_t kGemmTargetBlocks = 264;

/// The shared-memory GEMM of emitGemm, its pieces.
struct SharedMemoryGemm {
  GPUKernelBuilder &b;
  Value x2, w, bias, res, out;
  Activation act;
  int64_t D, W, halves, tileCols, threadCols;
  Value M, lastRow;

  SharedMemoryGemm(GPUKernelBuilder &b, Value x2, Value w, Value bias,
                   Activation act, Value res, Value out)
      : b(b), x2(x2), w(w), bias(bias), res(res), out(out), act(act) {
    D = cast<MemRefType>(x2.getType()).getDimSize(1);
    W = cast<MemRefType>(out.getType()).getDimSize(1);
    halves = act == Activation::glu ? 2 : 1;
    tileCols = kGemmCols / halves; // output columns per tile
    threadCols = tileCols / kGemmThreadsPerSide;
    M = b.dim(x2, 0);
    lastRow = b.sub(M, b.index(1));
  }

  /// Stages the slab at depth k0 of the tile at (m0, n0): xs[k][r] =
  /// x[m0 + r][k0 + k], ws[h * 32 + k][j] = w[h W + n0 + j][k0 + k]; item
  /// (r, k) loads `lanes` depths from k of input row r, or of weight row r
  /// (columns past W or D read a clamped row, or zero).
  void stageSlab(Value m0, Value n0, Value k0, Value xs, Value ws) {
    ifVectorLoads(b, {x2, w}, [&](int64_t lanes) {
      int64_t slots = kGemmDepth / lanes;
      auto rowDepth = [&](Value item) {
        auto [r, q] = b.divRem(item, slots);
        return std::make_pair(r, b.mul(q, b.index(lanes)));
      };
      // The lanes at depth k0 + k of `row`, zero past D (D and k are
      // multiples of the lanes).
      auto slab = [&](Value buffer, Value row, Value k) {
        Value kk = b.add(k0, k);
        Value kc = b.min(kk, b.index(D - lanes));
        Value zero = lanes == 1 ? b.f32(0.0) : b.splat(b.f32(0.0), lanes);
        return b.select(b.lt(kk, b.index(D)),
                        loadLanesF32(b, buffer, {row, kc}, lanes), zero);
      };
      auto weightRow = [&](Value r) {
        auto [h, j] = b.divRem(r, tileCols);
        return std::make_pair(b.add(b.min(b.add(n0, j), b.index(W - 1)),
                                    b.mul(h, b.index(W))),
                              std::make_pair(h, j));
      };
      auto loadX = [&](Value item) {
        auto [r, k] = rowDepth(item);
        return slab(x2, b.min(b.add(m0, r), lastRow), k);
      };
      auto storeX = [&](Value item, Value v) {
        auto [r, k] = rowDepth(item);
        for (int64_t l = 0; l < lanes; ++l)
          b.storeScalar(lane(b, v, l), xs, {b.add(k, b.index(l)), r});
      };
      auto loadW = [&](Value item) {
        auto [r, k] = rowDepth(item);
        return slab(w, weightRow(r).first, k);
      };
      auto storeW = [&](Value item, Value v) {
        auto [r, k] = rowDepth(item);
        auto [h, j] = weightRow(r).second;
        Value k1 = b.add(b.mul(h, b.index(kGemmDepth)), k);
        for (int64_t l = 0; l < lanes; ++l)
          b.storeScalar(lane(b, v, l), ws, {b.add(k1, b.index(l)), j});
      };
      stageInRounds(b, {{kGemmRows * slots, loadX, storeX},
                        {kGemmRows * slots, loadW, storeW}});
    });
  }

  /// Each thread adds the staged slab to its 4 x 4 outputs in `acc`.
  void accumulateSlab(Value xs, Value ws, Value acc) {
    b.threadPhase(kTileThreads, [&](Value i) {
      auto [ty, tx] = b.divRem(i, kGemmThreadsPerSide);
      SmallVector<Value> rows, cols, init;
      for (int64_t r = 0; r < kGemmThreadRows; ++r)
        rows.push_back(b.add(ty, b.index(r * kGemmThreadsPerSide)));
      for (int64_t h = 0; h < halves; ++h)
        for (int64_t j = 0; j < threadCols; ++j)
          cols.push_back(
              b.add(tx, b.index(h * tileCols + j * kGemmThreadsPerSide)));
      for (Value r : rows)
        for (Value c : cols)
          init.push_back(b.loadScalar(acc, {r, c}));
      ValueRange sums = b.forLoop(
          b.index(0), b.index(kGemmDepth), b.index(1), init,
          [&](Value k, ValueRange partial) {
            SmallVector<Value> in, wt, next;
            for (Value r : rows)
              in.push_back(b.loadScalar(xs, {k, r}));
            for (int64_t h = 0; h < halves; ++h)
              for (int64_t j = 0; j < threadCols; ++j)
                wt.push_back(b.loadScalar(
                    ws, {b.add(k, b.index(h * kGemmDepth)),
                         b.add(tx, b.index(j * kGemmThreadsPerSide))}));
            for (size_t r = 0; r < in.size(); ++r)
              for (size_t c = 0; c < wt.size(); ++c)
                next.push_back(b.fma(in[r], wt[c], partial[r * wt.size() + c]));
            return next;
          });
      for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < cols.size(); ++c)
          b.storeScalar(sums[r * cols.size() + c], acc, {rows[r], cols[c]});
    });
  }

  void storeOutput(Value m, Value n, function_ref<Value(int64_t)> z) {
    storeProjected(b, act, bias, res, out, m, n, z);
  }

  void emit() {
    Value rowTiles = b.ceilDiv(M, b.index(kGemmRows));
    Value colTiles = b.index((W + tileCols - 1) / tileCols);
    // Splits of D: enough blocks for the GPU, at least a slab each, none
    // empty. Split, the blocks write their raw sums to `partial` and a
    // second kernel adds them up with the epilogue.
    // (No division by zero where a tensor inside the model has no rows.)
    Value slabs =
        b.index(std::max<int64_t>((D + kGemmDepth - 1) / kGemmDepth, 1));
    Value want = b.ceilDiv(b.index(kGemmTargetBlocks),
                           b.max(b.mul(rowTiles, colTiles), b.index(1)));
    Value perSplit =
        b.ceilDiv(slabs, b.max(b.min(want, slabs), b.index(1)));
    Value splits = b.ceilDiv(slabs, perSplit);
    Value split = b.cmpI(arith::CmpIPredicate::sgt, splits, b.index(1));
    // [splits, M, halves W]; one element when D is not split.
    Value partial = b.allocF32(
        {ShapedType::kDynamic, ShapedType::kDynamic, halves * W},
        {b.select(split, splits, b.index(1)), b.select(split, M, b.index(1))});
    b.blocks({rowTiles, colTiles, splits}, kTileThreads, [&](ValueRange ivs) {
      Value m0 = b.mul(ivs[0], b.index(kGemmRows));
      Value n0 = b.mul(ivs[1], b.index(tileCols));
      Value kBegin = b.mul(ivs[2], b.mul(perSplit, b.index(kGemmDepth)));
      Value kEnd =
          b.min(b.add(kBegin, b.mul(perSplit, b.index(kGemmDepth))),
                b.index(D));
      // acc[r][h * tileCols + j], rows 80 apart (16 banks).
      Value xs = b.shared({kGemmDepth, kGemmRows + 1});
      Value ws = b.shared({halves * kGemmDepth, tileCols + 1});
      Value acc = b.shared({kGemmRows, kGemmCols + 16});
      b.threadPhase(kGemmRows * kGemmCols, [&](Value i) {
        auto [r, c] = b.divRem(i, kGemmCols);
        b.storeScalar(b.f32(0.0), acc, {r, c});
      });
      b.forLoop(kBegin, kEnd, b.index(kGemmDepth), [&](Value k0) {
        stageSlab(m0, n0, k0, xs, ws);
        accumulateSlab(xs, ws, acc);
      });
      b.threadPhase(kGemmRows * tileCols, [&](Value i) {
        auto [r, j] = b.divRem(i, tileCols);
        Value m = b.add(m0, r), n = b.add(n0, j);
        Value inside = b.andI(b.lt(m, M), b.lt(n, b.index(W)));
        b.ifThen(inside, [&] {
          auto tileSum = [&](int64_t h) {
            return b.loadScalar(acc, {r, b.add(j, b.index(h * tileCols))});
          };
          auto whole = scf::IfOp::create(b, split, /*withElseRegion=*/true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(whole.thenBlock()->getTerminator());
          for (int64_t h = 0; h < halves; ++h)
            b.storeScalar(tileSum(h), partial,
                          {ivs[2], m, b.add(n, b.index(h * W))});
          b.setInsertionPoint(whole.elseBlock()->getTerminator());
          storeOutput(m, n, tileSum);
        });
      });
    });
    // The splits' sum, in split order; one idle row when D is not split.
    b.parallel({b.select(split, M, b.index(1)), b.index(W)},
               [&](ValueRange ivs) {
                 b.ifThen(split, [&] {
                   storeOutput(ivs[0], ivs[1], [&](int64_t h) {
                     Value col = b.add(ivs[1], b.index(h * W));
                     return b.sum(splits, [&](Value s) {
                       return b.loadScalar(partial, {s, ivs[0], col});
                     });
                   });
                 });
               });
  }
};

} // namespace

/// out[M, W] = act(x2 W^T + bias) (+ res), x2 [M, D] and w [halves W, D].
///
/// A block per 64 x 64 output tile, the classic shared-memory GEMM: for
/// each 32-deep slab of D, the threads stage the slab's 64 input rows and
/// 64 weight rows in shared memory (coalesced reads along D, 16 bytes where
/// aligned, both operands as stored, so no transpose), then each thread
/// adds the slab to its 4 x 4 outputs: 8 shared loads for 16 FMAs, where a
/// flat kernel reads every operand from global memory. The register tile
/// lives across phases in a shared accumulator (on a CPU phases run one
/// after the other, so a thread's registers cannot outlive one); reloading
/// it costs one load and store per output per slab, 1/32 of the FMAs. Rows
/// are padded so that neither the staging stores (consecutive k) nor the
/// tile reads (consecutive columns, rows 16 apart) meet bank conflicts. The
/// epilogue (bias, activation, residual) reads the accumulator along
/// columns and stores coalesced. With fewer tiles than kGemmTargetBlocks,
/// D is split among blocks and a second kernel sums the splits.
void emitGemm(GPUKernelBuilder &b, Value x2, Value w, Value bias,
              Activation act, Value res, Value out) {
  SharedMemoryGemm(b, x2, w, bias, act, res, out).emit();
}

namespace {

struct LowerGLU : GPULoweringPattern<GLUOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(GLUOp op, GPUKernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput());
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    b.parallel({b.dim(x2, 0), b.index(W)}, [&](ValueRange ivs) {
      Value a = b.loadF32(x2, ivs);
      Value g = b.loadF32(x2, {ivs[0], b.add(ivs[1], b.index(W))});
      b.storeF32(b.fmul(a, b.sigmoid(g)), y2, ivs);
    });
    return {b.toTensorOf(y, op.getResult())};
  }
};

/// x W^T (+ bias), activation, (+ residual), (LayerNorm): the GEMM, then
/// a LayerNorm per row.
struct LowerLinear : GPULoweringPattern<LinearOp> {
  using GPULoweringPattern::GPULoweringPattern;
  SmallVector<Value> lower(LinearOp op, GPUKernelBuilder &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t W = type.getShape().back();
    Value x = b.toBuffer(op.getInput()), w = b.toBuffer(op.getWeight());
    Value bias = op.getBias() ? b.toBuffer(op.getBias()) : Value();
    Value res = op.getResidual() ? b.rows(b.toBuffer(op.getResidual())) : Value();
    Value y = b.allocResult(type, x);
    Value x2 = b.rows(x), y2 = b.rows(y);
    // Pre-LayerNorm rows go to an f32 scratch buffer when a norm follows.
    Value out = op.getLnGamma()
                    ? b.allocF32({ShapedType::kDynamic, W}, {b.dim(x2, 0)})
                    : y2;
    emitProjection(b, x2, w, bias, op.getActivation(), res, out, gemmLibrary);
    if (op.getLnGamma())
      emitLayerNormRows(b, out, y2, b.toBuffer(op.getLnGamma()),
                        b.toBuffer(op.getLnBeta()),
                        op.getEps().convertToDouble());
    return {b.toTensorOf(y, op.getResult())};
  }
};

} // namespace

void populateProjectionLoweringPatterns(RewritePatternSet &patterns,
                                        int64_t timeTile,
                                        GemmLibrary gemmLibrary) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerGLU, LowerLinear>(ctx, timeTile, gemmLibrary);
}

} // namespace convc::gpu_lowering
