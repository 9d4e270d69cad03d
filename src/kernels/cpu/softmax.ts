// softmax over the last axis, the CPU reference: per row, shift by the max, exponentiate, normalise
// (in float64, rounded on store).
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';

export function softmax(x: View): CpuStorage {
  const src = gatherToContiguous('softmax', x);
  const out = allocHost(x.dtype, src.length);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  const row = new Float64Array(n);
  for (let base = 0; base < src.length; base += n) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, src[base + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += row[j] = Math.exp(src[base + j] - m);
    for (let j = 0; j < n; j++) out[base + j] = row[j] / s;
  }
  return new CpuStorage(x.dtype, out);
}
