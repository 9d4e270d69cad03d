// Gather along one axis: out[pre, idx..., post] = x[pre, clamp(wrap(indices[idx...])), post].
import { allocHost } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { readContiguous } from './strided.js';

/** A negative index counts from the end once; then it is clamped into [0, n - 1]. */
const resolveIndex = (index: number, n: number): number => {
  const wrapped = index < 0 ? index + n : index;
  return wrapped < 0 ? 0 : wrapped >= n ? n - 1 : wrapped;
};

/**
 * Output shape x.shape[:axis] + indices.shape + x.shape[axis+1:]. Seen as x [outer, n, inner],
 * each (outer, index) pair copies one contiguous run of `inner` elements. With n = 0 nothing can be
 * picked: the front end refuses that, and here the output stays zero-filled.
 */
export function take(xView: View, indicesView: View, axis: number): CpuStorage {
  const outer = sizeOf(xView.shape.slice(0, axis));
  const n = xView.shape[axis];
  const inner = sizeOf(xView.shape.slice(axis + 1));
  const x = readContiguous('take', xView);
  const indices = readContiguous('take', indicesView);
  const out = allocHost(xView.dtype, outer * indices.length * inner);
  if (n === 0) return new CpuStorage(xView.dtype, out);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < indices.length; i++) {
      const src = (o * n + resolveIndex(indices[i], n)) * inner;
      out.set(x.subarray(src, src + inner), dst);
      dst += inner;
    }
  }
  return new CpuStorage(xView.dtype, out);
}
