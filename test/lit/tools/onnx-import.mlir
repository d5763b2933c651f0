// ONNX import through the convc driver, on the official backend test models
// (Debian's libonnx-testdata).
// REQUIRES: onnx
// RUN: convc compile %onnx_data/test_add_bcast/model.onnx --emit=import --quiet | FileCheck %s
// CHECK: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK: #[[BCAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK: func.func @main(%{{.*}}: tensor<3x4x5xf32> {convc.name = "x"}, %{{.*}}: tensor<5xf32> {convc.name = "y"}) -> (tensor<3x4x5xf32> {convc.name = "sum"})
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BCAST]], #[[ID]]]
// CHECK: arith.addf

// Every unsupported op type is listed with its nodes, and the supported ones.
// An ONNX file by its content whatever its name (was parsed as MLIR text:
// "unexpected character"); MLIR by any other name stays MLIR.
// RUN: cp %onnx_data/test_add_bcast/model.onnx %t.ONNX
// RUN: cp %onnx_data/test_add_bcast/model.onnx %t.pb
// RUN: convc compile %t.ONNX --emit=import --quiet | FileCheck %s
// RUN: convc compile %t.pb --emit=import --quiet | FileCheck %s
// RUN: not convc compile %onnx_data/test_det_2d/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=MISSING-OPS
// MISSING-OPS: unsupported ONNX ops: Det x1 [(unnamed)]; (convc imports: Abs, Acos, {{.*}}, Xor; domain convc: GLU, LightweightConv, DynamicConv, TaLKConv)

// RUN: not convc compile %onnx_data/test_max_int16/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: graph value 'result': element type INT16 cannot cross the entry point (float, double, float16, bfloat16, int64, int32, int8, uint8 and bool can; inside the graph every integer type can)

// RUN: not convc compile %S/Inputs/garbage.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: garbage.onnx' is not an ONNX model (the protobuf does not parse, is truncated, or has no graph)

// The convc domain (convc_torch.onnx_export) imports one op per node.
// RUN: convc compile %S/Inputs/convc_light.onnx --emit=import --quiet | FileCheck %s --check-prefix=CONVC-DOMAIN
// CONVC-DOMAIN: convc.lightweight_conv %arg0, %arg1 {heads = 2 : i64, padding = 1 : i64} : tensor<1x8x8xf32>, tensor<2x3xf32>

// Its attributes go through the op verifiers, errors name the node.
// RUN: not convc compile %S/Inputs/convc_light_bad_padding.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=BAD-PADDING
// BAD-PADDING: node 'light_bad': 'convc.lightweight_conv' op padding out of range: must be in [0, K) = [0, 3), got 5
// A weight that is not [H, K] (a fuzzer-found input that crashed the
// importer): an error naming the node.
// RUN: not convc compile %S/Inputs/convc_light_bad_weight_rank.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=BAD-WEIGHT
// BAD-WEIGHT: node 'light0': convc.LightweightConv needs x [B, T, C], weight [H, K] (H static) and 'padding'
// RUN: not convc compile %S/Inputs/convc_talk_no_attr.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=NO-ATTR
// NO-ATTR: node 'talk_noattr': convc.TaLKConv needs the attribute 'left_max'
// RUN: not convc compile %S/Inputs/convc_unknown.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: unsupported ONNX ops: convc.Frobnicate x1 [frob]; (convc imports: {{.*}}; domain convc: GLU, LightweightConv, DynamicConv, TaLKConv)

// Unsqueeze/Squeeze with constant axes keep symbolic dims symbolic; computed
// axes are an error naming the node.
// RUN: convc compile %S/Inputs/unsqueeze_dynamic.onnx --emit=import --quiet | FileCheck %s --check-prefix=UNSQUEEZE
// UNSQUEEZE: tensor.expand_shape %arg0 {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 1, 8] : tensor<?x8xf32> into tensor<?x1x8xf32>
// UNSQUEEZE: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
// RUN: not convc compile %onnx_data/test_unsqueeze_axis_0/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=COMPUTED-AXES
// COMPUTED-AXES: Unsqueeze axes must be a constant (an initializer or a Constant node): convc compiles shapes statically

