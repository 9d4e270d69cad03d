// conv2d and convTranspose2d (gather form) on strided NCHW input and OIHW / (Cin, Cout/groups, kh,
// kw) weights read in place, zero padding: a registry of variants, the implicit GEMMs of
// conv-gemm.ts and the direct one-thread-per-output kernels kept as the fallback for any geometry.
import { BackendError } from '../../../tensor/errors.js';
import type { View } from '../../backend.js';
import { type Conv2dParams, type ConvTranspose2dParams, conv2dOutHW, convTranspose2dOutHW } from '../../params.js';
import type { GpuContext } from '../context.js';
import type { GpuDevice } from '../device.js';
import type { WebGpuStorage } from '../storage.js';
import {
  CONV_GEOMETRY_UNIFORMS,
  type ConvGemmProblem,
  type ConvGemmVariant,
  convChannelLanesVariant,
  convGemmVariant,
  convWindowUniforms,
  rowsFitSubgroups,
} from './conv-gemm.js';
import { convTiledVariant } from './conv-tiled.js';
import { convWeightGradVariant, pointwiseWeightGradVariant, weightGradFits } from './conv-weight-grad.js';
import { im2colVariant } from './conv-im2col.js';
import { tileCount, WINOGRAD_TILES, winograd4Variant, winogradVariant } from './conv-winograd.js';
import { depthwiseShuffledVariant, depthwiseVariant } from './conv-depthwise.js';
import { convRunsVariant } from './conv-runs.js';
import { pointwiseVariant } from './conv-pointwise.js';
import { isCpuAdapter, sizeBucket } from '../tuning.js';
import { pickVariant } from './pick-variant.js';
import { kernelSource, storageBinding, threadPerItemEntry, u32Fields, UniformLayout, wgslScalar } from '../wgsl.js';
import { identityEpilogue, storeOut } from '../epilogue.js';

const WORKGROUP_SIZE = 64;

const convLayout = new UniformLayout({
  ...u32Fields('count', 'c', 'h', 'w', 'o', 'oh', 'ow'),
  ...CONV_GEOMETRY_UNIFORMS,
});

/** Statements splitting `idx` into output coordinates (nb, co, y, x) of an [N, O, OH, OW] output. */
const outputCoords = `let ox = idx % p.ow;
var rest = idx / p.ow;
let oy = rest % p.oh;
rest = rest / p.oh;
let co = rest % p.o;
let nb = rest / p.o;`;

function run(
  ctx: GpuContext,
  kernel: string,
  body: string,
  x: View,
  w: View,
  out: WebGpuStorage,
  problem: ConvGemmProblem,
): void {
  // The sizes by name (the layout reads the fields it declares); the window as sh, sw, ph, ...
  const { transposed, stride, padding, dilation, ...sizes } = problem;
  const count = sizes.n * sizes.o * sizes.oh * sizes.ow;
  const t = wgslScalar(x.dtype);
  const source = kernelSource(
    `// ${kernel}: one thread per output element`,
    convLayout.declaration(),
    [
      storageBinding(1, 'out', t, 'read_write'),
      storageBinding(2, 'x', t, 'read'),
      storageBinding(3, 'wt', t, 'read'),
    ].join('\n'),
    identityEpilogue(t),
    threadPerItemEntry(WORKGROUP_SIZE, 'p.count', `${outputCoords}\n${body}`),
  );
  ctx.dispatch({
    kernel,
    source,
    uniform: convLayout.pack({
      ...sizes,
      count,
      ...convWindowUniforms(problem),
      x_off: x.offset,
      w_off: w.offset,
      xst: x.strides,
      wst: w.strides,
    }),
    storage: [ctx.bind(out), ctx.bind(x), ctx.bind(w)],
    workgroups: Math.ceil(count / WORKGROUP_SIZE),
  });
}

