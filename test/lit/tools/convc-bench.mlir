// `convc bench`: the timings, and a method line that says how they were
// taken, with the thread count actually used (CONVC_NUM_THREADS, --threads).

// RUN: convc compile %S/Inputs/slash_named_output.mlir -o %t.so --quiet
// RUN: env CONVC_NUM_THREADS=3 convc bench %t.so --input x=%S/Inputs/x4.npy --runs 2 --warmup 0 | FileCheck %s --check-prefix=ENV
// ENV: median_ms={{[0-9]+\.[0-9]+}}
// ENV-NEXT: p90_ms={{[0-9]+\.[0-9]+}}
// ENV-NEXT: min_ms={{[0-9]+\.[0-9]+}}
// ENV-NEXT: method: entry main, 0 warm-up + 2 timed in-process runs, threads=3, wall clock per call incl. output allocation, CPU: {{.+}}

// --threads wins over the environment.
// RUN: env CONVC_NUM_THREADS=3 convc bench %t.so --input x=%S/Inputs/x4.npy --runs 1 --threads 2 | FileCheck %s --check-prefix=FLAG
// FLAG: 3 warm-up + 1 timed in-process runs, threads=2,

// A model given as MLIR is compiled first, as `convc run` does.
// RUN: convc bench %S/Inputs/slash_named_output.mlir --input x=%S/Inputs/x4.npy --runs 1 --threads 1 | FileCheck %s --check-prefix=MLIR
// MLIR: threads=1,

// RUN: not convc bench %t.so --input x=%S/Inputs/x4.npy --runs 0 2>&1 | FileCheck %s --check-prefix=RUNS
// RUNS: convc bench: --runs must be >= 1 and --warmup >= 0
// RUN: not convc bench %t.so --input x=%S/Inputs/x4.npy --threads -2 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: convc bench: --threads takes a count of threads, or 0 for all cores; got -2
// RUN: not convc bench %t.so 2>&1 | FileCheck %s --check-prefix=NO-INPUT
// NO-INPUT: convc bench:
