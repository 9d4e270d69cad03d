// Layout kernels that place whole views into a larger output: constant padding and concatenation.
// Both write each input straight into its window of the output through the output's strides.
import { allocHost } from '../../tensor/dtype.js';
import { contiguousStrides, sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import { CpuStorage, dataOf } from './storage.js';
import { storeRules } from './store-rules.js';
import { copyStrided } from './strided.js';

/** Offset of element (at[0], at[1], ...) in a layout with `strides`. */
const offsetOf = (at: readonly number[], strides: readonly number[]): number =>
  at.reduce((sum, i, d) => sum + i * strides[d], 0);

/** widths[d] = [before, after] (non-negative) elements of `value` around dim d. */
export function pad(x: View, widths: readonly (readonly [number, number])[], value: number): CpuStorage {
  const outShape = x.shape.map((n, d) => widths[d][0] + n + widths[d][1]);
  const outStrides = contiguousStrides(outShape);
  const out = allocHost(x.dtype, sizeOf(outShape));
  out.fill(storeRules[x.dtype](value));
  if (sizeOf(x.shape) > 0) {
    const interior = offsetOf(
      widths.map(([before]) => before),
      outStrides,
    );
    copyStrided(dataOf('pad', x), x.offset, x.strides, x.shape, out, interior, outStrides);
  }
  return new CpuStorage(x.dtype, out);
}

/** Stacks the inputs along `axis`; they share dtype and every other dim. */
export function concat(xs: readonly View[], axis: number): CpuStorage {
  const first = xs[0];
  const outShape = first.shape.map((n, d) => (d === axis ? xs.reduce((sum, x) => sum + x.shape[axis], 0) : n));
  const outStrides = contiguousStrides(outShape);
  const out = allocHost(first.dtype, sizeOf(outShape));
  let along = 0;
  for (const x of xs) {
    if (sizeOf(x.shape) > 0) {
      copyStrided(dataOf('concat', x), x.offset, x.strides, x.shape, out, along * outStrides[axis], outStrides);
    }
    along += x.shape[axis];
  }
  return new CpuStorage(first.dtype, out);
}
