// How a float64 result becomes a stored element of each dtype: the CPU backend's cast semantics.
// Kernels compute in JS doubles; storing into the dtype's TypedArray already performs these
// conversions for float32 (round to nearest) and int32 (ToInt32), so the rules spell them out for
// casts and for the one dtype a TypedArray store gets wrong (bool: Uint8Array would wrap 256 to 0).
import type { DType } from '../../tensor/dtype.js';

export type StoreRule = (x: number) => number;

export const storeRules: Record<DType, StoreRule> = {
  float64: (x) => x,
  /** Rounds to the nearest float32 (also what a Float32Array store does). */
  float32: Math.fround,
  /**
   * ToInt32, as an Int32Array store does: truncates toward zero, then wraps mod 2^32, as WGSL
   * i32 arithmetic wraps on overflow. (Casts from float saturate instead: see castRules.)
   */
  int32: (x) => x | 0,
  /** Nonzero (NaN included, as in NumPy) is true. */
  bool: (x) => (x !== 0 ? 1 : 0),
};

/**
 * The rule a kernel must apply before storing into `dtype`, or undefined where the TypedArray
 * store alone is already correct (every dtype but bool).
 */
export const explicitStoreRule = (dtype: DType): StoreRule | undefined =>
  dtype === 'bool' ? storeRules.bool : undefined;

/**
 * The rules of `cast`: as storeRules, except float -> int32 truncates toward zero and saturates
 * at the int32 range, as WGSL's f32 -> i32 conversion does, so casts agree across backends.
 */
export const castRules: Record<DType, StoreRule> = {
  ...storeRules,
  int32: (x) => (Number.isNaN(x) ? 0 : x >= 2147483647 ? 2147483647 : x <= -2147483648 ? -2147483648 : Math.trunc(x)),
};
