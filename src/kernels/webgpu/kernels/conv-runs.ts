// Dense convolutions as runs of output pixels: each lane computes `run` (4 or 8) neighbouring
// pixels of one output row for `to` output channels. Per (input channel, kernel row) it loads the runs'
// overlapping input span once (a 3x3 row at stride 1: 6 loads for 4 pixels, not 12; the face
// ResNet's 7x7 stride-2 stem: 13, not 28) and takes each tap's `to` weights, so run x `to`
// multiply-adds share every load. The implicit GEMMs instead load each (channel, tap) of each
// pixel on its own, with its padding test. Lanes run over (image, row, run) and a workgroup owns
// one block of `to` output channels, `to` the subgroup size: lane s loads output channel s's taps
// and subgroupBroadcast hands them to the others. lavapipe loads storage lane by lane unless the
// address is a compile-time constant, so a weight every lane reads would cost 8 loads (the
// variant loading them so ran the stem 1.6x slower than the implicit GEMM; broadcast, 2x faster).
// Kernel size, stride, dilation and padding are compile-time constants (a kernel row's taps
// unroll); channels and kernel rows are loops; the batch and output size are uniforms. A
// stride-1 transposed convolution (autodiff's input gradient) is the same sum with the filter
// flipped and its channel roles swapped, padded by k - 1 - padding.
// A 3-wide window at stride 1 and padding 1 on rows a subgroup holds whole (`sharesRows`: the tiny
// UNet's 3x3 layers at 8-32 px, both directions) loads each lane's own pixels as vec4s and takes
// the one column left and right of them from the neighbouring lanes by shuffle: 2 vec4 loads a
// kernel row instead of 10 scalar ones for runs of 8, 6-20% faster a call, values bit-identical.
// Where one run covers an output row and its span the whole input row (`spansWholeRows`: a small
// map's weight gradient, 3x3 taps from an 8x8 cotangent), input and kernel rows load as vec4s:
// 1.27-1.43x a call at the tiny UNet's 8-px level, bit-identical.
import type { View } from '../../backend.js';
import { storeOut, storeOut4 } from '../epilogue.js';
import { subgroupsFit } from '../device.js';
import { VEC4_COMPONENTS as XYZW, wgslScalar } from '../wgsl.js';
import {
  type ConvGemmProblem,
  type ConvGemmVariant,
  dispatchConvGemm,
  gatherForm,
  rowsFitSubgroups,
} from './conv-gemm.js';
import { rowsAlignedTo4 } from '../layout.js';
import { lines, range } from './matmul-common.js';

/** Lanes per workgroup (dispatchConvGemm's default). */
const LANES = 64;

/** Widest input span a lane loads per kernel row (each load is unrolled). */
const MAX_SPAN = 32;

const spanOf = (p: ConvGemmProblem, run: number): number => (run - 1) * p.stride[1] + (p.kw - 1) * p.dilation[1] + 1;

/** Whether the problem is a plain dense convolution the runs take: ungrouped, and transposed only at stride 1 undilated. */
const runsFit = (p: ConvGemmProblem, to: number, run: number): boolean =>
  p.cpg === p.c &&
  p.opg === p.o &&
  spanOf(p, run) <= MAX_SPAN &&
  (!p.transposed || (p.stride.every((s) => s === 1) && p.dilation.every((d) => d === 1)));

/** Whether a float32 view's rows are contiguous and start 4-aligned (read as vec4s). */
const alignedRows = (v: View): boolean => v.dtype === 'float32' && rowsAlignedTo4(v);

/**
 * Whether a lane's input span can be its own run's pixels as vec4 loads plus one column from each
 * neighbouring lane: a 3-wide window, stride and dilation 1 and padding 1 along the row (the gather
 * form's, so a stride-1 transposed convolution too), output rows as wide as x's and cut into whole
 * runs of a multiple of 4, x's rows contiguous and 4-aligned, and whole rows per subgroup (the runs
 * of a row divide it), so the neighbour of a lane is the run beside it or the zero padding past
 * the row's end. The span's 10 scalar loads become 2 vec4 loads and 2 shuffles (runs of 8): on
 * lavapipe a scalar load costs 20-33 cycles, a vec4 load 50-80, a shuffle 0-4.
 */
