// Reductions (sum/prod/max/min over any axes) and arg-reductions (argmax/argmin over one axis).
//
// Short rows: one thread per output element loops over its row. Long rows: one workgroup per
// output (or per chunk of a row, when there are few outputs) loops with a workgroup-wide stride
// and finishes with a shared-memory tree; chunk partials are reduced again by the same kernels.
import type { DType } from '../../../tensor/dtype.js';
import { sizeOf } from '../../../tensor/shape.js';
import type { View } from '../../backend.js';
import type { ReduceOp, WgslScalar } from '../../elementwise-ops.js';
import type { GpuContext } from '../context.js';
import { checkRank, coalesce, type Coalesced } from '../layout.js';
import type { WebGpuStorage } from '../storage.js';
import { cachedSource } from '../source-cache.js';
import { inlineOperand, type InlineOperand } from '../fusion.js';
import {
  VEC4_COMPONENTS,
  coordsFromIndex,
  kernelSource,
  storageBinding,
  stridedOffset,
  threadPerItemEntry,
  type UniformLayout,
  uniformLayoutOf,
  workgroupPerItemEntry,
  workgroupTree,
  wgslScalar,
} from '../wgsl.js';

const REDUCE_WORKGROUP_SIZE = 64;
/** Rows at least this long get a workgroup each. */
const LONG_ROW = 1024;
/** On CPU adapters, outputs enough to keep every core busy with one thread per output. */
const CPU_ADAPTER_MIN_ROWS = 256;
/** With few outputs, long rows are split so that about this many workgroups run at once. */
const TARGET_WORKGROUPS = 64;
/** Outputs needed before a column-like reduction runs one thread per output. */
const COLUMN_THREADS = 256;
/** Most kept dims the first pass of a split reduction may index (see splitInnermost). */
const MAX_SPLIT_RANK = 6;
/** Smallest chunk of a row worth its own workgroup. */
const MIN_CHUNK = 2048;
/** Smallest chunk of a contiguous row worth its own thread (vec4 rows on CPU adapters). */
const MIN_THREAD_CHUNK = 256;

/**
 * The identity of `op` in scalar `t`, as a WGSL expression. WGSL has no infinity literal and
 * refuses a constant bitcast to one, so infinities come from bit patterns held in a `var`
 * (see `infinities` in the prelude).
 */
export function reduceIdentity(op: ReduceOp, t: WgslScalar): string {
  const table: Record<WgslScalar, Record<ReduceOp, string>> = {
    f32: { sum: '0.0', prod: '1.0', max: 'neg_inf()', min: 'pos_inf()' },
    i32: { sum: '0i', prod: '1i', max: '(i32(-2147483647) - 1i)', min: '2147483647i' },
    u32: { sum: '0u', prod: '1u', max: '0u', min: '1u' },
  };
  return table[t][op];
}

/** Helper functions: `is_nan` (bit test, immune to fast-math folding of x != x) and `combine`. */
function reducePrelude(op: ReduceOp, t: WgslScalar): string {
  const isNan =
    t === 'f32'
      ? 'fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }'
      : `fn is_nan(v: ${t}) -> bool { return false; }`;
  const combine: Record<ReduceOp, string> = {
    sum: 'a + b',
    prod: 'a * b',
    // NaN propagates, as in the CPU reference.
    max: 'select(a, b, b > a || is_nan(b))',
    min: 'select(a, b, b < a || is_nan(b))',
  };
  const infinities =
    t === 'f32'
      ? `fn neg_inf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }
fn pos_inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }\n`
      : '';
  return `${infinities}${isNan}\nfn combine(a: ${t}, b: ${t}) -> ${t} { return ${combine[op]}; }`;
}

/** Splits a view into kept dims (outer, in order) and reduced dims (inner), each merged where contiguous. */
function splitAxes(x: View, axes: readonly number[]): { kept: Coalesced; red: Coalesced; nOut: number; nRed: number } {
  const keptAxes = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
  const pick = (ks: number[]): [number[], number[]] => [ks.map((k) => x.shape[k]), ks.map((k) => x.strides[k])];
  const [keptShape, keptStrides] = pick(keptAxes);
  const [redShape, redStrides] = pick([...axes]);
  return {
    kept: coalesce(keptShape, [keptStrides]),
    red: coalesce(redShape, [redStrides]),
    nOut: sizeOf(keptShape),
    nRed: sizeOf(redShape),
  };
}

