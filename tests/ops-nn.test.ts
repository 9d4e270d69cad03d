// Acceptance: linear algebra and nn ops (matmul, convolutions, pooling, upsampling, softmax,
// normalisation, take/gather) on WebGPU match the CPU reference over generated geometries, and
// hand-computed values anchor the CPU reference itself.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { expectClose, expectEqual, runOnBoth, useBackends, type HostTensor } from './support/backends.js';
import {
  axisArb,
  floatArb,
  hostArb,
  intArb,
  nonEmptyShapeArb,
  runs,
  shapeArb,
  sizeOf,
  valuesArb,
} from './support/arbitraries.js';

useBackends();

/**
 * Multiples of 1/8 in [-2, 2]: products are multiples of 1/64 and sums of a few thousand of them
 * stay exact in float32, so matmul and convolutions can be compared bit for bit in any order.
 */
const grid = fc.integer({ min: -16, max: 16 }).map((i) => i / 8);

const host = (shape: readonly number[], values: fc.Arbitrary<number> = grid): fc.Arbitrary<HostTensor> =>
  hostArb(shape, values);

const expectCloseToList = (actual: ArrayLike<number>, want: readonly number[], digits = 5): void => {
  expect(actual.length).toBe(want.length);
  want.forEach((w, i) => expect(actual[i], `element ${i}`).toBeCloseTo(w, digits));
};

// --- matmul -------------------------------------------------------------------------------------

/** A matrix dim in 1..70, biased toward 1 and small odd sizes. */
const matDim = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 70 }));

describe('matmul', () => {
  it('matmul of random [M, K] @ [K, N] (1..70) matches the CPU exactly on grid values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(matDim, matDim, matDim).chain(([m, k, n]) => fc.tuple(host([m, k]), host([k, n]))),
        async ([a, b]) => {
          const r = await runOnBoth([a, b], T.matmul);
          expect(r.shape).toEqual([a.shape[0], b.shape[1]]);
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('matmul of arbitrary float32 values matches the CPU within f32 accumulation error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(matDim, matDim, matDim)
          .chain(([m, k, n]) => fc.tuple(host([m, k], floatArb(-1, 1)), host([k, n], floatArb(-1, 1)))),
        async ([a, b]) => {
          const r = await runOnBoth([a, b], T.matmul);
          // K <= 70 products of |x| <= 1: error well under 70 * eps.
          expectClose(r, { rtol: 1e-5, atol: 1e-5 });
        },
      ),
      runs(15),
    );
  });

  it('matmul broadcasts batch dims and handles 1-D operands like NumPy', async () => {
    const batchDim = fc.constantFrom(1, 2, 3);
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            m: fc.integer({ min: 1, max: 9 }),
            k: fc.integer({ min: 1, max: 9 }),
            n: fc.integer({ min: 1, max: 9 }),
            batchA: fc.array(batchDim, { maxLength: 2 }),
            batchB: fc.array(batchDim, { maxLength: 2 }),
            aVector: fc.boolean(),
            bVector: fc.boolean(),
          })
          .chain(({ m, k, n, batchA, batchB, aVector, bVector }) => {
            // Make the batch dims broadcast-compatible: where both have a dim, one of them is 1 or they match.
            const bb = batchB.map((d, i) => {
              const j = batchA.length - batchB.length + i;
              return j >= 0 && batchA[j] !== d && batchA[j] !== 1 ? 1 : d;
            });
            const sa = aVector ? [k] : [...batchA, m, k];
            const sb = bVector ? [k] : [...bb, k, n];
            return fc.tuple(host(sa), host(sb));
          }),
        async ([a, b]) => {
          const r = await runOnBoth([a, b], T.matmul);
          const batch = (s: readonly number[]) => (s.length > 2 ? s.slice(0, -2) : []);
          const ba = batch(a.shape);
          const bb = batch(b.shape);
          const rank = Math.max(ba.length, bb.length);
          const outBatch = Array.from({ length: rank }, (_, i) => {
            const x = ba[i - (rank - ba.length)] ?? 1;
            const y = bb[i - (rank - bb.length)] ?? 1;
            return Math.max(x, y);
          });
          const m = a.shape.length === 1 ? [] : [a.shape[a.shape.length - 2]];
          const n = b.shape.length === 1 ? [] : [b.shape[b.shape.length - 1]];
          expect(r.shape).toEqual([...outBatch, ...m, ...n]);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('matmul reads transposed operands in place and matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(matDim, matDim, matDim, fc.boolean(), fc.boolean())
          .chain(([m, k, n, ta, tb]) =>
            fc.tuple(host(ta ? [k, m] : [m, k]), host(tb ? [n, k] : [k, n]), fc.constant(ta), fc.constant(tb)),
          ),
        async ([a, b, ta, tb]) => {
          const r = await runOnBoth([a, b], (x, y) => T.matmul(ta ? T.transpose(x) : x, tb ? T.transpose(y) : y));
          expectEqual(r);
        },
      ),
      runs(20),
    );
  });

  it('matmul of int32 operands gives float32 and matches the CPU', async () => {
    const a = { values: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: 'int32' as const };
    const b = { values: [1, 0, -1, 2, 0, 1], shape: [3, 2], dtype: 'int32' as const };
    const r = await runOnBoth([a, b], T.matmul);
    expect(r.dtype).toBe('float32');
    expect(Array.from(r.gpu)).toEqual([-1, 7, -1, 16]);
    expectEqual(r);
  });

  it('matmul agrees with hand-computed products, including K = 0', async () => {
    const r = await runOnBoth(
      [
        { values: [1, 2, 3, 4], shape: [2, 2] },
        { values: [5, 6, 7, 8], shape: [2, 2] },
      ],
      T.matmul,
    );
    expect(Array.from(r.gpu)).toEqual([19, 22, 43, 50]);
    expectEqual(r);
    const dot = await runOnBoth(
      [
        { values: [1, 2, 3], shape: [3] },
        { values: [4, 5, 6], shape: [3] },
      ],
      T.matmul,
    );
    expect(dot.shape).toEqual([]);
    expect(Array.from(dot.gpu)).toEqual([32]);
    const empty = await runOnBoth(
      [
        { values: [], shape: [2, 0] },
        { values: [], shape: [0, 3] },
      ],
      T.matmul,
    );
    expect(Array.from(empty.gpu)).toEqual([0, 0, 0, 0, 0, 0]);
    expectEqual(empty);
  });
});

