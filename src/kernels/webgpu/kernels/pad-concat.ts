// pad (constant value) and concat, both as "fill or allocate, then copy each input into a window of the output".
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { fill } from './elementwise.js';
import { stridedMapInto } from './strided-map.js';

/** Copies `src` into the window of `dst` (contiguous of `dstShape`) starting at `start`. */
function copyInto(ctx: GpuContext, kernel: string, src: View, dst: WebGpuStorage, dstShape: readonly number[], start: readonly number[]): void {
  const strides = contiguousStrides(dstShape);
  const offset = start.reduce((acc, s, k) => acc + s * strides[k], 0);
  stridedMapInto(ctx, { kernel, shape: src.shape, inputs: [src], expr: ([v]) => v }, { storage: dst, strides, offset });
}

/**
 * Pads each dim by [before, after] elements of `value`. Negative widths crop, as in PyTorch's
 * F.pad: the input view is narrowed before the copy.
 */
export function pad(ctx: GpuContext, x: View, widths: readonly (readonly [number, number])[], value: number): WebGpuStorage {
  const outShape = x.shape.map((d, k) => d + widths[k][0] + widths[k][1]);
  const out = fill(ctx, outShape, value, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  let offset = x.offset;
  const shape = x.shape.map((d, k) => {
    const cropBefore = Math.max(0, -widths[k][0]);
    const cropAfter = Math.max(0, -widths[k][1]);
    offset += cropBefore * x.strides[k];
    return Math.max(0, d - cropBefore - cropAfter);
  });
  const inner: View = { storage: x.storage, dtype: x.dtype, shape, strides: x.strides, offset };
  copyInto(ctx, `pad:${x.dtype}`, inner, out, outShape, widths.map(([before]) => Math.max(0, before)));
  return out;
}

/** Concatenates along `axis`: one copy-into-window dispatch per input. */
export function concat(ctx: GpuContext, xs: readonly View[], axis: number): WebGpuStorage {
  const outShape = [...xs[0].shape];
  outShape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
  const out = ctx.alloc(xs[0].dtype, sizeOf(outShape));
  let at = 0;
  for (const x of xs) {
    const start = outShape.map((_, k) => (k === axis ? at : 0));
    copyInto(ctx, `concat:${x.dtype}`, x, out, outShape, start);
    at += x.shape[axis];
  }
  return out;
}
