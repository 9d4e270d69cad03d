// Row standardisation over the last axis as one kernel: per row, the mean, the population variance
// and (x - mean) / sqrt(var + eps), where the composed form ran two reductions and two elementwise
// passes (group normalisation was a third of the tiny UNet's forward+backward kernels). A
// workgroup per row: on GPUs a wide one; on CPU adapters (lavapipe) one subgroup's worth of lanes
// (8, one AVX2 vector), so its barriers are cheap and rows spread over the threads, which a thread
// per row did not do for the UNet's 64 rows (one workgroup: one thread busy).
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { WebGpuStorage } from '../storage.js';
import { identityEpilogue, storeOut, storeOut4 } from '../epilogue.js';
import { kernelSource, UniformLayout, workgroupPerItemEntry, workgroupTree } from '../wgsl.js';
import { mapDenseRows, mapDenseRowsOf } from './dense-rows.js';

/** Lanes per row: a GPU workgroup, or one AVX2 vector on CPU adapters. */
const GPU_LANES = 128;
const CPU_LANES = 8;

/** 8 lanes a row where row kernels run a thread per row (CPU adapters, by default), else 128. */
export const lanesOf = (ctx: GpuContext): number => (ctx.threadPerRow ? CPU_LANES : GPU_LANES);

const layout = new UniformLayout({ rows: 'u32', n: 'u32', x_off: 'u32', eps: 'f32' });

/** The sum of every lane's `acc` into partial[0]. */
export const treeSum = (lanes: number): string => workgroupTree(lanes, 'acc', (a, b) => `${a} + ${b}`);

/**
 * One pass for a row's statistics: the sums of d = x - shift and of d^2, with the variance as
 * E[d^2] - E[d]^2. For rows of nearby values d is exact (shift is one of them), so the centred
 * values keep their digits (x - mean(x) would lose them to the mean's rounding). The subtraction
 * loses digits in proportion to ((mean - shift) / sd)^2, so the shift is the median of three of
 * the row's values (its first, one in the middle, one at the end): no single outlier can be it.
 * Against a pass (and a tree) for the mean and another for the variance, the tiny UNet's forward
 * took 2-3% less CPU time (docs/measurements.md); merging moments per vec4 (Welford/Chan) kept
 * the two-pass robustness but was no faster than two passes.
 * `row`: the index of the row's first item of x (a value, or a vec4 whose first value is taken);
 * `last`: the offset of its last item.
 */
const shiftOf = (row: string, last: string, vec4: boolean): string => {
  const first = (i: string) => (vec4 ? `x[${i}].x` : `x[${i}]`);
  return `let s0 = ${first(row)};
let s1 = ${first(`${row} + (${last}) / 2u`)};
let s2 = ${first(`${row} + (${last})`)};
let shift = max(min(s0, s1), min(max(s0, s1), s2));`;
};

/**
 * WGSL: the statistics of the row of `n` items of x at `base`, in one pass (shiftOf): declares
 * `shift`, `mean` and `rstd` (1 / sqrt(var + p.eps)), with the workgroup's vec2 tree in `partial`
 * and every lane's sums in `acc`. Items are vec4s when `vec4`; p.n counts values.
 */
export const rowStatistics = (base: string, n: string, lanes: number, vec4: boolean): string => {
  const total = (v: string) => (vec4 ? `dot(${v}, vec4<f32>(1.0))` : v);
  return `${shiftOf(base, `${n} - 1u`, vec4)}
var acc = vec2<f32>(0.0);
for (var j = lid.x; j < ${n}; j += ${lanes}u) {
  let d = x[${base} + j] - shift;
  acc += vec2<f32>(${total('d')}, ${total('d * d')});
}
${treeSum(lanes)}
let moments = partial[0] / f32(p.n);
let mean = moments.x;
let rstd = inverseSqrt(max(moments.y - mean * mean, 0.0) + p.eps);`;
};

/**
 * The kernel for `lanes` lanes a row; `vec4` reads and writes 4 elements at a time (rows of a
 * multiple of 4 starting 4-aligned): lavapipe loads storage lane by lane, and a vec4 load costs
 * about twice a scalar one for four times the elements (docs/measurements.md).
 */
const source = (lanes: number, vec4: boolean): string => {
  const [t, n, base, at] = vec4
    ? ['vec4<f32>', 'p.n / 4u', 'p.x_off / 4u + group * (p.n / 4u)', 'group * (p.n / 4u)']
    : ['f32', 'p.n', 'p.x_off + group * p.n', 'group * p.n'];
  return kernelSource(
    `// standardize:${lanes}${vec4 ? ':vec4' : ''}: a workgroup of ${lanes} lanes standardises one row of the contiguous [rows, n] input`,
    layout.declaration(),
    `@group(0) @binding(1) var<storage, read_write> out: array<${t}>;\n@group(0) @binding(2) var<storage, read> x: array<${t}>;`,
    // Its one store site goes through an epilogue: an elementwise op on its result runs in it.
    identityEpilogue('f32'),
    `var<workgroup> partial: array<vec2<f32>, ${lanes}>;`,
    workgroupPerItemEntry(
      lanes,
      'p.rows',
      `let base = ${base};
${rowStatistics('base', n, lanes, vec4)}
for (var j = lid.x; j < ${n}; j += ${lanes}u) { ${(vec4 ? storeOut4 : storeOut)(`${at} + j`, '((x[base + j] - shift) - mean) * rstd')} }`,
    ),
  );
};

