// Acceptance: every differentiable op of the public API (docs/architecture.md, "The public API")
// has reverse-mode gradients that agree with central finite differences (checkGrad, CPU float64)
// over generated shapes, parameters and values, with inputs kept away from the points where an op
// has no derivative.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { CheckGradOptions, Primitive, Tensor } from '../src/index.js';
import { binaryOps, unaryOps, type BinaryOp, type UnaryOp } from '../src/kernels/elementwise-ops.js';
import { normCases } from './support/grad-norm-cases.js';
import { arbitraryBroadcastShapes, arbitraryShape } from '../src/testing/index.js';
import { axisArb, axisSubsetArb, broadcastShapes, permutationArb, runs, sizeOf } from './support/arbitraries.js';
import {
  awayFromZero,
  distinct,
  distinctHosts,
  gradProperty,
  hostOf,
  smallShape,
  smooth,
  uniformIn,
  upload,
  type GradProblem,
  type Host64,
  type Values,
} from './support/grad-problems.js';

beforeAll(async () => {
  await T.setBackend('cpu');
});

// --- unary elementwise ops: one row per op, typed over the op table ------------------------------

interface UnaryGradCase {
  readonly values: Values;
  readonly options?: CheckGradOptions;
}
/** Ops with no useful derivative: their gradient is zero (or they return bool). */
type NoGradient = 'zero-gradient';

// erf (and gelu, built on it) evaluate Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), but the VJP
// is the exact erf' = 2/sqrt(pi) exp(-x^2). The approximation's own slope differs from erf' by up
// to ~7e-6 (largest just right of 0, where the formula also jumps by 2e-9), so finite differences
// of the forward can only confirm the rule to about that absolute error; inputs avoid 0.
const ERF_APPROXIMATION: CheckGradOptions = { atol: 5e-5 };

const unaryCases: Record<UnaryOp, UnaryGradCase | NoGradient> = {
  neg: { values: smooth },
  abs: { values: distinct },
  sign: 'zero-gradient',
  square: { values: smooth },
  relu: { values: distinct },
  exp: { values: smooth },
  log: { values: awayFromZero(0.1, 3, { positive: true }) },
  sqrt: { values: awayFromZero(0.1, 3, { positive: true }) },
  rsqrt: { values: awayFromZero(0.1, 3, { positive: true }) },
  reciprocal: { values: awayFromZero(0.2, 3) },
  sin: { values: uniformIn(-4, 4) },
  cos: { values: uniformIn(-4, 4) },
  tanh: { values: uniformIn(-3, 3) },
  sigmoid: { values: uniformIn(-4, 4) },
  silu: { values: uniformIn(-4, 4) },
  gelu: { values: awayFromZero(1e-3, 3), options: ERF_APPROXIMATION },
  erf: { values: awayFromZero(1e-3, 3), options: ERF_APPROXIMATION },
  floor: 'zero-gradient',
  ceil: 'zero-gradient',
  round: 'zero-gradient',
  logicalNot: 'zero-gradient',
};

const publicFn = <F>(name: string): F => (T as unknown as Record<string, F>)[name];

/** grad of sum(cast(op(...), float64)) w.r.t. every operand is exactly zero. */
async function expectZeroGradient(op: string, hosts: readonly Host64[]): Promise<void> {
  const fn = publicFn<(...xs: Tensor[]) => Tensor>(op);
  const xs = hosts.map(upload);
  try {
    const grads = T.grad((...args: Tensor[]) => T.sum(T.cast(fn(...args), 'float64')), {
      argnums: xs.map((_, i) => i),
    })(...xs) as Tensor[];
    for (const [i, g] of grads.entries()) {
      expect(g.shape).toEqual(hosts[i].shape);
      expect(
        Array.from(await g.data()).every((v) => v === 0),
        `${op}: gradient of operand ${i} is not zero`,
      ).toBe(true);
      g.dispose();
    }
  } finally {
    xs.forEach((x) => x.dispose());
  }
}

