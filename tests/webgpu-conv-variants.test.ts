// Specification of the WebGPU convolution variants: every entry of `convVariants` agrees with the
// CPU reference for conv2d and convTranspose2d on generated geometries and strided views, including
// the weight-gradient shape autodiff produces (a huge kernel over a few channels). Which variant the
// untuned default picks: webgpu-conv-defaults.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend, View } from '../src/kernels/backend.js';
import { convOutSize, convTransposeOutSize, type Conv2dParams } from '../src/kernels/params.js';
import { convVariants, type WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { conv2dProblem, convTranspose2dProblem } from '../src/kernels/webgpu/kernels/conv.js';
import { sharesRows, spansWholeRows } from '../src/kernels/webgpu/kernels/conv-runs.js';
import { useRawBackends } from './support/backends.js';
import { convComparison, fakeView, randomValues, ROUNDING_PER_TERM, view } from './support/conv-compare.js';

let gpu: WebGpuBackend;
let cpu: Backend;
const { results, compare } = convComparison(() => [gpu, cpu]);

useRawBackends((g, c) => {
  gpu = g;
  cpu = c;
});

const RUNS = { numRuns: 25 };

/** The general geometry's fields; the special-purpose variants' geometries replace some of them. */
const GEOMETRY_FIELDS = {
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 2 }),
  // Some past one and two subgroup widths (8 on lavapipe): the sg variants' broadcast loop and its tail.
  cpg: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(8, 13, 17)),
  opg: fc.constantFrom(1, 3, 4, 8, 16, 17),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 3, 1]),
  wOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [2, 3, 1, 0]),
};

const geometry = fc.record(GEOMETRY_FIELDS);

/**
 * The weight-gradient convolutions the `wgrad` variants take (stride 1, the filter as wide as the
 * image, at most 3 output rows and columns), in the same record shape as `geometry`.
 */
const weightGradGeometry = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.constant(1),
    cpg: fc.integer({ min: 1, max: 9 }),
    opg: fc.constantFrom(1, 3, 4, 5, 9),
    h: fc.integer({ min: 1, max: 9 }),
    // Rows of 1-16 vec4 pieces: within one 8-lane subgroup, across two, and not dividing it (the
    // shuffled variants' neighbour lanes and their loads at subgroup edges).
    w: fc.constantFrom(4, 8, 12, 20, 32, 64),
    padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
    outRows: fc.integer({ min: 1, max: 3 }),
    xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 3, 1]),
    wOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [2, 3, 1, 0]),
  })
  .map(({ outRows, ...g }) => ({
    ...g,
    kh: Math.max(1, g.h + 2 * g.padding[0] - outRows + 1),
    kw: g.w,
    stride: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
  }));

/**
 * The weight gradients of 1x1 layers (the filter the whole image, one output tap), which the
 * `wgrad1x1` variants take: input channels (the batch here) and output channels from one to past
 * two blocks of 8, ragged.
 */
const pointwiseWeightGradGeometry = fc
  .record({
    n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(8, 9, 17)),
    groups: fc.constant(1),
    cpg: fc.integer({ min: 1, max: 5 }),
    opg: fc.constantFrom(1, 3, 8, 9, 17),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.constantFrom(4, 8, 12, 20),
    xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 3, 1]),
    wOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [2, 3, 1, 0]),
  })
  .map((g) => ({
    ...g,
    kh: g.h,
    kw: g.w,
    padding: [0, 0] as [number, number],
    stride: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
  }));

/** The 3x3 stride-1 convolutions the Winograd variant takes (ungrouped, undilated), in the same record shape as `geometry`. */
const winogradGeometry = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.constant(1),
    cpg: fc.integer({ min: 1, max: 40 }),
    opg: fc.integer({ min: 1, max: 40 }),
    h: fc.integer({ min: 1, max: 13 }),
    w: fc.integer({ min: 1, max: 13 }),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 3, 1]),
    wOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [2, 3, 1, 0]),
  })
  .map((g) => ({
    ...g,
    kh: 3,
    kw: 3,
    stride: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
  }));

