//===- ConvcDialect.td - the convc dialect ------------------*- tablegen -*-===//
//
// The convc dialect states the sequence-mixing ops of convolutional seq2seq
// models (LightweightConv, DynamicConv, TaLK, dilated depthwise convs, GLU)
// and the primitives the fusion passes work on. Exact semantics:
// docs/semantics.md; design decisions: docs/dialect.md.
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_DIALECT_TD
#define CONVC_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Convc_Dialect : Dialect {
  let name = "convc";
  let cppNamespace = "::convc";
  // Folded constants (e.g. softmaxed kernels) materialise as arith.constant.
  let hasConstantMaterializer = 1;
  // Dead computations that only hold per-element checks are erased.
  let hasCanonicalizer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
  let summary = "Sequence-mixing ops of convolutional sequence-to-sequence models";
  let description = [{
    Ops over activations in BTC layout (`tensor<B x T x C x f32|f16|bf16>`,
    channels innermost). Batch and time may be dynamic; channels, heads and
    kernel sizes are static because every verifier rule about heads needs
    them. Head of channel `c` is `floor(c / (C / H))` (contiguous blocks).
    Out-of-range inputs are zero (zero padding); edge weights are never
    renormalised.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Convc_FloatElement : AnyTypeOf<[F32, F16, BF16]>;

// Activations: [batch, time, channels].
def Convc_SequenceTensor : 3DTensorOf<[F32, F16, BF16]>;
// 2-D parameters: depthwise [C, K], lightweight [H, K], projections [out, in].
def Convc_MatrixTensor : 2DTensorOf<[F32, F16, BF16]>;
def Convc_VectorTensor : 1DTensorOf<[F32, F16, BF16]>;
// Per-position kernels or logits: [batch, time, heads, taps].
def Convc_PositionKernelTensor : 4DTensorOf<[F32, F16, BF16]>;
def Convc_AnyFloatTensor : RankedTensorOf<[F32, F16, BF16]>;

// Sizes, counts and offsets: i64 attributes read back as signed, so that a
// negative value reaches the verifier as negative (upstream I64Attr reads
// back as uint64_t).
def Convc_IntAttr : TypedSignlessIntegerAttrBase<
    I64, "int64_t", "64-bit integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

// The activation a projection's epilogue applies.
def Convc_ActivationEnum : I32EnumAttr<"Activation",
    "projection epilogue activation", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"relu", 1>,
    I32EnumAttrCase<"swish", 2>,
    I32EnumAttrCase<"sigmoid", 3>,
    I32EnumAttrCase<"glu", 4>]> {
  let cppNamespace = "::convc";
  let genSpecializedAttr = 0;
}
// Written `#convc<activation glu>`.
def Convc_Activation : EnumAttr<Convc_Dialect, Convc_ActivationEnum,
                                "activation">;

class Convc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Convc_Dialect, mnemonic, traits>;

#endif // CONVC_DIALECT_TD
