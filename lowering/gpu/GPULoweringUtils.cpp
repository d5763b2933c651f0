//===- GPULoweringUtils.cpp - helpers shared by the GPU op families -------===//
//
// Small helpers that more than one op family of the GPU lowering calls;
// GPULowering.h declares and describes them.
//
//===----------------------------------------------------------------------===//

#include "lowering/gpu/GPULowering.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

namespace convc::gpu_lowering {

bool supportedStorage(Operation *op) {
  auto ok = [](Type t) {
    Type e = getElementTypeOrSelf(t);
    return e.isF32() || e.isF16() || e.isBF16() || e.isInteger(64);
  };
  return llvm::all_of(op->getOperandTypes(), ok) &&
         llvm::all_of(op->getResultTypes(), ok);
}

/// Elements per vector load of a staged row: 16 bytes of f32, 8 of f16 or
/// bf16 (4 lanes), where x's rows hold a whole number of vectors.
static constexpr int64_t kStageLanes = 4;

/// The staging phase, `lanes` channels per load. Each thread issues all
/// its loads before it stores any: a store waits for its load, and a
/// thread storing after each load would keep one load in flight, far from
/// the bytes in flight DRAM bandwidth needs (Little's law). Loads clamp
/// their row and channel, so they are all in bounds and need no guard;
/// only the stores of the last, partial round are guarded.
static void stageRows(GPUKernelBuilder &b, Value x, Value bi, Value first,
                      Value c0, Value tile, int64_t span, Value scale,
                      int64_t lanes) {
  Value T = b.dim(x, 1), C = b.dim(x, 2);
  Value lastC = b.sub(C, b.index(lanes));
  int64_t perRow = kTileChannels / lanes, items = span * perRow;
  int64_t rounds = (items + kTileThreads - 1) / kTileThreads;
  Type element = cast<MemRefType>(x.getType()).getElementType();
  auto vecType = VectorType::get({lanes}, element);
  auto f32Vec = VectorType::get({lanes}, b.getF32Type());
  b.threadPhase(kTileThreads, [&](Value tid) {
    SmallVector<Value> values, rows, cols;
    for (int64_t k = 0; k < rounds; ++k) {
      Value item = b.add(tid, b.index(k * kTileThreads));
      if ((k + 1) * kTileThreads > items)
        item = b.min(item, b.index(items - 1));
      auto [row, slot] = b.divRem(item, perRow);
      Value col = b.mul(slot, b.index(lanes));
      Value c = b.min(b.add(c0, col), lastC);
      Value t = b.add(first, row);
      Value inside = b.andI(b.cmpI(arith::CmpIPredicate::sge, t, b.index(0)),
                            b.lt(t, T));
      Value tc = b.max(b.min(t, b.sub(T, b.index(1))), b.index(0));
      Value v;
      if (lanes == 1) {
        v = b.select(inside, b.loadF32(x, {bi, tc, c}), b.f32(0.0));
      } else {
        unsigned bytes = lanes * element.getIntOrFloatBitWidth() / 8;
        v = vector::LoadOp::create(b, vecType, x, ValueRange{bi, tc, c},
                                   /*nontemporal=*/false,
                                   llvm::MaybeAlign(bytes));
        if (element != b.getF32Type())
          v = arith::ExtFOp::create(b, f32Vec, v);
        v = b.select(inside, v, b.splat(b.f32(0.0), lanes));
      }
      values.push_back(v);
      rows.push_back(row);
      cols.push_back(col);
    }
    for (int64_t k = 0; k < rounds; ++k) {
      auto store = [&, k] {
        for (int64_t l = 0; l < lanes; ++l) {
          Value v = lanes == 1 ? values[k]
                               : vector::ExtractOp::create(b, values[k], l);
          if (scale)
            v = b.fmul(v, scale);
          b.storeScalar(v, tile, {rows[k], b.add(cols[k], b.index(l))});
        }
      };
      if ((k + 1) * kTileThreads <= items)
        store();
      else
        b.ifThen(b.lt(b.add(tid, b.index(k * kTileThreads)), b.index(items)),
                 store);
    }
  });
}

void stageTimeTile(GPUKernelBuilder &b, Value x, Value bi, Value first,
                   Value c0, Value tile, int64_t span, Value scale) {
  // Vector loads need rows of whole vectors (C static, a multiple of the
  // lanes) and an aligned buffer: a device tensor the caller passes may
  // start anywhere, so the alignment is tested when the kernel runs.
  auto type = cast<MemRefType>(x.getType());
  int64_t C = type.getDimSize(2);
  unsigned bytes = kStageLanes * type.getElementTypeBitWidth() / 8;
  if (ShapedType::isDynamic(C) || C % kStageLanes != 0 ||
      !type.getLayout().isIdentity()) {
    stageRows(b, x, bi, first, c0, tile, span, scale, 1);
    return;
  }
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, x);
  Value aligned = b.cmpI(arith::CmpIPredicate::eq,
                         arith::RemUIOp::create(b, base, b.index(bytes)),
                         b.index(0));
  auto branch = scf::IfOp::create(b, aligned, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(branch.thenBlock()->getTerminator());
    stageRows(b, x, bi, first, c0, tile, span, scale, kStageLanes);
    b.setInsertionPoint(branch.elseBlock()->getTerminator());
    stageRows(b, x, bi, first, c0, tile, span, scale, 1);
  }
}

} // namespace convc::gpu_lowering
