// Multi-tensor optimizer updates: AdamW and clipGradNorm pack all leaves into flat tensors, so a
// step costs a few kernels whatever the leaf count, and still equal the per-leaf formulas.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { backendFor } from '../src/tensor/backends.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { packLeaves, unpackLeaves } from '../src/optim/tree-util.js';
import { runs, shapeArb, sizeOf } from './support/arbitraries.js';
import { useBackends } from './support/backends.js';

useBackends();

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** One float64 AdamW step on plain numbers (torch.optim.AdamW written out). */
function referenceStep(p: number[], g: number[], m: number[], v: number[], t: number, lr: number, wd: number) {
  const m1 = m.map((mi, i) => BETA1 * mi + (1 - BETA1) * g[i]);
  const v1 = v.map((vi, i) => BETA2 * vi + (1 - BETA2) * g[i] * g[i]);
  const p1 = p.map(
    (pi, i) => pi - lr * (m1[i] / (1 - BETA1 ** t) / (Math.sqrt(v1[i] / (1 - BETA2 ** t)) + EPS) + wd * pi),
  );
  return { p: p1, m: m1, v: v1 };
}

/** Deterministic values in [-2, 2) for leaf `leaf` at step `step`. */
const valuesFor = (n: number, leaf: number, step: number): number[] =>
  Array.from({ length: n }, (_, i) => ((i * 7919 + leaf * 104729 + step * 1299709) % 4001) / 1000.25 - 2);

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  it('adamw over a tree of leaves of any shape (0-d, empty, odd) equals the float64 reference leaf by leaf', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(shapeArb({ maxRank: 3 }), { minLength: 1, maxLength: 6 }), async (shapes) => {
        const lr = 0.03;
        const wd = 0.05;
        const opt = T.adamw({ lr, weightDecay: wd });
        let host = shapes.map((s, i) => ({
          p: valuesFor(sizeOf(s), i, 0),
          m: new Array<number>(sizeOf(s)).fill(0),
          v: new Array<number>(sizeOf(s)).fill(0),
        }));
        let params = { leaves: shapes.map((s, i) => T.tensor(host[i].p, { shape: s, backend })) };
        let state = opt.init(params);
        for (let step = 1; step <= 3; step++) {
          const gHost = shapes.map((s, i) => valuesFor(sizeOf(s), i, step));
          const grads = { leaves: shapes.map((s, i) => T.tensor(gHost[i], { shape: s, backend })) };
          const next = opt.update(grads, state, params);
          T.disposeTree([grads, params, state]);
          ({ params, state } = next);
          host = host.map((h, i) => referenceStep(h.p, gHost[i], h.m, h.v, step, lr, wd));
        }
        for (const [i, s] of shapes.entries()) {
          for (const [tree, want] of [
            [params.leaves[i], host[i].p],
            [state.m.leaves[i], host[i].m],
            [state.v.leaves[i], host[i].v],
          ] as const) {
            expect(tree.shape).toEqual(s);
            Array.from(await tree.data()).forEach((x, k) => expect(x).toBeCloseTo(want[k], 5));
          }
        }
        T.disposeTree([params, state]);
      }),
      runs(10),
    );
  });

  it('clipGradNorm over many leaves equals the per-leaf formula and keeps every shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(shapeArb({ maxRank: 3 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(0.5, 3, 100),
        async (shapes, maxNorm) => {
          const host = shapes.map((s, i) => valuesFor(sizeOf(s), i, 1));
          const grads = shapes.map((s, i) => T.tensor(host[i], { shape: s, backend }));
          const norm = Math.sqrt(host.flat().reduce((a, x) => a + x * x, 0));
          const scale = Math.min(1, maxNorm / (norm + 1e-6));
          const clipped = T.clipGradNorm(grads, maxNorm);
          expect((await clipped.norm.data())[0]).toBeCloseTo(norm, 3);
          for (const [i, g] of clipped.grads.entries()) {
            expect(g.shape).toEqual(shapes[i]);
            Array.from(await g.data()).forEach((x, k) => expect(x).toBeCloseTo(host[i][k] * scale, 5));
          }
          T.disposeTree([grads, clipped]);
        },
      ),
      runs(10),
    );
  });

  it('unpacked leaves pack again as a view of the same storage (no new bytes)', async () => {
    const flat = T.arange(30, undefined, 1, { dtype: 'float32', backend });
    const like = [
      T.zeros([2, 3], { backend }),
      T.zeros([], { backend }),
      T.zeros([0, 4], { backend }),
      T.zeros([23], { backend }),
    ];
    const views = unpackLeaves(flat, like);
    expect(views.map((v) => v.shape)).toEqual([[2, 3], [], [0, 4], [23]]);
    const bytes = T.memory()[backend].bytes;
    const again = packLeaves(views);
    expect(T.memory()[backend].bytes).toBe(bytes);
    expect(Array.from(await again.data())).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(Array.from(await views[1].data())).toEqual([6]);
    T.disposeTree([flat, like, views, again]);
  });

  it('adamw on a tree mixing float32 and float64 leaves updates each in its own dtype', async () => {
    if (backend === 'webgpu') return; // float64 is CPU-only
    const opt = T.adamw({ lr: 0.1, weightDecay: 0 });
    const params = {
      a: T.tensor([1, 2], { dtype: 'float64', backend }),
      b: T.tensor([3], { dtype: 'float32', backend }),
      c: T.tensor([4], { dtype: 'float64', backend }),
    };
    const grads = {
      a: T.tensor([1, -1], { dtype: 'float64', backend }),
      b: T.tensor([1], { dtype: 'float32', backend }),
      c: T.tensor([-1], { dtype: 'float64', backend }),
    };
    const state = opt.init(params);
    const next = opt.update(grads, state, params);
    expect([next.params.a.dtype, next.params.b.dtype, next.params.c.dtype]).toEqual(['float64', 'float32', 'float64']);
    // The first step moves every entry by lr against the sign of its gradient.
    expect(Array.from(await next.params.a.data())).toEqual([0.9, 2.1].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(await next.params.c.data())).toEqual([expect.closeTo(4.1, 6)]);
    T.disposeTree([params, grads, state, next]);
  });
});

