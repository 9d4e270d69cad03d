// A/B of matmul variants on one batched shape, interleaved (the numbers behind matmul.ts's variant
// list and defaults in docs/measurements.md): wall and process CPU time per call, medians over
// rounds of 10 calls.
//   npx tsx scripts/matmul-variant-ab.ts <batch,M,K,N> <variants a,b,...> [rounds]
//   npx tsx scripts/matmul-variant-ab.ts 16,128,128,128 grid8x4sg,grid16x8sg
// The face ResNet's Winograd GEMMs at batch 8 are [36, 32, 32] x [36, 32, 648] (32 channels @ 35 px),
// 36,64,64,200 (64 @ 17), 16,128,128,128 (128 @ 8) and 16,32,256,256 (256 @ 3, tiles along rows).
// CPU time counts lavapipe's worker threads too, so it is the steadier number on a shared machine.
import * as T from '../src/index.js';
import type { View } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';

const [shapeArg, variantsArg, roundsArg = '9'] = process.argv.slice(2);
if (!shapeArg || !variantsArg) {
  console.error('usage: matmul-variant-ab.ts <batch,M,K,N> <variants a,b,...> [rounds]');
  process.exit(2);
}
const [batch, m, k, n] = shapeArg.split(',').map(Number);
await T.setBackend('webgpu');
const gpu = backendFor('webgpu') as WebGpuBackend;
const a = T.keep(T.uniform(T.key(1), [batch, m, k]));
const b = T.keep(T.uniform(T.key(2), [batch, k, n]));
await T.sync(a, b);
const view = (t: T.Tensor): View => ({ ...t, storage: t.storage('matmul-variant-ab') });
gpu.ctx.fusion = false; // record each product now
const variants = variantsArg.split(',');
const CALLS = 10;
const wall = new Map<string, number[]>(variants.map((v) => [v, []]));
const cpu = new Map<string, number[]>(variants.map((v) => [v, []]));
const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
for (let round = 0; round <= Number(roundsArg); round++) {
  for (const variant of variants) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const outs = Array.from({ length: CALLS }, () => gpu.matmul(view(a), view(b), variant));
    await gpu.read({ storage: outs[CALLS - 1], dtype: 'float32', shape: [1], strides: [1], offset: 0 });
    const used = process.cpuUsage(c0);
    outs.forEach((o) => gpu.release(o));
    if (round === 0) continue; // compiles and warm-up
    wall.get(variant)!.push((performance.now() - t0) / CALLS);
    cpu.get(variant)!.push((used.user + used.system) / 1000 / CALLS);
  }
}
const gflop = (2 * batch * m * k * n) / 1e9;
for (const v of variants) {
  const w = median(wall.get(v)!);
  console.log(
    `${v.padEnd(12)} wall ${w.toFixed(2)} ms/call (${(gflop / (w / 1e3)).toFixed(1)} GFLOP/s), CPU ${median(cpu.get(v)!).toFixed(2)} ms/call`,
  );
}
a.dispose();
b.dispose();
await T.shutdown();
