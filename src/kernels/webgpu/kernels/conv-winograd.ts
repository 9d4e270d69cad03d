// Winograd F(m x m, 3x3) for 3x3, stride-1, undilated, ungrouped convolutions: each m x m block of
// output pixels ("tile") comes from an a x a input patch (a = m + 2) with a^2 multiplies per
// (channel, output channel) instead of 9 m^2: F(2x2) 16 for 36 (2.25x fewer), F(4x4) 36 for 144
// (4x fewer, and per output pixel less transform traffic: 36/16 values against 16/4). Four passes:
//   1. input transform: V[e, tile, c] = (B^T d B)[e] for each tile's a x a patch d (zeros outside x);
//   2. weight transform: U[e, c, o] = (G g G^T)[e] for each 3x3 filter g (kept with the weights from
//      their second use on: GpuContext.derivedFrom);
//   3. a^2 batched GEMMs M[e] = V[e] @ U[e] ([tiles, C] @ [C, O]) by the project's tuned matmul;
//   4. output transform: y = A^T m A per tile, the valid pixels written to the NCHW output.
// The transforms are generated from the matrices in WINOGRAD_TILES. F(4x4)'s G has thirds, so it
// rounds where F(2x2) (halves only) is exact on short binary fractions; its error is a few times
// F(2x2)'s (tests/webgpu-conv-variants.test.ts bounds both).
// With at least as many tiles as output channels the GEMMs run transposed, M^T = U^T @ V^T ([O, C] @
// [C, tiles]): the matmul kernels spread columns across lanes, and a few dozen output channels
// there leave most lanes computing clamped copies (see `Layout`).
// The transposed convolution of stride 1 is the same convolution with the filter flipped and its
// channel roles swapped, padded by 2 - padding: that is autodiff's input gradient of a 3x3 conv.
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { cachedSource } from '../source-cache.js';
import type { GpuDevice } from '../device.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import type { WebGpuStorage } from '../storage.js';
import {
  kernelSource,
  storageBinding,
  threadPerItemEntry,
  type UniformType,
  UniformLayout,
  type UniformValues,
} from '../wgsl.js';
import { gatherForm, type ConvGemmProblem, type ConvGemmVariant } from './conv-gemm.js';
import { matmul } from './matmul.js';
import { lines } from './matmul-common.js';

const WORKGROUP_SIZE = 64;

/** One row of G: `scale` times integer coefficients of the filter's 3 taps (kept apart so F(2x2)'s halves round as before). */
interface ScaledRow {
  readonly scale: number;
  readonly coeffs: readonly number[];
}

/** A Winograd F(m x m, 3x3) algorithm: its output tile side and its three transform matrices. */
export interface WinogradTile {
  readonly name: string;
  /** Output pixels per tile side; the input patch side is m + 2. */
  readonly m: number;
  /** B^T, (m + 2) x (m + 2). */
  readonly bt: readonly (readonly number[])[];
  /** G, (m + 2) rows over 3 taps. */
  readonly g: readonly ScaledRow[];
  /** A^T, m x (m + 2). */
  readonly at: readonly (readonly number[])[];
}

const row = (scale: number, ...coeffs: number[]): ScaledRow => ({ scale, coeffs });

