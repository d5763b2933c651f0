//===- GenericMatchers.h - matching the bodies of linalg.generic --------*- C++ -*-===//
//
// The raising passes recognise what the ONNX importer emits as elementwise
// linalg.generic ops; these read the body of such an op.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_PASSES_GENERICMATCHERS_H
#define CONVC_PASSES_GENERICMATCHERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"

namespace convc {

/// The `OpTy` a generic with `inputs` inputs, one init and no reductions
/// yields, when its body is that single op applied to the block's input
/// arguments (both, in either order, for a binary op; the one, as either
/// operand, for a unary generic). Null otherwise. Indexing maps are the
/// caller's to check.
template <typename OpTy>
OpTy yieldedOpOfInputs(mlir::linalg::GenericOp op, unsigned inputs) {
  if (op.getNumDpsInputs() != inputs || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 ||
      op.getBody()->getOperations().size() != 2)
    return nullptr;
  mlir::Block *body = op.getBody();
  auto result = llvm::cast<mlir::linalg::YieldOp>(body->getTerminator())
                    .getOperand(0)
                    .template getDefiningOp<OpTy>();
  if (!result || result->getNumOperands() != 2)
    return nullptr;
  mlir::Value lhs = result->getOperand(0), rhs = result->getOperand(1);
  mlir::Value a = body->getArgument(0);
  if (inputs == 1)
    return lhs == a || rhs == a ? result : nullptr;
  mlir::Value b = body->getArgument(1);
  return (lhs == a && rhs == b) || (lhs == b && rhs == a) ? result : nullptr;
}

/// Whether `op` sums its one input over its last loop (the only reduction)
/// into a zero fill: what the importer emits for ReduceSum and ReduceMean.
/// Indexing maps are the caller's to check.
inline bool sumsLastLoopIntoZeros(mlir::linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() !=
          mlir::utils::IteratorType::reduction ||
      op.getBody()->getOperations().size() != 2)
    return false;
  mlir::Block *body = op.getBody();
  auto add = llvm::cast<mlir::linalg::YieldOp>(body->getTerminator())
                 .getOperand(0)
                 .getDefiningOp<mlir::arith::AddFOp>();
  mlir::Value in = body->getArgument(0), acc = body->getArgument(1);
  if (!add || !((add.getLhs() == in && add.getRhs() == acc) ||
                (add.getLhs() == acc && add.getRhs() == in)))
    return false;
  auto fill = op.getDpsInits()[0].getDefiningOp<mlir::linalg::FillOp>();
  return fill && mlir::matchPattern(fill.getInputs()[0], mlir::m_AnyZeroFloat());
}

} // namespace convc

#endif // CONVC_PASSES_GENERICMATCHERS_H
