// Group normalisation with its affine and activation, the CPU reference (GroupNormActParams): per
// row r and group, the statistics of the group's C / groups * S values as standardize.ts takes them
// (float64, about the first value), then act(y w[c] + b[c]); its input gradient
// dx = r (v - mean(v) - y mean(v y)) with v = g act'(a) w[c]; and its weight and bias gradients,
// the sums over rows and positions of g act'(a) y and g act'(a).
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import type { GroupNormActParams } from '../params.js';
import { NORM_ACTIVATIONS } from '../norm-activations.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';
import { rowStats } from './standardize.js';

type Values = ArrayLike<number>;

/** Visits every (row, group) of x [R, C, S]: its first index, length, first channel and statistics. */
function forEachGroup(
  x: View,
  xs: Values,
  { groups, eps }: GroupNormActParams,
  visit: (base: number, n: number, c0: number, stats: ReturnType<typeof rowStats>) => void,
): void {
  const [rows, c, s] = x.shape;
  const cpg = c / groups;
  const n = cpg * s;
  for (let r = 0; r < rows; r++)
    for (let gi = 0; gi < groups; gi++) {
      const base = (r * groups + gi) * n;
      visit(base, n, gi * cpg, rowStats(xs, base, n, eps));
    }
}

export function groupNormAct(x: View, w: View, b: View, p: GroupNormActParams): CpuStorage {
  const [xs, ws, bs] = [x, w, b].map((t) => gatherToContiguous('groupNormAct', t));
  const out = allocHost(x.dtype, xs.length);
  const s = x.shape[2];
  const act = NORM_ACTIVATIONS[p.act].value;
  forEachGroup(x, xs, p, (base, n, c0, { shift, mean, rstd }) => {
    for (let j = 0; j < n; j++) {
      const c = c0 + Math.floor(j / s);
      out[base + j] = act((xs[base + j] - shift - mean) * rstd * ws[c] + bs[c]);
    }
  });
  return new CpuStorage(x.dtype, out);
}

export function groupNormActBackward(x: View, w: View, b: View, g: View, p: GroupNormActParams): CpuStorage {
  const [xs, ws, bs, gs] = [x, w, b, g].map((t) => gatherToContiguous('groupNormActBackward', t));
  const out = allocHost(x.dtype, xs.length);
  const s = x.shape[2];
  const slope = NORM_ACTIVATIONS[p.act].derivative;
  const v = new Float64Array(xs.length === 0 ? 0 : (x.shape[1] / p.groups) * s);
  const y = new Float64Array(v.length);
  forEachGroup(x, xs, p, (base, n, c0, { shift, mean, rstd }) => {
    let sv = 0;
    let svy = 0;
    for (let j = 0; j < n; j++) {
      const c = c0 + Math.floor(j / s);
      y[j] = (xs[base + j] - shift - mean) * rstd;
      v[j] = gs[base + j] * slope(y[j] * ws[c] + bs[c]) * ws[c];
      sv += v[j];
      svy += v[j] * y[j];
    }
    for (let j = 0; j < n; j++) out[base + j] = rstd * (v[j] - sv / n - y[j] * (svy / n));
  });
  return new CpuStorage(x.dtype, out);
}

/** [2, C]: the weight gradient (row 0) and the bias gradient (row 1). */
export function groupNormActParamGrads(x: View, w: View, b: View, g: View, p: GroupNormActParams): CpuStorage {
  const [xs, ws, bs, gs] = [x, w, b, g].map((t) => gatherToContiguous('groupNormActParamGrads', t));
  const c = x.shape[1];
  const s = x.shape[2];
  const sums = new Float64Array(2 * c);
  const slope = NORM_ACTIVATIONS[p.act].derivative;
  forEachGroup(x, xs, p, (base, n, c0, { shift, mean, rstd }) => {
    for (let j = 0; j < n; j++) {
      const ch = c0 + Math.floor(j / s);
      const y = (xs[base + j] - shift - mean) * rstd;
      const ga = gs[base + j] * slope(y * ws[ch] + bs[ch]);
      sums[ch] += ga * y;
      sums[c + ch] += ga;
    }
  });
  const out = allocHost(x.dtype, 2 * c);
  for (let i = 0; i < 2 * c; i++) out[i] = sums[i];
  return new CpuStorage(x.dtype, out);
}
