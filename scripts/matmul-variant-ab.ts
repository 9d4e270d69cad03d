// A/B of matmul variants on one batched shape, interleaved (the numbers behind matmul.ts's variant
// list and defaults in docs/measurements.md): wall and process CPU time per call, medians over
// rounds of 10 calls (variant-ab-timing.ts).
//   npx tsx scripts/matmul-variant-ab.ts <batch,M,K,N> <variants a,b,...> [rounds] [aT|bT|aT,bT]
//   npx tsx scripts/matmul-variant-ab.ts 16,128,128,128 grid8x4sg,grid16x8sg
// The face ResNet's Winograd GEMMs at batch 8 are [36, 32, 32] x [36, 32, 648] (32 channels @ 35 px),
// 36,64,64,200 (64 @ 17), 16,128,128,128 (128 @ 8) and 16,32,256,256 (256 @ 3, tiles along rows).
import * as T from '../src/index.js';
import type { View } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { timeVariants } from './variant-ab-timing.js';

const [shapeArg, variantsArg, roundsArg = '9'] = process.argv.slice(2);
if (!shapeArg || !variantsArg) {
  console.error('usage: matmul-variant-ab.ts <batch,M,K,N> <variants a,b,...> [rounds]');
  process.exit(2);
}
const [batch, m, k, n] = shapeArg.split(',').map(Number);
await T.setBackend('webgpu');
const gpu = backendFor('webgpu') as WebGpuBackend;
// Optional 4th argument: `aT`, `bT` or `aT,bT`: that operand read through a transposed view (stored [batch, K, M] / [batch, N, K]).
const layout = (process.argv[5] ?? '').split(',');
const a = T.keep(
  layout.includes('aT')
    ? T.transpose(T.uniform(T.key(1), [batch, k, m]), [0, 2, 1])
    : T.uniform(T.key(1), [batch, m, k]),
);
const b = T.keep(
  layout.includes('bT')
    ? T.transpose(T.uniform(T.key(2), [batch, n, k]), [0, 2, 1])
    : T.uniform(T.key(2), [batch, k, n]),
);
await T.sync(a, b);
const view = (t: T.Tensor): View => ({ ...t, storage: t.storage('matmul-variant-ab') });
gpu.ctx.fusion = false; // record each product now
const variants = variantsArg.split(',');
const times = await timeVariants(gpu, variants, Number(roundsArg), (variant) => gpu.matmul(view(a), view(b), variant));
const gflop = (2 * batch * m * k * n) / 1e9;
for (const [v, { wallMs, cpuMs }] of times)
  console.log(
    `${v.padEnd(12)} wall ${wallMs.toFixed(2)} ms/call (${(gflop / (wallMs / 1e3)).toFixed(1)} GFLOP/s), CPU ${cpuMs.toFixed(2)} ms/call`,
  );
a.dispose();
b.dispose();
await T.shutdown();
