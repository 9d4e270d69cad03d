#!/usr/bin/env bash
# The bench on a lent GPU machine, with the PyTorch anchor. From the repository root:
#   bash .gpu/run.sh bash bench/run-on-gpu.sh [extra bench/run.ts flags]
# Node and node_modules come from .gpu/ (no npx there). Runs the full suite (4096^3 matmul
# included on a hardware adapter), times the same matmul and conv rows with PyTorch fp32 (TF32
# off) when python3 has torch with CUDA, merges them into the JSON as the anchor column,
# re-renders the markdown and SVG, and copies the results under "$OUT"/bench-results when OUT is
# set (else to bench/results/).
# CPU peers are capped lower than on a laptop run: they are not what a GPU run is for, and the
# device time is short. BENCH_TIMEOUT_S stops the suite after that many seconds; the rows done
# by then (the results file is written after each) still get the anchor.
set -uo pipefail
cd "$(dirname "$0")/.."

work=bench/results/tmp/gpu-run
rm -rf "$work"
mkdir -p "$work"

status=0
timeout "${BENCH_TIMEOUT_S:-0}" node --import tsx bench/run.ts --out "$work" --cpu-max-gflop 0.6 --cpu-budget-s 3 "$@" 2>&1 | tee "$work/bench.log"
status=${PIPESTATUS[0]}
[ "$status" = 124 ] && echo "run-on-gpu: the suite was stopped after BENCH_TIMEOUT_S=$BENCH_TIMEOUT_S s; its results hold the rows done by then" | tee -a "$work/bench.log"

json=$(ls "$work"/*.json 2>/dev/null | head -n 1)
if [ -z "$json" ]; then
  echo "run-on-gpu: the suite wrote no results JSON (exit $status)" >&2
  [ -n "${OUT:-}" ] && cp "$work/bench.log" "$OUT/"
  [ "$status" -eq 0 ] && status=1
  exit "$status"
fi

if python3 bench/torch_anchor.py "$json" 2>&1 | tee -a "$work/bench.log"; then
  node --import tsx bench/run.ts --render "$json" >/dev/null || true
else
  echo "run-on-gpu: no PyTorch anchor (see above); results have no anchor column" | tee -a "$work/bench.log"
fi

# Dawn describes every NVIDIA adapter alike ("nvidia NVIDIA: <driver>"), so the files are named
# after the card nvidia-smi reports (nvidia-h100, nvidia-h200, ...), one set per card.
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g; s/-[0-9]+gb.*$//')
if [ -n "$card" ]; then
  base=${json%.json}
  for ext in json md svg; do mv "$base.$ext" "$work/$card.$ext"; done
  mv "$work/bench.log" "$work/$card-bench-log.txt"
fi

# Results travel back through $OUT on the device machine; a local run (no $OUT) updates
# bench/results/ directly, except a --quick run, which must not replace full results.
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/bench-results"
  cp "$work"/* "$OUT/bench-results/"
elif [[ " $* " != *" --quick "* ]]; then
  cp "$work"/*.json "$work"/*.md "$work"/*.svg bench/results/
  cp "$work"/*-bench-log.txt bench/results/ 2>/dev/null || true
fi
exit "$status"
