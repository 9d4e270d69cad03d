// Times the UNet at a given preset/batch/size on both backends: one forward, and one forward +
// backward (valueAndGrad of mean(eps^2) w.r.t. the whole param tree), each to a finished device.
//   npx tsx scripts/time-unet.ts [preset=tiny] [batch=8] [size=32] [repeats=3] [backends=webgpu,cpu]
// Prints the cold first call (includes WGSL pipeline compilation) and the median of the warm repeats.
import * as T from '../src/index.js';
import { UNET_PRESETS, unetApply, unetInit, unetStats, type UNetConfig, type UNetParams } from '../src/nn.js';

const [presetArg = 'tiny', batchArg = '8', sizeArg = '32', repeatsArg = '3', backendsArg = 'webgpu,cpu'] =
  process.argv.slice(2);
// A preset name, or a preset with overrides as JSON: 'tiny:{"baseChannels":16}'.
const [presetName, overrides] = presetArg.split(/:(.*)/s);
const preset = (UNET_PRESETS as Record<string, UNetConfig>)[presetName];
const config: UNetConfig | undefined = preset && {
  ...preset,
  ...(overrides ? (JSON.parse(overrides) as Partial<UNetConfig>) : {}),
};
if (!config) throw new Error(`unknown preset ${presetArg}; presets: ${Object.keys(UNET_PRESETS).join(', ')}`);
const [batch, size, repeats] = [Number(batchArg), Number(sizeArg), Number(repeatsArg)];
const stats = unetStats(config, { height: size, width: size });
console.log(
  `UNet preset ${presetArg}: ${stats.params} params, ${(stats.flopsPerImage / 1e6).toFixed(1)} MFLOP ` +
    `per ${size}x${size} image forward; batch ${batch}, ${repeats} warm repeats`,
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(run: () => T.Tensor[]): Promise<number> {
  const t0 = performance.now();
  const outs = run();
  await T.sync(...outs);
  const ms = performance.now() - t0;
  outs.forEach((o) => o.dispose());
  return ms;
}

for (const backend of backendsArg.split(',') as T.BackendName[]) {
  await T.setBackend(backend);
  const params: UNetParams = unetInit(T.key(0), config);
  const xt = T.normal(T.key(1), [batch, config.imageChannels, size, size]);
  const cond = T.normal(T.key(2), [batch, config.imageChannels, size, size]);
  const t = T.tensor(
    Array.from({ length: batch }, (_, i) => (i * 997) % 1000),
    { dtype: 'float32' },
  );
  const forward = () => [unetApply(params, config, xt, t, cond)];
  const lossOf = (p: UNetParams) => T.mean(T.square(unetApply(p, config, xt, t, cond)));
  const forwardBackward = () => {
    const [value, grads] = T.valueAndGrad(lossOf)(params);
    return [value, ...T.treeLeaves(grads)];
  };
  for (const [name, run] of [
    ['forward', forward],
    ['forward+backward', forwardBackward],
  ] as const) {
    const before = T.memory()[backend].tensors;
    const cold = await timeIt(run);
    const warm: number[] = [];
    for (let i = 0; i < repeats; i++) warm.push(await timeIt(run));
    const leaked = T.memory()[backend].tensors - before;
    const perImage = median(warm) / batch;
    console.log(
      `${backend.padEnd(6)} ${name.padEnd(17)} cold ${cold.toFixed(0).padStart(6)} ms, warm median ${median(warm).toFixed(0).padStart(6)} ms ` +
        `(${perImage.toFixed(1)} ms/image; runs ${warm.map((m) => m.toFixed(0)).join(', ')} ms)${leaked ? `; ${leaked} tensors leaked!` : ''}`,
    );
  }
  [xt, cond, t, ...T.treeLeaves(params)].forEach((x) => x.dispose());
}
if (T.isBackendStarted('webgpu'))
  console.log(`webgpu adapter: ${JSON.stringify(T.backendInfo('webgpu')).slice(0, 200)}`);
await T.shutdown();