// --- convolutions -------------------------------------------------------------------------------

interface ConvCase {
  readonly x: HostTensor;
  readonly w: HostTensor;
  readonly bias: HostTensor | undefined;
  readonly options: T.Conv2dOptions;
}

const convCaseArb: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cinPerGroup: fc.integer({ min: 1, max: 2 }),
    coutPerGroup: fc.integer({ min: 1, max: 2 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.oneof(
      fc.constant('same' as const),
      fc.constant('valid' as const),
      fc.integer({ min: 0, max: 2 }),
      fc.tuple(fc.nat(2), fc.nat(2)),
    ),
    extraH: fc.nat(5),
    extraW: fc.nat(5),
    withBias: fc.boolean(),
  })
  .chain((g) => {
    const stride = g.padding === 'same' ? ([1, 1] as const) : g.stride;
    const pad =
      g.padding === 'same' || g.padding === 'valid'
        ? [0, 0]
        : typeof g.padding === 'number'
          ? [g.padding, g.padding]
          : g.padding;
    // Smallest input the dilated kernel fits in (output >= 1).
    const h = Math.max(1, g.dilation[0] * (g.kh - 1) + 1 - 2 * pad[0]) + g.extraH;
    const w = Math.max(1, g.dilation[1] * (g.kw - 1) + 1 - 2 * pad[1]) + g.extraW;
    const cin = g.cinPerGroup * g.groups;
    const cout = g.coutPerGroup * g.groups;
    return fc.record({
      x: host([g.n, cin, h, w]),
      w: host([cout, g.cinPerGroup, g.kh, g.kw]),
      bias: g.withBias ? host([cout]) : fc.constant(undefined),
      options: fc.constant({
        stride: [stride[0], stride[1]] as [number, number],
        dilation: g.dilation,
        padding: g.padding,
        groups: g.groups,
      }),
    });
  });

interface ConvTCase {
  readonly x: HostTensor;
  readonly w: HostTensor;
  readonly options: T.ConvTranspose2dOptions;
}

