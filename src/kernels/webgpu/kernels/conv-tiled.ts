// conv2d and convTranspose2d as the shared-memory tiled GEMM (tiled-gemm.ts), for real GPUs:
// A = the weights as [output channels, (input channel, tap)], B = the im2col matrix
// [(input channel, tap), (n, output pixel)] generated in the tile load, never stored. The
// register-blocked variants of conv-gemm.ts keep no shared memory (right for lavapipe, where
// barriers are costly); on a GPU their operands are re-read from global memory by every lane,
// which the tiles avoid, as matmul's tiled variants do.
import { TILE_SIDE, TILE_THREADS, tiledGemm } from './tiled-gemm.js';
import { type ConvGemmProblem, type ConvGemmVariant, dispatchConvGemm } from './conv-gemm.js';
import { wgslScalar } from '../wgsl.js';

/**
 * WGSL functions reading one element of A (`w_at(o, k, g)`) and of B (`x_at(k, col, g)`), 0 off
 * the matrix or in the padding; k runs over (input channel, ky, kx), col over (n, oy, ox), and g
 * is the group of the tile's output channels.
 */
function operandReaders(t: string, transposed: boolean): string {
  const unpackK = `let taps = p.kh * p.kw;
  if (k >= p.cpg * taps) { return ${t}(0); }
  let c = k / taps;
  let ky = (k % taps) / p.kw;
  let kx = k % p.kw;`;
  // conv2d weights are [O, C/g, kh, kw]; convTranspose2d's are [C, O/g, kh, kw].
  const weight = transposed
    ? 'wt[p.w_off + (g * p.cpg + c) * p.wst[0] + (o % p.opg) * p.wst[1] + ky * p.wst[2] + kx * p.wst[3]]'
    : 'wt[p.w_off + o * p.wst[0] + c * p.wst[1] + ky * p.wst[2] + kx * p.wst[3]]';
  // conv2d reads input row oy * stride + ky * dilation - pad; convTranspose2d (gather form) reads
  // (oy + pad - ky * dilation) / stride where that divides exactly.
  const inputPixel = transposed
    ? `let ty = i32(oy + p.ph) - i32(ky * p.dh);
  let tx = i32(ox + p.pw) - i32(kx * p.dw);
  if (ty < 0 || tx < 0 || ty % i32(p.sh) != 0 || tx % i32(p.sw) != 0 || ty >= i32(p.h * p.sh) || tx >= i32(p.w * p.sw)) { return ${t}(0); }
  let iy = u32(ty) / p.sh;
  let ix = u32(tx) / p.sw;`
    : `let sy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
  let sx = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
  if (sy < 0 || sx < 0 || sy >= i32(p.h) || sx >= i32(p.w)) { return ${t}(0); }
  let iy = u32(sy);
  let ix = u32(sx);`;
  return `fn w_at(o: u32, k: u32, g: u32) -> ${t} {
  if (o >= p.o) { return ${t}(0); }
  ${unpackK}
  return ${weight};
}

fn x_at(k: u32, col: u32, g: u32) -> ${t} {
  if (col >= p.npix) { return ${t}(0); }
  ${unpackK}
  let n = col / p.ohw;
  let oy = (col % p.ohw) / p.ow;
  let ox = col % p.ow;
  ${inputPixel}
  return x[p.x_off + n * p.xst[0] + (g * p.cpg + c) * p.xst[1] + iy * p.xst[2] + ix * p.xst[3]];
}`;
}

/** The tiled variant with (16*tm) x (16*tn) output tiles (channels x pixels) and a K step of bk. */
export function convTiledVariant(tm: number, tn: number, bk: number, pipelined: boolean): ConvGemmVariant {
  const bm = TILE_SIDE * tm;
  const bn = TILE_SIDE * tn;
  const name = `tiled${bm}x${bn}k${bk}${pipelined ? 'p' : ''}`;
  return {
    name,
    // A tile's output channels must share one group (their input channels are the same).
    supports: (p: ConvGemmProblem) => p.o === p.opg || p.opg % bm === 0,
    gpuOnly: true,
    run(ctx, x, w, out, p) {
      const t = wgslScalar(x.dtype);
      const npix = p.n * p.oh * p.ow;
      const blocksM = Math.ceil(p.o / bm);
      const count = blocksM * Math.ceil(npix / bn);
      // The tile's WGSL, built once on a source-cache miss and shared by the body and module scope.
      let built: ReturnType<typeof tiledGemm> | undefined;
      const gemm = () =>
        (built ??= tiledGemm({
          tm,
          tn,
          bk,
          pipelined,
          t,
          k: 'p.cpg * p.kh * p.kw',
          // Weights run along k in memory (taps innermost); im2col columns along the output pixels.
          a: { kFastest: true, inBounds: 'true', value: 'w_at(m0 + c, k0 + kk, g)' },
          b: { kFastest: false, inBounds: 'true', value: 'x_at(k0 + kk, n0 + c, g)' },
        }));
      const body = () => `let m0 = (group % p.blocks_m) * ${bm}u;
let n0 = (group / p.blocks_m) * ${bn}u;
let g = m0 / p.opg;
${gemm().product}
${gemm().store({
  rowValid: (row) => `${row} < p.o`,
  colValid: (col) => `${col} < p.npix`,
  colBase: (col) => `(${col} / p.ohw) * p.o * p.ohw + ${col} % p.ohw`,
  index: (row, colBase) => `${colBase} + ${row} * p.ohw`,
})}`;
      const op = p.transposed ? 'convTranspose2d' : 'conv2d';
      const kernel = `${op}:${name}:${x.dtype}`;
      dispatchConvGemm(
        ctx,
        `${kernel}: shared-memory tiled implicit GEMM, ${bm} channels x ${bn} pixels per workgroup`,
        kernel,
        body,
        x,
        w,
        out,
        p,
        { count, blocks_m: blocksM, npix },
        {
          threads: TILE_THREADS,
          moduleScope: () => `${gemm().workgroupMemory}\n\n${operandReaders(t, p.transposed)}`,
        },
      );
    },
  };
}
