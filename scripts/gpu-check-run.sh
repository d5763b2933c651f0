#!/usr/bin/env bash
# The GPU half of scripts/gpu-check, copied into the artifact directory as
# run.sh: on a machine with the NVIDIA driver (no LLVM needed), runs every
# GPU check and benchmark and prints a summary.
#   ./run.sh [check] [sanitize] [bench] [generate]
#                                    (default: check bench generate)
#     check     every compiled model against the CPU target's outputs
#     sanitize  the multi-tile checks under compute-sanitizer (racecheck,
#               memcheck), where it is installed
#     bench     DRAM bandwidth, convc's kernels, PyTorch eager and
#               torch.compile (CONVC_GPU_CHECK_RUNS=N timed runs, default 20)
#     generate  Seq2Seq generation (issue 15's model: d 512, 6 + 6 LightConv
#               layers, vocabulary 1000), greedy and beam 4 at B = 1, 16, 64
# Each section takes minutes; where one command is limited to 10 minutes,
# run `run.sh check bench generate` and `run.sh sanitize` as two.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runner="$here/bin/convc-gpu-runner"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
runs="${CONVC_GPU_CHECK_RUNS:-20}"
target="$(cat "$here/target")"
sections="${*:-check bench generate}"
for s in $sections; do
  case "$s" in check|sanitize|bench|generate) ;; *) echo "run.sh: unknown section '$s' (check, sanitize, bench, generate)"; exit 2;; esac
done
want() { [[ " $sections " == *" $1 "* ]]; }
pass=0; fail=0; failed=()
san_ok=0; san_failed=()
bench_ok=0; bench_failed=()
gen_ok=0; gen_failed=()
bandwidth=n/a
verdicts=()
# Seconds per section: the default run (check bench generate) must fit a
# device allowance (issue 15: under 6 minutes on an H200).
section_times=(); section_start=$SECONDS
mark() { section_times+=("$1 $((SECONDS - section_start)) s"); section_start=$SECONDS; }

echo "== device"
if ! "$runner" info; then
  if [ "$target" = cuda ]; then
    echo "gpu-check: no usable GPU here (see above); nothing checked"
    exit 3
  fi
fi
[ "$target" = cuda ] || echo "(dry run: these models are the GPU kernel loops compiled for the CPU)"

if want check; then
echo "== correctness: compiled GPU code against the CPU target's outputs"
for case in "$here"/check/*/; do
  name="$(basename "$case")"
  model="$(cat "$case/model")"
  # Both the CPU target and the GPU kernels are within 1e-5 of the f64
  # reference (the test suite checks both), so they agree within 2e-5.
  tolerance=2e-5
  [ -f "$case/tolerance" ] && tolerance="$(cat "$case/tolerance")"
  if out="$("$runner" check "$here/models/$model.so" "$case" "$tolerance" 2>&1)"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); failed+=("$name: $out")
  fi
  printf '  %-44s %s\n' "$name" "$out"
done

fi
want check && mark check

# Races on shared memory and out-of-bounds accesses do not show on the CPU
# (phases run one after another there): the multi-tile checks run again
# under compute-sanitizer's racecheck and memcheck.
if want sanitize; then
echo "== compute-sanitizer: racecheck and memcheck on the multi-tile checks"
sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
if [ "$target" = cuda ] && [ -n "$sanitizer" ]; then
  for case in "$here"/check/*.B3_T300/ "$here"/check/*.example/; do
    [ -d "$case" ] || continue
    name="$(basename "$case")"
    model="$(cat "$case/model")"
    for tool in racecheck memcheck; do
      tolerance=2e-5
      [ -f "$case/tolerance" ] && tolerance="$(cat "$case/tolerance")"
      if out="$(timeout 300 "$sanitizer" --tool "$tool" --error-exitcode 9 \
                "$runner" check "$here/models/$model.so" "$case" "$tolerance" 2>&1)"; then
        san_ok=$((san_ok + 1))
        printf '  %-44s %-9s clean\n' "$name" "$tool"
      else
        san_failed+=("$name $tool: $(grep -m3 -E 'Error|ERROR|Race|race|Invalid' <<<"$out" | tr '\n' ' ')")
        printf '  %-44s %-9s FAILED\n' "$name" "$tool"
      fi
    done
  done
elif [ -z "$sanitizer" ]; then
  echo "  skipped: no compute-sanitizer here"
else
  echo "  skipped: not a CUDA build"
fi

fi
want sanitize && mark sanitize

if want bench; then
echo "== DRAM bandwidth (y = x + x, kernel time)"
bw_case="$(ls -d "$here"/bench/copy.* | head -1)"
if bw_line="$(CONVC_CUDA_PROFILE=1 "$runner" bench "$here/models/bench-copy.so" "$bw_case" 3 "$runs" 2>&1)"; then
  bench_ok=$((bench_ok + 1))
else
  bench_failed+=("$(basename "$bw_case"): $bw_line")
fi
bw_kernel_ms="$(sed -n 's/.*kernel_ms=\([0-9.]*\).*/\1/p' <<<"$bw_line")"
bw_bytes="$(sed -n 's/.*io_bytes=\([0-9]*\).*/\1/p' <<<"$bw_line")"
bandwidth="$(awk -v b="$bw_bytes" -v ms="$bw_kernel_ms" 'BEGIN { if (ms > 0) printf "%.1f", b / ms / 1e6; else print "n/a" }')"
echo "  $bw_line  => ${bandwidth} GB/s"

