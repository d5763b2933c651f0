//===- ParallelToRuntime.cpp - scf.parallel on the runtime's thread pool --===//
//
// An outermost loop
//
//   scf.parallel (%i, %j) = (%l0, %l1) to (%u0, %u1) step (%s0, %s1) { B }
//
// becomes
//
//   %ctx = <stack struct of the values B captures>
//   call @convc_parallel_for(@f_parallel_N, %ctx, count0 * count1)
//
//   func.func private @f_parallel_N(%ctx: !llvm.ptr, %begin, %end: index) {
//     <unpack the captures>
//     scf.for %k = %begin to %end { %i, %j = delinearise(%k); B }
//   }
//
// The runtime splits [0, count) among its threads (libconvc_runtime's
// ThreadPool.cpp). Memrefs travel as their LLVM descriptor structs, through
// unrealized casts that reconcile-unrealized-casts removes once memref and
// func lowering have run.
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace convc {
#define GEN_PASS_DEF_PARALLELTORUNTIMEPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelFor = "convc_parallel_for";

/// The body signature: (ctx, begin, end), one work item per index.
FunctionType bodyType(MLIRContext *ctx) {
  Type index = IndexType::get(ctx);
  return FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx), index, index},
                           {});
}

/// Declares convc_parallel_for(body, ctx, count) once per module.
void declareParallelFor(ModuleOp module) {
  if (module.lookupSymbol(kParallelFor))
    return;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto type = FunctionType::get(
      ctx, {bodyType(ctx), LLVM::LLVMPointerType::get(ctx), b.getIndexType()},
      {});
  auto decl = func::FuncOp::create(b, module.getLoc(), kParallelFor, type);
  decl.setPrivate();
}

/// Values of these types cross into the body through the context struct.
Type capturedType(const LLVMTypeConverter &converter, Type type) {
  if (isa<IndexType>(type))
    return IntegerType::get(type.getContext(), 64);
  if (isa<MemRefType, IntegerType, FloatType, VectorType>(type))
    return converter.convertType(type);
  if (LLVM::isCompatibleType(type)) // pointers handed to sgemm, say
    return type;
  return nullptr;
}

/// The captured value as the context struct stores it.
Value toStored(OpBuilder &b, Location loc, Value v, Type stored) {
  if (isa<IndexType>(v.getType()))
    return arith::IndexCastOp::create(b, loc, stored, v);
  if (v.getType() == stored)
    return v;
  return UnrealizedConversionCastOp::create(b, loc, stored, v).getResult(0);
}

/// The inverse of toStored, inside the body.
Value fromStored(OpBuilder &b, Location loc, Value v, Type original) {
  if (isa<IndexType>(original))
    return arith::IndexCastOp::create(b, loc, original, v);
  if (v.getType() == original)
    return v;
  return UnrealizedConversionCastOp::create(b, loc, original, v).getResult(0);
}

