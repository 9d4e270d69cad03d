// Acceptance: reductions on WebGPU match the CPU reference over generated shapes and axis subsets
// (negative axes, keepdims, size-0 and 0-d inputs, long rows), with hand cases anchoring the CPU.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose, expectEqual, runOnBoth, useBackends, type HostTensor } from './support/backends.js';
import { axisArb, axisSubsetArb, nonEmptyShapeArb, shapeArb, sizeOf, type Shape } from './support/arbitraries.js';
import { distinctValuesArb, floatArb, hostArb, intArb, runs, valuesArb } from './support/arbitraries.js';

useBackends();

type Reduce = (x: Tensor, options?: T.ReduceOptions) => Tensor;

/** Multiples of 1/64 in [-2, 2]: sums of up to 7^4 of them are exact in float32 in any order. */
const gridValues = fc.integer({ min: -128, max: 128 }).map((i) => i / 64);

/** The shape a reduction over `axes` (normalised) gives. */
const reducedShape = (shape: readonly number[], axes: readonly number[] | undefined, keepdims: boolean): Shape => {
  const set = new Set((axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)));
  return keepdims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
};

/** A shape, values, an axis option (undefined = all, a number, or a list) and keepdims. */
const reductionCase = (shape: fc.Arbitrary<Shape>, values: fc.Arbitrary<number>) =>
  shape.chain((s) =>
    fc.record({
      x: hostArb(s, values),
      axis: fc.oneof(
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 4, arbitrary: axisSubsetArb(s.length) },
        { weight: 1, arbitrary: s.length > 0 ? axisArb(s.length) : fc.constant(undefined) },
      ),
      keepdims: fc.boolean(),
    }),
  );

const axesOf = (axis: number | number[] | undefined): number[] | undefined =>
  typeof axis === 'number' ? [axis] : axis;

