// Acceptance: gradients of whole models and of the transforms themselves — an MLP and a
// conv + groupNorm + silu residual block against finite differences (CPU float64) and WebGPU
// against the CPU (float32), grad of grad against hand-derived second derivatives, and the
// contracts of stopGradient, hasAux and argnums.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { expectClose, useBackends } from './support/backends.js';
import { runs, sizeOf } from './support/arbitraries.js';

useBackends();

type Backend = 'cpu' | 'webgpu';

/** A tensor from host values (float64 on the CPU unless told otherwise). */
const host = (
  values: readonly number[],
  shape: readonly number[],
  dtype: DType = 'float64',
  backend: Backend = 'cpu',
): Tensor => T.tensor(Float64Array.from(values), { shape: [...shape], dtype, backend });

const valuesArb = (n: number, min = -1, max = 1) =>
  fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });

/** float32-exact values, so the CPU and WebGPU runs start from identical inputs. */
const values32Arb = (n: number, min = -1, max = 1) => valuesArb(n, min, max).map((v) => v.map(Math.fround));

/**
 * Finite differences of the scalar loss(leaves) w.r.t. every element of every leaf, in float64 on
 * the CPU: independent of vjp and of checkGrad. Central differences at steps h and h/2, combined
 * by Richardson extrapolation ((4 D(h/2) - D(h)) / 3), whose error falls as h^4 instead of h^2:
 * near a group of zero variance the standardisation curves so sharply that a plain central
 * difference at h = 1e-6 missed a correct gradient by 1e-7.
 */
async function finiteDifferenceGrads(
  loss: (leaves: Tensor[]) => Tensor,
  leaves: readonly Tensor[],
  eps = 1e-6,
): Promise<Float64Array[]> {
  const bases = await Promise.all(leaves.map(async (l) => Float64Array.from(await l.data())));
  const evaluate = async (i: number, data: Float64Array): Promise<number> => {
    const bumped = host(Array.from(data), leaves[i].shape);
    const y = T.scope(() => loss(leaves.map((l, k) => (k === i ? bumped : l))));
    const v = (await y.data())[0];
    y.dispose();
    bumped.dispose();
    return v;
  };
  const central = async (i: number, base: Float64Array, j: number, h: number): Promise<number> => {
    const plus = Float64Array.from(base);
    const minus = Float64Array.from(base);
    plus[j] += h;
    minus[j] -= h;
    return ((await evaluate(i, plus)) - (await evaluate(i, minus))) / (2 * h);
  };
  return Promise.all(
    bases.map(async (base, i) => {
      const out = new Float64Array(base.length);
      for (let j = 0; j < base.length; j++) {
        out[j] = (4 * (await central(i, base, j, eps / 2)) - (await central(i, base, j, eps))) / 3;
      }
      return out;
    }),
  );
}

const expectCloseArrays = (
  actual: ArrayLike<number>,
  want: ArrayLike<number>,
  { rtol = 1e-6, atol = 1e-8 } = {},
  what = '',
): void => {
  expect(actual.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(actual[i] - want[i]);
    if (!(err <= atol + rtol * Math.abs(want[i]))) {
      throw new Error(
        `${what} element ${i}: got ${actual[i]}, want ${want[i]} (|error| ${err.toExponential(2)} > atol ${atol} + rtol ${rtol} * |want|)`,
      );
    }
  }
};

/** Asserts no tensor is left alive on either backend by `run` beyond what it returns and disposes. */
async function expectNoLeaks(run: () => Promise<void>): Promise<void> {
  const before = T.memory();
  await run();
  const after = T.memory();
  expect(after.webgpu.tensors, 'live WebGPU tensors').toBe(before.webgpu.tensors);
  expect(after.cpu.tensors, 'live CPU tensors').toBe(before.cpu.tensors);
  expect(after.webgpu.bytes, 'live WebGPU bytes').toBe(before.webgpu.bytes);
}

