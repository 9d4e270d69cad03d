// Strided access: walking a view's elements in row-major order from its shape, strides and offset
// (element (i0, ..., ik) lives at offset + sum(i_d * strides[d])), with a contiguous fast path.
import type { AnyTypedArray } from '../../tensor/dtype.js';
import { allocHost } from '../../tensor/dtype.js';
import type { Shape } from '../../tensor/shape.js';
import { contiguousStrides, isContiguous, sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import { dataOf } from './storage.js';

/**
 * Calls `visit(srcOffset, dstOffset)` for every element of `shape` in row-major order, tracking
 * two strided layouts at once. The odometer advances per element by adding strides, so no
 * multi-index is rebuilt. Used for outer loops (batches, rows); inner loops
 * are plain for-loops (see copyStrided).
 */
export function forEachOffsetPair(
  shape: Shape,
  srcStrides: readonly number[],
  srcOffset: number,
  dstStrides: readonly number[],
  dstOffset: number,
  visit: (srcOffset: number, dstOffset: number) => void,
): void {
  const rank = shape.length;
  const total = sizeOf(shape);
  if (total === 0) return;
  const index = new Array<number>(rank).fill(0);
  let src = srcOffset;
  let dst = dstOffset;
  for (let k = 0; k < total; k++) {
    visit(src, dst);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += srcStrides[d];
      dst += dstStrides[d];
      if (index[d] < shape[d]) break;
      src -= srcStrides[d] * shape[d];
      dst -= dstStrides[d] * shape[d];
      index[d] = 0;
    }
  }
}

/**
 * Copies every element of a strided source window into a strided destination window of the same
 * shape. The innermost dim is a plain loop; the outer dims go through forEachOffsetPair.
 */
export function copyStrided(
  src: AnyTypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  shape: Shape,
  dst: AnyTypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[dstOffset] = src[srcOffset];
    return;
  }
  const inner = shape[rank - 1];
  const srcStep = srcStrides[rank - 1];
  const dstStep = dstStrides[rank - 1];
  const outerShape = shape.slice(0, rank - 1);
  forEachOffsetPair(outerShape, srcStrides, srcOffset, dstStrides, dstOffset, (s, d) => {
    if (srcStep === 1 && dstStep === 1) {
      dst.set(src.subarray(s, s + inner), d);
      return;
    }
    for (let i = 0; i < inner; i++) dst[d + i * dstStep] = src[s + i * srcStep];
  });
}

/** A NEW contiguous row-major array holding the view's elements (never the storage's own array). */
export function gatherToContiguous(op: string, view: View): AnyTypedArray {
  const src = dataOf(op, view);
  const size = sizeOf(view.shape);
  if (isContiguous(view.shape, view.strides)) return src.slice(view.offset, view.offset + size);
  const out = allocHost(view.dtype, size);
  if (size > 0) copyStrided(src, view.offset, view.strides, view.shape, out, 0, contiguousStrides(view.shape));
  return out;
}

/**
 * The view's elements in row-major order, for reading only: a subarray of the storage when the
 * view is contiguous (no copy), else a gathered copy.
 */
export function readContiguous(op: string, view: View): AnyTypedArray {
  if (isContiguous(view.shape, view.strides)) {
    return dataOf(op, view).subarray(view.offset, view.offset + sizeOf(view.shape));
  }
  return gatherToContiguous(op, view);
}

/** The same elements with dims reordered: result dim i is the view's dim order[i]. */
export function permuteView(view: View, order: readonly number[]): View {
  return {
    storage: view.storage,
    dtype: view.dtype,
    shape: order.map((d) => view.shape[d]),
    strides: order.map((d) => view.strides[d]),
    offset: view.offset,
  };
}
