// Batching: for every primitive, vmap(f)(X) equals stacking f over X's examples, fuzzed over
// shapes, batch sizes, which inputs are batched and where their batch axis is; per-sample
// gradients equal a loop of grad; pytrees, nesting, errors, and no leaks.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Primitive, Tensor } from '../src/index.js';
import { batchRules } from '../src/autograd/batch-rules.js';
import { vjpRules } from '../src/autograd/rules.js';
import { arbitraryBatchSize, arbitraryInAxes } from '../src/testing/index.js';
import { batchedShape, interleaveBatch, runs } from './support/arbitraries.js';
import { primitiveCases, uploadInput, type PrimitiveCase } from './support/primitive-cases.js';

beforeAll(async () => {
  await T.setBackend('cpu');
});

/**
 * A case, a batch size, in-axes, an out-axis, and per-input values: B examples if batched, else
 * one. With `pattern`, exactly the inputs it marks are batched.
 */
const batchProblem = (prim: Primitive, pattern?: readonly boolean[]) =>
  primitiveCases[prim].chain((c) =>
    fc
      .tuple(
        fc.constant(c),
        arbitraryBatchSize(),
        arbitraryInAxes(
          c.inputs.map((i) => i.shape.length),
          { batchedOnly: pattern ? pattern.flatMap((b, i) => (b ? [i] : [])) : [] },
        ).map((axes) => (pattern ? axes.map((a, i) => (pattern[i] ? a : null)) : axes)),
        fc.constantFrom(0, -1),
      )
      .chain(([c, size, inAxes, outAxis]) =>
        fc
          .tuple(
            ...c.inputs.map((input, i) =>
              fc.array(input.values(input.shape.reduce((a, b) => a * b, 1)), {
                minLength: inAxes[i] === null ? 1 : size,
                maxLength: inAxes[i] === null ? 1 : size,
              }),
            ),
          )
          .map((examples) => ({ c, size, inAxes, outAxis, examples })),
      ),
  );

/** Asserts equal shapes and values (floats to 1e-9 relative: batched kernels may sum in another order). */
async function expectSameTensor(got: Tensor, want: Tensor, label: string): Promise<void> {
  expect(got.shape, label).toEqual(want.shape);
  expect(got.dtype, label).toBe(want.dtype);
  const [g, w] = [await got.data(), await want.data()];
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(w[i]) && Number.isNaN(g[i])) continue;
    expect(
      Math.abs(g[i] - w[i]) <= 1e-9 * (1 + Math.abs(w[i])),
      `${label}: element ${i} is ${g[i]}, the loop gives ${w[i]}`,
    ).toBe(true);
  }
}

async function expectVmapEqualsLoop(p: {
  c: PrimitiveCase;
  size: number;
  inAxes: (number | null)[];
  outAxis: number;
  examples: number[][][];
}): Promise<void> {
  const { c, size, inAxes, outAxis, examples } = p;
  const label = `${c.label}, batch ${size}, inAxes ${JSON.stringify(inAxes)}, outAxes ${outAxis}`;
  const batched = c.inputs.map((input, i) => {
    const axis = inAxes[i];
    if (axis === null) return uploadInput(input, examples[i][0], 'cpu');
    return uploadInput(
      { ...input, shape: batchedShape(input.shape, axis, size) },
      interleaveBatch(examples[i], input.shape, axis),
      'cpu',
    );
  });
  const rows = Array.from({ length: size }, (_, b) =>
    c.inputs.map((input, i) => (inAxes[i] === null ? batched[i] : uploadInput(input, examples[i][b], 'cpu'))),
  );
  const got = T.vmap(c.f, { inAxes, outAxes: outAxis })(...batched);
  const want = T.scope(() =>
    T.stack(
      rows.map((xs) => c.f(...xs)),
      { axis: outAxis },
    ),
  );
  try {
    await expectSameTensor(got, want, label);
  } finally {
    [got, want, ...batched, ...rows.flatMap((xs, b) => xs.filter((x, i) => inAxes[i] !== null || b < 0))].forEach((x) =>
      x.dispose(),
    );
  }
}

