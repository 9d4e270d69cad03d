// conv2d for depthwise layers: one input and one output channel per group (the face landmark net's
// separable convolutions, MobileNet-style blocks). The implicit GEMMs have nothing to block there
// (a reduction of kh * kw taps, one output channel per group), and the direct kernel splits every
// output index with divisions by uniforms, which lavapipe cannot vectorise, and loads every tap
// on its own. Here each lane computes a run of RUN neighbouring pixels of one output row, loading
// each input of the runs' overlapping windows once (stride 1, 3x3: 6 loads a row for 4 pixels,
// not 12); lanes run over (image, channel, run), so small planes still fill the workgroups. The
// kernel's size, stride, dilation and the plane's size are compile-time constants: a kernel row's
// taps unroll, and the divisions are by constants but one (the channel of a plane).
import { subgroupsFit } from '../device.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import { cachedSource } from '../source-cache.js';
import { kernelSource, u32Fields, UniformLayout, workgroupPerItemEntry, wgslScalar } from '../wgsl.js';
import { type ConvGemmProblem, type ConvGemmVariant, dispatchConvGemm } from './conv-gemm.js';
import { rowAligned } from './conv-weight-grad.js';
import { lines, range } from './matmul-common.js';

/** Lanes per workgroup (dispatchConvGemm's default). */
const LANES = 64;

/** Consecutive output pixels of one row per lane: their input windows overlap, so each input is loaded once. */
const RUN = 4;

export const depthwiseVariant: ConvGemmVariant = {
  name: 'depthwise',
  // Kernel rows of at most 32 taps (each is unrolled).
  supports: (p) => !p.transposed && p.cpg === 1 && p.opg === 1 && p.kw <= 32,
  run(ctx, x, w, out, p) {
    const t = wgslScalar(x.dtype);
    const runsPerRow = Math.ceil(p.ow / RUN);
    const lanesPerPlane = p.oh * runsPerRow;
    // Lanes run over (image, channel, run) with no workgroup boundary at a plane's end, so a 7x7
    // plane's 14 runs do not leave most of a workgroup idle.
    const lanes = p.n * p.o * lanesPerPlane;
    const [sh, sw] = p.stride;
    const [dh, dw] = p.dilation;
    // Input columns one row of a run reads: ix0 + i for i in [0, span).
    const span = (RUN - 1) * sw + (p.kw - 1) * dw + 1;
    const body = () => {
      // One kernel row per loop iteration (a 31x31 blur would unroll to thousands of statements), its taps unrolled.
      const row = `for (var ky = 0u; ky < ${p.kh}u; ky++) {
  let iy = iy0 + i32(ky * ${dh}u);
  let row_ok = iy >= 0 && iy < i32(p.h);
  let rb = xb + u32(select(0, iy, row_ok)) * p.xst[2];
${lines(p.kw, (kx) => `  let w${kx} = wt[wb + ky * p.wst[2] + ${kx}u * p.wst[3]];`)}
${lines(
  span,
  (i) => `  let c${i} = ix0 + ${i};
  let ok${i} = row_ok && c${i} >= 0 && c${i} < i32(p.w);
  let v${i} = select(${t}(0), x[rb + u32(select(0, c${i}, ok${i})) * p.xst[3]], ok${i});`,
)}
${range(RUN)
  .flatMap((j) => range(p.kw).map((kx) => `  acc${j} += v${j * sw + kx * dw} * w${kx};`))
  .join('\n')}
}`;
      return `let lane = group * ${LANES}u + lid.x;
if (lane >= p.total) { return; }
let nc = lane / ${lanesPerPlane}u;
let run = lane - nc * ${lanesPerPlane}u;
let c = nc % p.o;
let xb = p.x_off + (nc / p.o) * p.xst[0] + c * p.xst[1];
let wb = p.w_off + c * p.wst[0];
let oy = run / ${runsPerRow}u;
let ox0 = (run - oy * ${runsPerRow}u) * ${RUN}u;
let iy0 = i32(oy * ${sh}u) - i32(p.ph);
let ix0 = i32(ox0 * ${sw}u) - i32(p.pw);
// From a zero the compiler cannot see: it folds a literal 0 + x to x, and an all-zero sum would end as -0.
${lines(RUN, (j) => `var acc${j} = ${t}(p.zero);`)}
${row}
let ob = nc * p.npix + oy * ${p.ow}u + ox0;
${lines(RUN, (j) => `if (ox0 + ${j}u < ${p.ow}u) { ${storeOut(`ob + ${j}u`, `acc${j}`)} }`)}`;
    };
    const kernel = `conv2d:depthwise:${x.dtype}`;
    dispatchConvGemm(
      ctx,
      `${kernel}: ${p.kh}x${p.kw} taps, runs of ${RUN} pixels of a row per lane, lanes over (image, channel, run)`,
      kernel,
      body,
      x,
      w,
      out,
      p,
      { count: Math.ceil(lanes / LANES), blocks_m: 0, npix: p.oh * p.ow, total: lanes },
    );
  },
};

