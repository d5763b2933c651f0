// Raising on standard PyTorch exports (torch.onnx.export, opset 17, no convc
// domain), made by test/pytorch/onnx_ort_test.py.
//
// A fairseq LightConv encoder layer: nn.Linear + F.glu, the softmaxed kernel
// expanded to channels in front of a grouped Conv1d, LayerNorms and a ReLU
// FFN all become convc ops; nothing stays on the generic path.
// RUN: convc compile %S/Inputs/export_light_layer.onnx --emit=fused --report -o %t.mlir 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: convc: report (fused IR): 1 x convc.lightweight_conv, 4 x convc.linear (4 with fused epilogues); 0 ops on the generic linalg path
// RUN: FileCheck %s --check-prefix=LAYER < %t.mlir
// LAYER: convc.linear %arg0, {{.*}} {activation = #convc<activation glu>}
// LAYER: convc.lightweight_conv {{.*}} {heads = 4 : i64, padding = 2 : i64, weight_softmax = false}
// LAYER: convc.linear {{.*}} residual %arg0 layer_norm
// LAYER: convc.linear {{.*}} {activation = #convc<activation relu>}
// LAYER: convc.linear {{.*}} residual {{.*}} layer_norm

// DynamicConv's unfolded export (projection, Softmax over the taps, K
// runtime-bounded slices, Concat, Mul, ReduceSum) becomes one
// convc.dynamic_conv (the kernel projection of its own input folded in),
// nothing generic. The checks: the slices' lengths agree (Concat), and the
// first one's is x's T (the view to [B, T, H, R, K]).
// RUN: convc compile %S/Inputs/export_dynamic_conv.onnx --emit=fused --report -o %t.dyn.mlir 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// DYNAMIC: convc: report (fused IR): 5 x convc.check, 1 x convc.dynamic_conv; 0 ops on the generic linalg path
// RUN: FileCheck %s --check-prefix=DYNAMIC-IR < %t.dyn.mlir
// DYNAMIC-IR: convc.dynamic_conv %arg0, %{{.*}}, %{{.*}} {heads = 4 : i64, kernel_size = 5 : i64, padding = 2 : i64} : tensor<?x?x16xf32>, tensor<20x16xf32>, tensor<20xf32>

// An opset-13 export of nn.LayerNorm (decomposed into ReduceMean ... Add)
// becomes one convc.layer_norm.
// RUN: convc compile %S/Inputs/export_layer_norm_opset13.onnx --report -o %t.ln.so 2>&1 | FileCheck %s --check-prefix=LN13
// LN13: report (fused IR): 1 x convc.layer_norm; 0 ops on the generic linalg path

// LightweightConv in the shifted-slices form (K shifted Slices of the padded
// input stacked, times the softmaxed [H, K] kernel viewed [1, 1, H, 1, K],
// ReduceSum): one convc.lightweight_conv with the kernel folded at import.
// RUN: convc compile %S/Inputs/export_light_slices.onnx --emit=fused --report -o %t.slices.mlir 2>&1 | FileCheck %s --check-prefix=SLICES
// (Checks as for DynamicConv: the slices' lengths, the first one's against T.)
// SLICES: report (fused IR): 3 x convc.check, 1 x convc.lightweight_conv; 0 ops on the generic linalg path
// RUN: FileCheck %s --check-prefix=SLICES-IR < %t.slices.mlir
// SLICES-IR: convc.lightweight_conv %arg0, %{{.*}} {heads = 2 : i64, padding = 1 : i64, weight_softmax = false}

// TaLK's export (CumSum of x / Kn, a zero row in front, Range, Clip,
// Floor/Ceil, GatherElements, interpolation; offsets from nn.Linear +
// Sigmoid) becomes the projection with its sigmoid fused and one
// convc.talk_conv: the prefix sum, its scale and the window difference
// fused, nothing generic. Encoder and causal decoder forms.
// RUN: convc compile %S/Inputs/export_talk.onnx --emit=fused --report -o %t.talk.mlir 2>&1 | FileCheck %s --check-prefix=TALK
// TALK: report (fused IR): 1 x convc.linear (1 with fused epilogues), 1 x convc.talk_conv; 0 ops on the generic linalg path
// RUN: FileCheck %s --check-prefix=TALK-IR < %t.talk.mlir
// TALK-IR: %[[O:.*]] = convc.linear %arg0, {{.*}} {activation = #convc<activation sigmoid>}
// TALK-IR: convc.talk_conv %arg0, %[[O]] {left_max = 3 : i64, right_max = 2 : i64}
// RUN: convc compile %S/Inputs/export_talk_causal.onnx --emit=fused -o - | FileCheck %s --check-prefix=TALK-CAUSAL
// TALK-CAUSAL: convc.talk_conv %arg0, %{{.*}} {causal, left_max = 3 : i64, right_max = 0 : i64} : tensor<?x?x16xf32>, tensor<?x?x4xf32>

// A fairseq TaLK encoder layer: GLU projection, TaLK, the swish FFN
// (f * Sigmoid(f) folded into its projection), LayerNorms.
// RUN: convc compile %S/Inputs/export_talk_layer.onnx --emit=fused --report -o %t.talkl.mlir 2>&1 | FileCheck %s --check-prefix=TALK-LAYER
// TALK-LAYER: report (fused IR): 5 x convc.linear (5 with fused epilogues), 1 x convc.talk_conv; 0 ops on the generic linalg path
// RUN: FileCheck %s --check-prefix=TALK-LAYER-IR < %t.talkl.mlir
// TALK-LAYER-IR: convc.linear {{.*}} {activation = #convc<activation swish>}