/** conv2d: x [N, C, H, W], w [O, C/groups, KH, KW] -> [N, O, OH, OW]. */
function directConv2d(ctx: GpuContext, x: View, w: View, out: WebGpuStorage, problem: ConvGemmProblem): void {
  const t = wgslScalar(x.dtype);
  const body = `let g = co / p.opg;
let x_n = p.x_off + nb * p.xst[0];
let w_o = p.w_off + co * p.wst[0];
var acc = ${t}(0);
for (var ci = 0u; ci < p.cpg; ci++) {
  let x_c = x_n + (g * p.cpg + ci) * p.xst[1];
  let w_c = w_o + ci * p.wst[1];
  for (var ky = 0u; ky < p.kh; ky++) {
    let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
    if (iy < 0 || iy >= i32(p.h)) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
      if (ix < 0 || ix >= i32(p.w)) { continue; }
      acc += x[x_c + u32(iy) * p.xst[2] + u32(ix) * p.xst[3]] * wt[w_c + ky * p.wst[2] + kx * p.wst[3]];
    }
  }
}
${storeOut('idx', 'acc')}`;
  run(ctx, `conv2d:${x.dtype}`, body, x, w, out, problem);
}

/**
 * convTranspose2d in gather form: x [N, Cin, H, W], w [Cin, Cout/groups, KH, KW] -> [N, Cout, OH, OW].
 * Output pixel oy takes kernel tap ky from input row (oy + pad - ky * dilation) / stride when that
 * is a non-negative multiple of the stride inside the input.
 */
function directConvTranspose2d(ctx: GpuContext, x: View, w: View, out: WebGpuStorage, problem: ConvGemmProblem): void {
  const t = wgslScalar(x.dtype);
  const body = `let g = co / p.opg;
let col = co % p.opg;
let x_n = p.x_off + nb * p.xst[0];
var acc = ${t}(0);
for (var ci = 0u; ci < p.cpg; ci++) {
  let c = g * p.cpg + ci;
  let x_c = x_n + c * p.xst[1];
  let w_c = p.w_off + c * p.wst[0] + col * p.wst[1];
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = i32(oy + p.ph) - i32(ky * p.dh);
    if (ty < 0 || ty % i32(p.sh) != 0) { continue; }
    let iy = u32(ty) / p.sh;
    if (iy >= p.h) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let tx = i32(ox + p.pw) - i32(kx * p.dw);
      if (tx < 0 || tx % i32(p.sw) != 0) { continue; }
      let ix = u32(tx) / p.sw;
      if (ix >= p.w) { continue; }
      acc += x[x_c + iy * p.xst[2] + ix * p.xst[3]] * wt[w_c + ky * p.wst[2] + kx * p.wst[3]];
    }
  }
}
${storeOut('idx', 'acc')}`;
  run(ctx, `convTranspose2d:${x.dtype}`, body, x, w, out, problem);
}

// --- variants ---------------------------------------------------------------------------------

/** A convolution variant: the implicit GEMMs, or 'direct' (any geometry). */
export interface ConvVariant {
  readonly name: string;
  readonly supports: (p: ConvGemmProblem, gpu: GpuDevice) => boolean;
}

