#!/usr/bin/env bash
# The GT-regularization weight sweep of docs/ablation.md: SFT, GRPO and GRPO + GT regularization at
# several weights, each over the same seeds, from the committed SFT checkpoint; one table at the end.
#   bash scripts/gt-weight-sweep.sh [out-dir]     (WEIGHTS="0.1 1 10" SEEDS="0 1 2" STEPS=40)
# Rerunning resumes where it stopped. Tuning is off (WEBGPU_LRPO_TUNE=0) so every run uses the same kernel variants and the SFT and
# GRPO rows, run once, pair bit for bit with every weight's rows (merge-ablations.ts checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/gt-sweep}"
WEIGHTS=(${WEIGHTS:-0.1 1 10})
SEEDS=(${SEEDS:-0 1 2})
STEPS=${STEPS:-40}
export WEBGPU_LRPO_TUNE=0
CLI=(node --import tsx src/cli/main.ts)
mkdir -p "$OUT"
"${CLI[@]}" ablate --run "$OUT/base" --steps "$STEPS" --seeds "${SEEDS[@]}" --methods sft grpo --resume
for w in "${WEIGHTS[@]}"; do
  "${CLI[@]}" ablate --run "$OUT/w$w" --steps "$STEPS" --seeds "${SEEDS[@]}" --methods gtReg --gt-weight "$w" --resume
done
node --import tsx scripts/merge-ablations.ts "$OUT/gt-sweep.md" "$OUT/base" "${WEIGHTS[@]/#/$OUT/w}"
