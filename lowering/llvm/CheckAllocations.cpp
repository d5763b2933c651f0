//===- CheckAllocations.cpp - a failed allocation fails the call ----------===//
//
// A buffer the sizes at run time make too large (Tile or Expand to 2^34
// rows, say) comes back from malloc as null, and the first write to it
// crashed the process. Each allocation in a function's body is followed by
// a convc.check that its pointer is not null, so the call fails with a
// message naming the buffer's type and element count (and the ONNX node
// its location names) instead.
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

struct CheckAllocationsPass
    : public convc::impl::CheckAllocationsPassBase<CheckAllocationsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) {
      if (func.isExternal())
        return;
      SmallVector<memref::AllocOp> allocs;
      for (Operation &op : func.getBody().getOps())
        if (auto alloc = dyn_cast<memref::AllocOp>(op))
          allocs.push_back(alloc);
      for (memref::AllocOp alloc : allocs) {
        OpBuilder b(alloc->getContext());
        b.setInsertionPointAfter(alloc);
        Location loc = alloc.getLoc();
        MemRefType type = alloc.getType();
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
    });
  }
};

} // namespace
