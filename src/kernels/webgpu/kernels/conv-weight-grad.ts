// The weight gradient of a stride-1 convolution, dW[o, c, ky, kx] = sum over (n, y, x) of
// g[n, o, y, x] * x[n, c, y + ky - pad, x + kx - pad], as autodiff asks for it: a conv2d of
// x^T [C, N, H, W] with g^T [O, N, Ho, Wo] as the filter (rules.ts, convWeightGrad), whose output
// is only the few taps of the forward kernel. The implicit GEMMs put lanes on output pixels, and
// here there are a few dozen: most lanes idle and one workgroup runs a 16k-long reduction. This
// kernel puts lanes on the reduction instead: each lane takes 4 consecutive pixels of a row at a
// time (vec4 loads, the cheap ones on lavapipe), reads the x rows it needs once (the vec4 before
// and after give the taps one column left and right), and keeps TO x taps sums; the 64 lanes'
// sums are added in workgroup memory at the end, and splits of the reduction across workgroups
// (to fill a GPU) are added by conv-split-k.ts's second pass.
// The subgroup form (`wgrad8sg`) loads only the centre vec4 of each x row: a lane's neighbours in
// its subgroup hold the pieces one to the left and right (consecutive items), so the shifted
// columns come by subgroupShuffle, and only a lane whose neighbour holds another row's piece (the
// subgroup's edge lanes, on rows wider than a subgroup) loads them. On lavapipe a vec4 load costs
// 50-80 cycles and a shuffle a few (docs/measurements.md): per item and 8 output channels that is
// 8 + 3 loads instead of 8 + 9. Where a subgroup holds whole rows (1, 2, 4 or 8 pieces: the tiny
// UNet's 4-32 px), no lane loads them: the piece past a row's end is the zero padding. Even a load
// no lane needs costs its time under lavapipe's masks, so that form leaves them out of the source
// (15-18% faster a call at the tiny UNet's 16-32 px layers, batch 80).
// A workgroup may also take TC input channels: the TO pieces of g a lane loads then serve TC pieces
// of x (`wgrad1x1o8c8` for 1x1 layers: one tap, so 8 x 8 sums fit where a 3x3 layer's 8 x 9 do;
// `wgrad4c2sg` for 3x3 layers: 4 x 2 x 9 sums, as many as 8 x 1 x 9, from 6 loads instead of 9).
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import type { WebGpuStorage } from '../storage.js';
import { subgroupsFit } from '../device.js';
import { cachedSource } from '../source-cache.js';
import { indent, kernelSource, u32Fields, UniformLayout, workgroupPerItemEntry } from '../wgsl.js';
import { type ConvGemmProblem, type ConvGemmVariant, rowsFitSubgroups } from './conv-gemm.js';
import { rowsAlignedTo4 } from '../layout.js';
import { sumSplits, targetWorkgroups } from './conv-split-k.js';
import * as elementwise from './elementwise.js';

const LANES = 64;
/** Most accumulators summed across the lanes in one round (workgroup memory: ROUND x LANES floats, 9 KiB). */
const ROUND = 36;
/** Fewest vec4 items (4 pixels each) per lane per split: below this, the final sums cost more than they save. */
const MIN_ITEMS_PER_LANE = 4;

const layout = new UniformLayout({
  ...u32Fields('count', 'blocks_o', 'blocks_c', 'cn', 'o', 'h', 'items', 'per_split', 'total', 'x_off', 'w_off'),
  xst: 'vec4',
  wst: 'vec4',
});

/**
 * Whether `p` is a stride-1 weight-gradient convolution this kernel runs: the filter as wide as
 * x's rows (same padding), rows a non-zero multiple of 4 wide and a non-empty filter (the kernel
 * divides item indices by both as WGSL constants), and output taps at most one column left or
 * right of the pixel.
 */
export const weightGradFits = (p: ConvGemmProblem): boolean =>
  !p.transposed &&
  p.o === p.opg &&
  p.stride[0] === 1 &&
  p.stride[1] === 1 &&
  p.dilation[0] === 1 &&
  p.dilation[1] === 1 &&
  p.kw === p.w &&
  p.w % 4 === 0 &&
  p.w > 0 &&
  p.kh > 0 &&
  p.oh * p.ow > 0 &&
  p.padding[1] <= 1 &&
  p.ow - 1 - p.padding[1] <= 1 &&
  p.oh <= 3;

/** The view itself when its rows are contiguous and 4-aligned (vec4 loads), else a contiguous copy to release. */
export function rowAligned(ctx: GpuContext, v: View): { readonly view: View; readonly temp?: WebGpuStorage } {
  if (rowsAlignedTo4(v)) return { view: v };
  const temp = elementwise.copy(ctx, v);
  const [, d1, d2, d3] = v.shape;
  return {
    view: { storage: temp, dtype: v.dtype, shape: v.shape, strides: [d1 * d2 * d3, d2 * d3, d3, 1], offset: 0 },
    temp,
  };
}

