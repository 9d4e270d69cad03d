// The procedural face dataset: identities drawn from a seed, split into train / validation /
// test by disjoint identity-id ranges, rendered on the host and batched into [N, 3, H, W] tensors.
import type { KeyWords } from '../kernels/params.js';
import { key, permutation, tensor } from '../index.js';
import type { BackendName, PRNGKey, Tensor } from '../index.js';
import { foldInWords } from '../random/threefry.js';
import {
  FACE_STYLES,
  styleParams,
  type CartoonFaceParams,
  type FaceParams,
  type FaceParamsOf,
  type FaceStyle,
} from './face-params.js';
import { renderFace } from './face-render.js';
import { requireOptions } from '../tensor/ops/operand.js';

export { FACE_STYLES, type FaceStyle };

export type FaceSplit = 'train' | 'validation' | 'test';

/**
 * Identity ids of each split: disjoint ranges of 32-bit integers, so no identity (and no face
 * drawn from it) is ever shared between splits, whatever the dataset sizes.
 */
export const SPLIT_IDS: Readonly<Record<FaceSplit, { readonly first: number; readonly count: number }>> = Object.freeze(
  {
    train: { first: 0, count: 2 ** 30 },
    validation: { first: 2 ** 30, count: 2 ** 29 },
    test: { first: 2 ** 30 + 2 ** 29, count: 2 ** 29 },
  },
);

/** The split an identity id belongs to. */
export function splitOfIdentity(identity: number): FaceSplit {
  if (!Number.isInteger(identity) || identity < 0 || identity >= 2 ** 31) {
    throw new RangeError(`splitOfIdentity: identity ids are integers in [0, 2^31), got ${identity}.`);
  }
  return identity < SPLIT_IDS.validation.first ? 'train' : identity < SPLIT_IDS.test.first ? 'validation' : 'test';
}

/** Key-derivation tags separating identity draws from nuisance draws. */
const TAG = { identity: 0x1d, nuisance: 0x2e } as const;

const wordsOf = (k: PRNGKey | number): KeyWords => (typeof k === 'number' ? key(k).words : k.words);

const keysOf = (seed: PRNGKey | number, identity: number, sample: number) => {
  const root = wordsOf(seed);
  return {
    idKey: foldInWords(foldInWords(root, TAG.identity), identity),
    nuKey: foldInWords(foldInWords(foldInWords(root, TAG.nuisance), identity), sample),
  };
};

/**
 * The parameters of one picture: identity from (seed, identity), nuisance from (seed, identity,
 * sample); photographic unless `options.style` says otherwise.
 */
export function faceParams(
  seed: PRNGKey | number,
  identity: number,
  sample?: number,
  options?: { readonly nuisance?: boolean },
): FaceParams;
export function faceParams<S extends FaceStyle>(
  seed: PRNGKey | number,
  identity: number,
  sample: number,
  options: { readonly nuisance?: boolean; readonly style: S },
): FaceParamsOf[S];
export function faceParams(
  seed: PRNGKey | number,
  identity: number,
  sample = 0,
  options: { readonly nuisance?: boolean; readonly style?: FaceStyle } = {},
): FaceParams | CartoonFaceParams {
  const { idKey, nuKey } = keysOf(seed, identity, sample);
  return styleParams(options.style ?? 'photo', idKey, options.nuisance === false ? null : nuKey);
}

/** Sizes the generator is tuned for (others in [8, 1024] render too). */
export const FACE_SIZES = [32, 64, 128] as const;

/**
 * One face picture as [3, size, size] float32 planes in [0, 1], a pure function of its key:
 * the key's words seed both identity and nuisance (use faceDataset for identity-aware sampling).
 */
export function generateFace(
  k: PRNGKey,
  size = 64,
  style: FaceStyle = 'cartoon',
): { params: FaceParams | CartoonFaceParams; hq: Float32Array } {
  const params = faceParams(k, 0, 0, { style });
  return { params, hq: renderFace(params, size, style) };
}

export interface FaceDatasetOptions {
  readonly split: FaceSplit;
  /** Image side in pixels (default 64). */
  readonly size?: number;
  /** Number of pictures. */
  readonly count: number;
  /** The generator's seed (default 0): it fixes which face each identity id has. */
  readonly seed?: number;
  /** Pictures per identity (default 1): consecutive pictures share an identity, differing in nuisance. */
  readonly samplesPerIdentity?: number;
  /** false renders every picture frontal, evenly lit and neutral (default true). */
  readonly nuisance?: boolean;
  /** The generator (default 'cartoon'; see FaceStyle). */
  readonly style?: FaceStyle;
}

