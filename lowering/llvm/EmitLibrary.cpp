//===- EmitLibrary.cpp - LLVM IR, object files, shared libraries ---------===//

#include "lowering/llvm/EmitLibrary.h"
#include "lowering/Passes.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace convc {

static void initializeNativeTarget() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)done;
}

NativeTarget NativeTarget::host(const std::string &cpu,
                                const std::string &attrs) {
  NativeTarget target;
  target.triple = llvm::sys::getDefaultTargetTriple();
  target.cpu = cpu.empty() ? llvm::sys::getHostCPUName().str() : cpu;
  std::string features;
  if (cpu.empty())
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += std::string(feature.second ? "+" : "-") +
                  feature.first().str() + ",";
  features += attrs;
  if (!features.empty() && features.back() == ',')
    features.pop_back();
  target.features = features;
  return target;
}

int64_t NativeTarget::vectorWidth() const {
  // The last mention of a feature wins, as in LLVM's own parsing.
  auto enabled = [&](llvm::StringRef name) {
    size_t plus = features.rfind("+" + name.str());
    size_t minus = features.rfind("-" + name.str());
    auto endsHere = [&](size_t pos) {
      size_t end = pos + 1 + name.size();
      return end == features.size() || features[end] == ',';
    };
    bool on = plus != std::string::npos && endsHere(plus);
    bool off = minus != std::string::npos && endsHere(minus);
    if (on && off)
      return plus > minus;
    return on;
  };
  if (enabled("avx512f"))
    return 16;
  if (enabled("avx2") || enabled("avx"))
    return 8;
  return 4;
}

std::unique_ptr<llvm::TargetMachine>
NativeTarget::createTargetMachine(std::string &error) const {
  initializeNativeTarget();
  llvm::Triple tt(triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(tt, error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      tt, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
}

bool knownProcessor(const llvm::Triple &triple, llvm::StringRef cpu,
                    llvm::StringRef probe, std::string *known,
                    llvm::StringRef knownPrefix) {
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, probe, ""));
  if (!info)
    return false;
  if (info->isCPUStringValid(cpu))
    return true;
  if (known)
    for (const llvm::SubtargetSubTypeKV &kv :
         info->getAllProcessorDescriptions())
      if (llvm::StringRef(kv.Key).starts_with(knownPrefix))
        *known += (known->empty() ? "" : ", ") + std::string(kv.Key);
  return false;
}

std::string NativeTarget::checkCpu() const {
  initializeNativeTarget();
  if (knownProcessor(llvm::Triple(triple), cpu, ""))
    return "";
  return "unknown CPU '" + cpu + "' for " + triple +
         " (`llc -march=x86-64 -mcpu=help` lists the known ones; leave "
         "--mcpu out for the host's)";
}

/// For each `_mlir_ciface_convc_fn_<f>(ptr, ptr, ...)` adds
/// `convc_entry_<f>(ptr args)`, where args[0] is the results pointer and
/// args[1..] the argument descriptors: one calling convention for every
/// signature, so the runtime needs no per-arity call sites. Everything else
/// the module defines becomes internal: a library loaded before it (or the
/// host, linked -rdynamic) must not stand in for its functions, nor its for
/// theirs.
static void addPackedEntryPoints(llvm::Module &module) {
  const std::string prefix = ("_mlir_ciface_" + kEntrySymbolPrefix).str();
  llvm::SmallVector<llvm::Function *> cifaces;
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && f.getName().starts_with(prefix))
      cifaces.push_back(&f);
  for (llvm::Function &f : module)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : module.globals())
    if (!g.isDeclaration() && g.getName() != "convc_signature" &&
        !g.getName().starts_with("llvm."))
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto *type =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false);
  for (llvm::Function *ciface : cifaces) {
    std::string name =
        "convc_entry_" + ciface->getName().drop_front(prefix.size()).str();
    auto *wrapper = llvm::Function::Create(
        type, llvm::GlobalValue::ExternalLinkage, name, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::SmallVector<llvm::Value *> args;
    for (unsigned i = 0; i < ciface->arg_size(); ++i)
      args.push_back(b.CreateLoad(
          ptr, b.CreateConstGEP1_64(ptr, wrapper->getArg(0), i)));
    b.CreateCall(ciface, args);
    b.CreateRetVoid();
  }
}

std::unique_ptr<llvm::Module>
translateToOptimizedLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                           llvm::TargetMachine &machine, std::string &error) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // gpu.binary (CUDA target): the device binary becomes a global, loaded by
  // a constructor through the runtime's mgpuModuleLoad.
  registerGPUDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);

  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  addPackedEntryPoints(*llvmModule);
  llvmModule->setTargetTriple(machine.getTargetTriple());
  llvmModule->setDataLayout(machine.createDataLayout());
  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            &machine);
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = llvm::toString(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

bool emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                    const std::string &path, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, out, nullptr,
                                  llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(module);
  out.flush();
  return !out.has_error();
}

bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath, std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    cc = llvm::sys::findProgramByName("gcc");
  if (!cc) {
    error = "no C compiler driver (cc or gcc) on PATH to link the shared "
            "library; install build-essential";
    return false;
  }
  // --as-needed: only modules that call cblas_sgemm depend on OpenBLAS.
  llvm::SmallVector<llvm::StringRef> args = {
      *cc, "-shared", "-o", libraryPath, objectPath, "-Wl,--as-needed",
      "-lopenblas", "-lm"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking '" + libraryPath + "' with " + *cc + " failed" +
            (message.empty() ? "" : ": " + message) + " (exit " +
            std::to_string(rc) + ")";
    return false;
  }
  return true;
}

} // namespace convc
