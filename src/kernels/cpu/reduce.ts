// Reductions (sum/prod/max/min over a set of axes) and arg-reductions (first index of the
// max/min along one axis). Both move the reduced axes last, gather, and fold contiguous runs.
import { allocHost } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import type { ReduceOp } from '../elementwise-ops.js';
import { reduceOps } from '../elementwise-ops.js';
import { CpuStorage } from './storage.js';
import { storeRules } from './store-rules.js';
import { permuteView, readContiguous } from './strided.js';

/** The view with `reduced` axes moved last (kept axes keep their order), and the kept shape. */
function reducedAxesLast(x: View, reduced: readonly number[]): { view: View; keptShape: number[]; runLength: number } {
  const isReduced = new Set(reduced);
  const kept = x.shape.map((_, d) => d).filter((d) => !isReduced.has(d));
  return {
    view: permuteView(x, [...kept, ...reduced]),
    keptShape: kept.map((d) => x.shape[d]),
    runLength: sizeOf(reduced.map((d) => x.shape[d])),
  };
}

/**
 * Folds each output's run of inputs with the table's `cpu` step, starting from its identity.
 * The accumulator is a JS double whatever the dtype, so float32 sums accumulate in float64 and
 * round once on store (the GPU accumulates in f32; tests compare with a tolerance). An empty run
 * yields the identity (0 for sum, 1 for prod, -/+Infinity for max/min, which the front end refuses).
 * NaN propagates through max/min because the table's step keeps a NaN once seen.
 */
export function reduce(op: ReduceOp, x: View, axes: readonly number[]): CpuStorage {
  const { view, keptShape, runLength } = reducedAxesLast(x, axes);
  const src = readContiguous(op, view);
  const { identity, cpu: step } = reduceOps[op];
  const store = storeRules[x.dtype];
  const out = allocHost(x.dtype, sizeOf(keptShape));
  for (let o = 0; o < out.length; o++) {
    let acc = identity;
    const start = o * runLength;
    for (let r = 0; r < runLength; r++) acc = step(acc, src[start + r]);
    out[o] = store(acc);
  }
  return new CpuStorage(x.dtype, out);
}

/**
 * Whether `candidate` replaces the best so far: strictly better, so ties keep the first index.
 * NaN counts as beyond every number (as max/min propagate it), so the first NaN wins.
 */
const beats: Record<'argmax' | 'argmin', (candidate: number, best: number) => boolean> = {
  argmax: (c, best) => c > best || (Number.isNaN(c) && !Number.isNaN(best)),
  argmin: (c, best) => c < best || (Number.isNaN(c) && !Number.isNaN(best)),
};

/** int32 index of the first max/min along `axis`; 0 for an empty axis (the front end refuses it). */
export function argReduce(op: 'argmax' | 'argmin', x: View, axis: number): CpuStorage {
  const { view, keptShape, runLength } = reducedAxesLast(x, [axis]);
  const src = readContiguous(op, view);
  const better = beats[op];
  const out = new Int32Array(sizeOf(keptShape));
  for (let o = 0; o < out.length; o++) {
    const start = o * runLength;
    let bestIndex = 0;
    let best = src[start];
    for (let r = 1; r < runLength; r++) {
      if (better(src[start + r], best)) {
        best = src[start + r];
        bestIndex = r;
      }
    }
    out[o] = bestIndex;
  }
  return new CpuStorage('int32', out);
}
