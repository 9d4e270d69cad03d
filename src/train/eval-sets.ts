// The evaluation sets, as (LQ, HQ) pairs at the policy's size, each degraded with a fixed key so
// every method is scored on the same inputs: held-out synthetic faces, the real-face set, or a
// user's folder of face images.
import { readFaceFolder } from '../data/folder.js';
import { loadRealFaces } from '../data/real-faces.js';
import { foldIn, key } from '../random/index.js';
import { slice } from '../tensor/ops/movement.js';
import { DEMO_DEGRADATION } from './demo-data.js';
import { pairsFromImages, syntheticPairs, type PairSet } from './pairs.js';

/** 'synthetic' (held-out test identities), 'real' (face-api's aligned demo faces), or a folder path. */
export type EvalSetName = 'synthetic' | 'real' | (string & {});

export interface EvalSetOptions {
  readonly size: number;
  /** At most this many pairs (synthetic: exactly this many). */
  readonly count: number;
  readonly seed?: number;
}

/** The label reports use for a set. */
export const evalSetLabel = (name: EvalSetName): string => (name === 'synthetic' ? 'synthetic (held-out)' : name === 'real' ? 'real faces' : `folder ${name}`);

/** Builds an evaluation set of pairs (deterministic for the seed). */
export async function evalSet(name: EvalSetName, { size, count, seed = 0 }: EvalSetOptions): Promise<PairSet> {
  const k = foldIn(key(seed), 0x5e7);
  if (name === 'synthetic') return syntheticPairs({ split: 'test', count, size, seed, degradation: DEMO_DEGRADATION });
  if (name === 'real') {
    const real = await loadRealFaces({ size: 64 });
    try {
      const n = Math.min(count, real.images.shape[0]);
      const images = n === real.images.shape[0] ? real.images : slice(real.images, [0], [n]);
      try {
        return await pairsFromImages(k, images, real.ids.slice(0, n), size, DEMO_DEGRADATION);
      } finally {
        if (images !== real.images) images.dispose();
      }
    } finally {
      real.images.dispose();
    }
  }
  const folder = await readFaceFolder(name, { size, resize: true, limit: count });
  const images = folder.batch(0, folder.images.length);
  try {
    return await pairsFromImages(k, images, folder.files, size, DEMO_DEGRADATION);
  } finally {
    images.dispose();
  }
}