describe('sum, prod, max, min, mean, variance and logSumExp', () => {
  it('sum of grid values over random axis subsets is exact on WebGPU', async () => {
    await fc.assert(
      fc.asyncProperty(reductionCase(shapeArb(), gridValues), async ({ x, axis, keepdims }) => {
        const r = await runOnBoth([x], (t) => T.sum(t, { axis, keepdims }));
        expect(r.shape).toEqual(reducedShape(x.shape, axesOf(axis), keepdims));
        expectEqual(r);
      }),
      runs(40),
    );
  });

  it('sum of arbitrary float32 values matches the CPU within f32 accumulation error', async () => {
    await fc.assert(
      fc.asyncProperty(reductionCase(shapeArb(), floatArb(-2, 2)), async ({ x, axis, keepdims }) => {
        const r = await runOnBoth([x], (t) => T.sum(t, { axis, keepdims }));
        // At most 7^4 terms of |x| <= 2: a few hundred ulp of the magnitude sum at worst.
        expectClose(r, { rtol: 1e-5, atol: 1e-4 });
      }),
      runs(25),
    );
  });

  it('sum of int32 and bool inputs is exact and int32', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('int32' as const, 'bool' as const).chain((dtype) =>
          reductionCase(shapeArb(), dtype === 'bool' ? fc.constantFrom(0, 1) : intArb(-1000, 1000)).map((c) => ({
            ...c,
            x: { ...c.x, dtype },
          })),
        ),
        async ({ x, axis, keepdims }) => {
          const r = await runOnBoth([x], (t) => T.sum(t, { axis, keepdims }));
          expect(r.dtype).toBe('int32');
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('prod matches the CPU with values near 1 (no overflow) over random axis subsets', async () => {
    await fc.assert(
      fc.asyncProperty(reductionCase(shapeArb({ maxRank: 3 }), floatArb(0.8, 1.25)), async ({ x, axis, keepdims }) => {
        const r = await runOnBoth([x], (t) => T.prod(t, { axis, keepdims }));
        expect(r.shape).toEqual(reducedShape(x.shape, axesOf(axis), keepdims));
        // Up to 343 factors, each rounding by 0.5 ulp in f32 on the GPU.
        expectClose(r, { rtol: 1e-4, atol: 0 });
      }),
      runs(25),
    );
  });

  for (const op of ['max', 'min'] as const) {
    it(`${op} over random axis subsets is exact on WebGPU`, async () => {
      const f = T[op] as Reduce;
      await fc.assert(
        fc.asyncProperty(reductionCase(nonEmptyShapeArb(), floatArb(-4, 4)), async ({ x, axis, keepdims }) => {
          const r = await runOnBoth([x], (t) => f(t, { axis, keepdims }));
          expect(r.shape).toEqual(reducedShape(x.shape, axesOf(axis), keepdims));
          expectEqual(r);
        }),
        runs(30),
      );
    });

    it(`${op} of int32 values is exact and int32`, async () => {
      const f = T[op] as Reduce;
      await fc.assert(
        fc.asyncProperty(
          reductionCase(nonEmptyShapeArb(), intArb(-2147483648, 2147483647)).map((c) => ({
            ...c,
            x: { ...c.x, dtype: 'int32' as const },
          })),
          async ({ x, axis, keepdims }) => {
            const r = await runOnBoth([x], (t) => f(t, { axis, keepdims }));
            expect(r.dtype).toBe('int32');
            expectEqual(r);
          },
        ),
        runs(15),
      );
    });
  }

  it('max and min over a size-1 or kept size-0 axis behave like the CPU', async () => {
    const empty = { values: [], shape: [0, 3] };
    const r = await runOnBoth([empty], (t) => T.max(t, { axis: 1 }));
    expect(r.shape).toEqual([0]);
    expectEqual(r);
    const one = { values: [5, -1, 2], shape: [3, 1] };
    const m = await runOnBoth([one], (t) => T.min(t, { axis: -1, keepdims: true }));
    expect(Array.from(m.gpu)).toEqual([5, -1, 2]);
    expectEqual(m);
  });

  it('mean matches the CPU over random axis subsets, including int32 inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        reductionCase(nonEmptyShapeArb(), floatArb(-4, 4)),
        fc.boolean(),
        async ({ x, axis, keepdims }, asInt) => {
          const input: HostTensor = asInt
            ? { ...x, values: Array.from(x.values, (v) => Math.round(v)), dtype: 'int32' }
            : x;
          const r = await runOnBoth([input], (t) => T.mean(t, { axis, keepdims }));
          expect(r.dtype).toBe('float32');
          expectClose(r, { rtol: 1e-5, atol: 1e-5 });
        },
      ),
      runs(30),
    );
  });

  it('variance (population and ddof 1) matches the CPU over random axis subsets', async () => {
    await fc.assert(
      fc.asyncProperty(
        reductionCase(nonEmptyShapeArb(), floatArb(-4, 4)),
        fc.constantFrom(0, 1),
        async ({ x, axis, keepdims }, ddof) => {
          const r = await runOnBoth([x], (t) => T.variance(t, { axis, keepdims, ddof }));
          // Two passes (mean, then squared deviations), each with f32 accumulation; ddof 1 over a
          // single element divides by 0 and gives NaN on both.
          expectClose(r, { rtol: 1e-4, atol: 1e-5 });
        },
      ),
      runs(30),
    );
  });

  it('logSumExp matches the CPU over random axis subsets, including large values', async () => {
    await fc.assert(
      fc.asyncProperty(reductionCase(nonEmptyShapeArb(), floatArb(-50, 50)), async ({ x, axis, keepdims }) => {
        const r = await runOnBoth([x], (t) => T.logSumExp(t, { axis, keepdims }));
        expect(r.shape).toEqual(reducedShape(x.shape, axesOf(axis), keepdims));
        expectClose(r, { rtol: 1e-5, atol: 1e-5 });
      }),
      runs(30),
    );
  });

  it('reductions over a transposed, sliced view match the CPU (strided reads)', async () => {
    await fc.assert(
      fc.asyncProperty(
        reductionCase(nonEmptyShapeArb({ minRank: 2, maxRank: 4 }), gridValues),
        fc.constantFrom('sum', 'max', 'min') as fc.Arbitrary<'sum' | 'max' | 'min'>,
        async ({ x, axis, keepdims }, op) => {
          const r = await runOnBoth([x], (t) => {
            // Reverse the axes, then keep every other element of the (new) first axis.
            const view = T.slice(T.transpose(t), [0], [undefined], [2]);
            return (T[op] as Reduce)(view, { axis, keepdims });
          });
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('reductions agree with hand-computed values', async () => {
    const x = { values: [1, 2, 3, 4, 5, 6], shape: [2, 3] };
    const s = await runOnBoth([x], (t) => T.sum(t, { axis: -1 }));
    expect(Array.from(s.gpu)).toEqual([6, 15]);
    expectEqual(s);
    const p = await runOnBoth([x], (t) => T.prod(t, { axis: 0, keepdims: true }));
    expect(p.shape).toEqual([1, 3]);
    expect(Array.from(p.gpu)).toEqual([4, 10, 18]);
    const m = await runOnBoth([x], (t) => T.mean(t));
    expect(m.shape).toEqual([]);
    expect(Array.from(m.gpu)).toEqual([3.5]);
    const v = await runOnBoth([x], (t) => T.variance(t, { axis: 1 }));
    expectClose(v, { rtol: 1e-6, atol: 0 });
    [2 / 3, 2 / 3].forEach((want, i) => expect(v.gpu[i]).toBeCloseTo(want, 6));
    const l = await runOnBoth([{ values: [0, Math.log(3)], shape: [2] }], (t) => T.logSumExp(t));
    expect(l.gpu[0]).toBeCloseTo(Math.log(4), 6);
  });
});

describe('size-0 and 0-d reductions', () => {
  it('logSumExp over an empty axis is -Infinity (log of an empty sum), with keepdims; other axes reduce as usual', async () => {
    const all = await runOnBoth([{ values: [], shape: [0] }], (t) => T.logSumExp(t));
    expect(all.shape).toEqual([]);
    expect(Array.from(all.gpu)).toEqual([-Infinity]);
    expectEqual(all);
    const rows = await runOnBoth([{ values: [], shape: [3, 0] }], (t) => T.logSumExp(t, { axis: 1, keepdims: true }));
    expect(rows.shape).toEqual([3, 1]);
    expect(Array.from(rows.gpu)).toEqual([-Infinity, -Infinity, -Infinity]);
    const none = await runOnBoth([{ values: [], shape: [3, 0] }], (t) => T.logSumExp(t, { axis: 0 }));
    expect(none.shape).toEqual([0]);
  });
  it('sum of an empty tensor is 0 and prod is 1, on any axes', async () => {
    for (const shape of [[0], [3, 0], [0, 4, 2]]) {
      const x = { values: [], shape };
      const all = await runOnBoth([x], (t) => T.sum(t));
      expect(all.shape).toEqual([]);
      expect(Array.from(all.gpu)).toEqual([0]);
      expectEqual(all);
      const p = await runOnBoth([x], (t) => T.prod(t, { axis: -1 }));
      expect(p.shape).toEqual(shape.slice(0, -1));
      expect(Array.from(p.gpu)).toEqual(new Array(sizeOf(shape.slice(0, -1))).fill(1));
      expectEqual(p);
    }
    const rows = await runOnBoth([{ values: [], shape: [3, 0] }], (t) => T.sum(t, { axis: 1, keepdims: true }));
    expect(rows.shape).toEqual([3, 1]);
    expect(Array.from(rows.gpu)).toEqual([0, 0, 0]);
  });

  it('mean of an empty tensor is NaN on both backends', async () => {
    const r = await runOnBoth([{ values: [], shape: [2, 0] }], (t) => T.mean(t, { axis: 1 }));
    expect(r.shape).toEqual([2]);
    expect(Array.from(r.gpu).every(Number.isNaN)).toBe(true);
    expectClose(r);
  });

  it('max, min and argmax of an empty axis are refused with a ShapeError', async () => {
    const x = T.zeros([2, 0], { backend: 'webgpu' });
    try {
      expect(() => T.max(x, { axis: 1 })).toThrow(T.ShapeError);
      expect(() => T.min(x)).toThrow(/size-0 axis/);
      expect(() => T.argmax(x, { axis: 1 })).toThrow(T.ShapeError);
    } finally {
      x.dispose();
    }
  });

  it('every reduction of a 0-d tensor returns it (argmax returns 0)', async () => {
    await fc.assert(
      fc.asyncProperty(floatArb(-4, 4), fc.boolean(), async (v, keepdims) => {
        const x = { values: [v], shape: [] };
        for (const op of ['sum', 'prod', 'max', 'min', 'mean', 'logSumExp'] as const) {
          const r = await runOnBoth([x], (t) => (T[op] as Reduce)(t, { keepdims }));
          expect(r.shape).toEqual([]);
          if (op === 'logSumExp') expectClose(r, { rtol: 1e-6, atol: 1e-6 });
          else expectEqual(r);
          expect(r.gpu[0]).toBeCloseTo(v, 5);
        }
        const a = await runOnBoth([x], (t) => T.argmax(t));
        expect(Array.from(a.gpu)).toEqual([0]);
        expectEqual(a);
      }),
      runs(5),
    );
  });
});

describe('argmax and argmin', () => {
  it('argmax/argmin of distinct values along any axis (or flattened) match the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 1 }).chain((s) =>
          fc.record({
            shape: fc.constant(s),
            values: distinctValuesArb(sizeOf(s)),
            axis: fc.option(axisArb(s.length), { nil: undefined }),
            keepdims: fc.boolean(),
            op: fc.constantFrom('argmax' as const, 'argmin' as const),
          }),
        ),
        async ({ shape, values, axis, keepdims, op }) => {
          const r = await runOnBoth([{ values, shape }], (t) => T[op](t, { axis, keepdims }));
          expect(r.dtype).toBe('int32');
          expect(r.shape).toEqual(
            axis === undefined ? (keepdims ? shape.map(() => 1) : []) : reducedShape(shape, [axis], keepdims),
          );
          expectEqual(r);
        },
      ),
      runs(40),
    );
  });

  it('argmax/argmin with ties pick the first occurrence on both backends', async () => {
    const x = { values: [1, 3, 3, 2, 2, 1, 0, 0, 0], shape: [3, 3] };
    const mx = await runOnBoth([x], (t) => T.argmax(t, { axis: 1 }));
    expect(Array.from(mx.gpu)).toEqual([1, 0, 0]);
    expectEqual(mx);
    const mn = await runOnBoth([x], (t) => T.argmin(t, { axis: -1 }));
    expect(Array.from(mn.gpu)).toEqual([0, 2, 0]);
    expectEqual(mn);
    const col = await runOnBoth([x], (t) => T.argmax(t, { axis: 0 }));
    expect(Array.from(col.gpu)).toEqual([1, 0, 0]);
    const flat = await runOnBoth([x], (t) => T.argmax(t));
    expect(Array.from(flat.gpu)).toEqual([1]);
  });

  it('argmax of small integers with many ties matches the CPU first-occurrence rule', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonEmptyShapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
          fc.record({
            x: hostArb(s, intArb(0, 2), 'int32'),
            axis: axisArb(s.length),
            op: fc.constantFrom('argmax' as const, 'argmin' as const),
          }),
        ),
        async ({ x, axis, op }) => {
          const r = await runOnBoth([x], (t) => T[op](t, { axis }));
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });
});

