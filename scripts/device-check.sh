#!/usr/bin/env bash
# Runs the WebGPU test files and the engine tour on a lent GPU machine (see README, "On a real
# GPU"). Needs .gpu/ from ../shared/gpu/pack-for-device.sh; call through the device tool as
#   bash .gpu/run.sh bash scripts/device-check.sh
# Writes the log under $OUT when set.
set -u
out=${OUT:-/tmp}
node -e "import('webgpu').then(async ({create}) => { const g = create([]); const a = await g.requestAdapter(); console.log('adapter:', JSON.stringify(a && a.info)); globalThis.g = g; process.exit(0); })"
node node_modules/vitest/vitest.mjs run --maxWorkers=8 tests/webgpu-backend.test.ts tests/ops-*.test.ts tests/memory.test.ts tests/errors.test.ts 2>&1 | tee "$out/vitest.log" | grep -vE "^\s+✓" | tail -60
node --import tsx src/demo.ts 2>&1 | tee "$out/demo.log"
