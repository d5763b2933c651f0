// A convc killed by SIGTERM or SIGINT (Ctrl-C) while its temporaries exist
// leaves none behind: compile's object before linking, run's library and
// object when it compiles a model itself. interrupt_midway.py waits for the
// temporary to appear in a fresh TMPDIR, then signals.

// RUN: %python %S/Inputs/interrupt_midway.py %t.compile 'convc-*.o' SIGTERM -- convc compile %S/Inputs/all_ops.mlir -o %t.so | FileCheck %s --check-prefix=TERM
// TERM: saw: 1 temporary
// TERM-NEXT: exit: signal SIGTERM
// TERM-NEXT: left: nothing
// RUN: %python %S/Inputs/interrupt_midway.py %t.compile 'convc-*.o' SIGINT -- convc compile %S/Inputs/all_ops.mlir -o %t.so | FileCheck %s --check-prefix=INT
// INT: exit: signal SIGINT
// INT-NEXT: left: nothing

// RUN: %python %S/Inputs/interrupt_midway.py %t.run 'convc-model-*.so' SIGTERM -- convc run %S/Inputs/all_ops.mlir --output-dir %t.out | FileCheck %s --check-prefix=TERM
// RUN: %python %S/Inputs/interrupt_midway.py %t.run 'convc-*.o' SIGTERM -- convc run %S/Inputs/all_ops.mlir --output-dir %t.out | FileCheck %s --check-prefix=TERM