/**
 * Depthwise convolutions (one channel per group): planes from one pixel to several workgroups of
 * runs, kernels up to 5x5, strides up to 3 both ways, padding up to 3.
 */
const DEPTHWISE_FIELDS = {
  ...GEOMETRY_FIELDS,
  groups: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(16, 33)),
  cpg: fc.constant(1),
  opg: fc.constant(1),
  h: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 40 })),
};
const depthwiseGeometry = fc.record({
  ...DEPTHWISE_FIELDS,
  w: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 40 })),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 5 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
});

/**
 * The problems the shuffled depthwise variant takes: 3 columns wide, one column of padding, unit
 * column stride and dilation, rows of any width (one piece of 4 to several subgroups' worth);
 * anything down the rows (kernel height 1-5, row stride, dilation and padding); planes whose piece
 * count is and is not a multiple of the subgroup (padding lanes), one to several workgroups.
 */
const depthwiseShuffledGeometry = fc.record({
  ...DEPTHWISE_FIELDS,
  // Rows a multiple of 4 (one vec4 load a lane) or not (4 loads, a short last piece).
  w: fc.oneof(
    fc.integer({ min: 1, max: 14 }).map((q) => 4 * q),
    fc.integer({ min: 1, max: 40 }),
  ),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.constant(3),
  stride: fc.integer({ min: 1, max: 3 }).map((s): [number, number] => [s, 1]),
  padding: fc.integer({ min: 0, max: 3 }).map((p): [number, number] => [p, 1]),
  dilation: fc.integer({ min: 1, max: 2 }).map((d): [number, number] => [d, 1]),
});

/** 1x1 stride-1 unpadded ungrouped convolutions (the pointwise variant's problems), in the same record shape as `geometry`. */
const pointwiseGeometry = fc.record({
  ...GEOMETRY_FIELDS,
  groups: fc.constant(1),
  cpg: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
  opg: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
  h: fc.integer({ min: 1, max: 13 }),
  w: fc.integer({ min: 1, max: 13 }),
  kh: fc.constant(1),
  kw: fc.constant(1),
  stride: fc.constant([1, 1] as [number, number]),
  padding: fc.constant([0, 0] as [number, number]),
  // H and W swapped in storage too: pixels that do not merge into one stride (the fallback).
  xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 3, 1], [0, 1, 3, 2]),
});

/**
 * Dense convolutions the `runs` variants take (ungrouped, at least 8 output channels): rows from
 * one run to several (widths not a multiple of 4), kernels up to 7 wide, strides and dilations
 * (stride 1 undilated often: the transposed direction takes only those), up to 3 blocks of 8
 * output channels with a ragged last one, and 33 (three blocks of 16, the last ragged).
 */
const runsGeometry = fc.record({
  ...GEOMETRY_FIELDS,
  groups: fc.constant(1),
  cpg: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(8, 13)),
  opg: fc.constantFrom(1, 3, 8, 9, 16, 21, 33),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 23 })),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.constantFrom(1, 2, 3, 7),
  stride: fc.constantFrom<[number, number]>([1, 1], [1, 1], [2, 2], [3, 1], [1, 2]),
  padding: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
  dilation: fc.constantFrom<[number, number]>([1, 1], [1, 1], [2, 1], [1, 2]),
});

/** The generated geometries a variant is tested on, by name prefix: the special-purpose variants get the problems they take. */
const GEOMETRY_BY_PREFIX = [
  ['wgrad1x1', pointwiseWeightGradGeometry],
  ['wgrad', weightGradGeometry],
  ['winograd', winogradGeometry],
  ['depthwise4sg', depthwiseShuffledGeometry],
  ['depthwise', depthwiseGeometry],
  ['pointwise', pointwiseGeometry],
  ['runs', runsGeometry],
] as const;
const geometryFor = (name: string) => GEOMETRY_BY_PREFIX.find(([prefix]) => name.startsWith(prefix))?.[1] ?? geometry;