describe('unary elementwise ops', () => {
  it('the case table covers exactly the unary op table', () => {
    expect(Object.keys(unaryCases).sort()).toEqual(Object.keys(unaryOps).sort());
  });

  for (const op of Object.keys(unaryCases) as UnaryOp[]) {
    const c = unaryCases[op];
    if (c === 'zero-gradient') {
      it(`${op} passes a zero gradient back`, async () => {
        await fc.assert(
          fc.asyncProperty(
            smallShape().chain((s) => hostOf(s, uniformIn(-3, 3))),
            (x) => expectZeroGradient(op, [x]),
          ),
          runs(5),
        );
      });
      continue;
    }
    it(`the gradient of ${op} matches finite differences`, async () => {
      const f = publicFn<(x: Tensor) => Tensor>(op);
      await gradProperty(
        smallShape().chain((s) =>
          hostOf(s, c.values).map((x): GradProblem => ({ label: op, inputs: [x], f, options: c.options })),
        ),
        30,
      )();
    });
  }
});

// --- binary elementwise ops on broadcast shape pairs ---------------------------------------------

interface BinaryGradCase {
  /** Values of a and b, given their shapes. */
  readonly values: (a: readonly number[], b: readonly number[]) => fc.Arbitrary<Host64[]>;
}

const independent =
  (va: Values, vb: Values) =>
  (a: readonly number[], b: readonly number[]): fc.Arbitrary<Host64[]> =>
    fc.tuple(hostOf(a, va), hostOf(b, vb));

const binaryCases: Record<BinaryOp, BinaryGradCase | NoGradient> = {
  add: { values: independent(smooth, smooth) },
  sub: { values: independent(smooth, smooth) },
  mul: { values: independent(smooth, smooth) },
  div: { values: independent(smooth, awayFromZero(0.3, 2)) },
  // Positive bases (the real power and d/db = a^b log a need a > 0), exponents either sign.
  pow: { values: independent(awayFromZero(0.2, 2, { positive: true }), uniformIn(-2, 2)) },
  maximum: { values: (a, b) => distinctHosts([a, b]) },
  minimum: { values: (a, b) => distinctHosts([a, b]) },
  equal: 'zero-gradient',
  notEqual: 'zero-gradient',
  less: 'zero-gradient',
  lessEqual: 'zero-gradient',
  greater: 'zero-gradient',
  greaterEqual: 'zero-gradient',
  logicalAnd: 'zero-gradient',
  logicalOr: 'zero-gradient',
};

const broadcastPair = arbitraryBroadcastShapes(2, { maxRank: 3, minDim: 1, maxDim: 3 });

describe('binary elementwise ops', () => {
  it('the case table covers exactly the binary op table', () => {
    expect(Object.keys(binaryCases).sort()).toEqual(Object.keys(binaryOps).sort());
  });

  for (const op of Object.keys(binaryCases) as BinaryOp[]) {
    const c = binaryCases[op];
    if (c === 'zero-gradient') {
      it(`${op} passes a zero gradient back to both operands`, async () => {
        await fc.assert(
          fc.asyncProperty(
            broadcastPair.chain(([, a, b]) => fc.tuple(hostOf(a, uniformIn(-2, 2)), hostOf(b, uniformIn(-2, 2)))),
            (hosts) => expectZeroGradient(op, hosts),
          ),
          runs(5),
        );
      });
      continue;
    }
    it(`the gradient of ${op} on broadcast shapes matches finite differences (broadcast dims summed back)`, async () => {
      const f = publicFn<(a: Tensor, b: Tensor) => Tensor>(op);
      await gradProperty(
        broadcastPair.chain(([, a, b]) => c.values(a, b).map((inputs): GradProblem => ({ label: op, inputs, f }))),
        25,
      )();
    });
  }

  it('the gradient of sum(a + b) w.r.t. each operand counts how often broadcasting reused each element', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastPair, async ([, a, b]) => {
        const out = broadcastShapes(a, b);
        const [ta, tb] = [a, b].map((s) => T.zeros(s, { dtype: 'float64', backend: 'cpu' }));
        const [ga, gb] = T.grad((x: Tensor, y: Tensor) => T.sum(T.add(x, y)), { argnums: [0, 1] })(ta, tb) as Tensor[];
        expect(ga.shape).toEqual(a);
        expect(gb.shape).toEqual(b);
        expect(Array.from(await ga.data())).toEqual(new Array(sizeOf(a)).fill(sizeOf(out) / sizeOf(a)));
        expect(Array.from(await gb.data())).toEqual(new Array(sizeOf(b)).fill(sizeOf(out) / sizeOf(b)));
        [ta, tb, ga, gb].forEach((t) => t.dispose());
      }),
      runs(25),
    );
  });

  it('at exact ties maximum and minimum split the gradient evenly between the operands (as JAX does)', async () => {
    const a = upload({ values: [1, 2, -3], shape: [3] });
    const b = upload({ values: [1, 5, -3], shape: [3] });
    for (const [op, wantA] of [
      [T.maximum, [0.5, 0, 0.5]],
      [T.minimum, [0.5, 1, 0.5]],
    ] as const) {
      const [ga, gb] = T.grad((x: Tensor, y: Tensor) => T.sum(op(x, y)), { argnums: [0, 1] })(a, b);
      expect(Array.from(await ga.data())).toEqual(wantA);
      expect(Array.from(await gb.data())).toEqual(wantA.map((v) => 1 - v));
      [ga, gb].forEach((t) => t.dispose());
    }
    [a, b].forEach((t) => t.dispose());
  });

  it('a JS number operand is a constant: the gradient of x * 3 - 2 / x is 3 + 2 / x^2', async () => {
    await gradProperty(
      smallShape().chain((s) =>
        hostOf(s, awayFromZero(0.3, 2)).map((x): GradProblem => ({
          label: 'x * 3 - 2 / x',
          inputs: [x],
          f: (t) => T.sub(T.mul(t, 3), T.div(2, t)),
        })),
      ),
    )();
  });
});

