#!/usr/bin/env bash
# The `base` preset (18.9M params) on 128 px faces from a folder, end to end through the CLI:
# pretrain (SFT) -> train (LRPO) -> eval. Meant for a real GPU (through the device tool:
# `bash .gpu/run.sh bash scripts/scale-base.sh`); SMOKE=1 runs a few steps of each, which
# lavapipe can do in minutes, to check the code paths.
#   bash scripts/scale-base.sh [face-folder] [out-dir]
# With no folder, 200 procedural 128 px faces are written first (scripts/make-face-folder.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-}"
OUT="${2:-runs/scale-base}"
if [ "${SMOKE:-0}" = 1 ]; then
  SFT_STEPS=${SFT_STEPS:-2} SFT_BATCH=${SFT_BATCH:-2} LRPO_STEPS=${LRPO_STEPS:-1} GROUP=${GROUP:-2} INPUTS=${INPUTS:-1} SAMPLING=${SAMPLING:-4} COUNT=${COUNT:-2}
else
  SFT_STEPS=${SFT_STEPS:-4000} SFT_BATCH=${SFT_BATCH:-16} LRPO_STEPS=${LRPO_STEPS:-200} GROUP=${GROUP:-4} INPUTS=${INPUTS:-4} SAMPLING=${SAMPLING:-20} COUNT=${COUNT:-32}
fi
CLI=(node --import tsx src/cli/main.ts)
if [ -z "$DATA" ]; then
  DATA="$OUT/faces"
  [ -d "$DATA" ] || node --import tsx scripts/make-face-folder.ts "$DATA" 200 128
fi
mkdir -p "$OUT"
latest() { ls "$1"/checkpoints/*.safetensors | sort | tail -1; }
t0=$(date +%s)
"${CLI[@]}" pretrain --run "$OUT/sft" --preset base --size 128 --data "$DATA" --steps "$SFT_STEPS" --batch "$SFT_BATCH" \
  --lr 2e-4 --warmup $((SFT_STEPS / 20)) --eval-every "$SFT_STEPS" --eval-count "$COUNT" --eval-steps "$SAMPLING" --resume
t1=$(date +%s)
SFT="$(latest "$OUT/sft")"
"${CLI[@]}" train --run "$OUT/lrpo" --init "$SFT" --data "$DATA" --steps "$LRPO_STEPS" --group "$GROUP" --inputs "$INPUTS" \
  --sampling-steps "$SAMPLING" --checkpoint-every "$LRPO_STEPS" --resume
t2=$(date +%s)
"${CLI[@]}" eval --checkpoint "$SFT" "$(latest "$OUT/lrpo")" --data "$DATA" --count "$COUNT" --sampling-steps "$SAMPLING" --out "$OUT/eval.json"
t3=$(date +%s)
echo "scale-base: pretrain $((t1 - t0)) s, LRPO $((t2 - t1)) s, eval $((t3 - t2)) s; outputs in $OUT"
