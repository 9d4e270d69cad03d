#!/usr/bin/env bash
# Everything a lent GPU session checks, as one command (a lease is 15 minutes, start included):
#   device run, carry [".gpu"]:  bash .gpu/run.sh bash scripts/device-session.sh
# 1. The bench suite with the PyTorch anchor (bench/run-on-gpu.sh), in bursts of BURST ops per
#    timed sample, its Node part boxed to BENCH_S seconds (rows done so far are kept).
# 2. The fused group norm against the composed one on three layer shapes (scripts/group-norm-ab.ts,
#    20 s a shape at most).
# 3. The base preset through the CLI on 128 px faces (scripts/scale-base.sh), each stage boxed
#    (SFT_S, LRPO_S, EVAL_S), checkpointing often so a boxed stage hands the next one a checkpoint.
# What comes back in $OUT (at most 8 files): bench-results/ (json, md, svg, log), the tuning
# cache the bench filled, group-norm-ab.log, scale-base.log (written as it runs, so a run cut
# short still tells), and scale-base.tgz (configs, metrics.jsonl, eval.json; no checkpoints: 76 MB
# each).
# Pack first with scripts/pack-device.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?run this through the device tool, which sets OUT}"
start=$(date +%s)
# BRISQUE's model files travel in .gpu (scripts/pack-device.sh); the device image has no opencv-data.
[ -d .gpu/brisque ] && export WEBGPU_LRPO_BRISQUE_DIR="$PWD/.gpu/brisque"
stamp() { echo "device-session: $1 at +$(($(date +%s) - start)) s"; }

stamp "bench"
# CPU peers only on the smallest rows: they are not what this run is for.
BENCH_TIMEOUT_S=${BENCH_S:-240} bash bench/run-on-gpu.sh --burst "${BURST:-10}" --cpu-budget-s 1 --cpu-max-gflop 0.1
cp node_modules/.cache/webgpu-lrpo/tuning-*.json "$OUT"/ 2>/dev/null

stamp "group-norm-ab"
# The fused group norm walks a group channel by channel: on a GPU's lanes that may idle where a
# channel is small (8x8 maps). Measured on lavapipe only so far (docs/measurements.md).
for shape in 80,16,32,32 80,32,8,8 16,256,16,16; do
  timeout 20 node --import tsx scripts/group-norm-ab.ts "$shape" 4 7 2>&1 | grep -v Warning
done > "$OUT/group-norm-ab.log"
tail -n 12 "$OUT/group-norm-ab.log"

stamp "scale-base"
scale=runs/scale-base
# Sized from the 2026-11-27 lease (H200: 2.7 s per SFT update of batch 16, 17 s per LRPO step of
# 2 inputs x 4 candidates x 10 DDIM steps): checkpoints often enough that every box hands the next
# stage one. Tuning on, as users run it (SCALE_TUNE=0 for the untuned defaults).
WEBGPU_LRPO_TUNE=${SCALE_TUNE:-1} SFT_STEPS=${SFT_STEPS:-2000} SFT_BATCH=${SFT_BATCH:-16} SFT_EVAL_EVERY=${SFT_EVAL_EVERY:-15} SFT_S=${SFT_S:-100} \
  LRPO_STEPS=${LRPO_STEPS:-100} LRPO_CHECKPOINT_EVERY=${LRPO_CHECKPOINT_EVERY:-1} LRPO_S=${LRPO_S:-110} EVAL_S=${EVAL_S:-80} \
  INPUTS=${INPUTS:-2} SAMPLING=${SAMPLING:-10} COUNT=${COUNT:-8} \
  bash scripts/scale-base.sh "" "$scale" > "$OUT/scale-base.log" 2>&1
echo "scale-base exit $?"
tail -n 30 "$OUT/scale-base.log"
tar czf "$OUT/scale-base.tgz" $(ls -d "$scale"/*/config.json "$scale"/*/metrics.jsonl "$scale"/eval.json 2>/dev/null)
stamp "done"