// --- where, clamp, cast --------------------------------------------------------------------------

describe('where, clamp and cast', () => {
  it('the gradient of where(cond, a, b) on broadcast shapes matches finite differences in a and b', async () => {
    await gradProperty(
      arbitraryBroadcastShapes(3, { maxRank: 3, minDim: 1, maxDim: 3 }).chain(([, sc, sa, sb]) =>
        fc
          .tuple(fc.array(fc.boolean(), { minLength: sizeOf(sc), maxLength: sizeOf(sc) }), hostOf(sa), hostOf(sb))
          .map(([cond, a, b]): GradProblem => ({
            label: `where(cond [${sc}] = ${JSON.stringify(cond)})`,
            inputs: [a, b],
            f: (x, y) => T.where(T.tensor(cond, { shape: sc, dtype: 'bool', backend: 'cpu' }), x, y),
          })),
      ),
      25,
    )();
  });

  it('the gradient of clamp with number bounds matches finite differences', async () => {
    await gradProperty(
      fc
        .tuple(smallShape(), fc.constantFrom(-1.0001, -0.5001, 0.0001), fc.constantFrom(0.2501, 1.0001))
        .chain(([s, lo, hi]) =>
          hostOf(s, distinct).map((x): GradProblem => ({
            label: `clamp(x, {min: ${lo}, max: ${hi}})`,
            inputs: [x],
            f: (t) => T.clamp(t, { min: lo, max: hi }),
          })),
        ),
      20,
    )();
  });

  it('the gradient of clamp with broadcast tensor bounds matches finite differences in x, min and max', async () => {
    await gradProperty(
      arbitraryBroadcastShapes(3, { maxRank: 3, minDim: 1, maxDim: 3 }).chain(([, sx, slo, shi]) =>
        distinctHosts([sx, slo, shi]).map((inputs): GradProblem => ({
          label: 'clamp(x, {min, max})',
          inputs,
          f: (x, lo, hi) => T.clamp(x, { min: lo, max: hi }),
        })),
      ),
      20,
    )();
  });

  it('cast float64 -> float32 -> float64 passes the cotangent through, in each input dtype', async () => {
    await fc.assert(
      fc.asyncProperty(
        smallShape().chain((s) => fc.tuple(hostOf(s), hostOf(s))),
        async ([x, w]) => {
          // f(x) = sum(cast(x, other) * w): the gradient is w, cast back to x's dtype.
          for (const [from, to] of [
            ['float64', 'float32'],
            ['float32', 'float64'],
          ] as const) {
            const tx = T.tensor(Float64Array.from(x.values), { shape: [...x.shape], dtype: from, backend: 'cpu' });
            const tw = T.tensor(Float64Array.from(w.values), { shape: [...w.shape], dtype: to, backend: 'cpu' });
            const g = T.grad((t: Tensor) => T.sum(T.mul(T.cast(t, to), tw)))(tx) as Tensor;
            expect(g.dtype).toBe(from);
            expect(g.shape).toEqual(x.shape);
            const want = Float32Array.from(w.values);
            Array.from(await g.data()).forEach((v, i) => expect(v).toBe(want[i]));
            [tx, tw, g].forEach((t) => t.dispose());
          }
        },
      ),
      runs(10),
    );
  });

  it('the gradient through a float32 round trip of a smooth function matches finite differences to float32 precision', async () => {
    // The float32 leg rounds to ~6e-8 relative, so the finite-difference step must be large.
    await gradProperty(
      smallShape().chain((s) =>
        hostOf(s).map((x): GradProblem => ({
          label: 'cast(cast(x, float32) * 3, float64)',
          inputs: [x],
          f: (t) => T.cast(T.mul(T.cast(t, 'float32'), 3), 'float64'),
          options: { eps: 1e-2, rtol: 1e-3, atol: 1e-4 },
        })),
      ),
      10,
    )();
  });
});