echo "== benchmarks: convc (kernel time; wall: host tensors, copies included; device: device tensors in and out)"
printf '  %-22s %12s %12s %12s %10s\n' case kernel_ms wall_ms device_ms "% of DRAM"
declare -A convc_ms convc_pct
for case in "$here"/bench/*/; do
  name="$(basename "$case")"
  [[ "$name" == copy.* ]] && continue
  model="$(cat "$case/model")"
  line="$(CONVC_CUDA_PROFILE=1 "$runner" bench "$here/models/$model.so" "$case" 3 "$runs" 2>&1)" || {
    echo "  $name: $line"; bench_failed+=("$name: $line"); continue; }
  bench_ok=$((bench_ok + 1))
  k="$(sed -n 's/.*kernel_ms=\([0-9.]*\).*/\1/p' <<<"$line")"
  w="$(sed -n 's/^wall_ms=\([0-9.]*\).*/\1/p' <<<"$line")"
  dw="$(sed -n 's/.*device_wall_ms=\([0-9.na/]*\).*/\1/p' <<<"$line")"
  b="$(sed -n 's/.*io_bytes=\([0-9]*\).*/\1/p' <<<"$line")"
  pct="$(awk -v b="$b" -v ms="$k" -v bw="$bandwidth" 'BEGIN { if (ms > 0 && bw > 0) printf "%.0f%%", 100 * b / ms / 1e6 / bw; else print "n/a" }')"
  convc_ms[$name]="$k"
  convc_pct[$name]="$pct"
  printf '  %-22s %12s %12s %12s %10s\n' "$name" "$k" "$w" "$dw" "$pct"
done

# Point 4: bf16 projections (tensor cores through cuBLASLt) against f32.
for case in "$here"/bench/proj_bf16.*/; do
  [ -d "$case" ] || continue
  shape="$(basename "$case")"; shape="${shape#proj_bf16.}"
  f="${convc_ms[proj_f32.$shape]:-}"; h="${convc_ms[proj_bf16.$shape]:-}"
  [ -n "$f" ] && [ -n "$h" ] && verdicts+=("projection $shape: f32 $f ms, bf16 $h ms -> $(awk -v f="$f" -v h="$h" 'BEGIN { r = (h > 0 ? f / h : 0); printf "%.2fx (target >= 3 at B32_T512) -> %s", r, (r >= 3 ? "MET" : "MISSED") }')")
done

echo "== PyTorch eager CUDA and torch.compile on the same shapes"
torch_out=""
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  copy_elements="$(basename "$bw_case")"
  copy_elements="${copy_elements##*_T}"
  torch_out="$(PYTHONPATH="$here" python3 "$here/gpu_torch_bench.py" --runs "$runs" --copy-elements "$copy_elements")" \
    || echo "  (torch benchmark failed)"
  echo "$torch_out"
  # The copy kernel against PyTorch's x + x over the same bytes (8 per
  # element: one read, one write): the issue asks for at least 95%.
  torch_copy_ms="$(awk '$1 ~ /^copy\./ { print $2 }' <<<"$torch_out")"
  if [ -n "$torch_copy_ms" ] && [ "$bandwidth" != n/a ]; then
    torch_bw="$(awk -v n="$copy_elements" -v ms="$torch_copy_ms" 'BEGIN { printf "%.1f", 8 * n / ms / 1e6 }')"
    verdicts+=("copy kernel: ${bandwidth} GB/s, PyTorch ${torch_bw} GB/s -> $(awk -v c="$bandwidth" -v t="$torch_bw" 'BEGIN { r = c / t; printf "%.0f%% (target >= 95%%) -> %s", 100 * r, (r >= 0.95 ? "MET" : "MISSED") }')")
  fi
else
  echo "  skipped: no PyTorch with CUDA here"
fi

echo "== convc against PyTorch (kernel time; x > 1: convc faster)"
if [ -n "$torch_out" ]; then
  printf '  %-22s %10s %10s %10s %9s %9s %9s\n' case convc_ms eager_ms compile_ms x_eager x_compile "% DRAM"
  while read -r name eager compiled _; do
    [ -n "${convc_ms[$name]:-}" ] || continue
    c="${convc_ms[$name]}"
    read -r xe xc <<<"$(awk -v c="$c" -v e="$eager" -v k="$compiled" 'BEGIN {
      printf "%s %s", (c > 0 ? sprintf("%.2f", e / c) : "n/a"),
                      (c > 0 && k + 0 > 0 ? sprintf("%.2f", k / c) : "n/a") }')"
    printf '  %-22s %10s %10s %10s %9s %9s %9s\n' "$name" "$c" "$eager" "$compiled" "$xe" "$xc" "${convc_pct[$name]}"
    # The issue's targets, at the large size: at most 1.25x the time of a
    # copy of the same bytes (80% of the copy's bandwidth) and faster than
    # torch.compile.
    if [[ "$name" == *.B32_T4096 ]]; then
      pct="${convc_pct[$name]%\%}"
      ok=$(awk -v p="$pct" -v x="$xc" 'BEGIN { print (p + 0 >= 80 && x + 0 > 1) ? "MET" : "MISSED" }')
      verdicts+=("$name: ${convc_pct[$name]} of the copy kernel's bandwidth (target >= 80%), ${xc}x torch.compile -> target $ok")
    fi
  done < <(grep -E '^  [a-z]+\.B' <<<"$torch_out")
