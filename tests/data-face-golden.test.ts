// Pins the procedural faces to the byte: for both styles, the parameters and the rendered pixels of
// several pictures at 32 and 64 px, and the degraded training pairs made from them. The committed
// SFT checkpoint, the demo's numbers and the pinned tests are tied to these bytes, so a change to
// the generator that moves any hash is a change to the data, not a refactor.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { key, setBackend } from '../src/index.js';
import { FACE_STYLES, faceDataset, generateFace, type FaceStyle } from '../src/data/faces.js';
import { syntheticPairs } from '../src/train/pairs.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const sha = (...parts: (Float32Array | string)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex').slice(0, 16);
};

/** JSON with keys sorted, so the hash pins every value but not the order fields are listed in. */
const canonical = (x: unknown): string =>
  JSON.stringify(x, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

/** One hash per (style, case): pixels and parameters of every picture in the case. */
function datasetHash(style: FaceStyle, size: number, nuisance: boolean): string {
  const set = faceDataset({ split: 'train', count: 6, size, seed: 3, samplesPerIdentity: 2, nuisance, style });
  const val = faceDataset({ split: 'validation', count: 2, size, seed: 11, style });
  const samples = [...set, ...val];
  return sha(...samples.flatMap((s) => [s.hq, canonical(s.params)]));
}

const GOLDEN: Record<FaceStyle, Record<string, string>> = {
  cartoon: {
    'dataset-32': '2cd0cc34413a76d4',
    'dataset-64': 'b9988e0a83ad8a08',
    'neutral-32': '24998e092a9090d9',
    'neutral-64': 'fe284937378d7c86',
    generate: 'e9bedf02f9a40233',
    pairs: 'af5f4354a42058b7',
  },
  photo: {
    'dataset-32': '422fb2967dc74f08',
    'dataset-64': 'c1806567ef94db96',
    'neutral-32': '9bd567219e13a94c',
    'neutral-64': 'c7b56e9886391ea4',
    generate: '1798660b17d05d2b',
    pairs: '6badd346eb81a63f',
  },
};

describe.each(FACE_STYLES)('%s faces keep their bytes', (style) => {
  it.each([32, 64])('faceDataset at %i px (with nuisance)', (size) => {
    expect(datasetHash(style, size, true)).toBe(GOLDEN[style][`dataset-${size}`]);
  });

  it.each([32, 64])('faceDataset at %i px (neutral nuisance)', (size) => {
    expect(datasetHash(style, size, false)).toBe(GOLDEN[style][`neutral-${size}`]);
  });

  it('generateFace for several keys at 32, 64 and 128 px', () => {
    const parts = [0, 5, 123456].flatMap((seed) =>
      [32, 64, 128].flatMap((size) => {
        const { params, hq } = generateFace(key(seed), size, style);
        return [hq, canonical(params)];
      }),
    );
    expect(sha(...parts)).toBe(GOLDEN[style].generate);
  });

  it('the degraded training pairs at 32 px', async () => {
    const pairs = await syntheticPairs({ split: 'train', count: 4, size: 32, seed: 2, style });
    expect(sha(pairs.hq, pairs.lq, pairs.ids.join(','))).toBe(GOLDEN[style].pairs);
  });
});