/** The algorithms (Lavin and Gray 2016; F(4x4) with interpolation points 0, +-1, +-2). */
export const WINOGRAD_TILES = {
  f2: {
    name: 'winograd2x3',
    m: 2,
    bt: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    g: [row(1, 1, 0, 0), row(0.5, 1, 1, 1), row(0.5, 1, -1, 1), row(1, 0, 0, 1)],
    at: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  f4: {
    name: 'winograd4x3',
    m: 4,
    bt: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    g: [
      row(1 / 4, 1, 0, 0),
      row(-1 / 6, 1, 1, 1),
      row(-1 / 6, 1, -1, 1),
      row(1 / 24, 1, 2, 4),
      row(1 / 24, 1, -2, 4),
      row(1, 0, 0, 1),
    ],
    at: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
} as const satisfies Record<string, WinogradTile>;

/** Patch side a = m + 2, and a^2, the elements of a transformed tile: the GEMM batch. */
const side = (t: WinogradTile): number => t.m + 2;
const tileElements = (t: WinogradTile): number => side(t) ** 2;

/** A WGSL float literal. */
const literal = (v: number): string => (Number.isInteger(v) ? `${v}.0` : `${v}`);

/**
 * sum_j coeffs[j] * term(j), left to right, zero coefficients skipped, +-1 as a plain add or
 * subtract (so F(2x2)'s transforms are the same additions they always were).
 */
function combine(coeffs: readonly number[], term: (j: number) => string): string {
  const parts = coeffs.flatMap((c, j) => (c === 0 ? [] : [{ c, t: term(j) }]));
  if (parts.length === 0) return '0.0';
  return parts
    .map(({ c, t }, i) => {
      const magnitude = Math.abs(c) === 1 ? t : `${literal(Math.abs(c))} * ${t}`;
      if (i === 0) return c < 0 ? `-${magnitude}` : magnitude;
      return `${c < 0 ? ' - ' : ' + '}${magnitude}`;
    })
    .join('');
}

/** A G row applied to taps `term(0..2)`: the integer combination, times the scale unless it is 1. */
const scaled = (r: ScaledRow, term: (j: number) => string): string =>
  r.scale === 1 ? combine(r.coeffs, term) : `${literal(r.scale)} * (${combine(r.coeffs, term)})`;

/** m x m output tiles over the batch (edge tiles may hang past the output). */
export const tileCount = (p: ConvGemmProblem, t: WinogradTile): number =>
  p.n * Math.ceil(p.oh / t.m) * Math.ceil(p.ow / t.m);

/**
 * Where the passes put tiles, channels and output channels in V [a^2, tiles, C], U [a^2, C, O] and
 * M [a^2, tiles, O] (or their transposes): element strides within one of the a^2 planes, and which
 * index varies fastest across a transform's threads (the contiguous one, so neighbours share lines).
 */
interface Layout {
  /** Tiles are the GEMM's rows (V @ U); else its columns (U^T @ V^T). */
  readonly tilesAlongRows: boolean;
  readonly tiles: number;
  readonly v: { readonly tile: number; readonly c: number };
  readonly u: { readonly c: number; readonly o: number };
  readonly m: { readonly tile: number; readonly o: number };
}

function layoutOf(p: ConvGemmProblem, t: WinogradTile): Layout {
  const tiles = tileCount(p, t);
  const tilesAlongRows = tiles < p.o;
  return tilesAlongRows
    ? { tilesAlongRows, tiles, v: { tile: p.c, c: 1 }, u: { c: p.o, o: 1 }, m: { tile: p.o, o: 1 } }
    : { tilesAlongRows, tiles, v: { tile: 1, c: tiles }, u: { c: 1, o: p.c }, m: { tile: 1, o: tiles } };
}

/** Statements splitting `idx` into two indices, `fast` varying fastest (`fastCount` values). */
const splitIndex = (fast: string, fastCount: string, slow: string): string =>
  `let ${fast} = idx % ${fastCount};\nlet ${slow} = idx / ${fastCount};`;

/** One transform pass: a thread per item, writing temporary `out` (binding 1) from `input` (binding 2). */
interface TransformPass {
  readonly kernel: string;
  /** What each thread computes, for the source's header comment. */
  readonly what: string;
  readonly out: WebGpuStorage;
  readonly input: { readonly name: string; readonly data: View | WebGpuStorage };
  /** The threads' WGSL, built only when the source is not cached yet (its kernel name and `what` determine it). */
  readonly body: () => string;
  /** WGSL the body needs beyond the bindings (the output pass's epilogue). */
  readonly prelude?: string;
  /** Threads: the entry point's `p.count`. */
  readonly count: number;
  /** A layout from transformUniforms, and the values of its fields but `count`. */
  readonly uniforms: UniformLayout;
  readonly values: UniformValues;
}

/** A transform pass's uniform layout: its own fields after the thread count the entry point reads. */
const transformUniforms = (fields: Record<string, UniformType>): UniformLayout =>
  new UniformLayout({ count: 'u32', ...fields });

function dispatchTransform(ctx: GpuContext, t: TransformPass): void {
  ctx.dispatch({
    kernel: t.kernel,
    source: cachedSource(JSON.stringify([t.kernel, t.what, t.input.name, t.prelude ?? '']), () =>
      kernelSource(
        `// ${t.kernel}: ${t.what}`,
        t.uniforms.declaration(),
        [storageBinding(1, 'out', 'f32', 'read_write'), storageBinding(2, t.input.name, 'f32', 'read')].join('\n'),
        t.prelude ?? '',
        threadPerItemEntry(WORKGROUP_SIZE, 'p.count', t.body()),
      ),
    ),
    uniform: t.uniforms.pack({ count: t.count, ...t.values }),
    storage: [ctx.bind(t.out), ctx.bind(t.input.data)],
    workgroups: Math.ceil(t.count / WORKGROUP_SIZE),
  });
}

/** The uniform fields of the tile grid: tiles in all, and across / down one image. */
const TILE_GRID_UNIFORMS = { tiles: 'u32', tw: 'u32', th: 'u32' } as const;

const tileGrid = (p: ConvGemmProblem, l: Layout, t: WinogradTile) => ({
  tiles: l.tiles,
  tw: Math.ceil(p.ow / t.m),
  th: Math.ceil(p.oh / t.m),
});

/** Statements splitting `tile` into its column `tx`, row `ty` and image `nb` (TILE_GRID_UNIFORMS). */
const TILE_COORDS = `let tx = tile % p.tw;
let rest = tile / p.tw;
let ty = rest % p.th;
let nb = rest / p.th;`;

/** Whether the variant runs `p`: a 3x3 stride-1 undilated ungrouped convolution whose temporaries fit a binding. */
function fits(p: ConvGemmProblem, gpu: GpuDevice, t: WinogradTile): boolean {
  const largest = tileElements(t) * Math.max(tileCount(p, t) * Math.max(p.c, p.o), p.c * p.o) * 4;
  return (
    p.kh === 3 &&
    p.kw === 3 &&
    p.stride[0] === 1 &&
    p.stride[1] === 1 &&
    p.dilation[0] === 1 &&
    p.dilation[1] === 1 &&
    p.o === p.opg &&
    p.c === p.cpg &&
    largest <= gpu.limits.maxStorageBufferBindingSize
  );
}

const inputUniforms = transformUniforms({
  c: 'u32',
  ...TILE_GRID_UNIFORMS,
  h: 'u32',
  w: 'u32',
  pad_h: 'i32',
  pad_w: 'i32',
  v_tile: 'u32',
  v_c: 'u32',
  x_off: 'u32',
  xst: 'vec4',
});

/** Pass 1: one thread per (tile, channel), V's contiguous index fastest. */
function transformInput(
  ctx: GpuContext,
  x: View,
  v: WebGpuStorage,
  p: ConvGemmProblem,
  l: Layout,
  t: WinogradTile,
): void {
  // The input rows and columns of output (0, 0)'s patch start this far before the input's first.
  const [padH, padW] = gatherForm(p).padding;
  const count = l.tiles * p.c;
  const a = side(t);
  // d{r}_{s}: the a x a patch (zero outside x); u = B^T d on rows, then v = u B on columns.
  const body = () => `${l.tilesAlongRows ? splitIndex('c', 'p.c', 'tile') : splitIndex('tile', 'p.tiles', 'c')}
${TILE_COORDS}
let base = p.x_off + nb * p.xst[0] + c * p.xst[1];
let y0 = i32(ty * ${t.m}u) - p.pad_h;
let x0 = i32(tx * ${t.m}u) - p.pad_w;
${lines(a, (s) => `let cx${s} = x0 + ${s};\nlet cok${s} = cx${s} >= 0 && cx${s} < i32(p.w);\nlet ca${s} = u32(max(cx${s}, 0)) * p.xst[3];`)}
${lines(
  a,
  (r) => `let ry${r} = y0 + ${r};
let rok${r} = ry${r} >= 0 && ry${r} < i32(p.h);
let rb${r} = base + u32(max(ry${r}, 0)) * p.xst[2];
${lines(a, (s) => `let d${r}_${s} = select(0.0, x[rb${r} + ca${s}], rok${r} && cok${s});`)}`,
)}
${lines(a, (i) => lines(a, (s) => `let u${i}_${s} = ${combine(t.bt[i], (j) => `d${j}_${s}`)};`))}
let at = tile * p.v_tile + c * p.v_c;
${lines(a, (i) => lines(a, (k) => `out[${a * i + k}u * p.count + at] = ${combine(t.bt[k], (s) => `u${i}_${s}`)};`))}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:${t.name}:input${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: `B^T d B of each ${a}x${a} input patch, one thread per (tile, channel)`,
    out: v,
    input: { name: 'x', data: x },
    body,
    count,
    uniforms: inputUniforms,
    values: {
      c: p.c,
      ...tileGrid(p, l, t),
      h: p.h,
      w: p.w,
      pad_h: padH,
      pad_w: padW,
      v_tile: l.v.tile,
      v_c: l.v.c,
      x_off: x.offset,
      xst: x.strides,
    },
  });
}

const weightUniforms = transformUniforms({
  c: 'u32',
  o: 'u32',
  u_c: 'u32',
  u_o: 'u32',
  w_off: 'u32',
  o_stride: 'u32',
  c_stride: 'u32',
  ky_stride: 'u32',
  kx_stride: 'u32',
});

/** Pass 2: one thread per (channel, output channel), U's contiguous index fastest. */
function transformWeights(
  ctx: GpuContext,
  w: View,
  u: WebGpuStorage,
  p: ConvGemmProblem,
  l: Layout,
  t: WinogradTile,
): void {
  const count = p.c * p.o;
  const a = side(t);
  // conv2d filters are [O, C, 3, 3]; a transposed convolution's [C, O, 3, 3] taps are read flipped.
  const g = gatherForm(p);
  const [oStride, cStride] = [w.strides[g.oAxis], w.strides[g.cAxis]];
  const tap = (ky: number, kx: number) => (g.flipped ? [2 - ky, 2 - kx] : [ky, kx]);
  // h = G g on the filter's rows, then k = h G^T on its columns.
  const body = () => `${l.u.o === 1 ? splitIndex('o', 'p.o', 'c') : splitIndex('c', 'p.c', 'o')}
let base = p.w_off + o * p.o_stride + c * p.c_stride;
${lines(3, (r) => lines(3, (s) => `let g${r}_${s} = wt[base + ${tap(r, s)[0]}u * p.ky_stride + ${tap(r, s)[1]}u * p.kx_stride];`))}
${lines(a, (i) => lines(3, (s) => `let h${i}_${s} = ${scaled(t.g[i], (r) => `g${r}_${s}`)};`))}
let at = c * p.u_c + o * p.u_o;
${lines(a, (i) => lines(a, (k) => `out[${a * i + k}u * p.count + at] = ${scaled(t.g[k], (s) => `h${i}_${s}`)};`))}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:${t.name}:weights${p.transposed ? ':flipped' : ''}${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: `G g G^T of each 3x3 filter, one thread per (channel, output channel), ${l.u.o === 1 ? 'output channels' : 'channels'} fastest`,
    out: u,
    input: { name: 'wt', data: w },
    body,
    count,
    uniforms: weightUniforms,
    values: {
      c: p.c,
      o: p.o,
      u_c: l.u.c,
      u_o: l.u.o,
      w_off: w.offset,
      o_stride: oStride,
      c_stride: cStride,
      ky_stride: w.strides[2],
      kx_stride: w.strides[3],
    },
  });
}

const outputUniforms = transformUniforms({
  o: 'u32',
  ...TILE_GRID_UNIFORMS,
  oh: 'u32',
  ow: 'u32',
  m_tile: 'u32',
  m_o: 'u32',
});

/** Pass 4: one thread per (tile, output channel), M's contiguous index fastest. */
function transformOutput(
  ctx: GpuContext,
  m: WebGpuStorage,
  out: WebGpuStorage,
  p: ConvGemmProblem,
  l: Layout,
  t: WinogradTile,
) {
  const count = l.tiles * p.o;
  const a = side(t);
  // r = A^T m on rows, then y = r A on columns; only the pixels inside the output are stored.
  const body = () => `${l.tilesAlongRows ? splitIndex('o', 'p.o', 'tile') : splitIndex('tile', 'p.tiles', 'o')}
${TILE_COORDS}
let at = tile * p.m_tile + o * p.m_o;
${lines(a, (i) => lines(a, (j) => `let m${i}_${j} = mt[${a * i + j}u * p.count + at];`))}
${lines(t.m, (r) => lines(a, (j) => `let r${r}_${j} = ${combine(t.at[r], (i) => `m${i}_${j}`)};`))}
let oy = ty * ${t.m}u;
let ox = tx * ${t.m}u;
let row = (nb * p.o + o) * p.oh + oy;
${lines(
  t.m,
  (r) => `if (oy + ${r}u < p.oh) {
  let y = (row + ${r}u) * p.ow + ox;
${lines(
  t.m,
  (k) =>
    `  if (ox + ${k}u < p.ow) { ${storeOut(
      `y + ${k}u`,
      combine(t.at[k], (j) => `r${r}_${j}`),
    )} }`,
)}
}`,
)}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:${t.name}:output${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: 'A^T m A of each tile into the NCHW output, one thread per (tile, output channel)',
    out,
    input: { name: 'mt', data: m },
    body,
    prelude: identityEpilogue('f32'),
    count,
    uniforms: outputUniforms,
    values: {
      o: p.o,
      ...tileGrid(p, l, t),
      oh: p.oh,
      ow: p.ow,
      m_tile: l.m.tile,
      m_o: l.m.o,
    },
  });
}

/** A contiguous [batch, rows, cols] view of a temporary. */
const matrices = (storage: WebGpuStorage, batch: number, rows: number, cols: number): View => ({
  storage,
  dtype: 'float32',
  shape: [batch, rows, cols],
  strides: [rows * cols, cols, 1],
  offset: 0,
});

/** The variant of one algorithm: float32 only (the transforms' arithmetic is f32). */
const winogradVariantOf = (t: WinogradTile): ConvGemmVariant => ({
  name: t.name,
  supports: (p, gpu) => fits(p, gpu, t),
  run(ctx, x, w, out, p) {
    const l = layoutOf(p, t);
    const e = tileElements(t);
    const v = ctx.alloc('float32', e * l.tiles * p.c);
    // U depends on the weights alone: kept with them when they come back (inference loops).
    const weightsKey = `${t.name}:${p.transposed}:${l.u.c}:${l.u.o}:${w.offset}:${w.strides.join(',')}`;
    const u = ctx.derivedFrom(w.storage as WebGpuStorage, weightsKey, 'float32', e * p.c * p.o, (u) => {
      if (p.c > 0) transformWeights(ctx, w, u, p, l, t);
    });
    const m = ctx.alloc('float32', e * l.tiles * p.o);
    if (p.c > 0) transformInput(ctx, x, v, p, l, t);
    ctx.creditFlopsTo(out, m); // the GEMMs do the arithmetic; the transforms only move data
    if (l.tilesAlongRows) matmul(ctx, matrices(v, e, l.tiles, p.c), matrices(u.storage, e, p.c, p.o), undefined, m);
    else matmul(ctx, matrices(u.storage, e, p.o, p.c), matrices(v, e, p.c, l.tiles), undefined, m);
    transformOutput(ctx, m, out, p, l, t);
    for (const temp of u.kept ? [v, m] : [v, u.storage, m]) ctx.release(temp);
  },
});

export const winogradVariant = winogradVariantOf(WINOGRAD_TILES.f2);
export const winograd4Variant = winogradVariantOf(WINOGRAD_TILES.f4);
