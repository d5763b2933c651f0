//===- CheckAllocations.cpp - a failed allocation fails the call ----------===//
//
// A buffer the sizes at run time make too large (Tile or Expand to 2^34
// rows, say) comes back from malloc as null, and the first write to it
// crashed the process. Each allocation in a function's body is followed by
// a convc.check that its pointer is not null, so the call fails with a
// message naming the buffer's type and element count (and the ONNX node
// its location names) instead.
// Sizes whose byte count would pass 2^47 (above any machine's memory, and
// far from wrapping 64 bits, which malloc took for a small buffer that the
// loops then overran) fail too: a static one at compile time, dynamic ones
// by a check before the allocation.
// Allocations inside loops are left alone: a check there cannot stop the
// loop's writes.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "dialect/OnnxLocations.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

#include <algorithm>

namespace convc {
#define GEN_PASS_DEF_CHECKALLOCATIONSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

constexpr uint64_t kMaxBytes = uint64_t(1) << 47;

std::string typeText(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// The element count of `alloc`, built before it, after a check that its
/// dynamic sizes keep its byte count under kMaxBytes; null (and an error)
/// where its static dims alone pass that.
Value checkedElementCount(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  Location loc = alloc.getLoc();
  OpBuilder b(alloc);
  uint64_t staticCount = 1;
  bool overflow = false;
  for (int64_t size : type.getShape())
    if (!ShapedType::isDynamic(size))
      overflow |=
          __builtin_mul_overflow(staticCount, uint64_t(size), &staticCount);
  // Any element type (index and vectors too) has a size in the layout.
  uint64_t bytes = std::max<uint64_t>(1, DataLayout::closest(alloc)
                                             .getTypeSize(type.getElementType())
                                             .getKnownMinValue());
  if (overflow || staticCount > kMaxBytes / bytes) {
    emitError(loc) << onnxLocationPrefix(loc) << "a buffer of "
                   << typeText(type) << " would pass 2^47 bytes";
    return {};
  }
  Value count = arith::ConstantIndexOp::create(b, loc, int64_t(staticCount));
  if (alloc.getDynamicSizes().empty() || staticCount == 0)
    return count;
  using P = arith::CmpIPredicate;
  Value limit =
      arith::ConstantIndexOp::create(b, loc, int64_t(kMaxBytes / bytes));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value fits = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (Value size : alloc.getDynamicSizes()) {
    // count * size <= limit without the product, which may wrap: size <=
    // limit and count <= limit / size.
    Value room = arith::DivUIOp::create(
        b, loc, limit, arith::MaxUIOp::create(b, loc, size, one));
    fits = arith::AndIOp::create(
        b, loc, fits,
        arith::AndIOp::create(
            b, loc, arith::CmpIOp::create(b, loc, P::ule, size, limit),
            arith::CmpIOp::create(b, loc, P::ule, count, room)));
    count = arith::MulIOp::create(b, loc, count, size);
  }
  ValueRange sizes = alloc.getDynamicSizes();
  std::string sizeText = sizes.size() > 1 ? "{0}, {1}" : "{0}";
  CheckOp::create(b, loc, fits, sizes.take_front(2),
                  onnxLocationPrefix(loc) + "a buffer of " + typeText(type) +
                      " with sizes " + sizeText +
                      " would pass 2^47 bytes (sizes computed too large)");
  return count;
}

struct CheckAllocationsPass
    : public convc::impl::CheckAllocationsPassBase<CheckAllocationsPass> {
  void runOnOperation() override {
    WalkResult walked = getOperation().walk([](func::FuncOp func) {
      if (func.isExternal())
        return WalkResult::advance();
      SmallVector<memref::AllocOp> allocs;
      for (Operation &op : func.getBody().getOps())
        if (auto alloc = dyn_cast<memref::AllocOp>(op))
          allocs.push_back(alloc);
      for (memref::AllocOp alloc : allocs) {
        Value count = checkedElementCount(alloc);
        if (!count)
          return WalkResult::interrupt();
        OpBuilder b(alloc->getContext());
        b.setInsertionPointAfter(alloc);
        Location loc = alloc.getLoc();
        Value pointer =
            memref::ExtractAlignedPointerAsIndexOp::create(b, loc, alloc);
        Value allocated =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, pointer,
                                  arith::ConstantIndexOp::create(b, loc, 0));
        CheckOp::create(b, loc, allocated, ValueRange{count},
                        onnxLocationPrefix(loc) +
                            "could not allocate a buffer of {0} elements (" +
                            typeText(alloc.getType()) + ")");
      }
      return WalkResult::advance();
    });
    if (walked.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
