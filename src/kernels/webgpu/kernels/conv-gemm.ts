// conv2d and convTranspose2d as implicit GEMMs with no im2col buffer: out[n, o, pixel] =
// sum over (tap, input channel) of W[o, (c, tap)] * X_col[(c, tap), (n, pixel)], where the X_col
// column of a lane is generated on the fly from x in the load. A workgroup owns TM output channels
// (uniform across it: every lane needs the same weights, which the `sg` variants load once per
// subgroup, see matmul-blocked.ts) and 64 lanes x TN output pixels; each lane keeps TM x TN
// accumulators. Taps run outermost so the per-pixel address and padding test is computed
// once per tap, not per channel. No shared memory or barriers (fast on lavapipe: see
// docs/architecture.md, "Kernel variants and tuning").
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { type GpuDevice, subgroupsFit } from '../device.js';
import type { WebGpuStorage } from '../storage.js';
import {
  indent,
  kernelSource,
  subgroupShuffleLoop,
  u32Fields,
  UniformLayout,
  workgroupPerItemEntry,
  wgslScalar,
} from '../wgsl.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import { splitCount, sumSplits } from './conv-split-k.js';
import { cachedSource } from '../source-cache.js';

const LANES = 64;

/**
 * Whether a subgroup's lanes can hold whole rows of `itemsPerRow` consecutive items (vec4 pieces,
 * runs of pixels): a whole number of them divides the subgroup, and the subgroup the 64-lane
 * workgroup (so, lanes taking items in order from a row's start, no subgroup straddles a row).
 * Then a lane's left and right neighbours in its row are the lanes beside it, or past the row's
 * ends, where the zero padding lies.
 */
export const rowsFitSubgroups = (subgroupSize: number, itemsPerRow: number): boolean =>
  Number.isInteger(itemsPerRow) && itemsPerRow > 0 && subgroupSize % itemsPerRow === 0 && LANES % subgroupSize === 0;