export function sharesRows(p: ConvGemmProblem, x: View, run: number, subgroup: number): boolean {
  const g = gatherForm(p);
  const rowRuns = p.ow / run;
  return (
    run % 4 === 0 &&
    p.kw === 3 &&
    p.stride[1] === 1 &&
    p.dilation[1] === 1 &&
    g.padding[1] === 1 &&
    p.ow === p.w &&
    rowsFitSubgroups(subgroup, rowRuns) &&
    alignedRows(x)
  );
}

/**
 * Whether one run covers an output row and its input span covers the whole (padded) input row,
 * as in a small map's weight gradient run as a convolution (x^T with the cotangent as an 8x8
 * filter into 3x3 taps): then a lane loads each input row as vec4s and each kernel row's taps as
 * vec4s (2 + 2 loads where the scalar form made 11 + 8), the padding's zeros known from constants.
 * conv2d only (a transposed convolution reads its taps flipped), stride and dilation 1 along rows,
 * rows and kernel rows a multiple of 4 wide and 4-aligned.
 */
export function spansWholeRows(p: ConvGemmProblem, x: View, w: View, run: number): boolean {
  const padW = gatherForm(p).padding[1];
  return (
    !p.transposed &&
    p.ow <= run &&
    p.stride[1] === 1 &&
    p.dilation[1] === 1 &&
    p.w % 4 === 0 &&
    p.kw % 4 === 0 &&
    spanOf(p, run) >= padW + p.w &&
    alignedRows(x) &&
    alignedRows(w)
  );
}

/** The span v0 .. v(span - 1) of a whole-row lane: the row's vec4s, zeros where the columns fall in the padding. */
function wholeRowSpan(span: number, width: number, padW: number): string {
  return `    let q = rb >> 2u;
${lines(width / 4, (k) => `    let r${k} = select(vec4<f32>(0), x[q + ${k}u], row_ok);`)}
${lines(span, (i) => {
  const col = i - padW;
  return `    let v${i} = ${col >= 0 && col < width ? `r${col >> 2}.${XYZW[col % 4]}` : 'f32(0)'};`;
})}`;
}

/**
 * The span v0 .. v(run + 1) of a row-shared lane: its run's pixels as vec4 loads, and the columns
 * left and right of it from the neighbouring lanes' loads (zero at the row's ends).
 */
function sharedSpan(run: number, t: string): string {
  const pieces = run / 4;
  return `    let q = (rb + ox0) >> 2u;
${lines(pieces, (k) => `    let b${k} = select(vec4<${t}>(0), x[q + ${k}u], row_ok);`)}
    let v0 = select(${t}(0), subgroupShuffle(b${pieces - 1}, prev_lane).w, has_prev);
${lines(run, (i) => `    let v${i + 1} = b${Math.floor(i / 4)}.${XYZW[i % 4]};`)}
    let v${run + 1} = select(${t}(0), subgroupShuffle(b0, next_lane).x, has_next);`;
}

/**
 * The variant for devices whose subgroups are `subgroup` lanes wide (lavapipe: 8): `to` output channels
 * per workgroup (a multiple of the subgroup: lane s loads the taps of channels s, s + subgroup, ...),
 * runs of `runLength` pixels a lane. Runs of 8 ran the tiny UNet's 3x3 layers (8-64 channels, both
 * directions) 1.2-1.45x faster than 4 on lavapipe and the face ResNet's stem even
 * (docs/measurements.md); 4 wastes fewer lanes on rows narrower than 8; runs of 16 were no faster
 * than 8. 16 channels a lane on 8-lane subgroups shares each input load over twice the multiply-adds.
 */