/** Everything a weight-gradient kernel's source depends on (its cache key is this, as JSON). */
interface WeightGradSource {
  readonly kernel: string;
  readonly to: number;
  /** Input channels per workgroup: each lane keeps to x tc x taps sums. */
  readonly tc: number;
  readonly shuffled: boolean;
  /** The subgroup size (shuffled only). */
  readonly sg: number;
  readonly oh: number;
  readonly ow: number;
  readonly padding: readonly [number, number];
  /** vec4 pieces per x row, and x rows per image (the item index is divided by both). */
  readonly quads: number;
  readonly kh: number;
  /** Whether the sums go to a split's slice of partials (conv-split-k.ts adds them). */
  readonly split: boolean;
  /** Whether each subgroup holds whole x rows (see `rowsFitSubgroups`): its side pieces come only by shuffles. */
  readonly wholeRows: boolean;
}

/** The WGSL of one weight-gradient kernel. */
function weightGradSource({
  kernel,
  to,
  tc,
  shuffled,
  sg,
  oh,
  ow,
  padding,
  quads,
  kh,
  split,
  wholeRows,
}: WeightGradSource): string {
  const taps = oh * ow;
  const nacc = to * tc * taps;
  /** The suffix of input channel c0 + j's values. */
  const cj = (j: number) => `_c${j}`;
  const acc = (i: number, j: number, ky: number, kx: number) => `a${i}${cj(j)}_${ky}_${kx}`;
  /** Accumulator k of the nacc: output channel by output channel, then input channel, then tap. */
  const accAt = (k: number) =>
    acc(Math.floor(k / (tc * taps)), Math.floor(k / taps) % tc, Math.floor((k % taps) / ow), k % ow);
  // The x row at kernel row ky, as the vec4 of the lane's pixels shifted by `shift` columns (-1, 0, 1).
  const shifted = (j: number): Record<number, string> => ({
    [-1]: `vec4<f32>(pv${cj(j)}.w, cv${cj(j)}.xyz)`,
    0: `cv${cj(j)}`,
    1: `vec4<f32>(cv${cj(j)}.yzw, nv${cj(j)}.x)`,
  });
  const prevLoad = (j: number) => `select(vec4<f32>(0.0), x[rb${cj(j)} + max(q, 1u) - 1u], ok && q > 0u)`;
  const nextLoad = (j: number) =>
    `select(vec4<f32>(0.0), x[rb${cj(j)} + min(q + 1u, QUADS - 1u)], ok && q + 1u < QUADS)`;
  // The pieces left and right of the lane's: loaded, or from the neighbouring lanes (whose
  // items are it - 1 and it + 1 where prevShared / nextShared), loaded where they are not.
  // A 1-column filter (ow 1, unpadded) reads only the lane's own piece: no neighbours to share.
  const sideColumns = ow > 1 || padding[1] !== 0;
  const shares = shuffled && sideColumns;
  const neighbours = (j: number) =>
    !sideColumns
      ? ''
      : shares && wholeRows
        ? `let pv${cj(j)} = select(vec4<f32>(0.0), subgroupShuffle(cv${cj(j)}, prevLane), q > 0u);
let nv${cj(j)} = select(vec4<f32>(0.0), subgroupShuffle(cv${cj(j)}, nextLane), q + 1u < QUADS);`
        : shares
          ? `let cvPrev${cj(j)} = subgroupShuffle(cv${cj(j)}, prevLane);
let cvNext${cj(j)} = subgroupShuffle(cv${cj(j)}, nextLane);
var pv${cj(j)} = select(vec4<f32>(0.0), cvPrev${cj(j)}, q > 0u);
if (!prevShared) { pv${cj(j)} = ${prevLoad(j)}; }
var nv${cj(j)} = select(vec4<f32>(0.0), cvNext${cj(j)}, q + 1u < QUADS);
if (!nextShared) { nv${cj(j)} = ${nextLoad(j)}; }`
          : `let pv${cj(j)} = ${prevLoad(j)};
let nv${cj(j)} = ${nextLoad(j)};`;
  const channelRow = (j: number, ky: number) => `let rb${cj(j)} = xb${cj(j)} + u32(select(0, iy, ok)) * (p.xst[2] / 4u);
let cv${cj(j)} = select(vec4<f32>(0.0), x[rb${cj(j)} + q], ok);
${neighbours(j)}
${Array.from({ length: ow }, (_, kx) => `  let s${cj(j)}${kx} = ${shifted(j)[kx - padding[1]]};\n${Array.from({ length: to }, (_, i) => `  ${acc(i, j, ky, kx)} += dot(g${i}, s${cj(j)}${kx});`).join('\n')}`).join('\n')}`;
  const rows = Array.from(
    { length: oh },
    (_, ky) => `{
let iy = i32(y) + ${ky - padding[0]};
let ok = iy >= 0 && iy < i32(p.h);
${Array.from({ length: tc }, (_, j) => channelRow(j, ky)).join('\n')}
}`,
  );
  const item = `let q = it % QUADS;
let r = it / QUADS;
let y = r % KH;
let n = r / KH;
${Array.from({ length: tc }, (_, j) => `let xb${cj(j)} = xc${cj(j)} + n * (p.xst[1] / 4u);`).join('\n')}
let wrow = n * (p.wst[1] / 4u) + y * (p.wst[2] / 4u) + q;`;
  const gLoads = (guard?: string) =>
    Array.from({ length: to }, (_, i) =>
      guard ? `let g${i} = select(vec4<f32>(0.0), wt[wr${i} + wrow], ${guard});` : `let g${i} = wt[wr${i} + wrow];`,
    ).join('\n');
  // The sharing loop keeps every lane in it to the end (subgroup operations want uniform
  // control flow): lanes past the split's end repeat its last item with zero gradients.
  const loop = shares
    ? `let prevLane = max(sid, 1u) - 1u;
let nextLane = min(sid + 1u, ${sg - 1}u);
for (var base = lo; base < hi; base += ${LANES}u) {
let live = base + lid.x < hi;
let it = min(base + lid.x, hi - 1u);
${
  wholeRows
    ? ''
    : `let itPrev = subgroupShuffle(it, prevLane);
let itNext = subgroupShuffle(it, nextLane);
let prevShared = sid > 0u && itPrev + 1u == it;
let nextShared = sid + 1u < ${sg}u && itNext == it + 1u;
`
}${indent(item)}
${indent(gLoads('live'))}
${indent(rows.join('\n'))}
}`
    : `for (var it = lo + lid.x; it < hi; it += ${LANES}u) {
${indent(item)}
${indent(gLoads())}
${indent(rows.join('\n'))}
}`;
  // The lanes' sums, added in rounds of at most ROUND accumulators (workgroup memory stays small).
  const round = Math.min(nacc, ROUND);
  const rounds = Array.from({ length: Math.ceil(nacc / round) }, (_, r) => {
    const first = r * round;
    const count = Math.min(round, nacc - first);
    return `${r > 0 ? 'workgroupBarrier();\n' : ''}${Array.from({ length: count }, (_, k) => `red[${k}u * ${LANES}u + lid.x] = ${accAt(first + k)};`).join('\n')}
workgroupBarrier();
if (lid.x < ${count}u) {
var sum = 0.0;
for (var l = 0u; l < ${LANES}u; l++) { sum += red[lid.x * ${LANES}u + l]; }
let k = lid.x + ${first}u;
let i = k / ${tc * taps}u;
let c = c0 + (k / ${taps}u) % ${tc}u;
let tap = k % ${taps}u;
if (o0 + i < p.o && c < p.cn) {
  let idx = (c * p.o + o0 + i) * ${taps}u + tap;
  ${split ? 'out[s * p.total + idx] = sum;' : storeOut('idx', 'sum')}
}
}`;
  });
  const body = `let s = group / p.blocks_o / p.blocks_c;
let rest = group % (p.blocks_o * p.blocks_c);
let c0 = (rest / p.blocks_o) * ${tc}u;
let o0 = (rest % p.blocks_o) * ${to}u;
let lo = s * p.per_split;
let hi = min(p.items, lo + p.per_split);
${Array.from({ length: to }, (_, i) => `let wr${i} = p.w_off / 4u + min(o0 + ${i}u, p.o - 1u) * (p.wst[0] / 4u);`).join('\n')}
// Each input channel's base, as each output channel's above; a ragged last block reads the last
// channel again and stores nothing for it.
${Array.from({ length: tc }, (_, j) => `let xc${cj(j)} = p.x_off / 4u + min(c0 + ${j}u, p.cn - 1u) * (p.xst[0] / 4u);`).join('\n')}
${Array.from({ length: nacc }, (_, k) => `var ${accAt(k)} = 0.0;`).join('\n')}
${loop}
${rounds.join('\n')}`;
  return kernelSource(
    shuffled ? 'enable subgroups;' : '',
    `// ${kernel}: weight gradient, lanes over 4-pixel row pieces, ${to} output x ${tc} input channels x ${taps} taps per lane`,
    layout.declaration(),
    [
      '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
      '@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;',
      '@group(0) @binding(3) var<storage, read> wt: array<vec4<f32>>;',
      `var<workgroup> red: array<f32, ${round * LANES}>;`,
      // Constants, not uniforms: lavapipe divides by a constant with a multiply and a shift,
      // by a uniform lane by lane, and every item divides by both.
      `const QUADS = ${quads}u;`,
      `const KH = ${kh}u;`,
    ].join('\n'),
    identityEpilogue('f32'),
    workgroupPerItemEntry(LANES, 'p.count', body, shuffled),
  );
}

