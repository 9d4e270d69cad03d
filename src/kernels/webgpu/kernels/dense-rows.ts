// The shared front of the row kernels (softmax, standardize): they index the rows of the last
// axis densely, so a strided view (a transpose, a broadcast) is copied first and the copy released
// once the kernel is recorded.
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isContiguous } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { copy } from './elementwise.js';

/** The dense [rows, n] input a row kernel reads, and the fresh contiguous float32 output it writes. */
export interface DenseRows {
  readonly src: View;
  readonly rows: number;
  readonly n: number;
  readonly out: WebGpuStorage;
}

/** Runs `dispatch` over the rows of x's last axis (skipped when x is empty); returns its output. */
export function mapDenseRows(ctx: GpuContext, x: View, dispatch: (rows: DenseRows) => void): WebGpuStorage {
  const size = sizeOf(x.shape);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  const out = ctx.alloc('float32', size);
  if (size === 0) return out;
  const dense = isContiguous(x.shape, x.strides) ? null : copy(ctx, x);
  const src: View = dense
    ? { storage: dense, dtype: x.dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }
    : x;
  dispatch({ src, rows: size / n, n, out });
  if (dense) ctx.release(dense);
  return out;
}