const convTransposeCaseArb: fc.Arbitrary<ConvTCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cinPerGroup: fc.integer({ min: 1, max: 2 }),
    coutPerGroup: fc.integer({ min: 1, max: 2 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.nat(2), fc.nat(2)),
    outputPadding: fc.tuple(fc.nat(1), fc.nat(1)),
  })
  .chain((g) => {
    const outSize = (i: number, k: number, s: number, p: number, d: number, op: number) =>
      (i - 1) * s - 2 * p + d * (k - 1) + op + 1;
    // outputPadding must be below max(stride, dilation); padding must leave an output >= 1.
    const op = g.outputPadding.map((o, i) => (o < Math.max(g.stride[i], g.dilation[i]) ? o : 0)) as [number, number];
    const padding = [0, 1].map((i) => {
      let p = g.padding[i];
      const [inp, k] = i === 0 ? [g.h, g.kh] : [g.w, g.kw];
      while (p > 0 && outSize(inp, k, g.stride[i], p, g.dilation[i], op[i]) < 1) p--;
      return p;
    }) as [number, number];
    const cin = g.cinPerGroup * g.groups;
    return fc.record({
      x: host([g.n, cin, g.h, g.w]),
      w: host([cin, g.coutPerGroup, g.kh, g.kw]),
      options: fc.constant({ stride: g.stride, dilation: g.dilation, padding, outputPadding: op, groups: g.groups }),
    });
  });

describe('conv2d and convTranspose2d', () => {
  it('conv2d over random N, C, H, W, kernel, stride, padding, dilation and groups matches the CPU exactly', async () => {
    await fc.assert(
      fc.asyncProperty(convCaseArb, async ({ x, w, bias, options }) => {
        const inputs = bias ? [x, w, bias] : [x, w];
        const r = await runOnBoth(inputs, (xt, wt, bt) => T.conv2d(xt, wt, { ...options, bias: bt }));
        if (options.padding === 'same') expect(r.shape.slice(2)).toEqual(x.shape.slice(2));
        expect(r.shape.slice(0, 2)).toEqual([x.shape[0], w.shape[0]]);
        expectEqual(r);
      }),
      runs(40),
    );
  });

  it('conv2d agrees with a hand-computed cross-correlation (padding 1, stride 2) and bias', async () => {
    const x = { values: [1, 2, 3, 4, 5, 6, 7, 8, 9], shape: [1, 1, 3, 3] };
    const w = { values: [1, 0, 0, -1], shape: [1, 1, 2, 2] };
    const valid = await runOnBoth([x, w], (a, b) => T.conv2d(a, b));
    expect(valid.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(valid.gpu)).toEqual([-4, -4, -4, -4]);
    expectEqual(valid);
    // Windows start at (-1, -1), (-1, 1), (1, -1), (1, 1); out-of-bounds taps read 0.
    const strided = await runOnBoth([x, w], (a, b) => T.conv2d(a, b, { padding: 1, stride: 2 }));
    expect(Array.from(strided.gpu)).toEqual([-1, -3, -7, -4]);
    expectEqual(strided);
    const biased = await runOnBoth([x, w, { values: [10], shape: [1] }], (a, b, c) => T.conv2d(a, b, { bias: c }));
    expect(Array.from(biased.gpu)).toEqual([6, 6, 6, 6]);
    // Two groups on two channels: each output channel sees only its own input channel.
    const x2 = { values: [...x.values, ...x.values.map((v) => -v)], shape: [1, 2, 3, 3] };
    const w2 = { values: [1, 1, 1, 1, 0, 0, 0, 2], shape: [2, 1, 2, 2] };
    const grouped = await runOnBoth([x2, w2], (a, b) => T.conv2d(a, b, { groups: 2 }));
    expect(Array.from(grouped.gpu)).toEqual([12, 16, 24, 28, -10, -12, -16, -18]);
    expectEqual(grouped);
    // Dilation 2 with a 2x2 kernel on 3x3 reads the four corners.
    const dilated = await runOnBoth([x, { values: [1, 1, 1, 1], shape: [1, 1, 2, 2] }], (a, b) =>
      T.conv2d(a, b, { dilation: 2 }),
    );
    expect(Array.from(dilated.gpu)).toEqual([20]);
  });

  it("conv2d with padding 'same' and an even kernel pads the extra row and column at the end, as PyTorch", async () => {
    const x = { values: [1, 2, 3, 4, 5, 6, 7, 8, 9], shape: [1, 1, 3, 3] };
    const w = { values: [1, 1, 1, 1], shape: [1, 1, 2, 2] };
    const r = await runOnBoth([x, w], (a, b) => T.conv2d(a, b, { padding: 'same' }));
    expect(r.shape).toEqual([1, 1, 3, 3]);
    expect(Array.from(r.gpu)).toEqual([12, 16, 9, 24, 28, 15, 15, 17, 9]);
    expectEqual(r);
  });

  it('convTranspose2d over random geometries (outputPadding, dilation, groups) matches the CPU exactly', async () => {
    await fc.assert(
      fc.asyncProperty(convTransposeCaseArb, async ({ x, w, options }) => {
        const r = await runOnBoth([x, w], (xt, wt) => T.convTranspose2d(xt, wt, options));
        expect(r.shape[1]).toBe(w.shape[1] * (options.groups ?? 1));
        expectEqual(r);
      }),
      runs(40),
    );
  });

  it('convTranspose2d agrees with hand-computed results (stride 1 overlap-add, stride 2 blocks, outputPadding)', async () => {
    const x = { values: [1, 2, 3, 4], shape: [1, 1, 2, 2] };
    const w = { values: [1, 1, 1, 1], shape: [1, 1, 2, 2] };
    const s1 = await runOnBoth([x, w], (a, b) => T.convTranspose2d(a, b));
    expect(s1.shape).toEqual([1, 1, 3, 3]);
    expect(Array.from(s1.gpu)).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
    expectEqual(s1);
    const s2 = await runOnBoth([x, w], (a, b) => T.convTranspose2d(a, b, { stride: 2, outputPadding: 1 }));
    expect(s2.shape).toEqual([1, 1, 5, 5]);
    expect(Array.from(s2.gpu)).toEqual([1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 3, 4, 4, 0, 3, 3, 4, 4, 0, 0, 0, 0, 0, 0]);
    expectEqual(s2);
    const bias = await runOnBoth([x, w, { values: [0.5], shape: [1] }], (a, b, c) =>
      T.convTranspose2d(a, b, { padding: 1, bias: c }),
    );
    expect(Array.from(bias.gpu)).toEqual([10.5]);
  });
});