/**
 * The variant with TO output and TC input channels per workgroup; `shuffled`: the shifted x
 * columns handed between neighbouring lanes by subgroupShuffle (needs a fixed subgroup size).
 */
export function convWeightGradVariant(to: number, shuffled = false, tc = 1): ConvGemmVariant {
  return weightGradVariant(
    `wgrad${to}${tc > 1 ? `c${tc}` : ''}${shuffled ? 'sg' : ''}`,
    to,
    tc,
    shuffled,
    weightGradFits,
  );
}

/**
 * A 1x1 layer's weight gradient (dW[o, c] = sum of g[n, o, y, x] x[n, c, y, x]: one tap, no
 * shifted columns) with TO output and TC input channels a workgroup. With one input channel a lane
 * loads TO pieces of g and one of x for TO dot products; with TC it loads TO + TC pieces for TO x TC
 * (8 x 8: 16 loads for 64, against 9 for 8), and loads are what lavapipe's time goes to.
 */
export function pointwiseWeightGradVariant(to: number, tc: number): ConvGemmVariant {
  return weightGradVariant(
    `wgrad1x1o${to}c${tc}`,
    to,
    tc,
    false,
    (p) => weightGradFits(p) && p.oh === 1 && p.ow === 1 && p.padding.every((v) => v === 0),
  );
}

