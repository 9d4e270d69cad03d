#!/usr/bin/env bash
# Runs the test suite (all but the npm-based package test) on a lent GPU machine. Needs .gpu/
# from ../shared/gpu/pack-for-device.sh; call through the device tool as
#   bash .gpu/run.sh bash scripts/device-check.sh
# Writes the log under $OUT when set.
set -u
out=${OUT:-/tmp}
node -e "import('webgpu').then(async ({create}) => { const g = create([]); const a = await g.requestAdapter(); console.log('adapter:', JSON.stringify(a && a.info)); globalThis.g = g; process.exit(0); })"
files=$(ls tests/*.test.ts | grep -v 'tests/package.test.ts')
node node_modules/vitest/vitest.mjs run --maxWorkers=8 $files 2>&1 | tee "$out/vitest.log" | grep -vE "^\s+✓" | tail -40