const paramsOf = (g: {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}): Conv2dParams => ({
  stride: g.stride,
  padding: g.padding,
  dilation: g.dilation,
  groups: g.groups,
});

describe('convolution variants', () => {
  for (const variant of convVariants) {
    it(`conv2d variant '${variant.name}' matches the CPU on generated geometries and strided views`, async () => {
      await fc.assert(
        fc.asyncProperty(geometryFor(variant.name), async (g) => {
          fc.pre(convOutSize(g.h, g.kh, g.stride[0], g.padding[0], g.dilation[0]) > 0);
          fc.pre(convOutSize(g.w, g.kw, g.stride[1], g.padding[1], g.dilation[1]) > 0);
          const p = paramsOf(g);
          const shapes = {
            x: [g.n, g.cpg * g.groups, g.h, g.w],
            w: [g.opg * g.groups, g.cpg, g.kh, g.kw],
            xOrder: g.xOrder,
            wOrder: g.wOrder,
          };
          const problem = {
            transposed: false,
            n: g.n,
            c: g.cpg * g.groups,
            h: g.h,
            w: g.w,
            o: g.opg * g.groups,
            kh: g.kh,
            kw: g.kw,
            cpg: g.cpg,
            opg: g.opg,
            oh: convOutSize(g.h, g.kh, g.stride[0], g.padding[0], g.dilation[0]),
            ow: convOutSize(g.w, g.kw, g.stride[1], g.padding[1], g.dilation[1]),
            stride: g.stride,
            padding: g.padding,
            dilation: g.dilation,
          };
          fc.pre(variant.supports(problem, gpu.ctx.gpu));
          await compare(
            shapes,
            (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, variant.name) : b.conv2d(x, w, p)),
            JSON.stringify(g),
            ROUNDING_PER_TERM[variant.name],
          );
        }),
        RUNS,
      );
    });

    // The channel-lane variants are conv2d only; asking them for a transposed convolution is an error (tested below).
    const transposable =
      variant.name.startsWith('winograd') ||
      variant.name.startsWith('runs') ||
      variant.name === 'pointwise' ||
      variant.supports({ transposed: true, o: 4, opg: 4 } as never, { subgroupSize: 8 } as never);
    if (!transposable) continue;
    it(`convTranspose2d variant '${variant.name}' matches the CPU on generated geometries and strided views`, async () => {
      await fc.assert(
        fc.asyncProperty(geometryFor(variant.name), async (g) => {
          const outputPadding = [0, 1].map((i) => (g.h + g.w) % Math.max(g.stride[i], g.dilation[i])) as [
            number,
            number,
          ];
          fc.pre(convTransposeOutSize(g.h, g.kh, g.stride[0], g.padding[0], g.dilation[0], outputPadding[0]) > 0);
          fc.pre(convTransposeOutSize(g.w, g.kw, g.stride[1], g.padding[1], g.dilation[1], outputPadding[1]) > 0);
          const p = { ...paramsOf(g), outputPadding };
          const shapes = {
            x: [g.n, g.cpg * g.groups, g.h, g.w],
            w: [g.cpg * g.groups, g.opg, g.kh, g.kw],
            xOrder: g.xOrder,
            wOrder: g.wOrder,
          };
          const problem = convTranspose2dProblem(fakeView(shapes.x), fakeView(shapes.w), p);
          fc.pre(variant.supports(problem, gpu.ctx.gpu));
          await compare(
            shapes,
            (b, x, w) => (b === gpu ? gpu.convTranspose2d(x, w, p, variant.name) : b.convTranspose2d(x, w, p)),
            JSON.stringify(g),
            ROUNDING_PER_TERM[variant.name],
          );
        }),
        RUNS,
      );
    });
  }

  it('subgroup variants declare themselves unsupported on a device without a fixed subgroup size', () => {
    const sg = convVariants.filter((v) => v.name.includes('sg'));
    expect(sg.length).toBeGreaterThan(0);
    for (const v of sg) {
      expect(
        v.supports({ transposed: false, o: 16, opg: 16 } as never, { ...gpu.ctx.gpu, subgroupSize: undefined }),
      ).toBe(false);
      expect(v.supports({ transposed: false, o: 16, opg: 16 } as never, { ...gpu.ctx.gpu, subgroupSize: 48 })).toBe(
        false,
      ); // does not divide 64 lanes
    }
  });

  it('one compiled runs kernel serves every padding, row stride and row dilation of a window, matching the CPU', async () => {
    // lavapipe compiles a runs kernel in about a second; these are uniforms (the kernel height,
    // width, column stride and column dilation are constants).
    const geometries: Conv2dParams[] = [
      { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
      { stride: [2, 1], padding: [0, 1], dilation: [1, 1], groups: 1 },
      { stride: [3, 1], padding: [2, 1], dilation: [2, 1], groups: 1 },
    ];
    const pixels = (p: Conv2dParams) => convOutSize(13, 3, p.stride[1], p.padding[1], p.dilation[1]);
    expect(new Set(geometries.map(pixels)).size).toBe(1); // the same output width: only the rows differ
    const run = (p: Conv2dParams) =>
      compare(
        { x: [2, 4, 11, 13], w: [8, 4, 3, 3] },
        (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, 'runs8x8sg') : b.conv2d(x, w, p)),
        JSON.stringify(p),
      );
    await run(geometries[0]);
    const before = gpu.ctx.pipelines.size;
    for (const p of geometries) await run(p);
    expect(gpu.ctx.pipelines.size).toBe(before);
  });

  it('refuses a variant that does not support the problem, naming the known ones', () => {
    const x = view(gpu, [1, 2, 4, 4], [0, 1, 2, 3], 1);
    const w = view(gpu, [2, 3, 3, 3], [0, 1, 2, 3], 2);
    const p = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, outputPadding: [0, 0] } as const;
    expect(() => gpu.convTranspose2d(x, w, p as never, 'lanes1x4')).toThrow(
      /convTranspose2d variant 'lanes1x4' is unknown or does not support this problem; known: .*gemm8x4.*this one fits: gemm8x4/,
    );
    [x.storage, w.storage].forEach((s) => gpu.release(s));
  });

  it('every variant computes the weight-gradient convolution (kernel the size of the image, dilation = stride)', async () => {
    // As autodiff's convWeightGrad runs it: x^T [C, N, H, W] with g^T [O, N, Ho, Wo] as the filter.
    // [2, 4, 32]: a long reduction over few outputs, which the wgrad variants split across workgroups;
    // [1, 50, 8]: 800 row pieces in 3 splits, whose bounds (267 each) fall mid-row unless rounded to rows.
    for (const [c, n, hw, s] of [
      [8, 2, 12, 1],
      [6, 3, 11, 2],
      [2, 4, 32, 1],
      [1, 50, 8, 1],
    ]) {
      const ho = Math.floor((hw + 2 - 3) / s) + 1;
      const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [s, s], groups: 1 };
      const problem = conv2dProblem(fakeView([c, n, hw, hw]), fakeView([c + 1, n, ho, ho]), p);
      for (const variant of convVariants.filter((v) => v.supports(problem, gpu.ctx.gpu))) {
        await compare(
          { x: [c, n, hw, hw], w: [c + 1, n, ho, ho], xOrder: [1, 0, 2, 3], wOrder: [1, 0, 2, 3] },
          (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, variant.name) : b.conv2d(x, w, p)),
          `${variant.name} c=${c} n=${n} hw=${hw} s=${s}`,
          ROUNDING_PER_TERM[variant.name],
        );
      }
    }
  });

  it('every variant matches the CPU on a UNet-sized 3x3 layer with ragged channel and pixel blocks', async () => {
    for (const s of [1, 2]) {
      const p: Conv2dParams = { stride: [s, s], padding: [1, 1], dilation: [1, 1], groups: 1 };
      const problem = conv2dProblem(fakeView([2, 20, 17, 13]), fakeView([36, 20, 3, 3]), p);
      for (const variant of convVariants.filter(
        (v) => !v.name.startsWith('wgrad') && v.supports(problem, gpu.ctx.gpu),
      )) {
        await compare(
          { x: [2, 20, 17, 13], w: [36, 20, 3, 3] },
          (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, variant.name) : b.conv2d(x, w, p)),
          `${variant.name} s=${s}`,
          ROUNDING_PER_TERM[variant.name],
        );
        // Many channels, few pixels (the channel-lane variants' case): 300 channels span several lane blocks, ragged.
        await compare(
          { x: [1, 8, 5, 5], w: [300, 8, 3, 3] },
          (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, variant.name) : b.conv2d(x, w, p)),
          `${variant.name} s=${s} o=300`,
          ROUNDING_PER_TERM[variant.name],
        );
      }
    }
  });

  it('the runs variants hand row pieces to neighbouring lanes where whole rows fit a subgroup (3 wide, stride 1, pad 1), both directions', async () => {
    // Widths whose runs divide the 8-lane subgroup (the shared loads) and 24 (3 runs of 8: not),
    // heights and batches that leave lanes past the end, 3-33 output channels (ragged blocks), x
    // contiguous or channels-outermost (still 4-aligned rows): each equals the CPU exactly.
    const runLength = (name: string) => Number(/^runs(\d+)x/.exec(name)![1]);
    const variants = convVariants.filter((v) => v.name.startsWith('runs'));
    expect(variants.map((v) => v.name)).toEqual(['runs4x8sg', 'runs8x8sg', 'runs8x16sg8']);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          variant: fc.constantFrom(...variants),
          n: fc.integer({ min: 1, max: 3 }),
          c: fc.integer({ min: 1, max: 6 }),
          o: fc.constantFrom(3, 8, 9, 16, 21, 33),
          h: fc.integer({ min: 1, max: 9 }),
          pieces: fc.constantFrom(1, 2, 4, 8, 6),
          xOrder: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3]),
          transposed: fc.boolean(),
        }),
        async ({ variant, n, c, o, h, pieces, xOrder, transposed }) => {
          const run = runLength(variant.name);
          const w = pieces === 6 ? 24 : (run * pieces) / (run === 8 ? 1 : 2);
          const p = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
          const shapes = { x: [n, c, h, w], w: transposed ? [c, o, 3, 3] : [o, c, 3, 3], xOrder };
          const problem = transposed
            ? convTranspose2dProblem(fakeView(shapes.x), fakeView(shapes.w), { ...p, outputPadding: [0, 0] })
            : conv2dProblem(fakeView(shapes.x), fakeView(shapes.w), p);
          fc.pre(variant.supports(problem, gpu.ctx.gpu));
          const xView = view(gpu, shapes.x, xOrder, 1);
          const wholeRows = (w / run) % 1 === 0 && 8 % (w / run) === 0;
          expect(sharesRows(problem, xView, run, gpu.ctx.gpu.subgroupSize!), `w=${w}`).toBe(wholeRows);
          gpu.release(xView.storage);
          await compare(
            shapes,
            (b, xv, wv) =>
              b === gpu
                ? transposed
                  ? gpu.convTranspose2d(xv, wv, { ...p, outputPadding: [0, 0] }, variant.name)
                  : gpu.conv2d(xv, wv, p, variant.name)
                : transposed
                  ? b.convTranspose2d(xv, wv, { ...p, outputPadding: [0, 0] })
                  : b.conv2d(xv, wv, p),
            `${variant.name} ${transposed ? 'transposed ' : ''}${JSON.stringify({ n, c, o, h, w, xOrder })}`,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('the runs variants load whole input and kernel rows as vec4s where one run covers an output row (a small map weight gradient)', async () => {
    // As autodiff's convWeightGrad asks: x^T [C, N, H, W] with g^T [O, N, H, W] as the filter, padding 1,
    // 3x3 outputs; rows of 4-16 pixels (whole-row vec4 loads) and of 10 (not a multiple of 4: scalar loads).
    const variants = convVariants.filter((v) => v.name.startsWith('runs'));
    for (const [c, n, hw, o] of [
      [3, 2, 8, 9],
      [5, 3, 4, 16],
      [2, 2, 12, 8],
      [4, 2, 16, 3],
      [3, 2, 10, 8],
    ]) {
      const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
      const shapes = { x: [c, n, hw, hw], w: [o, n, hw, hw], xOrder: [1, 0, 2, 3], wOrder: [1, 0, 2, 3] };
      const problem = conv2dProblem(fakeView(shapes.x), fakeView(shapes.w), p);
      for (const variant of variants.filter((v) => v.supports(problem, gpu.ctx.gpu))) {
        const run = Number(/^runs(\d+)x/.exec(variant.name)![1]);
        const [xv, wv] = [view(gpu, shapes.x, shapes.xOrder, 1), view(gpu, shapes.w, shapes.wOrder, 2)];
        expect(spansWholeRows(problem, xv, wv, run), `${variant.name} hw=${hw}`).toBe(hw % 4 === 0);
        [xv.storage, wv.storage].forEach((st) => gpu.release(st));
        await compare(
          shapes,
          (b, xs, ws) => (b === gpu ? gpu.conv2d(xs, ws, p, variant.name) : b.conv2d(xs, ws, p)),
          `${variant.name} c=${c} n=${n} hw=${hw} o=${o}`,
        );
      }
    }
  });

  it('depthwise declines kernel rows past 32 taps (each row is unrolled); the default then still matches the CPU', async () => {
    const p = { stride: [1, 1], padding: [0, 16], dilation: [1, 1], groups: 2 } as const;
    const problem = conv2dProblem(fakeView([1, 2, 3, 40]), fakeView([2, 1, 1, 33]), p);
    expect(convVariants.find((v) => v.name === 'depthwise')!.supports(problem, gpu.ctx.gpu)).toBe(false);
    await compare(
      { x: [1, 2, 3, 40], w: [2, 1, 1, 33] },
      (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p) : b.conv2d(x, w, p)),
      'a 1x33 depthwise kernel',
    );
  });

  it('depthwise covers ragged runs, planes of several workgroups and the landmark net layers', async () => {
    const cases = [
      { x: [1, 70, 7, 7], k: 3, stride: 2, padding: 1 }, // 4 x 4 outputs: one run a row, many channels
      { x: [2, 5, 12, 12], k: 3, stride: 1, padding: 1 }, // 36 runs: a part-filled workgroup
      { x: [1, 3, 37, 41], k: 3, stride: 1, padding: 1 }, // 37 x 11 runs, the last 1 pixel wide: 7 workgroups
      { x: [2, 4, 57, 57], k: 3, stride: 2, padding: 0 }, // the landmark net's stride-2 layers
      { x: [1, 2, 56, 56], k: 3, stride: 1, padding: 1 }, // and its stride-1 layers
    ];
    for (const c of cases) {
      const p = {
        stride: [c.stride, c.stride],
        padding: [c.padding, c.padding],
        dilation: [1, 1],
        groups: c.x[1],
      } as const;
      await compare(
        { x: c.x, w: [c.x[1], 1, c.k, c.k] },
        (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, 'depthwise') : b.conv2d(x, w, p)),
        JSON.stringify(c),
      );
    }
  });

  it('pointwise runs merged pixels as a matmul, and W-major views through its fallback', async () => {
    const p = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
    for (const xOrder of [
      [0, 1, 2, 3],
      [0, 2, 3, 1],
      [0, 1, 3, 2], // H and W swapped in storage: the pixels do not merge into one stride
    ])
      await compare(
        { x: [2, 40, 9, 11], w: [24, 40, 1, 1], xOrder },
        (b, x, w) => (b === gpu ? gpu.conv2d(x, w, p, 'pointwise') : b.conv2d(x, w, p)),
        `x order ${xOrder}`,
      );
  });

  // Their transforms round where the direct sum does not; the error grows with the reduction (9 C
  // terms), and F(4x4)'s larger transform coefficients make its error a few times F(2x2)'s.
  for (const [name, perTerm] of [
    ['winograd2x3', 1e-6],
    ['winograd4x3', ROUNDING_PER_TERM.winograd4x3],
  ] as const) {
    it(`${name} matches the CPU within float32 rounding on real values, both directions`, async () => {
      await fc.assert(
        fc.asyncProperty(winogradGeometry, fc.boolean(), async (g, transposed) => {
          const p = { ...paramsOf(g), outputPadding: [0, 0] as [number, number] };
          const shapes = {
            x: [g.n, g.cpg, g.h, g.w],
            w: transposed ? [g.cpg, g.opg, 3, 3] : [g.opg, g.cpg, 3, 3],
            xOrder: g.xOrder,
            wOrder: g.wOrder,
          };
          const problem = (transposed ? convTranspose2dProblem : conv2dProblem)(
            fakeView(shapes.x),
            fakeView(shapes.w),
            p,
          );
          fc.pre(problem.oh > 0 && problem.ow > 0);
          const [onGpu, onCpu] = await results(
            shapes,
            (b, x, w) => {
              if (b === gpu) return transposed ? gpu.convTranspose2d(x, w, p, name) : gpu.conv2d(x, w, p, name);
              return transposed ? b.convTranspose2d(x, w, p) : b.conv2d(x, w, p);
            },
            randomValues,
          );
          const tolerance = perTerm * 9 * g.cpg;
          const worst = onGpu.reduce((m, v, i) => Math.max(m, Math.abs(v - onCpu[i])), 0);
          expect(onGpu.length).toBe(onCpu.length);
          expect(worst, JSON.stringify({ ...g, transposed })).toBeLessThanOrEqual(tolerance);
        }),
        RUNS,
      );
    });
  }

  it.each(['winograd2x3', 'winograd4x3'])(
    '%s keeps the transformed weights of a weight used again, bit for bit, and frees them with it',
    async (name) => {
      const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
      const read = async (b: Backend, y: ReturnType<Backend['conv2d']>) =>
        (await b.read({ storage: y, dtype: 'float32', shape: [y.size], strides: [1], offset: 0 })) as Float32Array;
      const run = (b: Backend, x: View, w: View, transposed: boolean) =>
        b === gpu
          ? transposed
            ? gpu.convTranspose2d(x, w, { ...p, outputPadding: [0, 0] }, name)
            : gpu.conv2d(x, w, p, name)
          : transposed
            ? b.convTranspose2d(x, w, { ...p, outputPadding: [0, 0] })
            : b.conv2d(x, w, p);
      const before = gpu.ctx.derivedCount;
      // Two weights in a row, the second likely in the first's pooled buffer: nothing stale may survive.
      for (const seed of [2, 3]) {
        const wGpu = view(gpu, [6, 6, 3, 3], [1, 0, 2, 3], seed);
        const wCpu = view(cpu, [6, 6, 3, 3], [1, 0, 2, 3], seed);
        for (const transposed of [false, true]) {
          const outs: Float32Array[] = [];
          for (const xSeed of [5, 6, 5]) {
            const [xGpu, xCpu] = [
              view(gpu, [2, 6, 9, 7], [0, 1, 2, 3], xSeed),
              view(cpu, [2, 6, 9, 7], [0, 1, 2, 3], xSeed),
            ];
            const [yGpu, yCpu] = [run(gpu, xGpu, wGpu, transposed), run(cpu, xCpu, wCpu, transposed)];
            const [g, c] = [await read(gpu, yGpu), await read(cpu, yCpu)];
            const worst = g.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
            expect(worst).toBeLessThanOrEqual((ROUNDING_PER_TERM[name] ?? 0) * 9 * 6); // F(2x2): exact
            outs.push(g);
            for (const s of [xGpu.storage, yGpu]) gpu.release(s);
            for (const s of [xCpu.storage, yCpu]) cpu.release(s);
          }
          expect(outs[2]).toEqual(outs[0]); // a kept transform computes what a fresh one did
        }
        // One kept transform per direction (the second and third call of each reuse it).
        expect(gpu.ctx.derivedCount).toBe(before + 2);
        gpu.release(wGpu.storage);
        cpu.release(wCpu.storage);
        expect(gpu.ctx.derivedCount).toBe(before);
      }
    },
  );

  it.each([
    ['runs4x8sg', 4],
    ['runs8x8sg', 8],
  ])(
    '%s takes dense convolutions whose row span fits (fewer output channels than a block too), transposed only at stride 1',
    (name, run) => {
      const runs = convVariants.find((v) => v.name === name)!;
      const base: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
      const conv = (x: number[], w: number[], p: Partial<Conv2dParams>) =>
        runs.supports(conv2dProblem(fakeView(x), fakeView(w), { ...base, ...p }), gpu.ctx.gpu);
      const transposed = (x: number[], w: number[], p: Partial<Conv2dParams>) =>
        runs.supports(
          convTranspose2dProblem(fakeView(x), fakeView(w), { ...base, outputPadding: [0, 0], ...p }),
          gpu.ctx.gpu,
        );
      const sg8 = gpu.ctx.gpu.subgroupSize === 8;
      expect(conv([2, 3, 40, 40], [8, 3, 7, 7], { stride: [2, 2] })).toBe(sg8);
      // A lane's span of run - 1 + kw inputs: 32 fits, 33 is past the unrolled span.
      expect(conv([2, 3, 40, 40], [8, 3, 1, 33 - run], {})).toBe(sg8);
      expect(conv([2, 3, 40, 40], [8, 3, 1, 34 - run], {})).toBe(false);
      expect(conv([2, 3, 40, 40], [8, 3, 1, (32 - run) / 2 + 1], { dilation: [1, 2] })).toBe(sg8); // run + 2 (kw - 1)
      expect(conv([2, 3, 40, 40], [3, 3, 3, 3], {})).toBe(sg8); // fewer output channels than a block (the UNet's RGB output)
      expect(conv([2, 4, 40, 40], [8, 2, 3, 3], { groups: 2 })).toBe(false);
      expect(transposed([2, 8, 9, 9], [8, 8, 3, 3], { padding: [1, 1] })).toBe(sg8);
      expect(transposed([2, 8, 9, 9], [8, 8, 3, 3], { stride: [2, 2] })).toBe(false);
      expect(transposed([2, 8, 9, 9], [8, 8, 3, 3], { dilation: [2, 2] })).toBe(false);
    },
  );

  it.each(['winograd2x3', 'winograd4x3'])(
    '%s supports only 3x3, stride-1, undilated, ungrouped convolutions',
    (name) => {
      const winograd = convVariants.find((v) => v.name === name)!;
      const base: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
      const supports = (x: number[], w: number[], p: Partial<Conv2dParams>) =>
        winograd.supports(conv2dProblem(fakeView(x), fakeView(w), { ...base, ...p }), gpu.ctx.gpu);
      expect(supports([2, 8, 9, 9], [16, 8, 3, 3], {})).toBe(true);
      expect(supports([2, 8, 9, 9], [16, 8, 3, 3], { padding: [0, 2] })).toBe(true);
      expect(supports([2, 8, 9, 9], [16, 8, 3, 3], { stride: [2, 2] })).toBe(false);
      expect(supports([2, 8, 9, 9], [16, 8, 3, 3], { stride: [1, 2] })).toBe(false);
      expect(supports([2, 8, 9, 9], [16, 8, 3, 3], { dilation: [2, 2] })).toBe(false);
      expect(supports([2, 8, 9, 9], [16, 4, 3, 3], { groups: 2 })).toBe(false);
      expect(supports([2, 8, 9, 9], [16, 8, 5, 5], { padding: [2, 2] })).toBe(false);
      expect(supports([2, 8, 9, 9], [16, 8, 1, 3], { padding: [0, 1] })).toBe(false);
    },
  );
});
