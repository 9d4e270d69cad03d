// Scaled dot-product attention, the CPU reference: per query row, the scaled scores against every
// key, their softmax (shifted by the max) and the weighted sum of the values, all in float64,
// rounded on store.
import { allocHost } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';

export function attention(q: View, k: View, v: View, scale: number): CpuStorage {
  const [qs, ks, vs] = [q, k, v].map((x) => gatherToContiguous('attention', x));
  const r = q.shape.length;
  const [n, d] = [q.shape[r - 2], q.shape[r - 1]];
  const m = k.shape[r - 2];
  const e = v.shape[r - 1];
  const batches = sizeOf(q.shape.slice(0, -2));
  const out = allocHost(q.dtype, batches * n * e);
  const scores = new Float64Array(m);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < n; i++) {
      const qi = (b * n + i) * d;
      let max = -Infinity;
      for (let j = 0; j < m; j++) {
        const kj = (b * m + j) * d;
        let dot = 0;
        for (let c = 0; c < d; c++) dot += qs[qi + c] * ks[kj + c];
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]);
      }
      let total = 0;
      for (let j = 0; j < m; j++) total += scores[j] = Math.exp(scores[j] - max);
      const oi = (b * n + i) * e;
      for (let c = 0; c < e; c++) {
        let acc = 0;
        for (let j = 0; j < m; j++) acc += scores[j] * vs[(b * m + j) * e + c];
        out[oi + c] = acc / total;
      }
    }
  }
  return new CpuStorage(q.dtype, out);
}