const gemmVariants: readonly ConvGemmVariant[] = [
  convGemmVariant(8, 4),
  convGemmVariant(4, 4),
  convGemmVariant(16, 4),
  convGemmVariant(8, 8),
  convGemmVariant(16, 8),
  convGemmVariant(8, 16),
  // Weights loaded per subgroup and shuffled to the lanes (needs subgroups; lavapipe: see defaultVariant).
  convGemmVariant(16, 8, true),
  convGemmVariant(8, 8, true),
  convGemmVariant(16, 4, true),
  convGemmVariant(32, 4, true),
  // Kernel rows split across workgroups, for few outputs over a long reduction (weight
  // gradients run as convolutions: conv-split-k.ts). Narrow pixel blocks: there are few pixels.
  // Out of the tuning on CPU adapters (where the plain blocks fill both threads, no faster); the
  // default takes them there when the plain blocks make one or two workgroups (defaultVariant).
  convGemmVariant(8, 2, false, true),
  convGemmVariant(16, 2, true, true),
  // Lanes over the reduction, for stride-1 weight gradients (conv-weight-grad.ts).
  convWeightGradVariant(2),
  convWeightGradVariant(4),
  // The same with the shifted columns handed between lanes (subgroups; lavapipe: see defaultVariant),
  // and with 2 input channels a lane too (each lane's 4 pieces of g then serve both).
  convWeightGradVariant(4, true),
  convWeightGradVariant(8, true),
  convWeightGradVariant(4, true, 2),
  // 1x1 layers' weight gradients with 8 input channels a workgroup too (conv-weight-grad.ts; 8 x 4
  // and 4 x 8 ran 1.2-1.4x slower, 8 x 16 and 16 x 8 spilled: docs/measurements.md).
  pointwiseWeightGradVariant(8, 8),
  // Channels across lanes, for few output pixels: lanes1x4 keeps many workgroups (GPUs), the
  // wider blocks win on lavapipe (see defaultVariant).
  convChannelLanesVariant(1, 4),
  convChannelLanesVariant(2, 8),
  convChannelLanesVariant(4, 8),
  // Winograd F(2x2, 3x3) and F(4x4, 3x3) through the tuned batched matmul, for 3x3 stride-1 layers (conv-winograd.ts).
  winogradVariant,
  winograd4Variant,
  // One channel per group (depthwise layers): lanes along the pixels (conv-depthwise.ts); 3-wide
  // rows from vec4 loads with the neighbours and taps shared by shuffle (subgroups).
  depthwiseVariant,
  depthwiseShuffledVariant,
  // Dense layers with few input channels, weights broadcast per subgroup (conv-runs.ts).
  convRunsVariant(8, 4),
  convRunsVariant(8, 8),
  // 16 output channels a lane on 8-lane subgroups (two broadcast rounds): each input load feeds
  // twice the multiply-adds; 32 and 64 spilled their accumulators and ran slower (docs/measurements.md).
  convRunsVariant(16, 8, 8),
  // 1x1 stride-1 layers as the tuned batched matmul (conv-pointwise.ts).
  pointwiseVariant({ conv: directConv2d, transposed: directConvTranspose2d }),
  // Shared-memory tiles for GPUs (slow on lavapipe); the tuner decides (docs/measurements.md).
  convTiledVariant(4, 4, 16, true),
  convTiledVariant(8, 8, 8, true),
  // Patches gathered once, then the tuned matmul (conv-im2col.ts).
  im2colVariant,
];

/** The variants, in order of preference; 'direct' supports everything. */
export const convVariants: readonly ConvVariant[] = [...gemmVariants, { name: 'direct', supports: () => true }];

/** conv2d's geometry as a gather-form problem. */
export function conv2dProblem(x: View, w: View, p: Conv2dParams): ConvGemmProblem {
  const [n, c, h, wd] = x.shape;
  const [o, cpg, kh, kw] = w.shape;
  const [oh, ow] = conv2dOutHW([h, wd], [kh, kw], p);
  return {
    transposed: false,
    n,
    c,
    h,
    w: wd,
    o,
    oh,
    ow,
    kh,
    kw,
    cpg,
    opg: o / p.groups,
    stride: p.stride,
    padding: p.padding,
    dilation: p.dilation,
  };
}

/** convTranspose2d's geometry as a gather-form problem. */
export function convTranspose2dProblem(x: View, w: View, p: ConvTranspose2dParams): ConvGemmProblem {
  const [n, c, h, wd] = x.shape;
  const [, opg, kh, kw] = w.shape;
  const [oh, ow] = convTranspose2dOutHW([h, wd], [kh, kw], p);
  return {
    transposed: true,
    n,
    c,
    h,
    w: wd,
    o: opg * p.groups,
    oh,
    ow,
    kh,
    kw,
    cpg: c / p.groups,
    opg,
    stride: p.stride,
    padding: p.padding,
    dilation: p.dilation,
  };
}

