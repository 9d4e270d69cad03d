// How steady is this machine's speed? Times one fixed convolution (the tiny UNet's 8-channel 3x3
// layer at batch 80, no fusion, the same kernel every call) in consecutive samples of 5 calls and
// reports how often, and by how much, a sample ran slow. On the shared 2-core machines the speed
// swings between two levels in stretches of a fraction of a second to seconds, and the process's
// CPU time per call swings with it (a host contending for the cores, not a wait): why A/Bs here
// switch the choice between alternating calls inside one process (scripts/network-ab.ts).
//   npx tsx scripts/host-modes.ts [samples=200]
import * as T from '../src/index.js';
import type { View } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { quantile, summarize } from '../bench/timing.js';
import { timedCall } from './variant-ab-timing.js';

const samples = Number(process.argv[2] ?? 200);
const CALLS = 5;
await T.setBackend('webgpu');
const gpu = backendFor('webgpu') as WebGpuBackend;
gpu.ctx.fusion = false; // each call records and runs its own convolution
const x = T.keep(T.uniform(T.key(1), [80, 8, 32, 32]));
const w = T.keep(T.uniform(T.key(2), [8, 8, 3, 3]));
await T.sync(x, w);
const view = (t: T.Tensor): View => ({ ...t, storage: t.storage('host-modes') });
const params = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;

const series: { wall: number; cpu: number }[] = [];
for (let i = 0; i < samples + 3; i++) {
  const { wallMs, cpuMs } = await timedCall(async () => {
    for (let j = 0; j < CALLS; j++) gpu.release(gpu.conv2d(view(x), view(w), params));
    await T.sync(x);
  });
  if (i >= 3) series.push({ wall: wallMs / CALLS, cpu: cpuMs / CALLS });
}
T.dispose([x, w]);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const fast = quantile(sorted(series.map((s) => s.wall)), 0.1);
// A sample is slow past 1.4x the fastest tenth's level; runs of slow samples are its stretches.
const slow = series.map((s) => s.wall > 1.4 * fast);
const stretches: number[] = [];
slow.forEach((s, i) => {
  if (s && slow[i - 1]) stretches[stretches.length - 1]++;
  else if (s) stretches.push(1);
});
const of = (pick: boolean, key: 'wall' | 'cpu') => series.filter((_, i) => slow[i] === pick).map((s) => s[key]);
const med = (xs: number[]) => (xs.length ? summarize(xs).median.toFixed(2) : '-');
console.log(
  `${samples} samples of ${CALLS} calls: ${((100 * of(true, 'wall').length) / samples).toFixed(0)}% slow ` +
    `(> 1.4x the fastest tenth's ${fast.toFixed(2)} ms/call), in ${stretches.length} stretches of ` +
    `${stretches.length ? `${Math.min(...stretches)}-${Math.max(...stretches)}` : '0'} samples\n` +
    `wall ms/call: fast ${med(of(false, 'wall'))}, slow ${med(of(true, 'wall'))}; ` +
    `process CPU ms/call: fast ${med(of(false, 'cpu'))}, slow ${med(of(true, 'cpu'))}`,
);
