//===- GPUHostBuffers.cpp - a function's data on the device --------------===//
//
// Public functions keep the CPU target's ABI (buffers in, fresh buffers out),
// so the runtime calls GPU and CPU modules the same way. Where each buffer
// lives is the runtime's to decide per call, through two hooks:
//
//   func @main(%x: memref<?x?x512xf32>) -> memref<?x?x512xf32> {
//     %dx = convc_cuda_input_f32(%x)    the caller's device buffer as it is,
//                                       or a device copy of a host one
//     ... kernels on %dx, gpu.alloc'd temporaries ...
//     %y = convc_cuda_output_f32(%dy)   %dy itself when the caller wants
//                                       device outputs, else a host copy
//     gpu.dealloc %dy                   (the runtime skips a handed-out one)
//     return %y
//
//===----------------------------------------------------------------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/raw_ostream.h"

namespace convc {
#define GEN_PASS_DEF_GPUHOSTBUFFERSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

Value gpuAlloc(OpBuilder &b, Location loc, MemRefType type, ValueRange sizes) {
  return gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(), sizes,
                              /*symbolOperands=*/ValueRange())
      .getMemref();
}

void gpuCopy(OpBuilder &b, Location loc, Value dst, Value src) {
  gpu::MemcpyOp::create(b, loc, /*asyncToken=*/Type(), ValueRange(), dst, src);
}

/// The buffer a view was taken of.
Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

bool insideKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

