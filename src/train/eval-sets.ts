// The evaluation sets, as (LQ, HQ) pairs at the policy's size, each degraded with a fixed key so
// every method is scored on the same inputs: held-out synthetic faces, the real-face set, or a
// user's folder of face images.
import { readFaceFolder } from '../data/folder.js';
import { loadRealFaces } from '../data/real-faces.js';
import { foldIn, key, STREAMS, slice } from '../index.js';
import type { Tensor } from '../index.js';
import type { FaceSplit } from '../data/faces.js';
import { degradationFor } from './demo-data.js';
import { degradePairs, pairsFromImages, syntheticPairs, type PairSet } from './pairs.js';

/** 'synthetic' (held-out cartoon faces), 'photo' (held-out photographic procedural faces), 'real' (face-api's aligned demo faces), or a folder path. */
export type EvalSetName = 'synthetic' | 'photo' | 'real' | (string & {});

export interface EvalSetOptions {
  readonly size: number;
  /** At most this many pairs (synthetic: exactly this many). */
  readonly count: number;
  readonly seed?: number;
}

/** The label reports use for a set. */
export const evalSetLabel = (name: EvalSetName): string =>
  name === 'synthetic'
    ? 'synthetic (held-out)'
    : name === 'photo'
      ? 'photographic synthetic (held-out)'
      : name === 'real'
        ? 'real faces'
        : `folder ${name}`;

/** Procedural faces of a style and split, each degraded once as every evaluation set is (deterministic for the seed). */
export const proceduralPairs = (
  style: 'photo' | 'cartoon',
  split: FaceSplit,
  { size, count, seed = 0 }: EvalSetOptions,
): Promise<PairSet> => syntheticPairs({ split, count, size, seed, degradation: degradationFor(size), style });

/**
 * Real face images [N, 3, H, W] in [0, 1] as pairs at `size`, degraded as the real evaluation set
 * is (its key stream, the demo's degradation), so other real photographs are scored alike.
 */
export const realPhotoPairs = (
  images: Tensor,
  ids: readonly string[],
  { size, seed = 0 }: Omit<EvalSetOptions, 'count'>,
): Promise<PairSet> =>
  pairsFromImages(foldIn(key(seed), STREAMS.evalSetChoice), images, ids, size, degradationFor(size));

/** Builds an evaluation set of pairs (deterministic for the seed). */
export async function evalSet(name: EvalSetName, { size, count, seed = 0 }: EvalSetOptions): Promise<PairSet> {
  if (name === 'synthetic' || name === 'photo')
    return proceduralPairs(name === 'photo' ? 'photo' : 'cartoon', 'test', { size, count, seed });
  if (name === 'real') {
    const real = await loadRealFaces({ size: 64 });
    try {
      const n = Math.min(count, real.images.shape[0]);
      const images = n === real.images.shape[0] ? real.images : slice(real.images, [0], [n]);
      try {
        return await realPhotoPairs(images, real.ids.slice(0, n), { size, seed });
      } finally {
        if (images !== real.images) images.dispose();
      }
    } finally {
      real.images.dispose();
    }
  }
  return folderPairs(name, 'test', { size, count, seed });
}

/**
 * Pairs from a folder of face images (an FFHQ-style set), resized to `size` and degraded. Every
 * tenth file (index 9, 19, ...) is held out: 'validation' and 'test' read those, 'train' the rest.
 */
export async function folderPairs(
  dir: string,
  split: FaceSplit,
  { size, count, seed = 0 }: EvalSetOptions,
): Promise<PairSet> {
  const folder = await readFaceFolder(dir, { size, resize: true });
  const held = (i: number) => i % 10 === 9;
  const chosen = folder.files
    .map((_, i) => i)
    .filter((i) => (split === 'train' ? !held(i) : held(i)))
    .slice(0, count);
  if (chosen.length === 0)
    throw new Error(
      `folderPairs: ${dir} has ${folder.files.length} images, none in the ${split} split (every tenth file is held out); add images.`,
    );
  // Already at `size`; on the host, so the set may be larger than one device buffer.
  return await degradePairs(
    foldIn(key(seed), split === 'train' ? 1 : 3),
    { count: chosen.length, size, data: concatHost(chosen.map((i) => folder.images[i])) },
    chosen.map((i) => folder.files[i]),
    degradationFor(size),
  );
}

/** The training source of photographic faces with every second picture a dead-leaves picture (src/data/dead-leaves.ts). */
export const PHOTO_AND_LEAVES = 'photo+leaves';

/**
 * Training or validation pairs from 'synthetic' (cartoon) or 'photo' procedural faces, 'photo+leaves'
 * (half dead-leaves pictures), or a folder (the real-face set is for evaluation only).
 */
export async function trainingPairs(
  source: EvalSetName,
  split: 'train' | 'validation',
  options: EvalSetOptions,
): Promise<PairSet> {
  if (source === 'synthetic' || source === 'photo' || source === PHOTO_AND_LEAVES) {
    return syntheticPairs({
      split,
      count: options.count,
      size: options.size,
      seed: options.seed ?? 0,
      degradation: degradationFor(options.size),
      style: source === 'synthetic' ? 'cartoon' : 'photo',
      deadLeaves: source === PHOTO_AND_LEAVES,
    });
  }
  if (source === 'real')
    throw new Error(
      "the real-face set is for evaluation only (22 faces); train on 'synthetic' or a folder of face images.",
    );
  return folderPairs(source, split, options);
}

function concatHost(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}