describe('long rows', () => {
  it('long reductions over several unmergeable dims (two passes on WebGPU) match the CPU, transposed inputs too', async () => {
    const axesSets = [
      [0, 2, 3],
      [0, 2],
      [0, 3],
      [1, 3],
      [0, 1, 3],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(
          fc.integer({ min: 2, max: 9 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 8, max: 40 }),
          fc.integer({ min: 4, max: 33 }),
        ),
        fc.constantFrom(...axesSets),
        fc.constantFrom('sum', 'max', 'min'),
        fc.boolean(),
        async ([n, c, h, w], axis, op, transposed) => {
          const values = Array.from({ length: n * c * h * w }, (_, i) => ((i * 37) % 101) / 50 - 1);
          const f = (t: Tensor) => {
            const x = transposed ? T.transpose(T.reshape(t, [n, c, w, h]), [0, 1, 3, 2]) : T.reshape(t, [n, c, h, w]);
            return op === 'sum' ? T.sum(x, { axis }) : op === 'max' ? T.max(x, { axis }) : T.min(x, { axis });
          };
          expectClose(await runOnBoth([{ values, shape: [n * c * h * w] }], f), { rtol: 1e-5, atol: 1e-4 });
        },
      ),
      runs(20),
    );
  });

  const N = 100_003; // odd, past any single workgroup's tile
  const longValues = fc.sample(valuesArb(floatArb(0, 1), N), { numRuns: 1, seed: 42 })[0];

  it('a sum over 100k positive elements matches the CPU to f32 accumulation accuracy', async () => {
    const r = await runOnBoth([{ values: longValues, shape: [N] }], (t) => T.sum(t));
    // A pairwise/tree sum in f32 errs by ~log2(n) ulp; a serial one by up to n * eps = 1e-2 relative.
    expectClose(r, { rtol: 1e-5, atol: 0 });
  });

  it('row sums and column sums of a [3, 100k] tensor match the CPU', async () => {
    const three = [...longValues, ...longValues.map((v) => v - 0.5), ...longValues.map((v) => 2 * v)];
    const rows = await runOnBoth([{ values: three, shape: [3, N] }], (t) => T.sum(t, { axis: 1 }));
    // The middle row is centred (sum near 0), so tolerate the magnitude sum's rounding as atol.
    expectClose(rows, { rtol: 1e-5, atol: 1e-2 });
    const cols = await runOnBoth([{ values: three, shape: [N, 3] }], (t) => T.sum(t, { axis: 0 }));
    expectClose(cols, { rtol: 1e-5, atol: 1e-2 });
    const means = await runOnBoth([{ values: three, shape: [3, N] }], (t) => T.mean(t, { axis: -1 }));
    expectClose(means, { rtol: 1e-5, atol: 1e-6 });
  });

  it('max, argmax and logSumExp over a long row match the CPU', async () => {
    const x = { values: longValues, shape: [1, N] };
    const m = await runOnBoth([x], (t) => T.max(t, { axis: 1 }));
    expectEqual(m);
    const a = await runOnBoth([x], (t) => T.argmax(t, { axis: 1 }));
    expectEqual(a);
    const l = await runOnBoth([x], (t) => T.logSumExp(t, { axis: 1 }));
    expectClose(l, { rtol: 1e-5, atol: 1e-5 });
  });

  it('an int32 sum over a long row is exact', async () => {
    const ints = longValues.map((v) => Math.floor(v * 2000) - 1000);
    const r = await runOnBoth([{ values: ints, shape: [N], dtype: 'int32' }], (t) => T.sum(t));
    expectEqual(r);
    expect(r.gpu[0]).toBe(ints.reduce((a, b) => a + b, 0));
  });
});
