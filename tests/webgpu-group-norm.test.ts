// The fused group normalisation's three WebGPU kernels (normalisation + affine + activation, its
// input gradient, its weight and bias gradients) against the CPU reference over generated shapes:
// one or many rows, groups of one value up to past a workgroup's stride, spatial sizes that take
// the vec4 kernels and ones that do not, offsets into storage, strided views, empty tensors, rows
// past the workgroup-grid limit, and both row strategies (a thread's 8 lanes a group on CPU
// adapters, 128 lanes on GPUs). The input gradient leaves the parameter sums for the op after it:
// that hand-off is checked to be taken only by its own inputs and right after it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { GroupNormActParams, NormActivation } from '../src/kernels/params.js';
import { bind } from '../src/tensor/primitives.js';
import { groupNormActOf, inputGradOf, paramGradsOf } from '../src/autograd/group-norm-act-rule.js';
import { runs } from './support/arbitraries.js';
import {
  dispatchCount,
  expectClose,
  runOnBoth,
  useBackends,
  useRowKernelStrategies,
  type HostTensor,
} from './support/backends.js';

useBackends();

const gpu = useRowKernelStrategies();

const values = (n: number, seed: number, scale = 3): number[] =>
  Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * scale + Math.cos(i * 0.37 + seed));

interface Problem {
  readonly x: HostTensor;
  readonly w: HostTensor;
  readonly b: HostTensor;
  readonly g: HostTensor;
  readonly p: GroupNormActParams;
}

const problem = (r: number, groups: number, cpg: number, s: number, act: NormActivation, seed: number): Problem => {
  const c = groups * cpg;
  return {
    x: { values: values(r * c * s, seed), shape: [r, c, s] },
    w: { values: values(c, seed + 1, 1), shape: [c] },
    b: { values: values(c, seed + 2, 1), shape: [c] },
    g: { values: values(r * c * s, seed + 3, 1), shape: [r, c, s] },
    p: { groups, eps: 1e-5, act },
  };
};

/** The three primitives of a problem, each compared with the CPU. */
async function expectAllMatch({ x, w, b, g, p }: Problem, tol = { rtol: 2e-4, atol: 2e-5 }): Promise<void> {
  expectClose(await runOnBoth([x, w, b], (tx, tw, tb) => bind('groupNormAct', [tx, tw, tb], p)), tol);
  expectClose(await runOnBoth([x, w, b, g], (...ts) => bind('groupNormActBackward', ts, p)), tol);
  // Sums over every row and position: their rounding grows with the count.
  expectClose(await runOnBoth([x, w, b, g], (...ts) => bind('groupNormActParamGrads', ts, p)), {
    rtol: 1e-3,
    atol: 1e-4,
  });
}

const shapes = fc.record({
  r: fc.integer({ min: 1, max: 5 }),
  groups: fc.integer({ min: 1, max: 4 }),
  cpg: fc.integer({ min: 1, max: 5 }),
  // 1, odd, tiny, multiples of 4 (the vec4 kernels) and past 128 lanes.
  s: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(12, 16, 64, 130, 300)),
  act: fc.constantFrom<NormActivation>('identity', 'silu'),
  seed: fc.integer({ min: 0, max: 100 }),
});

