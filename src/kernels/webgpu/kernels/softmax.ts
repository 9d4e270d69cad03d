// softmax over the last axis as one kernel: per row, the max, the sum of exponentials and the
// normalised output, instead of four passes of reductions and elementwise kernels.
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isContiguous } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { kernelSource, storageBinding, threadPerItemEntry, UniformLayout, workgroupPerItemEntry } from '../wgsl.js';
import { copy } from './elementwise.js';

const THREAD_PER_ROW_WG = 64;
const WORKGROUP_PER_ROW_WG = 128;

const layout = new UniformLayout({ rows: 'u32', n: 'u32', x_off: 'u32' });

// CPU adapters (lavapipe): barriers are costly, so each thread owns a row (3 passes over it, in cache).
const threadPerRow = kernelSource(
  '// softmax:thread-per-row: each thread normalises one row of the contiguous [rows, n] input',
  layout.declaration(),
  `${storageBinding(1, 'out', 'f32', 'read_write')}\n${storageBinding(2, 'x', 'f32', 'read')}`,
  threadPerItemEntry(
    THREAD_PER_ROW_WG,
    'p.rows',
    `let base = idx * p.n;
var m = x[p.x_off + base]; // rows are non-empty; a constant -inf is not valid WGSL
for (var j = 1u; j < p.n; j++) { m = max(m, x[p.x_off + base + j]); }
var s = 0.0;
for (var j = 0u; j < p.n; j++) {
  let e = exp(x[p.x_off + base + j] - m);
  out[base + j] = e;
  s += e;
}
let inv = 1.0 / s;
for (var j = 0u; j < p.n; j++) { out[base + j] = out[base + j] * inv; }`,
  ),
);

// Real GPUs: a workgroup per row, strided loops and shared-memory trees for the max and the sum.
const workgroupPerRow = kernelSource(
  '// softmax:workgroup-per-row: a workgroup normalises one row of the contiguous [rows, n] input',
  layout.declaration(),
  `${storageBinding(1, 'out', 'f32', 'read_write')}\n${storageBinding(2, 'x', 'f32', 'read')}`,
  `var<workgroup> partial: array<f32, ${WORKGROUP_PER_ROW_WG}>;`,
  workgroupPerItemEntry(
    WORKGROUP_PER_ROW_WG,
    'p.rows',
    `let base = group * p.n;
var m = x[p.x_off + base]; // every thread starts from the row's first element (rows are non-empty)
for (var j = lid.x; j < p.n; j += ${WORKGROUP_PER_ROW_WG}u) { m = max(m, x[p.x_off + base + j]); }
partial[lid.x] = m;
workgroupBarrier();
for (var w = ${WORKGROUP_PER_ROW_WG / 2}u; w > 0u; w = w / 2u) {
  if (lid.x < w) { partial[lid.x] = max(partial[lid.x], partial[lid.x + w]); }
  workgroupBarrier();
}
let row_max = partial[0];
workgroupBarrier();
var s = 0.0;
for (var j = lid.x; j < p.n; j += ${WORKGROUP_PER_ROW_WG}u) { s += exp(x[p.x_off + base + j] - row_max); }
partial[lid.x] = s;
workgroupBarrier();
for (var w = ${WORKGROUP_PER_ROW_WG / 2}u; w > 0u; w = w / 2u) {
  if (lid.x < w) { partial[lid.x] = partial[lid.x] + partial[lid.x + w]; }
  workgroupBarrier();
}
let inv = 1.0 / partial[0];
for (var j = lid.x; j < p.n; j += ${WORKGROUP_PER_ROW_WG}u) { out[base + j] = exp(x[p.x_off + base + j] - row_max) * inv; }`,
  ),
);

/** softmax along the last axis of a float32 view; the output is contiguous. */
export function softmax(ctx: GpuContext, x: View): WebGpuStorage {
  const size = sizeOf(x.shape);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  const out = ctx.alloc('float32', size);
  if (size === 0) return out;
  // The kernels index rows densely: copy strided views (transposes, broadcasts) first.
  const dense = isContiguous(x.shape, x.strides) ? null : copy(ctx, x);
  const src: View = dense
    ? { storage: dense, dtype: x.dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }
    : x;
  const rows = size / n;
  const cpuAdapter = ctx.threadPerRow;
  ctx.dispatch({
    kernel: cpuAdapter ? 'softmax:thread-per-row' : 'softmax:workgroup-per-row',
    source: cpuAdapter ? threadPerRow : workgroupPerRow,
    uniform: layout.pack({ rows, n, x_off: src.offset }),
    storage: [ctx.bind(out), ctx.bind(src)],
    workgroups: cpuAdapter ? Math.ceil(rows / THREAD_PER_ROW_WG) : rows,
  });
  if (dense) ctx.release(dense);
  return out;
}
