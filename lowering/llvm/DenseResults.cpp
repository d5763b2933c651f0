//===- DenseResults.cpp - entry points return dense buffers ---------------===//
//
// One-shot bufferization with identity-layout function boundaries returns
// a view whose layout is strided<[?, 1]> (offset 0) through a memref.cast
// to the identity layout, which is right only when the view spans whole
// rows: Split's first part of a [B, T] result on symbolic sizes came back
// read as if dense. A result reaching `return` through such a cast is
// copied into a dense buffer instead; a cast that provably keeps the
// layout (static identity strides) stays.
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

namespace convc {
#define GEN_PASS_DEF_DENSERESULTSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// Whether a buffer of `type` is dense row-major whatever its sizes.
bool denseLayout(MemRefType type) {
  if (type.getLayout().isIdentity())
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || offset != 0)
    return false;
  // Static strides equal to the suffix products of static sizes.
  int64_t expected = 1;
  for (int64_t d = type.getRank() - 1; d >= 0; --d) {
    if (ShapedType::isDynamic(strides[d]) || strides[d] != expected)
      return false;
    if (d > 0 && ShapedType::isDynamic(type.getDimSize(d)))
      return false;
    expected *= type.getDimSize(d);
  }
  return true;
}

struct DenseResultsPass
    : public convc::impl::DenseResultsPassBase<DenseResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        auto toIdentity = operand.get().getDefiningOp<memref::CastOp>();
        if (!toIdentity)
          continue;
        Value source = toIdentity.getSource();
        if (denseLayout(cast<MemRefType>(source.getType())))
          continue;
        auto resultType = cast<MemRefType>(toIdentity.getType());
        Location loc = toIdentity.getLoc();
        SmallVector<Value> sizes;
        for (int64_t d = 0; d < resultType.getRank(); ++d)
          if (resultType.isDynamicDim(d))
            sizes.push_back(memref::DimOp::create(b, loc, source, d));
        Value dense = memref::AllocOp::create(b, loc, resultType, sizes);
        memref::CopyOp::create(b, loc, source, dense);
        operand.set(dense);
        if (toIdentity->use_empty())
          toIdentity->erase();
      }
    });
  }
};

} // namespace
