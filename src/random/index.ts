// The public PRNG: immutable Threefry-2x32 keys that split deterministically, and samplers that
// give the same bits on every backend (the stream is documented in threefry.ts).
import type { BackendName } from '../kernels/backend.js';
import type { KeyWords, RandomKind } from '../kernels/params.js';
import { backendFor, getBackend } from '../tensor/backends.js';
import type { DType } from '../tensor/dtype.js';
import { ShapeError } from '../tensor/errors.js';
import { checkAlloc } from '../tensor/eager.js';
import { scope } from '../tensor/memory.js';
import { add, cast, mul } from '../tensor/ops/elementwise.js';
import { requireOptions } from '../tensor/ops/operand.js';
import { validateShape, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { foldInWords, splitWords } from './threefry.js';

/** A PRNG key: a plain immutable value (no device memory), split to get independent streams. */
export class PRNGKey {
  readonly words: KeyWords;
  constructor(words: KeyWords) {
    this.words = Object.freeze([words[0] >>> 0, words[1] >>> 0]) as unknown as KeyWords;
    Object.freeze(this);
  }
  toString(): string {
    return `PRNGKey(0x${this.words[0].toString(16)}, 0x${this.words[1].toString(16)})`;
  }
}

/** A key from an integer seed in [0, 2^53): words [seed / 2^32, seed mod 2^32], as JAX does. */
export function key(seed: number): PRNGKey {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ShapeError(`key: seed must be a non-negative safe integer, got ${seed}.`);
  }
  return new PRNGKey([Math.floor(seed / 2 ** 32), seed % 2 ** 32]);
}

function requireKey(op: string, k: unknown): PRNGKey {
  if (k instanceof PRNGKey) return k;
  throw new ShapeError(`${op}: expected a PRNGKey from key(seed) or split(k), got ${String(k)}.`);
}

/** `n` new independent keys derived from `k` (default 2). Never reuse `k` after splitting it. */
export function split(k: PRNGKey, n = 2): PRNGKey[] {
  requireKey('split', k);
  return splitWords(k.words, n).map((w) => new PRNGKey(w));
}

/** A key derived from `k` and an integer (e.g. a step number), without splitting. */
export function foldIn(k: PRNGKey, data: number): PRNGKey {
  requireKey('foldIn', k);
  if (!Number.isInteger(data)) throw new ShapeError(`foldIn: data must be an integer, got ${data}.`);
  return new PRNGKey(foldInWords(k.words, data));
}

export interface RandomOptions {
  readonly backend?: BackendName;
  /** float32 (default) or float64 (CPU backend only). */
  readonly dtype?: DType;
}

function sample(op: string, kind: RandomKind, k: PRNGKey, shape: Shape, backendName?: BackendName): Tensor {
  requireKey(op, k);
  validateShape(op, shape);
  const backend = backendFor(backendName ?? getBackend());
  checkAlloc(op, backend, shape, kind === 'bits' ? 'int32' : 'float32');
  return new Tensor(backend.random(kind, k.words, shape), shape);
}

/** Raw 32-bit random words as int32 (bit patterns identical on every backend). */
export const randomBits = (k: PRNGKey, shape: Shape, options: { readonly backend?: BackendName } = {}): Tensor => {
  requireOptions('randomBits', options, "{ backend: 'cpu' }");
  return sample('randomBits', 'bits', k, shape, options.backend);
};

/** Uniform samples in [min, max) (default [0, 1)). */
export function uniform(
  k: PRNGKey,
  shape: Shape,
  options: RandomOptions & { readonly min?: number; readonly max?: number } = {},
): Tensor {
  requireOptions('uniform', options, '{ min: -1, max: 1 }');
  const lo = options.min ?? 0;
  const hi = options.max ?? 1;
  if (!(hi > lo)) throw new ShapeError(`uniform: max ${hi} must be greater than min ${lo}.`);
  return scope(() => {
    const u = cast(sample('uniform', 'uniform', k, shape, options.backend), options.dtype ?? 'float32');
    return lo === 0 && hi === 1 ? u : add(mul(u, hi - lo), lo);
  });
}

/** Gaussian samples with the given mean and standard deviation (default 0 and 1). */
export function normal(
  k: PRNGKey,
  shape: Shape,
  options: RandomOptions & { readonly mean?: number; readonly std?: number } = {},
): Tensor {
  requireOptions('normal', options, '{ mean: 0, std: 0.1 }');
  const m = options.mean ?? 0;
  const s = options.std ?? 1;
  if (!(s >= 0)) throw new ShapeError(`normal: std must be >= 0, got ${s}.`);
  return scope(() => {
    const z = cast(sample('normal', 'normal', k, shape, options.backend), options.dtype ?? 'float32');
    return m === 0 && s === 1 ? z : add(mul(z, s), m);
  });
}

export { permutation } from './permutation.js';
export { STREAMS, type StreamName } from './streams.js';
