//===- GPUDeviceChecks.cpp - per-element checks in kernels to a flag -----===//
//
// A kernel cannot call the host, so a per-element check (`continues`: a
// Gather's index) writes what failed to a small device buffer instead, and
// the host reads that buffer back once, after the kernels:
//
//   func @main(...) {
//     %flag = gpu.alloc() : memref<24xi8>       // [check id + 1, a, b] as i64
//     gpu.memset (as 6 x i32) 0
//     gpu.launch { ... scf.if !%ok { flag = [k + 1, a, b] } ... }
//     ...
//     %h = memref.alloc() : memref<3xi64>       gpu.memcpy %h, %flag
//     convc.check %h[0] != k + 1, "message k" (%h[1], %h[2]) {continues}
//     return
//
// and convc-lower-checks turns the host checks into runtime calls, as on
// the CPU: the call fails naming the node, the index and the size. The
// kernels still clamp the access itself. Failing elements race to write the
// buffer, a word at a time (atomically); with several failing at once the
// three words may come from different ones (the call fails either way).
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/CheckLowering.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace convc {
#define GEN_PASS_DEF_GPUDEVICECHECKSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using convc::CheckOp;
using convc::checkValuesAsI64;
using convc::insertIfFails;

namespace {

/// The flag buffer's words: the failed check's id + 1 (0: none), then its
/// two values.
constexpr int64_t kFlagWords = 3;

struct DeviceFlag {
  Value bytes; // gpu.alloc'd memref<24xi8>
  Value words; // the same as memref<3xi64>
};

/// Allocates and zeroes the flag at the function's start.
DeviceFlag allocateFlag(OpBuilder &b, Location loc) {
  auto bytesType = MemRefType::get({kFlagWords * 8}, b.getI8Type());
  Value bytes = gpu::AllocOp::create(b, loc, bytesType, Type(), ValueRange(),
                                     ValueRange(), ValueRange())
                    .getMemref();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  // gpu.memset writes 32-bit words; the kernels read and write i64.
  Value asI32 = memref::ViewOp::create(
      b, loc, MemRefType::get({kFlagWords * 2}, b.getI32Type()), bytes, zero,
      ValueRange());
  gpu::MemsetOp::create(b, loc, Type(), ValueRange(), asI32,
                        arith::ConstantIntOp::create(b, loc, 0, 32));
  Value words = memref::ViewOp::create(
      b, loc, MemRefType::get({kFlagWords}, b.getI64Type()), bytes, zero,
      ValueRange());
  return {bytes, words};
}

/// Replaces `check` (in a kernel) by a write of [id + 1, a, b] when it fails.
void writeFlagOnFailure(CheckOp check, Value flag, int64_t id) {
  OpBuilder b(check);
  Location loc = check.getLoc();
  insertIfFails(b, loc, check.getCondition());
  SmallVector<Value> words = {
      arith::ConstantIntOp::create(b, loc, id + 1, 64)};
  words.append(checkValuesAsI64(b, check));
  // Atomic exchanges: a plain i64 store may be split into halves, and
  // halves of two failing elements' values would mix.
  for (auto [i, word] : llvm::enumerate(words))
    memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::assign, word,
                                flag,
                                ValueRange{arith::ConstantIndexOp::create(
                                    b, loc, static_cast<int64_t>(i))});
}

/// Before `ret`: the flag copied to the host and one host check per kernel
/// check, then both buffers freed.
void reportOnHost(func::ReturnOp ret, const DeviceFlag &flag,
                  ArrayRef<std::string> messages) {
  OpBuilder b(ret);
  Location loc = ret.getLoc();
  auto type = MemRefType::get({kFlagWords}, b.getI64Type());
  Value host = memref::AllocOp::create(b, loc, type);
  gpu::MemcpyOp::create(b, loc, Type(), ValueRange(), host, flag.words);
  SmallVector<Value> words;
  for (int64_t i = 0; i < kFlagWords; ++i)
    words.push_back(memref::LoadOp::create(
        b, loc, host, ValueRange{arith::ConstantIndexOp::create(b, loc, i)}));
  SmallVector<Value> values = {
      arith::IndexCastOp::create(b, loc, b.getIndexType(), words[1]),
      arith::IndexCastOp::create(b, loc, b.getIndexType(), words[2])};
  for (auto [id, message] : llvm::enumerate(messages)) {
    Value ok = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, words[0],
        arith::ConstantIntOp::create(b, loc, static_cast<int64_t>(id) + 1, 64));
    auto check = CheckOp::create(b, loc, ok, values, message);
    check.setContinues(true);
  }
  memref::DeallocOp::create(b, loc, host);
  gpu::DeallocOp::create(b, loc, Type(), ValueRange(), flag.bytes);
}

struct GPUDeviceChecksPass
    : convc::impl::GPUDeviceChecksPassBase<GPUDeviceChecksPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<CheckOp> checks;
      func.walk([&](CheckOp check) {
        if (check.getContinues() && check->getParentOfType<gpu::LaunchOp>())
          checks.push_back(check);
      });
      if (checks.empty())
        continue;
      OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
      DeviceFlag flag = allocateFlag(b, func.getLoc());
      SmallVector<std::string> messages;
      for (CheckOp check : checks) {
        messages.push_back(check.getMessage().str());
        writeFlagOnFailure(check, flag.words,
                           static_cast<int64_t>(messages.size()) - 1);
        check.erase();
      }
      SmallVector<func::ReturnOp> returns;
      func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
      for (func::ReturnOp ret : returns)
        reportOnHost(ret, flag, messages);
    }
  }
};

} // namespace