// Reshape with a constant shape: 0 copies a dim, -1 is inferred, symbolic
// batch and time stay symbolic (the head split/merge of an export).
// RUN: convc compile %S/Inputs/reshape_dynamic.onnx --emit=import --quiet | FileCheck %s --check-prefix=RESHAPE
// RESHAPE: tensor.expand_shape %arg0 {{\[}}[0], [1], [2, 3]] output_shape [%{{.*}}, %{{.*}}, 4, 4] : tensor<?x?x16xf32> into tensor<?x?x4x4xf32>
// RESHAPE: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<?x?x4x4xf32> into tensor<?x?x16xf32>
// RUN: not convc compile %onnx_data/test_reshape_zero_dim/model.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=COMPUTED-SHAPE
// COMPUTED-SHAPE: Reshape needs data and a shape that is constant or built from the input dims (an initializer, a Constant node, or folded Shape arithmetic): convc compiles shapes statically

// A weight reshaped to sizes whose product overflows int64 (found by the
// sanitized fuzzer, where the folding multiplied them) is refused with its
// node, not folded. The file also seeds scripts/fuzz, which checks the
// folding under UBSan.
// RUN: not convc compile %S/Inputs/reshape_overflowing_shape.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=RESHAPE-OVERFLOW
// RESHAPE-OVERFLOW: node 'huge_reshape': Reshape from 'tensor<2x3xf32>' to 'tensor<7020037596210266113x8317707896149403001x3xf32>' changes the element count

// Conv: a group count that does not fit the weights is an error naming the node.
// ONNX's schema check, as ONNX Runtime's on load: a misspelt attribute
// (Softmax would have run on its default axis), in subgraphs too.
// RUN: not convc compile %S/Inputs/unknown_attribute.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=SCHEMA
// SCHEMA: unknown_attribute.onnx: error: node 'sm': Softmax breaks its ONNX schema (opset 17): Unrecognized attribute: axsi for operator Softmax
// RUN: not convc compile %S/Inputs/branch_schema.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=BRANCH-SCHEMA
// BRANCH-SCHEMA: error: node 'inner': Relu breaks its ONNX schema (opset 17): Unrecognized attribute: bogus for operator Relu
// Beyond libonnx's opsets (17), a required input omitted as "" is still
// refused (Gather read a null operand and crashed).
// RUN: not convc compile %S/Inputs/omitted_required_input.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=OMITTED
// OMITTED: error: node 'pick': Gather breaks its ONNX schema (opset 18): input 0 ('data') is required but omitted ("")

// An initializer whose dims promise more values than the file holds is
// refused before anything of that size is allocated (the fuzzer's 4 GiB).
// RUN: not convc compile %S/Inputs/dims_without_data.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=NO-DATA
// NO-DATA: dims_without_data.onnx: error: initializer 'w': expected 1073741823 float values

// A Slice of a constant with a step near INT64_MIN folds to one element
// (negating the step overflowed).
// RUN: convc compile %S/Inputs/slice_huge_steps.onnx --emit=import --quiet | FileCheck %s --check-prefix=HUGE-STEP
// HUGE-STEP: arith.constant dense<50> : tensor<1xi64>

// A ConstantOfShape of an int64 fill folds to a splat: its shape may
// promise 2^31 values (a fuzzed model asked for 7.9 GB).
// RUN: %python %S/Inputs/memory_limited.py 2048 -- convc compile %S/Inputs/constant_of_shape_huge_int.onnx --emit=import --quiet | FileCheck %s --check-prefix=HUGE-FILL
// HUGE-FILL: arith.constant dense<7> : tensor<989855748xi64>

// A view back to [B, T, -1] after a projection of the flattened sequence
// ([B * T, 32]): the -1 is 32 and the dims are x's, so the Add is
// elementwise (was [?, ?, ?] behind broadcast checks).
// RUN: convc compile %S/Inputs/view_after_flatten.onnx --emit=import --quiet | FileCheck %s --check-prefix=VIEW
// VIEW: tensor.reshape {{.*}} -> tensor<?x?x32xf32>
// VIEW-NOT: does not broadcast
// VIEW: linalg.generic {{.*}} ins(%arg0, %reshape : tensor<?x?x32xf32>, tensor<?x?x32xf32>)

// RUN: not convc compile %S/Inputs/conv_bad_group.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=CONV-GROUP
// CONV-GROUP: node 'bad_groups': Conv group 4 does not divide C = 6 and M = 6 into W's 2 channels per group