describe('a batching rule per primitive', () => {
  it('the batching and VJP tables cover the same primitives', () => {
    expect(Object.keys(batchRules).sort()).toEqual(Object.keys(vjpRules).sort());
  });

  for (const prim of Object.keys(primitiveCases) as Primitive[]) {
    it(`${prim}: vmap equals stacking f over the examples`, async () => {
      const before = T.memory().cpu.tensors;
      await fc.assert(fc.asyncProperty(batchProblem(prim), expectVmapEqualsLoop), runs(12));
      expect(T.memory().cpu.tensors).toBe(before);
    });
  }
});

const f64 = (data: T.TensorData) => T.tensor(data, { dtype: 'float64', backend: 'cpu' });

/** Row b of x along axis 0 (a fresh tensor). */
const row = (x: Tensor, b: number): Tensor => T.scope(() => T.squeeze(T.slice(x, [b], [b + 1]), 0));

/** Every way of batching some of n inputs (at least one). */
const patterns = (n: number): boolean[][] =>
  Array.from({ length: 2 ** n - 1 }, (_, m) => Array.from({ length: n }, (_, i) => (((m + 1) >> i) & 1) === 1));

describe('every batching pattern of the primitives with several inputs', () => {
  const multi = (Object.keys(primitiveCases) as Primitive[]).filter(
    (p) => fc.sample(primitiveCases[p], 1)[0].inputs.length > 1,
  );
  for (const prim of multi) {
    const arity = fc.sample(primitiveCases[prim], 1)[0].inputs.length;
    it(`${prim}: each subset of batched inputs equals the loop`, async () => {
      for (const pattern of patterns(arity)) {
        await fc.assert(fc.asyncProperty(batchProblem(prim, pattern), expectVmapEqualsLoop), runs(6));
      }
    });
  }
});

