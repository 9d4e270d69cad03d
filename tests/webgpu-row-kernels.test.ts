// Both strategies of the row-wise kernels (one thread per row, for CPU adapters; one workgroup per
// row, for real GPUs) match the CPU on every adapter, whichever 'auto' picks here.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import * as T from '../src/index.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { expectClose, runOnBoth, useBackends } from './support/backends.js';

useBackends();

let gpu: WebGpuBackend;
beforeAll(() => {
  gpu = backendFor('webgpu') as WebGpuBackend;
});
afterAll(() => {
  if (gpu) gpu.ctx.rowKernels = 'auto';
});

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

  it('rows past the 65,535-workgroup dimension limit still standardise (the grid folds)', async () => {
    const rows = 70_000;
    const x = { values: Array.from({ length: rows * 2 }, (_, i) => (i % 7) - (i % 3)), shape: [rows, 2] };
    expectClose(await runOnBoth([x], (t) => T.standardize(t)), { rtol: 1e-5, atol: 1e-5 });
  });
});

describe.each(['thread-per-row', 'workgroup-per-row'] as const)('row kernels: %s', (strategy) => {
  it('softmax over rows of any length matches the CPU', async () => {
    gpu.ctx.rowKernels = strategy;
    await fc.assert(
      fc.asyncProperty(rowsAndLength, fc.integer({ min: 0, max: 100 }), async ([rows, n], seed) => {
        expectClose(await runOnBoth([hostValues(rows, n, seed)], (x) => T.softmax(x)), { rtol: 1e-5, atol: 1e-7 });
      }),
      { numRuns: 15 },
    );
  });

  it('sum and max over long rows match the CPU', async () => {
    gpu.ctx.rowKernels = strategy;
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
