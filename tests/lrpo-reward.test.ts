// compositeReward and defaultReward: the total is the weighted sum of the terms, the ground truth
// outscores its degraded versions, each term stays in its documented range on both backends, and
// bad configurations are rejected when the reward is built.
import { beforeAll, describe, expect, it } from 'vitest';
import { add, clamp, concat, key, mean, mul, normal, scope, tensor, type Tensor } from '../src/index.js';
import {
  compositeReward,
  defaultReward,
  DEFAULT_REWARD_WEIGHTS,
  laplacianSharpness,
  RewardConfigError,
} from '../src/lrpo.js';
import { faceDataset } from '../src/data/faces.js';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import {
  faceEmbedding,
  identitySimilarity,
  loadFaceRecognitionParams,
  type FaceRecognitionParams,
} from '../src/metrics/face-embedding/index.js';
import { perceptualSimilarity } from '../src/metrics/perceptual.js';
import { slice } from '../src/tensor/ops/movement.js';
import { useBackends } from './support/backends.js';
import { readEnv } from '../src/env.js';

useBackends();

const report = (...args: unknown[]) => readEnv('REWARD_REPORT') && console.log(...args);
let params: { cpu: FaceRecognitionParams; webgpu: FaceRecognitionParams };
let gtHost: Float32Array;
const SIZE = 64;

beforeAll(async () => {
  params = {
    cpu: loadFaceRecognitionParams({ backend: 'cpu' }),
    webgpu: loadFaceRecognitionParams({ backend: 'webgpu' }),
  };
  const batch = [...faceDataset({ split: 'test', size: SIZE, count: 1, seed: 3 }).batches(1)][0].hq;
  gtHost = Float32Array.from(await batch.data());
  batch.dispose();
});

const LEVELS = ['gt', 'blur 1', 'blur 3', 'noise 0.05', 'noise 0.15'];

/** Five copies of one gt face; restored = the gt itself, then blur sigma 1 and 3, noise sigma 0.05 and 0.15; lq = blur 4. */
function candidates(backend: 'cpu' | 'webgpu'): { restored: Tensor; gt: Tensor; lq: Tensor } {
  return scope(() => {
    const one = tensor(gtHost, { shape: [1, 3, SIZE, SIZE], backend });
    const gt = concat(Array.from({ length: 5 }, () => one));
    const noisy = (sigma: number, seed: number) =>
      clamp(add(one, normal(key(seed), one.shape, { std: sigma, backend })), { min: 0, max: 1 });
    const blurred = (sigma: number) => blurImages(one, [gaussianKernel(13, sigma, sigma)], 13);
    const restored = concat([one, blurred(1), blurred(3), noisy(0.05, 1), noisy(0.15, 2)]);
    return {
      restored,
      gt,
      lq: blurImages(
        gt,
        Array.from({ length: 5 }, () => gaussianKernel(13, 4, 4)),
        13,
      ),
    };
  });
}

const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data());
async function readResult(r: {
  total: Tensor;
  terms: Readonly<Record<string, Tensor>>;
}): Promise<{ total: number[]; terms: Record<string, number[]> }> {
  const terms: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(r.terms)) terms[k] = await read(v);
  const total = await read(r.total);
  [r.total, ...Object.values(r.terms)].forEach((t) => t.dispose());
  return { total, terms };
}

