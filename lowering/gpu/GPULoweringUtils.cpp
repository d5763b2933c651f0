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

void stageInRounds(GPUKernelBuilder &b, ArrayRef<StagedCopy> copies) {
  b.threadPhase(kTileThreads, [&](Value tid) {
    struct Round {
      const StagedCopy *copy;
      Value item, value;
      bool partial;
    };
    SmallVector<Round> rounds;
    for (const StagedCopy &copy : copies) {
      for (int64_t k = 0; k * kTileThreads < copy.items; ++k) {
        Value item = b.add(tid, b.index(k * kTileThreads));
        bool partial = (k + 1) * kTileThreads > copy.items;
        // The partial round's spare threads load the last item again.
        Value at = partial ? b.min(item, b.index(copy.items - 1)) : item;
        rounds.push_back({&copy, item, copy.load(at), partial});
      }
    }
    for (Round &r : rounds) {
      if (!r.partial) {
        r.copy->store(r.item, r.value);
        continue;
      }
      b.ifThen(b.lt(r.item, b.index(r.copy->items)),
               [&] { r.copy->store(r.item, r.value); });
    }
  });
}

Value loadLanesF32(GPUKernelBuilder &b, Value buffer, ValueRange indices,
                   int64_t lanes) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  if (lanes == 1)
    return b.loadF32(buffer, indices);
  unsigned bytes = lanes * element.getIntOrFloatBitWidth() / 8;
  Value v = vector::LoadOp::create(b, VectorType::get({lanes}, element),
                                   buffer, indices, /*nontemporal=*/false,
                                   llvm::MaybeAlign(bytes));
  if (element != b.getF32Type())
    v = arith::ExtFOp::create(b, VectorType::get({lanes}, b.getF32Type()), v);
  return v;
}

Value lane(GPUKernelBuilder &b, Value v, int64_t l) {
  return isa<VectorType>(v.getType()) ? vector::ExtractOp::create(b, v, l)
                                      : v;
}

void ifVectorLoads(GPUKernelBuilder &b, ValueRange buffers,
                   function_ref<void(int64_t lanes)> stage) {
  bool rowsOfVectors = llvm::all_of(buffers, [](Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    int64_t last = type.getDimSize(type.getRank() - 1);
    return type.getLayout().isIdentity() && !ShapedType::isDynamic(last) &&
           last % kStageLanes == 0;
  });
  if (!rowsOfVectors) {
    stage(1);
    return;
  }
  Value aligned;
  for (Value buffer : buffers) {
    auto type = cast<MemRefType>(buffer.getType());
    unsigned bytes = kStageLanes * type.getElementTypeBitWidth() / 8;
    Value ok = b.alignedTo(buffer, bytes);
    aligned = aligned ? b.andI(aligned, ok) : ok;
  }
  auto branch = scf::IfOp::create(b, aligned, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(branch.thenBlock()->getTerminator());
  stage(kStageLanes);
  b.setInsertionPoint(branch.elseBlock()->getTerminator());
  stage(1);
}

/// The staging phase of stageTimeTile, `lanes` channels per load.
static void stageRows(GPUKernelBuilder &b, Value x, Value bi, Value first,
                      Value c0, Value tile, int64_t span, Value scale,
                      int64_t lanes) {
  Value T = b.dim(x, 1), C = b.dim(x, 2);
  Value lastC = b.sub(C, b.index(lanes));
  int64_t perRow = kTileChannels / lanes;
  auto rowCol = [&](Value item) {
    auto [row, slot] = b.divRem(item, perRow);
    return std::make_pair(row, b.mul(slot, b.index(lanes)));
  };
  auto load = [&](Value item) {
    auto [row, col] = rowCol(item);
    Value c = b.min(b.add(c0, col), lastC);
    Value t = b.add(first, row);
    Value inside = b.andI(b.cmpI(arith::CmpIPredicate::sge, t, b.index(0)),
                          b.lt(t, T));
    Value tc = b.max(b.min(t, b.sub(T, b.index(1))), b.index(0));
    Value v = loadLanesF32(b, x, {bi, tc, c}, lanes);
    Value zero = lanes == 1 ? b.f32(0.0) : b.splat(b.f32(0.0), lanes);
    return b.select(inside, v, zero);
  };
  auto store = [&](Value item, Value v) {
    auto [row, col] = rowCol(item);
    for (int64_t l = 0; l < lanes; ++l) {
      Value e = lane(b, v, l);
      b.storeScalar(scale ? b.fmul(e, scale) : e, tile,
                    {row, b.add(col, b.index(l))});
    }
  };
  stageInRounds(b, {{span * perRow, load, store}});
}

void stageTimeTile(GPUKernelBuilder &b, Value x, Value bi, Value first,
                   Value c0, Value tile, int64_t span, Value scale) {
  ifVectorLoads(b, {x}, [&](int64_t lanes) {
    stageRows(b, x, bi, first, c0, tile, span, scale, lanes);
  });
}

} // namespace convc::gpu_lowering