// --- (a) a 2-layer MLP ---------------------------------------------------------------------------

interface MlpParams {
  readonly w1: Tensor;
  readonly b1: Tensor;
  readonly w2: Tensor;
  readonly b2: Tensor;
}
const MLP_KEYS = ['w1', 'b1', 'w2', 'b2'] as const;

/** mean((silu(x w1 + b1) w2 + b2 - y)^2). */
const mlpLoss = (p: MlpParams, x: Tensor, y: Tensor): Tensor => {
  const hidden = T.silu(T.add(T.matmul(x, p.w1), p.b1));
  const out = T.add(T.matmul(hidden, p.w2), p.b2);
  return T.mean(T.square(T.sub(out, y)));
};

const mlpSizes = fc.record({
  batch: fc.integer({ min: 1, max: 4 }),
  inputs: fc.integer({ min: 1, max: 3 }),
  hidden: fc.integer({ min: 1, max: 4 }),
  outputs: fc.integer({ min: 1, max: 2 }),
});

const mlpShapes = ({
  batch,
  inputs,
  hidden,
  outputs,
}: {
  batch: number;
  inputs: number;
  hidden: number;
  outputs: number;
}) => ({
  w1: [inputs, hidden],
  b1: [hidden],
  w2: [hidden, outputs],
  b2: [outputs],
  x: [batch, inputs],
  y: [batch, outputs],
});

/** Sizes, then values for every parameter and the data. */
const mlpProblem = mlpSizes.chain((sizes) => {
  const shapes = mlpShapes(sizes);
  return fc.record(
    Object.fromEntries(
      Object.entries(shapes).map(([k, s]) => [k, valuesArb(sizeOf(s)).map((v) => ({ values: v, shape: s }))]),
    ) as Record<keyof typeof shapes, fc.Arbitrary<{ values: number[]; shape: number[] }>>,
  );
});

describe('a 2-layer MLP', () => {
  it('grad of the MLP loss is a tree with the params keys and shapes, equal to finite differences', async () => {
    await fc.assert(
      fc.asyncProperty(mlpProblem, async (problem) => {
        const params = Object.fromEntries(
          MLP_KEYS.map((k) => [k, host(problem[k].values, problem[k].shape)]),
        ) as unknown as MlpParams;
        const x = host(problem.x.values, problem.x.shape);
        const y = host(problem.y.values, problem.y.shape);
        const grads = T.grad(mlpLoss)(params, x, y);
        expect(Object.keys(grads).sort()).toEqual([...MLP_KEYS].sort());
        for (const k of MLP_KEYS) {
          expect(grads[k].shape, k).toEqual(params[k].shape);
          expect(grads[k].dtype, k).toBe('float64');
        }
        const leaves = MLP_KEYS.map((k) => params[k]);
        const numeric = await finiteDifferenceGrads(([w1, b1, w2, b2]) => mlpLoss({ w1, b1, w2, b2 }, x, y), leaves);
        for (const [i, k] of MLP_KEYS.entries())
          expectCloseArrays(await grads[k].data(), numeric[i], { rtol: 1e-6, atol: 1e-8 }, `d loss / d ${k}`);
        [...leaves, ...MLP_KEYS.map((k) => grads[k]), x, y].forEach((t) => t.dispose());
      }),
      runs(25),
    );
  });

  it('checkGrad passes on the MLP loss as a closure over the tree leaves', async () => {
    await fc.assert(
      fc.asyncProperty(mlpProblem, async (problem) => {
        const x = host(problem.x.values, problem.x.shape);
        const y = host(problem.y.values, problem.y.shape);
        const leaves = MLP_KEYS.map((k) => host(problem[k].values, problem[k].shape));
        const report = await T.checkGrad((w1, b1, w2, b2) => mlpLoss({ w1, b1, w2, b2 }, x, y), leaves);
        expect(report.ok, report.message).toBe(true);
        [...leaves, x, y].forEach((t) => t.dispose());
      }),
      runs(10),
    );
  });
});

