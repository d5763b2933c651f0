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

/// The ONNX node a location names ("node 'x': "), or nothing.
std::string nodePrefix(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto named = dyn_cast<NameLoc>(l)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name.empty() ? "" : "node '" + name + "': ";
}

constexpr uint64_t kMaxBytes = uint64_t(1) << 47;

/// Before `alloc`: a check that its dynamic sizes keep its byte count under
/// kMaxBytes, given `staticCount` elements from its static dims (>= 1).
/// False where even those pass it.
bool checkSizeLimit(memref::AllocOp alloc, uint64_t staticCount) {
  MemRefType type = alloc.getType();
  // Any element type (index and vectors too) has a size in the layout.
  uint64_t bytes = std::max<uint64_t>(1, DataLayout::closest(alloc)
                                             .getTypeSize(type.getElementType())
                                             .getKnownMinValue());
  if (staticCount > kMaxBytes / bytes)
    return false;
  if (alloc.getDynamicSizes().empty())
    return true;
  OpBuilder b(alloc);
  Location loc = alloc.getLoc();
  using P = arith::CmpIPredicate;
  uint64_t most = kMaxBytes / bytes / staticCount;
  Value limit = arith::ConstantIndexOp::create(b, loc, int64_t(most));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = one;
  Value fits = arith::ConstantIntOp::create(b, loc, 1, 1);
  SmallVector<Value> sizes;
  for (Value size : alloc.getDynamicSizes()) {
    // count * size <= most, without the product: count <= most / size.
    Value room = arith::DivUIOp::create(
        b, loc, limit, arith::MaxUIOp::create(b, loc, size, one));
    fits = arith::AndIOp::create(
        b, loc, fits,
        arith::AndIOp::create(
            b, loc, arith::CmpIOp::create(b, loc, P::ule, size, limit),
            arith::CmpIOp::create(b, loc, P::ule, count, room)));
    count = arith::MulIOp::create(b, loc, count, size);
    sizes.push_back(size);
  }
  std::string typeText, sizeText;
  llvm::raw_string_ostream os(typeText);
  type.print(os);
  for (size_t i = 0; i < sizes.size() && i < 2; ++i)
    sizeText += (i ? ", {" : "{") + std::to_string(i) + "}";
  CheckOp::create(
      b, loc, fits,
      ValueRange(sizes).take_front(std::min<size_t>(sizes.size(), 2)),
      nodePrefix(loc) + "a buffer of " + typeText + " with sizes " + sizeText +
          " would pass 2^47 bytes (sizes computed too large)");
  return true;
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
        Location loc = alloc.getLoc();
        MemRefType type = alloc.getType();
        uint64_t staticCount = 1;
        bool empty = false, overflow = false;
        for (int64_t size : type.getShape())
          if (!ShapedType::isDynamic(size)) {
            empty |= size == 0;
            overflow |= __builtin_mul_overflow(staticCount, uint64_t(size),
                                               &staticCount);
          }
        if (!empty && (overflow || !checkSizeLimit(alloc, staticCount))) {
          std::string typeText;
          llvm::raw_string_ostream os(typeText);
          type.print(os);
          emitError(loc) << nodePrefix(loc) << "a buffer of " << typeText
                         << " would pass 2^47 bytes";
          return WalkResult::interrupt();
        }
        OpBuilder b(alloc->getContext());
        b.setInsertionPointAfter(alloc);
        // The element count, for the message.
        Value count = arith::ConstantIndexOp::create(b, loc, 1);
        unsigned dynamic = 0;
        for (int64_t size : type.getShape())
          count = arith::MulIOp::create(
              b, loc, count,
              ShapedType::isDynamic(size)
                  ? alloc.getDynamicSizes()[dynamic++]
                  : Value(arith::ConstantIndexOp::create(b, loc, size)));
        Value pointer =
            memref::ExtractAlignedPointerAsIndexOp::create(b, loc, alloc);
        Value allocated = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ne, pointer,
            arith::ConstantIndexOp::create(b, loc, 0));
        std::string typeText;
        llvm::raw_string_ostream os(typeText);
        type.print(os);
        CheckOp::create(b, loc, allocated, ValueRange{count},
                        nodePrefix(loc) +
                            "could not allocate a buffer of {0} elements (" +
                            typeText + ")");
      }
      return WalkResult::advance();
    });
    if (walked.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
