// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated, ungrouped convolutions: each 2x2 block of
// output pixels ("tile") comes from a 4x4 input patch with 16 multiplies per (channel, output
// channel) instead of 36. Four passes:
//   1. input transform: V[e, tile, c] = (B^T d B)[e] for each tile's 4x4 patch d (zeros outside x);
//   2. weight transform: U[e, c, o] = (G g G^T)[e] for each 3x3 filter g (every call: weights change);
//   3. 16 batched GEMMs M[e] = V[e] @ U[e] ([tiles, C] @ [C, O]) by the project's tuned matmul;
//   4. output transform: y = A^T m A per tile, the valid pixels written to the NCHW output.
// With at least as many tiles as output channels the GEMMs run transposed, M^T = U^T @ V^T ([O, C] @
// [C, tiles]): the matmul kernels spread columns across lanes, and a few dozen output channels
// there leave most lanes computing clamped copies (see `Layout`).
// The transposed convolution of stride 1 is the same convolution with the filter flipped and its
// channel roles swapped, padded by 2 - padding: that is autodiff's input gradient of a 3x3 conv.
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
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
import type { ConvGemmProblem, ConvGemmVariant } from './conv-gemm.js';
import { matmul } from './matmul.js';
import { lines, range } from './matmul-common.js';

const WORKGROUP_SIZE = 64;
/** Elements of the 4x4 transformed tile: the GEMM batch. */
const TILE_ELEMENTS = 16;

/** The input rows and columns of output (0, 0)'s patch start this far before the input's first: the gather-form padding. */
const gatherPadding = (p: ConvGemmProblem): readonly [number, number] =>
  p.transposed ? [2 - p.padding[0], 2 - p.padding[1]] : [p.padding[0], p.padding[1]];

/** 2x2 output tiles over the batch (edge tiles may hang past the output). */
const tileCount = (p: ConvGemmProblem): number => p.n * Math.ceil(p.oh / 2) * Math.ceil(p.ow / 2);

/**
 * Where the passes put tiles, channels and output channels in V [16, tiles, C], U [16, C, O] and
 * M [16, tiles, O] (or their transposes): element strides within one of the 16 planes, and which
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

function layoutOf(p: ConvGemmProblem): Layout {
  const tiles = tileCount(p);
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
  readonly body: string;
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
    source: kernelSource(
      `// ${t.kernel}: ${t.what}`,
      t.uniforms.declaration(),
      [storageBinding(1, 'out', 'f32', 'read_write'), storageBinding(2, t.input.name, 'f32', 'read')].join('\n'),
      t.prelude ?? '',
      threadPerItemEntry(WORKGROUP_SIZE, 'p.count', t.body),
    ),
    uniform: t.uniforms.pack({ count: t.count, ...t.values }),
    storage: [ctx.bind(t.out), ctx.bind(t.input.data)],
    workgroups: Math.ceil(t.count / WORKGROUP_SIZE),
  });
}

/** The uniform fields of the 2x2 tile grid: tiles in all, and across / down one image. */
const TILE_GRID_UNIFORMS = { tiles: 'u32', tw: 'u32', th: 'u32' } as const;

const tileGrid = (p: ConvGemmProblem, l: Layout) => ({
  tiles: l.tiles,
  tw: Math.ceil(p.ow / 2),
  th: Math.ceil(p.oh / 2),
});

/** Statements splitting `tile` into its column `tx`, row `ty` and image `nb` (TILE_GRID_UNIFORMS). */
const TILE_COORDS = `let tx = tile % p.tw;
let rest = tile / p.tw;
let ty = rest % p.th;
let nb = rest / p.th;`;