// --- (b) a conv2d + groupNorm + silu residual block ----------------------------------------------

interface BlockParams {
  readonly w: Tensor;
  readonly b: Tensor;
  readonly gamma: Tensor;
  readonly beta: Tensor;
}
const BLOCK_KEYS = ['w', 'b', 'gamma', 'beta'] as const;

/** x + silu(groupNorm(conv2d(x, w, same padding, bias b), gamma, beta)): a diffusion-UNet res block. */
const block = (x: Tensor, p: BlockParams, groups: number): Tensor =>
  T.add(
    x,
    T.silu(T.groupNorm(T.conv2d(x, p.w, { padding: 'same', bias: p.b }), { groups, weight: p.gamma, bias: p.beta })),
  );

interface BlockProblem {
  readonly groups: number;
  readonly x: { values: number[]; shape: number[] };
  readonly params: Record<(typeof BLOCK_KEYS)[number], { values: number[]; shape: number[] }>;
  /** A fixed cotangent: the loss is sum(block(x) * direction). */
  readonly direction: { values: number[]; shape: number[] };
}

const blockProblem = (values: (n: number) => fc.Arbitrary<number[]>): fc.Arbitrary<BlockProblem> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 2 }),
      perGroup: fc.integer({ min: 1, max: 2 }),
      k: fc.constantFrom(1, 3),
      h: fc.integer({ min: 2, max: 4 }),
      w: fc.integer({ min: 2, max: 4 }),
    })
    .chain(({ n, groups, perGroup, k, h, w }) => {
      const c = groups * perGroup;
      const of = (shape: number[]) => values(sizeOf(shape)).map((v) => ({ values: v, shape }));
      return fc.record({
        groups: fc.constant(groups),
        x: of([n, c, h, w]),
        params: fc.record({ w: of([c, c, k, k]), b: of([c]), gamma: of([c]), beta: of([c]) }),
        direction: of([n, c, h, w]),
      });
    });

const blockLoss = (x: Tensor, p: BlockParams, direction: Tensor, groups: number): Tensor =>
  T.sum(T.mul(block(x, p, groups), direction));