// --- reductions over random axes, with and without keepdims --------------------------------------

type ReductionName = 'sum' | 'prod' | 'mean' | 'max' | 'min' | 'variance' | 'logSumExp';
type Reduction = (x: Tensor, options: T.ReduceOptions) => Tensor;

const reductionCases: Record<ReductionName, { readonly fn: Reduction; readonly values: Values }> = {
  sum: { fn: T.sum, values: smooth },
  // The rule divides by x: keep the factors away from 0.
  prod: { fn: T.prod, values: awayFromZero(0.5, 1.5) },
  mean: { fn: T.mean, values: smooth },
  max: { fn: T.max, values: distinct },
  min: { fn: T.min, values: distinct },
  variance: { fn: T.variance, values: smooth },
  logSumExp: { fn: T.logSumExp, values: uniformIn(-4, 4) },
};

/** A shape, a reduction axis choice (all, or a subset, possibly negative or empty) and keepdims. */
const reductionGeometry = smallShape().chain((shape) =>
  fc.tuple(fc.constant(shape), fc.option(axisSubsetArb(shape.length), { nil: undefined }), fc.boolean()),
);

describe('reductions', () => {
  for (const [name, { fn, values }] of Object.entries(reductionCases)) {
    it(`the gradient of ${name} over random axes, with and without keepdims, matches finite differences`, async () => {
      await gradProperty(
        reductionGeometry.chain(([shape, axis, keepdims]) =>
          hostOf(shape, values).map((x): GradProblem => ({
            label: `${name}(x, {axis: ${JSON.stringify(axis)}, keepdims: ${keepdims}})`,
            inputs: [x],
            f: (t) => fn(t, { axis, keepdims }),
          })),
        ),
        20,
      )();
    });
  }

  it('max and min split the gradient evenly between tied extrema', async () => {
    const x = upload({ values: [1, 3, 3, 2, -1, 0, -1, -1], shape: [2, 4] });
    const gMax = T.grad((t: Tensor) => T.sum(T.max(t, { axis: 1 })))(x);
    const gMin = T.grad((t: Tensor) => T.sum(T.min(t, { axis: 1 })))(x);
    expect(Array.from(await gMax.data())).toEqual([0, 0.5, 0.5, 0, 0, 1, 0, 0]);
    expect(Array.from(await gMin.data())).toEqual([1, 0, 0, 0, 1 / 3, 0, 1 / 3, 1 / 3]);
    [x, gMax, gMin].forEach((t) => t.dispose());
  });

  it('the gradient of variance with ddof 1 matches finite differences', async () => {
    await gradProperty(
      // ddof 1 needs at least two entries along the axis (one gives 0/0).
      smallShape(1)
        .filter((shape) => shape.some((d) => d >= 2))
        .chain((shape) =>
          fc
            .tuple(hostOf(shape), fc.constantFrom(...shape.flatMap((d, i) => (d >= 2 ? [i, i - shape.length] : []))))
            .map(([x, axis]): GradProblem => ({
              label: `variance(x, {axis: ${axis}, ddof: 1})`,
              inputs: [x],
              f: (t) => T.variance(t, { axis, ddof: 1 }),
            })),
        ),
      10,
    )();
  });
});

// --- movement ------------------------------------------------------------------------------------

/** A slice spec for one axis of size d: start and end anywhere (negative, past the end), step 1..3. */
const sliceAxis = (d: number) =>
  fc.tuple(
    fc.integer({ min: -d - 1, max: d }),
    fc.option(fc.integer({ min: -d - 1, max: d + 1 }), { nil: undefined }),
    fc.integer({ min: 1, max: 3 }),
  );

