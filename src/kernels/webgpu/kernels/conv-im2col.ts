// conv2d as im2col + matmul: the input patches are gathered once into cols [N, C*KH*KW, OH*OW]
// (zeros where the window leaves the padded input), then out[n] = W[O, C*KH*KW] @ cols[n] runs on
// the tuned matmul kernels, writing NCHW directly. Worth it where the implicit-GEMM variants
// starve: many channels over few pixels (the face ResNet's 256-channel 5x5 layers) and few input
// channels under a wide kernel (its 7x7 stem on 3 channels). A tuning candidate: the tuner decides.
import { cachedSource } from '../source-cache.js';
import type { View } from '../../backend.js';
import type { GpuContext } from '../context.js';
import type { GpuDevice } from '../device.js';
import type { WebGpuStorage } from '../storage.js';
import { DEVICE_BYTES_PER_ELEMENT } from '../storage.js';
import { kernelSource, storageBinding, threadPerItemEntry, UniformLayout, wgslScalar } from '../wgsl.js';
import * as elementwise from './elementwise.js';
import { CONV_GEOMETRY_UNIFORMS, convWindowUniforms, type ConvGemmProblem, type ConvGemmVariant } from './conv-gemm.js';
import { matmul } from './matmul.js';

/** Largest cols buffer the variant allocates (it is scratch, freed after the matmul). */
const MAX_COLS_BYTES = 256 * 1024 * 1024;
const WORKGROUP = 64;

const colsElements = (p: ConvGemmProblem): number => p.n * p.cpg * p.kh * p.kw * p.oh * p.ow;

const layout = new UniformLayout({
  count: 'u32',
  k: 'u32',
  pix: 'u32',
  ow: 'u32',
  h: 'u32',
  w: 'u32',
  ...CONV_GEOMETRY_UNIFORMS,
});

/** cols[nb, kk, q] = x[nb, ci, oy * sh + ky * dh - ph, ox * sw + kx * dw - pw], 0 outside; kk = (ci * KH + ky) * KW + kx, q = oy * OW + ox. */
function gatherCols(ctx: GpuContext, x: View, cols: WebGpuStorage, p: ConvGemmProblem): void {
  const t = wgslScalar(x.dtype);
  const k = p.cpg * p.kh * p.kw;
  const pix = p.oh * p.ow;
  const count = colsElements(p);
  const body = `let q = idx % p.pix;
let r = idx / p.pix;
let kk = r % p.k;
let nb = r / p.k;
let kx = kk % p.kw;
let r2 = kk / p.kw;
let ky = r2 % p.kh;
let ci = r2 / p.kh;
let iy = i32((q / p.ow) * p.sh + ky * p.dh) - i32(p.ph);
let ix = i32((q % p.ow) * p.sw + kx * p.dw) - i32(p.pw);
var v = ${t}(0);
if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
  v = x[p.x_off + nb * p.xst[0] + ci * p.xst[1] + u32(iy) * p.xst[2] + u32(ix) * p.xst[3]];
}
cols[idx] = v;`;
  ctx.dispatch({
    kernel: `im2col:${x.dtype}`,
    // The dtype determines the source (every size is a uniform).
    source: cachedSource(`im2col:${x.dtype}`, () =>
      kernelSource(
        '// im2col: one thread per element of cols [N, C*KH*KW, OH*OW]',
        layout.declaration(),
        [storageBinding(1, 'cols', t, 'read_write'), storageBinding(2, 'x', t, 'read')].join('\n'),
        threadPerItemEntry(WORKGROUP, 'p.count', body),
      ),
    ),
    uniform: layout.pack({
      count,
      k,
      pix,
      kh: p.kh,
      kw: p.kw,
      ow: p.ow,
      h: p.h,
      w: p.w,
      cpg: p.cpg,
      opg: p.opg,
      ...convWindowUniforms(p),
      x_off: x.offset,
      xst: x.strides,
      w_off: 0,
      wst: [0, 0, 0, 0],
    }),
    storage: [ctx.bind(cols), ctx.bind(x)],
    workgroups: Math.ceil(count / WORKGROUP),
  });
}

/** The weights as a [N, O, C*KH*KW] view (batch broadcast); a copy when w's taps are not contiguous. */
function weightRows(
  ctx: GpuContext,
  w: View,
  p: ConvGemmProblem,
): { readonly view: View; readonly temp?: WebGpuStorage } {
  const k = p.cpg * p.kh * p.kw;
  const contiguousTaps =
    (p.kw === 1 || w.strides[3] === 1) &&
    (p.kh === 1 || w.strides[2] === p.kw) &&
    (p.cpg === 1 || w.strides[1] === p.kh * p.kw);
  const temp = contiguousTaps ? undefined : elementwise.copy(ctx, w);
  const [storage, offset, rowStride] = temp ? [temp, 0, k] : [w.storage, w.offset, w.strides[0]];
  return { view: { storage, dtype: w.dtype, shape: [p.n, p.o, k], strides: [0, rowStride, 1], offset }, temp };
}

export const im2colVariant: ConvGemmVariant = {
  name: 'im2col',
  gpuOnly: true, // lost every conv key on lavapipe (its gather and the strided-batch matmul are slow there)
  supports: (p: ConvGemmProblem, gpu: GpuDevice) =>
    !p.transposed &&
    p.o === p.opg &&
    colsElements(p) * DEVICE_BYTES_PER_ELEMENT <= Math.min(MAX_COLS_BYTES, gpu.limits.maxStorageBufferBindingSize),
  run(ctx, x, w, out, p) {
    const k = p.cpg * p.kh * p.kw;
    const pix = p.oh * p.ow;
    const cols = ctx.alloc(x.dtype, colsElements(p));
    gatherCols(ctx, x, cols, p);
    const weights = weightRows(ctx, w, p);
    matmul(
      ctx,
      weights.view,
      { storage: cols, dtype: x.dtype, shape: [p.n, k, pix], strides: [k * pix, pix, 1], offset: 0 },
      undefined,
      out,
    );
    ctx.release(cols);
    if (weights.temp) ctx.release(weights.temp);
  },
};
