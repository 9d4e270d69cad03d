// conv2d for depthwise layers: one input and one output channel per group (the face landmark net's
// separable convolutions, MobileNet-style blocks). The implicit GEMMs have nothing to block there
// (a reduction of kh * kw taps, one output channel per group), and the direct kernel splits every
// output index with divisions by uniforms, which lavapipe cannot vectorise, and loads every tap
// on its own. Here each lane computes a run of RUN neighbouring pixels of one output row, loading
// each input of the runs' overlapping windows once (stride 1, 3x3: 6 loads a row for 4 pixels,
// not 12); lanes run over (image, channel, run), so small planes still fill the workgroups. The
// kernel's size, stride, dilation and the plane's size are compile-time constants: a kernel row's
// taps unroll, and the divisions are by constants but one (the channel of a plane).
import { storeOut } from '../epilogue.js';
import { wgslScalar } from '../wgsl.js';
import { type ConvGemmVariant, dispatchConvGemm } from './conv-gemm.js';
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
