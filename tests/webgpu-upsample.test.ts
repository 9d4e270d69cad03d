// The nearest-neighbour upsampling kernel against the CPU reference: generated shapes and factors
// (rows a multiple of 4, the vec4 stores, and ragged ones), strided views, every dtype, empty
// inputs and a grid past the 65,535-workgroup dimension limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { expectClose, runOnBoth, useBackends } from './support/backends.js';

useBackends();

const values = (shape: readonly number[], seed: number) => ({
  values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) =>
    Math.round(Math.sin(i * 12.9898 + seed) * 100),
  ),
  shape: [...shape],
});
const EXACT = { rtol: 0, atol: 0 };

describe('upsampleNearest2d on WebGPU', () => {
  it('matches the CPU on generated shapes and factors, contiguous and transposed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          c: fc.integer({ min: 1, max: 4 }),
          h: fc.integer({ min: 1, max: 9 }),
          w: fc.integer({ min: 1, max: 9 }),
          sh: fc.integer({ min: 1, max: 3 }),
          sw: fc.integer({ min: 1, max: 3 }),
          transposed: fc.boolean(),
          seed: fc.integer({ min: 0, max: 50 }),
        }),
        async ({ n, c, h, w, sh, sw, transposed, seed }) => {
          const x = values([n, c, h, w], seed);
          const r = await runOnBoth([x], (t) =>
            T.upsampleNearest2d(transposed ? T.transpose(t, [0, 1, 3, 2]) : t, { scale: [sh, sw] }),
          );
          expect(r.shape).toEqual([n, c, (transposed ? w : h) * sh, (transposed ? h : w) * sw]);
          expectClose(r, EXACT);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('doubles 4-aligned rows (the UNet case) for any row factor, and from an offset view', async () => {
    for (const [shape, scale] of [
      [[2, 3, 4, 8], 2],
      [
        [1, 2, 3, 4],
        [3, 2],
      ],
      [
        [2, 1, 2, 16],
        [1, 2],
      ],
    ] as const)
      expectClose(await runOnBoth([values(shape, 2)], (t) => T.upsampleNearest2d(t, { scale })), EXACT);
    // Rows 1..2 of each plane: an offset view whose strides stay 4-aligned.
    expectClose(
      await runOnBoth([values([2, 2, 4, 8], 3)], (t) =>
        T.upsampleNearest2d(T.slice(t, [0, 0, 1, 0], [2, 2, 3, 8]), { scale: 2 }),
      ),
      EXACT,
    );
  });

  it('keeps int32 and bool values, and gives empty outputs for empty inputs', async () => {
    const x = values([2, 3, 4, 5], 1);
    expectClose(await runOnBoth([x], (t) => T.upsampleNearest2d(T.cast(t, 'int32'), { scale: 2 })), EXACT);
    expectClose(await runOnBoth([x], (t) => T.upsampleNearest2d(T.greater(t, 0), { scale: [1, 3] })), EXACT);
    const r = await runOnBoth([{ values: [], shape: [0, 2, 3, 3] }], (t) => T.upsampleNearest2d(t, { scale: 2 }));
    expect(r.shape).toEqual([0, 2, 6, 6]);
  });

  it('runs past the 65,535-workgroup dimension limit (the grid folds)', async () => {
    // 4,096 output rows of 1,025 four-pixel runs: 65,600 workgroups of 64 threads.
    const x = { values: Array.from({ length: 2048 * 2050 }, (_, i) => i % 251), shape: [1, 1, 2048, 2050] };
    expectClose(await runOnBoth([x], (t) => T.upsampleNearest2d(t, { scale: 2 })), EXACT);
  });
});