// torch.nn.MultiheadAttention's export reshapes across symbolic dims: the
// heads merged into the batch ([T, B, 16] -> [T, B * 4, 4]) and back
// ([T, B * 4, 4] -> [T * B, 16] -> [T, B, 16]). The target sizes are
// products of symbolic dims tracked through the shape arithmetic (Mul);
// each such reshape becomes a tensor.reshape to them (an expand_shape
// group may split off at most one dynamic size). Checked against ONNX
// Runtime in onnx_standard_exports_match_onnxruntime.
// RUN: convc compile %S/Inputs/export_multihead_attention.onnx --emit=import --quiet | FileCheck %s --check-prefix=MHA
// MHA: tensor.reshape {{.*}} : (tensor<?x?x16xf32>, tensor<3xi64>) -> tensor<?x?x4xf32>
// MHA: tensor.reshape {{.*}} : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x16xf32>
// MHA: tensor.reshape {{.*}} : (tensor<?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
// RUN: convc compile %S/Inputs/export_multihead_attention.onnx --quiet -o %t.mha.so

// Errors the importer and runtime give for bad models and inputs:
// - an opset above 21;
// - every unsupported op type, with its node count and names, in one message;
// - an input of the wrong rank, or a wrong static dim, for a compiled ONNX model.
// RUN: not convc compile %S/Inputs/opset22.onnx --quiet -o %t.o22.so 2>&1 | FileCheck %s --check-prefix=OPSET
// OPSET: error: '{{.*}}opset22.onnx' uses opset 22; convc imports opsets 7 to 21
// RUN: not convc compile %S/Inputs/two_unsupported_ops.onnx --quiet -o %t.two.so 2>&1 | FileCheck %s --check-prefix=MANY-OPS
// MANY-OPS: two_unsupported_ops.onnx: error: graph 'g': unsupported ONNX ops: Det x2 [det_a, det_b]; NonZero x1 [nonzero]; (convc imports: {{.*}})
// RUN: convc compile %S/Inputs/export_talk.onnx --quiet -o %t.talk.so
// RUN: not convc run %t.talk.so --input x=%S/Inputs/wrong_rank_x.npy --output-dir %t.out 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: convc run: input 'x': expected rank 3 x: f32[B, Tx, 16], given [3, 16]
// RUN: not convc run %t.talk.so --input x=%S/Inputs/wrong_channels_x.npy --output-dir %t.out 2>&1 | FileCheck %s --check-prefix=DIM
// DIM: convc run: input 'x': expected shape x: f32[B, Tx, 16], given [1, 5, 15] (dimension 2 must be 16)

// A fuzzed model (libFuzzer found it; the multi-head attention export with a
// shape vector emptied) whose shape folding once built a constant with less
// data than its shape and crashed: now a clean error (the first one, before
// import: a node reads a value nothing defines).
// RUN: not convc compile %S/Inputs/fuzz_short_shape_fold.onnx --quiet -o %t.fuzz.so 2>&1 | FileCheck %s --check-prefix=FUZZ
// FUZZ: error: node '/a/Unsqueeze_8' (Unsqueeze) reads '/a/Mul_3_output_5', which nothing defines

// An op newer than the model's opset is refused, naming the node and both
// opsets; an unnamed node without outputs (a fuzzer's shape) is named by its
// op type instead of crashing.
// RUN: not convc compile %S/Inputs/range_opset10.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=SINCE-OPSET
// SINCE-OPSET: node 'range10': Range needs opset 11 or later; the model imports opset 10
// RUN: not convc compile %S/Inputs/range_no_output.onnx --quiet -o %t.so 2>&1 | FileCheck %s --check-prefix=NO-OUTPUT
// NO-OUTPUT: node 'Range': Range needs opset 11 or later; the model imports opset 10

// Sizes computed from Shape are host index arithmetic (x[:, :T // 2] here):
// the Div is an arith.divsi on the dim, no tensor op computes a size, so no
// target reads one back from a buffer (folding/HostArithmetic.cpp).
// RUN: convc compile %S/Inputs/export_first_half.onnx --emit=import --quiet | FileCheck %s --check-prefix=HOST-SIZE
// HOST-SIZE: %[[T:.*]] = tensor.dim %arg0, %c1
// HOST-SIZE: arith.divsi %[[T]], %{{.*}} : index
// HOST-SIZE-NOT: tensor<{{.*}}xi64>) outs
// HOST-SIZE: return

