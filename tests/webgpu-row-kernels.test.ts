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
