// Row standardisation over the last axis as one kernel: per row, the mean, the population variance
// and (x - mean) / sqrt(var + eps), where the composed form ran two reductions and two elementwise
// passes (group normalisation was a third of the tiny UNet's forward+backward kernels). A
// workgroup per row: on GPUs a wide one; on CPU adapters (lavapipe) one subgroup's worth of lanes
// (8, one AVX2 vector), so its barriers are cheap and rows spread over the threads, which a thread
// per row did not do for the UNet's 64 rows (one workgroup: one thread busy).
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { isCpuAdapter } from '../tuning.js';
import type { WebGpuStorage } from '../storage.js';
import { kernelSource, UniformLayout, workgroupPerItemEntry, workgroupTree } from '../wgsl.js';
import { mapDenseRows } from './dense-rows.js';

/** Lanes per row: a GPU workgroup, or one AVX2 vector on CPU adapters. */
const GPU_LANES = 128;
const CPU_LANES = 8;

const layout = new UniformLayout({ rows: 'u32', n: 'u32', x_off: 'u32', eps: 'f32' });

/** The sum of every lane's `acc` into partial[0]. */
const treeSum = (lanes: number): string => workgroupTree(lanes, 'acc', (a, b) => `${a} + ${b}`);

/**
 * The kernel for `lanes` lanes a row; `vec4` reads and writes 4 elements at a time (rows of a
 * multiple of 4 starting 4-aligned): lavapipe loads storage lane by lane, and a vec4 load costs
 * about twice a scalar one for four times the elements (docs/measurements.md).
 */
const source = (lanes: number, vec4: boolean): string => {
  const [t, n, base, at] = vec4
    ? ['vec4<f32>', 'p.n / 4u', 'p.x_off / 4u + group * (p.n / 4u)', 'group * (p.n / 4u)']
    : ['f32', 'p.n', 'p.x_off + group * p.n', 'group * p.n'];
  // A vec4's four centred values added into the lane's scalar sum.
  const total = (v: string) => (vec4 ? `dot(${v}, vec4<f32>(1.0))` : v);
  return kernelSource(
    `// standardize:${lanes}${vec4 ? ':vec4' : ''}: a workgroup of ${lanes} lanes standardises one row of the contiguous [rows, n] input`,
    layout.declaration(),
    `@group(0) @binding(1) var<storage, read_write> out: array<${t}>;\n@group(0) @binding(2) var<storage, read> x: array<${t}>;`,
    `var<workgroup> partial: array<f32, ${lanes}>;`,
    workgroupPerItemEntry(
      lanes,
      'p.rows',
      `let base = ${base};
// Statistics of x - x[0]: for a row of nearby values that difference is exact, so the centred
// values keep their digits (x - mean(x) would lose them to the mean's rounding).
let shift = ${t}(${vec4 ? 'x[base].x' : 'x[base]'});
var acc = 0.0;
for (var j = lid.x; j < ${n}; j += ${lanes}u) { acc += ${total('x[base + j] - shift')}; }
${treeSum(lanes)}
let mean = partial[0] / f32(p.n);
workgroupBarrier();
acc = 0.0;
for (var j = lid.x; j < ${n}; j += ${lanes}u) {
  let d = (x[base + j] - shift) - mean;
  acc += ${total('d * d')};
}
${treeSum(lanes)}
let rstd = inverseSqrt(partial[0] / f32(p.n) + p.eps);
for (var j = lid.x; j < ${n}; j += ${lanes}u) { out[${at} + j] = ((x[base + j] - shift) - mean) * rstd; }`,
    ),
  );
};

const SOURCES = new Map(
  [GPU_LANES, CPU_LANES].flatMap((lanes) =>
    [false, true].map((vec4) => [`${lanes}${vec4 ? ':vec4' : ''}`, source(lanes, vec4)]),
  ),
);

/** Standardises the last axis of a float32 view; the output is contiguous. */
export function standardize(ctx: GpuContext, x: View, eps: number): WebGpuStorage {
  const lanes = isCpuAdapter(ctx.gpu.adapterDescription) ? CPU_LANES : GPU_LANES;
  return mapDenseRows(ctx, x, ({ src, rows, n, out }) => {
    const variant = `${lanes}${n % 4 === 0 && src.offset % 4 === 0 ? ':vec4' : ''}`;
    ctx.dispatch({
      kernel: `standardize:${variant}`,
      source: SOURCES.get(variant)!,
      uniform: layout.pack({ rows, n, x_off: src.offset, eps }),
      storage: [ctx.bind(out), ctx.bind(src)],
      workgroups: rows,
    });
  });
}