const movementCases: Record<string, fc.Arbitrary<GradProblem>> = {
  reshape: smallShape().chain((shape) =>
    fc
      .tuple(
        hostOf(shape),
        permutationArb(shape.length),
        fc.option(fc.nat(Math.max(shape.length - 1, 0)), { nil: undefined }),
      )
      .map(([x, perm, inferred]) => {
        // Same dims in another order (same size), one of them possibly given as -1.
        const target = perm.map((i, k) => (k === inferred ? -1 : shape[i]));
        return { label: `reshape(x, [${target}])`, inputs: [x], f: (t: Tensor) => T.reshape(t, target) };
      }),
  ),
  transpose: smallShape().chain((shape) =>
    fc.tuple(hostOf(shape), fc.option(permutationArb(shape.length), { nil: undefined })).map(([x, perm]) => ({
      label: `transpose(x, ${JSON.stringify(perm)})`,
      inputs: [x],
      f: (t: Tensor) => T.transpose(t, perm),
    })),
  ),
  broadcastTo: arbitraryBroadcastShapes(1, { maxRank: 3, minDim: 1, maxDim: 3 }).chain(([out, s]) =>
    hostOf(s).map((x) => ({ label: `broadcastTo(x, [${out}])`, inputs: [x], f: (t: Tensor) => T.broadcastTo(t, out) })),
  ),
  expandDims: smallShape().chain((shape) =>
    fc.tuple(hostOf(shape), fc.integer({ min: -shape.length - 1, max: shape.length })).map(([x, axis]) => ({
      label: `expandDims(x, ${axis})`,
      inputs: [x],
      f: (t: Tensor) => T.expandDims(t, axis),
    })),
  ),
  squeeze: arbitraryShape({ maxRank: 4, minDim: 1, maxDim: 2 }).chain((shape) => {
    const ones = shape.flatMap((d, i) => (d === 1 ? [i] : []));
    return fc.tuple(hostOf(shape), fc.option(fc.subarray(ones), { nil: undefined })).map(([x, axes]) => ({
      label: `squeeze(x, ${JSON.stringify(axes)})`,
      inputs: [x],
      f: (t: Tensor) => T.squeeze(t, axes),
    }));
  }),
  slice: smallShape(1, 3).chain((shape) =>
    fc.tuple(hostOf(shape), fc.tuple(...shape.map((d) => sliceAxis(d)))).map(([x, specs]) => {
      const starts = specs.map(([s]) => s);
      const ends = specs.map(([, e]) => e);
      const steps = specs.map(([, , st]) => st);
      return {
        label: `slice(x, ${JSON.stringify(starts)}, ${JSON.stringify(ends)}, ${JSON.stringify(steps)})`,
        inputs: [x],
        f: (t: Tensor) => T.slice(t, starts, ends, steps),
      };
    }),
  ),
  concat: smallShape(1, 3).chain((shape) =>
    fc
      .tuple(axisArb(shape.length), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }))
      .chain(([axis, sizes]) => {
        const a = axis < 0 ? axis + shape.length : axis;
        return fc.tuple(...sizes.map((n) => hostOf(shape.map((d, i) => (i === a ? n : d))))).map((inputs) => ({
          label: `concat(xs, {axis: ${axis}})`,
          inputs,
          f: (...ts: Tensor[]) => T.concat(ts, { axis }),
        }));
      }),
  ),
  stack: smallShape(0, 2).chain((shape) =>
    fc
      .tuple(fc.integer({ min: -shape.length - 1, max: shape.length }), fc.integer({ min: 1, max: 3 }))
      .chain(([axis, count]) =>
        fc.array(hostOf(shape), { minLength: count, maxLength: count }).map((inputs) => ({
          label: `stack(xs, {axis: ${axis}})`,
          inputs,
          f: (...ts: Tensor[]) => T.stack(ts, { axis }),
        })),
      ),
  ),
  pad: smallShape(1, 3).chain((shape) =>
    fc
      .tuple(
        hostOf(shape),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
          minLength: 0,
          maxLength: shape.length,
        }),
        fc.double({ min: -2, max: 2, noNaN: true }),
      )
      .map(([x, widths, value]) => ({
        label: `pad(x, ${JSON.stringify(widths)}, {value: ${value}})`,
        inputs: [x],
        f: (t: Tensor) => T.pad(t, widths, { value }),
      })),
  ),
  flatten: smallShape().chain((shape) =>
    hostOf(shape).map((x) => ({ label: 'flatten(x)', inputs: [x], f: (t: Tensor) => T.flatten(t) })),
  ),
  'slice of a transposed view': smallShape(2, 3).chain((shape) =>
    fc.tuple(hostOf(shape), permutationArb(shape.length)).map(([x, perm]) => ({
      label: `square(slice(transpose(x, [${perm}]), [-2, 0], undefined, [1, 2]))`,
      inputs: [x],
      f: (t: Tensor) => T.square(T.slice(T.transpose(t, perm), [-2, 0], undefined, [1, 2])),
    })),
  ),
};

