#!/usr/bin/env bash
# Packs .gpu/ for a lent GPU machine (see scripts/device-session.sh): ../shared/gpu/pack-for-device.sh
# (Node, the Vulkan loader, node_modules), then node_modules again without what a device run
# never loads (the type checker, the test runner and its bundlers, face-api's JS bundles: only its
# weights and demo photos are read), so .gpu stays well under the 64 MiB a call may carry (46 vs 58);
# and BRISQUE's model files, which the device image does not have. FULL=1 keeps every package
# (scripts/device-check.sh runs the test suite there, which needs vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/gpu/pack-for-device.sh
[ "${FULL:-0}" = 1 ] || tar cf - --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' --exclude='node_modules/.cache' \
  --exclude='node_modules/typescript' --exclude='node_modules/@rolldown' --exclude='node_modules/rolldown' \
  --exclude='node_modules/lightningcss*' --exclude='node_modules/vite' --exclude='node_modules/vitest' \
  --exclude='node_modules/@vitest' --exclude='node_modules/@vladmandic/face-api/dist' \
  node_modules | xz -T2 -6 > .gpu/node_modules.tar.xz
# BRISQUE's model files (Debian's opencv-data, installed here by the set-up): the device image lacks them.
mkdir -p .gpu/brisque
for f in brisque_model_live.yml brisque_range_live.yml; do
  src=$(ls /usr/share/opencv4/quality/$f /usr/local/share/opencv4/quality/$f /usr/share/opencv/quality/$f 2>/dev/null | head -n 1)
  [ -n "$src" ] && cp "$src" .gpu/brisque/ || echo "pack-device: $f not found (install opencv-data); eval on the device will stop at BRISQUE" >&2
done
echo "slimmed .gpu to $(du -sh .gpu | cut -f1)"
