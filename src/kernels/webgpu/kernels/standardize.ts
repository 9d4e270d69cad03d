// Row standardisation over the last axis as one kernel: per row, the mean, the population variance
// and (x - mean) / sqrt(var + eps), where the composed form ran two reductions and two elementwise
// passes (group normalisation was a third of the tiny UNet's forward+backward kernels). A
// workgroup per row: on GPUs a wide one; on CPU adapters (lavapipe) one subgroup's worth of lanes
// (8, one AVX2 vector), so its barriers are cheap and rows spread over the threads, which a thread
// per row did not do for the UNet's 64 rows (one workgroup: one thread busy).
import { contiguousStrides, sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isCpuAdapter } from '../tuning.js';
import { isContiguous } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { kernelSource, storageBinding, UniformLayout, workgroupPerItemEntry } from '../wgsl.js';
import { copy } from './elementwise.js';

/** Lanes per row: a GPU workgroup, or one AVX2 vector on CPU adapters. */
const GPU_LANES = 128;
const CPU_LANES = 8;

const layout = new UniformLayout({ rows: 'u32', n: 'u32', x_off: 'u32', eps: 'f32' });

/** A tree sum of `partial` over `lanes` lanes into partial[0] (barriers included). */
const treeSum = (lanes: number): string => `partial[lid.x] = acc;
workgroupBarrier();
for (var w = ${lanes / 2}u; w > 0u; w = w / 2u) {
  if (lid.x < w) { partial[lid.x] = partial[lid.x] + partial[lid.x + w]; }
  workgroupBarrier();
}`;

const source = (lanes: number): string =>
  kernelSource(
    `// standardize:${lanes}: a workgroup of ${lanes} lanes standardises one row of the contiguous [rows, n] input`,
    layout.declaration(),
    `${storageBinding(1, 'out', 'f32', 'read_write')}\n${storageBinding(2, 'x', 'f32', 'read')}`,
    `var<workgroup> partial: array<f32, ${lanes}>;`,
    workgroupPerItemEntry(
      lanes,
      'p.rows',
      `let base = p.x_off + group * p.n;
var acc = 0.0;
for (var j = lid.x; j < p.n; j += ${lanes}u) { acc += x[base + j]; }
${treeSum(lanes)}
let mean = partial[0] / f32(p.n);
workgroupBarrier();
acc = 0.0;
for (var j = lid.x; j < p.n; j += ${lanes}u) {
  let d = x[base + j] - mean;
  acc += d * d;
}
${treeSum(lanes)}
let rstd = inverseSqrt(partial[0] / f32(p.n) + p.eps);
for (var j = lid.x; j < p.n; j += ${lanes}u) { out[group * p.n + j] = (x[base + j] - mean) * rstd; }`,
    ),
  );

const SOURCES = new Map([GPU_LANES, CPU_LANES].map((lanes) => [lanes, source(lanes)]));

/** Standardises the last axis of a float32 view; the output is contiguous. */
export function standardize(ctx: GpuContext, x: View, eps: number): WebGpuStorage {
  const size = sizeOf(x.shape);
  const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
  const out = ctx.alloc('float32', size);
  if (size === 0) return out;
  // The kernel indexes rows densely: copy strided views (transposes, broadcasts) first.
  const dense = isContiguous(x.shape, x.strides) ? null : copy(ctx, x);
  const src: View = dense
    ? { storage: dense, dtype: x.dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }
    : x;
  const lanes = isCpuAdapter(ctx.gpu.adapterDescription) ? CPU_LANES : GPU_LANES;
  const rows = size / n;
  ctx.dispatch({
    kernel: `standardize:${lanes}`,
    source: SOURCES.get(lanes)!,
    uniform: layout.pack({ rows, n, x_off: src.offset, eps }),
    storage: [ctx.bind(out), ctx.bind(src)],
    workgroups: rows,
  });
  if (dense) ctx.release(dense);
  return out;
}