describe('fused group normalisation on WebGPU', () => {
  for (const strategy of ['thread-per-row', 'workgroup-per-row'] as const) {
    it(`matches the CPU over generated shapes, both activations (${strategy})`, async () => {
      gpu().ctx.rowKernels = strategy;
      try {
        await fc.assert(
          fc.asyncProperty(shapes, async ({ r, groups, cpg, s, act, seed }) =>
            expectAllMatch(problem(r, groups, cpg, s, act, seed)),
          ),
          runs(25),
        );
      } finally {
        gpu().ctx.rowKernels = 'auto';
      }
    });
  }

  it('handles offsets into storage, strided views, broadcast parameters and empty tensors', async () => {
    const { x, w, b, g, p } = problem(3, 2, 3, 8, 'silu', 7);
    // A view starting at an odd offset (the scalar kernels), and transposed inputs (copied dense first).
    const flat = (h: HostTensor): HostTensor => ({
      values: [0.5, ...Array.from(h.values)],
      shape: [h.values.length + 1],
    });
    const shifted = (t: T.Tensor) => T.reshape(T.slice(t, [1]), x.shape);
    expectClose(
      await runOnBoth([flat(x), w, b, flat(g)], (tx, tw, tb, tg) =>
        bind('groupNormActBackward', [shifted(tx), tw, tb, shifted(tg)], p),
      ),
      { rtol: 2e-4, atol: 2e-5 },
    );
    const swapped = (t: T.Tensor) => T.transpose(T.reshape(t, [x.shape[0], x.shape[2], x.shape[1]]), [0, 2, 1]);
    for (const prim of ['groupNormActBackward', 'groupNormActParamGrads'] as const) {
      expectClose(
        await runOnBoth([x, w, b, g], (tx, tw, tb, tg) => bind(prim, [swapped(tx), tw, tb, swapped(tg)], p)),
        { rtol: 1e-3, atol: 1e-4 },
      );
    }
    // Weight and bias as stride-0 views of one value.
    expectClose(
      await runOnBoth([x, { values: [1.5], shape: [1] }], (tx, one) =>
        bind('groupNormAct', [tx, T.broadcastTo(one, [6]), T.broadcastTo(one, [6])], p),
      ),
      { rtol: 2e-4, atol: 2e-5 },
    );
    // No rows, and rows of no values: outputs of their shapes; parameter gradients zero.
    for (const shape of [
      [0, 6, 4],
      [2, 6, 0],
    ]) {
      const empty = { values: [], shape };
      expectClose(await runOnBoth([empty, w, b], (...ts) => bind('groupNormAct', ts, p)), { rtol: 0, atol: 0 });
      expectClose(await runOnBoth([empty, w, b, empty], (...ts) => bind('groupNormActParamGrads', ts, p)), {
        rtol: 0,
        atol: 0,
      });
    }
  });

  it('rows and groups past the 65,535-workgroup dimension limit still normalise (the grid folds)', async () => {
    await expectAllMatch(problem(35_000, 2, 1, 2, 'silu', 3));
  });

  it('the input gradient hands its parameter sums to the parameter gradients of the same inputs, dispatched next', async () => {
    const { x, w, b, g, p } = problem(4, 2, 2, 16, 'silu', 11);
    const up = (h: HostTensor) => T.tensor(Float64Array.from(h.values), { shape: [...h.shape], dtype: 'float32' });
    const [tx, tw, tb, tg] = [x, w, b, g].map(up);
    const other = up(g);
    await T.sync(tx, tw, tb, tg, other);
    const reference = T.scope(() => T.keep(bind('groupNormActParamGrads', [tx, tw, tb, tg], p)));
    const expected = await reference.data();
    const count = () => dispatchCount(gpu(), (k) => k.startsWith('groupNormAct:paramGrads'));
    const sums = async (between: () => void, cotangent = tg) => {
      const before = count();
      const out = T.scope(() => {
        T.dispose(bind('groupNormActBackward', [tx, tw, tb, tg], p));
        between();
        return T.keep(bind('groupNormActParamGrads', [tx, tw, tb, cotangent], p));
      });
      const data = await out.data();
      out.dispose();
      return { data, ownKernel: count() - before };
    };
    // Right after: the hand-off is taken (no parameter kernel of its own), same sums as alone.
    const taken = await sums(() => undefined);
    expect(taken.ownKernel).toBe(0);
    expectClose({ cpu: expected, gpu: taken.data, shape: [2, 4], dtype: 'float32' }, { rtol: 1e-6, atol: 1e-7 });
    // Another dispatch in between, or other inputs: its own kernel, and its own inputs' sums.
    const afterOther = await sums(() => void T.dispose(T.uniform(T.key(9), [8]))); // a kernel dispatched at once
    expect(afterOther.ownKernel).toBe(1);
    expectClose({ cpu: expected, gpu: afterOther.data, shape: [2, 4], dtype: 'float32' }, { rtol: 1e-6, atol: 1e-7 });
    const otherInputs = await sums(() => undefined, other);
    expect(otherInputs.ownKernel).toBe(1);
    const cpu = await runOnBoth([x, w, b, g], (...ts) => bind('groupNormActParamGrads', ts, p));
    expectClose({ ...cpu, gpu: otherInputs.data }, { rtol: 1e-3, atol: 1e-4 });
    // Nothing is left behind: an untaken hand-off is released by the next sync.
    T.dispose(bind('groupNormActBackward', [tx, tw, tb, tg], p));
    expect(gpu().ctx.handOffPending).toBe(true);
    await T.sync();
    expect(gpu().ctx.handOffPending).toBe(false);
    T.dispose([tx, tw, tb, tg, other, reference]);
  });

  it('the CPU reference is the composition of public ops (float64), for all three primitives', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async ({ r, groups, cpg, s, act, seed }) => {
        const { x, w, b, g, p } = problem(r, groups, cpg, s, act, seed);
        const up = (h: HostTensor) =>
          T.tensor(Float64Array.from(h.values), { shape: [...h.shape], dtype: 'float64', backend: 'cpu' });
        const pairs = T.scope(() => {
          const [tx, tw, tb, tg] = [x, w, b, g].map(up);
          return [
            [bind('groupNormAct', [tx, tw, tb], p), groupNormActOf(tx, tw, tb, p)],
            [bind('groupNormActBackward', [tx, tw, tb, tg], p), inputGradOf(tx, tw, tb, tg, p)],
            [bind('groupNormActParamGrads', [tx, tw, tb, tg], p), paramGradsOf(tx, tw, tb, tg, p)],
          ].map((pair) => pair.map((t) => T.keep(t)));
        });
        for (const [fused, composed] of pairs) {
          const [a, e] = await Promise.all([fused.data(), composed.data()]);
          expectClose({ cpu: e, gpu: a, shape: composed.shape, dtype: 'float64' }, { rtol: 1e-9, atol: 1e-9 });
        }
        T.dispose(pairs.flat());
      }),
      runs(15),
    );
  });

  it('refuses an unknown activation, naming the choices', () => {
    const x = T.zeros([1, 2, 2]);
    expect(() => T.groupNorm(x, { groups: 1, activation: 'gelu' as NormActivation })).toThrow(
      /activation "gelu" is not one of identity, silu/,
    );
    x.dispose();
  });
});