describe('movement ops', () => {
  for (const [name, problems] of Object.entries(movementCases)) {
    it(`the gradient of ${name} matches finite differences`, gradProperty(problems, 40));
  }
});

// --- matmul --------------------------------------------------------------------------------------

/** matmul operands: batched, with broadcast batch dims, or 1-D on either side. */
const matmulShapes = fc
  .record({
    m: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 3 }),
    n: fc.integer({ min: 1, max: 3 }),
    batchA: fc.array(fc.constantFrom(1, 2), { maxLength: 2 }),
    batchB: fc.array(fc.constantFrom(1, 2), { maxLength: 2 }),
    aVector: fc.boolean(),
    bVector: fc.boolean(),
  })
  .map(({ m, k, n, batchA, batchB, aVector, bVector }) => {
    // Batch dims broadcast: where both have a dim and they differ, one of them is 1 (dims are 1 or 2).
    const sa = aVector ? [k] : [...batchA, m, k];
    const sb = bVector ? [k] : [...batchB, k, n];
    return [sa, sb] as const;
  });

describe('matmul', () => {
  it(
    'the gradient of matmul (batched, broadcast batch, 1-D operands) matches finite differences',
    gradProperty(
      matmulShapes.chain(([sa, sb]) =>
        fc
          .tuple(hostOf(sa), hostOf(sb))
          .map((inputs): GradProblem => ({ label: `matmul([${sa}], [${sb}])`, inputs, f: T.matmul })),
      ),
      30,
    ),
  );
});

// --- convolutions, pooling, upsampling -----------------------------------------------------------

/** Spatial size along one axis such that a (dilated) kernel fits with `pad` padding, plus 0..2. */
const fittingSize = (k: number, dilation: number, pad: number) =>
  fc.integer({
    min: Math.max(1, dilation * (k - 1) + 1 - 2 * pad),
    max: Math.max(1, dilation * (k - 1) + 1 - 2 * pad) + 2,
  });

const CONV_CHECK: CheckGradOptions = { maxElementsPerInput: 24 };