interface RowLayout {
  readonly kept: Coalesced;
  readonly red: Coalesced;
  readonly nOut: number;
  readonly nRed: number;
}

const rowUniforms = (kernel: string, l: RowLayout, xOffset: number, extra: Record<string, number> = {}) => {
  checkRank(kernel, l.kept.shape.length);
  checkRank(kernel, l.red.shape.length);
  const layout = uniformLayoutOf({
    n_out: 'u32',
    n_red: 'u32',
    x_off: 'u32',
    kshape: 'dims',
    kst: 'dims',
    rshape: 'dims',
    rst: 'dims',
    ...Object.fromEntries(Object.keys(extra).map((k) => [k, 'u32' as const])),
  });
  const uniform = layout.pack({
    n_out: l.nOut,
    n_red: l.nRed,
    x_off: xOffset,
    kshape: l.kept.shape,
    kst: l.kept.strides[0],
    rshape: l.red.shape,
    rst: l.red.strides[0],
    ...extra,
  });
  return { layout, uniform };
};

/** A row kernel's source key: its name (op, dtype, plan) and ranks determine its source. */
const rowsKey = (kernel: string, l: RowLayout): string => `${kernel}|${l.kept.shape.length}|${l.red.shape.length}`;

/** Statements giving `base`, the offset of the first element of output row `rowExpr`. */
const rowBase = (rowExpr: string, keptRank: number): string =>
  [coordsFromIndex(rowExpr, keptRank, 'kshape', 'k'), `let base = ${stridedOffset(keptRank, 'kst', 'p.x_off', 'k')};`]
    .filter((s) => s)
    .join('\n');

/** Statements giving `off`, the offset of element `rExpr` of the row starting at `base`. */
const rowElement = (rExpr: string, redRank: number): string =>
  [coordsFromIndex(rExpr, redRank, 'rshape', 'r'), `let off = ${stridedOffset(redRank, 'rst', 'base', 'r')};`]
    .filter((s) => s)
    .join('\n');

function threadPerRowSource(kernel: string, op: ReduceOp, t: WgslScalar, l: RowLayout, layout: UniformLayout): string {
  const body = `${rowBase('idx', l.kept.shape.length)}
var acc = ${reduceIdentity(op, t)};
for (var i = 0u; i < p.n_red; i++) {
${rowElement('i', l.red.shape.length)
  .split('\n')
  .map((s) => '  ' + s)
  .join('\n')}
  acc = combine(acc, x[off]);
}
out[idx] = acc;`;
  return kernelSource(
    `// ${kernel}: one thread per output row, kept rank ${l.kept.shape.length}, reduced rank ${l.red.shape.length}`,
    reducePrelude(op, t),
    layout.declaration(),
    `${storageBinding(1, 'out', t, 'read_write')}\n${storageBinding(2, 'x', t, 'read')}`,
    threadPerItemEntry(REDUCE_WORKGROUP_SIZE, 'p.n_out', body),
  );
}

/**
 * One thread per chunk of a contiguous, 4-aligned row, read as vec4 into four accumulators (one
 * per lane of the vec4, combined at the end). `parts` chunks of `chunk4` vec4s per row; output
 * [nOut, parts].
 */
