// Elementwise fusion on WebGPU: chains of elementwise ops run as one generated kernel, give the
// same values as unfused kernels and the CPU, and never run when their result is dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { backendFor } from '../src/tensor/backends.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import fc from 'fast-check';
import { dispatchCount, expectClose, expectEqual, runOnBoth, useBackends } from './support/backends.js';
import { runs } from './support/arbitraries.js';

useBackends();

let gpu: WebGpuBackend;
beforeAll(() => {
  gpu = backendFor('webgpu') as WebGpuBackend;
});
afterAll(() => {
  if (gpu) gpu.ctx.fusion = true;
});

/** Dispatches recorded while `f` runs and its result is read back. */
async function countDispatches(f: () => T.Tensor): Promise<{ dispatches: number; values: Float32Array }> {
  const before = gpu.ctx.dispatcher.dispatchCount;
  const y = T.scope(f);
  const values = (await y.data()) as Float32Array;
  y.dispose();
  return { dispatches: gpu.ctx.dispatcher.dispatchCount - before, values };
}

const chain = (x: T.Tensor, a: T.Tensor, b: T.Tensor) => T.sub(T.mul(T.silu(T.add(T.mul(x, a), b)), 1.5), T.tanh(x));

describe('elementwise fusion', () => {
  it('a chain of six elementwise ops runs as one kernel and matches the unfused kernels and the CPU', async () => {
    const make = (backend: T.BackendName) =>
      [
        T.keep(T.uniform(T.key(1), [257, 33], { backend, min: -3, max: 3 })),
        T.keep(T.uniform(T.key(2), [257, 33], { backend })),
        T.keep(T.uniform(T.key(3), [33], { backend })),
      ] as const;
    const [x, a, b] = make('webgpu');
    await Promise.all([x, a, b].map((t) => t.data())); // materialise the (themselves fused) inputs
    const fused = await countDispatches(() => chain(x, a, b));
    // Scalars (1.5) are uploaded, not dispatched; the whole chain is one kernel.
    expect(fused.dispatches).toBe(1);
    gpu.ctx.fusion = false;
    const unfused = await countDispatches(() => chain(x, a, b));
    gpu.ctx.fusion = true;
    expect(unfused.dispatches).toBe(6);
    const [xc, ac, bc] = make('cpu');
    const cpu = (await T.scope(() => chain(xc, ac, bc)).data()) as Float32Array;
    for (let i = 0; i < cpu.length; i++) {
      expect(Math.abs(fused.values[i] - unfused.values[i])).toBeLessThanOrEqual(
        1e-6 * (1 + Math.abs(unfused.values[i])),
      );
      expect(Math.abs(fused.values[i] - cpu[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(cpu[i])));
    }
    [x, a, b, xc, ac, bc].forEach((t) => t.dispose());
  });

  it('a small pending expression read through a broadcast is inlined: x - mean(x, keepdims) is the reduction plus one kernel', async () => {
    const x = T.keep(T.uniform(T.key(4), [6, 5, 70], { min: -2, max: 2 }));
    await x.data();
    const centered = await countDispatches(() => T.sub(x, T.mean(x, { axis: [0, 2], keepdims: true })));
    expect(centered.dispatches).toBe(2);
    const xc = T.tensor(await x.data(), { shape: x.shape, backend: 'cpu' });
    const cpu = (await T.scope(() => T.sub(xc, T.mean(xc, { axis: [0, 2], keepdims: true }))).data()) as Float32Array;
    cpu.forEach((v, i) => expect(centered.values[i]).toBeCloseTo(v, 5));
    [x, xc].forEach((t) => t.dispose());
  });

  it('expressions read through broadcasts of any shape (inserted 1s, leading dims) match the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 })
          .chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
              fc.integer({ min: 0, max: 2 }),
            ),
          ),
        async ([shape, keep, lead]) => {
          const small = shape.map((d, i) => (keep[i] ? d : 1));
          const out = [...Array.from({ length: lead }, () => 2), ...shape];
          const n = small.reduce((a, d) => a * d, 1);
          const values = Array.from({ length: n }, (_, i) => i * 0.25 - 1);
          const r = await runOnBoth([{ values, shape: small }], (t) => {
            // A reshape of the pending expression first (split / merge of kept dims), then a broadcast.
            const pending = T.reshape(T.div(T.add(t, 1), 3), small);
            return T.mul(T.broadcastTo(pending, out), 2);
          });
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('a result that is dropped unread never runs, and memory returns to where it was', async () => {
    const x = T.ones([1000]);
    const before = { dispatches: gpu.ctx.dispatcher.dispatchCount, memory: T.memory().webgpu };
    T.scope(() => {
      T.exp(T.mul(x, 3));
    });
    expect(gpu.ctx.dispatcher.dispatchCount).toBe(before.dispatches);
    expect(T.memory().webgpu).toEqual(before.memory);
    x.dispose();
  });

  it('inputs disposed while a fused result is pending stay valid until it runs', async () => {
    const x = T.tensor([1, 2, 3]);
    const y = T.mul(T.add(x, 1), 2);
    x.dispose();
    // Allocate and fill other buffers that could reuse x's memory if it had been freed early.
    const noise = Array.from({ length: 8 }, () => T.full([3], 99));
    expect(await y.array()).toEqual([4, 6, 8]);
    [y, ...noise].forEach((t) => t.dispose());
  });

  it('chains longer than one kernel allows, shared subexpressions and reshaped views stay correct', async () => {
    const x = T.arange(12, undefined, 1, { dtype: 'float32' });
    const y = T.scope(() => {
      let acc = x;
      for (let i = 0; i < 60; i++) acc = T.add(acc, 1);
      const shared = T.mul(acc, 2);
      const squares = T.mul(shared, shared);
      return T.sub(T.reshape(squares, [3, 4]), T.transpose(T.reshape(shared, [4, 3])));
    });
    const got = (await y.array()) as number[][];
    const want = Array.from({ length: 3 }, (_, r) =>
      Array.from({ length: 4 }, (_, c) => {
        const s = (i: number) => 2 * (i + 60);
        return s(r * 4 + c) ** 2 - s(c * 3 + r);
      }),
    );
    expect(got).toEqual(want);
    [x, y].forEach((t) => t.dispose());
  });

  it('fused ops feed non-elementwise kernels (matmul, reductions) correctly', async () => {
    const a = T.reshape(T.arange(6, undefined, 1, { dtype: 'float32' }), [2, 3]);
    const m = T.matmul(T.add(a, 1), T.transpose(T.mul(a, 2)));
    const s = T.sum(T.square(T.sub(a, 1)), { axis: 1 });
    expect(await m.array()).toEqual([
      [2 * (1 * 0 + 2 * 1 + 3 * 2), 2 * (1 * 3 + 2 * 4 + 3 * 5)],
      [2 * (4 * 0 + 5 * 1 + 6 * 2), 2 * (4 * 3 + 5 * 4 + 6 * 5)],
    ]);
    expect(await s.array()).toEqual([1 + 0 + 1, 4 + 9 + 16]);
    [a, m, s].forEach((t) => t.dispose());
  });
});

describe('reductions of pending expressions', () => {
  // A broadcast weight's gradient is sum(g * x) over (N, H, W): the product need not be stored.
  const host = (shape: number[], salt: number) => ({
    shape,
    values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(salt + i * 0.37)),
  });
  const upload = (h: ReturnType<typeof host>) => T.tensor(h.values, { shape: h.shape, dtype: 'float32' });

  it('a reduction reads a pending product of two maps as it goes (no kernel for the product) and matches the CPU', async () => {
    // (N, H, W) sums over 1,024 and 1,152 terms (split: rows of H * W first) and a last-axis sum.
    const cases: [number[], number[]][] = [
      [
        [4, 8, 16, 16],
        [0, 2, 3],
      ],
      [
        [3, 5, 16, 24],
        [0, 2, 3],
      ],
      [[2, 6, 1024], [2]],
    ];
    for (const [shape, axis] of cases) {
      const [a, b] = [host(shape, 1), host(shape, 2)];
      expectClose(await runOnBoth([a, b], (x, y) => T.sum(T.mul(x, y), { axis })), { rtol: 1e-5, atol: 1e-5 });
      const [x, y] = [upload(a), upload(b)];
      await T.sync(x, y);
      const product = dispatchCount(gpu, (k) => k.startsWith('fused:mul'));
      const inlined = dispatchCount(gpu, (k) => k.includes('vec4-chunks+mul'));
      const s = T.sum(T.mul(x, y), { axis });
      await s.data();
      expect(
        dispatchCount(gpu, (k) => k.startsWith('fused:mul')),
        `${shape} product kernels`,
      ).toBe(product);
      expect(
        dispatchCount(gpu, (k) => k.includes('vec4-chunks+mul')),
        `${shape} inlined`,
      ).toBeGreaterThan(inlined);
      [x, y, s].forEach((t) => t.dispose());
    }
  });

  it('the product stays pending for a later reader, and operands laid out otherwise are stored first', async () => {
    const [a, b] = [host([4, 8, 16, 16], 3), host([4, 8, 16, 16], 4)];
    // The product is also returned: its reader after the reduction still gets it (computed then).
    const both = await runOnBoth([a, b], (x, y) => {
      const m = T.mul(x, y);
      const s = T.sum(m, { axis: [0, 2, 3] });
      return T.concat([T.reshape(s, [-1]), T.reshape(m, [-1])], { axis: 0 });
    });
    expectClose(both, { rtol: 1e-5, atol: 1e-5 });
    // A broadcast input (a per-channel scale) is not laid out like the sum's rows: stored, then reduced.
    const scale = host([1, 8, 1, 1], 5);
    expectClose(await runOnBoth([a, scale], (x, w) => T.sum(T.mul(x, w), { axis: [0, 2, 3] })), {
      rtol: 1e-5,
      atol: 1e-5,
    });
  });
});