// --- pooling and upsampling ----------------------------------------------------------------------

const poolCaseArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.option(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), { nil: undefined }),
    padding: fc.tuple(fc.nat(1), fc.nat(1)),
    extraH: fc.nat(6),
    extraW: fc.nat(6),
  })
  .chain((g) => {
    // Padding may be at most half the kernel.
    const padding = [Math.min(g.padding[0], g.kernel[0] >> 1), Math.min(g.padding[1], g.kernel[1] >> 1)] as [
      number,
      number,
    ];
    const h = Math.max(1, g.kernel[0] - 2 * padding[0]) + g.extraH;
    const w = Math.max(1, g.kernel[1] - 2 * padding[1]) + g.extraW;
    return fc.record({
      x: host([g.n, g.c, h, w], floatArb(-4, 4)),
      options: fc.constant({ kernel: g.kernel, stride: g.stride, padding } as T.Pool2dOptions),
    });
  });

describe('pooling and upsampling', () => {
  it('avgPool2d over random kernels, strides and padding matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(poolCaseArb, async ({ x, options }) => {
        const r = await runOnBoth([x], (t) => T.avgPool2d(t, options));
        // Weights 1 / (kh * kw) are not exact in binary, and the GPU sums in another order.
        expectClose(r, { rtol: 1e-5, atol: 1e-6 });
      }),
      runs(30),
    );
  });

  it('maxPool2d over random kernels, strides and padding matches the CPU exactly', async () => {
    await fc.assert(
      fc.asyncProperty(poolCaseArb, async ({ x, options }) => {
        const r = await runOnBoth([x], (t) => T.maxPool2d(t, options));
        expectEqual(r);
        // Padding never wins: every output is one of the inputs.
        const inputs = new Set(Array.from(x.values, (v) => Math.fround(v)));
        for (const v of r.gpu) expect(inputs.has(v)).toBe(true);
      }),
      runs(30),
    );
  });

  it('avgPool2d and maxPool2d agree with hand-computed values (padding counts as 0 in the mean)', async () => {
    const x = { values: Array.from({ length: 16 }, (_, i) => i + 1), shape: [1, 1, 4, 4] };
    const avg = await runOnBoth([x], (t) => T.avgPool2d(t, { kernel: 2 }));
    expect(Array.from(avg.gpu)).toEqual([3.5, 5.5, 11.5, 13.5]);
    const mx = await runOnBoth([x], (t) => T.maxPool2d(t, { kernel: 2 }));
    expect(Array.from(mx.gpu)).toEqual([6, 8, 14, 16]);
    const small = { values: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => -v), shape: [1, 1, 3, 3] };
    const padded = await runOnBoth([small], (t) => T.maxPool2d(t, { kernel: 2, stride: 2, padding: 1 }));
    expect(Array.from(padded.gpu)).toEqual([-1, -2, -4, -5]);
    expectEqual(padded);
    const avgPadded = await runOnBoth([small], (t) => T.avgPool2d(t, { kernel: 2, stride: 2, padding: 1 }));
    expectCloseToList(avgPadded.gpu, [-0.25, -1.25, -2.75, -7]);
  });

  it('upsampleNearest2d by random integer factors matches the CPU and repeats pixels', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 4, maxRank: 4 }).chain((s) =>
          fc.tuple(
            host(s),
            fc.oneof(
              fc.integer({ min: 1, max: 3 }),
              fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
            ),
          ),
        ),
        async ([x, scale]) => {
          const r = await runOnBoth([x], (t) => T.upsampleNearest2d(t, { scale }));
          const [sh, sw] = typeof scale === 'number' ? [scale, scale] : scale;
          expect(r.shape).toEqual([x.shape[0], x.shape[1], x.shape[2] * sh, x.shape[3] * sw]);
          expectEqual(r);
        },
      ),
      runs(20),
    );
    const hand = await runOnBoth([{ values: [1, 2, 3, 4], shape: [1, 1, 2, 2] }], (t) =>
      T.upsampleNearest2d(t, { scale: 2 }),
    );
    expect(Array.from(hand.gpu)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});

