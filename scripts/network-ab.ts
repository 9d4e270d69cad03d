// A/B of one code choice over a whole network, inside one process: the choice is switched between
// consecutive calls and each round of calls gives ratios, so both sides run under the same machine
// conditions. On the shared 2-core machines the speed of a kernel swings by up to 1.8x in
// stretches of a fraction of a second to seconds (scripts/host-modes.ts), which process-level A/Bs
// (one process per side, even interleaved) mistake for effects of a few percent.
//
// The choice under test reads a global flag, added to the code for the measurement only, e.g. in
// conv.ts's defaultVariant: `(globalThis as Record<string, unknown>).__myRule ? newRule : oldRule`.
//   npx tsx scripts/network-ab.ts <flag> [fwd|fb|fwd-small|fb-small|face|landmarks] [batch=16] [rounds=30]
// fwd / fb: the tiny photographic checkpoint's UNet at 32 px, forward or forward + backward (not
// recorded: a jit replay would keep the first choice); fwd-small / fb-small: the demo's small UNet
// (DEMO_SFT) the same way; face / landmarks: face-api's networks at batch `batch`
// (with WEBGPU_LRPO_JIT=0, for the same reason: their calls are recorded).
// Each round times three calls: flag off, flag on, and a control (flag off again, an A/A beside the
// A/B), in rotating orders. Prints the medians of each side and of the paired ratios on / off and
// control / off with distribution-free 95% intervals, wall and process CPU time: an effect counts
// where on / off's interval clears 1 and control / off's does not.
import * as T from '../src/index.js';
import { DEMO_SFT, TINY_PHOTO_SFT } from '../src/cli/commands/demo.js';
import { faceEmbedding, loadFaceRecognitionParams } from '../src/metrics/face-embedding/face-recognition-net.js';
import { faceLandmarks68, loadFaceLandmarkParams } from '../src/metrics/face-landmarks/face-landmark-net.js';
import { unetApply, type UNetParams } from '../src/nn.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { policyOfCheckpoint } from '../src/train/policy.js';
import { summarize } from '../bench/timing.js';
import { timedCall } from './variant-ab-timing.js';

const [flag, work = 'fb', batchArg = '16', roundsArg = '30'] = process.argv.slice(2);
const WORKS = ['fwd', 'fb', 'fwd-small', 'fb-small', 'face', 'landmarks'];
if (!flag || !WORKS.includes(work)) {
  console.error(`usage: network-ab.ts <flag> [${WORKS.join('|')}] [batch] [rounds]`);
  process.exit(2);
}
const [batch, rounds] = [Number(batchArg), Number(roundsArg)];
// The face nets record their calls (jit) when their modules load, and a replay keeps the kernels it
// recorded: the flag would switch nothing after the first rounds.
if ((work === 'face' || work === 'landmarks') && process.env.WEBGPU_LRPO_JIT !== '0') {
  console.error(
    `network-ab: ${work} calls are recorded and replayed; run with WEBGPU_LRPO_JIT=0 so the flag takes effect.`,
  );
  process.exit(2);
}
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
  const init = await loadCheckpoint(work.endsWith('-small') ? DEMO_SFT : TINY_PHOTO_SFT, { withOptimizer: false });
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
  if (work.startsWith('fwd'))
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
/** off and on, and a control: the flag off again, timed as a side of its own (an A/A beside the A/B). */
const ARMS = ['off', 'on', 'control'] as const;
type Arm = (typeof ARMS)[number];
const sides = Object.fromEntries(ARMS.map((a) => [a, { wall: [] as number[], cpu: [] as number[] }])) as Record<
  Arm,
  { wall: number[]; cpu: number[] }
>;
async function timed(arm: Arm, record: boolean): Promise<void> {
  flags[flag] = arm === 'on';
  const { wallMs, cpuMs } = await timedCall(call);
  if (!record) return;
  sides[arm].wall.push(wallMs);
  sides[arm].cpu.push(cpuMs);
}
// Warm every arm (each compiles its kernels), then rounds of the three in all six orders in turn,
// so no arm keeps a place in the round (a call's speed depends on what ran just before it).
const ORDERS: readonly (readonly Arm[])[] = [
  ['off', 'on', 'control'],
  ['on', 'control', 'off'],
  ['control', 'off', 'on'],
  ['off', 'control', 'on'],
  ['control', 'on', 'off'],
  ['on', 'off', 'control'],
];
for (let i = 0; i < 3; i++) for (const arm of ARMS) await timed(arm, false);
for (let i = 0; i < rounds; i++) for (const arm of ORDERS[i % ORDERS.length]) await timed(arm, true);

const median = (xs: readonly number[]) => summarize(xs).median;
/**
 * The median of the per-round ratios a / b and its distribution-free 95% interval (the order
 * statistics the binomial(n, 1/2) count puts around the median; exact enough from ~10 rounds).
 */
function pairedRatio(a: readonly number[], b: readonly number[]): string {
  const r = a.map((v, i) => v / b[i]).sort((x, y) => x - y);
  const k = Math.max(0, Math.floor(r.length / 2 - 0.98 * Math.sqrt(r.length)));
  return `${median(r).toFixed(3)} [${r[k].toFixed(3)}, ${r[r.length - 1 - k].toFixed(3)}]`;
}
const column = (kind: 'wall' | 'cpu') =>
  `${kind} off ${median(sides.off[kind]).toFixed(1)} ms, on ${median(sides.on[kind]).toFixed(1)} ms; ` +
  `on/off ${pairedRatio(sides.on[kind], sides.off[kind])}, control/off ${pairedRatio(sides.control[kind], sides.off[kind])}`;
console.log(`${work} batch ${batch}, ${rounds} rounds, flag ${flag} (median paired ratios [95% interval])`);
console.log(`  ${column('wall')}`);
console.log(`  ${column('cpu')}`);
