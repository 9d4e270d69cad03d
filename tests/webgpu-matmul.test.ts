// Specification of the WebGPU matmul: every variant agrees with the CPU reference on generated
// shapes and strided views (batched, broadcast, transposed), one compiled kernel serves every batch
// rank, and the untuned default on CPU adapters picks the measured variant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/kernels/backend.js';
import { matmulVariants, type WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { isCpuAdapter } from '../src/kernels/webgpu/tuning.js';
import type { DType } from '../src/tensor/dtype.js';
import { dispatchCount, useRawBackends } from './support/backends.js';
import {
  contiguousHost,
  dimArb,
  expectClose,
  hostComparison,
  hostView,
  layoutArb,
  transposedHost,
  type HostView,
} from './support/host-views.js';

let gpu: WebGpuBackend;
let cpu: Backend;
const { onBoth } = hostComparison(() => [gpu, cpu]);

useRawBackends((g, c) => {
  gpu = g;
  cpu = c;
});

const RUNS = { numRuns: 60 };

describe('matmul', () => {
  const problemArb = fc
    .record({
      batch: fc.array(dimArb(3), { maxLength: 2 }),
      m: fc.integer({ min: 0, max: 9 }),
      // Past two subgroup widths (8 on lavapipe), so the subgroup variants run whole widths and a tail.
      k: fc.integer({ min: 0, max: 19 }),
      n: fc.integer({ min: 0, max: 9 }),
    })
    .chain((p) => {
      const rank = p.batch.length + 2;
      return fc.tuple(fc.constant(p), layoutArb(rank), layoutArb(rank));
    });

  for (const variant of matmulVariants) {
    it(`variant '${variant.name}' matches the CPU for batched, transposed, sliced and batch-broadcast operands`, async () => {
      await fc.assert(
        fc.asyncProperty(
          problemArb,
          fc.constantFrom<DType>('float32', 'int32'),
          fc.nat(),
          async ([p, la, lb], dtype, seed) => {
            const a = hostView([...p.batch, p.m, p.k], la, dtype, seed);
            const b = hostView([...p.batch, p.k, p.n], lb, dtype, seed + 1);
            const r = await onBoth([a, b], (be, [x, y]) =>
              be === gpu ? gpu.matmul(x, y, variant.name) : be.matmul(x, y),
            );
            expectClose(r, {}, `${variant.name} ${JSON.stringify(p)}`);
          },
        ),
        RUNS,
      );
    });
  }

  it('subgroup variants declare themselves unsupported on a device without a fixed subgroup size', () => {
    const p = { dtype: 'float32' as const, batch: 1, m: 2, n: 2, k: 2, batchDims: { shape: [], strides: [[], []] } };
    const noSubgroups = { ...gpu.ctx.gpu, subgroupSize: undefined };
    const sg = matmulVariants.filter((v) => v.name.endsWith('sg'));
    expect(sg.length).toBeGreaterThan(0);
    for (const v of sg) expect(v.supports(p, noSubgroups)).toBe(false);
  });

  it('one compiled matmul kernel serves unbatched, batched and twice-batched products', async () => {
    // lavapipe compiles a register-blocked matmul in seconds; a source per batch rank tripled that.
    // The batch dims are padded before any variant runs, so one variant stands for all.
    const plain = (rank: number) =>
      Array.from({ length: rank }, (_, order) => ({ broadcast: false, extra: 0, start: 0, order }));
    // b broadcast along the first of two batch dims: the batch dims do not merge (rank 2 after coalescing).
    const broadcastFirst = plain(4).map((d, i) => ({ ...d, broadcast: i === 0 }));
    const problems: [HostView, HostView][] = [
      [contiguousHost([5, 7], 'float32', 3), contiguousHost([7, 3], 'float32', 4)],
      [contiguousHost([4, 5, 7], 'float32', 3), contiguousHost([4, 7, 3], 'float32', 4)],
      [contiguousHost([2, 3, 5, 7], 'float32', 3), hostView([2, 3, 7, 3], broadcastFirst, 'float32', 4)],
    ];
    const run = (x: HostView, y: HostView) =>
      onBoth([x, y], (be, [a, b]) => (be === gpu ? gpu.matmul(a, b, 'grid8x4sg') : be.matmul(a, b)));
    await run(...problems[0]);
    const before = gpu.ctx.pipelines.size;
    for (const [x, y] of problems) expectClose(await run(x, y), {}, JSON.stringify([x.shape, y.shape]));
    expect(gpu.ctx.pipelines.size).toBe(before);
  });

  it('the untuned default on CPU adapters with 8-lane subgroups: 4 or 8 columns a lane by the width, row blocks for 256 columns', async () => {
    const cpuAdapter = isCpuAdapter(gpu.ctx.gpu.adapterDescription) && gpu.ctx.gpu.subgroupSize === 8;
    // [batch, M, K, N] -> the kernel's variant there (no variant named, tuning off under vitest).
    const cases: [number[], string][] = [
      [[2, 20, 9, 32], 'grid8x4sg'],
      [[2, 20, 9, 33], 'grid8x8sg'],
      [[1, 40, 12, 232], 'grid8x8sg'],
      [[2, 4, 8, 256], 'rows4x4'],
      [[2, 8, 8, 256], 'rows8x4'],
      [[1, 40, 8, 256], 'rows32x4sg'],
    ];
    for (const [[batch, m, k, n], expected] of cases) {
      const ran = () => dispatchCount(gpu, (kernel) => kernel.startsWith(`matmul:${expected}:`));
      const before = ran();
      expectClose(
        await onBoth(
          [contiguousHost([batch, m, k], 'float32', 5), contiguousHost([batch, k, n], 'float32', 6)],
          (be, [a, b]) => be.matmul(a, b),
        ),
        {},
        `[${batch}, ${m}, ${k}] x [${batch}, ${k}, ${n}]`,
      );
      expect(ran() - before, `${expected} for [${batch}, ${m}, ${k}, ${n}]`).toBe(cpuAdapter ? 1 : 0);
    }
  });

  it('K = 0 gives zeros', async () => {
    const r = await onBoth(
      [contiguousHost([2, 3, 0], 'float32', 1), contiguousHost([2, 0, 4], 'float32', 2)],
      (b, [x, y]) => b.matmul(x, y),
    );
    expect(Array.from(r.gpu)).toEqual(new Array(24).fill(0));
    expectClose(r);
  });

  it('a larger product with ragged tile edges matches the CPU', async () => {
    const a = contiguousHost([67, 129], 'float32', 1);
    const b = transposedHost([129, 70], 2);
    expectClose(await onBoth([a, b], (be, [x, y]) => be.matmul(x, y)));
  });

  // The property above stays inside one tile; this crosses tile edges in M, N and K for every
  // variant (130 > 128 rows and 133 columns, K = 37 in steps of 8 and 16, B read transposed).
  it('every variant matches the CPU on a product spanning several tiles with ragged edges', async () => {
    const a = contiguousHost([130, 37], 'float32', 3);
    const b = transposedHost([37, 133], 4);
    for (const variant of matmulVariants.filter((v) =>
      v.supports(
        { dtype: 'float32', batch: 1, m: 130, n: 133, k: 37, batchDims: { shape: [], strides: [[], []] } },
        gpu.ctx.gpu,
      ),
    )) {
      expectClose(
        await onBoth([a, b], (be, [x, y]) => (be === gpu ? gpu.matmul(x, y, variant.name) : be.matmul(x, y))),
        {},
        variant.name,
      );
    }
    // B contiguous with N % 4 == 0 (the vec4 reads), batched, over several tiles: 3 x [70, 37] @ [37, 72].
    const a3 = contiguousHost([3, 70, 37], 'float32', 5);
    const b3 = contiguousHost([3, 37, 72], 'float32', 6);
    for (const variant of matmulVariants.filter((v) =>
      v.supports(
        { dtype: 'float32', batch: 3, m: 70, n: 72, k: 37, batchDims: { shape: [3], strides: [[2590], [2664]] } },
        gpu.ctx.gpu,
      ),
    )) {
      expectClose(
        await onBoth([a3, b3], (be, [x, y]) => (be === gpu ? gpu.matmul(x, y, variant.name) : be.matmul(x, y))),
        {},
        `${variant.name} vec4 B`,
      );
    }
  });
});
