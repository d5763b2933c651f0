//===- EmitLibrary.h - LLVM IR, object files, shared libraries -*- C++ -*-===//

#ifndef CONVC_LOWERING_LLVM_EMITLIBRARY_H
#define CONVC_LOWERING_LLVM_EMITLIBRARY_H

#include "mlir/IR/BuiltinOps.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace convc {

/// The machine code is generated for: the host unless overridden.
struct NativeTarget {
  std::string triple, cpu, features;

  /// Host CPU and features; `cpu` / `attrs` (LLVM -mcpu / -mattr syntax,
  /// e.g. "+avx2,-avx512f") override them when not empty.
  static NativeTarget host(const std::string &cpu = "",
                           const std::string &attrs = "");
  /// f32 lanes of the widest vector unit the features enable (16, 8 or 4).
  int64_t vectorWidth() const;
  std::unique_ptr<llvm::TargetMachine> createTargetMachine(std::string &error) const;
  /// Empty when LLVM knows `cpu` for `triple`, else why not: LLVM would
  /// stop the process on an unknown one ("64-bit code requested on a
  /// subtarget that doesn't support it").
  std::string checkCpu() const;
};

/// Whether the LLVM backend for `triple` (initialised by the caller) knows
/// the processor `cpu`. If not, `known` (when given) lists, comma-separated,
/// the processors it does know whose names start with `knownPrefix`. The
/// backend is asked through a subtarget made for `probe`, a processor it
/// has ("" for its default): one made for an unknown processor is reported
/// on stderr, and some backends stop the process on it.
bool knownProcessor(const llvm::Triple &triple, llvm::StringRef cpu,
                    llvm::StringRef probe, std::string *known = nullptr,
                    llvm::StringRef knownPrefix = "");

/// LLVM dialect -> optimised (O3) LLVM IR for `target`.
std::unique_ptr<llvm::Module> translateToOptimizedLLVMIR(
    mlir::ModuleOp module, llvm::LLVMContext &context,
    llvm::TargetMachine &machine, std::string &error);

/// Writes an ELF object for `module`.
bool emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                    const std::string &path, std::string &error);

/// Links `objectPath` into a shared library with the system C compiler
/// driver. Its parallel loops call convc_parallel_for, which the runtime
/// that loads it provides.
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath, std::string &error);

} // namespace convc

#endif // CONVC_LOWERING_LLVM_EMITLIBRARY_H