/**
 * The untuned choice. On CPU adapters: channels across lanes where the output has few pixels and
 * many channels (the deep layers of the face ResNet at small batches, where a pixel-wide block
 * leaves most lanes idle), else the widest register block. Elsewhere a narrower block. The
 * measurements behind both: docs/measurements.md.
 */
function defaultVariant(ctx: GpuContext, p: ConvGemmProblem): string {
  const pixels = p.n * p.oh * p.ow;
  const cpu = isCpuAdapter(ctx.gpu.adapterDescription);
  const fewPixels =
    cpu && !p.transposed && p.o === p.opg
      ? p.o >= 256 && pixels <= 192
        ? ['lanes4x8']
        : p.o >= 128 && pixels <= 128
          ? ['lanes2x8']
          : []
      : [];
  // At most 8 output channels (the tiny UNet's 32-px level): 16-row blocks would compute 8 clamped
  // copies, and 8-row blocks ran 1.3-3x faster in a lavapipe A/B.
  const narrow = p.opg <= 8;
  // The subgroup form pays off once there is a whole subgroup width of input channels to broadcast
  // (the weight-gradient convolution's "channels" are the batch, often fewer).
  const broadcast =
    cpu && ctx.gpu.subgroupSize !== undefined && p.cpg >= ctx.gpu.subgroupSize
      ? [narrow ? 'gemm8x8sg' : 'gemm16x8sg']
      : [];
  // Few outputs over a long reduction (a strided layer's weight gradient, run as a convolution of the
  // batch: the tiny UNet's downsamples have 576 and 2,304 outputs over 5,120-20,480 terms): the
  // pixel blocks make one or two workgroups, one lavapipe thread; splitting the kernel rows fills
  // both, 2.1-2.9x (docs/measurements.md). Stride-1 weight gradients take the wgrad kernels first.
  const splitK =
    cpu && !p.transposed && p.n * p.o * p.oh * p.ow <= 4096 && p.cpg * p.kh * p.kw >= 4096
      ? [ctx.gpu.subgroupSize !== undefined && p.cpg >= ctx.gpu.subgroupSize ? 'gemm16x2sgk' : 'gemm8x2k']
      : [];
  // A stride-1 weight gradient: lanes over the reduction beat every pixel-lane GEMM (2-4x on lavapipe);
  // on CPU adapters 8 output channels a lane with the shifted columns shuffled, 1.1-1.3x over 4
  // loading them, and a 1x1 layer's with 8 input channels a lane too, 1.6-3x over one
  // (docs/measurements.md).
  // On small maps (an 8x8 cotangent: 2 vec4 pieces a row) or a batch of at most 4 (few pieces
  // in all), a 3x3 layer's weight gradient ran 1.2-11x faster as the runs of 4 pixels, and with at
  // most 16 output channels 4 a lane 1.1-1.3x faster than 8 (lavapipe's tuning cache, where the
  // tuner had picked them: docs/measurements.md).
  const weightGradShaped = cpu && p.oh > 1 && weightGradFits(p);
  // Since a subgroup holding whole rows takes its side pieces by shuffle alone (conv-weight-grad.ts),
  // 8 output channels a lane beat 4 there when they fill whole blocks of 8 (the tiny UNet's 8 and
  // 16 channels at 16-32 px: 3-6% a call, docs/measurements.md).
  const wholeBlocksOfRows =
    p.o % 8 === 0 && ctx.gpu.subgroupSize !== undefined && rowsFitSubgroups(ctx.gpu.subgroupSize, p.w / 4);
  const smallWeightGrad = weightGradShaped && (p.kh * p.kw <= 64 || p.cpg <= 4) ? ['runs4x8sg'] : [];
  // From 16 input channels (the problem's batch here), 4 output x 2 input channels a lane: 6 loads
  // for 72 sums where 8 x 1 loads 9; 1.2-1.6x wgrad8sg on the small UNet's layers and 1.1-1.4x on
  // tiny's 16-48-channel ones (docs/measurements.md).
  const pairedChannels = p.n >= 16 ? ['wgrad4c2sg'] : [];
  const weightGrad = cpu
    ? [
        'wgrad1x1o8c8',
        ...pairedChannels,
        ...(weightGradShaped && p.o <= 16 && !wholeBlocksOfRows ? ['wgrad4sg'] : []),
        'wgrad8sg',
        'wgrad4',
      ]
    : ['wgrad4'];
  // 3x3 stride 1 with 128+ channels in and out (the face ResNet's 128- and 256-channel layers, both
  // directions): Winograd's GEMMs are long enough in C and O to beat the direct blocks on lavapipe;
  // with 32-64 channels its transforms and short GEMMs cost as much as they save, and a 1x1 image
  // only uses the centre tap (docs/measurements.md).
  const winograd = cpu && p.cpg >= 128 && p.o >= 128 && p.oh >= 2 && p.ow >= 2 ? ['winograd2x3'] : [];
  // F(4x4, 3x3) from 32 channels in and out once its GEMMs are long enough: 1.2-1.6x over the
  // direct blocks and F(2x2) there. With 64 channels from 128 of its 4x4 tiles; with 32-63 (GEMMs of
  // 32 terms) from 1,024, below which the runs of pixels won (the tiny UNet's 8-px level 1.3-1.6x,
  // the face ResNet's 32-channel layer at batch 8, 648 tiles, 1.05x): docs/measurements.md.
  const wide = p.cpg >= 64 && p.o >= 64;
  const winograd4 =
    cpu && p.cpg >= 32 && p.o >= 32 && tileCount(p, WINOGRAD_TILES.f4) >= (wide ? 128 : 1024) ? ['winograd4x3'] : [];
  // Dense layers under a real, undilated window of at most 7x7 with at most 16 input channels or
  // fewer than 32 output channels (the tiny UNet's 3x3 layers in both directions, its 32-to-16
  // layers after a skip concat, the face ResNet's 7x7/2 stem): runs of pixels with
  // subgroup-broadcast weights ran 1.1-2.3x the GEMM blocks on lavapipe, runs of 8 1.2-1.45x those
  // of 4 where rows are 8 wide or more, and 16 output channels a lane 1.2-1.3x 8 under a 3x3
  // window (not the stem's 7x7: 0.7x), where there are 16 (the UNet's 3-channel output layer: 8 a
  // lane 1.9x 16 and 1.9x the GEMM block at batch 80). Up to 127 channels where F(4x4) has too few
  // tiles (above); from 128 Winograd F(2x2) or the tuner decides (docs/measurements.md).
  const window = p.kh * p.kw > 1 && p.kh <= 7 && p.kw <= 7 && p.dilation.every((d) => d === 1);
  const runs =
    cpu && window && (p.cpg <= 16 || p.o < 32 || (p.cpg < 128 && p.o < 128 && winograd4.length === 0))
      ? [...(p.kw <= 3 && p.ow >= 8 && p.o >= 16 ? ['runs8x16sg8'] : []), p.ow >= 8 ? 'runs8x8sg' : 'runs4x8sg']
      : [];
  const blocks = cpu ? (narrow ? ['gemm8x16', 'gemm8x8'] : ['gemm16x8', 'gemm8x8']) : [];
  // Depthwise layers: nothing for a GEMM block to share (docs/measurements.md).
  const depthwise = cpu ? ['depthwise4sg', 'depthwise'] : [];
  // 1x1 layers of at least 512 pixels an image: the matmul's blocks (docs/measurements.md).
  const pointwise = cpu && p.oh * p.ow >= 512 ? ['pointwise'] : [];
  const order = [
    ...depthwise,
    ...pointwise,
    ...smallWeightGrad,
    ...weightGrad,
    ...splitK,
    ...runs,
    ...winograd4,
    ...winograd,
    ...fewPixels,
    ...broadcast,
    ...blocks,
    ...(cpu ? ['gemm16x4', 'gemm8x4', 'gemm4x4'] : ['gemm8x4', 'gemm4x4']),
  ];
  return order.find((name) => gemmVariants.find((v) => v.name === name)!.supports(p, ctx.gpu)) ?? 'direct';
}

