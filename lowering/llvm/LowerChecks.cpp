//===- LowerChecks.cpp - convc.check to a runtime call and a return -------===//
//
// Compiled code has one error path: a failed check calls the runtime, which
// records the message for the call in progress, and returns from the
// function at once, so nothing after the check runs on sizes it refused.
// The runtime then fails the call and never reads the (poison) results.
// Per-element checks in loops (`continues`) only call the runtime.
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/CheckLowering.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"

namespace convc {
#define GEN_PASS_DEF_LOWERCHECKSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

constexpr llvm::StringLiteral kCheckFailed = "convc_rt_check_failed";
constexpr llvm::StringLiteral kCheckFailedContinue =
    "convc_rt_check_failed_continue";
constexpr llvm::StringLiteral kAccessFailed = "convc_rt_access_check_failed";

/// convc_rt_check_failed[_continue](message, a, b), declared once per module.
func::FuncOp declareCheckFailed(ModuleOp module, StringRef name) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  Type i64 = b.getI64Type();
  auto decl = func::FuncOp::create(
      b, module.getLoc(), name,
      FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx), i64, i64}, {}));
  decl.setPrivate();
  return decl;
}

/// The runtime call for a failed check, at b's insertion point.
void callCheckFailed(OpBuilder &b, CheckOp check, func::FuncOp callee,
                     int index) {
  Location loc = check.getLoc();
  Value message = LLVM::createGlobalString(
      loc, b, ("convc_check_" + Twine(index)).str(),
      StringRef(check.getMessage().str().c_str(),
                check.getMessage().size() + 1),
      LLVM::Linkage::Internal);
  SmallVector<Value> args = {message};
  args.append(checkValuesAsI64(b, check));
  func::CallOp::create(b, loc, callee, args);
}

/// A per-element check: the runtime records the failure, the loop goes on.
void lowerContinuingCheck(CheckOp check, func::FuncOp callee, int index) {
  OpBuilder b(check);
  insertIfFails(b, check.getLoc(), check.getCondition());
  callCheckFailed(b, check, callee, index);
  check.erase();
}

/// Splits the check's block: the failure branch calls the runtime and
/// returns poison results; the rest of the block runs when the check holds.
void lowerCheck(CheckOp check, func::FuncOp callee, int index) {
  if (check.getContinues())
    return lowerContinuingCheck(check, callee, index);
  auto func = check->getParentOfType<func::FuncOp>();
  Location loc = check.getLoc();
  OpBuilder b(check);
  Block *before = check->getBlock();
  Block *rest = before->splitBlock(check->getNextNode());
  Block *failed = b.createBlock(rest);
  b.setInsertionPointToStart(failed);
  callCheckFailed(b, check, callee, index);
  SmallVector<Value> poison;
  for (Type t : func.getResultTypes())
    poison.push_back(ub::PoisonOp::create(b, loc, t));
  func::ReturnOp::create(b, loc, poison);
  b.setInsertionPoint(check);
  cf::CondBranchOp::create(b, loc, check.getCondition(), rest, ValueRange(),
                           failed, ValueRange());
  check.erase();
}

/// Upstream's memref.expand_shape verification asserts `source size rem
/// (static product of the group) == 0`. A group with a static 0 makes that a
/// remainder by zero, which is undefined (LLVM then dropped the function's
/// results: empty outputs came back with every size 0). An empty group needs
/// an empty source, so `x rem 0` becomes `x` and the assert asks `x == 0`.
void checkEmptyGroupsForEmptySources(cf::AssertOp a) {
  auto cmp = a.getArg().getDefiningOp<arith::CmpIOp>();
  if (!cmp)
    return;
  for (Value operand : cmp->getOperands())
    if (auto rem = operand.getDefiningOp<arith::RemSIOp>())
      if (matchPattern(rem.getRhs(), m_Zero())) {
        rem.replaceAllUsesWith(rem.getLhs());
        rem.erase(); // executed, even unused, it would be undefined
      }
}

/// The cf.assert ops of --bounds-checks (generate-runtime-verification):
/// a failed one calls the runtime, which prints the message (the op and its
/// location) to stderr and aborts; the access never happens. (Upstream's
/// lowering prints with buffered puts, which abort loses.)
void lowerAccessChecks(ModuleOp module) {
  SmallVector<cf::AssertOp> asserts;
  module.walk([&](cf::AssertOp a) { asserts.push_back(a); });
  if (asserts.empty())
    return;
  MLIRContext *ctx = module.getContext();
  func::FuncOp callee = module.lookupSymbol<func::FuncOp>(kAccessFailed);
  if (!callee) {
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    callee = func::FuncOp::create(
        b, module.getLoc(), kAccessFailed,
        FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx)}, {}));
    callee.setPrivate();
  }
  int index = 0;
  for (cf::AssertOp a : asserts) {
    checkEmptyGroupsForEmptySources(a);
    OpBuilder b(a);
    Location loc = a.getLoc();
    insertIfFails(b, loc, a.getArg());
    std::string text = a.getMsg().str();
    Value message = LLVM::createGlobalString(
        loc, b, ("convc_access_check_" + Twine(index++)).str(),
        StringRef(text.c_str(), text.size() + 1), LLVM::Linkage::Internal);
    func::CallOp::create(b, loc, callee, ValueRange{message});
    a.erase();
  }
}

struct LowerChecksPass : convc::impl::LowerChecksPassBase<LowerChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    lowerAccessChecks(module);
    SmallVector<CheckOp> checks;
    module.walk([&](CheckOp check) { checks.push_back(check); });
    if (checks.empty())
      return;
    for (CheckOp check : checks)
      if (!check.getContinues() &&
          (!check->getParentOfType<func::FuncOp>() ||
           check->getParentOp() != check->getParentOfType<func::FuncOp>())) {
        check.emitOpError("must be directly in a func.func body here");
        return signalPassFailure();
      }
    int index = 0;
    for (CheckOp check : checks)
      lowerCheck(check,
                 declareCheckFailed(module, check.getContinues()
                                                ? kCheckFailedContinue
                                                : kCheckFailed),
                 index++);
  }
};

} // namespace
