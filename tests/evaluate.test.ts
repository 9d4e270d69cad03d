// Evaluation: scoreImages gives, per image, exactly what each standalone metric gives (the face
// metrics now share one face-ResNet pass per image tensor), leaves no tensors behind, and
// evaluateRestorer scores every pair in batches and refuses face metrics without the networks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  clamp,
  disposeTree,
  key,
  memory,
  mul,
  normal,
  scope,
  setBackend,
  tensor,
  type Tensor,
} from '../src/index.js';
import { FACE_FEATURE_LAYERS, faceFeatureCache, type FaceFeatures } from '../src/metrics/face-embedding/features.js';
import { generateFace } from '../src/data/faces.js';
import { faceEmbedding, identitySimilarity } from '../src/metrics/face-embedding/face-recognition-net.js';
import { landmarkDistance } from '../src/metrics/face-landmarks/face-landmark-net.js';
import { perceptualDistance } from '../src/metrics/perceptual.js';
import { psnr } from '../src/metrics/psnr.js';
import { ssim } from '../src/metrics/ssim.js';
import {
  disposeMetricContext,
  evaluateRestorer,
  metricContext,
  type MetricContext,
  type MetricName,
  scoreImages,
} from '../src/train/evaluate.js';
import type { PairSet } from '../src/train/pairs.js';
import { evaluateMethods, policyRestorer, policySampleRestorer } from '../src/cli/commands/eval.js';
import { initPolicyParams, policyOf } from '../src/train/policy.js';
import { MICRO_UNET } from './support/micro-policy.js';
import { useBackends } from './support/backends.js';

useBackends();

const SIZE = 32;
let ctx: MetricContext;
let gt: Tensor;
let restored: Tensor;

beforeAll(() => {
  ctx = metricContext();
  const faces = [1, 2, 3].map((i) => generateFace(key(i), SIZE).hq);
  gt = tensor(Float32Array.from(faces.flatMap((f) => [...f])), { shape: [3, 3, SIZE, SIZE] });
  restored = scope(() => clamp(add(gt, mul(normal(key(9), gt.shape), 0.08)), { min: 0, max: 1 }));
});

afterAll(() => {
  [gt, restored].forEach((t) => t?.dispose());
  if (ctx) disposeMetricContext(ctx);
});

const host = async (make: () => Tensor): Promise<number[]> => {
  const t = scope(make);
  try {
    return Array.from(await t.data());
  } finally {
    t.dispose();
  }
};

describe('scoreImages', () => {
  it('gives each metric what the standalone metric gives, and frees everything it made', async () => {
    const before = memory().webgpu.tensors;
    const scores = await scoreImages(ctx, restored, gt, gt);
    expect(memory().webgpu.tensors).toBe(before);

    const standalone: Partial<Record<MetricName, number[]>> = {
      psnr: await host(() => psnr(restored, gt)),
      ssim: await host(() => ssim(restored, gt)),
      perceptual: await host(() => perceptualDistance(ctx.recognition, restored, gt)),
      identity: await host(() =>
        identitySimilarity(faceEmbedding(ctx.recognition, restored), faceEmbedding(ctx.recognition, gt)),
      ),
      lmd: await host(() => landmarkDistance(restored, gt, ctx.landmarks)),
      reward: await host(() => ctx.reward(restored, gt, gt).total),
    };
    for (const [name, want] of Object.entries(standalone)) {
      const got = Array.from(scores[name as MetricName]);
      expect(got.length, name).toBe(3);
      got.forEach((v, i) => expect(v, `${name}[${i}]`).toBeCloseTo(want![i], 4));
    }
    expect(scores.brisque.length).toBe(3);
    // The noisy images are not the ground truth: the face metrics see it.
    scores.perceptual.forEach((d) => expect(d).toBeGreaterThan(0));
    scores.identity.forEach((c) => expect(c).toBeLessThan(1));
  });

  it("lets the reward reuse the evaluation's face features when they come from its network and taps", async () => {
    const cache = faceFeatureCache(ctx.recognition);
    let lookups = 0;
    const of = (x: Tensor): FaceFeatures => (lookups++, cache.of(x));
    try {
      const plain = await host(() => ctx.reward(restored, gt, gt).total);
      const reused = await host(
        () =>
          ctx.reward(restored, gt, gt, { faceFeatures: { params: ctx.recognition, layers: FACE_FEATURE_LAYERS, of } })
            .total,
      );
      expect(cache.passes).toBe(2); // restored and gt, each computed once for both face terms
      reused.forEach((v, i) => expect(v).toBeCloseTo(plain[i], 6));
      // Another network's features, or other taps, are not taken.
      lookups = 0;
      await host(
        () =>
          ctx.reward(restored, gt, gt, {
            faceFeatures: { params: { ...ctx.recognition }, layers: FACE_FEATURE_LAYERS, of },
          }).total,
      );
      await host(
        () =>
          ctx.reward(restored, gt, gt, {
            faceFeatures: { params: ctx.recognition, layers: FACE_FEATURE_LAYERS.slice(1), of },
          }).total,
      );
      expect(lookups).toBe(0);
    } finally {
      cache.dispose();
    }
  });

  it('scores only the metrics asked for', async () => {
    const scores = await scoreImages(ctx, restored, gt, gt, ['identity', 'psnr']);
    expect(Object.keys(scores).sort()).toEqual(['identity', 'psnr']);
  });
});

