//===- ParallelToGPU.cpp - outermost scf.parallel -> gpu.launch ----------===//
//
//   scf.parallel (%i, %j) = (0, 0) to (%M, %N) step (1, 1) { body }
//
// becomes
//
//   gpu.launch blocks(ceil(M * N / bs), 1, 1) threads(bs, 1, 1) {
//     %lin = %bx * bs + %tx
//     scf.if %lin < M * N { %j = %lin mod N, %i = %lin floordiv N; body }
//   }
//
// A loop whose body holds 1-D `scf.parallel {convc.gpu_threads = N}` loops
// is a block-structured kernel instead: one GPU block of N threads per work
// item. Those loops are the block's phases: thread tid runs items tid,
// tid + N, ..., and a barrier follows each phase (and precedes one that
// writes shared memory while block-level code since the last barrier reads
// it). `memref.alloca {convc.gpu_shared}` buffers in the body become
// workgroup (shared) memory. Everything else in the body runs in every
// thread alike. On a CPU the same loops run the phases one after the
// other, which is what the barriers guarantee, so the CPU-compiled form
// checks these kernels too.
//
// Host code that touches buffers runs as one-thread kernels, with the
// private scratch buffers it uses. Small integer buffers that only host
// code fills and reads (a reshape's shape) are marked
// `convc.gpu_host_buffer` and stay on the host.
//
// Parallel loops nested in a work item stay; the pipeline runs upstream's
// scf-parallel-for-to-nested-fors on the kernels after outlining.
//
// Upstream's convert-parallel-loops-to-gpu maps loop dimensions to grid and
// block dimensions one to one, which needs loops tiled to block-sized inner
// loops first; the convc kernels instead have one work item per output
// element and want a flat 1-D launch with the channels fastest.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cctype>

