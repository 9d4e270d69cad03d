#!/usr/bin/env bash
# The `base` preset (18.9M params) on 128 px faces from a folder, end to end through the CLI:
# pretrain (SFT) -> train (LRPO) -> eval. Meant for a real GPU (through the device tool:
# `bash .gpu/run.sh bash scripts/scale-base.sh`); SMOKE=1 runs a few steps of each, which
# lavapipe can do in minutes, to check the code paths.
#   bash scripts/scale-base.sh [face-folder] [out-dir]
# With no folder, 200 procedural 128 px faces are written first (scripts/make-face-folder.ts).
# Time boxes for a short device lease: SFT_S / LRPO_S / EVAL_S seconds stop pretrain / train /
# eval early (the runs checkpoint every SFT_EVAL_EVERY / LRPO_CHECKPOINT_EVERY steps, and the
# next stage starts from the newest checkpoint); a stopped run continues with the same command
# (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-}"
OUT="${2:-runs/scale-base}"
if [ "${SMOKE:-0}" = 1 ]; then
  SFT_STEPS=${SFT_STEPS:-2} SFT_BATCH=${SFT_BATCH:-2} LRPO_STEPS=${LRPO_STEPS:-1} GROUP=${GROUP:-2} INPUTS=${INPUTS:-1} SAMPLING=${SAMPLING:-4} COUNT=${COUNT:-2}
else
  SFT_STEPS=${SFT_STEPS:-4000} SFT_BATCH=${SFT_BATCH:-16} LRPO_STEPS=${LRPO_STEPS:-200} GROUP=${GROUP:-4} INPUTS=${INPUTS:-4} SAMPLING=${SAMPLING:-20} COUNT=${COUNT:-32}
fi
SFT_EVAL_EVERY=${SFT_EVAL_EVERY:-$SFT_STEPS}
LRPO_CHECKPOINT_EVERY=${LRPO_CHECKPOINT_EVERY:-$LRPO_STEPS}
CLI=(node --import tsx src/cli/main.ts)
if [ -z "$DATA" ]; then
  DATA="$OUT/faces"
  [ -d "$DATA" ] || node --import tsx scripts/make-face-folder.ts "$DATA" 200 128
fi
mkdir -p "$OUT"
latest() { ls "$1"/checkpoints/*.safetensors 2>/dev/null | sort | tail -1; }
# Runs a stage under its time box (seconds; unset or 0: none); running out of time is not an error.
boxed() {
  local seconds=$1; shift
  [ "${seconds:-0}" = 0 ] && { "$@"; return; }
  local rc=0
  timeout "$seconds" "$@" || rc=$?
  if [ "$rc" = 124 ]; then echo "scale-base: stopped after its ${seconds} s time box"; return 0; fi
  return "$rc"
}
t0=$(date +%s)
boxed "${SFT_S:-0}" "${CLI[@]}" pretrain --run "$OUT/sft" --preset base --size 128 --data "$DATA" --steps "$SFT_STEPS" --batch "$SFT_BATCH" \
  --lr 2e-4 --warmup $((SFT_STEPS / 20)) --eval-every "$SFT_EVAL_EVERY" --eval-count "$COUNT" --eval-steps "$SAMPLING" --resume
t1=$(date +%s)
SFT="$(latest "$OUT/sft")"
boxed "${LRPO_S:-0}" "${CLI[@]}" train --run "$OUT/lrpo" --init "$SFT" --data "$DATA" --steps "$LRPO_STEPS" --group "$GROUP" --inputs "$INPUTS" \
  --sampling-steps "$SAMPLING" --checkpoint-every "$LRPO_CHECKPOINT_EVERY" --resume
t2=$(date +%s)
LRPO="$(latest "$OUT/lrpo")"
[ -n "$LRPO" ] || echo "scale-base: the LRPO run wrote no checkpoint in its time box; evaluating SFT alone"
boxed "${EVAL_S:-0}" "${CLI[@]}" eval --checkpoint "$SFT" $LRPO --data "$DATA" --count "$COUNT" --sampling-steps "$SAMPLING" --out "$OUT/eval.json"
t3=$(date +%s)
echo "scale-base: pretrain $((t1 - t0)) s (to $(basename "$SFT")), LRPO $((t2 - t1)) s (to $(basename "${LRPO:-none}")), eval $((t3 - t2)) s; outputs in $OUT"