/** The subgroup size the shuffled variant is written for (lavapipe's at 256-bit vectors). */
const SG = 8;

/**
 * Whether `p` is a layer the shuffled variant runs: depthwise, 3 columns wide with one column of
 * padding each side and unit column stride and dilation (so output rows are input rows: 4 pixels a
 * lane are 4 inputs of the row and one value either side), and at most 2 * SG taps (each lane
 * loads two of the channel's taps, shared by broadcast).
 */
const shuffledFits = (p: ConvGemmProblem): boolean =>
  !p.transposed &&
  p.cpg === 1 &&
  p.opg === 1 &&
  p.kw === 3 &&
  p.padding[1] === 1 &&
  p.stride[1] === 1 &&
  p.dilation[1] === 1 &&
  p.w > 0 &&
  p.ow === p.w &&
  p.oh > 0 &&
  p.kh * p.kw <= 2 * SG;

const shuffledLayout = new UniformLayout({
  ...u32Fields('count', 'total', 'o', 'h', 'ph', 'x_off', 'w_off', 'zero'),
  xst: 'vec4',
  wst: 'vec4',
});

/** Lanes of one plane: one per 4-pixel piece of an output row, padded to a multiple of the subgroup. */
const lanesPerPlane = (oh: number, ow: number): number => Math.ceil((oh * Math.ceil(ow / 4)) / SG) * SG;

/** Everything the shuffled kernel's source depends on (its cache key is this, as JSON). */
interface ShuffledSource {
  /** Rows a multiple of 4: a lane's 4 inputs are one vec4 load (of a row-aligned view), else 4 loads. */
  readonly vec: boolean;
  readonly kh: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly dh: number;
}

/**
 * The WGSL of the shuffled depthwise kernel. Lanes run over (image, channel, 4-pixel piece of an
 * output row), each plane's lanes padded to a multiple of the subgroup so that a subgroup never
 * spans two channels: its lanes then load the channel's taps once between them (two loads a lane)
 * and share them by broadcast, where every lane loaded all 9 before. Each kernel row is one vec4
 * load a lane (4 loads where rows are not a multiple of 4: the 14- and 7-pixel layers); the value
 * left and right of a lane's 4 comes from its neighbours in the subgroup (the previous and next
 * pieces of the row) by shuffle, and is loaded only at a subgroup's edge.
 */