function vec4ChunkSource(
  kernel: string,
  op: ReduceOp,
  t: WgslScalar,
  l: RowLayout,
  layout: UniformLayout,
  inline?: InlineOperand,
): string {
  // An inline operand: its inputs load as vec4s at the same index and the expression runs per lane.
  const load = inline
    ? `fn load4(q: u32) -> vec4<f32> {
${inline.inputs.map((_, j) => `  let a${j} = in${j}[q];`).join('\n')}
  return vec4<f32>(${VEC4_COMPONENTS.map((c) => inline.render(inline.inputs.map((_, j) => `a${j}.${c}`))).join(', ')});
}`
    : `fn load4(q: u32) -> vec4<${t}> { return x[q]; }`;
  const bindings = inline
    ? inline.inputs
        .map((_, j) => `@group(0) @binding(${j + 2}) var<storage, read> in${j}: array<vec4<f32>>;`)
        .join('\n')
    : `@group(0) @binding(2) var<storage, read> x: array<vec4<${t}>>;`;
  const body = `let row = idx / p.parts;
let part = idx % p.parts;
${rowBase('row', l.kept.shape.length)}
let q0 = base / 4u + part * p.chunk4;
let q1 = min(q0 + p.chunk4, base / 4u + p.n_red / 4u);
var a0 = ${reduceIdentity(op, t)};
var a1 = a0;
var a2 = a0;
var a3 = a0;
for (var q = q0; q < q1; q++) {
  let v = load4(q);
  a0 = combine(a0, v.x);
  a1 = combine(a1, v.y);
  a2 = combine(a2, v.z);
  a3 = combine(a3, v.w);
}
out[idx] = combine(combine(a0, a1), combine(a2, a3));`;
  return kernelSource(
    `// ${kernel}: one thread per vec4 chunk of a contiguous row, kept rank ${l.kept.shape.length}`,
    reducePrelude(op, t),
    [...(inline?.preludes ?? [])].join('\n'),
    layout.declaration(),
    `${storageBinding(1, 'out', t, 'read_write')}\n${bindings}`,
    load,
    threadPerItemEntry(REDUCE_WORKGROUP_SIZE, 'p.count', body),
  );
}

/** Whether every row of `l` is contiguous and 4-aligned, so a thread can read it as vec4. */
const vec4Rows = (l: RowLayout, xOffset: number): boolean =>
  l.red.shape.length === 1 &&
  l.red.strides[0][0] === 1 &&
  l.nRed % 4 === 0 &&
  l.nRed >= 16 &&
  xOffset % 4 === 0 &&
  l.kept.strides[0].every((s) => s % 4 === 0);

/** The second pass of a split reduction: `partial` is a contiguous [nOut, parts] array, reduced over its last axis (and released). */
function combineParts(
  ctx: GpuContext,
  op: ReduceOp,
  partial: WebGpuStorage,
  dtype: DType,
  nOut: number,
  parts: number,
): WebGpuStorage {
  if (parts === 1) return partial;
  const second: RowLayout = {
    kept: { shape: nOut > 1 ? [nOut] : [], strides: [nOut > 1 ? [parts] : []] },
    red: { shape: [parts], strides: [[1]] },
    nOut,
    nRed: parts,
  };
  const out = reduceRows(ctx, op, partial, dtype, second, 0);
  ctx.release(partial);
  return out;
}

function workgroupPerChunkSource(
  kernel: string,
  op: ReduceOp,
  t: WgslScalar,
  l: RowLayout,
  layout: UniformLayout,
): string {
  const wg = REDUCE_WORKGROUP_SIZE;
  const body = `let row = group / p.splits;
let part = group % p.splits;
${rowBase('row', l.kept.shape.length)}
let start = part * p.chunk;
let end = min(start + p.chunk, p.n_red);
var acc = ${reduceIdentity(op, t)};
for (var i = start + lid.x; i < end; i += ${wg}u) {
${rowElement('i', l.red.shape.length)
  .split('\n')
  .map((s) => '  ' + s)
  .join('\n')}
  acc = combine(acc, x[off]);
}
${workgroupTree(wg, 'acc', (a, b) => `combine(${a}, ${b})`)}
if (lid.x == 0u) { out[group] = partial[0]; }`;
  return kernelSource(
    `// ${kernel}: one workgroup per row chunk + shared-memory tree, kept rank ${l.kept.shape.length}, reduced rank ${l.red.shape.length}`,
    reducePrelude(op, t),
    layout.declaration(),
    `${storageBinding(1, 'out', t, 'read_write')}\n${storageBinding(2, 'x', t, 'read')}\nvar<workgroup> partial: array<${t}, ${wg}>;`,
    workgroupPerItemEntry(wg, 'p.n_groups', body),
  );
}

/**
 * A long reduction over several (unmergeable) dims, e.g. a bias gradient summing [N, C, H, W]
 * over N, H and W, as two passes: the innermost reduced dim first (its rows contiguous or evenly
 * strided), then the rest over the small [nOut, outer] partials. Each element's index then needs
 * no division by the reduced shape, which on lavapipe cost as much as the load itself.
 */
