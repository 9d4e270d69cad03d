// pad (constant value): one pass writing the input or the value; concat: allocate, then copy each input into a window of the output.
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isContiguous } from '../layout.js';
import { DEVICE_BYTES_PER_ELEMENT, type WebGpuStorage } from '../storage.js';
import type { DType } from '../../../tensor/dtype.js';
import { cachedSource } from '../source-cache.js';
import { kernelSource, storageBinding, threadPerItemEntry, uniformLayoutOf, wgslScalar } from '../wgsl.js';
import { fill, scalarUniform } from './elementwise.js';
import { MAP_WORKGROUP_SIZE, stridedMapInto } from './strided-map.js';

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
 * F.pad: the input view is narrowed first. One pass: each thread writes a run of 4 elements of an
 * output row, the input's or the value, with the shapes, widths and strides as WGSL constants (a 4-D pad divides
 * every index three times; by a uniform that is ~40 cycles an 8-lane op on lavapipe, by a constant
 * a multiply and a shift). The fill-then-copy it replaces took two passes and the uniform divisions:
 * face-api's landmark net spent 12% of its time padding one row and column.
 */
export function pad(
  ctx: GpuContext,
  x: View,
  widths: readonly (readonly [number, number])[],
  value: number,
): WebGpuStorage {
  // A scalar pads to itself: as a one-element row.
  if (x.shape.length === 0) return pad(ctx, { ...x, shape: [1], strides: [1] }, [[0, 0]], value);
  const outShape = x.shape.map((d, k) => d + widths[k][0] + widths[k][1]);
  const n = sizeOf(outShape);
  let offset = x.offset;
  // The input's window in the output: it starts at max(0, before) and is the cropped input's size.
  const inner = x.shape.map((d, k) => {
    const cropBefore = Math.max(0, -widths[k][0]);
    offset += cropBefore * x.strides[k];
    return Math.max(0, d - cropBefore - Math.max(0, -widths[k][1]));
  });
  const start = widths.map(([before]) => Math.max(0, before));
  // Nothing of the input is left (or there is no output): the value alone, with no input bound.
  if (n === 0 || sizeOf(inner) === 0) return fill(ctx, outShape, value, x.dtype);
  const out = ctx.alloc(x.dtype, n);
  const spec: PadSource = { dtype: x.dtype, outShape, inner, start, strides: x.strides };
  const threads = padThreads(outShape);
  ctx.dispatch({
    kernel: `pad:${x.dtype}`,
    source: cachedSource(`pad${JSON.stringify(spec)}`, () => padSource(spec)),
    uniform: padLayoutOf(x.dtype).pack({
      n: threads,
      x_off: offset,
      value: scalarUniform(value, x.dtype).value,
    }),
    storage: [ctx.bind(out), ctx.bind({ ...x, offset })],
    workgroups: Math.ceil(threads / MAP_WORKGROUP_SIZE),
  });
  return out;
}

/** Everything pad's WGSL depends on (its cache key is this, as JSON). */
interface PadSource {
  readonly dtype: DType;
  readonly outShape: readonly number[];
  /** The (cropped) input's size per dim, and where it starts in the output. */
  readonly inner: readonly number[];
  readonly start: readonly number[];
  readonly strides: readonly number[];
}

const padLayoutOf = (dtype: DType) => uniformLayoutOf({ n: 'u32', x_off: 'u32', value: scalarUniform(0, dtype).type });

/** Output elements of one row a thread writes: the index arithmetic above them runs once for all. */
const PAD_RUN = 4;

/** Threads of a pad: one per run of PAD_RUN elements of an output row (the last run of a row may be short). */
const padThreads = (outShape: readonly number[]): number => {
  const w = outShape[outShape.length - 1];
  return (sizeOf(outShape) / w) * Math.ceil(w / PAD_RUN);
};

function padSource({ dtype, outShape, inner, start, strides }: PadSource): string {
  const t = wgslScalar(dtype);
  const last = outShape.length - 1;
  const width = outShape[last];
  const runs = Math.ceil(width / PAD_RUN);
  const lines: string[] = [
    `let row = idx / ${runs}u;`,
    `let col0 = (idx - row * ${runs}u) * ${PAD_RUN}u;`,
    'var inside = true;',
    'var src = p.x_off;',
  ];
  // The row's coordinates in the outer dims (row-major over outShape[0..last)).
  let below = 1;
  for (let k = last - 1; k >= 0; k--) {
    const d = outShape[k];
    if (d === 1 && !(start[k] === 0 && inner[k] >= 1)) lines.push('inside = false;');
    if (d > 1) {
      const q = below === 1 ? 'row' : `(row / ${below}u)`;
      const c = k === 0 ? q : `(${q} % ${d}u)`;
      // Only a padded or cropped dim can leave the input; every dim moves the source.
      lines.push(`let c${k} = ${c};`);
      if (start[k] > 0 || inner[k] < d)
        lines.push(`inside = inside && c${k} >= ${start[k]}u && c${k} < ${start[k] + inner[k]}u;`);
      if (strides[k] !== 0) lines.push(`src += (c${k} - ${start[k]}u) * ${strides[k]}u;`);
    }
    below *= d;
  }
  for (let e = 0; e < PAD_RUN; e++) {
    const col = `(col0 + ${e}u)`;
    const ok = `inside && ${col} >= ${start[last]}u && ${col} < ${start[last] + inner[last]}u`;
    const at = `src + (${col} - ${start[last]}u) * ${strides[last]}u`;
    const store = `{ let ok = ${ok}; out[row * ${width}u + ${col}] = select(p.value, x[select(0u, ${at}, ok)], ok); }`;
    // Only a row's last run can be short.
    lines.push(width % PAD_RUN !== 0 && e >= width % PAD_RUN ? `if (${col} < ${width}u) ${store}` : store);
  }
  return kernelSource(
    `// pad:${dtype}: runs of ${PAD_RUN} output elements of a row a thread, the input's or the value; shapes as constants`,
    padLayoutOf(dtype).declaration(),
    [storageBinding(1, 'out', t, 'read_write'), storageBinding(2, 'x', t, 'read')].join('\n'),
    threadPerItemEntry(MAP_WORKGROUP_SIZE, 'p.n', lines.join('\n')),
  );
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
