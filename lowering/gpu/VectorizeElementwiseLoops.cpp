//===- VectorizeElementwiseLoops.cpp - 4 elements per GPU work item -------===//
//
// After convert-linalg-to-parallel-loops, an elementwise linalg op (an
// imported Add, Mul, Cast, Where, ...; gpu-check's copy) is a flat
// scf.parallel whose body loads, computes and stores one element, and
// convc-parallel-to-gpu makes each iteration a thread with one 4-byte load
// in flight. This pass gives each work item 4 consecutive elements of the
// innermost dimension, loaded and stored as vectors (16 bytes of f32):
//
//   %ok = every vector-accessed buffer aligned to the vector, and its rows
//         whole vectors
//   scf.parallel (..., %j) to (..., ceildiv(n, 4)) {
//     scf.if (%ok and 4 j + 4 <= n) { the body on vector<4xT> }
//     else { the scalar body for each lane below n }
//   }
//
// The test stays in the kernel: host control flow around kernels would
// cost a host synchronisation at its end (gpu-async-region).
//
// Only loops it can prove elementwise change: every op of the body is a
// load, a store, a constant or an elementwise-mappable op; the innermost
// induction variable appears only as the last index of loads and stores
// (a load without it, a broadcast, is read once and splat); stores all
// use it. Whether the buffers are aligned is only known when the kernel
// runs: device tensors a caller passes may start anywhere.
//
//===----------------------------------------------------------------------===//

#include "lowering/KernelBuilder.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace convc {
#define GEN_PASS_DEF_VECTORIZEELEMENTWISELOOPSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

constexpr int64_t kLanes = 4;

/// Element types loaded as vectors: whole bytes, at most 8 of them.
bool vectorizableElement(Type t) {
  return t.isF32() || t.isF16() || t.isBF16() || t.isInteger(32) ||
         t.isInteger(64);
}

/// The indices of a load or store, and its buffer.
std::pair<Value, ValueRange> access(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return {load.getMemRef(), load.getIndices()};
  auto store = cast<memref::StoreOp>(op);
  return {store.getMemRef(), store.getIndices()};
}

/// Whether `loop` is elementwise along its innermost dimension (the
/// conditions in the file comment); `vectorBuffers` gets the buffers
/// accessed along it.
bool isElementwise(scf::ParallelOp loop, SetVector<Value> &vectorBuffers) {
  for (auto [lb, step] : llvm::zip(loop.getLowerBound(), loop.getStep()))
    if (!matchPattern(lb, m_Zero()) || !matchPattern(step, m_One()))
      return false;
  ValueRange ivs = loop.getInductionVars();
  Value inner = ivs.back();
  Block *body = loop.getBody();
  bool stores = false;
  for (Operation &op : body->without_terminator()) {
    if (isa<memref::LoadOp, memref::StoreOp>(op)) {
      auto [buffer, indices] = access(&op);
      auto type = cast<MemRefType>(buffer.getType());
      // Indices: induction variables or values from outside the loop.
      for (Value i : indices)
        if (i.getParentBlock() == body && !llvm::is_contained(ivs, i))
          return false;
      bool along = !indices.empty() && indices.back() == inner;
      if (llvm::is_contained(indices.drop_back(), inner))
        return false; // a transposed access
      bool isStore = isa<memref::StoreOp>(op);
      if (isStore && (!along || op.getOperand(0) == inner))
        return false;
      stores |= isStore;
      if (along) {
        if (!type.getLayout().isIdentity() ||
            !vectorizableElement(type.getElementType()))
          return false;
        vectorBuffers.insert(buffer);
      }
      continue;
    }
    if (isa<arith::ConstantOp>(op))
      continue;
    if (!OpTrait::hasElementwiseMappableTraits(&op) || op.getNumRegions() ||
        op.getNumResults() != 1)
      return false;
    for (Value operand : op.getOperands())
      if (llvm::is_contained(ivs, operand) ||
          isa<IndexType>(operand.getType()))
        return false;
  }
  return stores && isa<scf::ReduceOp>(body->getTerminator()) &&
         body->getTerminator()->getNumOperands() == 0;
}

