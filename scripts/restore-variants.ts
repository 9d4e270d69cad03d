// Where a policy's restorations lose to their input (issue 16): one checkpoint's restorations of
// evaluation sets under a few sampling and post-processing variants, next to the LQ input, with
// the demo's protocol (DDIM 10 steps, eta 1, noise seed 1000). The post-processed rows are
// diagnostics, not restorers: they say which scale of the restored residual helps or hurts.
//   npx tsx scripts/restore-variants.ts <checkpoint> [sets=real,photo] [count=32]
import { add, clamp, foldIn, key, ready, scope, sub, disposeTree } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gaussianBlur } from '../src/data/degrade.js';
import { evaluateMethods, formatResults, identityRestorer } from '../src/cli/commands/eval.js';
import { alias } from '../src/tensor/ops/movement.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { evalSet } from '../src/train/eval-sets.js';
import { disposeMetricContext, metricContext, type Restorer } from '../src/train/evaluate.js';
import { policyOfCheckpoint, restore } from '../src/train/policy.js';

const [checkpoint, setsArg = 'real,photo', countArg = '32'] = process.argv.slice(2);
if (!checkpoint)
  throw new Error('usage: npx tsx scripts/restore-variants.ts <checkpoint> [sets=real,photo] [count=32]');
await ready();
const ckpt = await loadCheckpoint(checkpoint, { withOptimizer: false });
const policy = policyOfCheckpoint(ckpt.info);

const sampled =
  (eta: number, samples = 1): Restorer =>
  (lq, b) =>
    restore(policy, ckpt.params, lq, foldIn(key(1000), b), { steps: 10, eta, samples });
/** One sample per batch, drawn once and shared by the rows derived from it (freed at the end). */
const oneSamples = new Map<number, Tensor>();
const oneSample: Restorer = (lq, b) => {
  if (!oneSamples.has(b)) oneSamples.set(b, sampled(1)(lq, b));
  return alias(oneSamples.get(b)!);
};
/** The restoration with its low frequencies (a sigma px blur) replaced by the input's. */
const inputLowPass =
  (sigma: number): Restorer =>
  (lq, b) =>
    scope(() => {
      const x = oneSample(lq, b);
      return clamp(add(sub(x, gaussianBlur(x, sigma)), gaussianBlur(lq, sigma)), { min: 0, max: 1 });
    });
/** The input plus the restored residual blurred by sigma px: the residual's coarse part only. */
const smoothResidual =
  (sigma: number): Restorer =>
  (lq, b) =>
    scope(() => clamp(add(lq, gaussianBlur(sub(oneSample(lq, b), lq), sigma)), { min: 0, max: 1 }));

const methods = [
  { name: 'LQ input', restorer: identityRestorer },
  { name: 'one sample', restorer: oneSample },
  { name: 'eta 0', restorer: sampled(0) },
  { name: 'input low-pass 1px', restorer: inputLowPass(1) },
  { name: 'input low-pass 2px', restorer: inputLowPass(2) },
  { name: 'input low-pass 3px', restorer: inputLowPass(3) },
  { name: 'input low-pass 5px', restorer: inputLowPass(5) },
  { name: 'residual blur 1.2px', restorer: smoothResidual(1.2) },
  { name: 'mean of 8', restorer: sampled(1, 8) },
];
const ctx = metricContext();
try {
  for (const set of setsArg.split(',')) {
    const pairs = await evalSet(set, { size: ckpt.info.imageSize, count: Number(countArg) });
    const results = await evaluateMethods(ctx, methods, pairs, set, {
      metrics: ['psnr', 'ssim', 'perceptual', 'identity', 'reward'],
      quiet: true,
    });
    console.log(`\n${set} (${pairs.count} faces), ${checkpoint}\n${formatResults(results)}`);
    disposeTree([...oneSamples.values()]);
    oneSamples.clear(); // the next set's batches are other faces
  }
} finally {
  disposeMetricContext(ctx);
  disposeTree(ckpt.params);
}