describe('a conv2d + groupNorm + silu residual block', () => {
  it('the gradient w.r.t. input and weights equals finite differences (CPU float64)', async () => {
    await fc.assert(
      fc.asyncProperty(
        blockProblem((n) => valuesArb(n)),
        async ({ groups, x, params, direction }) => {
          const tx = host(x.values, x.shape);
          const tp = Object.fromEntries(
            BLOCK_KEYS.map((k) => [k, host(params[k].values, params[k].shape)]),
          ) as unknown as BlockParams;
          const td = host(direction.values, direction.shape);
          const [gx, gp] = T.grad(blockLoss, { argnums: [0, 1] })(tx, tp, td, groups);
          const numeric = await finiteDifferenceGrads(
            ([xx, w, b, gamma, beta]) => blockLoss(xx, { w, b, gamma, beta }, td, groups),
            [tx, ...BLOCK_KEYS.map((k) => tp[k])],
          );
          expectCloseArrays(await gx.data(), numeric[0], { rtol: 1e-5, atol: 1e-7 }, 'd loss / d x');
          for (const [i, k] of BLOCK_KEYS.entries()) {
            expect(gp[k].shape).toEqual(tp[k].shape);
            expectCloseArrays(await gp[k].data(), numeric[i + 1], { rtol: 1e-5, atol: 1e-7 }, `d loss / d ${k}`);
          }
          [tx, td, gx, ...BLOCK_KEYS.flatMap((k) => [tp[k], gp[k]])].forEach((t) => t.dispose());
        },
      ),
      runs(15),
    );
  });

  it('the gradients on WebGPU float32 match the CPU float32 ones and free every intermediate', async () => {
    await fc.assert(
      fc.asyncProperty(
        blockProblem((n) => values32Arb(n)),
        async ({ groups, x, params, direction }) => {
          const results: Record<Backend, Float32Array[]> = { cpu: [], webgpu: [] };
          await expectNoLeaks(async () => {
            for (const backend of ['cpu', 'webgpu'] as const) {
              const tx = host(x.values, x.shape, 'float32', backend);
              const tp = Object.fromEntries(
                BLOCK_KEYS.map((k) => [k, host(params[k].values, params[k].shape, 'float32', backend)]),
              ) as unknown as BlockParams;
              const td = host(direction.values, direction.shape, 'float32', backend);
              const [value, [gx, gp]] = T.valueAndGrad(blockLoss, { argnums: [0, 1] })(tx, tp, td, groups);
              const outs = [value, gx, ...BLOCK_KEYS.map((k) => gp[k])];
              outs.forEach((t) => expect(t.backend).toBe(backend));
              results[backend] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
              [tx, td, ...outs, ...BLOCK_KEYS.map((k) => tp[k])].forEach((t) => t.dispose());
            }
          });
          // Each gradient entry sums at most C*k*k*N*H*W (< 300) float32 products of O(1) terms
          // through a groupNorm (1/sigma up to ~10 for these inputs), so 1e-4 relative plus 1e-4
          // absolute leaves a wide margin over float32 accumulation error.
          ['value', 'x', ...BLOCK_KEYS].forEach((name, i) =>
            expectClose(
              { cpu: results.cpu[i], gpu: results.webgpu[i], shape: [results.cpu[i].length], dtype: 'float32' },
              { rtol: 1e-4, atol: 1e-4 },
            ),
          );
        },
      ),
      runs(15),
    );
  });
});

// --- (c) grad of grad ----------------------------------------------------------------------------

/** Elementwise second derivative of sum(f(x)): grad of sum(grad(sum f)(x)), for separable f. */
const secondDerivative = (f: (x: Tensor) => Tensor) =>
  T.grad((x: Tensor) => T.sum(T.grad((t: Tensor) => T.sum(f(t)))(x)));

const pointsArb = (min: number, max: number) => fc.integer({ min: 1, max: 12 }).chain((n) => valuesArb(n, min, max));

