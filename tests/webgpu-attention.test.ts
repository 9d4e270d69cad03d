// The attention kernel against the CPU reference: generated shapes (both load widths, queries kept
// in registers and read per key, output columns in one dispatch and in several), the views the
// UNet's attention block passes (slices of one qkv tensor), unaligned and strided views, ranks
// past 4, and empty outputs; and against the composition it replaces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { expectClose, runOnBoth, useBackends } from './support/backends.js';

useBackends();

const values = (shape: readonly number[], seed: number) => ({
  values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 12.9898 + seed) * 2),
  shape: [...shape],
});
const TOL = { rtol: 1e-4, atol: 2e-5 };

describe('attention on WebGPU', () => {
  it('matches the CPU on generated shapes: widths 1 to 72, values 1 to 132 wide, 1 to 70 queries and keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          lead: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
          n: fc.integer({ min: 1, max: 70 }),
          m: fc.integer({ min: 1, max: 70 }),
          // 4, 8, 32: vec4 loads; 65, 72: wider than the registers keep (read per key).
          d: fc.constantFrom(1, 3, 4, 8, 32, 65, 72),
          // 68 and 132: more output columns than one dispatch computes.
          e: fc.constantFrom(1, 4, 5, 32, 68, 132),
          seed: fc.integer({ min: 0, max: 50 }),
        }),
        async ({ lead, n, m, d, e, seed }) => {
          const inputs = [
            values([...lead, n, d], seed),
            values([...lead, m, d], seed + 1),
            values([...lead, m, e], seed + 2),
          ];
          expectClose(await runOnBoth(inputs, (q, k, v) => T.attention(q, k, v)), TOL);
        },
      ),
      { numRuns: Number(process.env.ATT_RUNS ?? 10) },
    );
  });

  it("takes the attention block's views, unaligned and strided ones, ranks past 4 and empty outputs", async () => {
    // q, k, v as slices of one [B, N, 3, heads, d] qkv tensor, transposed to [B, heads, N, d]: row
    // strides 3C, 4-aligned (the vec4 kernel), then with d = 3 (the scalar one).
    for (const d of [8, 3]) {
      const [b, n, heads] = [2, 9, 2];
      const qkv = values([b, n, 3, heads, d], 3);
      expectClose(
        await runOnBoth([qkv], (t) => {
          const parts = T.transpose(t, [2, 0, 3, 1, 4]);
          const part = (i: number) => T.squeeze(T.slice(parts, [i, 0, 0, 0, 0], [i + 1, b, heads, n, d]), 0);
          return T.attention(part(0), part(1), part(2), { scale: 0.3 });
        }),
        TOL,
      );
    }
    // Rows with a stride (a transposed q): copied contiguous first.
    expectClose(
      await runOnBoth([values([2, 4, 6], 4), values([2, 5, 4], 5), values([2, 5, 3], 6)], (q, k, v) =>
        T.attention(T.transpose(q, [0, 2, 1]), k, v),
      ),
      TOL,
    );
    // Rank 5 (vmap's extra axis in front of [B, heads, N, d]) and rank 2.
    expectClose(
      await runOnBoth([values([2, 2, 1, 3, 4], 7), values([2, 2, 1, 5, 4], 8), values([2, 2, 1, 5, 8], 9)], (q, k, v) =>
        T.attention(q, k, v),
      ),
      TOL,
    );
    expectClose(
      await runOnBoth([values([3, 2], 1), values([1, 2], 2), values([1, 5], 3)], (q, k, v) => T.attention(q, k, v)),
      TOL,
    );
    // No queries, or values of width 0: empty outputs of the right shape.
    for (const [n, e] of [
      [0, 4],
      [3, 0],
    ]) {
      const r = await runOnBoth([values([2, n, 4], 1), values([2, 3, 4], 2), values([2, 3, e], 3)], (q, k, v) =>
        T.attention(q, k, v),
      );
      expect(r.shape).toEqual([2, n, e]);
    }
  });

  it('matches the CPU on a device without a fixed subgroup size (each lane loads the key and value rows)', async () => {
    const ctx = (backendFor('webgpu') as WebGpuBackend).ctx as unknown as { gpu: { subgroupSize?: number } };
    const device = ctx.gpu;
    ctx.gpu = { ...device, subgroupSize: undefined };
    try {
      for (const [n, m, d, e] of [
        [9, 13, 32, 8],
        [5, 6, 4, 68],
      ])
        expectClose(
          await runOnBoth([values([2, n, d], 1), values([2, m, d], 2), values([2, m, e], 3)], (q, k, v) =>
            T.attention(q, k, v),
          ),
          TOL,
        );
    } finally {
      ctx.gpu = device;
    }
  });

  it('runs past the 65,535-workgroup dimension limit (the grid folds)', async () => {
    // 530,000 planes of one query: padded to a subgroup of lanes each on subgroup devices, 66,250
    // workgroups of 64. Two keys, so the softmax weighs them.
    const planes = 530_000;
    const x = (seed: number, rows: number) => values([planes, rows, 4], seed);
    expectClose(await runOnBoth([x(1, 1), x(2, 2), x(3, 2)], (q, k, v) => T.attention(q, k, v)), TOL);
  });

  it('equals the composition softmax(q k^T * scale) v it replaces, on the GPU', async () => {
    const q = T.tensor(values([2, 16, 32], 1).values, { shape: [2, 16, 32] });
    const k = T.tensor(values([2, 20, 32], 2).values, { shape: [2, 20, 32] });
    const v = T.tensor(values([2, 20, 8], 3).values, { shape: [2, 20, 8] });
    const fused = await T.attention(q, k, v).data();
    const composed = await T.matmul(
      T.softmax(T.mul(T.matmul(q, T.transpose(k, [0, 2, 1])), 1 / Math.sqrt(32))),
      v,
    ).data();
    for (let i = 0; i < fused.length; i++) expect(Math.abs(fused[i] - composed[i])).toBeLessThan(2e-5);
    T.disposeTree([q, k, v]);
  });

  it('refuses mismatched shapes, no keys and non-float inputs, naming the fix', () => {
    const x = T.zeros([2, 3, 4]);
    expect(() => T.attention(x, T.zeros([2, 3, 5]), x)).toThrow(/attention: k \[2, 3, 5\] must be \[\.\.\., M, 4\]/);
    expect(() => T.attention(x, x, T.zeros([3, 3, 4]))).toThrow(/must have equal leading dims; broadcast them first/);
    expect(() => T.attention(x, T.zeros([2, 0, 4]), T.zeros([2, 0, 4]))).toThrow(/has no keys/);
    expect(() => T.attention(T.zeros([4]), T.zeros([4]), T.zeros([4]))).toThrow(/share one rank >= 2/);
    const i = T.zeros([2, 3, 4], { dtype: 'int32' });
    expect(() => T.attention(i, i, i)).toThrow(/must share one float dtype, got int32/);
    expect(() => T.attention(x, x, x, { scale: Number.NaN })).toThrow(/scale is NaN/);
    T.disposeTree([x, i]);
  });
});
