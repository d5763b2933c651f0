// RUN: convc-opt %s -convc-add-token-choice | FileCheck %s
// RUN: convc-opt %s -convc-add-token-choice=top-k=1 | FileCheck %s --check-prefix=GREEDY-ONLY
// RUN: convc-opt %s -convc-add-token-choice=function=other 2>&1 | FileCheck %s --check-prefix=NONE

// @decode_step is left as it was.
// CHECK-LABEL: func.func @decode_step(
// CHECK-SAME: -> (tensor<?x?x5xf32> {convc.name = "logits"}, tensor<?x2x4xf32> {convc.name = "state0.next"})

// @decode_step_top8: two more inputs (`select`: pad, eos, min and max
// length; `reorder`: the row whose states each row takes); instead of the
// logits each row's 8 best (token, log-prob) pairs and the next positions;
// the states still follow.
// CHECK-LABEL: func.func @decode_step_top8(
// CHECK-SAME: %[[TSTEP:arg[0-9]+]]: tensor<?xi64> {convc.name = "step"}
// CHECK-SAME: %[[TSTATE:arg[0-9]+]]: tensor<?x2x4xf32> {convc.name = "state0"}
// CHECK-SAME: %[[TSELECT:arg[0-9]+]]: tensor<4xi64> {convc.name = "select"}
// CHECK-SAME: %[[REORDER:arg[0-9]+]]: tensor<?xi64> {convc.name = "reorder"})
// CHECK-SAME: -> (tensor<?x8x2xf64> {convc.name = "candidates"}, tensor<?xi64> {convc.name = "step.next"}, tensor<?x2x4xf32> {convc.name = "state0.next"})
// First the states' rows in `reorder`'s order (the index clamped to the
// rows there are); every use of the state reads them.
// CHECK: %[[LAST:[0-9]+]] = arith.subi
// CHECK: %[[GATHERED:[0-9]+]] = linalg.generic
// CHECK-SAME: ins(%[[REORDER]] : tensor<?xi64>) outs(%{{.*}} : tensor<?x2x4xf32>)
// CHECK: arith.minsi %{{.*}}, %[[LAST]]
// CHECK: arith.maxsi
// CHECK: tensor.extract %[[TSTATE]]
// One reduction over the vocabulary, per chunk of the row (one chunk of
// 5 here; chunks of 32 logits, at most 128 per row): the max of all
// logits, 8 best logits and 8 best tokens (17 results), then the chunks'
// merged in order.
// CHECK: %[[CHUNKS:[0-9]+]]:17 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[TSELECT]], %[[TSELECT]], %[[TSELECT]], %[[TSELECT]], %[[TSTEP]] :
// CHECK: scf.for
// CHECK: tensor.extract
// CHECK: %[[TOP:[0-9]+]]:17 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[CHUNKS]]#0,
// CHECK: linalg.generic
// CHECK: scf.for
// CHECK: math.exp
// CHECK: %[[TSUM:[0-9]+]] = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: %[[PAIRS:[0-9]+]] = linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<?x8x2xf64>)
// CHECK: math.log
// CHECK: %[[TNEXTSTEP:[0-9]+]] = linalg.generic {{.*}} ins(%[[TSTEP]] :
// CHECK: arith.addi
// CHECK: return %[[PAIRS]], %[[TNEXTSTEP]], %[[GATHERED]] : tensor<?x8x2xf64>, tensor<?xi64>, tensor<?x2x4xf32>

// @decode_step_greedy: instead of the logits the chosen tokens for the
// next step, (token, log-prob) pairs and the next positions.
// CHECK-LABEL: func.func @decode_step_greedy(
// CHECK-SAME: %[[STEP:arg[0-9]+]]: tensor<?xi64> {convc.name = "step"}
// CHECK-SAME: %[[SELECT:arg[0-9]+]]: tensor<4xi64> {convc.name = "select"})
// CHECK-SAME: -> (tensor<?x1xi64> {convc.name = "tokens.next"}, tensor<?x2xf64> {convc.name = "picked"}, tensor<?xi64> {convc.name = "step.next"}, tensor<?x2x4xf32> {convc.name = "state0.next"})
// The last position's row of logits.
// CHECK: %[[ROWS:[a-z_0-9]+]] = tensor.extract_slice %{{.*}}[0, %{{.*}}, 0] [%{{.*}}, 1, 5] [1, 1, 1] : tensor<?x?x5xf32> to tensor<?x5xf32>
// The max of all logits and the best allowed token, reading pad, eos and
// the lengths from `select` and each row's position from `step`.
// CHECK: %[[CHUNK:[0-9]+]]:3 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[SELECT]], %[[SELECT]], %[[SELECT]], %[[SELECT]], %[[STEP]] :
// CHECK: linalg.index 1
// CHECK: scf.for
// CHECK: tensor.extract %[[ROWS]]
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi sge
// CHECK: arith.cmpf ogt
// CHECK: %[[BEST:[0-9]+]]:3 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[CHUNK]]#0, %[[CHUNK]]#1, %[[CHUNK]]#2 :
// Then the sum of exp(x - max), per chunk and merged, and the pair.
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: %[[PAIR:[0-9]+]] = linalg.generic
// CHECK: math.log
// CHECK: %[[PICKED:[a-z_0-9]+]] = tensor.collapse_shape %[[PAIR]] {{\[\[}}0, 1], [2]] : tensor<?x1x2xf64> into tensor<?x2xf64>
// CHECK: %[[NEXT:[a-z_0-9]+]] = tensor.expand_shape %[[BEST]]#2 {{\[\[}}0, 1]]
// CHECK: %[[NEXTSTEP:[0-9]+]] = linalg.generic {{.*}} ins(%[[STEP]] :
// CHECK: arith.addi
// CHECK: return %[[NEXT]], %[[PICKED]], %[[NEXTSTEP]], %{{.*}} : tensor<?x1xi64>, tensor<?x2xf64>, tensor<?xi64>, tensor<?x2x4xf32>

// With top-k = 1 only the greedy step is added.
// GREEDY-ONLY-NOT: decode_step_top
// GREEDY-ONLY: func.func @decode_step_greedy(
// GREEDY-ONLY-NOT: decode_step_top

// Without @other_step there is nothing to add.
// NONE-NOT: greedy
// NONE-NOT: top8
func.func @decode_step(%tokens: tensor<?x?xi64> {convc.name = "tokens"}, %step: tensor<?xi64> {convc.name = "step"}, %state: tensor<?x2x4xf32> {convc.name = "state0"}, %logits: tensor<?x?x5xf32> {convc.name = "cache0"}) -> (tensor<?x?x5xf32> {convc.name = "logits"}, tensor<?x2x4xf32> {convc.name = "state0.next"}) {
  return %logits, %state : tensor<?x?x5xf32>, tensor<?x2x4xf32>
}
