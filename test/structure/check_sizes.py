#!/usr/bin/env python3
"""Checks the source tree's room sizes (docs/architecture.md, "Sizes").

Files under the listed folders stay under MAX_FILE_LINES lines and their
functions (free functions, methods, and lambdas alike: any brace block that
follows a parameter list) under MAX_FUNCTION_LINES, so that no room grows
back into a 4,000-line importer. Prints every violation; exits 1 if any.
"""
import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 150
CHECKED = ["frontends", "compiler", "lowering", "passes", "tools", "jit"]
SUFFIXES = (".cpp", ".h", ".c")


def code_only(text):
    """The text with comments, string and char literals blanked (newlines
    kept), so braces in them do not count."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"(', i):
            j = text.find(')"', i)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_lengths(text):
    """(first line, line count) of each outermost function body: a `{` whose
    preceding code ends a parameter list (`)`, maybe `const`, `override`,
    `-> T`, `noexcept`, or a constructor's initialiser list)."""
    code = code_only(text)
    results, stack = [], []  # stack: (is_function, start offset)
    for m in re.finditer(r"[{}]", code):
        if m.group() == "{":
            before = code[max(0, m.start() - 300):m.start()].rstrip()
            is_fn = bool(re.search(
                r"\)\s*(const|override|noexcept|final|mutable|\s)*"
                r"(->\s*[\w:<>,\s*&]+)?$", before)) and not re.search(
                r"\b(if|for|while|switch|catch)\s*\([^{};]*\)\s*$", before)
            stack.append((is_fn, m.start()))
        elif stack:
            is_fn, start = stack.pop()
            if is_fn and not any(f for f, _ in stack):
                first = code.count("\n", 0, start) + 1
                last = code.count("\n", 0, m.start()) + 1
                results.append((first, last - first + 1))
    return results


def main(root):
    problems = []
    for top in CHECKED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                text = open(path, encoding="utf-8").read()
                lines = text.count("\n")
                if lines > MAX_FILE_LINES:
                    problems.append(f"{rel}: {lines} lines (at most "
                                    f"{MAX_FILE_LINES})")
                for first, count in function_lengths(text):
                    if count > MAX_FUNCTION_LINES:
                        problems.append(f"{rel}:{first}: a function of "
                                        f"{count} lines (at most "
                                        f"{MAX_FUNCTION_LINES})")
    for p in problems:
        print(p)
    print(f"check_sizes: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(__file__), "..", "..")))
