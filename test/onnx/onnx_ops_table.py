#!/usr/bin/env python3
"""The table of supported ONNX ops in docs/onnx.md, generated from the
backend node tests.

usage: onnx_ops_table.py BACKEND_TEST_BINARY [--write | --check]
  --write  runs the backend tests (about 4 min) and rewrites the table's op,
           tests and passing columns, keeping each op's note
  --check  (ctest docs_onnx_table_current) fails when the table's ops or
           test counts differ from what the harness claims

A test passes when it passes both as written and with symbolic dims. A test
belongs to an op when its graph is that single op; multi-op graphs
(function expansions) are counted in the text above the table.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "onnx.md")
DATA = "/usr/share/libonnx-testdata/data/node"
HEADER = "| op | tests | passing | note |"


def claimed(binary):
    """The claimed test directories (each runs twice: as written and with
    symbolic dims, NAME and NAME_dynamic)."""
    out = subprocess.run([binary, "--gtest_list_tests"], check=True,
                         capture_output=True, text=True).stdout
    names = set(re.findall(r"MatchesExpectedOutputs/(\S+)", out))
    return sorted(n for n in names if n + "_dynamic" in names)


def op_of(test):
    kinds = {n.op_type for n in onnx.load(os.path.join(DATA, test, "model.onnx")).graph.node}
    return kinds.pop() if len(kinds) == 1 else None


def read_table():
    lines = open(DOC).read().split("\n")
    start = lines.index(HEADER)
    end = start + 2
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    notes = {}
    for row in lines[start + 2:end]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        notes[cells[0]] = (int(cells[1]), int(cells[2]), "|".join(cells[3:]).strip())
    return lines, start, end, notes


def main():
    binary, mode = sys.argv[1], sys.argv[2]
    tests = claimed(binary)
    per_op, multi = {}, []
    for t in tests:
        op = op_of(t)
        if op:
            per_op.setdefault(op, []).append(t)
        else:
            multi.append(t)
    lines, start, end, notes = read_table()
    if mode == "--check":
        want = {op: len(ts) for op, ts in per_op.items()}
        have = {op: n for op, (n, _, _) in notes.items()}
        if want != have:
            diff = sorted(set(want.items()) ^ set(have.items()))
            sys.exit(f"docs/onnx.md table is stale: {diff}; regenerate with "
                     f"test/onnx/onnx_ops_table.py {binary} --write")
        print(f"docs/onnx.md lists {len(want)} ops, {sum(want.values())} tests")
        return
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "r.json")
        subprocess.run([binary, f"--gtest_output=json:{report}"],
                       capture_output=True)
        results = json.load(open(report))
    ran = set()
    for suite in results["testsuites"]:
        for case in suite["testsuite"]:
            if not case.get("failures"):
                ran.add(case["name"].split("/")[-1])
    # Passing: in both modes.
    passed = {t for t in tests if t in ran and t + "_dynamic" in ran}
    rows = [HEADER, "| --- | --- | --- | --- |"]
    for op in sorted(per_op):
        ts = per_op[op]
        note = notes.get(op, (0, 0, ""))[2]
        rows.append(f"| {op} | {len(ts)} | {sum(t in passed for t in ts)} | {note} |")
    lines[start:end] = rows
    open(DOC, "w").write("\n".join(lines))
    print(f"{len(per_op)} ops, {sum(map(len, per_op.values()))} single-op tests, "
          f"{len(multi)} multi-op: {', '.join(multi)}; passing "
          f"{len(passed & set(tests))}/{len(tests)}")


if __name__ == "__main__":
    main()