/** The tuning key: direction, log2 buckets of pixels, channels, reduction length and taps, and whether strided. */
function shapeClass(p: ConvGemmProblem): string {
  const sizes = [p.n * p.oh * p.ow, p.o, p.cpg * p.kh * p.kw, p.kh * p.kw].map(sizeBucket).join(',');
  return `${p.transposed ? 'convTranspose2d' : 'conv2d'}|${sizes}|s${p.stride[0] > 1 || p.stride[1] > 1 ? 2 : 1}|g${p.o === p.opg ? 1 : 'n'}`;
}

/** Picks the variant for a problem: tuned when measured, else the default ('direct' where no GEMM variant applies). */
const tunedVariant = (ctx: GpuContext, x: View, w: View, p: ConvGemmProblem): string =>
  pickVariant(ctx, x, w, p, {
    shapeClass: shapeClass(p),
    // Not 'direct': wherever a GEMM variant applies it is several times slower
    // (docs/measurements.md).
    supported: gemmVariants.filter((v) => v.supports(p, ctx.gpu)),
    fallback: defaultVariant(ctx, p),
    outElements: p.n * p.o * p.oh * p.ow,
    flops: 2 * p.n * p.o * p.oh * p.ow * p.cpg * p.kh * p.kw,
  });

/** The GEMM variant called `name` if it supports `problem` (checked when the op is recorded, not when it runs). */
export function checkConvVariant(gpu: GpuDevice, problem: ConvGemmProblem, name: string): ConvGemmVariant {
  const gemm = gemmVariants.find((v) => v.name === name);
  if (!gemm || !gemm.supports(problem, gpu)) {
    const op = problem.transposed ? 'convTranspose2d' : 'conv2d';
    const fits = convVariants.filter((v) => v.supports(problem, gpu)).map((v) => v.name);
    throw new BackendError(
      `webgpu: ${op} variant '${name}' is unknown or does not support this problem; ` +
        `known: ${convVariants.map((v) => v.name).join(', ')} (this one fits: ${fits.join(', ')}).`,
    );
  }
  return gemm;
}

