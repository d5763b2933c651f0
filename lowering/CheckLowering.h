//===- CheckLowering.h - what the lowerings of convc.check share -*- C++ -*-===//
//
// convc-lower-checks (a runtime call) and convc-gpu-device-checks (a
// device flag) lower a check the same way around what they do on failure.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_LOWERING_CHECKLOWERING_H
#define CONVC_LOWERING_CHECKLOWERING_H

#include "dialect/ConvcDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace convc {

/// `scf.if !holds { }` at b's insertion point; b then inserts in its body.
inline void insertIfFails(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value holds) {
  mlir::Value failed = mlir::arith::XOrIOp::create(
      b, loc, holds, mlir::arith::ConstantIntOp::create(b, loc, 1, 1));
  auto ifOp = mlir::scf::IfOp::create(b, loc, failed, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifOp.thenBlock());
}

/// The check's two reported values as i64, 0 where it has fewer.
inline llvm::SmallVector<mlir::Value, 2> checkValuesAsI64(mlir::OpBuilder &b,
                                                         CheckOp check) {
  llvm::SmallVector<mlir::Value, 2> values;
  for (size_t i = 0; i < 2; ++i)
    values.push_back(
        i < check.getValues().size()
            ? mlir::Value(mlir::arith::IndexCastOp::create(
                  b, check.getLoc(), b.getI64Type(), check.getValues()[i]))
            : mlir::Value(
                  mlir::arith::ConstantIntOp::create(b, check.getLoc(), 0, 64)));
  return values;
}

} // namespace convc

#endif // CONVC_LOWERING_CHECKLOWERING_H
