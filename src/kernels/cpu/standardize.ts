// Row standardisation over the last axis, the CPU reference: per row, the mean and the population
// variance in float64 (two passes, of x - x[0]), then (x - mean) / sqrt(var + eps), rounded on store.
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';

export function standardize(x: View, eps: number): CpuStorage {
  const src = gatherToContiguous('standardize', x);
  const out = allocHost(x.dtype, src.length);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  for (let base = 0; base < src.length; base += n) {
    // Statistics of x - x[0], as the WebGPU kernel takes them (exact differences for nearby values).
    const shift = src[base];
    let s = 0;
    for (let j = 0; j < n; j++) s += src[base + j] - shift;
    const mean = s / n;
    let q = 0;
    for (let j = 0; j < n; j++) q += (src[base + j] - shift - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / n + eps);
    for (let j = 0; j < n; j++) out[base + j] = (src[base + j] - shift - mean) * rstd;
  }
  return new CpuStorage(x.dtype, out);
}

/**
 * The backward reference: per row r (v - mean(v) - y mean(v y)), the statistics of x taken as
 * standardize takes them and every sum in float64, rounded on store.
 */
export function standardizeBackward(x: View, y: View, v: View, eps: number): CpuStorage {
  const [xs, ys, vs] = [x, y, v].map((t) => gatherToContiguous('standardizeBackward', t));
  const out = allocHost(x.dtype, xs.length);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  for (let base = 0; base < xs.length; base += n) {
    const shift = xs[base];
    let s = 0;
    for (let j = 0; j < n; j++) s += xs[base + j] - shift;
    const mean = s / n;
    let q = 0;
    let sv = 0;
    let svy = 0;
    for (let j = 0; j < n; j++) {
      q += (xs[base + j] - shift - mean) ** 2;
      sv += vs[base + j];
      svy += vs[base + j] * ys[base + j];
    }
    const rstd = 1 / Math.sqrt(q / n + eps);
    for (let j = 0; j < n; j++) out[base + j] = rstd * (vs[base + j] - sv / n - ys[base + j] * (svy / n));
  }
  return new CpuStorage(x.dtype, out);
}