const SOURCES = new Map(
  [GPU_LANES, CPU_LANES].flatMap((lanes) =>
    [false, true].map((vec4) => [`${lanes}${vec4 ? ':vec4' : ''}`, source(lanes, vec4)]),
  ),
);

/** Standardises the last axis of a float32 view; the output is contiguous (`into` when given). */
export function standardize(ctx: GpuContext, x: View, eps: number, into?: WebGpuStorage): WebGpuStorage {
  const lanes = lanesOf(ctx);
  return mapDenseRows(
    ctx,
    x,
    ({ src, rows, n, out }) => {
      const variant = `${lanes}${n % 4 === 0 && src.offset % 4 === 0 ? ':vec4' : ''}`;
      ctx.dispatch({
        kernel: `standardize:${variant}`,
        source: SOURCES.get(variant)!,
        uniform: layout.pack({ rows, n, x_off: src.offset, eps }),
        storage: [ctx.bind(out), ctx.bind(src)],
        workgroups: rows,
      });
    },
    into,
  );
}

const backwardLayout = new UniformLayout({
  rows: 'u32',
  n: 'u32',
  x_off: 'u32',
  y_off: 'u32',
  v_off: 'u32',
  eps: 'f32',
});

/**
 * The backward kernel: per row, r (v - mean(v) - y mean(v y)) with r = 1 / sqrt(var(x) + eps)
 * recomputed from x as the forward takes it. One pass for x's two moments and the two means of v
 * (four sums in one tree), one for the output: the composed form ran five reductions and four
 * elementwise passes.
 */
const backwardSource = (lanes: number, vec4: boolean): string => {
  const [t, n] = vec4 ? ['vec4<f32>', 'p.n / 4u'] : ['f32', 'p.n'];
  const row = (off: string) => (vec4 ? `${off} / 4u + group * (p.n / 4u)` : `${off} + group * p.n`);
  const total = (v: string) => (vec4 ? `dot(${v}, vec4<f32>(1.0))` : v);
  return kernelSource(
    `// standardizeBackward:${lanes}${vec4 ? ':vec4' : ''}: a workgroup of ${lanes} lanes takes one row of the contiguous [rows, n] inputs`,
    backwardLayout.declaration(),
    [
      `@group(0) @binding(1) var<storage, read_write> out: array<${t}>;`,
      `@group(0) @binding(2) var<storage, read> x: array<${t}>;`,
      `@group(0) @binding(3) var<storage, read> y: array<${t}>;`,
      `@group(0) @binding(4) var<storage, read> v: array<${t}>;`,
    ].join('\n'),
    `var<workgroup> partial: array<vec4<f32>, ${lanes}>;`,
    workgroupPerItemEntry(
      lanes,
      'p.rows',
      `let xb = ${row('p.x_off')};
let yb = ${row('p.y_off')};
let vb = ${row('p.v_off')};
let at = group * ${n};
// The forward's statistics (standardize above), so r is the one the forward used.
${shiftOf('xb', `${n} - 1u`, vec4)}
var acc = vec4<f32>(0.0);
for (var j = lid.x; j < ${n}; j += ${lanes}u) {
  let d = x[xb + j] - shift;
  let vj = v[vb + j];
  acc += vec4<f32>(${total('d')}, ${total('d * d')}, ${total('vj')}, ${total('vj * y[yb + j]')});
}
${treeSum(lanes)}
let sums = partial[0] / f32(p.n);
let rstd = inverseSqrt(max(sums.y - sums.x * sums.x, 0.0) + p.eps);
for (var j = lid.x; j < ${n}; j += ${lanes}u) {
  out[at + j] = rstd * ((v[vb + j] - sums.z) - y[yb + j] * sums.w);
}`,
    ),
  );
};

const BACKWARD_SOURCES = new Map(
  [GPU_LANES, CPU_LANES].flatMap((lanes) =>
    [false, true].map((vec4) => [`${lanes}${vec4 ? ':vec4' : ''}`, backwardSource(lanes, vec4)]),
  ),
);

/**
 * The VJP (and JVP) of standardize for x, its output y and a cotangent v of x's shape, along the
 * last axis: r (v - mean(v) - y mean(v y)), r = 1 / sqrt(var(x) + eps). The output is contiguous.
 */
export function standardizeBackward(ctx: GpuContext, x: View, y: View, v: View, eps: number): WebGpuStorage {
  const lanes = lanesOf(ctx);
  return mapDenseRowsOf(ctx, [x, y, v], ({ srcs: [xs, ys, vs], rows, n, out }) => {
    const aligned = n % 4 === 0 && [xs, ys, vs].every((s) => s.offset % 4 === 0);
    const variant = `${lanes}${aligned ? ':vec4' : ''}`;
    ctx.dispatch({
      kernel: `standardizeBackward:${variant}`,
      source: BACKWARD_SOURCES.get(variant)!,
      uniform: backwardLayout.pack({ rows, n, x_off: xs.offset, y_off: ys.offset, v_off: vs.offset, eps }),
      storage: [ctx.bind(out), ctx.bind(xs), ctx.bind(ys), ctx.bind(vs)],
      workgroups: rows,
    });
  });
}