describe('grad of grad', () => {
  it('the second derivative of sum(tanh(x) * x) is 2 sech^2(x) - 2 x tanh(x) sech^2(x), to 1e-10', async () => {
    await fc.assert(
      fc.asyncProperty(pointsArb(-3, 3), async (xs) => {
        const x = host(xs, [xs.length]);
        const g2 = secondDerivative((t) => T.mul(T.tanh(t), t))(x);
        const want = xs.map((v) => {
          const sech2 = 1 / Math.cosh(v) ** 2;
          return 2 * sech2 - 2 * v * Math.tanh(v) * sech2;
        });
        expectCloseArrays(await g2.data(), want, { rtol: 1e-10, atol: 1e-10 }, "(sum tanh(x) x)''");
        [x, g2].forEach((t) => t.dispose());
      }),
      runs(20),
    );
  });

  it('the second derivative of sum(exp(x) * sin(x)) is 2 exp(x) cos(x)', async () => {
    await fc.assert(
      fc.asyncProperty(pointsArb(-3, 3), async (xs) => {
        const x = host(xs, [xs.length]);
        const g2 = secondDerivative((t) => T.mul(T.exp(t), T.sin(t)))(x);
        expectCloseArrays(
          await g2.data(),
          xs.map((v) => 2 * Math.exp(v) * Math.cos(v)),
          { rtol: 1e-10, atol: 1e-10 },
          "(sum exp(x) sin(x))''",
        );
        [x, g2].forEach((t) => t.dispose());
      }),
      runs(20),
    );
  });

  it('the Hessian-vector product of the quadratic form x^T A x is (A + A^T) v', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 5 })
          .chain((n) => fc.tuple(fc.constant(n), valuesArb(n * n, -2, 2), valuesArb(n, -2, 2), valuesArb(n, -2, 2))),
        async ([n, av, xv, vv]) => {
          const [a, x, v] = [host(av, [n, n]), host(xv, [n]), host(vv, [n])];
          const quadratic = (t: Tensor) => T.sum(T.mul(t, T.matmul(a, t)));
          // Hv = grad_x <grad f(x), v>.
          const hv = T.grad((t: Tensor) => T.sum(T.mul(T.grad(quadratic)(t), v)))(x);
          const want = Array.from({ length: n }, (_, i) =>
            vv.reduce((s, vj, j) => s + (av[i * n + j] + av[j * n + i]) * vj, 0),
          );
          expectCloseArrays(await hv.data(), want, { rtol: 1e-12, atol: 1e-12 }, 'H v');
          [a, x, v, hv].forEach((t) => t.dispose());
        },
      ),
      runs(20),
    );
  });

  it('grad differentiates through vjp: d/dx sum(pullback(1)) of sin(x) x is 2 cos(x) - x sin(x)', async () => {
    await fc.assert(
      fc.asyncProperty(pointsArb(-3, 3), async (xs) => {
        const x = host(xs, [xs.length]);
        const sumOfFirstDerivative = (t: Tensor): Tensor => {
          const [y, pullback] = T.vjp((u: Tensor) => T.mul(T.sin(u), u), t);
          const [dy] = pullback(T.onesLike(y));
          return T.sum(dy);
        };
        const [value, g2] = T.valueAndGrad(sumOfFirstDerivative)(x);
        expect((await value.data())[0]).toBeCloseTo(
          xs.reduce((s, v) => s + Math.cos(v) * v + Math.sin(v), 0),
          10,
        );
        expectCloseArrays(
          await g2.data(),
          xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v)),
          { rtol: 1e-10, atol: 1e-10 },
          "(x sin x)''",
        );
        [x, value, g2].forEach((t) => t.dispose());
      }),
      runs(15),
    );
  });

  // Every rule is written with differentiable public ops, so the gradient of a gradient exists for
  // every family: checkGrad compares d/dx <grad f(x), v> (a Hessian-vector product) with finite
  // differences of grad f.
  const secondOrderCases: Record<string, { readonly f: (x: Tensor) => Tensor; readonly positive?: boolean }> = {
    'unary (tanh, sigmoid, silu, gelu, sin, exp)': {
      f: (x) => T.add(T.mul(T.tanh(x), T.sigmoid(x)), T.mul(T.silu(x), T.add(T.gelu(x), T.sin(T.exp(x))))),
    },
    'log, sqrt, rsqrt, reciprocal, pow': {
      f: (x) => T.add(T.mul(T.log(x), T.sqrt(x)), T.add(T.rsqrt(T.add(x, 1)), T.pow(x, T.reciprocal(T.add(x, 1))))),
      positive: true,
    },
    'abs, maximum, clamp, where (away from kinks)': {
      f: (x) =>
        T.where(T.greater(x, 0), T.square(T.clamp(x, { min: -1, max: 1 })), T.mul(T.abs(x), T.maximum(x, T.exp(x)))),
    },
    'prod, max, variance, logSumExp': {
      f: (x) =>
        T.add(
          T.mul(T.prod(x, { axis: 1 }), T.max(x, { axis: 1 })),
          T.mul(T.variance(x, { axis: 1 }), T.logSumExp(x, { axis: 1 })),
        ),
    },
    'softmax, logSoftmax, layerNorm': {
      f: (x) => T.mul(T.softmax(x, { axis: 0 }), T.add(T.logSoftmax(x), T.layerNorm(x))),
    },
    'matmul, transpose, slice, take': {
      f: (x) =>
        T.square(T.matmul(T.take(x, [0, -1, 1, 1], { axis: 1 }), T.transpose(T.slice(x, [0, -4], undefined, [1, 1])))),
    },
    'conv2d, convTranspose2d, maxPool2d': {
      f: (x) => {
        const img = T.reshape(x, [1, 1, 2, 4]);
        const k = T.reshape(T.slice(x, [0, 0], [1, 2]), [1, 1, 1, 2]);
        return T.add(
          T.sum(T.square(T.conv2d(img, k, { padding: 1 }))),
          T.sum(
            T.mul(
              T.convTranspose2d(img, k, { stride: 2, outputPadding: 1 }),
              T.maxPool2d(T.exp(T.convTranspose2d(img, k, { stride: 2, outputPadding: 1 })), { kernel: 1 }),
            ),
          ),
        );
      },
    },
  };
  for (const [name, { f, positive }] of Object.entries(secondOrderCases)) {
    it(`the gradient of the gradient through ${name} matches finite differences`, async () => {
      // Distinct values (k + 1/2) / 64: no ties or kinks; shifted positive where the ops need it.
      const points = fc
        .uniqueArray(fc.integer({ min: -64, max: 63 }), { minLength: 8, maxLength: 8 })
        .map((ks) => ks.map((k) => (k + 0.5) / 64 + (positive ? 1.01 : 0)));
      await fc.assert(
        fc.asyncProperty(points, async (xs) => {
          const x = host(xs, [2, 4]);
          const gradOf = (t: Tensor) => T.grad((u: Tensor) => T.sum(T.mul(f(u), 0.75)))(t);
          const report = await T.checkGrad(gradOf, [x]);
          expect(report.ok, `${name}: ${report.message}`).toBe(true);
          x.dispose();
        }),
        runs(10),
      );
    });
  }

  it('grad of grad leaves no tensor alive', async () => {
    const x = host([0.3, -1.2, 2], [3]);
    await expectNoLeaks(async () => {
      const g2 = secondDerivative((t) => T.mul(T.tanh(t), t))(x);
      g2.dispose();
    });
    x.dispose();
  });
});