function splitInnermost(l: RowLayout): { first: RowLayout; second: RowLayout } | undefined {
  const r = l.red.shape.length;
  if (r < 2 || l.nRed < LONG_ROW || l.kept.shape.length + r - 1 > MAX_SPLIT_RANK) return undefined;
  const inner = l.red.shape[r - 1];
  const outer = l.nRed / inner;
  return {
    first: {
      kept: {
        shape: [...l.kept.shape, ...l.red.shape.slice(0, -1)],
        strides: [[...l.kept.strides[0], ...l.red.strides[0].slice(0, -1)]],
      },
      red: { shape: [inner], strides: [[l.red.strides[0][r - 1]]] },
      nOut: l.nOut * outer,
      nRed: inner,
    },
    second: {
      kept: { shape: l.nOut > 1 ? [l.nOut] : [], strides: [l.nOut > 1 ? [outer] : []] },
      red: { shape: [outer], strides: [[1]] },
      nOut: l.nOut,
      nRed: outer,
    },
  };
}

/** Reduces `x` over `axes` (sorted, unique); the output drops those axes. */
export function reduce(ctx: GpuContext, op: ReduceOp, x: View, axes: readonly number[]): WebGpuStorage {
  const rows = splitAxes(x, axes);
  // bool results must stay 0/1 (the CPU stores sum != 0): on 0/1 values sum is `any` (max) and prod is `all` (min).
  const effective: ReduceOp = x.dtype !== 'bool' ? op : op === 'sum' ? 'max' : op === 'prod' ? 'min' : op;
  // A pending elementwise operand (a product of two maps, as a broadcast weight's gradient sums)
  // is computed as it is read, where the vec4 rows take it: one pass over memory less.
  const inline = ctx.fusion ? (inlineOperand(x) ?? undefined) : undefined;
  return reduceRows(ctx, effective, x, x.dtype, rows, x.offset, inline);
}

function reduceRows(
  ctx: GpuContext,
  op: ReduceOp,
  x: View | WebGpuStorage,
  dtype: DType,
  l: RowLayout,
  xOffset: number,
  inline?: InlineOperand,
): WebGpuStorage {
  const t = wgslScalar(dtype);
  const kernelBase = `reduce:${op}:${dtype}`;
  if (l.nOut === 0) return ctx.alloc(dtype, 0);
  const split = splitInnermost(l);
  if (split) {
    const partial = reduceRows(ctx, op, x, dtype, split.first, xOffset, inline);
    const out = reduceRows(ctx, op, partial, dtype, split.second, 0);
    ctx.release(partial);
    return out;
  }

  if (ctx.threadPerRow && vec4Rows(l, xOffset)) {
    // Contiguous rows on CPU adapters: one thread per row chunk reading vec4 (a quarter of the
    // bounds-checked loads of the scalar kernels, and no barriers), chunks cut so that about
    // CPU_ADAPTER_MIN_ROWS threads run; a second pass combines the chunks of each row.
    // Rows shorter than LONG_ROW stay whole: a second dispatch costs more than it saves there.
    const wanted = l.nOut >= CPU_ADAPTER_MIN_ROWS || l.nRed < LONG_ROW ? 1 : Math.ceil(CPU_ADAPTER_MIN_ROWS / l.nOut);
    const chunks = Math.max(1, Math.min(wanted, Math.floor(l.nRed / MIN_THREAD_CHUNK)));
    const chunk4 = Math.ceil(l.nRed / 4 / chunks);
    const parts = Math.ceil(l.nRed / 4 / chunk4);
    const kernel = `${kernelBase}:vec4-chunks${inline ? `+${inline.ops.join('+')}` : ''}`;
    const count = l.nOut * parts;
    const partial = ctx.alloc(dtype, count);
    const { layout, uniform } = rowUniforms(kernel, l, xOffset, { parts, chunk4, count });
    ctx.dispatch({
      kernel,
      source: cachedSource(`${rowsKey(kernel, l)}|${inline?.key ?? ''}`, () =>
        vec4ChunkSource(kernel, op, t, l, layout, inline),
      ),
      uniform,
      storage: [ctx.bind(partial), ...(inline ? inline.inputs.map((v) => ctx.bind(v)) : [ctx.bind(x)])],
      workgroups: Math.ceil(count / REDUCE_WORKGROUP_SIZE),
    });
    return combineParts(ctx, op, partial, dtype, l.nOut, parts);
  }

  // Column-like reductions (reduced elements strided, outputs adjacent in memory) read best with
  // one thread per output: neighbouring threads then read neighbouring addresses.
  const innerRedStride = l.red.strides[0][l.red.shape.length - 1] ?? 1;
  const innerKeptStride = l.kept.strides[0][l.kept.shape.length - 1] ?? 0;
  const columnLike = innerRedStride !== 1 && innerKeptStride === 1 && l.nOut >= COLUMN_THREADS;
  // On CPU adapters (lavapipe) workgroup barriers cost more than a long serial loop, so every
  // reduction with enough outputs to fill the cores runs one thread per output
  // (docs/measurements.md).
  const serialRowsWin = ctx.threadPerRow && l.nOut >= CPU_ADAPTER_MIN_ROWS;
  if (l.nRed < LONG_ROW || columnLike || serialRowsWin) {
    const kernel = `${kernelBase}:thread-per-row`;
    const out = ctx.alloc(dtype, l.nOut);
    const { layout, uniform } = rowUniforms(kernel, l, xOffset);
    ctx.dispatch({
      kernel,
      source: cachedSource(rowsKey(kernel, l), () => threadPerRowSource(kernel, op, t, l, layout)),
      uniform,
      storage: [ctx.bind(out), ctx.bind(x)],
      workgroups: Math.ceil(l.nOut / REDUCE_WORKGROUP_SIZE),
    });
    return out;
  }

  let splits = 1;
  if (l.nOut < TARGET_WORKGROUPS) {
    splits = Math.max(1, Math.min(Math.ceil(l.nRed / MIN_CHUNK), Math.ceil(TARGET_WORKGROUPS / l.nOut)));
  }
  const chunk = Math.ceil(l.nRed / splits);
  splits = Math.ceil(l.nRed / chunk);
  const kernel = `${kernelBase}:workgroup-per-row`;
  const partial = ctx.alloc(dtype, l.nOut * splits);
  const nGroups = l.nOut * splits;
  const { layout, uniform } = rowUniforms(kernel, l, xOffset, { splits, chunk, n_groups: nGroups });
  ctx.dispatch({
    kernel,
    source: cachedSource(rowsKey(kernel, l), () => workgroupPerChunkSource(kernel, op, t, l, layout)),
    uniform,
    storage: [ctx.bind(partial), ctx.bind(x)],
    workgroups: nGroups,
  });
  return combineParts(ctx, op, partial, dtype, l.nOut, splits);
}