/** One picture: its identity id, its index among that identity's pictures, parameters and pixels. */
export interface FaceSample {
  readonly identity: number;
  readonly sample: number;
  readonly params: FaceParams | CartoonFaceParams;
  /** [3, size, size] float32 in [0, 1], CHW. */
  readonly hq: Float32Array;
}

/** A batch of pictures on a backend. */
export interface FaceBatch {
  readonly identities: readonly number[];
  /** [N, 3, size, size] float32 in [0, 1]. */
  readonly hq: Tensor;
}

export interface FaceBatchOptions {
  readonly backend?: BackendName;
  /** Shuffles the picture order with this key (default: in order). */
  readonly shuffle?: PRNGKey;
  /** Drops a last batch smaller than batchSize (default false). */
  readonly dropLast?: boolean;
}

export interface FaceDataset extends Iterable<FaceSample> {
  readonly split: FaceSplit;
  readonly size: number;
  readonly length: number;
  /** The identity id of picture i (without rendering it). */
  identityOf(i: number): number;
  /** Renders picture i. */
  get(i: number): FaceSample;
  /** Batches of [N, 3, size, size] tensors; each batch is the caller's to dispose. */
  batches(batchSize: number, options?: FaceBatchOptions): Generator<FaceBatch>;
}

function checkCountArg(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${String(v)}.`);
  return v;
}

/**
 * `count` procedural faces of one split: picture i shows identity
 * `SPLIT_IDS[split].first + floor(i / samplesPerIdentity)`. Pictures are rendered on demand.
 */
export function faceDataset(options: FaceDatasetOptions): FaceDataset {
  const op = 'faceDataset';
  requireOptions(op, options, "{ split: 'train', count: 64, style: 'photo' }", true);
  const { split } = options;
  if (!(split in SPLIT_IDS))
    throw new RangeError(`${op}: split must be 'train', 'validation' or 'test', got ${JSON.stringify(split)}.`);
  const size = checkCountArg(op, 'size', options.size ?? 64, 8);
  const count = checkCountArg(op, 'count', options.count, 0);
  const per = checkCountArg(op, 'samplesPerIdentity', options.samplesPerIdentity ?? 1, 1);
  const seed = checkCountArg(op, 'seed', options.seed ?? 0, 0);
  const style = options.style ?? 'cartoon';
  if (!FACE_STYLES.includes(style))
    throw new RangeError(`${op}: style must be 'cartoon' or 'photo', got ${JSON.stringify(style)}.`);
  const range = SPLIT_IDS[split];
  if (Math.ceil(count / per) > range.count)
    throw new RangeError(
      `${op}: the ${split} split has ${range.count} identities; asked for ${Math.ceil(count / per)}.`,
    );
  const root = key(seed);
  const identityOf = (i: number): number => {
    if (!Number.isInteger(i) || i < 0 || i >= count)
      throw new RangeError(`${op}: picture index ${i} is outside [0, ${count}).`);
    return range.first + Math.floor(i / per);
  };
  const get = (i: number): FaceSample => {
    const identity = identityOf(i);
    const sample = i % per;
    const params = faceParams(root, identity, sample, { nuisance: options.nuisance, style });
    return { identity, sample, params, hq: renderFace(params, size, style) };
  };
  return {
    split,
    size,
    length: count,
    identityOf,
    get,
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) yield get(i);
    },
    *batches(batchSize: number, batchOptions: FaceBatchOptions = {}) {
      checkCountArg('batches', 'batchSize', batchSize, 1);
      const order = batchOptions.shuffle
        ? permutation(batchOptions.shuffle, count)
        : Array.from({ length: count }, (_, i) => i);
      for (let start = 0; start < count; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        if (batchOptions.dropLast && idx.length < batchSize) return;
        const plane = 3 * size * size;
        const data = new Float32Array(idx.length * plane);
        idx.forEach((i, n) => data.set(get(i).hq, n * plane));
        yield {
          identities: idx.map(identityOf),
          hq: tensor(data, {
            shape: [idx.length, 3, size, size],
            dtype: 'float32',
            ...(batchOptions.backend ? { backend: batchOptions.backend } : {}),
          }),
        };
      }
    },
  };
}