describe('defaultReward', () => {
  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`on ${backend}: total is the weighted sum of the four terms, the gt scores highest, terms in their ranges`, async () => {
      const reward = defaultReward(params[backend]);
      const { restored, gt, lq } = candidates(backend);
      const { total, terms } = await readResult(reward(restored, gt, lq));
      [restored, gt, lq].forEach((t) => t.dispose());
      report(
        backend,
        'total',
        total.map((v) => v.toFixed(4)).join(' '),
        Object.entries(terms)
          .map(([k, v]) => `\n  ${k}: ${v.map((x) => x.toFixed(4)).join(' ')}`)
          .join(''),
      );
      expect(Object.keys(terms)).toEqual(['identity', 'perceptual', 'noReference', 'wavelet']);
      total.forEach((t, i) => {
        const expected = Object.entries(DEFAULT_REWARD_WEIGHTS).reduce((acc, [k, w]) => acc + w * terms[k][i], 0);
        expect(t, LEVELS[i]).toBeCloseTo(expected, 5);
      });
      for (let i = 1; i < LEVELS.length; i++) expect(total[i], `${LEVELS[i]} vs gt`).toBeLessThan(total[0]);
      expect(total[2]).toBeLessThan(total[1]); // more blur, less reward
      expect(total[4]).toBeLessThan(total[3]); // more noise, less reward
      for (const v of terms.identity) {
        expect(v).toBeGreaterThanOrEqual(-1 - 1e-6);
        expect(v).toBeLessThanOrEqual(1 + 1e-6);
      }
      expect(terms.identity[0]).toBeCloseTo(1, 5);
      for (const k of ['perceptual', 'noReference', 'wavelet']) {
        for (const v of terms[k]) {
          expect(v, k).toBeGreaterThanOrEqual(0);
          expect(v, k).toBeLessThanOrEqual(1);
        }
      }
      expect(terms.perceptual[0]).toBe(1);
      expect(terms.wavelet[0]).toBe(1);
    });
  }

  it('takes other weights and a plugged-in no-reference term', async () => {
    const reward = defaultReward(params.webgpu, {
      weights: { identity: 0, noReference: 1 },
      noReference: (x) => mean(x, { axis: [1, 2, 3] }),
    });
    const { restored, gt, lq } = candidates('webgpu');
    const { total, terms } = await readResult(reward(restored, gt, lq));
    const brightness = await read(mean(restored, { axis: [1, 2, 3] }));
    [restored, gt, lq].forEach((t) => t.dispose());
    terms.noReference.forEach((v, i) => expect(v).toBeCloseTo(brightness[i], 5));
    total.forEach((t, i) =>
      expect(t).toBeCloseTo(0.3 * terms.perceptual[i] + terms.noReference[i] + 0.3 * terms.wavelet[i], 5),
    );
  });

  it('scores a group against one reference as against that reference repeated, and its terms equal the standalone metrics', async () => {
    const reward = defaultReward(params.webgpu);
    const { restored, gt, lq } = candidates('webgpu');
    const one = scope(() => [slice(gt, [0], [1]), slice(lq, [0], [1])] as const);
    const grouped = await readResult(reward(restored, one[0], one[1]));
    const repeated = await readResult(reward(restored, gt, lq));
    const identity = await read(
      identitySimilarity(faceEmbedding(params.webgpu, restored), faceEmbedding(params.webgpu, gt)),
    );
    const perceptual = await read(perceptualSimilarity(params.webgpu, restored, gt));
    [restored, gt, lq, ...one].forEach((t) => t.dispose());
    for (const k of Object.keys(repeated.terms))
      grouped.terms[k].forEach((v, i) => expect(v, k).toBeCloseTo(repeated.terms[k][i], 5));
    identity.forEach((v, i) => expect(grouped.terms.identity[i]).toBeCloseTo(v, 5));
    perceptual.forEach((v, i) => expect(grouped.terms.perceptual[i]).toBeCloseTo(v, 5));
  });

  it('rejects unknown weight names', () => {
    expect(() => defaultReward(params.cpu, { weights: { clip: 1 } as never })).toThrow(
      /defaultReward: unknown weight\(s\) clip/,
    );
  });
});

