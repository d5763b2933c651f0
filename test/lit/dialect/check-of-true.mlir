// A check whose condition folds to true cannot fail: canonicalize erases it
// (a size compared with itself). Checks of other conditions stay, a false
// one included (it fails every call, which is the check's to report).
// FALSE-LABEL: func.func @same_dim
// FALSE: convc.check %false
// RUN: convc-opt %s --canonicalize | FileCheck %s
// RUN: sed -e 's/cmpi eq, %%n, %%n/cmpi ne, %%n, %%n/' %s | convc-opt --canonicalize | FileCheck %s --check-prefix=FALSE

// CHECK-LABEL: func.func @same_dim
// CHECK-NOT: convc.check
// CHECK: return
func.func @same_dim(%x: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %ok = arith.cmpi eq, %n, %n : index
  convc.check %ok, "sizes {0} and {1} differ" (%n, %n)
  return %x : tensor<?xf32>
}

// CHECK-LABEL: func.func @two_dims
// CHECK: convc.check %{{.*}}, "sizes {0} and {1} differ"
// CHECK-LABEL: func.func @never
// CHECK: convc.check %false, "always fails"
func.func @two_dims(%x: tensor<?xf32>, %y: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %m = tensor.dim %y, %c0 : tensor<?xf32>
  %ok = arith.cmpi eq, %n, %m : index
  convc.check %ok, "sizes {0} and {1} differ" (%n, %m)
  return %x : tensor<?xf32>
}

func.func @never(%x: tensor<?xf32>) -> tensor<?xf32> {
  %false = arith.constant false
  convc.check %false, "always fails"
  return %x : tensor<?xf32>
}
