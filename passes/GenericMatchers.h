//===- GenericMatchers.h - matching the bodies of linalg.generic --------*- C++ -*-===//
//
// The ONNX raising passes (frontends/onnx/raising) and convc-fuse-talk read
// elementwise linalg.generic ops (what the ONNX importer emits) with these;
// the importer's shape and index arithmetic has its own matchers beside the
// raising passes (frontends/onnx/raising/ImportedForms.h).
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_PASSES_GENERICMATCHERS_H
#define CONVC_PASSES_GENERICMATCHERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <optional>

namespace convc {

/// The linalg.generic defining `v` when it has one result, `loops` loops
/// and `inputs` inputs, and its loops are all parallel or (`reducesLast`)
/// all but the last, a reduction; null otherwise.
inline mlir::linalg::GenericOp genericOf(mlir::Value v, unsigned loops,
                                         unsigned inputs,
                                         bool reducesLast = false) {
  auto op = v ? v.getDefiningOp<mlir::linalg::GenericOp>() : nullptr;
  if (!op || op->getNumResults() != 1 || op.getNumLoops() != loops ||
      op.getNumDpsInputs() != inputs ||
      op.getNumReductionLoops() != (reducesLast ? 1u : 0u) ||
      (reducesLast && op.getIteratorTypesArray()[loops - 1] !=
                          mlir::utils::IteratorType::reduction))
    return nullptr;
  return op;
}

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


/// How an operand of an elementwise generic over [..., C] is indexed:
/// fully, once per row ([..., 1]), once per channel ([C]), as a scalar, or
/// (rank 3) once per time step ([1, T, 1], an arange over time).
enum class Broadcast { Full, Row, Channel, Scalar, Time, Other };

inline Broadcast broadcastOf(mlir::AffineMap map, int64_t rank) {
  using namespace mlir;
  MLIRContext *ctx = map.getContext();
  if (map.isIdentity() && map.getNumResults() == rank)
    return Broadcast::Full;
  if (map.getNumResults() == 0)
    return Broadcast::Scalar;
  if (map == AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx)))
    return Broadcast::Channel;
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  if (rank == 3 && map == AffineMap::get(3, 0,
                                         {zero, getAffineDimExpr(1, ctx), zero},
                                         ctx))
    return Broadcast::Time;
  SmallVector<AffineExpr> row;
  for (int64_t i = 0; i + 1 < rank; ++i)
    row.push_back(getAffineDimExpr(i, ctx));
  row.push_back(zero);
  if (map == AffineMap::get(rank, 0, row, ctx))
    return Broadcast::Row;
  return Broadcast::Other;
}

/// A unary or binary elementwise op: its operands in the body op's order,
/// with how each is indexed. An operand may be a constant captured by the
/// body.
struct Elementwise {
  mlir::linalg::GenericOp op;
  mlir::Value lhs, rhs;       // generic inputs (null for a captured constant)
  Broadcast lhsMap, rhsMap;   // Scalar for a captured constant
  std::optional<double> lhsConst, rhsConst; // constant operands' values
};

/// The value of a float constant, scalar or splat.
inline std::optional<double> splatValue(mlir::Value v) {
  mlir::APFloat value(0.0f);
  if (mlir::matchPattern(v, mlir::m_ConstantFloat(&value)))
    return value.convertToDouble();
  return std::nullopt;
}

/// `v` as the result of an all-parallel generic over [..., C] whose body is
/// one `OpTy` of its inputs and captured constants.
template <typename OpTy>
std::optional<Elementwise> elementwise(mlir::Value v) {
  using namespace mlir;
  auto op = v.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
      op.getBody()->getOperations().size() != 2)
    return std::nullopt;
  auto body = op.getBody();
  auto inner = llvm::cast<linalg::YieldOp>(body->getTerminator())
                   .getOperand(0)
                   .template getDefiningOp<OpTy>();
  if (!inner)
    return std::nullopt;
  int64_t rank = op.getNumLoops();
  auto maps = op.getIndexingMapsArray();
  if (broadcastOf(maps.back(), rank) != Broadcast::Full)
    return std::nullopt;
  Elementwise e{op, {}, {}, Broadcast::Scalar, Broadcast::Scalar, {}, {}};
  auto side = [&](Value operand, Value &input, Broadcast &map,
                  std::optional<double> &constant) {
    if (auto arg = llvm::dyn_cast<BlockArgument>(operand)) {
      if (arg.getOwner() != body || arg.getArgNumber() >= op.getNumDpsInputs())
        return false;
      input = op.getDpsInputs()[arg.getArgNumber()];
      map = broadcastOf(maps[arg.getArgNumber()], rank);
      constant = splatValue(input);
      return map != Broadcast::Other;
    }
    constant = splatValue(operand);
    return constant.has_value();
  };
  Value lhs = inner->getOperand(0);
  Value rhs = inner->getNumOperands() > 1 ? inner->getOperand(1) : Value();
  if (!side(lhs, e.lhs, e.lhsMap, e.lhsConst))
    return std::nullopt;
  if (rhs && !side(rhs, e.rhs, e.rhsMap, e.rhsConst))
    return std::nullopt;
  return e;
}

/// An elementwise generic (identity maps, all parallel) over `inputs`
/// operands whose body yields fn(args): returns the yielded value.
inline mlir::Value elementwiseBody(mlir::linalg::GenericOp op, unsigned inputs) {
  if (!op || op.getNumDpsInputs() != inputs || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](mlir::AffineMap m) { return m.isIdentity(); }))
    return {};
  return llvm::cast<mlir::linalg::YieldOp>(op.getBody()->getTerminator()).getOperand(0);
}

inline bool isOneFloat(mlir::Value v) { return v && mlir::matchPattern(v, mlir::m_OneFloat()); }

/// 1 / (1 + exp(-x)) on the generic's only input.
inline bool isSigmoid(mlir::linalg::GenericOp op) {
  mlir::Value y = elementwiseBody(op, 1);
  auto div = y ? y.getDefiningOp<mlir::arith::DivFOp>() : nullptr;
  if (!div || !isOneFloat(div.getLhs()))
    return false;
  auto add = div.getRhs().getDefiningOp<mlir::arith::AddFOp>();
  if (!add)
    return false;
  mlir::Value e = isOneFloat(add.getLhs()) ? add.getRhs()
            : isOneFloat(add.getRhs()) ? add.getLhs()
                                  : mlir::Value();
  auto exp = e ? e.getDefiningOp<mlir::math::ExpOp>() : nullptr;
  auto neg = exp ? exp.getOperand().getDefiningOp<mlir::arith::NegFOp>() : nullptr;
  return neg && neg.getOperand() == op.getBody()->getArgument(0);
}


/// `v` = x * c, c * x or x / c as an elementwise generic, x indexed fully
/// and c a scalar constant: x and the factor (1 / c for a division).
std::optional<std::pair<mlir::Value, double>> scaledByConstant(mlir::Value v);

/// The value the body of the single-result generic `op` yields.
inline mlir::Value yieldedValue(mlir::linalg::GenericOp op) {
  return llvm::cast<mlir::linalg::YieldOp>(op.getBody()->getTerminator())
      .getOperand(0);
}

/// Whether `v` is a linalg.fill of the float constant `init`.
inline bool isFillOf(mlir::Value v, double init) {
  auto fill = v.getDefiningOp<mlir::linalg::FillOp>();
  return fill && splatValue(fill.getInputs()[0]) == init;
}

} // namespace convc

#endif // CONVC_PASSES_GENERICMATCHERS_H
