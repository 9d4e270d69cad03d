// The procedural face generator: deterministic per key, varied across keys, disjoint splits.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { key, setBackend, split } from '../src/index.js';
import { faceDataset, faceParams, generateFace, SPLIT_IDS, splitOfIdentity } from '../src/data/faces.js';
import { permutation } from '../src/random/permutation.js';
import { renderFace } from '../src/data/face-render.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const meanAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

describe('generateFace', () => {
  it('gives the same bytes for the same key', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const a = generateFace(key(seed), 32).hq;
        const b = generateFace(key(seed), 32).hq;
        expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      }),
      { numRuns: 5 },
    );
  });

  it('gives different faces for different keys', () => {
    const [k1, k2] = split(key(7));
    expect(meanAbsDiff(generateFace(k1, 32).hq, generateFace(k2, 32).hq)).toBeGreaterThan(0.02);
  });

  it.each([32, 64, 128])('renders %i px faces as [3, H, W] values in [0, 1] without NaN', (size) => {
    const { hq } = generateFace(key(size), size);
    expect(hq.length).toBe(3 * size * size);
    expect(hq.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  });

  it('anti-aliases: a face has intermediate values between flat regions (not just a few colours)', () => {
    const { hq } = generateFace(key(3), 64);
    const distinct = new Set(Array.from(hq.subarray(0, 64 * 64), (v) => Math.round(v * 255)));
    expect(distinct.size).toBeGreaterThan(60);
  });
});

describe('faceDataset', () => {
  it('keeps train, validation and test identities disjoint', () => {
    const ids = (s: 'train' | 'validation' | 'test') =>
      new Set(Array.from({ length: 50 }, (_, i) => faceDataset({ split: s, count: 50 }).identityOf(i)));
    const [tr, va, te] = [ids('train'), ids('validation'), ids('test')];
    for (const id of va) expect(tr.has(id) || te.has(id)).toBe(false);
    for (const id of te) expect(tr.has(id)).toBe(false);
    expect(splitOfIdentity(SPLIT_IDS.validation.first)).toBe('validation');
    expect(splitOfIdentity(SPLIT_IDS.test.first - 1)).toBe('validation');
    expect(splitOfIdentity(SPLIT_IDS.test.first)).toBe('test');
  });

  it('gives the same identity the same parameters and different nuisance per picture', () => {
    const a = faceParams(0, 12, 0);
    const b = faceParams(0, 12, 1);
    expect(b.identity).toEqual(a.identity);
    expect(b.nuisance).not.toEqual(a.nuisance);
    expect(faceParams(1, 12, 0).identity).not.toEqual(a.identity);
  });

  it('groups samplesPerIdentity consecutive pictures under one identity', () => {
    const ds = faceDataset({ split: 'test', size: 32, count: 6, samplesPerIdentity: 3 });
    expect(Array.from({ length: 6 }, (_, i) => ds.identityOf(i) - SPLIT_IDS.test.first)).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...ds].map((s) => s.sample)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('batches into [N, 3, H, W] tensors equal to the rendered pictures', async () => {
    const ds = faceDataset({ split: 'validation', size: 32, count: 5, seed: 3 });
    const batches = [...ds.batches(2)];
    expect(batches.map((b) => b.hq.shape)).toEqual([
      [2, 3, 32, 32],
      [2, 3, 32, 32],
      [1, 3, 32, 32],
    ]);
    const second = await batches[1].hq.data();
    expect(Array.from(second.subarray(3 * 32 * 32))).toEqual(Array.from(ds.get(3).hq));
    batches.forEach((b) => b.hq.dispose());
    expect([...ds.batches(2, { dropLast: true })].map((b) => (b.hq.dispose(), b.identities.length))).toEqual([2, 2]);
  });

  it('shuffles with a key: a permutation, the same for the same key', () => {
    const p = permutation(key(5), 20);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(permutation(key(5), 20)).toEqual(p);
    expect(p).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('refuses bad options with the allowed values', () => {
    expect(() => faceDataset({ split: 'dev' as 'train', count: 1 })).toThrow(/'train', 'validation' or 'test'/);
    expect(() => faceDataset({ split: 'train', count: -1 })).toThrow(/count must be an integer >= 0/);
    expect(() => renderFace(faceParams(0, 0), 4)).toThrow(/size must be an integer in \[8, 1024\]/);
  });
});
