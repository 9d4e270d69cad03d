// Row standardisation over the last axis, the CPU reference: per row, the mean and the population
// variance in float64 (two passes, of x - x[0]), then (x - mean) / sqrt(var + eps), rounded on store;
// and its backward, r (v - mean(v) - y mean(v y)), with r taken the same way.
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';

type Values = ArrayLike<number>;

/**
 * The row [base, base + n) of x: its first value (the shift), the mean of x - shift and
 * r = 1 / sqrt(var + eps), two passes in float64 (the WebGPU kernel takes float32 sums in one pass
 * about another shift; both are exact differences for nearby values).
 */
export function rowStats(
  x: Values,
  base: number,
  n: number,
  eps: number,
): { shift: number; mean: number; rstd: number } {
  const shift = x[base];
  let s = 0;
  for (let j = 0; j < n; j++) s += x[base + j] - shift;
  const mean = s / n;
  let q = 0;
  for (let j = 0; j < n; j++) q += (x[base + j] - shift - mean) ** 2;
  return { shift, mean, rstd: 1 / Math.sqrt(q / n + eps) };
}

/** The length of the last axis (1 for a scalar). */
const rowLength = (x: View): number => (x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]);

export function standardize(x: View, eps: number): CpuStorage {
  const src = gatherToContiguous('standardize', x);
  const out = allocHost(x.dtype, src.length);
  const n = rowLength(x);
  for (let base = 0; base < src.length; base += n) {
    const { shift, mean, rstd } = rowStats(src, base, n, eps);
    for (let j = 0; j < n; j++) out[base + j] = (src[base + j] - shift - mean) * rstd;
  }
  return new CpuStorage(x.dtype, out);
}

/** The backward reference: per row r (v - mean(v) - y mean(v y)), every sum in float64, rounded on store. */
export function standardizeBackward(x: View, y: View, v: View, eps: number): CpuStorage {
  const [xs, ys, vs] = [x, y, v].map((t) => gatherToContiguous('standardizeBackward', t));
  const out = allocHost(x.dtype, xs.length);
  const n = rowLength(x);
  for (let base = 0; base < xs.length; base += n) {
    const { rstd } = rowStats(xs, base, n, eps);
    let sv = 0;
    let svy = 0;
    for (let j = 0; j < n; j++) {
      sv += vs[base + j];
      svy += vs[base + j] * ys[base + j];
    }
    for (let j = 0; j < n; j++) out[base + j] = rstd * (vs[base + j] - sv / n - ys[base + j] * (svy / n));
  }
  return new CpuStorage(x.dtype, out);
}