// --- softmax and normalisation -------------------------------------------------------------------

describe('softmax and normalisation', () => {
  for (const op of ['softmax', 'logSoftmax'] as const) {
    it(`${op} along a random axis matches the CPU`, async () => {
      await fc.assert(
        fc.asyncProperty(
          nonEmptyShapeArb({ minRank: 1 }).chain((s) =>
            fc.tuple(host(s, floatArb(-30, 30)), fc.option(axisArb(s.length), { nil: undefined })),
          ),
          async ([x, axis]) => {
            const r = await runOnBoth([x], (t) => T[op](t, { axis }));
            expectClose(r, { rtol: 1e-5, atol: 1e-6 });
          },
        ),
        runs(30),
      );
    });
  }

  it('softmax agrees with hand-computed values, also for large logits', async () => {
    const x = { values: [0, Math.log(3), 1000, 1000], shape: [2, 2] };
    const s = await runOnBoth([x], (t) => T.softmax(t));
    expectCloseToList(s.gpu, [0.25, 0.75, 0.5, 0.5], 6);
    expectClose(s, { rtol: 1e-6, atol: 1e-7 });
  });

  it('logSoftmax agrees with hand-computed values to float32 accuracy, also for large logits', async () => {
    // log(softmax) of [1000, 1000] is log(0.5) exactly; computed as (x - max) - log(sum(exp(x - max)))
    // it is -0.6931472 in float32. Computing x - logSumExp(x) instead rounds logSumExp = 1000.693 to
    // float32 first (ulp 6e-5) and loses four digits: the test checks both backends.
    const x = { values: [0, Math.log(3), 1000, 1000, -1000, -1000 + Math.log(3)], shape: [3, 2] };
    const l = await runOnBoth([x], (t) => T.logSoftmax(t, { axis: 1 }));
    // The exact answer for the float32-rounded inputs (-1000 + log 3 is not a float32, and its
    // rounding error of 1.5e-5 is larger than the tolerance), in float64.
    const f = x.values.map(Math.fround);
    const want = f.map((v, i) => {
      const row = f.slice(i - (i % 2), i - (i % 2) + 2);
      const m = Math.max(...row);
      return v - m - Math.log(row.reduce((s, r) => s + Math.exp(r - m), 0));
    });
    expect(want[2]).toBeCloseTo(Math.log(0.5), 12);
    expectCloseToList(l.cpu, want, 6);
    expectCloseToList(l.gpu, want, 6);
  });

  /**
   * The float32 error a normalisation may show: (x - mean) * rsqrt(var + eps) turns a rounding of
   * the mean (a few ulp of max|x|) into an output error amplified by rsqrt(var + eps), which is
   * up to 316x for near-constant groups; both backends round in a different order, so the bound
   * follows the worst group's conditioning instead of a fixed number.
   */
  const normTolerance = (values: ArrayLike<number>, groupSize: number, weight?: ArrayLike<number>): number => {
    let worst = 0;
    for (let g = 0; g + groupSize <= values.length; g += groupSize) {
      const group = Array.from({ length: groupSize }, (_, i) => values[g + i]);
      const mu = group.reduce((a, v) => a + v, 0) / groupSize;
      const v = group.reduce((a, x) => a + (x - mu) ** 2, 0) / groupSize;
      worst = Math.max(worst, Math.max(...group.map(Math.abs)) / Math.sqrt(v + 1e-5));
    }
    const wMax = weight ? Math.max(...Array.from(weight, Math.abs)) : 1;
    return 1e-5 + 16 * 2 ** -24 * groupSize * worst * wMax;
  };

  it('layerNorm over 1..rank trailing dims, with and without weight and bias, matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 1 })
          .chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 1, max: s.length }), fc.boolean(), fc.boolean()))
          .chain(([s, k, withWeight, withBias]) =>
            fc.tuple(
              host(s, floatArb(-4, 4)),
              fc.constant(k),
              withWeight ? host(s.slice(s.length - k), floatArb(0.5, 2)) : fc.constant(undefined),
              withBias ? host(s.slice(s.length - k), floatArb(-1, 1)) : fc.constant(undefined),
            ),
          ),
        async ([x, k, weight, bias]) => {
          const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
          const r = await runOnBoth(inputs, (t, ...rest) => {
            const wt = weight ? rest[0] : undefined;
            const bt = bias ? rest[weight ? 1 : 0] : undefined;
            return T.layerNorm(t, { normalizedDims: k, weight: wt, bias: bt });
          });
          const groupSize = x.shape.slice(x.shape.length - k).reduce((a, d) => a * d, 1);
          expectClose(r, { rtol: 1e-4, atol: normTolerance(x.values, groupSize, weight?.values) });
        },
      ),
      runs(30),
    );
  });

  it('groupNorm with random groups, spatial dims, weight and bias matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            n: fc.integer({ min: 1, max: 3 }),
            groups: fc.integer({ min: 1, max: 3 }),
            perGroup: fc.integer({ min: 1, max: 3 }),
            spatial: shapeArb({ maxRank: 2, allowZero: false }),
            withAffine: fc.boolean(),
          })
          .chain(({ n, groups, perGroup, spatial, withAffine }) => {
            const c = groups * perGroup;
            return fc.tuple(
              host([n, c, ...spatial], floatArb(-4, 4)),
              fc.constant(groups),
              withAffine ? fc.tuple(host([c], floatArb(0.5, 2)), host([c], floatArb(-1, 1))) : fc.constant(undefined),
            );
          }),
        async ([x, groups, affine]) => {
          const inputs = affine ? [x, affine[0], affine[1]] : [x];
          const r = await runOnBoth(inputs, (t, w, b) => T.groupNorm(t, { groups, weight: w, bias: b }));
          expect(r.shape).toEqual(x.shape);
          const groupSize = (x.shape[1] / groups) * x.shape.slice(2).reduce((a, d) => a * d, 1);
          expectClose(r, { rtol: 1e-4, atol: normTolerance(x.values, groupSize, affine?.[0].values) });
        },
      ),
      runs(30),
    );
  });

  it('layerNorm and groupNorm agree with hand-computed values', async () => {
    const ln = await runOnBoth([{ values: [1, 2, 3], shape: [1, 3] }], (t) => T.layerNorm(t));
    const s = Math.sqrt(2 / 3 + 1e-5);
    expectCloseToList(ln.gpu, [-1 / s, 0, 1 / s]);
    const x = { values: [1, 3, 5, 7], shape: [1, 2, 2] };
    const gn = await runOnBoth([x, { values: [1, 2], shape: [2] }, { values: [0, 1], shape: [2] }], (t, w, b) =>
      T.groupNorm(t, { groups: 1, weight: w, bias: b }),
    );
    const z = (v: number) => (v - 4) / Math.sqrt(5 + 1e-5);
    expectCloseToList(gn.gpu, [z(1), z(3), 2 * z(5) + 1, 2 * z(7) + 1]);
    expectClose(gn, { rtol: 1e-5, atol: 1e-6 });
  });
});