function shuffledSource({ vec, kh, oh, ow, sh, dh }: ShuffledSource): string {
  const quads = Math.ceil(ow / 4);
  const pieces = oh * quads;
  const perPlane = lanesPerPlane(oh, ow);
  const taps = kh * 3;
  const tapOffset = (t: string) => `(${t} / 3u) * p.wst[2] + (${t} % 3u) * p.wst[3]`;
  const tap = (ky: number, kx: number) => {
    const t = ky * 3 + kx;
    return `subgroupShuffle(${t < SG ? 'wa' : 'wb'}, ${t % SG}u)`;
  };
  // The lane's 4 inputs of the row (zeros outside it).
  const vecRow = `  let rb = xb + u32(select(0, iy, ok)) * (p.xst[2] / 4u);
  let cv = select(vec4<f32>(0.0), x[rb + q], ok);`;
  const scalarRow = `  let rb = xb + u32(select(0, iy, ok)) * p.xst[2];
  let cv = vec4<f32>(${range(4)
    .map((j) => `select(0.0, x[rb + min(q * 4u + ${j}u, ${ow - 1}u) * p.xst[3]], ok && q * 4u + ${j}u < ${ow}u)`)
    .join(', ')});`;
  const row = (ky: number) => `{
  let iy = i32(oy * ${sh}u + ${ky * dh}u) - i32(p.ph);
  let ok = iy >= 0 && iy < i32(p.h);
${vec ? vecRow : scalarRow}
  let pv = subgroupShuffle(cv, prevLane);
  let nv = subgroupShuffle(cv, nextLane);
  var left = select(0.0, pv.w, prevShared);
  if (!prevShared && q > 0u && ok) { left = ${vec ? 'x[rb + q - 1u].w' : 'x[rb + (q * 4u - 1u) * p.xst[3]]'}; }
  var right = select(0.0, nv.x, nextShared);
  if (!nextShared && q + 1u < ${quads}u && ok) { right = ${vec ? 'x[rb + q + 1u].x' : 'x[rb + (q * 4u + 4u) * p.xst[3]]'}; }
  let w0 = ${tap(ky, 0)};
  let w1 = ${tap(ky, 1)};
  let w2 = ${tap(ky, 2)};
  acc0 += left * w0 + cv.x * w1 + cv.y * w2;
  acc1 += cv.x * w0 + cv.y * w1 + cv.z * w2;
  acc2 += cv.y * w0 + cv.z * w1 + cv.w * w2;
  acc3 += cv.z * w0 + cv.w * w1 + right * w2;
}`;
  const body = `let lane = group * ${LANES}u + lid.x;
// Lanes past the end, and a plane's padding lanes, repeat a real piece (the subgroup operations
// want every lane) and store nothing.
let last = p.total - 1u;
let l = min(lane, last);
let nc = l / ${perPlane}u;
let piece = min(l - nc * ${perPlane}u, ${pieces - 1}u);
let live = lane <= last && l - nc * ${perPlane}u < ${pieces}u;
let c = nc % p.o;
let xb = ${vec ? 'p.x_off / 4u + (nc / p.o) * (p.xst[0] / 4u) + c * (p.xst[1] / 4u)' : 'p.x_off + (nc / p.o) * p.xst[0] + c * p.xst[1]'};
let oy = piece / ${quads}u;
let q = piece - oy * ${quads}u;
// The channel's taps: lane s holds taps s and s + ${SG}.
let wbase = p.w_off + c * p.wst[0];
let ta = min(sid, ${taps - 1}u);
let tb = min(sid + ${SG}u, ${taps - 1}u);
let wa = wt[wbase + ${tapOffset('ta')}];
let wb = wt[wbase + ${tapOffset('tb')}];
let prevLane = max(sid, 1u) - 1u;
let nextLane = min(sid + 1u, ${SG - 1}u);
let piecePrev = subgroupShuffle(piece, prevLane);
let pieceNext = subgroupShuffle(piece, nextLane);
let prevShared = sid > 0u && q > 0u && piecePrev + 1u == piece;
let nextShared = sid + 1u < ${SG}u && q + 1u < ${quads}u && pieceNext == piece + 1u;
// From a zero the compiler cannot see (see the plain variant).
var acc0 = f32(p.zero);
var acc1 = f32(p.zero);
var acc2 = f32(p.zero);
var acc3 = f32(p.zero);
${range(kh).map(row).join('\n')}
if (live) {
  let ob = nc * ${oh * ow}u + oy * ${ow}u + q * 4u;
${lines(4, (j) => (ow % 4 === 0 ? `  ${storeOut(`ob + ${j}u`, `acc${j}`)}` : `  if (q * 4u + ${j}u < ${ow}u) { ${storeOut(`ob + ${j}u`, `acc${j}`)} }`))}
}`;
  return kernelSource(
    'enable subgroups;',
    `// conv2d:depthwise4sg: 3-wide depthwise rows, 4 pixels a lane from ${vec ? 'one vec4 load' : '4 loads'}, neighbours and taps by shuffle`,
    shuffledLayout.declaration(),
    [
      '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
      `@group(0) @binding(2) var<storage, read> x: array<${vec ? 'vec4<f32>' : 'f32'}>;`,
      '@group(0) @binding(3) var<storage, read> wt: array<f32>;',
    ].join('\n'),
    identityEpilogue('f32'),
    workgroupPerItemEntry(LANES, 'p.count', body, true),
  );
}

/** The shuffled depthwise variant (float32, 8-lane subgroups): see shuffledSource. */
export const depthwiseShuffledVariant: ConvGemmVariant = {
  name: 'depthwise4sg',
  supports: (p, gpu) => gpu.subgroupSize === SG && subgroupsFit(gpu, LANES) && shuffledFits(p),
  run(ctx, xIn, w, out, p) {
    const vec = p.w % 4 === 0;
    const xr = vec ? rowAligned(ctx, xIn) : { view: xIn };
    const x = xr.view;
    const spec: ShuffledSource = { vec, kh: p.kh, oh: p.oh, ow: p.ow, sh: p.stride[0], dh: p.dilation[0] };
    const total = p.n * p.o * lanesPerPlane(p.oh, p.ow);
    const count = Math.ceil(total / LANES);
    const kernel = 'conv2d:depthwise4sg:float32';
    ctx.dispatch({
      kernel,
      source: cachedSource(`${kernel}${JSON.stringify(spec)}`, () => shuffledSource(spec)),
      uniform: shuffledLayout.pack({
        count,
        total,
        o: p.o,
        h: p.h,
        ph: p.padding[0],
        x_off: x.offset,
        w_off: w.offset,
        xst: x.strides,
        wst: w.strides,
        zero: 0,
      }),
      storage: [ctx.bind(out), ctx.bind(x), ctx.bind(w)],
      workgroups: count,
    });
    if (xr.temp) ctx.release(xr.temp);
  },
};