/** Batch, groups, channels per group and kernel size: the first fields of both convolutions' problems. */
const CONV_SIZES = {
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cPerGroup: fc.integer({ min: 1, max: 2 }),
  oPerGroup: fc.integer({ min: 1, max: 2 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
};

const conv2dProblems = fc
  .record({
    ...CONV_SIZES,
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.oneof(
      fc.constant<'same'>('same'),
      fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
    ),
    bias: fc.boolean(),
  })
  .chain((g) => {
    // 'same' needs stride 1.
    const stride = g.padding === 'same' ? ([1, 1] as const) : g.stride;
    const pad = g.padding === 'same' ? [0, 0] : g.padding;
    return fc
      .tuple(fittingSize(g.kernel[0], g.dilation[0], pad[0]), fittingSize(g.kernel[1], g.dilation[1], pad[1]))
      .chain(([h, w]) => {
        const c = g.groups * g.cPerGroup;
        const o = g.groups * g.oPerGroup;
        const shapes = [[g.n, c, h, w], [o, g.cPerGroup, ...g.kernel], ...(g.bias ? [[o]] : [])];
        return fc.tuple(...shapes.map((s) => hostOf(s))).map((inputs): GradProblem => {
          const options = { stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
          return {
            label: `conv2d(x, w, ${JSON.stringify({ ...options, bias: g.bias })})`,
            inputs,
            f: (x, w, b) => T.conv2d(x, w, { ...options, bias: b }),
            options: CONV_CHECK,
          };
        });
      });
  });

/**
 * convTranspose2d problems. PyTorch allows outputPadding < max(stride, dilation); `wide` picks
 * the corner where outputPadding >= stride on some axis (only reachable with dilation > stride).
 */
const convTranspose2dProblems = (wide: boolean) =>
  fc
    .record({
      ...CONV_SIZES,
      stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      padding: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
      outputPadding: fc.tuple(fc.nat(2), fc.nat(2)),
      size: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      bias: fc.boolean(),
    })
    .filter(
      (g) =>
        [0, 1].every((i) => {
          const out =
            (g.size[i] - 1) * g.stride[i] -
            2 * g.padding[i] +
            g.dilation[i] * (g.kernel[i] - 1) +
            g.outputPadding[i] +
            1;
          return g.outputPadding[i] < Math.max(g.stride[i], g.dilation[i]) && out >= 1;
        }) && [0, 1].some((i) => g.outputPadding[i] >= g.stride[i]) === wide,
    )
    .chain((g) => {
      const c = g.groups * g.cPerGroup;
      const o = g.groups * g.oPerGroup;
      const shapes = [[g.n, c, ...g.size], [c, g.oPerGroup, ...g.kernel], ...(g.bias ? [[o]] : [])];
      return fc.tuple(...shapes.map((s) => hostOf(s))).map((inputs): GradProblem => {
        const options = {
          stride: g.stride,
          padding: g.padding,
          dilation: g.dilation,
          outputPadding: g.outputPadding,
          groups: g.groups,
        };
        return {
          label: `convTranspose2d(x, w, ${JSON.stringify({ ...options, bias: g.bias })})`,
          inputs,
          f: (x, w, b) => T.convTranspose2d(x, w, { ...options, bias: b }),
          options: CONV_CHECK,
        };
      });
    });

/** Pool geometry: kernel 1..3, stride 1..3, padding at most half the kernel, an image it fits. */
const poolProblems = (pool: 'avgPool2d' | 'maxPool2d', values: Values) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      stride: fc.option(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), { nil: undefined }),
      padFlags: fc.tuple(fc.boolean(), fc.boolean()),
    })
    .chain((g) => {
      const padding = [0, 1].map((i) => (g.padFlags[i] ? Math.floor(g.kernel[i] / 2) : 0)) as [number, number];
      return fc
        .tuple(fittingSize(g.kernel[0], 1, padding[0]), fittingSize(g.kernel[1], 1, padding[1]))
        .chain(([h, w]) =>
          hostOf([g.n, g.c, h + 1, w + 1], values).map((x): GradProblem => {
            const options = { kernel: g.kernel, stride: g.stride, padding };
            return {
              label: `${pool}(x, ${JSON.stringify(options)})`,
              inputs: [x],
              f: (t) => T[pool](t, options),
              options: CONV_CHECK,
            };
          }),
        );
    });

const convCases: Record<string, fc.Arbitrary<GradProblem>> = {
  'conv2d (stride, padding incl. same, dilation, groups, bias)': conv2dProblems,
  'convTranspose2d (stride, padding, outputPadding < stride, dilation, groups, bias)': convTranspose2dProblems(false),
  // outputPadding >= stride is legal when dilation > stride (as in PyTorch): the rows it adds
  // must get no input gradient.
  'convTranspose2d with outputPadding >= stride (dilation > stride)': convTranspose2dProblems(true),
  avgPool2d: poolProblems('avgPool2d', smooth),
  // Distinct values: no two entries of a window tie, so the max has a derivative.
  maxPool2d: poolProblems('maxPool2d', distinct),
  upsampleNearest2d: fc
    .tuple(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    )
    .chain(([n, c, h, w, scale]) =>
      hostOf([n, c, h, w]).map((x): GradProblem => ({
        label: `upsampleNearest2d(x, {scale: [${scale}]})`,
        inputs: [x],
        f: (t) => T.upsampleNearest2d(t, { scale }),
      })),
    ),
};

describe('convolutions, pooling and upsampling', () => {
  for (const [name, problems] of Object.entries(convCases)) {
    it(`the gradient of ${name} matches finite differences`, gradProperty(problems, 30));
  }
});

// --- softmax and normalisation: tests/grad-norm.test.ts (cases in support/grad-norm-cases.ts) ------

// --- take and gather -----------------------------------------------------------------------------

