// Training and evaluation pairs (LQ, HQ) held on the host: degraded once, batched on demand, so a
// training loop never waits on the host JPEG round trip of the degradation model.
import { degrade, type DegradationConfig } from '../data/degrade.js';
import { faceDataset, type FaceSplit, type FaceStyle } from '../data/faces.js';
import { deadLeaves } from '../data/dead-leaves.js';
import { resizeBilinear } from '../data/resize.js';
import { foldIn, key, permutation, tensor, slice, scope, Tensor } from '../index.js';
import type { PRNGKey, BackendName } from '../index.js';

/** N pairs of [3, size, size] float32 images in [0, 1], stored back to back (NCHW). */
export interface PairSet {
  readonly count: number;
  readonly size: number;
  readonly hq: Float32Array;
  readonly lq: Float32Array;
  /** Where each pair came from (an identity id, a file name, a real-face id). */
  readonly ids: readonly string[];
}

/** One batch of a PairSet on a backend: both [N, 3, size, size] in [0, 1], the caller's to dispose. */
export interface PairBatch {
  readonly hq: Tensor;
  readonly lq: Tensor;
  readonly ids: readonly string[];
}

const CHUNK = 32; // images degraded per engine call: bounds memory, keeps the JPEG loop streaming

/** N images [3, size, size] in [0, 1] held on the host, back to back (NCHW). */
export interface HostImages {
  readonly count: number;
  readonly size: number;
  readonly data: Float32Array;
}

/**
 * Degrades `hq` ([N, 3, H, W] in [0, 1]: a tensor on any backend, which is not disposed, or host
 * images, which go to the device a chunk at a time, so a pool may be larger than one device
 * buffer) with image i keyed by foldIn(k, i), so the same key gives the same pairs whatever the
 * chunking.
 */
export async function degradePairs(
  k: PRNGKey,
  hq: Tensor | HostImages,
  ids: readonly string[],
  degradation: Partial<DegradationConfig> = {},
): Promise<PairSet> {
  const [n, size] = hq instanceof Tensor ? [hq.shape[0], hq.shape[2]] : [hq.count, hq.size];
  const plane = 3 * size * size;
  const hqHost = new Float32Array(n * plane);
  const lqHost = new Float32Array(n * plane);
  for (let start = 0; start < n; start += CHUNK) {
    const count = Math.min(CHUNK, n - start);
    const host = hq instanceof Tensor ? undefined : hq.data.subarray(start * plane, (start + count) * plane);
    const part =
      hq instanceof Tensor
        ? slice(hq, [start], [start + count])
        : tensor(host!, { shape: [count, 3, size, size], dtype: 'float32' });
    try {
      const { lq } = await degrade(foldIn(k, start / CHUNK), part, degradation);
      // Host images are copied as they are (a float32 round trip through the device is exact).
      hqHost.set(host ?? ((await part.data()) as Float32Array), start * plane);
      lqHost.set((await lq.data()) as Float32Array, start * plane);
      lq.dispose();
    } finally {
      part.dispose();
    }
  }
  return { count: n, size, hq: hqHost, lq: lqHost, ids };
}

export interface SyntheticPairsOptions {
  readonly split: FaceSplit;
  readonly count: number;
  readonly size: number;
  /** Seeds both the faces (which face each identity has) and the degradations. */
  readonly seed?: number;
  readonly degradation?: Partial<DegradationConfig>;
  /** The face generator (default 'cartoon'). */
  readonly style?: FaceStyle;
  /** Every second picture (odd indices) a dead-leaves picture instead of a face (default false). */
  readonly deadLeaves?: boolean;
}

/** `count` procedural faces of a split, each degraded once (deterministic for the seed). */
export async function syntheticPairs({
  split,
  count,
  size,
  seed = 0,
  degradation = {},
  style,
  deadLeaves: withLeaves = false,
}: SyntheticPairsOptions): Promise<PairSet> {
  const faces = faceDataset({ split, count, size, seed, ...(style ? { style } : {}) });
  const leafKey = foldIn(foldIn(key(seed), splitCode(split)), DEAD_LEAVES_STREAM);
  const isLeaves = (i: number) => withLeaves && i % 2 === 1;
  const plane = 3 * size * size;
  const data = new Float32Array(count * plane);
  for (let i = 0; i < count; i++)
    data.set(isLeaves(i) ? deadLeaves(foldIn(leafKey, i), size) : faces.get(i).hq, i * plane);
  // A split-specific key: the train and test splits never share a degradation draw.
  return await degradePairs(
    foldIn(key(seed), splitCode(split)),
    { count, size, data },
    Array.from({ length: count }, (_, i) =>
      isLeaves(i) ? `${split}-leaves-${i}` : `${split}-${faces.identityOf(i)}-${i}`,
    ),
    degradation,
  );
}

const splitCode = (split: FaceSplit): number => ({ train: 1, validation: 2, test: 3 })[split];
/** Folded into a split's key for its dead-leaves pictures (apart from the degradation draws). */
const DEAD_LEAVES_STREAM = 0x1eaf;

/**
 * Pairs from images already in memory ([N, 3, S, S] in [0, 1]), resized to `size` first when they
 * are larger (the real-face set is 64/128 px; a 32 px model evaluates on 32 px crops of it).
 */
export async function pairsFromImages(
  k: PRNGKey,
  images: Tensor,
  ids: readonly string[],
  size: number,
  degradation: Partial<DegradationConfig> = {},
): Promise<PairSet> {
  const resized =
    images.shape[2] === size && images.shape[3] === size
      ? images
      : scope(() => resizeBilinear(images, [size, size], { antialias: true }));
  try {
    return await degradePairs(k, resized, ids, degradation);
  } finally {
    if (resized !== images) resized.dispose();
  }
}

/** Pairs [start, start + count) of a set (or the given indices) as tensors on `backend`. */
export function pairBatch(set: PairSet, indices: readonly number[], backend?: BackendName): PairBatch {
  const plane = 3 * set.size * set.size;
  const hq = new Float32Array(indices.length * plane);
  const lq = new Float32Array(indices.length * plane);
  indices.forEach((i, n) => {
    if (!Number.isInteger(i) || i < 0 || i >= set.count)
      throw new RangeError(`pairBatch: index ${i} is outside the set's [0, ${set.count}).`);
    hq.set(set.hq.subarray(i * plane, (i + 1) * plane), n * plane);
    lq.set(set.lq.subarray(i * plane, (i + 1) * plane), n * plane);
  });
  const shape = [indices.length, 3, set.size, set.size];
  const where = backend ? { backend } : {};
  return {
    hq: tensor(hq, { shape, dtype: 'float32', ...where }),
    lq: tensor(lq, { shape, dtype: 'float32', ...where }),
    ids: indices.map((i) => set.ids[i]),
  };
}

/** The indices of epoch `epoch`'s shuffled order, cut into batches of `batchSize` (last partial batch dropped). */
export function epochBatches(k: PRNGKey, epoch: number, count: number, batchSize: number): number[][] {
  const order = permutation(foldIn(k, epoch), count);
  const out: number[][] = [];
  for (let s = 0; s + batchSize <= count; s += batchSize) out.push(order.slice(s, s + batchSize));
  return out;
}

/** The first `count` pairs of a set (for quick evaluations). */
export const takePairs = (set: PairSet, count: number): PairSet => {
  const n = Math.min(count, set.count);
  const plane = 3 * set.size * set.size;
  return {
    count: n,
    size: set.size,
    hq: set.hq.slice(0, n * plane),
    lq: set.lq.slice(0, n * plane),
    ids: set.ids.slice(0, n),
  };
};