describe('laplacianSharpness', () => {
  it('falls with blur and lies in [0, 1)', async () => {
    const { restored, gt, lq } = candidates('cpu');
    const s = await read(laplacianSharpness(restored));
    [restored, gt, lq].forEach((t) => t.dispose());
    report('sharpness', s.map((v) => v.toFixed(4)).join(' '));
    expect(s[1]).toBeLessThan(s[0]);
    expect(s[2]).toBeLessThan(s[1]);
    for (const v of s) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('compositeReward', () => {
  const x = () => tensor(new Float32Array(2 * 3 * 4 * 4).fill(0.5), { shape: [2, 3, 4, 4], backend: 'cpu' });
  const constant = (v: number) => (r: Tensor) => mul(mean(r, { axis: [1, 2, 3] }), v / 0.5);

  it('sums weight x term and returns every term by name', async () => {
    const reward = compositeReward({ a: { weight: 2, fn: constant(0.25) }, b: { weight: -1, fn: constant(3) } });
    const r = x();
    const { total, terms } = await readResult(reward(r, r, r));
    r.dispose();
    expect(terms.a).toEqual([0.25, 0.25]);
    expect(terms.b).toEqual([3, 3]);
    expect(total).toEqual([2 * 0.25 - 3, 2 * 0.25 - 3]);
  });

  it('is pure: editing the config after building does not change the reward', async () => {
    const config = { a: { weight: 1, fn: constant(1) } };
    const reward = compositeReward(config);
    (config.a as { weight: number }).weight = 100;
    const r = x();
    const { total } = await readResult(reward(r, r, r));
    r.dispose();
    expect(total).toEqual([1, 1]);
  });

  it('rejects bad configurations when built', () => {
    const fn = constant(1);
    expect(() => compositeReward({})).toThrow(RewardConfigError);
    expect(() => compositeReward({})).toThrow(/no terms/);
    expect(() => compositeReward({ a: { weight: NaN, fn } })).toThrow(
      /term "a" has weight NaN; weights must be finite/,
    );
    expect(() => compositeReward({ a: { weight: Infinity, fn } })).toThrow(/weights must be finite/);
    expect(() => compositeReward({ a: { weight: '1' as never, fn } })).toThrow(/weights must be finite/);
    expect(() => compositeReward({ a: { weight: 1, fn: 3 as never } })).toThrow(/term "a" has no fn/);
    expect(() => compositeReward({ '': { weight: 1, fn } })).toThrow(/names must be non-empty/);
    expect(() =>
      compositeReward([
        { name: 'a', weight: 1, fn },
        { name: 'a', weight: 2, fn },
      ]),
    ).toThrow(/two terms are named "a"; names must be unique/);
  });

  it('rejects a term that does not return one score per image, and mismatched batches', () => {
    const r = x();
    const wrong = compositeReward({ flat: { weight: 1, fn: (a) => mean(a) } });
    expect(() => wrong(r, r, r)).toThrow(
      /term "flat" returned shape \[\]; a term must return one score per image, shape \[2\]/,
    );
    const ok = compositeReward({ a: { weight: 1, fn: constant(1) } });
    const lq1 = tensor(new Float32Array(3 * 4 * 4), { shape: [1, 3, 4, 4], backend: 'cpu' });
    expect(() => ok(r, r, lq1)).toThrow(
      /lq \[1, 3, 4, 4\] has 1 images but gt \[2, 3, 4, 4\] has 2; pass one LQ input per ground truth/,
    );
    const other = tensor(new Float32Array(2 * 3 * 4 * 2), { shape: [2, 3, 4, 2], backend: 'cpu' });
    expect(() => ok(r, other, r)).toThrow(/restored \[2, 3, 4, 4\] and gt \[2, 3, 4, 2\] do not fit/);
    const three = tensor(new Float32Array(3 * 3 * 4 * 4), { shape: [3, 3, 4, 4], backend: 'cpu' });
    expect(() => ok(three, r, r)).toThrow(/N = G \* K/); // 2 references cannot split 3 candidates
    [r, lq1, other, three].forEach((t) => t.dispose());
  });

  it('gives grouped terms one reference per group and the other terms one per candidate', async () => {
    const seen: Record<string, number[]> = {};
    const spy = (name: string) => (r: Tensor, gt: Tensor, lq: Tensor) => (
      (seen[name] = [gt.shape[0], lq.shape[0]]),
      mean(r, { axis: [1, 2, 3] })
    );
    const reward = compositeReward({
      plain: { weight: 1, fn: spy('plain') },
      grouped: { weight: 1, grouped: true, fn: spy('grouped') },
    });
    const candidates4 = tensor(new Float32Array(4 * 3 * 4 * 4).fill(0.5), { shape: [4, 3, 4, 4], backend: 'cpu' });
    const refs = x();
    const { total } = await readResult(reward(candidates4, refs, refs));
    [candidates4, refs].forEach((t) => t.dispose());
    expect(seen).toEqual({ plain: [4, 4], grouped: [2, 2] });
    expect(total).toEqual([1, 1, 1, 1]);
  });
});