/// The body of `loop` for the lanes at `base` of the innermost dimension,
/// on vectors, before `b`'s insertion point.
void emitVectorBody(OpBuilder &b, scf::ParallelOp loop, ValueRange ivs,
                    Value base) {
  Location loc = loop.getLoc();
  IRMapping map;
  for (auto [from, to] : llvm::zip(ValueRange(loop.getInductionVars()).drop_back(), ivs))
    map.map(from, to);
  Value inner = loop.getInductionVars().back();
  map.map(inner, base);
  DenseSet<Value> isVector;
  auto asVector = [&](Value v) {
    Value m = map.lookupOrDefault(v);
    if (isVector.contains(m))
      return m;
    return Value(vector::BroadcastOp::create(
        b, loc, VectorType::get({kLanes}, m.getType()), m));
  };
  auto alignmentOf = [](Value buffer) {
    Type e = cast<MemRefType>(buffer.getType()).getElementType();
    return llvm::MaybeAlign(kLanes * e.getIntOrFloatBitWidth() / 8);
  };
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      if (load.getIndices().empty() || load.getIndices().back() != inner) {
        b.clone(op, map); // a broadcast operand, splat where used
        continue;
      }
      auto type = VectorType::get({kLanes}, load.getType());
      auto vec = vector::LoadOp::create(
          b, loc, type, load.getMemRef(),
          llvm::to_vector(llvm::map_range(
              load.getIndices(), [&](Value i) { return map.lookupOrDefault(i); })),
          /*nontemporal=*/false, alignmentOf(load.getMemRef()));
      map.map(load.getResult(), vec.getResult());
      isVector.insert(vec);
      continue;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      vector::StoreOp::create(
          b, loc, asVector(store.getValueToStore()), store.getMemRef(),
          llvm::to_vector(llvm::map_range(
              store.getIndices(), [&](Value i) { return map.lookupOrDefault(i); })),
          /*nontemporal=*/false, alignmentOf(store.getMemRef()));
      continue;
    }
    bool anyVector = llvm::any_of(op.getOperands(), [&](Value v) {
      return isVector.contains(map.lookupOrDefault(v));
    });
    if (!anyVector) {
      b.clone(op, map); // constants and scalar-only math stay scalar
      continue;
    }
    // An elementwise-mappable op on vectors: the same op, vector types.
    // (arith.select keeps a scalar condition as it is.)
    SmallVector<Value> operands;
    for (auto [i, v] : llvm::enumerate(op.getOperands()))
      operands.push_back(isa<arith::SelectOp>(op) && i == 0
                             ? map.lookupOrDefault(v)
                             : asVector(v));
    Type result = VectorType::get({kLanes}, op.getResult(0).getType());
    OperationState state(loc, op.getName().getStringRef(), operands, {result},
                         op.getAttrs());
    Operation *vec = b.create(state);
    map.map(op.getResult(0), vec->getResult(0));
    isVector.insert(vec->getResult(0));
  }
}

/// Replaces `loop` by the loop of the file comment.
void vectorize(scf::ParallelOp loop, ArrayRef<Value> vectorBuffers) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto idx = [&](int64_t v) {
    return Value(arith::ConstantIndexOp::create(b, loc, v));
  };
  Value zero = idx(0), lanes = idx(kLanes);
  // Aligned buffers with rows of whole vectors.
  Value ok = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (Value buffer : vectorBuffers) {
    auto type = cast<MemRefType>(buffer.getType());
    int64_t bytes = kLanes * type.getElementTypeBitWidth() / 8;
    Value aligned = convc::KernelBuilder(loc, b).alignedTo(buffer, bytes);
    ok = arith::AndIOp::create(b, loc, ok, aligned);
    if (type.getRank() > 1) {
      Value row = memref::DimOp::create(b, loc, buffer, type.getRank() - 1);
      Value whole = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, loc, row, lanes), zero);
      ok = arith::AndIOp::create(b, loc, ok, whole);
    }
  }
  Value n = loop.getUpperBound().back();
  SmallVector<Value> upper(loop.getUpperBound());
  upper.back() = arith::CeilDivUIOp::create(b, loc, n, lanes);
  SmallVector<Value> lower(upper.size(), zero), steps(upper.size(), idx(1));
  scf::ParallelOp::create(
      b, loc, lower, upper, steps,
      [&](OpBuilder &nb, Location, ValueRange ivs) {
        Value base = arith::MulIOp::create(nb, loc, ivs.back(), lanes);
        Value end = arith::AddIOp::create(nb, loc, base, lanes);
        Value full = arith::AndIOp::create(
            nb, loc, ok,
            arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ule, end, n));
        auto whole = scf::IfOp::create(nb, loc, full, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(nb);
        nb.setInsertionPoint(whole.thenBlock()->getTerminator());
        emitVectorBody(nb, loop, ivs.drop_back(), base);
        // A partial vector or unaligned buffers: lane by lane, the
        // original body.
        nb.setInsertionPoint(whole.elseBlock()->getTerminator());
        for (int64_t l = 0; l < kLanes; ++l) {
          Value i = arith::AddIOp::create(
              nb, loc, base, arith::ConstantIndexOp::create(nb, loc, l));
          Value in =
              arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, i, n);
          auto lane = scf::IfOp::create(nb, loc, in, /*withElseRegion=*/false);
          OpBuilder lb = OpBuilder::atBlockTerminator(lane.thenBlock());
          IRMapping map;
          map.map(ValueRange(loop.getInductionVars()).drop_back(),
                  ivs.drop_back());
          map.map(loop.getInductionVars().back(), i);
          for (Operation &op : loop.getBody()->without_terminator())
            lb.clone(op, map);
        }
      });
  loop.erase();
}

struct VectorizeElementwiseLoopsPass
    : convc::impl::VectorizeElementwiseLoopsPassBase<
          VectorizeElementwiseLoopsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<scf::ParallelOp, SetVector<Value>>> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>() ||
          loop->hasAttr("convc.gpu_threads"))
        return;
      SetVector<Value> buffers;
      if (isElementwise(loop, buffers))
        loops.push_back({loop, std::move(buffers)});
    });
    for (auto &[loop, buffers] : loops)
      vectorize(loop, buffers.getArrayRef());
  }
};

} // namespace