// Calls of model-local functions become the functions' bodies: the call's
// alpha reaches the body's LeakyRelu through ref_attr_name, a call without
// one gets LeakyRelu's default, and the body's nodes are named after the call.
// RUN: convc compile %S/Inputs/local_functions.onnx --emit=import --quiet --mlir-print-debuginfo | FileCheck %s --check-prefix=FUNCTIONS
// FUNCTIONS-DAG: [[A:#loc[0-9]+]] = loc("call_a/LeakyRelu")
// FUNCTIONS-DAG: [[B:#loc[0-9]+]] = loc("call_b/LeakyRelu")
// FUNCTIONS: arith.constant 2.500000e-01 : f32 loc([[A]])
// FUNCTIONS: arith.constant 0.00999999977 : f32 loc([[B]])

// Integer Add, Equal and Where on constants fold with numpy's broadcasting,
// ranks right-aligned: [[1]] + a [4] vector is [1, 4] (fairseq's
// `emb[padding_idx, :] = 0` builds its ScatterND indices so), [2, 1]
// against [2] is [2, 2].
// RUN: convc compile %S/Inputs/folded_broadcast.onnx --emit=import --quiet | FileCheck %s --check-prefix=FOLDED
// FOLDED: dense<{{\[\[}}1, 2, 3, 4]]> : tensor<1x4xi64>
// FOLDED: dense<{{\[\[}}true, false], [false, true]]> : tensor<2x2xi1>
// FOLDED: dense<{{\[\[}}10, 6], [5, 20]]> : tensor<2x2xi64>
// FOLDED: return {{.*}} : tensor<1x4xi64>, tensor<2x2xi1>, tensor<2x2xi64>

// ConvTranspose strides far past any model's are refused naming the node
// (the spread input's size, (L - 1) * stride + 1, would pass int64).
// RUN: %python -c "from onnx import helper as h, TensorProto as T, save; save(h.make_model(h.make_graph([h.make_node('ConvTranspose', ['x', 'w'], ['y'], name='up', strides=[2 ** 40])], 'g', [h.make_tensor_value_info('x', T.FLOAT, ['B', 2, 'L'])], [h.make_tensor_value_info('y', T.FLOAT, None)], [h.make_tensor('w', T.FLOAT, [2, 3, 2], [0.5] * 12)]), opset_imports=[h.make_opsetid('', 13)]), '%t.up.onnx')"
// RUN: not convc compile %t.up.onnx --quiet -o %t.up.so 2>&1 | FileCheck %s --check-prefix=HUGE-STRIDE
// HUGE-STRIDE: node 'up': ConvTranspose's strides and dilations must be in [1, 65536]

// Pads that crop the whole output, and output_padding past the stride, are
// refused as ONNX Runtime and PyTorch refuse them (a negative static size
// reached the conv before).
// RUN: %python -c "from onnx import helper as h, TensorProto as T, save; save(h.make_model(h.make_graph([h.make_node('ConvTranspose', ['x', 'w'], ['y'], name='up', pads=[2, 2])], 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 1, 1])], [h.make_tensor_value_info('y', T.FLOAT, None)], [h.make_tensor('w', T.FLOAT, [1, 1, 3], [0.5] * 3)]), opset_imports=[h.make_opsetid('', 13)]), '%t.crop.onnx')"
// RUN: not convc compile %t.crop.onnx --quiet -o %t.crop.so 2>&1 | FileCheck %s --check-prefix=CROPPED-ALL
// CROPPED-ALL: node 'up': ConvTranspose's output in spatial dim 0 would be -1 long (its pads crop the whole output)
// RUN: %python -c "from onnx import helper as h, TensorProto as T, save; save(h.make_model(h.make_graph([h.make_node('ConvTranspose', ['x', 'w'], ['y'], name='up', strides=[2], output_padding=[2])], 'g', [h.make_tensor_value_info('x', T.FLOAT, ['B', 1, 'L'])], [h.make_tensor_value_info('y', T.FLOAT, None)], [h.make_tensor('w', T.FLOAT, [1, 1, 3], [0.5] * 3)]), opset_imports=[h.make_opsetid('', 13)]), '%t.op.onnx')"
// RUN: not convc compile %t.op.onnx --quiet -o %t.op.so 2>&1 | FileCheck %s --check-prefix=OUTPUT-PADDING
// OUTPUT-PADDING: node 'up': ConvTranspose's output_padding 2 in spatial dim 0 must be smaller than the stride (2) or the dilation (1)