namespace convc {
#define GEN_PASS_DEF_PARALLELTOGPUPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

/// Whether `op` (or an op nested in it) reads or writes buffer contents.
bool touchesMemory(Operation *op) {
  WalkResult r = op->walk([](Operation *inner) {
    if (isa<memref::LoadOp, memref::StoreOp, memref::AtomicRMWOp,
            vector::LoadOp, vector::StoreOp, vector::MaskedLoadOp,
            vector::MaskedStoreOp, vector::TransferReadOp,
            vector::TransferWriteOp>(inner))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

/// Whether `op` touches buffers other than inside nested scf.parallel loops.
bool touchesMemoryOutsideParallel(Operation *op) {
  WalkResult r = op->walk<WalkOrder::PreOrder>([](Operation *inner) {
    if (isa<scf::ParallelOp>(inner))
      return WalkResult::skip();
    if (isa<memref::LoadOp, memref::StoreOp>(inner) ||
        (inner->getNumRegions() == 0 && touchesMemory(inner)))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

/// What a backwards scan of a block's code finds first: a barrier, a read
/// of shared memory, or neither.
enum class SharedScan { Barrier, Read, Neither };

bool isThreadPhase(Operation *op) {
  return isa<scf::ParallelOp>(op) && op->hasAttr("convc.gpu_threads");
}

bool readsShared(memref::LoadOp load) {
  auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(
      load.getMemRefType().getMemorySpace());
  return space && space.getValue() == gpu::AddressSpace::Workgroup;
}

bool writesShared(Operation *phase) {
  return phase
      ->walk([](memref::StoreOp store) {
        auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(
            store.getMemRefType().getMemorySpace());
        return space && space.getValue() == gpu::AddressSpace::Workgroup
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

SharedScan scanBack(Operation *from, Operation *stop = nullptr);

/// The last of a barrier or a shared read in `op`'s regions.
SharedScan scanTail(Operation *op) {
  if (isThreadPhase(op))
    return SharedScan::Barrier; // a barrier follows it once converted
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return readsShared(load) ? SharedScan::Read : SharedScan::Neither;
  // Fenced only if every region surely runs a barrier: a loop that may
  // run no iteration, or an empty else, does not.
  bool allFenced = op->getNumRegions() > 0;
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    std::optional<int64_t> lo = getConstantIntValue(loop.getLowerBound()),
                           hi = getConstantIntValue(loop.getUpperBound());
    allFenced = lo && hi && *lo < *hi;
  } else if (!isa<scf::IfOp>(op)) {
    allFenced = false;
  }
  for (Region &region : op->getRegions()) {
    if (region.empty())
      allFenced = false;
    for (Block &block : region) {
      SharedScan s = block.empty() ? SharedScan::Neither
                                   : scanBack(block.getTerminator());
      if (s == SharedScan::Read)
        return s;
      allFenced &= s == SharedScan::Barrier;
    }
  }
  // A region that may run no barrier (or not run at all) lets the scan
  // go on to what precedes `op`.
  return allFenced ? SharedScan::Barrier : SharedScan::Neither;
}

/// Scans the ops before `from` in its block, back to `stop` (exclusive).
SharedScan scanBack(Operation *from, Operation *stop) {
  for (Operation *op = from->getPrevNode(); op && op != stop;
       op = op->getPrevNode()) {
    if (isa<gpu::BarrierOp>(op))
      return SharedScan::Barrier;
    SharedScan s = scanTail(op);
    if (s != SharedScan::Neither)
      return s;
  }
  return SharedScan::Neither;
}

/// Whether block-level code that runs before `phase` since the last
/// barrier may read shared memory: a phase that writes shared memory then
/// needs a barrier before it, or a fast thread's writes would overwrite
/// what a slow one still reads (sequential CPU runs never show this).
bool needsBarrierBefore(Operation *phase) {
  SharedScan s = scanBack(phase);
  if (s != SharedScan::Neither)
    return s == SharedScan::Read;
  Operation *parent = phase->getParentOp();
  if (isa<gpu::LaunchOp>(parent))
    return false; // the kernel's start
  if (auto loop = dyn_cast<scf::ForOp>(parent)) {
    // Later iterations follow the body's tail, the first what precedes
    // the loop.
    SharedScan tail = scanBack(loop.getBody()->getTerminator(), phase);
    if (tail == SharedScan::Read)
      return true;
    return needsBarrierBefore(loop);
  }
  if (isa<scf::IfOp>(parent))
    return needsBarrierBefore(parent);
  return true;
}

/// A small integer buffer that only host code fills and reads, as
/// memref.reshape's shape (a Reshape to sizes computed from symbolic dims,
/// as nn.MultiheadAttention's export has) and the reshaped sizes folded
/// from it: the host needs it, so it stays in host memory and its stores
/// and loads stay on the host.
bool isHostShapeBuffer(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape() || type.getNumElements() > 16 ||
      !type.getElementType().isIntOrIndex())
    return false;
  for (OpOperand &use : alloc->getUses()) {
    Operation *user = use.getOwner();
    // Host code beside the buffer: one nested in a host loop or branch
    // would become part of a one-thread kernel.
    if (user->getBlock() != alloc->getBlock())
      return false;
    if (isa<memref::StoreOp, memref::LoadOp>(user)) {
      if (use.getOperandNumber() != (isa<memref::StoreOp>(user) ? 1 : 0))
        return false;
    } else if (auto reshape = dyn_cast<memref::ReshapeOp>(user)) {
      if (reshape.getShape() != alloc.getResult())
        return false;
    } else if (!isa<memref::DeallocOp>(user)) {
      return false;
    }
  }
  return true;
}

bool accessesHostBuffer(Operation &op) {
  Value buffer;
  if (auto store = dyn_cast<memref::StoreOp>(op))
    buffer = store.getMemRef();
  else if (auto load = dyn_cast<memref::LoadOp>(op))
    buffer = load.getMemRef();
  Operation *alloc = buffer ? buffer.getDefiningOp() : nullptr;
  return alloc && alloc->hasAttr("convc.gpu_host_buffer");
}

/// The name a loop's kernel gets: its function's, then what it computes,
/// from the loop's location: the convc op it was lowered from
/// (KernelBuilder::loopLocation) or an imported node's name, else
/// `fallback`. Profiles and ncu then say which op a kernel is; outlining
/// and convc-merge-gpu-modules make the names unique.
std::string kernelName(Operation *at, Location loc, StringRef fallback) {
  std::string what = fallback.str();
  SmallVector<Location> pending = {loc};
  while (!pending.empty()) {
    Location l = pending.pop_back_val();
    if (auto named = dyn_cast<NameLoc>(l)) {
      what = named.getName().str();
      break;
    }
    if (auto fused = dyn_cast<FusedLoc>(l))
      pending.append(fused.getLocations().rbegin(), fused.getLocations().rend());
  }
  std::string name;
  if (auto func = at->getParentOfType<func::FuncOp>())
    name = func.getName().str() + "_";
  for (char c : what) {
    bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (name.size() >= 64)
      break;
    if (word)
      name += c;
    else if (!name.empty() && name.back() != '_')
      name += '_';
  }
  while (!name.empty() && name.back() == '_')
    name.pop_back();
  return name.empty() ? fallback.str() : name;
}

struct ParallelToGPUPass
    : convc::impl::ParallelToGPUPassBase<ParallelToGPUPass> {
  using ParallelToGPUPassBase::ParallelToGPUPassBase;

  /// gpu.launch of `count` work items; body(linearIndex) fills the guarded
  /// region.
  void launch(OpBuilder &b, Location loc, Value count, StringRef what,
              function_ref<void(OpBuilder &, Value)> body) {
    int64_t blockSize = this->blockSize;
    Value bs = arith::ConstantIndexOp::create(b, loc, blockSize);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value grid = arith::CeilDivUIOp::create(b, loc, count, bs);
    auto launchOp = gpu::LaunchOp::create(b, loc, grid, one, one, bs, one, one);
    launchOp.setFunctionAttr(FlatSymbolRefAttr::get(
        b.getContext(), kernelName(launchOp, loc, what)));
    OpBuilder kb = OpBuilder::atBlockBegin(&launchOp.getBody().front());
    Value kbs = arith::ConstantIndexOp::create(kb, loc, blockSize);
    Value lin = arith::AddIOp::create(
        kb, loc, arith::MulIOp::create(kb, loc, launchOp.getBlockIds().x, kbs),
        launchOp.getThreadIds().x);
    Value inRange = arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::ult,
                                          lin, count);
    auto guard = scf::IfOp::create(kb, loc, inRange, /*withElse=*/false);
    gpu::TerminatorOp::create(kb, loc);
    OpBuilder gb = OpBuilder::atBlockTerminator(guard.thenBlock());
    body(gb, lin);
  }

  /// The trip counts of `loop`'s dimensions (built before it) and their
  /// product.
  Value tripCounts(OpBuilder &b, scf::ParallelOp loop,
                   SmallVectorImpl<Value> &trips) {
    Location loc = loop.getLoc();
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      Value span = arith::SubIOp::create(b, loc, ub, lb);
      Value trip = arith::CeilDivSIOp::create(b, loc, span, step);
      trip = arith::MaxSIOp::create(
          b, loc, trip, arith::ConstantIndexOp::create(b, loc, 0));
      trips.push_back(trip);
      count = arith::MulIOp::create(b, loc, count, trip);
    }
    return count;
  }

  /// Maps `loop`'s induction variables to the work item `lin` (the
  /// innermost dimension fastest).
  void delinearize(OpBuilder &gb, scf::ParallelOp loop, ArrayRef<Value> trips,
                   Value lin, IRMapping &map) {
    Location loc = loop.getLoc();
    Value rest = lin;
    for (int64_t d = int64_t(trips.size()) - 1; d >= 0; --d) {
      Value i = d ? arith::RemUIOp::create(gb, loc, rest, trips[d]) : rest;
      if (d)
        rest = arith::DivUIOp::create(gb, loc, rest, trips[d]);
      Value iv = arith::AddIOp::create(
          gb, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(gb, loc, i, loop.getStep()[d]));
      map.map(loop.getInductionVars()[d], iv);
    }
  }

  /// Canonicalization inlines a parallel loop of one iteration, so a
  /// block-structured kernel over a single tile (static shapes smaller than
  /// one tile) arrives as shared buffers and thread phases in host code.
  /// Wrap each such kernel's run of ops back into a one-iteration loop.
  LogicalResult wrapOrphanPhases(func::FuncOp func) {
    auto holdsShared = [](Block *block) {
      return llvm::any_of(block->getOps<memref::AllocaOp>(),
                          [](memref::AllocaOp a) {
                            return a->hasAttr("convc.gpu_shared");
                          });
    };
    DenseMap<Block *, SmallVector<Operation *>> orphans;
    WalkResult walk = func.walk([&](scf::ParallelOp phase) {
      if (!phase->hasAttr("convc.gpu_threads") ||
          phase->getParentOfType<scf::ParallelOp>())
        return WalkResult::advance();
      // A phase inside block-level control flow (a loop over slabs of the
      // reduction) belongs to the block code around it: the nearest
      // enclosing block that holds the kernel's shared buffers.
      Operation *anchor = phase;
      while (!holdsShared(anchor->getBlock()) &&
             !isa<func::FuncOp>(anchor->getParentOp()))
        anchor = anchor->getParentOp();
      if (anchor != phase && !holdsShared(anchor->getBlock())) {
        // Wrapping the host code around it would make one block of it.
        phase.emitError() << "a GPU thread phase inside control flow "
                             "without its block's shared buffers";
        return WalkResult::interrupt();
      }
      orphans[anchor->getBlock()].push_back(anchor);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    for (auto &[block, anchors] : orphans) {
      // One run per kernel, from its first shared buffer (or phase) to its
      // last phase: a kernel's shared buffers come before its phases, so a
      // shared buffer after a phase starts the next kernel.
      llvm::SmallPtrSet<Operation *, 16> isAnchor(anchors.begin(),
                                                  anchors.end());
      SmallVector<std::pair<Operation *, Operation *>> runs;
      Operation *first = nullptr, *last = nullptr;
      for (Operation &op : *block) {
        bool shared = op.hasAttr("convc.gpu_shared");
        if (shared && last) {
          runs.push_back({first, last});
          first = last = nullptr;
        }
        if ((shared || isAnchor.contains(&op)) && !first)
          first = &op;
        if (isAnchor.contains(&op))
          last = &op;
      }
      if (last)
        runs.push_back({first, last});
      for (auto [runFirst, runLast] : runs)
        if (failed(wrapRun(block, runFirst, runLast)))
          return failure();
    }
    return success();
  }

  /// Moves the ops from `first` to `last` into a one-iteration block loop.
  LogicalResult wrapRun(Block *block, Operation *first, Operation *last) {
    SmallVector<Operation *> run;
    for (Operation *op = first;; op = op->getNextNode()) {
      run.push_back(op);
      if (op == last)
        break;
    }
    OpBuilder b(first);
    Location loc = first->getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
    llvm::SmallPtrSet<Operation *, 16> inRun(run.begin(), run.end());
    for (Operation *op : run) {
      // A value the rest of the function uses stays out (recomputed if
      // it is pure, which is all such a run defines).
      bool usedAfter = llvm::any_of(op->getUsers(), [&](Operation *user) {
        return !inRun.contains(block->findAncestorOpInBlock(*user));
      });
      if (usedAfter) {
        if (!isPure(op))
          return op->emitError()
                 << "a GPU block's phases define a value used after them";
        OpBuilder after(loop->getNextNode());
        Operation *copy = after.clone(*op);
        op->replaceUsesWithIf(copy->getResults(), [&](OpOperand &use) {
          return !inRun.contains(block->findAncestorOpInBlock(*use.getOwner()));
        });
      }
      op->moveBefore(loop.getBody()->getTerminator());
    }
    return success();
  }

  /// A block-structured loop: one block of `threads` threads per work item.
  LogicalResult mapBlockLoop(scf::ParallelOp loop, int64_t threads) {
    // Outside its phases, a block's code runs in every thread: it must not
    // write memory.
    WalkResult writes =
        loop.getBody()->walk<WalkOrder::PreOrder>([&](Operation *op) {
          if (auto inner = dyn_cast<scf::ParallelOp>(op))
            return inner->hasAttr("convc.gpu_threads") ? WalkResult::skip()
                                                       : WalkResult::advance();
          if (isa<memref::StoreOp, vector::StoreOp, vector::MaskedStoreOp,
                  memref::CopyOp>(op))
            return WalkResult::interrupt();
          return WalkResult::advance();
        });
    if (writes.wasInterrupted())
      return loop.emitError() << "a GPU block writes memory outside its "
                                 "thread phases (every thread would)";
    if (threads < 32 || threads > 1024 || threads % 32)
      return loop.emitError() << "convc.gpu_threads must be a multiple "
                                 "of 32 in [32, 1024], got "
                              << threads;
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    SmallVector<Value> trips;
    Value count = tripCounts(b, loop, trips);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value n = arith::ConstantIndexOp::create(b, loc, threads);
    auto launchOp = gpu::LaunchOp::create(b, loc, count, one, one, n, one, one);
    launchOp.setFunctionAttr(FlatSymbolRefAttr::get(
        b.getContext(), kernelName(launchOp, loc, "blocks")));
    Block &body = launchOp.getBody().front();
    OpBuilder kb = OpBuilder::atBlockBegin(&body);
    IRMapping map;
    delinearize(kb, loop, trips, launchOp.getBlockIds().x, map);
    for (Operation &op : loop.getBody()->without_terminator())
      kb.clone(op, map);
    gpu::TerminatorOp::create(kb, loc);

    // Shared buffers become workgroup attributions.
    SmallVector<memref::AllocaOp> shared;
    launchOp.walk([&](memref::AllocaOp a) {
      if (a->hasAttr("convc.gpu_shared"))
        shared.push_back(a);
    });
    for (memref::AllocaOp a : shared) {
      MemRefType type = a.getType();
      if (!type.hasStaticShape())
        return a.emitError() << "a GPU shared buffer needs a static shape";
      auto space = gpu::AddressSpaceAttr::get(&getContext(),
                                              gpu::AddressSpace::Workgroup);
      auto sharedType = MemRefType::get(type.getShape(),
                                        type.getElementType(),
                                        MemRefLayoutAttrInterface(), space);
      BlockArgument attribution =
          launchOp.addWorkgroupAttribution(sharedType, a.getLoc());
      // Loads and stores take any memref; they are the only users.
      for (Operation *user : a->getUsers())
        if (!isa<memref::LoadOp, memref::StoreOp>(user))
          return user->emitError()
                 << "GPU shared buffers are only loaded and stored";
      a.getResult().replaceAllUsesWith(attribution);
      a.erase();
    }

    // Phases: thread tid runs items tid, tid + N, ...; then a barrier (and
    // one before, when block-level code since the last may read shared
    // memory).
    SmallVector<scf::ParallelOp> phases;
    launchOp.walk([&](scf::ParallelOp p) {
      if (p->hasAttr("convc.gpu_threads"))
        phases.push_back(p);
    });
    for (scf::ParallelOp phase : phases) {
      if (phase.getNumLoops() != 1 || phase.getNumReductions() != 0)
        return phase.emitError()
               << "a GPU thread phase is a 1-D parallel loop without "
                  "reductions";
      OpBuilder pb(phase);
      Location ploc = phase.getLoc();
      if (writesShared(phase) && needsBarrierBefore(phase))
        gpu::BarrierOp::create(pb, ploc);
      Value tid = launchOp.getThreadIds().x;
      Value first = arith::AddIOp::create(
          pb, ploc, phase.getLowerBound()[0],
          arith::MulIOp::create(pb, ploc, tid, phase.getStep()[0]));
      Value stride = arith::MulIOp::create(
          pb, ploc, arith::ConstantIndexOp::create(pb, ploc, threads),
          phase.getStep()[0]);
      auto strided = scf::ForOp::create(pb, ploc, first,
                                        phase.getUpperBound()[0], stride);
      IRMapping pmap;
      pmap.map(phase.getInductionVars()[0], strided.getInductionVar());
      OpBuilder sb = OpBuilder::atBlockTerminator(strided.getBody());
      for (Operation &op : phase.getBody()->without_terminator())
        sb.clone(op, pmap);
      gpu::BarrierOp::create(pb, ploc);
      phase.erase();
    }
    loop.erase();
    return success();
  }

  /// N when `loop` holds thread phases of N threads (not inside another
  /// parallel loop), else 0.
  static int64_t blockThreadsOf(scf::ParallelOp loop) {
    int64_t threads = 0;
    loop.getBody()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      auto inner = dyn_cast<scf::ParallelOp>(op);
      if (!inner)
        return WalkResult::advance();
      if (auto n = inner->getAttrOfType<IntegerAttr>("convc.gpu_threads"))
        threads = n.getInt();
      return WalkResult::skip();
    });
    return threads;
  }

  LogicalResult mapLoop(scf::ParallelOp loop) {
    if (int64_t threads = blockThreadsOf(loop))
      return mapBlockLoop(loop, threads);
    if (loop.getNumReductions() != 0)
      return loop.emitError()
             << "a parallel loop with reductions cannot run on the GPU yet";
    OpBuilder b(loop);
    SmallVector<Value> trips;
    Value count = tripCounts(b, loop, trips);
    launch(b, loop.getLoc(), count, "kernel", [&](OpBuilder &gb, Value lin) {
      IRMapping map;
      delinearize(gb, loop, trips, lin, map);
      for (Operation &op : loop.getBody()->without_terminator())
        gb.clone(op, map);
    });
    loop.erase();
    return success();
  }

  /// Consecutive top-level ops that touch buffers outside any parallel loop
  /// (and the ops between them that compute their operands): one thread
  /// runs them. Values they define must not be needed after the group.
  LogicalResult mapSerial(ArrayRef<Operation *> group) {
    llvm::SmallPtrSet<Operation *, 8> inside(group.begin(), group.end());
    auto usedAfter = [&](Operation *op) {
      for (Operation *user : op->getUsers()) {
        Operation *ancestor = op->getBlock()->findAncestorOpInBlock(*user);
        if (!ancestor || !inside.contains(ancestor))
          return true;
      }
      return false;
    };
    for (Operation *op : group) {
      if (isa<memref::AllocaOp>(op) && usedAfter(op))
        return op->emitError()
               << "a private scratch buffer is used outside the one-thread "
                  "GPU kernel that holds it";
      if (touchesMemory(op) && usedAfter(op))
        return op->emitError()
               << "this op reads device buffers and produces a value the "
                  "host needs (a size computed from tensor data, say): the "
                  "GPU target cannot compile it";
    }
    Operation *first = group.front();
    OpBuilder b(first);
    Location loc = first->getLoc();
    launch(b, loc, arith::ConstantIndexOp::create(b, loc, 1), "serial",
           [&](OpBuilder &gb, Value) {
             IRMapping map;
             for (Operation *op : group)
               gb.clone(*op, map);
           });
    // Pure scalar ops the host still uses stay there too.
    for (Operation *op : llvm::reverse(group))
      if (!usedAfter(op))
        op->erase();
    return success();
  }

  /// A copy between strided views (a pad's interior, a slice) is no
  /// gpu.memcpy: it becomes a parallel loop of loads and stores, a kernel
  /// like any other.
  static void expandStridedCopies(func::FuncOp func) {
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      auto src = cast<MemRefType>(copy.getSource().getType());
      auto dst = cast<MemRefType>(copy.getTarget().getType());
      if ((!src.getLayout().isIdentity() || !dst.getLayout().isIdentity()) &&
          !copy->getParentOfType<scf::ParallelOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      auto type = cast<MemRefType>(copy.getSource().getType());
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      SmallVector<Value> lbs(type.getRank(), zero), steps(type.getRank(), one),
          ubs;
      for (int64_t d = 0; d < type.getRank(); ++d)
        ubs.push_back(memref::DimOp::create(b, loc, copy.getSource(), d));
      auto loop = scf::ParallelOp::create(b, loc, lbs, ubs, steps);
      OpBuilder body = OpBuilder::atBlockTerminator(loop.getBody());
      Value v = memref::LoadOp::create(body, loc, copy.getSource(),
                                       loop.getInductionVars());
      memref::StoreOp::create(body, loc, v, copy.getTarget(),
                              loop.getInductionVars());
      copy.erase();
    }
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32) {
      module.emitError() << "convc-parallel-to-gpu: block-size must be a "
                            "multiple of 32 in [32, 1024], got "
                         << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    // Per-element checks (a Gather's index) go into the kernels with their
    // loops; convc-gpu-device-checks makes them write a device flag.
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (failed(wrapOrphanPhases(func)))
        return signalPassFailure();
      expandStridedCopies(func);
      // convc-gpu-host-buffers leaves these in host memory.
      func.walk([](memref::AllocOp alloc) {
        if (isHostShapeBuffer(alloc))
          alloc->setAttr("convc.gpu_host_buffer",
                         UnitAttr::get(alloc.getContext()));
      });
      // The host lowers a reshape: its shape must be such a buffer.
      WalkResult reshapes = func.walk([](memref::ReshapeOp reshape) {
        Operation *shape = reshape.getShape().getDefiningOp();
        if (shape && shape->hasAttr("convc.gpu_host_buffer"))
          return WalkResult::advance();
        reshape.emitError() << "this reshape's shape is not filled by host "
                               "code alone; the GPU target needs it on the "
                               "host";
        return WalkResult::interrupt();
      });
      if (reshapes.wasInterrupted())
        return signalPassFailure();
      // Top-level ops of the function body and of host-side control flow
      // (scf.if / scf.for around kernels stay on the host).
      SmallVector<Operation *> loops;
      SmallVector<SmallVector<Operation *>> serial;
      std::function<void(Region &)> collect = [&](Region &region) {
        for (Block &block : region) {
          SmallVector<Operation *> group, pending;
          auto close = [&] {
            if (!group.empty())
              serial.push_back(group);
            group.clear();
            pending.clear();
          };
          for (Operation &op : block) {
            if (isa<scf::ParallelOp>(op)) {
              close();
              loops.push_back(&op);
              continue;
            }
            if (accessesHostBuffer(op)) {
              close();
              continue;
            }
            // A work item's private scratch buffer, left in host code when
            // canonicalization inlines a one-iteration loop: it belongs in
            // the kernel that uses it (a host stack address would reach
            // the GPU otherwise).
            bool privateScratch = isa<memref::AllocaOp>(op) &&
                                  !op.hasAttr("convc.gpu_shared");
            if (!touchesMemory(&op) && !privateScratch) {
              // Pure scalar code between serial ops joins their group when
              // a later serial op follows.
              if (!group.empty() && isPure(&op) && op.getNumRegions() == 0)
                pending.push_back(&op);
              else
                close();
              continue;
            }
            if (isa<scf::IfOp, scf::ForOp>(op) && op.getNumResults() == 0 &&
                !touchesMemoryOutsideParallel(&op)) {
              close();
              // Descend: its parallel loops become kernels of their own.
              for (Region &r : op.getRegions())
                collect(r);
              continue;
            }
            group.append(pending);
            pending.clear();
            group.push_back(&op);
          }
          close();
        }
      };
      collect(func.getBody());
      for (Operation *op : loops)
        if (failed(mapLoop(cast<scf::ParallelOp>(op))))
          return signalPassFailure();
      for (ArrayRef<Operation *> group : serial)
        if (failed(mapSerial(group)))
          return signalPassFailure();
    }
  }
};

} // namespace
