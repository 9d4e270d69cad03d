// Chooses restore's `strength` for a kind of face on held-out faces of that kind (docs/faces.md,
// "Restoration strength"): one sample of the checkpoint at each strength on a grid, scored against
// the LQ input with the demo's protocol (DDIM 10 steps, eta 1, noise seed 1000), and the strength
// with the highest mean reward (the objective LRPO trains for). Never run it on the evaluation
// faces: 'human' is the real-photo crops of @vladmandic/human kept apart from them by identity
// (build them with `npx tsx scripts/make-human-faces.ts --fetch`), 'photo' the validation split
// of the photographic procedural faces.
//   npx tsx scripts/calibrate-strength.ts <checkpoint> [set=human|photo] [count=64]
import { ready, tensor } from '../src/index.js';
import { evaluateMethods, identityRestorer, policyRestorer } from '../src/cli/commands/eval.js';
import { loadHumanFaces } from '../src/data/human-faces.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { disposeMetricContext, metricContext } from '../src/train/evaluate.js';
import { proceduralPairs, realPhotoPairs } from '../src/train/eval-sets.js';
import type { PairSet } from '../src/train/pairs.js';
import { policyOfCheckpoint } from '../src/train/policy.js';
import { meanInterval } from '../src/train/stats.js';

const [checkpoint, set = 'human', countArg = '64'] = process.argv.slice(2);
if (!checkpoint || !['human', 'photo'].includes(set))
  throw new Error('usage: npx tsx scripts/calibrate-strength.ts <checkpoint> [set=human|photo] [count=64]');
const STRENGTHS = Array.from({ length: 19 }, (_, i) => Math.round((0.1 + 0.05 * i) * 100) / 100);
const METRICS = ['reward', 'perceptual', 'identity', 'psnr'] as const;

await ready();
const ckpt = await loadCheckpoint(checkpoint, { withOptimizer: false });
const policy = policyOfCheckpoint(ckpt.info);
const size = policy.imageSize;

async function heldOut(): Promise<PairSet> {
  if (set === 'photo') return proceduralPairs('photo', 'validation', { size, count: Number(countArg) });
  const crops = loadHumanFaces('train');
  const n = Math.min(Number(countArg), crops.images.length);
  const images = tensor(Float32Array.from(crops.images.slice(0, n).flatMap((x) => [...x])), {
    shape: [n, 3, 64, 64],
  });
  try {
    return await realPhotoPairs(images, crops.ids.slice(0, n), { size });
  } finally {
    images.dispose();
  }
}

const pairs = await heldOut();
const ctx = metricContext();
try {
  const sampling = { steps: 10, eta: 1, seed: 1000 };
  const results = await evaluateMethods(
    ctx,
    [
      { name: 'LQ input', restorer: identityRestorer },
      ...STRENGTHS.map((strength) => ({
        name: `strength ${strength}`,
        restorer: policyRestorer(policy, ckpt.params, { ...sampling, strength }),
      })),
    ],
    pairs,
    set,
    { metrics: METRICS, quiet: true },
  );
  const lq = results[0].scores;
  console.log(
    `${checkpoint} on ${pairs.count} held-out ${set} faces; one sample, restored - LQ input (95% intervals):`,
  );
  console.log(`| strength | ${METRICS.join(' | ')} |\n| ---: |${METRICS.map(() => ' ---: |').join('')}`);
  const rows = results.slice(1).map((r, j) => {
    const d = Object.fromEntries(
      METRICS.map((m) => [m, meanInterval(Array.from(r.scores[m]!, (v, i) => v - lq[m]![i]))]),
    ) as Record<(typeof METRICS)[number], ReturnType<typeof meanInterval>>;
    const cell = (m: (typeof METRICS)[number]) =>
      `${d[m].mean.toFixed(m === 'psnr' ? 3 : 5)} ± ${d[m].halfWidth.toFixed(m === 'psnr' ? 3 : 5)}`;
    console.log(`| ${STRENGTHS[j]} | ${METRICS.map(cell).join(' | ')} |`);
    return { strength: STRENGTHS[j], reward: d.reward.mean };
  });
  const best = rows.reduce((a, b) => (b.reward > a.reward ? b : a));
  console.log(`highest mean reward: strength ${best.strength} (${best.reward.toFixed(5)} over the input)`);
} finally {
  disposeMetricContext(ctx);
}
process.exit(0);