// --- (d) stopGradient ----------------------------------------------------------------------------

describe('stopGradient', () => {
  it('the gradient of sum(x * stopGradient(x)) is x, not 2x', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 })
          .chain((shape) => fc.tuple(fc.constant(shape), valuesArb(sizeOf(shape), -3, 3))),
        async ([shape, xs]) => {
          const x = host(xs, shape);
          const g = T.grad((t: Tensor) => T.sum(T.mul(t, T.stopGradient(t))))(x);
          expect(g.shape).toEqual(shape);
          expect(Array.from(await g.data())).toEqual(xs);
          [x, g].forEach((t) => t.dispose());
        },
      ),
      runs(15),
    );
  });

  it('a value that only reaches the loss through stopGradient gets a zero gradient', async () => {
    const x = host([1, -2, 3], [3]);
    const [gx, gy] = T.grad((a: Tensor, b: Tensor) => T.sum(T.add(T.exp(T.stopGradient(a)), T.mul(b, 2))), {
      argnums: [0, 1],
    })(x, x);
    expect(Array.from(await gx.data())).toEqual([0, 0, 0]);
    expect(Array.from(await gy.data())).toEqual([2, 2, 2]);
    [x, gx, gy].forEach((t) => t.dispose());
  });
});

// --- (e) hasAux and argnums ----------------------------------------------------------------------

