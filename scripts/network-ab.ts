// A/B of one code choice over a whole network, inside one process: the choice is switched between
// alternating calls and each pair of calls gives a ratio, so both sides run under the same machine
// conditions. On the shared 2-core machines the speed of a kernel swings by up to 1.8x in
// stretches of a fraction of a second to seconds (scripts/host-modes.ts), which process-level A/Bs
// (one process per side, even interleaved) mistake for effects of a few percent.
//
// The choice under test reads a global flag, added to the code for the measurement only, e.g. in
// conv.ts's defaultVariant: `(globalThis as Record<string, unknown>).__myRule ? newRule : oldRule`.
//   npx tsx scripts/network-ab.ts <flag> [fwd|fb|face|landmarks] [batch=16] [pairs=30]
// fwd / fb: the demo checkpoint's tiny UNet at 32 px, forward or forward + backward (not recorded:
// a jit replay would keep the first choice); face / landmarks: face-api's networks at batch `batch`.
// Prints the medians of both sides and of the paired ratios (flag on / off), wall and process CPU time.
import * as T from '../src/index.js';
import { DEMO_SFT } from '../src/cli/commands/demo.js';
import { faceEmbedding, loadFaceRecognitionParams } from '../src/metrics/face-embedding/face-recognition-net.js';
import { faceLandmarks68, loadFaceLandmarkParams } from '../src/metrics/face-landmarks/face-landmark-net.js';
import { unetApply, type UNetParams } from '../src/nn.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { policyOfCheckpoint } from '../src/train/policy.js';
import { summarize } from '../bench/timing.js';
import { timedCall } from './variant-ab-timing.js';

const [flag, work = 'fb', batchArg = '16', pairsArg = '30'] = process.argv.slice(2);
const WORKS = ['fwd', 'fb', 'face', 'landmarks'];
if (!flag || !WORKS.includes(work)) {
  console.error(`usage: network-ab.ts <flag> [${WORKS.join('|')}] [batch] [pairs]`);
  process.exit(2);
}
const [batch, pairs] = [Number(batchArg), Number(pairsArg)];
await T.setBackend('webgpu');

/** One call of the network, finished on the device. */
async function networkCall(): Promise<() => Promise<void>> {
  if (work === 'face' || work === 'landmarks') {
    const size = work === 'face' ? 150 : 112;
    const images = T.keep(T.uniform(T.key(3), [batch, 3, size, size]));
    const apply =
      work === 'face'
        ? (
            (p) => (x: T.Tensor) =>
              faceEmbedding(p, x)
          )(loadFaceRecognitionParams())
        : (
            (p) => (x: T.Tensor) =>
              faceLandmarks68(p, x)
          )(loadFaceLandmarkParams());
    return async () => {
      const out = T.scope(() => apply(images));
      await T.sync(out);
      out.dispose();
    };
  }
  const init = await loadCheckpoint(DEMO_SFT, { withOptimizer: false });
  const config = policyOfCheckpoint(init.info).unet;
  const params: UNetParams = init.params;
  const xt = T.keep(T.normal(T.key(1), [batch, 3, 32, 32]));
  const cond = T.keep(T.normal(T.key(2), [batch, 3, 32, 32]));
  const t = T.keep(
    T.tensor(
      Array.from({ length: batch }, (_, i) => 100 + ((7 * i) % 800)),
      { dtype: 'float32' },
    ),
  );
  if (work === 'fwd')
    return async () => {
      const eps = T.scope(() => unetApply(params, config, xt, t, cond));
      await T.sync(eps);
      eps.dispose();
    };
  const loss = (p: UNetParams) => T.mean(T.square(unetApply(p, config, xt, t, cond)));
  return async () => {
    const [value, grads] = T.valueAndGrad(loss)(params);
    await T.sync(value, ...T.treeLeaves(grads));
    T.dispose([value, grads]);
  };
}

const call = await networkCall();
const flags = globalThis as Record<string, unknown>;
const sides = { on: { wall: [] as number[], cpu: [] as number[] }, off: { wall: [] as number[], cpu: [] as number[] } };
async function timed(on: boolean, record: boolean): Promise<void> {
  flags[flag] = on;
  const { wallMs, cpuMs } = await timedCall(call);
  if (!record) return;
  const side = on ? sides.on : sides.off;
  side.wall.push(wallMs);
  side.cpu.push(cpuMs);
}
// Warm both sides (each compiles its kernels), then pairs in alternating order (off-on, on-off).
for (let i = 0; i < 3; i++) for (const on of [false, true]) await timed(on, false);
for (let i = 0; i < pairs; i++) for (const on of i % 2 ? [true, false] : [false, true]) await timed(on, true);

const median = (xs: readonly number[]) => summarize(xs).median;
const paired = (on: readonly number[], off: readonly number[]) => median(on.map((v, i) => v / off[i]));
console.log(
  `${work} batch ${batch}, ${pairs} pairs, flag ${flag}: wall off ${median(sides.off.wall).toFixed(1)} ms, ` +
    `on ${median(sides.on.wall).toFixed(1)} ms, paired on/off ${paired(sides.on.wall, sides.off.wall).toFixed(3)}; ` +
    `CPU off ${median(sides.off.cpu).toFixed(0)} ms, on ${median(sides.on.cpu).toFixed(0)} ms, ` +
    `paired ${paired(sides.on.cpu, sides.off.cpu).toFixed(3)}`,
);