const indexCases: Record<string, fc.Arbitrary<GradProblem>> = {
  // Repeated indices must accumulate; negative ones wrap; out-of-range ones clamp like the forward.
  take: smallShape(1, 3).chain((shape) =>
    fc
      .tuple(hostOf(shape), fc.option(axisArb(shape.length), { nil: undefined }), smallShape(0, 2))
      .chain(([x, axis, idxShape]) => {
        const n = axis === undefined ? sizeOf(shape) : shape[axis < 0 ? axis + shape.length : axis];
        return fc
          .array(fc.integer({ min: -n - 1, max: n }), { minLength: sizeOf(idxShape), maxLength: sizeOf(idxShape) })
          .map((idx): GradProblem => ({
            label: `take(x, ${JSON.stringify(idx)} as [${idxShape}], {axis: ${axis}})`,
            inputs: [x],
            f: (t) => T.take(t, T.tensor(idx, { shape: idxShape, dtype: 'int32', backend: 'cpu' }), { axis }),
          }));
      }),
  ),
  gather: smallShape(1, 3).chain((shape) =>
    fc
      .tuple(
        hostOf(shape),
        axisArb(shape.length),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length }),
      )
      .chain(([x, axis, along, shrink]) => {
        const a = axis < 0 ? axis + shape.length : axis;
        const idxShape = shape.map((d, i) => (i === a ? along : Math.max(1, d - shrink[i])));
        const n = shape[a];
        return fc
          .array(fc.integer({ min: -n, max: n - 1 }), { minLength: sizeOf(idxShape), maxLength: sizeOf(idxShape) })
          .map((idx): GradProblem => ({
            label: `gather(x, ${JSON.stringify(idx)} as [${idxShape}], {axis: ${axis}})`,
            inputs: [x],
            f: (t) => T.gather(t, T.tensor(idx, { shape: idxShape, dtype: 'int32', backend: 'cpu' }), { axis }),
          }));
      }),
  ),
};

describe('take and gather', () => {
  for (const [name, problems] of Object.entries(indexCases)) {
    it(
      `the gradient of ${name} (repeated, negative and clamped indices) matches finite differences`,
      gradProperty(problems, 40),
    );
  }
});

// --- every primitive is covered ------------------------------------------------------------------

/**
 * Which case above exercises each non-elementwise primitive's VJP rule (the elementwise ones are
 * covered by the unary and binary tables). Typed over the primitive set: a new primitive does not
 * compile until it names its gradient test here.
 */
const primitiveCoverage: Record<Exclude<Primitive, UnaryOp | BinaryOp>, string> = {
  where: 'where',
  stopGradient: 'stopGradient (tests/grad-models.test.ts)',
  cast: 'cast',
  reduceSum: 'sum',
  reduceProd: 'prod',
  reduceMax: 'max',
  reduceMin: 'min',
  argmax: 'argmax',
  argmin: 'argmin',
  reshape: 'reshape',
  permute: 'transpose',
  broadcastTo: 'broadcastTo',
  slice: 'slice',
  pad: 'pad',
  concat: 'concat',
  take: 'take',
  matmul: 'matmul',
  conv2d: 'conv2d (stride, padding incl. same, dilation, groups, bias)',
  convTranspose2d: 'convTranspose2d (stride, padding, outputPadding < stride, dilation, groups, bias)',
  softmax: 'softmax',
  groupNormAct: 'groupNorm with weight, bias and activation (identity or silu; eps 1e-5 or 0.1)',
  groupNormActBackward: 'groupNormActBackward (x, w, b, g)',
  groupNormActParamGrads: 'groupNormActParamGrads (x, w, b, g)',
  standardize: 'standardize (eps 1e-5 or 0.1)',
  standardizeBackward: 'standardizeBackward (x, y, v; eps 1e-5 or 0.1)',
  attention: 'attention (q, k, v; 0-2 leading dims, default or given scale)',
  upsampleNearest2d: 'upsampleNearest2d',
};

describe('coverage', () => {
  it('every non-elementwise primitive names a gradient case that exists (here or in grad-norm.test.ts)', () => {
    const cases = new Set([
      'where',
      'cast',
      'matmul',
      'argmax',
      'argmin',
      'stopGradient (tests/grad-models.test.ts)',
      ...Object.keys(reductionCases),
      ...Object.keys(movementCases),
      ...Object.keys(convCases),
      ...Object.keys(normCases),
      ...Object.keys(indexCases),
    ]);
    for (const [prim, name] of Object.entries(primitiveCoverage))
      expect(cases.has(name), `${prim} -> ${name}`).toBe(true);
  });

  for (const op of ['argmax', 'argmin'] as const) {
    it(`${op} (an int32 result) passes a zero gradient back`, async () => {
      await fc.assert(
        fc.asyncProperty(
          smallShape(1).chain((s) => hostOf(s, distinct)),
          (x) => expectZeroGradient(op, [x]),
        ),
        runs(5),
      );
    });
  }
});