describe('dispatches on webgpu', () => {
  /** Dispatches of one clipped AdamW update (after a first one) of `leaves` leaves of odd shapes. */
  async function dispatchesPerUpdate(leaves: number): Promise<number> {
    const gpu = backendFor('webgpu') as WebGpuBackend;
    const opt = T.adamw({ lr: 0.01 });
    const shapeOf = (i: number) => (i % 3 === 0 ? [3, 5] : i % 3 === 1 ? [7] : [2, 1, 3]);
    let params = Array.from({ length: leaves }, (_, i) => T.ones(shapeOf(i)));
    let state = opt.init(params);
    let counted = 0;
    for (let step = 0; step < 2; step++) {
      const grads = params.map((p, i) => T.transpose(T.mul(T.ones(p.shape), i + step)));
      const before = gpu.ctx.dispatcher.dispatchCount;
      const next = T.scope(() =>
        opt.update(
          T.clipGradNorm(
            grads.map((g) => T.transpose(g)),
            1,
          ).grads,
          state,
          params,
        ),
      );
      await next.params[0].data();
      await next.state.v[0].data();
      counted = gpu.ctx.dispatcher.dispatchCount - before;
      T.disposeTree([grads, params, state]);
      ({ params, state } = next);
    }
    T.disposeTree([params, state]);
    return counted;
  }

  it('a clipped adamw update costs as many dispatches for 40 leaves as for 4 (the grads aside)', async () => {
    // The grads here are fused expressions: each runs once when packed, so subtract one per leaf.
    // 43 and 379 packed values: neither a multiple of 4, so both norms take the same reduction kernel
    // (a vec4 one computes the squares as it reads them: one dispatch less).
    const few = (await dispatchesPerUpdate(4)) - 4;
    const many = (await dispatchesPerUpdate(40)) - 40;
    expect(many).toBe(few);
    expect(few).toBeLessThan(12);
  });
});