struct ParallelToRuntimePass
    : convc::impl::ParallelToRuntimePassBase<ParallelToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ParallelOp> loops;
    module.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          loop.getNumResults() == 0)
        loops.push_back(loop);
    });
    if (loops.empty())
      return;
    declareParallelFor(module);
    LLVMTypeConverter converter(&getContext());
    SymbolTable symbols(module);
    for (scf::ParallelOp loop : loops)
      if (failed(outline(loop, converter, symbols)))
        return signalPassFailure();
  }

  LogicalResult outline(scf::ParallelOp loop,
                        const LLVMTypeConverter &converter,
                        SymbolTable &symbols) {
    MLIRContext *ctx = &getContext();
    Location loc = loop.getLoc();
    auto parent = loop->getParentOfType<func::FuncOp>();
    if (!parent)
      return loop.emitError("convc-parallel-to-runtime: the loop is not in a "
                            "func.func");

    // Constants are cloned into the body; everything else is captured, the
    // bounds and steps included (the body recomputes the indices).
    SetVector<Value> above;
    getUsedValuesDefinedAbove(loop.getRegion(), above);
    SmallVector<Operation *> constants;
    SmallVector<Value> captured;
    auto capture = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>()) {
        if (!llvm::is_contained(constants, def))
          constants.push_back(def);
      } else if (!llvm::is_contained(captured, v)) {
        captured.push_back(v);
      }
    };
    for (Value v : above)
      capture(v);
    for (Value v : llvm::concat<Value>(loop.getLowerBound(), loop.getStep()))
      capture(v);

    // Iterations per dimension, in the caller, captured too.
    OpBuilder b(loop);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    SmallVector<Value> counts;
    Value total;
    for (auto [lb, ub, step] : llvm::zip_equal(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      // An empty range (ub <= lb) has no iterations.
      Value span = arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, ub, lb), zero);
      Value count = arith::CeilDivSIOp::create(b, loc, span, step);
      counts.push_back(count);
      total = total ? arith::MulIOp::create(b, loc, total, count).getResult()
                    : count;
    }
    // The body needs every count but the first (the outermost index is what
    // remains after the inner ones are divided out).
    for (Value count : llvm::drop_begin(counts))
      captured.push_back(count);

    SmallVector<Type> storedTypes;
    for (Value v : captured) {
      Type stored = capturedType(converter, v.getType());
      if (!stored)
        return loop.emitError("convc-parallel-to-runtime: cannot pass a value "
                              "of type ")
               << v.getType() << " to a parallel body";
      storedTypes.push_back(stored);
    }
    auto structType = LLVM::LLVMStructType::getLiteral(ctx, storedTypes);
    auto ptrType = LLVM::LLVMPointerType::get(ctx);

    // The context struct lives in the caller's frame (entry block, so loops
    // around the parallel loop reuse one slot).
    Value context;
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&parent.getBody().front());
      Value one = LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                           b.getI64IntegerAttr(1));
      context = LLVM::AllocaOp::create(b, loc, ptrType, structType, one);
    }
    Value packed = LLVM::UndefOp::create(b, loc, structType);
    for (auto [i, v] : llvm::enumerate(captured))
      packed = LLVM::InsertValueOp::create(
          b, loc, packed, toStored(b, loc, v, storedTypes[i]), i);
    LLVM::StoreOp::create(b, loc, packed, context);

    // The body function.
    OpBuilder mb = OpBuilder::atBlockEnd(&parent->getParentOfType<ModuleOp>()
                                              .getBodyRegion()
                                              .front());
    auto body = func::FuncOp::create(
        mb, loc, (parent.getSymName() + "_parallel").str(), bodyType(ctx));
    symbols.insert(body); // uniques the name
    body.setPrivate();
    Block *entry = body.addEntryBlock();
    OpBuilder bb = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : constants)
      bb.clone(*c, map);
    Value loaded = LLVM::LoadOp::create(bb, loc, structType, entry->getArgument(0));
    for (auto [i, v] : llvm::enumerate(captured)) {
      Value field = LLVM::ExtractValueOp::create(bb, loc, loaded, i);
      map.map(v, fromStored(bb, loc, field, v.getType()));
    }
    Value one = arith::ConstantIndexOp::create(bb, loc, 1);
    auto items = scf::ForOp::create(bb, loc, entry->getArgument(1),
                                    entry->getArgument(2), one);
    func::ReturnOp::create(bb, loc);

    // Inside the item loop: delinearise (last dimension fastest), clone.
    bb.setInsertionPointToStart(items.getBody());
    Value rest = items.getInductionVar();
    SmallVector<Value> ivs(counts.size());
    for (int d = int(counts.size()) - 1; d >= 0; --d) {
      Value index = rest;
      if (d > 0) {
        Value count = map.lookup(counts[d]);
        index = arith::RemUIOp::create(bb, loc, rest, count);
        rest = arith::DivUIOp::create(bb, loc, rest, count);
      }
      Value scaled = arith::MulIOp::create(
          bb, loc, index, map.lookupOrDefault(loop.getStep()[d]));
      ivs[d] = arith::AddIOp::create(bb, loc, scaled,
                                     map.lookupOrDefault(loop.getLowerBound()[d]));
    }
    for (auto [iv, value] : llvm::zip_equal(loop.getInductionVars(), ivs))
      map.map(iv, value);
    for (Operation &op : loop.getBody()->without_terminator())
      bb.clone(op, map);
    // Fixed-size stack buffers of the kernels move to the body's entry:
    // allocated once per call and reused by each item (items are
    // independent scratch users), instead of a dynamic alloca per item
    // that would grow the stack with every item the thread runs.
    body.walk([&](memref::AllocaOp alloca) {
      if (alloca.getDynamicSizes().empty() && alloca.getSymbolOperands().empty())
        alloca->moveBefore(&entry->front());
    });

    Value function = func::ConstantOp::create(b, loc, bodyType(ctx),
                                              body.getSymName());
    func::CallOp::create(b, loc, kParallelFor, TypeRange{},
                         ValueRange{function, context, total});
    loop.erase();
    return success();
  }
};

} // namespace
