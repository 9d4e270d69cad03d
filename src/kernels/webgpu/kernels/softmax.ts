// softmax over the last axis as one kernel: per row, the max, the sum of exponentials and the
// normalised output, instead of four passes of reductions and elementwise kernels.
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import {
  kernelSource,
  storageBinding,
  threadPerItemEntry,
  UniformLayout,
  workgroupPerItemEntry,
  workgroupTree,
} from '../wgsl.js';
import { mapDenseRows } from './dense-rows.js';

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
${workgroupTree(WORKGROUP_PER_ROW_WG, 'm', (a, b) => `max(${a}, ${b})`)}
let row_max = partial[0];
workgroupBarrier();
var s = 0.0;
for (var j = lid.x; j < p.n; j += ${WORKGROUP_PER_ROW_WG}u) { s += exp(x[p.x_off + base + j] - row_max); }
${workgroupTree(WORKGROUP_PER_ROW_WG, 's', (a, b) => `${a} + ${b}`)}
let inv = 1.0 / partial[0];
for (var j = lid.x; j < p.n; j += ${WORKGROUP_PER_ROW_WG}u) { out[base + j] = exp(x[p.x_off + base + j] - row_max) * inv; }`,
  ),
);

/** softmax along the last axis of a float32 view; the output is contiguous. */
export function softmax(ctx: GpuContext, x: View): WebGpuStorage {
  const cpuAdapter = ctx.threadPerRow;
  return mapDenseRows(ctx, x, ({ src, rows, n, out }) =>
    ctx.dispatch({
      kernel: cpuAdapter ? 'softmax:thread-per-row' : 'softmax:workgroup-per-row',
      source: cpuAdapter ? threadPerRow : workgroupPerRow,
      uniform: layout.pack({ rows, n, x_off: src.offset }),
      storage: [ctx.bind(out), ctx.bind(src)],
      workgroups: cpuAdapter ? Math.ceil(rows / THREAD_PER_ROW_WG) : rows,
    }),
  );
}
