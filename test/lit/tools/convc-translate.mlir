// `convc generate`'s generation options and `convc translate` on the
// bundled model (the file is the model's stand-in; every RUN line uses
// examples/reverse_digits.mlir).
// RUN: convc compile %convc_src/examples/reverse_digits.mlir --decode-step=decode -o %t.so --quiet

// n-best: three hypotheses, best first.
// RUN: convc generate %t.so --src "5 9 3 2" --beam 4 --num-hypotheses 3 2>/dev/null | FileCheck %s --check-prefix=NBEST
// NBEST: S-0 5 9 3 2
// NBEST-COUNT-3: H-0
// NBEST-NOT: H-0

// A left-padded .npy batch: the S- lines show the sources without the pads
// (as --src strings give them).
// RUN: %python -c "import numpy as np; np.save('%t.src.npy', np.array([[5, 9, 3, 2], [1, 1, 4, 2]], np.int64))"
// RUN: convc generate %t.so --src %t.src.npy 2>/dev/null | FileCheck %s --check-prefix=NPY
// NPY: S-0 5 9 3 2
// NPY: S-1 4 2{{$}}
// NPY-NEXT: H-1


// RUN: convc generate %t.so --src "5 9 3 2" --src "4 4 8 2" --sampling-topk 0 --sampling-temperature 3 --seed 11 > %t.a 2>/dev/null
// RUN: convc generate %t.so --src "5 9 3 2" --src "4 4 8 2" --sampling-topk 0 --sampling-temperature 3 --seed 11 > %t.b 2>/dev/null
// RUN: diff %t.a %t.b

// A forced prefix and a minimum length.
// RUN: convc generate %t.so --src "5 9 3 2" --prefix "7 8" --min-len 6 2>/dev/null | FileCheck %s --check-prefix=PREFIX
// PREFIX: H-0 {{.*}}7 8 {{[0-9]+}} {{[0-9]+}} {{[0-9]+}} {{[0-9]+}}

// Bad options are one-line errors.
// RUN: not convc generate %t.so --src "5 2" --batch-type words 2>&1 | FileCheck %s --check-prefix=BADTYPE
// BADTYPE: convc generate: --batch-type is examples or tokens, not 'words'
// RUN: not convc generate %t.so --src "5 2" --beam 2 --sampling-topk 5 2>&1 | FileCheck %s --check-prefix=BADSAMPLE
// BADSAMPLE: convc generate: random sampling (top-k != 1 or top-p < 1) needs beam 1
// RUN: not convc generate %t.so --src "5 2" --num-hypotheses 3 2>&1 | FileCheck %s --check-prefix=BADNBEST
// BADNBEST: num_hypotheses must be in [1, beam] (3 with beam 1)
// RUN: not convc generate %t.so --src "5 2" --sampling-topk 0 --sampling-temperature inf 2>&1 | FileCheck %s --check-prefix=BADTEMP
// BADTEMP: sampling needs top-k >= 0, top-p in (0, 1] and a finite temperature > 0
// Tabs separate ids as spaces do.
// RUN: convc generate %t.so --src "5	9 3	2" 2>/dev/null | FileCheck %s --check-prefix=TABS
// TABS: S-0 5 9 3 2
// translate checks its options once, before any line: one error, no line
// tried.
// RUN: not convc translate %t.so --input %t.in --output %t.opt.out --prefix "4 5 6" --max-len 2 2>&1 | FileCheck %s --check-prefix=ONCE
// ONCE: convc translate: a target prefix is longer than the max length
// ONCE-NOT: line