/** Index (int32) of the first max/min along `axis`; NaN counts as the extreme, as in NumPy. */
export function argReduce(ctx: GpuContext, op: 'argmax' | 'argmin', x: View, axis: number): WebGpuStorage {
  const l = splitAxes(x, [axis]);
  const kernel = `${op}:${x.dtype}`;
  const out = ctx.alloc('int32', l.nOut);
  if (l.nOut === 0) return out;
  const t = wgslScalar(x.dtype);
  const { layout, uniform } = rowUniforms(kernel, l, x.offset);
  const better = op === 'argmax' ? 'v > best' : 'v < best';
  const isNan =
    t === 'f32'
      ? 'fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }'
      : `fn is_nan(v: ${t}) -> bool { return false; }`;
  const body = `${rowBase('idx', l.kept.shape.length)}
var best = x[base];
var best_i = 0u;
for (var i = 1u; i < p.n_red; i++) {
${rowElement('i', l.red.shape.length)
  .split('\n')
  .map((s) => '  ' + s)
  .join('\n')}
  let v = x[off];
  if (!is_nan(best) && (${better} || is_nan(v))) { best = v; best_i = i; }
}
out[idx] = i32(best_i);`;
  const source = kernelSource(
    `// ${kernel}: one thread per output row, kept rank ${l.kept.shape.length}`,
    isNan,
    layout.declaration(),
    `${storageBinding(1, 'out', 'i32', 'read_write')}\n${storageBinding(2, 'x', t, 'read')}`,
    threadPerItemEntry(REDUCE_WORKGROUP_SIZE, 'p.n_out', body),
  );
  ctx.dispatch({
    kernel,
    source,
    uniform,
    storage: [ctx.bind(out), ctx.bind(x)],
    workgroups: Math.ceil(l.nOut / REDUCE_WORKGROUP_SIZE),
  });
  return out;
}