export function convRunsVariant(to: number, runLength: number, subgroup = to): ConvGemmVariant {
  const RUN = runLength;
  const blocks = to / subgroup;
  if (!Number.isInteger(blocks))
    throw new Error(`convRunsVariant: ${to} channels is not a multiple of the ${subgroup}-lane subgroup.`);
  const name = subgroup === to ? `runs${RUN}x${to}sg` : `runs${RUN}x${to}sg${subgroup}`;
  return {
    name,
    supports: (p, gpu) => subgroupsFit(gpu, LANES) && gpu.subgroupSize === subgroup && runsFit(p, to, RUN),
    run(ctx, x, w, out, p) {
      const t = wgslScalar(x.dtype);
      const runsPerRow = Math.ceil(p.ow / RUN);
      const lanes = p.n * p.oh * runsPerRow;
      const groupsPerBlock = Math.ceil(lanes / LANES);
      const sw = p.stride[1];
      const dw = p.dilation[1];
      const span = spanOf(p, RUN);
      // Rows that runs tile exactly store every pixel of a run unchecked (one source for all such sizes).
      const aligned = p.ow % RUN === 0;
      const shared = sharesRows(p, x, RUN, subgroup);
      const whole = !shared && spansWholeRows(p, x, w, RUN);
      // Runs that tile rows of a multiple of 4 start every store 4-aligned: vec4 stores, 4x fewer
      // (lavapipe stores lane by lane, as it loads), and an epilogue reads a per-channel value once
      // per 4 outputs (epi4) instead of once per output.
      const quadStores = aligned && RUN % 4 === 0 && p.ow % 4 === 0 && t === 'f32';
      // Gather form: conv2d weights are [O, C, kh, kw]; a transposed conv's [C, O, kh, kw] are read flipped.
      const g = gatherForm(p);
      const [oStride, cStride] = [`p.wst[${g.oAxis}]`, `p.wst[${g.cAxis}]`];
      const tapRow = g.flipped ? `(${p.kh - 1}u - ky)` : 'ky';
      // The gather form's padding, the row stride and the row dilation are uniforms (one compiled
      // kernel for all of them: lavapipe compiles a runs kernel in ~1 s); the kernel height stays a
      // constant (as a uniform loop bound the 8 -> 8 channel layer at 32 px ran 15-30% slower), and
      // so do the kernel width, column stride and column dilation, which pick registers.
      const [padH, padW] = g.padding;
      const tapCol = (kx: number) => (g.flipped ? p.kw - 1 - kx : kx);
      const body = () => {
        const acc = (j: number, o: number) => `acc${j}_${o}`;
        // Lane s loads tap kx of channels s, s + subgroup, ... (one `own` per block); channel o's
        // weight comes from lane o % subgroup's load of block o / subgroup.
        const load = (kx: number, b: number) => `    let own${kx}_${b} = wt[wr + wo${b} + ${tapCol(kx)}u * p.wst[3]];`;
        // Whole rows: a kernel row's taps as vec4s (lane s loads channel s's), one component each.
        const loadQuad = (k: number, b: number) => `    let own${k}_${b} = wt[((wr + wo${b}) >> 2u) + ${k}u];`;
        const broadcast = (kx: number, o: number) =>
          whole
            ? `    let w${kx}_${o} = subgroupBroadcast(own${kx >> 2}_${Math.floor(o / subgroup)}.${XYZW[kx % 4]}, ${o % subgroup}u);`
            : `    let w${kx}_${o} = subgroupBroadcast(own${kx}_${Math.floor(o / subgroup)}, ${o % subgroup}u);`;
        // Per (channel, kernel row): the span's inputs once, then each tap's `to` weights.
        const loop = `for (var ci = 0u; ci < p.cpg; ci++) {
  let xc = xb + ci * p.xst[1];
  let wc = wb + ci * ${cStride};
  for (var ky = 0u; ky < ${p.kh}u; ky++) {
    let iy = iy0 + i32(ky * p.dh);
    let row_ok = iy >= 0 && iy < i32(p.h);
    let rb = xc + u32(select(0, iy, row_ok)) * p.xst[2];
    let wr = wc + ${tapRow} * p.wst[2];
${
  shared
    ? sharedSpan(RUN, t)
    : whole
      ? wholeRowSpan(span, p.w, padW)
      : lines(span, (i) => `    let v${i} = select(${t}(0), x[rb + ca${i}], row_ok && cok${i});`)
}
${range(blocks)
  .map((b) => (whole ? lines(p.kw / 4, (k) => loadQuad(k, b)) : lines(p.kw, (kx) => load(kx, b))))
  .join('\n')}
${range(p.kw)
  .map(
    (kx) => `${lines(to, (o) => broadcast(kx, o))}
${range(RUN)
  .flatMap((j) => range(to).map((o) => `    ${acc(j, o)} += v${j * sw + kx * dw} * w${kx}_${o};`))
  .join('\n')}`,
  )
  .join('\n')}
  }
}`;
        // The batch and the output's height and width are uniforms, not constants: they enter only
        // this per-lane index split (and the padding and strides its start), and one compiled
        // kernel then serves every resolution and batch.
        return `let ob = group / p.lane_groups;
// Lanes past the end compute a clamped copy and store nothing: subgroup operations need them all.
let lane_id = (group - ob * p.lane_groups) * ${LANES}u + lid.x;
let lane = min(lane_id, p.total - 1u);
// The last block overlaps the one before when to does not divide O (same values stored twice);
// with fewer than ${to} channels the lanes past the last load its taps again and store nothing.
let o0 = min(ob * ${to}u, max(p.o, ${to}u) - ${to}u);
${lines(blocks, (b) => `let wo${b} = min(sid + ${b * subgroup}u, p.o - 1u - o0) * ${oStride};`)}
let run = lane % p.row_runs;
let rest = lane / p.row_runs;
let oy = rest % p.oh;
let nb = rest / p.oh;
let ox0 = run * ${RUN}u;
let xb = p.x_off + nb * p.xst[0];
let wb = p.w_off + o0 * ${oStride};
let iy0 = i32(oy * p.sh) - p.gather_ph;
${
  whole
    ? ''
    : shared
      ? `let prev_lane = max(sid, 1u) - 1u;
let next_lane = min(sid + 1u, ${subgroup - 1}u);
let has_prev = run > 0u;
let has_next = run + 1u < p.row_runs;`
      : `let ix0 = i32(ox0 * ${sw}u) - p.gather_pw;
${lines(
  span,
  (i) => `let cx${i} = ix0 + ${i};
let cok${i} = cx${i} >= 0 && cx${i} < i32(p.w);
let ca${i} = u32(select(0, cx${i}, cok${i})) * p.xst[3];`,
)}`
}
// From a zero the compiler cannot see: it folds a literal 0 + x to x, and an all-zero sum would end as -0.
${lines(RUN * to, (i) => `var ${acc(Math.floor(i / to), i % to)} = ${t}(p.zero);`)}
${loop}
if (lane_id >= p.total) { return; }
let pix = oy * p.ow + ox0;
${lines(
  Math.min(to, p.o),
  (o) => `let ob${o} = (nb * p.o + o0 + ${o}u) * p.npix + pix;
${
  quadStores
    ? lines(RUN / 4, (q) =>
        storeOut4(
          `(ob${o} >> 2u) + ${q}u`,
          `vec4<f32>(${range(4)
            .map((j) => acc(4 * q + j, o))
            .join(', ')})`,
        ),
      )
    : lines(RUN, (j) =>
        aligned
          ? storeOut(`ob${o} + ${j}u`, acc(j, o))
          : `if (ox0 + ${j}u < p.ow) { ${storeOut(`ob${o} + ${j}u`, acc(j, o))} }`,
      )
}`,
)}`;
      };
      const kernel = `${p.transposed ? 'convTranspose2d' : 'conv2d'}:${name}:${x.dtype}`;
      dispatchConvGemm(
        ctx,
        `${kernel}: ${p.kh}x${p.kw} taps, runs of ${RUN} pixels of a row x ${to} output channels per lane${shared ? ', row pieces shared' : ''}${whole ? `, whole rows (pad ${padW})` : ''}${quadStores ? ', vec4 stores' : ''}`,
        kernel,
        body,
        x,
        w,
        out,
        p,
        {
          count: Math.ceil(p.o / to) * groupsPerBlock,
          blocks_m: 0,
          npix: p.oh * p.ow,
          total: lanes,
          row_runs: runsPerRow,
          lane_groups: groupsPerBlock,
          gather_ph: padH,
          gather_pw: padW,
        },
        { subgroups: true, xVec4: shared || whole, wVec4: whole, outVec4: quadStores },
      );
    },
  };
}
