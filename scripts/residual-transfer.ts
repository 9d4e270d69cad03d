// How well a residual policy's one sample points at the truth, per evaluation set (issue 16): the
// truth's residual t = hq - lq and the sample's r = sample - lq, split at a 1 px Gaussian, their mean
// squares, the error's, the fine band's correlation, and the least-squares scale of r (t regressed on
// r, both bands): 1 where the sampled residual is all signal, 0 where it is all noise. Same protocol
// as the demo (DDIM 10 steps, eta 1, noise seed 1000). docs/faces.md, "Where one real-face sample goes wrong".
//   npx tsx scripts/residual-transfer.ts <checkpoint> [sets=real,photo] [count=32]
import { foldIn, key, ready, sub, scope, disposeTree } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gaussianBlur } from '../src/data/degrade.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { evalSet } from '../src/train/eval-sets.js';
import { pairBatch } from '../src/train/pairs.js';
import { policyOfCheckpoint, restore } from '../src/train/policy.js';

const [checkpoint, setsArg = 'real,photo', countArg = '32'] = process.argv.slice(2);
if (!checkpoint)
  throw new Error('usage: npx tsx scripts/residual-transfer.ts <checkpoint> [sets=real,photo] [count=32]');
const BATCH = 8; // the evaluation's batches, so batch b draws the noise foldIn(key(1000), b) as eval does
await ready();
const ckpt = await loadCheckpoint(checkpoint, { withOptimizer: false });
const policy = policyOfCheckpoint(ckpt.info);

/** Low (1 px Gaussian) and high bands of x, on the host. */
const bands = async (x: Tensor): Promise<[Float32Array, Float32Array]> => {
  const [lo, hi] = scope(() => {
    const low = gaussianBlur(x, 1);
    return [low, sub(x, low)];
  });
  const out: [Float32Array, Float32Array] = [(await lo.data()) as Float32Array, (await hi.data()) as Float32Array];
  disposeTree([lo, hi]);
  return out;
};
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i], 0);

console.log(
  '| set | t, low / high | r, low / high | (r - t), low / high | corr(r, t), high | least-squares scale of r |',
);
console.log('| :--- | ---: | ---: | ---: | ---: | ---: |');
try {
  for (const set of setsArg.split(',')) {
    const pairs = await evalSet(set, { size: ckpt.info.imageSize, count: Number(countArg) });
    // Sums over every pixel of the set: t.t, r.r, t.r per band.
    const sums = { tt: [0, 0], rr: [0, 0], tr: [0, 0], n: 0 };
    for (let b = 0; b * BATCH < pairs.count; b++) {
      const idx = Array.from({ length: Math.min(BATCH, pairs.count - b * BATCH) }, (_, i) => b * BATCH + i);
      const { hq, lq } = pairBatch(pairs, idx);
      const sample = restore(policy, ckpt.params, lq, foldIn(key(1000), b), { steps: 10, eta: 1, samples: 1 });
      const [t, r] = [sub(hq, lq), sub(sample, lq)];
      const [tb, rb] = [await bands(t), await bands(r)];
      for (const k of [0, 1]) {
        sums.tt[k] += dot(tb[k], tb[k]);
        sums.rr[k] += dot(rb[k], rb[k]);
        sums.tr[k] += dot(tb[k], rb[k]);
      }
      sums.n += tb[0].length;
      disposeTree([hq, lq, sample, t, r]);
    }
    const ms = (v: number) => (v / sums.n).toExponential(2);
    const err = (k: number) => sums.tt[k] + sums.rr[k] - 2 * sums.tr[k];
    const corr = sums.tr[1] / Math.sqrt(sums.tt[1] * sums.rr[1]);
    const scale = (sums.tr[0] + sums.tr[1]) / (sums.rr[0] + sums.rr[1]);
    console.log(
      `| ${set} (${pairs.count}) | ${ms(sums.tt[0])} / ${ms(sums.tt[1])} | ${ms(sums.rr[0])} / ${ms(sums.rr[1])} | ` +
        `${ms(err(0))} / ${ms(err(1))} | ${corr.toFixed(2)} | ${scale.toFixed(2)} |`,
    );
  }
} finally {
  disposeTree(ckpt.params);
}
