#!/usr/bin/env bash
# The installed tree works the way users use it: `cmake --install` into a
# fresh prefix, then, from there only,
#   - examples/ built as a CMake project of its own (find_package(convc),
#     convc::compiler) compiles and runs a model;
#   - a C program built with pkg-config (convc-runtime.pc) loads a module
#     that the installed convc compiled;
#   - the installed Python package compiles and translates.
# usage: check_install.sh BUILD_DIR WORK_DIR
set -euo pipefail
build="$1"; work="$2"
src="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
export CONVC_CACHE_DIR="$work/cache"

"$prefix/bin/convc" --version
"$prefix/bin/convc" compile "$src/examples/reverse_digits.mlir" --decode-step=decode \
  -o "$work/reverse_digits.so" --quiet
"$prefix/bin/convc" generate "$work/reverse_digits.so" --src "7 5 13 6 2" 2>/dev/null | grep -q $'^H-0\t.*\t6 13 5 7$'
echo "installed convc: compiles and generates"

cmake -S "$src/examples" -B "$work/examples" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/examples.log" 2>&1 || { cat "$work/examples.log"; exit 1; }
cmake --build "$work/examples" > "$work/examples-build.log" 2>&1 || { cat "$work/examples-build.log"; exit 1; }
"$work/examples/convc-host-example" "$src/examples/conv_block.mlir" | tee "$work/host.txt"
grep -q "compiled in" "$work/host.txt"
echo "examples/ against the installed tree (find_package(convc)): built and ran"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc "$src/test/install/runtime_user.c" -o "$work/runtime_user" $(pkg-config --cflags --libs convc-runtime) \
  -Wl,-rpath,"$(pkg-config --variable=libdir convc-runtime)"
"$work/runtime_user" "$work/reverse_digits.so" | tee "$work/c.txt"
grep -q "entry point: decode_step" "$work/c.txt"
echo "a C program through pkg-config (convc-runtime $(pkg-config --modversion convc-runtime)): loaded the module"

python_dir="$(echo "$prefix"/lib/python3*/dist-packages)"
if [ -d "$python_dir/convc" ]; then
  PYTHONPATH="$python_dir" /usr/bin/python3 - "$src" <<'PY'
import sys
import convc
lib = convc.compile(sys.argv[1] + "/examples/reverse_digits.mlir", decode_step="decode")
(r,) = convc.Translator(lib).translate_batch([[7, 5, 13, 6, 2]], beam_size=4)
assert r.hypotheses[0] == [6, 13, 5, 7], r
print("installed Python package:", convc.__file__, "translates")
PY
fi