describe('vmap', () => {
  // A two-layer network on one example, its parameters a record.
  type Params = { w1: Tensor; b1: Tensor; w2: Tensor };
  const loss = (p: Params, x: Tensor, y: Tensor): Tensor => {
    const h = T.tanh(T.add(T.matmul(x, p.w1), p.b1));
    return T.mean(T.square(T.sub(T.matmul(h, p.w2), y)));
  };
  const params = (): Params => ({
    w1: f64([
      [0.3, -0.2, 0.5],
      [0.1, 0.4, -0.6],
    ]),
    b1: f64([0.05, -0.1, 0.2]),
    w2: f64([[0.7], [-0.3], [0.2]]),
  });

  it('per-sample gradients: vmap(grad(loss), { inAxes: [null, 0, 0] }) equals a loop of grad', async () => {
    const p = params();
    const xs = f64([
      [1, 2],
      [-0.5, 0.3],
      [0.2, -1.1],
      [2, 0],
    ]);
    const ys = f64([[0.5], [-1], [0.25], [0]]);
    const before = T.memory().cpu.tensors;
    const per = T.vmap(T.grad(loss), { inAxes: [null, 0, 0] })(p, xs, ys);
    for (let b = 0; b < 4; b++) {
      const [xb, yb] = [row(xs, b), row(ys, b)];
      const g = T.grad(loss)(p, xb, yb);
      for (const k of ['w1', 'b1', 'w2'] as const) {
        const got = row(per[k], b);
        await expectSameTensor(got, g[k], `d loss / d ${k}, example ${b}`);
        got.dispose();
        g[k].dispose();
      }
      [xb, yb].forEach((t) => t.dispose());
    }
    expect(per.w1.shape).toEqual([4, 2, 3]);
    Object.values(per).forEach((t) => t.dispose());
    expect(T.memory().cpu.tensors).toBe(before);
    [xs, ys, ...Object.values(p)].forEach((t) => t.dispose());
  });

  it('take batches shared data with per-example indices, per-example data with shared indices, and both', async () => {
    const x = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const xs = f64([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ]);
    const idx = T.tensor(
      [
        [2, 0],
        [-1, 1],
      ],
      { dtype: 'int32', backend: 'cpu' },
    );
    const along1 = (a: Tensor, i: Tensor) => T.take(a, i, { axis: 1 });
    for (const [label, inAxes, want] of [
      [
        'shared x',
        [null, 0],
        [
          [
            [3, 1],
            [6, 4],
          ],
          [
            [3, 2],
            [6, 5],
          ],
        ],
      ],
      [
        'shared indices',
        [0, null],
        [
          [
            [
              [3, 1],
              [3, 2],
            ],
            [
              [6, 4],
              [6, 5],
            ],
          ],
          [
            [
              [9, 7],
              [9, 8],
            ],
            [
              [12, 10],
              [12, 11],
            ],
          ],
        ],
      ],
      [
        'both',
        [0, 0],
        [
          [
            [3, 1],
            [6, 4],
          ],
          [
            [9, 8],
            [12, 11],
          ],
        ],
      ],
    ] as const) {
      const got = T.vmap(along1, { inAxes: [...inAxes] })(inAxes[0] === null ? x : xs, idx);
      expect(await got.array(), label).toEqual(want);
      got.dispose();
    }
    [x, xs, idx].forEach((t) => t.dispose());
  });

  it('takes pytrees with per-leaf in-axes and returns pytrees with per-leaf out-axes', async () => {
    const a = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]); // batch along axis 1 (3 examples of [2])
    const b = f64([10, 20, 30]);
    const s = f64(2);
    const out = T.vmap(
      (t: { a: Tensor; b: Tensor }, scale: Tensor) => ({ sum: T.mul(T.add(T.sum(t.a), t.b), scale), same: scale }),
      {
        inAxes: [{ a: 1, b: 0 }, null],
        outAxes: { sum: 0, same: null },
      },
    )({ a, b }, s);
    expect(await out.sum.array()).toEqual([30, 54, 78]);
    expect(await out.same.array()).toBe(2);
    out.sum.dispose();
    [a, b, s].forEach((t) => t.dispose());
  });

  it('an output that does not depend on the batch is repeated along it', async () => {
    const x = f64([1, 2, 3]);
    const c = f64([5, 6]);
    const out = T.vmap((_: Tensor) => T.mul(c, 2), { inAxes: 0 })(x);
    expect(await out.array()).toEqual([
      [10, 12],
      [10, 12],
      [10, 12],
    ]);
    [x, c, out].forEach((t) => t.dispose());
  });

  it('nests: vmap(vmap(f)) equals the double loop (an outer product)', async () => {
    const u = f64([1, 2, 3]);
    const v = f64([1, -1]);
    const outer = T.vmap((a: Tensor) => T.vmap((b: Tensor) => T.mul(T.exp(a), b))(v))(u);
    const want = [1, 2, 3].map((a) => [1, -1].map((b) => Math.exp(a) * b));
    const got = (await outer.array()) as number[][];
    got.forEach((r, i) => r.forEach((val, j) => expect(val).toBeCloseTo(want[i][j], 12)));
    [u, v, outer].forEach((t) => t.dispose());
  });

  it('gives clear errors for bad axes and batch sizes', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const y = f64([1, 2, 3]);
    expect(() => T.vmap(T.add)(x, y)).toThrow(/disagree on the batch size: \[2, 2\] along axis 0, \[3\] along axis 0/);
    expect(() => T.vmap(T.exp, { inAxes: null })(x)).toThrow(/no argument is batched/);
    expect(() => T.vmap(T.exp, { inAxes: 2 })(x)).toThrow(/axis 2 for argument 0 is out of range/);
    expect(() => T.vmap(T.add, { inAxes: [0] })(x, y)).toThrow(/inAxes has 1 entries but f got 2/);
    expect(() => T.vmap(T.exp, { outAxes: null })(x)).toThrow(/depends on the batched inputs but its outAxes is null/);
    expect(() => T.vmap(T.exp)(T.zeros([0, 2], { backend: 'cpu' }))).toThrow(/the batch is empty/);
    [x, y].forEach((t) => t.dispose());
  });

  it('frees everything it made inside a scope and out of one', () => {
    const x = f64([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const before = T.memory().cpu.tensors;
    const f = T.vmap((r: Tensor) => T.softmax(T.mul(r, T.sum(r))));
    T.scope(() => {
      f(x);
    });
    f(x).dispose();
    expect(T.memory().cpu.tensors).toBe(before);
    x.dispose();
  });
});