// A TaLK Seq2Seq packaged from encoder.onnx + decoder.onnx (the decoder
// taking the previous tokens and the encoder outputs, HF Optimum's layout):
// the embeddings, convs and attention raise to convc ops, so the package
// gets an incremental decoder: @decode_init projects the encoder outputs
// once, @decode_step embeds one token at its position (state0 counts the
// real tokens before it: a pad start token does not advance positions)
// and steps each causal
// TaLK on its ring of prefix sums.
// RUN: convc compile %S/Inputs/export_talk_seq2seq_encoder.onnx --decoder %S/Inputs/export_talk_seq2seq_decoder.onnx --emit=convc -o - | FileCheck %s --check-prefix=PACKAGE
// PACKAGE-LABEL: func.func @encode(
// PACKAGE: convc.embedding %arg0
// PACKAGE: convc.talk_conv {{.*}} {left_max = 1 : i64, right_max = 1 : i64}
// PACKAGE-LABEL: func.func @decode(
// PACKAGE: convc.talk_conv {{.*}} {causal, left_max = 2 : i64, right_max = 0 : i64}
// PACKAGE: convc.attention {{.*}} key_padding {{.*}} {heads = 4 : i64}
// PACKAGE-LABEL: func.func @decode_init(
// PACKAGE-SAME: convc.name = "encoder_out"}
// PACKAGE-LABEL: func.func @decode_step(
// PACKAGE-SAME: convc.name = "prev_tokens"}
// PACKAGE: convc.embedding %arg0, %{{.*}} start %arg3
// PACKAGE: convc.talk_step
// PACKAGE: convc.attention
// PACKAGE: convc.talk_step
// RUN: convc compile %S/Inputs/export_talk_seq2seq_encoder.onnx --decoder %S/Inputs/export_talk_seq2seq_decoder.onnx -o %t.package.so 2>&1 | FileCheck %s --check-prefix=PACKAGE-DECODER
// PACKAGE-DECODER: convc: decoder: incremental (decode_init + decode_step derived from the raised decoder)

// A decoder whose first output is not [batch, length, vocabulary] logits
// cannot be generated with: refused when packaged (it compiled, and
// generate failed later asking for --decode-step).
// RUN: not convc compile %S/Inputs/export_talk_seq2seq_encoder.onnx --decoder %S/Inputs/decoder_rank2_logits.onnx -o %t.rank2.so 2>&1 | FileCheck %s --check-prefix=RANK2-LOGITS
// RANK2-LOGITS: decoder_rank2_logits.onnx:0:0: error: the decoder's first output must be the logits, float [batch, target length, vocabulary]; this one is 'tensor<?x?xf32>'

// The encoder given as its own decoder, or the two swapped, compiled
// (hunt 9): a decoder must read the encoder's outputs.
// RUN: not convc compile %S/Inputs/export_talk_seq2seq_encoder.onnx --decoder %S/Inputs/export_talk_seq2seq_encoder.onnx -o %t.twice.so 2>&1 | FileCheck %s --check-prefix=NOT-A-DECODER
// RUN: not convc compile %S/Inputs/export_talk_seq2seq_decoder.onnx --decoder %S/Inputs/export_talk_seq2seq_encoder.onnx -o %t.swapped.so 2>&1 | FileCheck %s --check-prefix=NOT-A-DECODER
// NOT-A-DECODER: export_talk_seq2seq_encoder.onnx:0:0: error: the decoder takes only the previous tokens: its inputs after them must be the encoder's outputs (are the encoder and the decoder swapped, or one file given twice?)

// LightweightConv in fairseq's TBC layout (x [T, B, C] permuted to
// [B, C, T] around the grouped Conv1d): one convc.lightweight_conv between
// the two layout transposes.
// RUN: convc compile %S/Inputs/export_light_tbc.onnx --emit=fused --report -o %t.tbc.mlir 2>&1 | FileCheck %s --check-prefix=TBC
// TBC: report (fused IR): 1 x convc.lightweight_conv; 2 ops on the generic linalg path (2 x linalg.transpose)
// RUN: FileCheck %s --check-prefix=TBC-IR < %t.tbc.mlir
// TBC-IR: linalg.transpose ins(%arg0 : tensor<?x?x16xf32>) {{.*}} permutation = [1, 0, 2]
// TBC-IR: convc.lightweight_conv {{.*}} {heads = 4 : i64, padding = 2 : i64, weight_softmax = false}
// TBC-IR: linalg.transpose {{.*}} permutation = [1, 0, 2]

// fairseq's MultiheadAttention scales q after its projection (q_proj(x) *
// scaling), not the scores: the scales multiply, and it still raises.
// RUN: convc compile %S/Inputs/export_fairseq_attention.onnx --emit=fused --report -o %t.fairseq-attn.mlir 2>&1 | FileCheck %s --check-prefix=SCALED-Q
// SCALED-Q: report (fused IR): 1 x convc.attention, 3 x convc.linear; 0 ops on the generic linalg path

// TaLK exported with symbolic output dims of its own (B, T_out0): its
// gathers' indices and prefix sums take their batch size from different
// ops, the same size by construction, so the gathers carry no per-position
// check (it was one per dim) and the window sums raise.
// RUN: convc compile %S/Inputs/export_talk_output_dims.onnx --emit=fused --report -o %t.talk-out-dims.mlir 2>&1 | FileCheck %s --check-prefix=TALK-OUT-DIMS
// TALK-OUT-DIMS: report (fused IR): 1 x convc.linear (1 with fused epilogues), 1 x convc.talk_conv; 0 ops on the generic linalg path
