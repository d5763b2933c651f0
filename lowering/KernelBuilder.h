//===- KernelBuilder.h - IR-building vocabulary for loop kernels -*- C++ -*-===//
//
// Shared by the CPU (convc-lower-to-loops) and GPU (convc-lower-to-gpu)
// lowerings: both write kernels as loops over buffers.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_LOWERING_KERNELBUILDER_H
#define CONVC_LOWERING_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace convc {
namespace kernel_builder {
// Kernels are written with MLIR's names unqualified; this namespace keeps
// the using-directive out of includers' scope.
using namespace mlir;

/// Small IR-building vocabulary for loop kernels on buffers.
class KernelBuilder : public mlir::ImplicitLocOpBuilder {
public:
  KernelBuilder(Location loc, OpBuilder &b) : ImplicitLocOpBuilder(loc, b) {}

  Value index(int64_t v) { return arith::ConstantIndexOp::create(*this, v); }
  Value f32(double v) { return floatConst(getF32Type(), v); }
  Value dim(Value memref, int64_t i) {
    return memref::DimOp::create(*this, memref, i);
  }
  Value add(Value a, Value b) { return arith::AddIOp::create(*this, a, b); }
  Value sub(Value a, Value b) { return arith::SubIOp::create(*this, a, b); }
  Value mul(Value a, Value b) { return arith::MulIOp::create(*this, a, b); }
  Value min(Value a, Value b) { return arith::MinSIOp::create(*this, a, b); }
  Value max(Value a, Value b) { return arith::MaxSIOp::create(*this, a, b); }
  Value ceilDiv(Value a, Value b) {
    return arith::CeilDivSIOp::create(*this, a, b);
  }
  Value floorDiv(Value a, Value b) {
    return arith::FloorDivSIOp::create(*this, a, b);
  }
  Value fadd(Value a, Value b) { return arith::AddFOp::create(*this, a, b); }
  Value fsub(Value a, Value b) { return arith::SubFOp::create(*this, a, b); }
  Value fmul(Value a, Value b) { return arith::MulFOp::create(*this, a, b); }
  Value fdiv(Value a, Value b) { return arith::DivFOp::create(*this, a, b); }
  Value fma(Value a, Value b, Value acc) {
    return isa<VectorType>(acc.getType())
               ? Value(vector::FMAOp::create(*this, a, b, acc))
               : Value(math::FmaOp::create(*this, a, b, acc));
  }
  Value exp(Value v) { return math::ExpOp::create(*this, v); }
  Value indexToF32(Value i) { return indexToFloat(i, getF32Type()); }
  Value indexToFloat(Value i, Type type) {
    Value i64 = arith::IndexCastOp::create(*this, getI64Type(), i);
    return arith::SIToFPOp::create(*this, type, i64);
  }
  Value floatConst(Type type, double v) {
    auto floatType = cast<FloatType>(type);
    APFloat value(v);
    bool lost;
    value.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &lost);
    return arith::ConstantFloatOp::create(*this, floatType, value);
  }
  Value splat(Value scalar, int64_t lanes) {
    return vector::BroadcastOp::create(
        *this, VectorType::get({lanes}, scalar.getType()), scalar);
  }

  /// for (iv = lo; iv < hi; iv += step) body(iv)
  void forLoop(Value lo, Value hi, Value step,
               function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(*this, lo, hi, step);
    InsertionGuard guard(*this);
    setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }

  /// A loop carrying values: returns body's final results.
  ValueRange forLoop(Value lo, Value hi, Value step, ValueRange init,
                     function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(*this, lo, hi, step, init);
    InsertionGuard guard(*this);
    setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(*this,
                         body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return loop.getResults();
  }

  /// What the GPU target names the kernels of the loops built here (the
  /// op being lowered), kept in the loops' locations: rebuilt loops keep
  /// their location, not their attributes.
  StringAttr kernelName;
  Location loopLocation() {
    return kernelName ? Location(NameLoc::get(kernelName, getLoc()))
                      : getLoc();
  }

  /// Whether `buffer`'s aligned pointer is a multiple of `bytes` (an
  /// identity-layout buffer starts there): tested when the code runs.
  Value alignedTo(Value buffer, int64_t bytes) {
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(*this, buffer);
    return arith::CmpIOp::create(
        *this, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(*this, base, index(bytes)), index(0));
  }

  /// scf.parallel over [0, ub_i), one work item per point.
  void parallel(ValueRange upperBounds, function_ref<void(ValueRange)> body) {
    SmallVector<Value> zeros(upperBounds.size(), index(0));
    SmallVector<Value> ones(upperBounds.size(), index(1));
    auto loop = scf::ParallelOp::create(static_cast<OpBuilder &>(*this),
                                        loopLocation(), zeros, upperBounds,
                                        ones);
    InsertionGuard guard(*this);
    setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVars());
  }

