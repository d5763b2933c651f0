//===- GenericMatchers.h - matching the bodies of linalg.generic --------*- C++ -*-===//
//
// The raising passes recognise what the ONNX importer emits as elementwise
// linalg.generic ops; these read the body of such an op.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_PASSES_GENERICMATCHERS_H
#define CONVC_PASSES_GENERICMATCHERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

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

} // namespace convc

#endif // CONVC_PASSES_GENERICMATCHERS_H
