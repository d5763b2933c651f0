//===- MergeGPUModules.cpp - one gpu.module for all kernels --------------===//

#include "lowering/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace convc {
#define GEN_PASS_DEF_MERGEGPUMODULESPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;

namespace {

struct MergeGPUModulesPass
    : convc::impl::MergeGPUModulesPassBase<MergeGPUModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.size() < 2 &&
        (sources.empty() || sources.front().getName() == "convc_kernels"))
      return;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), "convc_kernels");
    SymbolTable mergedSymbols(merged);
    // Old (module, symbol) -> new symbol name in the merged module.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : sources) {
      for (Operation &op :
           llvm::make_early_inc_range(*source.getBody())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol) {
          op.moveBefore(merged.getBody(), merged.getBody()->end());
          continue;
        }
        StringAttr oldName = symbol.getNameAttr();
        // Outlining names every kernel after its function, in modules with
        // unique names: the kernel takes its module's name, less the entry
        // points' symbol prefix (profiles show `main_lightweight_conv_0`).
        if (isa<gpu::GPUFuncOp>(op)) {
          StringRef name = source.getName();
          name.consume_front(convc::kEntrySymbolPrefix);
          symbol.setName(StringAttr::get(op.getContext(), name));
        }
        Operation *existing = mergedSymbols.lookup(symbol.getNameAttr());
        if (existing && !isa<gpu::GPUFuncOp>(op) &&
            OperationEquivalence::isEquivalentTo(
                &op, existing, OperationEquivalence::Flags::IgnoreLocations)) {
          // A global that outlining copied into several modules: keep one.
          op.erase();
          continue;
        }
        if (existing) {
          op.emitError() << "two kernel modules define '" << symbol.getName()
                         << "' differently";
          return signalPassFailure();
        }
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        mergedSymbols.insert(&op);
        renamed[{source.getNameAttr(), oldName}] = symbol.getNameAttr();
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      auto it = renamed.find({kernel.getRootReference(),
                              kernel.getLeafReference()});
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          merged.getNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
    });
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};

} // namespace