/** Whether the variant runs `p`: a 3x3 stride-1 undilated ungrouped convolution whose temporaries fit a binding. */
function fits(p: ConvGemmProblem, gpu: GpuDevice): boolean {
  const largest = TILE_ELEMENTS * Math.max(tileCount(p) * Math.max(p.c, p.o), p.c * p.o) * 4;
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
function transformInput(ctx: GpuContext, x: View, v: WebGpuStorage, p: ConvGemmProblem, l: Layout): void {
  const [padH, padW] = gatherPadding(p);
  const count = l.tiles * p.c;
  // d{r} is row r of the 4x4 patch as a vec4 (zero outside x); B^T d B on rows, then on columns.
  const body = `${l.tilesAlongRows ? splitIndex('c', 'p.c', 'tile') : splitIndex('tile', 'p.tiles', 'c')}
${TILE_COORDS}
let base = p.x_off + nb * p.xst[0] + c * p.xst[1];
let y0 = i32(ty * 2u) - p.pad_h;
let x0 = i32(tx * 2u) - p.pad_w;
${lines(4, (s) => `let cx${s} = x0 + ${s};\nlet cok${s} = cx${s} >= 0 && cx${s} < i32(p.w);\nlet ca${s} = u32(max(cx${s}, 0)) * p.xst[3];`)}
${lines(
  4,
  (r) => `let ry${r} = y0 + ${r};
let rok${r} = ry${r} >= 0 && ry${r} < i32(p.h);
let rb${r} = base + u32(max(ry${r}, 0)) * p.xst[2];
let d${r} = vec4<f32>(${range(4)
    .map((s) => `select(0.0, x[rb${r} + ca${s}], rok${r} && cok${s})`)
    .join(', ')});`,
)}
let u0 = d0 - d2;
let u1 = d1 + d2;
let u2 = d2 - d1;
let u3 = d1 - d3;
let at = tile * p.v_tile + c * p.v_c;
${lines(4, (i) => `let v${i} = vec4<f32>(u${i}.x - u${i}.z, u${i}.y + u${i}.z, u${i}.z - u${i}.y, u${i}.y - u${i}.w);\n${lines(4, (j) => `out[${4 * i + j}u * p.count + at] = v${i}[${j}];`)}`)}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:winograd2x3:input${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: 'B^T d B of each 4x4 input patch, one thread per (tile, channel)',
    out: v,
    input: { name: 'x', data: x },
    body,
    count,
    uniforms: inputUniforms,
    values: {
      c: p.c,
      ...tileGrid(p, l),
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
function transformWeights(ctx: GpuContext, w: View, u: WebGpuStorage, p: ConvGemmProblem, l: Layout): void {
  const count = p.c * p.o;
  // conv2d filters are [O, C, 3, 3]; a transposed convolution's [C, O, 3, 3] taps are read flipped.
  const [oStride, cStride] = p.transposed ? [w.strides[1], w.strides[0]] : [w.strides[0], w.strides[1]];
  const tap = (ky: number, kx: number) => (p.transposed ? [2 - ky, 2 - kx] : [ky, kx]);
  const body = `${l.u.o === 1 ? splitIndex('o', 'p.o', 'c') : splitIndex('c', 'p.c', 'o')}
let base = p.w_off + o * p.o_stride + c * p.c_stride;
${lines(
  3,
  (r) =>
    `let g${r} = vec3<f32>(${range(3)
      .map((s) => `wt[base + ${tap(r, s)[0]}u * p.ky_stride + ${tap(r, s)[1]}u * p.kx_stride]`)
      .join(', ')});`,
)}
let h0 = g0;
let h1 = 0.5 * (g0 + g1 + g2);
let h2 = 0.5 * (g0 - g1 + g2);
let h3 = g2;
let at = c * p.u_c + o * p.u_o;
${lines(4, (i) => `let k${i} = vec4<f32>(h${i}.x, 0.5 * (h${i}.x + h${i}.y + h${i}.z), 0.5 * (h${i}.x - h${i}.y + h${i}.z), h${i}.z);\n${lines(4, (j) => `out[${4 * i + j}u * p.count + at] = k${i}[${j}];`)}`)}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:winograd2x3:weights${p.transposed ? ':flipped' : ''}${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: 'G g G^T of each 3x3 filter, one thread per (channel, output channel)',
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
function transformOutput(ctx: GpuContext, m: WebGpuStorage, out: WebGpuStorage, p: ConvGemmProblem, l: Layout) {
  const count = l.tiles * p.o;
  const body = `${l.tilesAlongRows ? splitIndex('o', 'p.o', 'tile') : splitIndex('tile', 'p.tiles', 'o')}
${TILE_COORDS}
let at = tile * p.m_tile + o * p.m_o;
${lines(
  4,
  (i) =>
    `let m${i} = vec4<f32>(${range(4)
      .map((j) => `mt[${4 * i + j}u * p.count + at]`)
      .join(', ')});`,
)}
let r0 = m0 + m1 + m2;
let r1 = m1 - m2 - m3;
let oy = ty * 2u;
let ox = tx * 2u;
let row = (nb * p.o + o) * p.oh + oy;
${lines(
  2,
  (a) => `if (oy + ${a}u < p.oh) {
  let y = (row + ${a}u) * p.ow + ox;
  ${storeOut('y', `r${a}.x + r${a}.y + r${a}.z`)}
  if (ox + 1u < p.ow) { ${storeOut('y + 1u', `r${a}.y - r${a}.z - r${a}.w`)} }
}`,
)}`;
  dispatchTransform(ctx, {
    kernel: `conv2d:winograd2x3:output${l.tilesAlongRows ? ':rows' : ':cols'}:float32`,
    what: 'A^T m A of each tile into the NCHW output, one thread per (tile, output channel)',
    out,
    input: { name: 'mt', data: m },
    body,
    prelude: identityEpilogue('f32'),
    count,
    uniforms: outputUniforms,
    values: {
      o: p.o,
      ...tileGrid(p, l),
      oh: p.oh,
      ow: p.ow,
      m_tile: l.m.tile,
      m_o: l.m.o,
    },
  });
}

/** A contiguous [16, rows, cols] view of a temporary. */
const matrices = (storage: WebGpuStorage, rows: number, cols: number): View => ({
  storage,
  dtype: 'float32',
  shape: [TILE_ELEMENTS, rows, cols],
  strides: [rows * cols, cols, 1],
  offset: 0,
});

export const winogradVariant: ConvGemmVariant = {
  name: 'winograd2x3',
  // float32 only (the transforms' arithmetic is f32).
  supports: (p, gpu) => fits(p, gpu),
  run(ctx, x, w, out, p) {
    const l = layoutOf(p);
    const v = ctx.alloc('float32', TILE_ELEMENTS * l.tiles * p.c);
    const u = ctx.alloc('float32', TILE_ELEMENTS * p.c * p.o);
    const m = ctx.alloc('float32', TILE_ELEMENTS * l.tiles * p.o);
    if (p.c > 0) {
      transformInput(ctx, x, v, p, l);
      transformWeights(ctx, w, u, p, l);
    }
    ctx.creditFlopsTo(out, m); // the GEMMs do the arithmetic; the transforms only move data
    if (l.tilesAlongRows) matmul(ctx, matrices(v, l.tiles, p.c), matrices(u, p.c, p.o), undefined, m);
    else matmul(ctx, matrices(u, p.o, p.c), matrices(v, p.c, l.tiles), undefined, m);
    transformOutput(ctx, m, out, p, l);
    for (const temp of [v, u, m]) ctx.release(temp);
  },
};