/** Sizes of one convolution in gather form, for both directions. */
export interface ConvGemmProblem {
  readonly transposed: boolean;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Output channels, all groups. */
  readonly o: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  /** Input channels per group, output channels per group. */
  readonly cpg: number;
  readonly opg: number;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

export interface ConvGemmVariant {
  readonly name: string;
  /** Whether the variant handles this problem on this device (the subgroup ones need a fixed subgroup size). */
  readonly supports: (p: ConvGemmProblem, gpu: GpuDevice) => boolean;
  readonly run: (ctx: GpuContext, x: View, w: View, out: WebGpuStorage, p: ConvGemmProblem) => void;
  /** Not a tuning candidate on CPU adapters (barrier-per-step tiles, im2col: see tuningCandidates). */
  readonly gpuOnly?: boolean;
}

/** The uniform fields both convolution kernel families share: kernel, group, stride/pad/dilation, operand layout. */
export const CONV_GEOMETRY_UNIFORMS = {
  ...u32Fields('kh', 'kw', 'cpg', 'opg', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'x_off', 'w_off'),
  xst: 'vec4',
  wst: 'vec4',
} as const;

/**
 * A problem as a plain (gather-form) convolution, for the kernels that take only those (Winograd,
 * runs): a stride-1 undilated transposed convolution is the convolution with the filter flipped
 * (`flipped`) and its channel roles swapped ([C, O, kh, kw] read along `oAxis` / `cAxis`), padded
 * by k - 1 - padding.
 */
export function gatherForm(p: ConvGemmProblem): {
  readonly flipped: boolean;
  readonly padding: readonly [number, number];
  readonly oAxis: number;
  readonly cAxis: number;
} {
  return p.transposed
    ? { flipped: true, padding: [p.kh - 1 - p.padding[0], p.kw - 1 - p.padding[1]], oAxis: 1, cAxis: 0 }
    : { flipped: false, padding: [p.padding[0], p.padding[1]], oAxis: 0, cAxis: 1 };
}

/** The stride, padding and dilation fields of CONV_GEOMETRY_UNIFORMS, from a convolution's parameters. */
export const convWindowUniforms = (p: Pick<ConvGemmProblem, 'stride' | 'padding' | 'dilation'>) => ({
  sh: p.stride[0],
  sw: p.stride[1],
  ph: p.padding[0],
  pw: p.padding[1],
  dh: p.dilation[0],
  dw: p.dilation[1],
});

const layout = new UniformLayout({
  count: 'u32',
  blocks_m: 'u32',
  npix: 'u32',
  ohw: 'u32',
  oh: 'u32',
  phw: 'u32',
  ph_w: 'u32',
  per_phase: 'u32',
  phase_blocks: 'u32',
  h: 'u32',
  w: 'u32',
  o: 'u32',
  ow: 'u32',
  // Split-K launches only: workgroups per split, kernel rows per split, output elements per split.
  split_stride: 'u32',
  ky_per: 'u32',
  total: 'u32',
  // Runs launches only (conv-runs.ts): runs per output row, workgroups per block of output channels,
  // and the gather form's padding (gatherForm: k - 1 - padding when transposed, so it may be < 0).
  row_runs: 'u32',
  lane_groups: 'u32',
  gather_ph: 'i32',
  gather_pw: 'i32',
  // Always 0: a zero a kernel's compiler cannot fold away (conv-depthwise.ts).
  zero: 'u32',
  ...CONV_GEOMETRY_UNIFORMS,
});

/** The uniform values of a launch: the problem's geometry and operand layout, plus the grid fields `grid` gives. */
function gemmUniforms(x: View, w: View, p: ConvGemmProblem, grid: ConvGrid) {
  return {
    phw: 0,
    ph_w: 0,
    per_phase: 0,
    phase_blocks: 0,
    split_stride: 0,
    ky_per: 0,
    total: 0,
    row_runs: 0,
    lane_groups: 0,
    gather_ph: 0,
    gather_pw: 0,
    zero: 0,
    ...grid,
    ohw: p.oh * p.ow,
    oh: p.oh,
    h: p.h,
    w: p.w,
    o: p.o,
    ow: p.ow,
    kh: p.kh,
    kw: p.kw,
    cpg: p.cpg,
    opg: p.opg,
    ...convWindowUniforms(p),
    x_off: x.offset,
    w_off: w.offset,
    xst: x.strides,
    wst: w.strides,
  };
}

/** The grid fields of a launch (the rest of the uniforms come from the problem). */
interface ConvGrid {
  readonly count: number;
  readonly blocks_m: number;
  readonly npix: number;
  readonly phw?: number;
  readonly ph_w?: number;
  readonly per_phase?: number;
  readonly phase_blocks?: number;
  readonly split_stride?: number;
  readonly ky_per?: number;
  readonly total?: number;
  readonly row_runs?: number;
  readonly lane_groups?: number;
  readonly gather_ph?: number;
  readonly gather_pw?: number;
}

/** How a convolution GEMM kernel is launched: subgroup ops enabled, threads per workgroup, extra module-scope WGSL. */
export interface ConvLaunch {
  readonly subgroups?: boolean;
  readonly threads?: number;
  /**
   * Workgroup memory and helper functions (conv-tiled.ts), built like the body only when the
   * source is not cached: the kernel name must determine it.
   */
  readonly moduleScope?: () => string;
  /** x bound as vec4s (its offset and row strides multiples of 4: the body indexes it by element offset / 4). */
  readonly xVec4?: boolean;
  /** out bound as vec4s (the body stores through storeOut4). */
  readonly outVec4?: boolean;
  /** wt bound as vec4s (as xVec4). */
  readonly wVec4?: boolean;
}

/**
 * Dispatches a convolution GEMM kernel whose body runs once per workgroup (grid.count of them) over
 * out, x and wt; `body` builds that WGSL, and is called only when the source is not cached yet.
 */
export function dispatchConvGemm(
  ctx: GpuContext,
  comment: string,
  kernel: string,
  body: () => string,
  x: View,
  w: View,
  out: WebGpuStorage,
  p: ConvGemmProblem,
  grid: ConvGrid,
  launch: ConvLaunch = {},
): void {
  const t = wgslScalar(x.dtype);
  // Every kernel of this family is a function of its problem's geometry, dtype and launch, plus
  // the device's subgroup size and split count, which `comment` and `kernel` name where they apply
  // (the key's JSON leaves out the lazy moduleScope: the kernel name determines it).
  const key = JSON.stringify([kernel, comment, p, launch, ctx.gpu.subgroupSize ?? 0]);
  ctx.dispatch({
    kernel,
    source: cachedSource(key, () =>
      kernelSource(
        launch.subgroups ? 'enable subgroups;' : '',
        `// ${comment}`,
        layout.declaration(),
        [
          `@group(0) @binding(1) var<storage, read_write> out: array<${launch.outVec4 ? `vec4<${t}>` : t}>;`,
          `@group(0) @binding(2) var<storage, read> x: array<${launch.xVec4 ? `vec4<${t}>` : t}>;`,
          `@group(0) @binding(3) var<storage, read> wt: array<${launch.wVec4 ? `vec4<${t}>` : t}>;`,
        ].join('\n'),
        identityEpilogue(t),
        launch.moduleScope?.() ?? '',
        workgroupPerItemEntry(launch.threads ?? LANES, 'p.count', body(), launch.subgroups ?? false),
      ),
    ),
    uniform: layout.pack(gemmUniforms(x, w, p, grid)),
    storage: [ctx.bind(out), ctx.bind(x), ctx.bind(w)],
    workgroups: grid.count,
  });
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (n: number, f: (i: number) => string): string => range(n).map(f).join('\n');

/**
 * Per-lane statements for tap (ky, kx) of column j: `ok{j}` (the tap lands inside x) and `xo{j}`
 * (its offset, clamped to a valid element when not ok).
 */
function tapAddress(transposed: boolean, j: number): string {
  if (!transposed) {
    // conv2d: input row oy * stride + ky * dilation - pad.
    return `let iy${j} = iy0_${j} + i32(ky * p.dh);
    let ix${j} = ix0_${j} + i32(kx * p.dw);
    let ok${j} = iy${j} >= 0 && iy${j} < i32(p.h) && ix${j} >= 0 && ix${j} < i32(p.w);
    let xo${j} = xb${j} + u32(select(0, iy${j}, ok${j})) * p.xst[2] + u32(select(0, ix${j}, ok${j})) * p.xst[3];`;
  }
  // convTranspose2d (gather): input row (oy + pad - ky * dilation) / stride when that divides exactly.
  return `let ty${j} = iy0_${j} - i32(ky * p.dh);
    let tx${j} = ix0_${j} - i32(kx * p.dw);
    let ok${j} = ty${j} >= 0 && tx${j} >= 0 && ty${j} % i32(p.sh) == 0 && tx${j} % i32(p.sw) == 0 &&
      ty${j} < i32(p.h * p.sh) && tx${j} < i32(p.w * p.sw);
    let xo${j} = xb${j} + (u32(select(0, ty${j}, ok${j})) / p.sh) * p.xst[2] + (u32(select(0, tx${j}, ok${j})) / p.sw) * p.xst[3];`;
}

/**
 * The implicit-GEMM variant with TM output channels per workgroup and TN pixels per lane. With
 * `subgroupW`, the weights (the same for every lane) are loaded one subgroup's width of input
 * channels at a time, one per lane, and shuffled to the others, as matmul-blocked.ts does for A.
 */
export function convGemmVariant(tm: number, tn: number, subgroupW = false, splitK = false): ConvGemmVariant {
  const cols = LANES * tn;
  const name = `gemm${tm}x${tn}${subgroupW ? 'sg' : ''}${splitK ? 'k' : ''}`;
  return {
    name,
    gpuOnly: splitK,
    // A workgroup's channels must share one group (their x channels are the same). Split-K
    // splits the kernel's rows, so it needs rows to split (conv2d only).
    supports: (p, gpu) =>
      (p.o === p.opg || p.opg % tm === 0) &&
      (!subgroupW || subgroupsFit(gpu, LANES)) &&
      (!splitK || (!p.transposed && p.kh >= 2)),
    run(ctx, x, w, out, p) {
      const t = wgslScalar(x.dtype);
      // Callers check supports() first, so a subgroup variant has a fitting subgroup size here.
      const sg = subgroupW ? ctx.gpu.subgroupSize : undefined;
      const npix = p.n * p.oh * p.ow;
      const blocksM = Math.ceil(p.o / tm);
      // Transposed: columns ordered (phase, n, pixel of the phase grid), each phase padded to whole blocks.
      const [phH, phW] = [Math.ceil(p.oh / p.stride[0]), Math.ceil(p.ow / p.stride[1])];
      const perPhase = p.n * phH * phW;
      const phaseBlocks = Math.ceil(perPhase / cols);
      const blocksN = p.transposed ? p.stride[0] * p.stride[1] * phaseBlocks : Math.ceil(npix / cols);
      const blocks = blocksM * blocksN;
      const total = p.n * p.o * p.oh * p.ow;
      const splits = splitK ? splitCount(ctx, p, blocks, total) : 1;
      const kyPer = Math.ceil(p.kh / splits);
      const count = blocks * splits;
      // conv2d weights are [O, C/g, kh, kw]; convTranspose2d's are [C, O/g, kh, kw].
      const [rowStride, chanStride] = p.transposed ? ['p.wst[1]', 'p.wst[0]'] : ['p.wst[0]', 'p.wst[1]'];
      const rowBase = p.transposed
        ? (i: number) => `p.w_off + g * p.cpg * p.wst[0] + (min(o0 + ${i}u, last_o) % p.opg) * ${rowStride}`
        : (i: number) => `p.w_off + min(o0 + ${i}u, last_o) * ${rowStride}`;
      const body = () => {
        const origin = p.transposed
          ? (j: number) => `let iy0_${j} = i32(oy${j} + p.ph);\nlet ix0_${j} = i32(ox${j} + p.pw);`
          : (j: number) =>
              `let iy0_${j} = i32(oy${j} * p.sh) - i32(p.ph);\nlet ix0_${j} = i32(ox${j} * p.sw) - i32(p.pw);`;
        const acc = (i: number, j: number) => `c${i}_${j}`;
        const plainColumns = lines(
          tn,
          (j) => `let col${j} = nb * ${cols}u + lid.x + ${j * LANES}u;
let valid${j} = col${j} < p.npix;
let cc${j} = min(col${j}, p.npix - 1u);
let n${j} = cc${j} / p.ohw;
let pix${j} = cc${j} % p.ohw;
let oy${j} = pix${j} / p.ow;
let ox${j} = pix${j} % p.ow;
let xb${j} = p.x_off + n${j} * p.xst[0] + g * p.cpg * p.xst[1];
${origin(j)}`,
        );
        // convTranspose2d: a workgroup's pixels share one stride phase (oy % sh, ox % sw), so which
        // taps can land on an input pixel is uniform and the others are skipped, not masked.
        const phaseColumns = `let phase = nb / p.phase_blocks;
let py = phase / p.sw;
let px = phase % p.sw;
${lines(
  tn,
  (j) => `let col${j} = (nb % p.phase_blocks) * ${cols}u + lid.x + ${j * LANES}u;
let cc${j} = min(col${j}, p.per_phase - 1u);
let n${j} = cc${j} / p.phw;
let r${j} = cc${j} % p.phw;
let oy${j} = py + p.sh * (r${j} / p.ph_w);
let ox${j} = px + p.sw * (r${j} % p.ph_w);
let valid${j} = col${j} < p.per_phase && oy${j} < p.oh && ox${j} < p.ow;
let pix${j} = oy${j} * p.ow + ox${j};
let xb${j} = p.x_off + n${j} * p.xst[0] + g * p.cpg * p.xst[1];
${origin(j)}`,
)}`;
        const skipTapY = p.transposed
          ? `
  if ((i32(py + p.ph) - i32(ky * p.dh)) % i32(p.sh) != 0) { continue; }`
          : '';
        const skipTapX = p.transposed
          ? `
    if ((i32(px + p.pw) - i32(kx * p.dw)) % i32(p.sw) != 0) { continue; }`
          : '';
        /** One input channel `c`: each lane's x values (0 off the image) times each row's weight `wOf(i)`. */
        const step = (c: string, wOf: (i: number) => string) =>
          [
            `let xc = ${c} * p.xst[1];`,
            ...range(tn).map((j) => `let xv${j} = select(${t}(0), x[xo${j} + xc], ok${j});`),
            ...range(tm).map((i) => `let w${i} = ${wOf(i)};`),
            ...range(tm * tn).map((k) => `${acc(Math.floor(k / tn), k % tn)} += w${Math.floor(k / tn)} * xv${k % tn};`),
          ].join('\n');
        // Whole subgroup widths of input channels take the cooperative loads, the rest per-lane ones.
        const weight = (i: number, c: string) => `wt[wr${i} + wk + (${c}) * ${chanStride}]`;
        const broadcastLoop = sg
          ? subgroupShuffleLoop({ sg, counter: 'ci', limit: 'p.cpg', count: tm, load: weight, step })
          : '';
        // Split-K: workgroup `group` runs kernel rows [ky_lo, ky_hi) of split s and stores its partial
        // sums in slice s of the scratch output; sumSplits adds the slices.
        const splitHead = splitK
          ? `let s = group / p.split_stride;
let gl = group % p.split_stride;
let ky_lo = s * p.ky_per;
let ky_hi = min(p.kh, ky_lo + p.ky_per);
let mb = gl % p.blocks_m;
let nb = gl / p.blocks_m;`
          : `let mb = group % p.blocks_m;
let nb = group / p.blocks_m;`;
        const store = (index: string, value: string) =>
          splitK ? `out[s * p.total + ${index}] = ${value};` : storeOut(index, value);
        return `${splitHead}
let o0 = mb * ${tm}u;
let g = o0 / p.opg;
let last_o = p.o - 1u;
${lines(tm, (i) => `let wr${i} = ${rowBase(i)};`)}
${p.transposed ? phaseColumns : plainColumns}
${lines(tm * tn, (x) => `var ${acc(Math.floor(x / tn), x % tn)} = ${t}(0);`)}
for (var ky = ${splitK ? 'ky_lo' : '0u'}; ky < ${splitK ? 'ky_hi' : 'p.kh'}; ky++) {${skipTapY}
  for (var kx = 0u; kx < p.kw; kx++) {${skipTapX}
    ${range(tn)
      .map((j) => tapAddress(p.transposed, j))
      .join('\n    ')}
    let wk = ky * p.wst[2] + kx * p.wst[3];
    var ci = 0u;
${indent(broadcastLoop, '    ')}
    for (; ci < p.cpg; ci++) {
${indent(
  step('ci', (i) => weight(i, 'ci')),
  '      ',
)}
    }
  }
}
${lines(
  tn,
  (j) => `if (valid${j}) {
  let ob${j} = n${j} * p.o * p.ohw + pix${j};
${lines(tm, (i) => `  if (o0 + ${i}u < p.o) { ${store(`ob${j} + (o0 + ${i}u) * p.ohw`, acc(i, j))} }`)}
}`,
)}`;
      };
      const kernel = `${p.transposed ? 'convTranspose2d' : 'conv2d'}:${name}:${x.dtype}${sg ? `:sg${sg}` : ''}`;
      const grid = {
        count,
        blocks_m: blocksM,
        npix,
        phw: phH * phW,
        ph_w: phW,
        per_phase: perPhase,
        phase_blocks: phaseBlocks,
        split_stride: blocks,
        ky_per: kyPer,
        total,
      };
      const comment = `${kernel}: implicit GEMM, ${tm} output channels per workgroup x ${tn} pixels per lane${splitK ? `, kernel rows split ${splits} ways` : ''}`;
      const partials = splitK ? ctx.alloc(x.dtype, splits * total) : out;
      dispatchConvGemm(ctx, comment, kernel, body, x, w, partials, p, grid, { subgroups: sg !== undefined });
      if (splitK) {
        sumSplits(ctx, partials, out, splits, total);
        ctx.release(partials);
      }
    },
  };
}

/**
 * The implicit GEMM with the roles swapped, for few output pixels and many channels (the deep,
 * small layers of a ResNet or UNet, small batches): a workgroup owns TP output pixels, uniform
 * across its lanes (so the x loads and padding tests are broadcast), and 64 x TO output channels,
 * lane l taking channels o0 + l + 64 i. The pixel-lane kernels above leave most lanes idle when
 * N * OH * OW is far below their 64 x TN columns (16 pixels of 512 at 4x4, batch 1); here every
 * lane has work as long as there are 64 channels. conv2d only, one group.
 */
export function convChannelLanesVariant(to: number, tp: number): ConvGemmVariant {
  const rows = LANES * to;
  return {
    name: `lanes${to}x${tp}`,
    supports: (p) => !p.transposed && p.o === p.opg,
    run(ctx, x, w, out, p) {
      const t = wgslScalar(x.dtype);
      const npix = p.n * p.oh * p.ow;
      const blocksM = Math.ceil(p.o / rows);
      const count = blocksM * Math.ceil(npix / tp);
      const acc = (i: number, j: number) => `c${i}_${j}`;
      const body = () => `let mb = group % p.blocks_m;
let pb = group / p.blocks_m;
let last_o = p.o - 1u;
${lines(
  to,
  (i) => `let o${i} = mb * ${rows}u + lid.x + ${i * LANES}u;
let wr${i} = p.w_off + min(o${i}, last_o) * p.wst[0];`,
)}
${lines(
  tp,
  (j) => `let col${j} = pb * ${tp}u + ${j}u;
let valid${j} = col${j} < p.npix;
let cc${j} = min(col${j}, p.npix - 1u);
let n${j} = cc${j} / p.ohw;
let pix${j} = cc${j} % p.ohw;
let xb${j} = p.x_off + n${j} * p.xst[0];
let iy0_${j} = i32((pix${j} / p.ow) * p.sh) - i32(p.ph);
let ix0_${j} = i32((pix${j} % p.ow) * p.sw) - i32(p.pw);`,
)}
${lines(to * tp, (k) => `var ${acc(Math.floor(k / tp), k % tp)} = ${t}(0);`)}
for (var ky = 0u; ky < p.kh; ky++) {
  for (var kx = 0u; kx < p.kw; kx++) {
    ${range(tp)
      .map((j) => tapAddress(false, j))
      .join('\n    ')}
    // A tap in the padding for all the workgroup's pixels adds nothing: skip its channel loop
    // (the same for every lane). A 3x3 'same' layer on a 1x1 map keeps 1 of its 9 taps.
    if (!(${range(tp)
      .map((j) => `ok${j}`)
      .join(' || ')})) { continue; }
    let wk = ky * p.wst[2] + kx * p.wst[3];
    for (var ci = 0u; ci < p.cpg; ci++) {
      let xc = ci * p.xst[1];
      let wc = wk + ci * p.wst[1];
${lines(tp, (j) => `      let xv${j} = select(${t}(0), x[xo${j} + xc], ok${j});`)}
${lines(to, (i) => `      let w${i} = wt[wr${i} + wc];`)}
${lines(to * tp, (k) => `      ${acc(Math.floor(k / tp), k % tp)} += w${Math.floor(k / tp)} * xv${k % tp};`)}
    }
  }
}
${lines(
  to,
  (i) => `if (o${i} < p.o) {
${lines(tp, (j) => `  if (valid${j}) { ${storeOut(`n${j} * p.o * p.ohw + o${i} * p.ohw + pix${j}`, acc(i, j))} }`)}
}`,
)}`;
      const kernel = `conv2d:lanes${to}x${tp}:${x.dtype}`;
      dispatchConvGemm(
        ctx,
        `${kernel}: implicit GEMM, ${tp} output pixels per workgroup x ${to} channels per lane`,
        kernel,
        body,
        x,
        w,
        out,
        p,
        { count, blocks_m: blocksM, npix },
      );
    },
  };
}
