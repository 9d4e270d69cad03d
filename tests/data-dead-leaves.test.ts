// Dead-leaves pictures (src/data/dead-leaves.ts): a pure function of the key, in range, with the
// power-law radii it claims and pixel-scale energy near the 32 px real faces'; and the
// 'photo+leaves' training source puts them at odd indices without moving the faces.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deadLeaves, powerLawRadius } from '../src/data/dead-leaves.js';
import { finestDiagonal } from '../src/metrics/image-stats.js';
import { foldIn, key, setBackend } from '../src/index.js';
import { syntheticPairs } from '../src/train/pairs.js';
import { trainingPairs } from '../src/train/eval-sets.js';
import { degradationFor } from '../src/train/demo-data.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('deadLeaves', () => {
  it('is a pure function of its key, in [0, 1], and differs between keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 2, max: 40 }), (seed, size) => {
        const a = deadLeaves(key(seed), size);
        expect(a).toHaveLength(3 * size * size);
        expect(deadLeaves(key(seed), size)).toEqual(a);
        expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
        expect(deadLeaves(key(seed + 1), size)).not.toEqual(a);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a bad size or edge by name', () => {
    expect(() => deadLeaves(key(0), 1)).toThrow(/deadLeaves: size must be an integer >= 2, got 1/);
    expect(() => deadLeaves(key(0), 32, { edge: 0 })).toThrow(/deadLeaves: edge must be a positive/);
  });

  it('draws radii with density r^-3 between its bounds (inverse CDF)', () => {
    expect(powerLawRadius(0, 1.5, 16)).toBeCloseTo(1.5, 12);
    expect(powerLawRadius(1, 1.5, 16)).toBeCloseTo(16, 12);
    // P(r <= x) = (rMin^-2 - x^-2) / (rMin^-2 - rMax^-2): the median of [1, inf) is sqrt(2).
    expect(powerLawRadius(0.5, 1, Infinity)).toBeCloseTo(Math.SQRT2, 12);
  });

  it('has pixel-scale energy near the 32 px real faces (finest diagonal Haar band r.m.s. about 0.02)', () => {
    const values = Array.from({ length: 24 }, (_, i) => finestDiagonal(deadLeaves(foldIn(key(5), i), 32), 32));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.01);
    expect(mean).toBeLessThan(0.03);
  });
});

describe("the 'photo+leaves' training source", () => {
  it('puts dead leaves at odd indices and leaves the faces at even ones as they were', async () => {
    const options = {
      split: 'train',
      count: 4,
      size: 16,
      seed: 2,
      style: 'photo',
      degradation: degradationFor(16),
    } as const;
    const mixed = await trainingPairs('photo+leaves', 'train', { count: 4, size: 16, seed: 2 });
    const faces = await syntheticPairs(options);
    expect(mixed.ids.map((id) => id.includes('leaves'))).toEqual([false, true, false, true]);
    const plane = 3 * 16 * 16;
    for (const i of [0, 2]) {
      expect(mixed.hq.slice(i * plane, (i + 1) * plane)).toEqual(faces.hq.slice(i * plane, (i + 1) * plane));
      expect(mixed.lq.slice(i * plane, (i + 1) * plane)).toEqual(faces.lq.slice(i * plane, (i + 1) * plane));
    }
    expect(mixed.hq.slice(plane, 2 * plane)).not.toEqual(faces.hq.slice(plane, 2 * plane));
  });
});
