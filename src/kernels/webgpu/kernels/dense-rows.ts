// The shared front of the row kernels (softmax, standardize and its backward): they index the rows
// of the last axis densely, so a strided view (a transpose, a broadcast) is copied first and the
// copy released once the kernel is recorded.
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

/** Several inputs of one shape, each dense [rows, n], and the output. */
export interface DenseRowsOf {
  readonly srcs: readonly View[];
  readonly rows: number;
  readonly n: number;
  readonly out: WebGpuStorage;
}

/** `x` itself when contiguous, else a contiguous copy, which is added to `copies` (release them after the dispatch). */
export function denseView(ctx: GpuContext, x: View, copies: WebGpuStorage[]): View {
  if (isContiguous(x.shape, x.strides)) return x;
  const dense = copy(ctx, x);
  copies.push(dense);
  return { storage: dense, dtype: x.dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 };
}

/**
 * Runs `dispatch` over the rows of the last axis of `xs` (views of one shape; skipped when empty)
 * with every input made dense; returns the output (`into` when given: a lazily recorded kernel's
 * target).
 */
export function mapDenseRowsOf(
  ctx: GpuContext,
  xs: readonly View[],
  dispatch: (rows: DenseRowsOf) => void,
  into?: WebGpuStorage,
): WebGpuStorage {
  const shape = xs[0].shape;
  const size = sizeOf(shape);
  const n = shape.length === 0 ? 1 : shape[shape.length - 1];
  const out = into ?? ctx.alloc('float32', size);
  if (size === 0) return out;
  const copies: WebGpuStorage[] = [];
  const srcs = xs.map((x) => denseView(ctx, x, copies));
  dispatch({ srcs, rows: size / n, n, out });
  for (const c of copies) ctx.release(c);
  return out;
}

/** Runs `dispatch` over the rows of x's last axis (skipped when x is empty); returns its output. */
export const mapDenseRows = (
  ctx: GpuContext,
  x: View,
  dispatch: (rows: DenseRows) => void,
  into?: WebGpuStorage,
): WebGpuStorage => mapDenseRowsOf(ctx, [x], ({ srcs: [src], rows, n, out }) => dispatch({ src, rows, n, out }), into);