struct GPUHostBuffersPass
    : convc::impl::GPUHostBuffersPassBase<GPUHostBuffersPass> {
  /// Device buffers the pass itself creates in the current function (copies
  /// of globals): freed at its returns, after the results are copied out.
  SmallVector<Value> scratch;

  /// `convc_cuda_<kind>_<T>(buffer : memref<?xT>, elementBytes) ->
  /// memref<?xT>`, a runtime function (MLIR's C interface):
  ///  - `constant`: the device copy of constant host data, uploaded on first
  ///    use and kept while the module is loaded;
  ///  - `input`: an argument's data on the device (runtime/cuda/DeviceCall.h);
  ///  - `output`: a result where the caller wants it;
  ///  - `release` (no result): frees a result's device buffer unless it was
  ///    handed to the caller.
  func::FuncOp runtimeFunction(OpBuilder &b, StringRef kind, Type element) {
    ModuleOp module = getOperation();
    std::string name;
    llvm::raw_string_ostream(name) << "convc_cuda_" << kind << "_" << element;
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto flat = MemRefType::get({ShapedType::kDynamic}, element);
    SmallVector<Type> results;
    if (kind != "release")
      results.push_back(flat);
    auto fn = func::FuncOp::create(
        b, module.getLoc(), name,
        b.getFunctionType({flat, b.getIndexType()}, results));
    fn.setPrivate();
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  }

  /// A call of the runtime's `kind` function on `buffer` (identity layout)
  /// as one run of elements; its result viewed in the buffer's shape.
  Value callRuntime(OpBuilder &b, Location loc, StringRef kind, Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    Type element = type.getElementType();
    SmallVector<OpFoldResult> sizes, strides(type.getRank());
    for (int64_t i = 0; i < type.getRank(); ++i)
      sizes.push_back(type.isDynamicDim(i)
                          ? OpFoldResult(memref::DimOp::create(b, loc, buffer, i)
                                             .getResult())
                          : OpFoldResult(b.getIndexAttr(type.getDimSize(i))));
    auto multiply = [&](OpFoldResult x, OpFoldResult y) -> OpFoldResult {
      std::optional<int64_t> cx = getConstantIntValue(x),
                             cy = getConstantIntValue(y);
      if (cx && cy)
        return b.getIndexAttr(*cx * *cy);
      return arith::MulIOp::create(
                 b, loc, getValueOrCreateConstantIndexOp(b, loc, x),
                 getValueOrCreateConstantIndexOp(b, loc, y))
          .getResult();
    };
    OpFoldResult count = b.getIndexAttr(1);
    for (int64_t i = type.getRank() - 1; i >= 0; --i) {
      strides[i] = count;
      count = multiply(count, sizes[i]);
    }
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    auto flatType = MemRefType::get({ShapedType::kDynamic}, element);
    Value flat = memref::ReinterpretCastOp::create(b, loc, flatType, buffer,
                                                   zero, {count}, {one});
    int64_t bytes = (element.getIntOrFloatBitWidth() + 7) / 8;
    auto call = func::CallOp::create(
        b, loc, runtimeFunction(b, kind, element),
        ValueRange{flat, arith::ConstantIndexOp::create(b, loc, bytes)});
    if (call.getNumResults() == 0)
      return Value();
    return memref::ReinterpretCastOp::create(b, loc, type, call.getResult(0),
                                             zero, sizes, strides);
  }

  LogicalResult moveGlobals(func::FuncOp func) {
    SmallVector<memref::GetGlobalOp> globals;
    func.walk([&](memref::GetGlobalOp g) {
      if (!insideKernel(g))
        globals.push_back(g);
    });
    for (memref::GetGlobalOp g : globals) {
      auto type = cast<MemRefType>(g.getType());
      if (!type.getLayout().isIdentity() || !type.hasStaticShape())
        return g.emitError() << "a strided global cannot be copied to the GPU";
      auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
          g, g.getNameAttr());
      OpBuilder b(g->getNextNode());
      Location loc = g.getLoc();
      Value device;
      SmallVector<Operation *> readers;
      if (global && global.getConstant() &&
          type.getElementType().isIntOrFloat()) {
        // Weights: the runtime uploads them once (keyed by their host
        // address) instead of every call, and the device code holds none.
        Type element = type.getElementType();
        int64_t n = type.getNumElements();
        int64_t bytes = (element.getIntOrFloatBitWidth() + 7) / 8;
        auto flatType = MemRefType::get({n}, element);
        Value flat = memref::ReinterpretCastOp::create(
            b, loc, flatType, g, /*offset=*/0, ArrayRef<int64_t>{n},
            ArrayRef<int64_t>{1});
        Value dynamic = memref::CastOp::create(
            b, loc, MemRefType::get({ShapedType::kDynamic}, element), flat);
        auto call = func::CallOp::create(
            b, loc, runtimeFunction(b, "constant", element),
            ValueRange{dynamic, arith::ConstantIndexOp::create(b, loc, bytes)});
        SmallVector<int64_t> strides(type.getRank(), 1);
        for (int64_t i = type.getRank() - 2; i >= 0; --i)
          strides[i] = strides[i + 1] * type.getDimSize(i + 1);
        device = memref::ReinterpretCastOp::create(
            b, loc, type, call.getResult(0), /*offset=*/0, type.getShape(),
            strides);
        readers.push_back(flat.getDefiningOp());
      } else {
        // Mutable host state: a device copy per call.
        device = gpuAlloc(b, loc, type, {});
        gpuCopy(b, loc, device, g);
        scratch.push_back(device);
        readers.push_back(device.getDefiningOp()->getNextNode());
      }
      g.getResult().replaceUsesWithIf(device, [&](OpOperand &use) {
        return !llvm::is_contained(readers, use.getOwner());
      });
    }
    return success();
  }

  LogicalResult moveAllocations(func::FuncOp func) {
    SmallVector<Operation *> ops;
    auto hostBuffer = [](Value v) {
      Operation *def = v.getDefiningOp();
      return def && def->hasAttr("convc.gpu_host_buffer");
    };
    func.walk([&](Operation *op) {
      if (!isa<memref::AllocOp, memref::DeallocOp, memref::CopyOp>(op) ||
          insideKernel(op))
        return;
      // Shape buffers of reshapes, which the host reads (convc-parallel-to-gpu
      // marks them), stay in host memory.
      if (hostBuffer(op->getNumResults() ? op->getResult(0)
                                         : op->getOperand(0)))
        return;
      ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (!alloc.getSymbolOperands().empty())
          return alloc.emitError() << "affine-symbol allocations cannot move "
                                      "to the GPU";
        Value device =
            gpuAlloc(b, loc, alloc.getType(), alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(device);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(b, loc, Type(), ValueRange(),
                               dealloc.getMemref());
      } else {
        auto copy = cast<memref::CopyOp>(op);
        auto src = cast<MemRefType>(copy.getSource().getType());
        auto dst = cast<MemRefType>(copy.getTarget().getType());
        if (!src.getLayout().isIdentity() || !dst.getLayout().isIdentity())
          return copy.emitError()
                 << "a strided buffer copy cannot run on the GPU yet";
        gpuCopy(b, loc, copy.getTarget(), copy.getSource());
      }
      op->erase();
    }
    return success();
  }

  LogicalResult bridgeBoundary(func::FuncOp func) {
    Block &entry = func.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    for (BlockArgument arg : entry.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (!type)
        continue;
      if (!type.getLayout().isIdentity())
        return func.emitError() << "GPU entry points take identity-layout "
                                   "buffers (argument #"
                                << arg.getArgNumber() << ")";
      // Everything that used the argument reads its device data.
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : arg.getUses())
        uses.push_back(&use);
      Value device = callRuntime(b, arg.getLoc(), "input", arg);
      for (OpOperand *use : uses)
        use->set(device);
    }
    SmallVector<func::ReturnOp> returns;
    func.walk([&](func::ReturnOp r) { returns.push_back(r); });
    for (func::ReturnOp ret : returns) {
      OpBuilder rb(ret);
      Location loc = ret.getLoc();
      // The results, then their frees, all runtime calls: gpu-async-region
      // synchronises the host once before the first, and the runtime queues
      // the copies and frees on the call's stream (one synchronisation at
      // the end, where the host needs the copies).
      llvm::SmallSetVector<Value, 4> toFree;
      for (OpOperand &operand : ret->getOpOperands()) {
        Value device = operand.get();
        auto type = dyn_cast<MemRefType>(device.getType());
        if (!type)
          continue;
        if (!type.getLayout().isIdentity())
          return ret.emitError() << "GPU entry points return identity-layout "
                                    "buffers (result #"
                                 << operand.getOperandNumber() << ")";
        operand.set(callRuntime(rb, loc, "output", device));
        Value root = rootBuffer(device);
        if (root.getDefiningOp<gpu::AllocOp>() &&
            !llvm::is_contained(scratch, root))
          toFree.insert(root);
      }
      for (Value buffer : toFree)
        callRuntime(rb, loc, "release", buffer);
      for (Value buffer : scratch)
        gpu::DeallocOp::create(rb, loc, Type(), ValueRange(), buffer);
    }
    return success();
  }

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Private helpers of the deallocation lowering work on host metadata
      // only.
      if (func.getSymName().starts_with("dealloc_helper"))
        continue;
      scratch.clear();
      if (failed(moveGlobals(func)) || failed(moveAllocations(func)) ||
          (func.isPublic() && failed(bridgeBoundary(func))))
        return signalPassFailure();
      if (!func.isPublic())
        func.walk([&](func::ReturnOp ret) {
          OpBuilder b(ret);
          for (Value buffer : scratch)
            gpu::DeallocOp::create(b, ret.getLoc(), Type(), ValueRange(),
                                   buffer);
        });
    }
  }
};

} // namespace