/**
 * A convolution's entry point: runs the variant named (an entry of convVariants), or the tuned one,
 * on the problem of (x, w, p); 'direct' runs the direct kernel.
 */
const convEntry =
  <P>(problemOf: (x: View, w: View, p: P) => ConvGemmProblem, direct: ConvGemmVariant['run']) =>
  (ctx: GpuContext, x: View, w: View, p: P, name?: string, target?: WebGpuStorage): WebGpuStorage => {
    const problem = problemOf(x, w, p);
    const count = problem.n * problem.o * problem.oh * problem.ow;
    const variant = name ?? (count > 0 ? tunedVariant(ctx, x, w, problem) : 'direct');
    const run = variant === 'direct' ? direct : checkConvVariant(ctx.gpu, problem, variant).run;
    const out = target ?? ctx.alloc(x.dtype, count);
    if (count > 0) run(ctx, x, w, out, problem);
    return out;
  };

/** conv2d: x [N, C, H, W], w [O, C/groups, KH, KW] -> [N, O, OH, OW]. */
export const conv2d = convEntry(conv2dProblem, directConv2d);

/** convTranspose2d: x [N, Cin, H, W], w [Cin, Cout/groups, KH, KW] -> [N, Cout, OH, OW]. */
export const convTranspose2d = convEntry(convTranspose2dProblem, directConvTranspose2d);
