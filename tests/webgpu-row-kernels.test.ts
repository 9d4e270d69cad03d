// Both strategies of the row-wise kernels (one thread per row, for CPU adapters; one workgroup per
// row, for real GPUs) match the CPU on every adapter, whichever 'auto' picks here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { expectClose, runOnBoth, useBackends, useRowKernelStrategies } from './support/backends.js';

useBackends();

const gpu = useRowKernelStrategies();

const rowsAndLength = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 1500 }));
const hostValues = (rows: number, n: number, seed: number) => ({
  values: Array.from({ length: rows * n }, (_, i) => Math.sin(i * 12.9898 + seed) * 4),
  shape: [rows, n],
});

describe('row standardisation', () => {
  it('standardize over rows of any length (1 to 1500, 1 to 300 rows) matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(rowsAndLength, fc.integer({ min: 0, max: 100 }), async ([rows, n], seed) => {
        expectClose(await runOnBoth([hostValues(rows, n, seed)], (x) => T.standardize(x)), {
          rtol: 1e-4,
          atol: 1e-5,
        });
      }),
      { numRuns: 15 },
    );
  });

  it('standardize handles constant rows (0 out), a row offset into storage, strided views and empty tensors', async () => {
    expectClose(await runOnBoth([{ values: [3, 3, 3, 3, 1, 2, 3, 4], shape: [2, 4] }], (x) => T.standardize(x)), {
      rtol: 1e-6,
      atol: 1e-6,
    });
    const x = { values: Array.from({ length: 24 }, (_, i) => Math.cos(i * 1.7) * 3), shape: [4, 6] };
    expectClose(await runOnBoth([x], (t) => T.standardize(T.slice(t, [1, 0], [4, 6]))), { rtol: 1e-5, atol: 1e-6 });
    expectClose(await runOnBoth([x], (t) => T.standardize(T.transpose(t, [1, 0]))), { rtol: 1e-5, atol: 1e-6 });
    // Rows of a multiple of 4 take the vec4 kernel when they start 4-aligned, the scalar one when not.
    const flat = { values: Array.from({ length: 40 }, (_, i) => Math.sin(i * 2.3) * 2), shape: [40] };
    for (const start of [8, 2]) {
      expectClose(await runOnBoth([flat], (t) => T.standardize(T.reshape(T.slice(t, [start], [start + 32]), [4, 8]))), {
        rtol: 1e-5,
        atol: 1e-6,
      });
    }
    expectClose(await runOnBoth([{ values: [], shape: [0, 5] }], (t) => T.standardize(t)), { rtol: 0, atol: 0 });
  });

  it('standardize keeps the digits of rows of nearby values (statistics of x - x[0])', async () => {
    // In float32, x - mean(x) loses the digits the mean rounds away: the pair 0.012 apart at 1.68
    // (a failing gradient case) came out 1e-5 off that way.
    const rows = [
      [1000.001, 1000.002, 1000.004, 1000.0035],
      [-1.6799066066741943, -1.6916648149490356, -1.6799066066741943, -1.6916648149490356],
    ];
    expectClose(await runOnBoth([{ values: rows.flat(), shape: [2, 4] }], (x) => T.standardize(x)), {
      rtol: 1e-6,
      atol: 1e-6,
    });
  });

  it('standardize and its backward keep their digits when a first or last value lies far from the rest (one-pass statistics)', async () => {
    // The statistics are E[d] and E[d^2] of d = x - shift in one pass, which loses digits to
    // cancellation in proportion to ((mean - shift) / sd)^2. With one value sqrt(n) sd from the
    // rest as the shift that factor is n / 2: 1e-3 of the variance lost at 32,768 values (a group of
    // the base UNet at 128 px). The shift is the median of three of the row's values, so one
    // outlier, first or last, cannot be it.
    const row = (n: number, outlierAt: number, offset: number) =>
      Array.from({ length: n }, (_, i) => offset + (i === outlierAt ? Math.sqrt(n) : Math.sin(i * 1.3)));
    // Rows a multiple of 4 long take the vec4 kernel, others the scalar one.
    for (const width of [32768, 32767]) {
      const values = [...row(width, 0, 0), ...row(width, width - 1, 500)];
      const x = { values, shape: [2, width] };
      const v = { values: values.map((_, i) => Math.cos(i * 0.7)), shape: [2, width] };
      expectClose(await runOnBoth([x], (t) => T.standardize(t)), { rtol: 1e-4, atol: 2e-5 });
      expectClose(await runOnBoth([x, v], backwardOf()), { rtol: 1e-4, atol: 2e-5 });
    }
  });

  it('rows past the 65,535-workgroup dimension limit still standardise (the grid folds)', async () => {
    const rows = 70_000;
    const x = { values: Array.from({ length: rows * 2 }, (_, i) => (i % 7) - (i % 3)), shape: [rows, 2] };
    expectClose(await runOnBoth([x], (t) => T.standardize(t)), { rtol: 1e-5, atol: 1e-5 });
  });
});

/** y = standardize(x) and a cotangent v for x's rows, then standardize's backward (y from x on each backend). */
const backwardOf = (eps?: number) => (x: T.Tensor, v: T.Tensor) =>
  T.standardizeBackward(x, T.standardize(x, { eps }), v, { eps });

