//===- OpReport.cpp - `convc compile --report` -----------------------------===//

#include "compiler/CompileSession.h"

#include "dialect/ConvcDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;

namespace convc {

void printOpReport(ModuleOp module, llvm::StringRef stage) {
  std::map<std::string, int> convcOps, genericOps;
  int fusedEpilogues = 0;
  module.walk([&](Operation *op) {
    llvm::StringRef dialect = op->getDialect()
                                  ? op->getDialect()->getNamespace()
                                  : llvm::StringRef();
    std::string name = op->getName().getStringRef().str();
    if (dialect == "convc") {
      ++convcOps[name];
      if (auto linear = dyn_cast<convc::LinearOp>(op))
        fusedEpilogues += linear.getActivation() != convc::Activation::none ||
                          linear.getResidual() || linear.getLnGamma();
    } else if (dialect == "linalg" && !isa<linalg::FillOp>(op) &&
               !isa<linalg::YieldOp, linalg::IndexOp>(op)) {
      ++genericOps[name];
    }
  });
  llvm::errs() << "convc: report (" << stage << " IR): ";
  if (convcOps.empty())
    llvm::errs() << "no convc ops";
  bool first = true;
  for (const auto &[name, n] : convcOps) {
    llvm::errs() << (first ? "" : ", ") << n << " x " << name;
    if (name == "convc.linear" && fusedEpilogues)
      llvm::errs() << " (" << fusedEpilogues << " with fused epilogues)";
    first = false;
  }
  int generic = 0;
  for (const auto &entry : genericOps)
    generic += entry.second;
  llvm::errs() << "; " << generic << " op" << (generic == 1 ? "" : "s")
               << " on the generic linalg path";
  first = true;
  for (const auto &[name, n] : genericOps) {
    llvm::errs() << (first ? " (" : ", ") << n << " x " << name;
    first = false;
  }
  llvm::errs() << (generic ? ")" : "") << "\n";
}

} // namespace convc