  /// Runs body(c, mask) over channel blocks of `lanes`: unmasked blocks for
  /// the multiple of `lanes`, then one masked block for the remainder.
  void forChannelBlocks(int64_t channels, int64_t lanes,
                        function_ref<void(Value, Value)> body) {
    int64_t full = channels / lanes * lanes;
    if (full > 0)
      forLoop(index(0), index(full), index(lanes),
              [&](Value c) { body(c, Value()); });
    if (full < channels) {
      Value mask = vector::CreateMaskOp::create(
          *this, VectorType::get({lanes}, getI1Type()),
          ValueRange{index(channels - full)});
      body(index(full), mask);
    }
  }

  Value load(VectorType type, Value memref, ValueRange indices, Value mask) {
    if (!mask)
      return vector::LoadOp::create(*this, type, memref, indices);
    Value zero = arith::ConstantOp::create(*this, type,
                                           getZeroAttr(type));
    return vector::MaskedLoadOp::create(*this, type, memref, indices, mask,
                                        zero);
  }
  void store(Value value, Value memref, ValueRange indices, Value mask) {
    if (!mask)
      vector::StoreOp::create(*this, value, memref, indices);
    else
      vector::MaskedStoreOp::create(*this, memref, indices, mask, value);
  }

  Value loadScalar(Value memref, ValueRange indices) {
    return memref::LoadOp::create(*this, memref, indices);
  }
  void storeScalar(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(*this, value, memref, indices);
  }

  /// A buffer for the tensor `value` (identity layout).
  Value toBuffer(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        *this, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  }

  /// A fresh 64-byte-aligned buffer shaped like `like` (a buffer).
  Value allocLike(Value like) {
    auto type = cast<MemRefType>(like.getType());
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        dynamicSizes.push_back(dim(like, i));
    return memref::AllocOp::create(*this, type, dynamicSizes,
                                   getI64IntegerAttr(64));
  }
  Value alloc(ArrayRef<int64_t> shape) {
    return memref::AllocOp::create(*this, MemRefType::get(shape, getF32Type()),
                                   ValueRange{}, getI64IntegerAttr(64));
  }
  Value allocaF32(ArrayRef<int64_t> shape) {
    return memref::AllocaOp::create(*this,
                                    MemRefType::get(shape, getF32Type()),
                                    ValueRange{}, getI64IntegerAttr(64));
  }

  /// A fresh buffer of tensor type `type` (its element type kept), dynamic
  /// sizes read from the same dimensions of `like` (a buffer).
  Value allocResult(RankedTensorType type, Value like) {
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        sizes.push_back(dim(like, i));
    return memref::AllocOp::create(
        *this, MemRefType::get(type.getShape(), type.getElementType()), sizes,
        getI64IntegerAttr(64));
  }

  /// A buffer of any rank viewed as [rows, last] (rank 1: one row).
  Value rows(Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    if (type.getRank() == 2)
      return buffer;
    if (type.getRank() == 1)
      return memref::ExpandShapeOp::create(
          *this, MemRefType::get({1, type.getDimSize(0)}, type.getElementType()),
          buffer, SmallVector<ReassociationIndices>{{0, 1}},
          ArrayRef<OpFoldResult>{getIndexAttr(1),
                                 getIndexAttr(type.getDimSize(0))});
    ReassociationIndices outer;
    for (int64_t i = 0; i + 1 < type.getRank(); ++i)
      outer.push_back(i);
    return memref::CollapseShapeOp::create(
        *this, buffer,
        SmallVector<ReassociationIndices>{outer, {type.getRank() - 1}});
  }

  Value toTensor(Value buffer, Type tensorType) {
    return bufferization::ToTensorOp::create(*this, tensorType, buffer,
                                             /*restrict=*/true,
                                             /*writable=*/true);
  }
};

} // namespace kernel_builder
using kernel_builder::KernelBuilder;
} // namespace convc

#endif // CONVC_LOWERING_KERNELBUILDER_H