describe('standardize backward', () => {
  it('handles constant rows, rows of one, a row offset into storage, strided views, broadcast cotangents and empty tensors', async () => {
    const tol = { rtol: 1e-5, atol: 1e-5 };
    // A constant row: y = 0 and r = 1 / sqrt(eps), so v's centred values scaled by r.
    expectClose(
      await runOnBoth(
        [
          { values: [3, 3, 3, 3, 1, 2, 3, 4], shape: [2, 4] },
          { values: [0.5, -1, 2, 0.25, 1, 1, -1, 3], shape: [2, 4] },
        ],
        backwardOf(0.1),
      ),
      tol,
    );
    expectClose(
      await runOnBoth(
        [
          { values: [2, -1, 5], shape: [3, 1] },
          { values: [1, 2, 3], shape: [3, 1] },
        ],
        backwardOf(),
      ),
      tol,
    );
    const x = { values: Array.from({ length: 24 }, (_, i) => Math.cos(i * 1.7) * 3), shape: [4, 6] };
    const v = { values: Array.from({ length: 24 }, (_, i) => Math.sin(i * 0.9) * 2), shape: [4, 6] };
    expectClose(
      await runOnBoth([x, v], (a, b) => backwardOf()(T.slice(a, [1, 0], [4, 6]), T.slice(b, [0, 0], [3, 6]))),
      tol,
    );
    expectClose(await runOnBoth([x, v], (a, b) => backwardOf()(T.transpose(a, [1, 0]), T.transpose(b, [1, 0]))), tol);
    // A cotangent broadcast along the rows (a stride-0 view: copied dense first).
    expectClose(
      await runOnBoth([x, { values: [1, -2, 0.5, 3, -1, 2], shape: [6] }], (a, b) =>
        backwardOf()(a, T.broadcastTo(b, [4, 6])),
      ),
      tol,
    );
    // Rows of a multiple of 4 take the vec4 kernel when all three start 4-aligned, the scalar one when one does not.
    const flat = { values: Array.from({ length: 40 }, (_, i) => Math.sin(i * 2.3) * 2), shape: [40] };
    for (const [sx, sv] of [
      [8, 4],
      [8, 2],
      [2, 8],
    ]) {
      expectClose(
        await runOnBoth([flat, flat], (a, b) =>
          backwardOf()(T.reshape(T.slice(a, [sx], [sx + 32]), [4, 8]), T.reshape(T.slice(b, [sv], [sv + 32]), [4, 8])),
        ),
        tol,
      );
    }
    expectClose(
      await runOnBoth(
        [
          { values: [], shape: [0, 5] },
          { values: [], shape: [0, 5] },
        ],
        backwardOf(),
      ),
      {
        rtol: 0,
        atol: 0,
      },
    );
  });

  it('keeps the digits of rows of nearby values, as the forward does', async () => {
    const rows = [
      [1000.001, 1000.002, 1000.004, 1000.0035],
      [-1.6799066066741943, -1.6916648149490356, -1.6799066066741943, -1.6916648149490356],
    ];
    const v = { values: [0.3, -0.2, 0.9, -1, 1, 2, -0.5, 0.25], shape: [2, 4] };
    // r is ~700 and ~170 here: compare relative to the output's scale.
    expectClose(await runOnBoth([{ values: rows.flat(), shape: [2, 4] }, v], backwardOf()), { rtol: 1e-4, atol: 1e-2 });
  });

  it('rows past the 65,535-workgroup dimension limit (the grid folds)', async () => {
    const rows = 70_000;
    const x = { values: Array.from({ length: rows * 2 }, (_, i) => (i % 7) - (i % 3)), shape: [rows, 2] };
    const v = { values: Array.from({ length: rows * 2 }, (_, i) => (i % 5) - 2), shape: [rows, 2] };
    expectClose(await runOnBoth([x, v], backwardOf()), { rtol: 1e-4, atol: 1e-4 });
  });

  it('refuses inputs of different shapes, naming them', async () => {
    const x = T.zeros([2, 3]);
    try {
      expect(() => T.standardizeBackward(x, x, T.zeros([3]))).toThrow(
        /x \[2, ?3\], y \[2, ?3\] and v \[3\] must have one shape/,
      );
      expect(() => T.standardizeBackward(x, x, x, { eps: -1 })).toThrow(/eps = -1/);
    } finally {
      x.dispose();
    }
  });
});

describe.each(['thread-per-row', 'workgroup-per-row'] as const)('row kernels: %s', (strategy) => {
  it('standardize and its backward over rows of any length match the CPU', async () => {
    gpu().ctx.rowKernels = strategy;
    await fc.assert(
      fc.asyncProperty(rowsAndLength, fc.integer({ min: 0, max: 100 }), async ([rows, n], seed) => {
        const x = hostValues(rows, n, seed);
        const v = hostValues(rows, n, seed + 0.5);
        expectClose(await runOnBoth([x], (t) => T.standardize(t)), { rtol: 1e-4, atol: 1e-5 });
        expectClose(await runOnBoth([x, v], backwardOf()), { rtol: 1e-4, atol: 1e-4 });
      }),
      { numRuns: 10 },
    );
  });

  it('softmax over rows of any length matches the CPU', async () => {
    gpu().ctx.rowKernels = strategy;
    await fc.assert(
      fc.asyncProperty(rowsAndLength, fc.integer({ min: 0, max: 100 }), async ([rows, n], seed) => {
        expectClose(await runOnBoth([hostValues(rows, n, seed)], (x) => T.softmax(x)), { rtol: 1e-5, atol: 1e-7 });
      }),
      { numRuns: 15 },
    );
  });

  it('sum and max over long rows match the CPU', async () => {
    gpu().ctx.rowKernels = strategy;
    await fc.assert(
      fc.asyncProperty(rowsAndLength, fc.integer({ min: 0, max: 100 }), async ([rows, n], seed) => {
        const x = hostValues(rows, n, seed);
        expectClose(await runOnBoth([x], (t) => T.sum(t, { axis: 1 })), { rtol: 1e-5, atol: 1e-4 });
        expectClose(await runOnBoth([x], (t) => T.max(t, { axis: 1 })), { rtol: 0, atol: 0 });
      }),
      { numRuns: 15 },
    );
  });
});
