//===- CPULoweringUtils.cpp - helpers shared by the CPU op families -------===//
//
// Small helpers that more than one op family of the CPU lowering calls;
// CPULowering.h declares and describes them.
//
//===----------------------------------------------------------------------===//

#include "lowering/cpu/CPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

namespace convc::cpu_lowering {

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

Value numTiles(KernelBuilder &b, Value T, int64_t tile) {
  return b.ceilDiv(T, b.index(tile));
}

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

} // namespace convc::cpu_lowering