function weightGradVariant(
  name: string,
  to: number,
  tc: number,
  shuffled: boolean,
  takes: (p: ConvGemmProblem) => boolean,
): ConvGemmVariant {
  return {
    name,
    // vec4<f32> loads: float32 only.
    supports: (p, gpu) => (!shuffled || subgroupsFit(gpu, LANES)) && takes(p),
    run(ctx, xIn, wIn, out, p) {
      const xr = rowAligned(ctx, xIn);
      const wr = rowAligned(ctx, wIn);
      const [x, w] = [xr.view, wr.view];
      const quads = p.w / 4;
      const items = p.cpg * p.kh * quads;
      const blocksO = Math.ceil(p.o / to);
      const blocksC = Math.ceil(p.n / tc);
      const blocks = blocksO * blocksC;
      const splits = Math.max(
        1,
        Math.min(Math.ceil(targetWorkgroups(ctx) / blocks), Math.floor(items / (LANES * MIN_ITEMS_PER_LANE))),
      );
      const wholeRows = shuffled && rowsFitSubgroups(ctx.gpu.subgroupSize!, quads);
      // Whole rows (see rowsFitSubgroups): every split starts on a row, so its subgroups do too; the last may be shorter.
      const perSplit = wholeRows ? Math.ceil(items / splits / quads) * quads : Math.ceil(items / splits);
      const total = p.n * p.o * p.oh * p.ow;
      const kernel = `conv2d:${name}:${p.oh}x${p.ow}p${p.padding[0]}${p.padding[1]}:float32`;
      const spec: WeightGradSource = {
        kernel,
        to,
        tc,
        shuffled,
        sg: shuffled ? ctx.gpu.subgroupSize! : 0,
        oh: p.oh,
        ow: p.ow,
        padding: p.padding,
        quads,
        kh: p.kh,
        split: splits > 1,
        wholeRows,
      };
      const partials = splits > 1 ? ctx.alloc('float32', splits * total) : out;
      ctx.dispatch({
        kernel,
        // Built once per key, and the key is everything the source reads.
        source: cachedSource(JSON.stringify(spec), () => weightGradSource(spec)),
        uniform: layout.pack({
          count: blocks * splits,
          blocks_o: blocksO,
          blocks_c: blocksC,
          cn: p.n,
          o: p.o,
          h: p.h,
          items,
          per_split: perSplit,
          total,
          x_off: x.offset,
          w_off: w.offset,
          xst: x.strides,
          wst: w.strides,
        }),
        storage: [ctx.bind(partials), ctx.bind(x), ctx.bind(w)],
        workgroups: blocks * splits,
      });
      if (splits > 1) {
        sumSplits(ctx, partials, out, splits, total);
        ctx.release(partials);
      }
      for (const temp of [xr.temp, wr.temp]) if (temp) ctx.release(temp);
    },
  };
}