describe('hasAux and argnums', () => {
  it('grad with hasAux returns [grads, aux] with the aux values untouched', async () => {
    const x = host([1, 2, 3], [3]);
    const marker = { note: 'kept as is', count: 7 };
    let inner: Tensor | undefined;
    const [g, aux] = T.grad(
      (t: Tensor) => {
        const y = T.square(t);
        inner = y;
        return [T.sum(y), { y, marker }] as const;
      },
      { hasAux: true },
    )(x);
    expect(Array.from(await g.data())).toEqual([2, 4, 6]);
    expect(aux.marker).toBe(marker);
    expect(aux.y).toBe(inner);
    expect(aux.y.shape).toEqual([3]);
    expect(Array.from(await aux.y.data())).toEqual([1, 4, 9]);
    [x, g, aux.y].forEach((t) => t.dispose());
  });

  it('valueAndGrad with hasAux returns [[value, aux], grads]', async () => {
    const x = host([0.5, -1], [2]);
    const [[value, aux], g] = T.valueAndGrad((t: Tensor) => [T.sum(T.exp(t)), 'aux string'] as const, { hasAux: true })(
      x,
    );
    expect((await value.data())[0]).toBeCloseTo(Math.exp(0.5) + Math.exp(-1), 12);
    expect(aux).toBe('aux string');
    expectCloseArrays(await g.data(), [Math.exp(0.5), Math.exp(-1)], { rtol: 1e-15, atol: 0 }, 'd sum(exp) / dx');
    [x, value, g].forEach((t) => t.dispose());
  });

  it('an argnums list returns a tuple of gradients in that order; a number returns the bare gradient', async () => {
    const [a, b, c] = [host([1, 2], [2]), host([3, 4], [2]), host([5, 6], [2])];
    // f = sum(a * b * c): d/da = b c, d/db = a c, d/dc = a b.
    const f = (x: Tensor, y: Tensor, z: Tensor) => T.sum(T.mul(T.mul(x, y), z));
    const pair = T.grad(f, { argnums: [2, 0] })(a, b, c);
    expect(Array.isArray(pair)).toBe(true);
    expect(pair).toHaveLength(2);
    expect(Array.from(await pair[0].data())).toEqual([3, 8]);
    expect(Array.from(await pair[1].data())).toEqual([15, 24]);
    const single = T.grad(f, { argnums: [1] })(a, b, c);
    expect(single).toHaveLength(1);
    expect(Array.from(await single[0].data())).toEqual([5, 12]);
    const bare = T.grad(f, { argnums: 1 })(a, b, c);
    expect(bare).toBeInstanceOf(T.Tensor);
    expect(Array.from(await bare.data())).toEqual([5, 12]);
    [a, b, c, ...pair, ...single, bare].forEach((t) => t.dispose());
  });

  it('an argument the value does not depend on gets a zero gradient of its own shape', async () => {
    const [a, b] = [host([1, 2, 3], [3]), host([4, 5, 6, 7], [2, 2])];
    const [ga, gb] = T.grad((x: Tensor, _y: Tensor) => T.sum(T.square(x)), { argnums: [0, 1] })(a, b);
    expect(Array.from(await ga.data())).toEqual([2, 4, 6]);
    expect(gb.shape).toEqual([2, 2]);
    expect(Array.from(await gb.data())).toEqual([0, 0, 0, 0]);
    [a, b, ga, gb].forEach((t) => t.dispose());
  });

  it('argnums over pytree arguments returns a tuple of trees shaped like those arguments', async () => {
    const params = { w: host([1, 2], [2]), nested: [host([3], [1])] };
    const x = host([0.5, 0.25], [2]);
    const f = (p: typeof params, t: Tensor) => T.sum(T.mul(T.mul(p.w, t), p.nested[0]));
    const [gp, gx] = T.grad(f, { argnums: [0, 1] })(params, x);
    expect(Object.keys(gp).sort()).toEqual(['nested', 'w']);
    expect(gp.nested).toHaveLength(1);
    expect(Array.from(await gp.w.data())).toEqual([1.5, 0.75]);
    expect(Array.from(await gp.nested[0].data())).toEqual([1]);
    expect(Array.from(await gx.data())).toEqual([3, 6]);
    [params.w, params.nested[0], x, gp.w, gp.nested[0], gx].forEach((t) => t.dispose());
  });
});
