// pad (constant value) and concat, both as "fill or allocate, then copy each input into a window of the output".
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isContiguous } from '../layout.js';
import { DEVICE_BYTES_PER_ELEMENT, type WebGpuStorage } from '../storage.js';
import { fill } from './elementwise.js';
import { stridedMapInto } from './strided-map.js';

/** Copies `src` into the window of `dst` (contiguous of `dstShape`) starting at `start`. */
function copyInto(
  ctx: GpuContext,
  kernel: string,
  src: View,
  dst: WebGpuStorage,
  dstShape: readonly number[],
  start: readonly number[],
): void {
  const strides = contiguousStrides(dstShape);
  const offset = start.reduce((acc, s, k) => acc + s * strides[k], 0);
  stridedMapInto(ctx, { kernel, shape: src.shape, inputs: [src], expr: ([v]) => v }, { storage: dst, strides, offset });
}

/**
 * Pads each dim by [before, after] elements of `value`. Negative widths crop, as in PyTorch's
 * F.pad: the input view is narrowed before the copy.
 */
export function pad(
  ctx: GpuContext,
  x: View,
  widths: readonly (readonly [number, number])[],
  value: number,
): WebGpuStorage {
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
  copyInto(
    ctx,
    `pad:${x.dtype}`,
    inner,
    out,
    outShape,
    widths.map(([before]) => Math.max(0, before)),
  );
  return out;
}

/**
 * Concatenates along `axis`. When the dims before `axis` are all 1 (a 1-D concat, or the leading
 * axis), each contiguous input fills one gap-free byte range of the output and goes over as a
 * buffer-to-buffer copy (no dispatch: the optimizers join every gradient of a model this way);
 * other inputs take one copy-into-window dispatch each.
 */
export function concat(ctx: GpuContext, xs: readonly View[], axis: number): WebGpuStorage {
  const outShape = [...xs[0].shape];
  outShape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
  const out = ctx.alloc(xs[0].dtype, sizeOf(outShape));
  const rangeCopies = sizeOf(outShape.slice(0, axis)) === 1;
  const inner = sizeOf(outShape.slice(axis + 1));
  const byRange = xs.map((x) => rangeCopies && sizeOf(x.shape) > 0 && isContiguous(x.shape, x.strides));
  // Pending inputs (fused expressions, lazy matmuls) record their kernels first, so the copies
  // that follow share one stretch of the command encoder outside any compute pass.
  xs.forEach((x, i) => byRange[i] && void (x.storage as WebGpuStorage).buffer);
  let at = 0;
  xs.forEach((x, i) => {
    if (byRange[i]) {
      const bytes = sizeOf(x.shape) * DEVICE_BYTES_PER_ELEMENT;
      const src = (x.storage as WebGpuStorage).buffer;
      ctx.copy(src, x.offset * DEVICE_BYTES_PER_ELEMENT, out.buffer, at * inner * DEVICE_BYTES_PER_ELEMENT, bytes);
    } else {
      copyInto(
        ctx,
        `concat:${x.dtype}`,
        x,
        out,
        outShape,
        outShape.map((_, k) => (k === axis ? at : 0)),
      );
    }
    at += x.shape[axis];
  });
  return out;
}