// translate: one line out per line in, in order, equal to generate's; a
// bad line is reported with its number, left empty, and the others are
// translated (exit 1). Progress lines when stderr is not a terminal.
// An output that cannot be written is said before any line is translated
// (was after the whole corpus).
// RUN: printf '5 9 3 2\n' > %t.one.in
// RUN: not convc translate %t.so --input %t.one.in --output %t.no-dir/out 2>&1 | FileCheck %s --check-prefix=NO-OUT --implicit-check-not=sentences
// NO-OUT: convc translate: cannot write '{{.*}}.no-dir/out': No such file or directory
// RUN: printf '5 9 3 2\n4 4 8 2\nseven 2\n1 4 2\n' > %t.in
// RUN: not convc translate %t.so --input %t.in --output %t.out --chunk 2 2> %t.err
// RUN: FileCheck %s --check-prefix=TRANSLATED < %t.out
// RUN: FileCheck %s --check-prefix=PROGRESS < %t.err
// RUN: convc generate %t.so --src "5 9 3 2" --src "4 4 8 2" --src "1 4 2" 2>/dev/null | grep '^H-' | cut -f3 > %t.generated
// RUN: grep -v '^$' %t.out | diff - %t.generated
// TRANSLATED: {{^[0-9 ]+$}}
// TRANSLATED-NEXT: {{^[0-9 ]+$}}
// TRANSLATED-EMPTY:
// TRANSLATED-NEXT: {{^[0-9 ]+$}}
// PROGRESS: convc translate: 2/4 sentences, {{[0-9]+}} tokens, {{[0-9]+}} tokens/s
// PROGRESS: convc translate: 4/4 sentences
// PROGRESS: convc translate: line 3: 'seven 2': 'seven' is not a token id
// PROGRESS: convc translate: 1 of 4 lines not translated (left empty in the output)

// A token outside the embedding in one of several sources names it (the
// encoder's error named no source).
// RUN: not convc generate %t.so --src "7 5 2" --src "6 99 2" --src "8 2" 2>&1 | FileCheck %s --check-prefix=OOV-SOURCE
// OOV-SOURCE: convc generate: source 1: entry 'encode': token id 99 is out of range for an embedding table of 14 rows

// An error every line meets (a prefix outside the vocabulary) is said once
// with the lines it stopped (was once per line).
// RUN: printf '5 9 3 2\n4 4 8 2\n1 4 2\n5 2\n' > %t.four.in
// RUN: not convc translate %t.so --input %t.four.in --output %t.four.out --prefix 99 --chunk 3 2>&1 | FileCheck %s --check-prefix=GROUPED --implicit-check-not="line "
// GROUPED: convc translate: lines 1-4 (4 lines): target prefix token 99 is outside the vocabulary [0, 14)
// GROUPED: convc translate: 4 of 4 lines not translated

// On a terminal (script gives it one), a progress bar with tokens/s.
// RUN: printf '5 9 3 2\n4 4 8 2\n1 4 2\n' > %t.tty.in
// RUN: %if pty %{ script -qec "convc translate %t.so --input %t.tty.in --output %t.tty.out --chunk 1" /dev/null | tr '\r' '\n' | FileCheck %s --check-prefix=BAR %}
// BAR: [##########                    ] 1/3 sentences, {{[0-9]+}} tokens/s
// BAR: [##############################] 3/3 sentences, {{[0-9]+}} tokens/s
// BAR-NOT: convc translate: 3/3 sentences

// RUN: convc translate --help | FileCheck %s --check-prefix=HELP
// HELP: --input
// HELP: --max-batch-size
// HELP: --sampling-topk

// Weights taken as inputs come from --params DIR (DIR/<name>.npy): the same
// translations as the model holding them; without them, an error that says
// how to give them.
// RUN: %python %S/Inputs/weights_as_inputs.py %convc_src/examples/reverse_digits.mlir %t.weights.mlir %t.params
// RUN: convc compile %t.weights.mlir --decode-step=decode -o %t.weights.so --quiet
// RUN: convc generate %t.so --src "5 9 3 2" --src "4 4 8 2" --beam 2 2>/dev/null > %t.held
// RUN: convc generate %t.weights.so --src "5 9 3 2" --src "4 4 8 2" --beam 2 --params %t.params 2>/dev/null > %t.given
// RUN: diff %t.held %t.given
// RUN: FileCheck %s --check-prefix=PARAMS < %t.given
// PARAMS: H-0	{{.*}}	9 9 5
// PARAMS: H-1	{{.*}}	8 4 4
// RUN: not convc generate %t.weights.so --src "5 9 3 2" 2>&1 | FileCheck %s --check-prefix=NO-PARAMS
// NO-PARAMS: 'encode' needs an input named 'emb' that the generator does not provide (weights taken as inputs: convc generate --params DIR
// RUN: not convc generate %t.weights.so --src "5 9 3 2" --params %t.no-such-dir 2>&1 | FileCheck %s --check-prefix=NO-DIR
// NO-DIR: cannot read '{{.*}}no-such-dir'
