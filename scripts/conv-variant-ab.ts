// A/B of convolution variants on one shape, interleaved (the numbers behind conv.ts's defaults in
// docs/measurements.md): wall and process CPU time per call, medians over rounds of 10 calls
// (variant-ab-timing.ts).
//   npx tsx scripts/conv-variant-ab.ts <x N,C,H,W> <w O,C/g,KH,KW> <variants a,b,...> [groups] [stride] [padding] [rounds] [--transposed]
//   npx tsx scripts/conv-variant-ab.ts 8,32,56,56 32,1,3,3 direct,depthwise 32 1 1
// --transposed times convTranspose2d instead (w is then [C, O/g, KH, KW]; autodiff's input gradient).
import * as T from '../src/index.js';
import type { View } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { timeVariants } from './variant-ab-timing.js';

const args = process.argv.slice(2);
const transposed = args.includes('--transposed');
const [xArg, wArg, variantsArg, groups = '1', stride = '1', padding = '0', roundsArg = '9'] = args.filter(
  (a) => a !== '--transposed',
);
if (!xArg || !wArg || !variantsArg) {
  console.error(
    'usage: conv-variant-ab.ts <x N,C,H,W> <w O,C/g,KH,KW> <variants> [groups] [stride] [padding] [rounds] [--transposed]',
  );
  process.exit(2);
}
const dims = (s: string) => s.split(',').map(Number);
await T.setBackend('webgpu');
const gpu = backendFor('webgpu') as WebGpuBackend;
const x = T.keep(T.uniform(T.key(1), dims(xArg)));
const w = T.keep(T.uniform(T.key(2), dims(wArg)));
await T.sync(x, w);
const view = (t: T.Tensor): View => ({ ...t, storage: t.storage('conv-variant-ab') });
const s = Number(stride);
const pd = Number(padding);
const p = { stride: [s, s], padding: [pd, pd], dilation: [1, 1], groups: Number(groups) } as const;
gpu.ctx.fusion = false; // record each conv now
const variants = variantsArg.split(',');
const times = await timeVariants(gpu, variants, Number(roundsArg), (variant) =>
  transposed
    ? gpu.convTranspose2d(view(x), view(w), { ...p, outputPadding: [0, 0] }, variant)
    : gpu.conv2d(view(x), view(w), p, variant),
);
for (const [v, { wallMs, cpuMs }] of times)
  console.log(`${v.padEnd(12)} wall ${wallMs.toFixed(2)} ms/call, CPU ${cpuMs.toFixed(2)} ms/call`);
x.dispose();
w.dispose();
await T.shutdown();