describe('evaluateRestorer', () => {
  const pairs = () => {
    const faces = [4, 5, 6, 7, 8].map((i) => generateFace(key(i), SIZE).hq);
    const hq = Float32Array.from(faces.flatMap((f) => [...f]));
    const set: PairSet = { count: 5, size: SIZE, hq, lq: hq.map((v) => v * 0.9), ids: ['a', 'b', 'c', 'd', 'e'] };
    return set;
  };

  it('restores and scores every pair in batches, keeping the restorations in pair order', async () => {
    const set = pairs();
    const batches: number[] = [];
    const before = memory().webgpu.tensors;
    const result = await evaluateRestorer(ctx, (lq, b) => (batches.push(b), scope(() => mul(lq, 1 / 0.9))), set, {
      batchSize: 2,
      metrics: ['psnr', 'identity'],
    });
    expect(memory().webgpu.tensors).toBe(before);
    expect(batches).toEqual([0, 1, 2]);
    expect(result.scores.psnr!.length).toBe(5);
    expect(result.scores.identity!.length).toBe(5);
    result.scores.identity!.forEach((c) => expect(c).toBeGreaterThan(0.99));
    for (let i = 0; i < set.hq.length; i += 997) expect(result.restored[i]).toBeCloseTo(set.hq[i], 5);
  });

  it('refuses face metrics without the face networks, naming them and the fix', async () => {
    await expect(evaluateRestorer(undefined, (lq) => lq, pairs(), { metrics: ['psnr', 'identity'] })).rejects.toThrow(
      /need the face networks; pass metricContext/,
    );
  });

  it('evaluateMethods averages the scores of several restorers per face, on the metrics the method asks for', async () => {
    const set = pairs();
    const scale = (f: number) => (lq: Tensor) => scope(() => clamp(mul(lq, f), { min: 0, max: 1 }));
    const [a, b] = [scale(1), scale(1 / 0.9)];
    const before = memory().webgpu.tensors;
    const [single, averaged] = await evaluateMethods(
      ctx,
      [
        { name: 'a', restorer: a },
        { name: 'a and b', restorers: [a, b], metrics: ['psnr', 'ssim'] },
      ],
      set,
      'set',
      { metrics: ['psnr', 'ssim', 'identity'], quiet: true },
    );
    const [bAlone] = await evaluateMethods(ctx, [{ name: 'b', restorer: b }], set, 'set', {
      metrics: ['psnr', 'ssim'],
      quiet: true,
    });
    expect(memory().webgpu.tensors).toBe(before);
    expect(Object.keys(single.scores)).toEqual(['psnr', 'ssim', 'identity']);
    expect(Object.keys(averaged.scores)).toEqual(['psnr', 'ssim']);
    for (const m of ['psnr', 'ssim'] as const)
      averaged.scores[m]!.forEach((v, i) =>
        expect(v).toBeCloseTo((single.scores[m]![i] + bAlone.scores[m]![i]) / 2, 6),
      );
    expect(averaged.restored).toEqual(single.restored); // the first restorer's images
    await expect(evaluateMethods(ctx, [{ name: 'none', restorers: [] }], set, 'set')).rejects.toThrow(
      /method "none" has no restorers/,
    );
  });

  it.each(['webgpu', 'cpu'] as const)(
    'a meanOf method gives the bytes and scores of restore with samples: n, from the scored samples (%s)',
    async (backend) => {
      // 11 faces: two batches of EVAL_BATCH, the second short.
      const size = 16;
      const faces = Array.from({ length: 11 }, (_, i) => generateFace(key(20 + i), size).hq);
      const hq = Float32Array.from(faces.flatMap((f) => [...f]));
      const set: PairSet = { count: 11, size, hq, lq: hq.map((v) => v * 0.8), ids: faces.map((_, i) => `f${i}`) };
      const policy = policyOf({ name: 'micro', unet: MICRO_UNET }, size);
      const before = memory()[backend].tensors;
      const params = initPolicyParams(policy, key(3), backend);
      const sampling = { steps: 4, eta: 1, seed: 7 };
      try {
        await setBackend(backend);
        const [mean, samples, meanOfSamples] = await evaluateMethods(
          backend === 'webgpu' ? ctx : undefined,
          [
            { name: 'restore, samples 3', restorer: policyRestorer(policy, params, { ...sampling, samples: 3 }) },
            { name: 'samples', restorers: [0, 1, 2].map((i) => policySampleRestorer(policy, params, sampling, i)) },
            { name: 'mean of the samples', meanOf: 'samples' },
          ],
          set,
          'set',
          { metrics: ['psnr', 'ssim'], quiet: true },
        );
        expect(meanOfSamples.restored).toEqual(mean.restored);
        expect(meanOfSamples.scores).toEqual(mean.scores);
        expect(samples.restored).not.toEqual(mean.restored);
        await expect(
          evaluateMethods(undefined, [{ name: 'm', meanOf: 'later' }], set, 'set', { metrics: ['psnr'], quiet: true }),
        ).rejects.toThrow(/method "m" averages "later", which is not an earlier method of this call; list it first/);
      } finally {
        await setBackend('webgpu');
        disposeTree(params);
      }
      expect(memory()[backend].tensors).toBe(before);
    },
  );
});