fi

fi
want bench && mark bench

if want generate; then
echo "== generation (min length = max length: every step decoded; median of 3 after a warm-up)"
declare -A gen_ms
no_graphs=()
for case in "$here"/generation/B*/; do
  name="$(basename "$case")"
  line="$("$runner" generate "$here/models/generation.so" "$here/generation/params" "$case" 3 2>&1)" || {
    echo "  $name: $line"; gen_failed+=("$name: $line"); continue; }
  gen_ok=$((gen_ok + 1))
  gen_ms[$name]="$(sed -n 's/.* ms=\([0-9.]*\).*/\1/p' <<<"$line")"
  printf '  %-14s %s\n' "$name" "$line"
  step="$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' <<<"$line")"
  tps="$(sed -n 's/.*tokens_per_s=\([0-9.]*\).*/\1/p' <<<"$line")"
  # Point 2: every step after the first is a CUDA graph replay.
  replays="$(sed -n 's/.*graph_replays=\([0-9]*\).*/\1/p' <<<"$line")"
  [ "$target" = cuda ] && [ "${replays:-0}" -eq 0 ] && no_graphs+=("$name")
  [ "$name" = B1_beam1 ] && verdicts+=("generation B=1 greedy: $step ms/step (target <= 1) -> $(awk -v s="$step" 'BEGIN { print (s + 0 <= 1) ? "MET" : "MISSED" }')")
  [ "$name" = B64_beam1 ] && verdicts+=("generation B=64 greedy: $tps tokens/s (target >= 30000) -> $(awk -v t="$tps" 'BEGIN { print (t + 0 >= 30000) ? "MET" : "MISSED" }')")
done
if [ "$target" = cuda ]; then
  if [ "${#no_graphs[@]}" -eq 0 ]; then verdicts+=("generation: every case's steps replayed as CUDA graphs -> MET")
  else verdicts+=("generation: no CUDA graph replays in ${no_graphs[*]} -> MISSED"); fi
fi
# Where a B=1 greedy step's time goes: every launch timed by events (no
# graphs then), summed per kernel; kernels are named function_op.
if [ "$target" = cuda ] && [ -d "$here/generation/B1_beam1" ]; then
  echo "  B=1 greedy, kernel time per kernel (CONVC_CUDA_PROFILE=kernels, top 12):"
  CONVC_CUDA_PROFILE=kernels "$runner" generate "$here/models/generation.so" \
    "$here/generation/params" "$here/generation/B1_beam1" 1 2>&1 |
    sed -n '/convc kernel profile/,$p' | head -14 | sed 's/^/    /'
fi
for B in 1 16 64; do
  g="${gen_ms[B${B}_beam1]:-}"; b="${gen_ms[B${B}_beam4]:-}"
  [ -n "$g" ] && [ -n "$b" ] && verdicts+=("generation B=$B beam 4 / greedy: $(awk -v b="$b" -v g="$g" 'BEGIN { r = b / g; printf "%.2f (target <= 1.5) -> %s", r, (r <= 1.5 ? "MET" : "MISSED") }')")
done
fi
want generate && mark generate

echo "== summary ($sections)"
echo "  time: ${SECONDS} s in all ($(IFS=,; echo "${section_times[*]}" | sed 's/,/, /g'))"
if [ "$sections" = "check bench generate" ] && [ "$target" = cuda ]; then
  verdicts+=("default run: ${SECONDS} s (target < 360) -> $([ "$SECONDS" -lt 360 ] && echo MET || echo MISSED)")
fi
want check && echo "  correctness: $pass passed, $fail failed"
for f in "${failed[@]}"; do echo "    FAILED $f"; done
want sanitize && echo "  compute-sanitizer: $san_ok clean, ${#san_failed[@]} failed"
for f in "${san_failed[@]}"; do echo "    FAILED $f"; done
want bench && echo "  benchmarks: $bench_ok ran, ${#bench_failed[@]} failed"
for f in "${bench_failed[@]}"; do echo "    FAILED $f"; done
want bench && echo "  DRAM bandwidth: ${bandwidth} GB/s (copy kernel)"
want generate && echo "  generation: $gen_ok ran, ${#gen_failed[@]} failed"
for f in "${gen_failed[@]}"; do echo "    FAILED $f"; done
for v in "${verdicts[@]}"; do echo "  $v"; done
[ "$fail" -eq 0 ] && [ "${#bench_failed[@]}" -eq 0 ] && [ "${#san_failed[@]}" -eq 0 ] && [ "${#gen_failed[@]}" -eq 0 ]