// --- take and gather ---------------------------------------------------------------------------

describe('take and gather', () => {
  it('take along a random axis (or flattened) with negative and out-of-range indices matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 1, maxRank: 3 })
          .chain((s) =>
            fc.tuple(fc.constant(s), fc.option(axisArb(s.length), { nil: undefined }), shapeArb({ maxRank: 2 })),
          )
          .chain(([s, axis, idxShape]) => {
            const n = axis === undefined ? sizeOf(s) : s[axis < 0 ? axis + s.length : axis];
            return fc.tuple(
              host(s, floatArb(-4, 4)),
              hostArb(idxShape, intArb(-n - 3, n + 3), 'int32'),
              fc.constant(axis),
            );
          }),
        async ([x, idx, axis]) => {
          const r = await runOnBoth([x, idx], (t, i) => T.take(t, i, { axis }));
          const a = axis === undefined ? 0 : axis < 0 ? axis + x.shape.length : axis;
          const src = axis === undefined ? [sizeOf(x.shape)] : x.shape;
          expect(r.shape).toEqual([...src.slice(0, a), ...idx.shape, ...src.slice(a + 1)]);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('gather along a random axis with negative and out-of-range indices matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 1, maxRank: 3 })
          .chain((s) =>
            fc.tuple(
              fc.constant(s),
              axisArb(s.length),
              fc.tuple(...s.map((d) => fc.integer({ min: 1, max: d }))),
              fc.integer({ min: 0, max: 4 }),
            ),
          )
          .chain(([s, axis, dims, alongAxis]) => {
            const a = axis < 0 ? axis + s.length : axis;
            const idxShape = dims.map((d, i) => (i === a ? alongAxis : d));
            return fc.tuple(
              host(s, floatArb(-4, 4)),
              hostArb(idxShape, intArb(-s[a] - 2, s[a] + 2), 'int32'),
              fc.constant(axis),
            );
          }),
        async ([x, idx, axis]) => {
          const r = await runOnBoth([x, idx], (t, i) => T.gather(t, i, { axis }));
          expect(r.shape).toEqual(idx.shape);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('take and gather wrap negative indices once and clamp the rest, on hand cases', async () => {
    const x = { values: [10, 20, 30], shape: [3] };
    const idx = { values: [-1, 5, -10, 0, 1], shape: [5], dtype: 'int32' as const };
    const r = await runOnBoth([x, idx], (t, i) => T.take(t, i));
    expect(Array.from(r.gpu)).toEqual([30, 30, 10, 10, 20]);
    expectEqual(r);
    const m = { values: [1, 2, 3, 4, 5, 6], shape: [2, 3] };
    const rows = await runOnBoth([m, { values: [1, -2], shape: [2], dtype: 'int32' }], (t, i) =>
      T.take(t, i, { axis: 0 }),
    );
    expect(Array.from(rows.gpu)).toEqual([4, 5, 6, 1, 2, 3]);
    // torch.gather(m, 1, [[2, 0], [-1, 7]]) with wrap/clamp: [[3, 1], [6, 6]].
    const g = await runOnBoth([m, { values: [2, 0, -1, 7], shape: [2, 2], dtype: 'int32' }], (t, i) =>
      T.gather(t, i, { axis: 1 }),
    );
    expect(Array.from(g.gpu)).toEqual([3, 1, 6, 6]);
    expectEqual(g);
  });

  it('take of int32 and bool tensors keeps their dtype and matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom('int32' as const, 'bool' as const)
          .chain((dtype) =>
            nonEmptyShapeArb({ minRank: 1, maxRank: 2 }).chain((s) =>
              fc.tuple(
                hostArb(s, dtype === 'bool' ? fc.constantFrom(0, 1) : intArb(-1000, 1000), dtype),
                valuesArb(intArb(-5, 5), 4),
              ),
            ),
          ),
        async ([x, indices]) => {
          const r = await runOnBoth([x, { values: indices, shape: [2, 2], dtype: 'int32' }], (t, i) =>
            T.take(t, i, { axis: -1 }),
          );
          expect(r.dtype).toBe(x.dtype);
          expectEqual(r);
        },
      ),
      runs(15),
    );
  });
});