describe('epilogue fusion (opt-in: WEBGPU_LRPO_EPILOGUE=1)', () => {
  it('matmul + bias + relu runs as one kernel and matches the unfused result; a result still held is computed once, unfused', async () => {
    gpu.ctx.epilogueFusion = true;
    try {
      const a = T.uniform(T.key(7), [33, 20], { min: -1, max: 1 });
      const w = T.uniform(T.key(8), [20, 12], { min: -1, max: 1 });
      const b = T.uniform(T.key(9), [12], { min: -1, max: 1 });
      await T.sync(a, w, b);
      const one = await countDispatches(() => T.relu(T.add(T.matmul(a, w), b)));
      expect(one.dispatches).toBe(1);
      // A matmul result that stays alive must exist on its own: matmul, then the fused elementwise kernel.
      const before = gpu.ctx.dispatcher.dispatchCount;
      const m = T.matmul(a, w);
      const r = T.relu(T.add(m, b));
      const rv = await r.data();
      expect(gpu.ctx.dispatcher.dispatchCount - before).toBe(2);
      for (let i = 0; i < rv.length; i++) expect(one.values[i]).toBeCloseTo(rv[i], 5);
      [a, w, b, m, r].forEach((t) => t.dispose());
    } finally {
      gpu.ctx.epilogueFusion = false;
    }
  });

  // The epilogue reads its other inputs at offsets computed from the view's offset, shape and
  // strides as WGSL constants: a per-channel bias, a residual read whole, read transposed, or read
  // from a slice (an offset), on convolution variants and matmuls of generated sizes.
  const viewKinds = ['whole', 'transposed', 'slice'] as const;
  const residualOf = (kind: (typeof viewKinds)[number], r: T.Tensor): T.Tensor =>
    kind === 'whole'
      ? r
      : kind === 'transposed'
        ? T.transpose(r, [0, 1, 3, 2])
        : T.slice(r, [0, 0, 1, 0], [r.shape[0], r.shape[1], r.shape[2], r.shape[3]]);
  /** Generated-looking host data of `shape`: a smooth function of the seed, the salt and the index. */
  const hostOf = (shape: number[], seed: number, salt: number) => ({
    shape,
    values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + salt + i * 0.7)),
  });
  /** f with epilogues on matches the CPU, and some kernel ran with an epilogue. */
  const expectEpilogueMatchesCpu = async (
    inputs: ReturnType<typeof hostOf>[],
    f: (...xs: T.Tensor[]) => T.Tensor,
  ): Promise<void> => {
    gpu.ctx.epilogueFusion = true;
    try {
      const absorbed = dispatchCount(gpu, (kernel) => kernel.includes('+epi:'));
      expectClose(await runOnBoth(inputs, f), { rtol: 1e-4, atol: 1e-4 });
      expect(dispatchCount(gpu, (kernel) => kernel.includes('+epi:'))).toBeGreaterThan(absorbed);
    } finally {
      gpu.ctx.epilogueFusion = false;
    }
  };
  it('conv2d + bias + a residual view + relu as one epilogue matches the CPU over generated shapes and views', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          c: fc.integer({ min: 1, max: 9 }),
          // Up to 8 output channels: kernels storing at 128 unrolled sites take 4-11 s each to
          // compile with an epilogue on lavapipe (why epilogues are opt-in there).
          o: fc.constantFrom(1, 3, 8),
          h: fc.integer({ min: 1, max: 11 }),
          w: fc.integer({ min: 1, max: 11 }),
          k: fc.constantFrom(1, 3),
          view: fc.constantFrom(...viewKinds),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ n, c, o, h, w, k, view, seed }) => {
          const pad = (k - 1) / 2;
          // The residual's stored shape: transposed views swap H and W, slices have a row more.
          const stored = view === 'transposed' ? [n, o, w, h] : view === 'slice' ? [n, o, h + 1, w] : [n, o, h, w];
          await expectEpilogueMatchesCpu(
            [[n, c, h, w], [o, c, k, k], [o], stored].map((shape, salt) => hostOf(shape, seed, salt)),
            (x, wt, b, r) => T.relu(T.add(T.conv2d(x, wt, { padding: pad, bias: b }), residualOf(view, r))),
          );
        },
      ),
      runs(3),
    );
  });

  it('a runs convolution storing vec4s (rows of a multiple of 8) takes a per-image shift and residual views as an epilogue', async () => {
    // epi4 loads a value broadcast along the row once per 4 outputs and the others element by
    // element: a [N, O, 1, 1] shift (a per-channel bias alike) and the residual whole, transposed or sliced.
    for (const view of viewKinds) {
      const [n, c, o, h, w] = [2, 3, 8, 5, 16];
      const stored = view === 'transposed' ? [n, o, w, h] : view === 'slice' ? [n, o, h + 1, w] : [n, o, h, w];
      await expectEpilogueMatchesCpu(
        [[n, c, h, w], [o, c, 3, 3], [n, o, 1, 1], stored].map((shape, salt) => hostOf(shape, 5, salt)),
        (x, wt, shift, r) => T.add(T.add(T.conv2d(x, wt, { padding: 1 }), shift), residualOf(view, r)),
      );
    }
  });

  it('matmul + a transposed or sliced addend as one epilogue matches the CPU over generated sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.integer({ min: 1, max: 40 }),
          k: fc.integer({ min: 1, max: 24 }),
          n: fc.integer({ min: 1, max: 40 }),
          transposed: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ m, k, n, transposed, seed }) => {
          await expectEpilogueMatchesCpu(
            [[m, k], [k, n], transposed ? [n, m] : [m + 2, n]].map((shape, salt) => hostOf(shape, seed, salt)),
            (a, b, r) =>
              T.mul(T.add(T.matmul(a, b), transposed ? T.transpose(r) : T.slice(r, [2, 0], [m + 2, n])), 0.5),
          );
        },
      ),
      runs(8),
    );
  });

  // Group normalisation stores at one site, so it takes an epilogue even where epilogues are
  // opt-in: a SiLU written after it (not as its activation) runs inside it when nothing else keeps
  // its result.
  it('silu(groupNorm(x)) runs as one group-norm kernel with an epilogue and matches the CPU over generated shapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }),
          groups: fc.integer({ min: 1, max: 3 }),
          perGroup: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 6 }),
          w: fc.integer({ min: 1, max: 9 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ n, groups, perGroup, h, w, seed }) => {
          const c = groups * perGroup;
          const f = (x: T.Tensor, weight: T.Tensor, bias: T.Tensor) => T.silu(T.groupNorm(x, { groups, weight, bias }));
          const inputs = [[n, c, h, w], [c], [c]].map((shape, salt) => hostOf(shape, seed, salt));
          const isFused = (kernel: string) => kernel.startsWith('groupNormAct:forward') && kernel.includes('+epi:');
          const fused = dispatchCount(gpu, isFused);
          const maps = dispatchCount(gpu, (kernel) => kernel.startsWith('fused:'));
          expectClose(await runOnBoth(inputs, f), { rtol: 1e-4, atol: 1e-4 });
          expect(dispatchCount(gpu, isFused)).toBe(fused + 1);
          expect(dispatchCount(gpu, (kernel) => kernel.startsWith('fused:'))).toBe(maps);
        },
      ),
      runs(12),
    );
  });

  it('a standardized result that is kept (as a gradient needs it) is computed once, unfused, and its consumer after it', async () => {
    const x = T.keep(T.uniform(T.key(21), [2, 4, 3, 8], { min: -2, max: 2 }));
    const before = dispatchCount(gpu, (kernel) => kernel.includes('+epi:'));
    const y = T.groupNorm(x, { groups: 2 });
    const z = T.silu(y);
    const [yv, zv] = await Promise.all([y.data(), z.data()]);
    expect(dispatchCount(gpu, (kernel) => kernel.includes('+epi:'))).toBe(before);
    for (let i = 0; i < yv.length; i++) expect(zv[i]).toBeCloseTo(yv[i] / (1 + Math.exp(-yv[i])), 5);
    const g = await T.grad((t: T.Tensor) => T.sum(T.silu(T.groupNorm(t, { groups: 2 }))))(x).data();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    [x, y, z].forEach((t) => t.dispose());
  });
});
