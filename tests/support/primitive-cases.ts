// One generated problem per primitive, typed over the primitive set (a new primitive fails to
// compile here until it has a case): a function that binds the primitive through its public op,
// with its inputs' shapes, dtypes and values. The transform tests run every case through jvp
// (against finite differences), vmap (against a loop) and both backends.
import fc from 'fast-check';
import * as T from '../../src/index.js';
import type { CheckGradOptions, Primitive, Tensor } from '../../src/index.js';
import { binaryOps, unaryOps, type BinaryOp, type UnaryOp } from '../../src/kernels/elementwise-ops.js';
import { arbitraryBroadcastShapes, arbitraryShape } from '../../src/testing/index.js';
import { axisArb, axisSubsetArb, groupNormProblemArb, intsArb, permutationArb, sizeOf } from './arbitraries.js';
import { bind } from '../../src/tensor/primitives.js';

/** Makes `n` element values. */
export type Values = (n: number) => fc.Arbitrary<number[]>;

export interface CaseInput {
  readonly shape: readonly number[];
  readonly dtype: 'float64' | 'int32' | 'bool';
  readonly values: Values;
}

export interface PrimitiveCase {
  readonly label: string;
  readonly inputs: readonly CaseInput[];
  readonly f: (...xs: Tensor[]) => Tensor;
  /**
   * How the JVP is checked: against finite differences in the float inputs (with these
   * options), or 'zero' where the output is not float or piecewise constant.
   */
  readonly jvp: CheckGradOptions | 'zero';
}

const GRID = 2 ** 20;

/**
 * Values in [min, max] on a grid of 2^21 steps. (fc.double favours values like 1e-300, which make
 * every derivative term vanish below the tolerances: a wrong rule would pass.)
 */
const between = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min: -GRID, max: GRID }).map((k) => (min + max) / 2 + ((max - min) / 2) * (k / GRID));

export const uniformIn =
  (min: number, max: number): Values =>
  (n) =>
    fc.array(between(min, max), { minLength: n, maxLength: n });

/** |x| in [minAbs, maxAbs], either sign (or positive only). */
export const awayFromZero =
  (minAbs: number, maxAbs: number, { positive = false } = {}): Values =>
  (n) =>
    fc.array(
      fc.tuple(between(minAbs, maxAbs), fc.boolean()).map(([v, negative]) => (negative && !positive ? -v : v)),
      { minLength: n, maxLength: n },
    );

/** Pairwise-distinct values (k + 1/2) / 400 in (-2, 2): no ties, kinks or integers within a finite-difference step. */
export const distinct: Values = (n) =>
  fc
    .uniqueArray(fc.integer({ min: -800, max: 799 }), { minLength: n, maxLength: n })
    .map((ks) => ks.map((k) => (k + 0.5) / 400));

const smooth = uniformIn(-2, 2);
const bools: Values = (n) => fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n });
const ints =
  (min: number, max: number): Values =>
  (n) =>
    fc.array(fc.integer({ min, max }), { minLength: n, maxLength: n });

const float = (shape: readonly number[], values: Values = smooth): CaseInput => ({ shape, dtype: 'float64', values });

/**
 * Pairwise 0.2 apart in [-4, 4) (a grid with a jitter under 0.1): a group of two or more values has
 * a variance of at least 0.0025, so a normalisation's 1 / sqrt(var + eps) stays under 20.
 */
const spread: Values = (n) =>
  fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: -20, max: 19 }), { minLength: n, maxLength: n }),
      fc.array(between(0, 0.09), { minLength: n, maxLength: n }),
    )
    .map(([ks, jitter]) => ks.map((k, i) => k / 5 + jitter[i]));

/** A case of one of the fused group normalisation's gradient primitives (x, w, b and g independent). */
const groupNormGradCase = (prim: 'groupNormActBackward' | 'groupNormActParamGrads') =>
  groupNormProblemArb.map(({ x, c, p }) => ({
    label: `${prim} of x [${x}], ${p.groups} groups, ${p.act}`,
    inputs: [float(x, spread), float([c]), float([c]), float(x)],
    f: (tx: Tensor, w: Tensor, b: Tensor, g: Tensor) => bind(prim, [tx, w, b, g], p),
    jvp: {},
  }));
const smallShape = (minRank = 0, maxRank = 3) => arbitraryShape({ minRank, maxRank, minDim: 1, maxDim: 3 });

// erf (and gelu) evaluate a 1.5e-7-accurate formula whose own slope differs from the exact erf'
// the rules use by up to ~7e-6 (see grad-ops.test.ts): finite differences confirm it to that.
const ERF_APPROXIMATION: CheckGradOptions = { atol: 5e-5 };

const unaryValues: Record<UnaryOp, { values: Values; jvp: CheckGradOptions | 'zero' }> = {
  neg: { values: smooth, jvp: {} },
  abs: { values: distinct, jvp: {} },
  sign: { values: distinct, jvp: 'zero' },
  square: { values: smooth, jvp: {} },
  relu: { values: distinct, jvp: {} },
  exp: { values: smooth, jvp: {} },
  log: { values: awayFromZero(0.1, 3, { positive: true }), jvp: {} },
  sqrt: { values: awayFromZero(0.1, 3, { positive: true }), jvp: {} },
  rsqrt: { values: awayFromZero(0.1, 3, { positive: true }), jvp: {} },
  reciprocal: { values: awayFromZero(0.2, 3), jvp: {} },
  sin: { values: uniformIn(-4, 4), jvp: {} },
  cos: { values: uniformIn(-4, 4), jvp: {} },
  tanh: { values: uniformIn(-3, 3), jvp: {} },
  sigmoid: { values: uniformIn(-4, 4), jvp: {} },
  silu: { values: uniformIn(-4, 4), jvp: {} },
  gelu: { values: awayFromZero(1e-3, 3), jvp: ERF_APPROXIMATION },
  erf: { values: awayFromZero(1e-3, 3), jvp: ERF_APPROXIMATION },
  floor: { values: distinct, jvp: 'zero' },
  ceil: { values: distinct, jvp: 'zero' },
  round: { values: distinct, jvp: 'zero' },
  logicalNot: { values: bools, jvp: 'zero' },
};

const binaryValues: Record<BinaryOp, { a: Values; b: Values; jvp: CheckGradOptions | 'zero'; dtype?: 'bool' }> = {
  add: { a: smooth, b: smooth, jvp: {} },
  sub: { a: smooth, b: smooth, jvp: {} },
  mul: { a: smooth, b: smooth, jvp: {} },
  div: { a: smooth, b: awayFromZero(0.3, 2), jvp: {} },
  pow: { a: awayFromZero(0.2, 2, { positive: true }), b: uniformIn(-2, 2), jvp: {} },
  // b sits 1/1600 off a's grid of (k + 1/2) / 400, so the operands never tie.
  maximum: { a: distinct, b: (n) => distinct(n).map((v) => v.map((x) => x + 1 / 1600)), jvp: {} },
  minimum: { a: distinct, b: (n) => distinct(n).map((v) => v.map((x) => x + 1 / 1600)), jvp: {} },
  equal: { a: ints(-1, 1), b: ints(-1, 1), jvp: 'zero' },
  notEqual: { a: ints(-1, 1), b: ints(-1, 1), jvp: 'zero' },
  less: { a: smooth, b: smooth, jvp: 'zero' },
  lessEqual: { a: smooth, b: smooth, jvp: 'zero' },
  greater: { a: smooth, b: smooth, jvp: 'zero' },
  greaterEqual: { a: smooth, b: smooth, jvp: 'zero' },
  logicalAnd: { a: bools, b: bools, jvp: 'zero', dtype: 'bool' },
  logicalOr: { a: bools, b: bools, jvp: 'zero', dtype: 'bool' },
};

const publicFn = <F>(name: string): F => (T as unknown as Record<string, F>)[name];

const unaryCase = (op: UnaryOp): fc.Arbitrary<PrimitiveCase> => {
  const { values, jvp } = unaryValues[op];
  const fn = publicFn<(x: Tensor) => Tensor>(op);
  return smallShape().map((s) => ({
    label: op,
    inputs: [{ shape: s, dtype: op === 'logicalNot' ? 'bool' : 'float64', values }],
    f: fn,
    jvp,
  }));
};

const binaryCase = (op: BinaryOp): fc.Arbitrary<PrimitiveCase> => {
  const { a, b, jvp, dtype } = binaryValues[op];
  const fn = publicFn<(a: Tensor, b: Tensor) => Tensor>(op);
  return arbitraryBroadcastShapes(2, { maxRank: 3, minDim: 1, maxDim: 3 }).map(([, sa, sb]) => ({
    label: `${op} [${sa}] [${sb}]`,
    inputs: [
      { shape: sa, dtype: dtype ?? 'float64', values: a },
      { shape: sb, dtype: dtype ?? 'float64', values: b },
    ],
    f: fn,
    jvp,
  }));
};

type Reducer = (x: Tensor, options: T.ReduceOptions) => Tensor;
const reduceCase = (name: string, fn: Reducer, values: Values): fc.Arbitrary<PrimitiveCase> =>
  smallShape(1).chain((s) =>
    fc.tuple(axisSubsetArb(s.length, { minLength: 1 }), fc.boolean()).map(([axis, keepdims]) => ({
      label: `${name}(axis ${JSON.stringify(axis)}, keepdims ${keepdims}) of [${s}]`,
      inputs: [float(s, values)],
      f: (x: Tensor) => fn(x, { axis, keepdims }),
      jvp: {},
    })),
  );

const argCase = (name: 'argmax' | 'argmin'): fc.Arbitrary<PrimitiveCase> =>
  smallShape(1).chain((s) =>
    axisArb(s.length).map((axis) => ({
      label: `${name}(axis ${axis}) of [${s}]`,
      inputs: [float(s, distinct)],
      f: (x: Tensor) => T[name](x, { axis }),
      jvp: 'zero' as const,
    })),
  );

/** Conv geometry: batch, groups, channels per group, spatial size, kernel, stride, padding. */
const convGeometry = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 2 }),
  og: fc.integer({ min: 1, max: 2 }),
  h: fc.integer({ min: 3, max: 5 }),
  w: fc.integer({ min: 3, max: 5 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.integer({ min: 0, max: 1 }),
});

export const primitiveCases: { [P in Primitive]: fc.Arbitrary<PrimitiveCase> } = {
  ...(Object.fromEntries(Object.keys(unaryOps).map((op) => [op, unaryCase(op as UnaryOp)])) as {
    [P in UnaryOp]: fc.Arbitrary<PrimitiveCase>;
  }),
  ...(Object.fromEntries(Object.keys(binaryOps).map((op) => [op, binaryCase(op as BinaryOp)])) as {
    [P in BinaryOp]: fc.Arbitrary<PrimitiveCase>;
  }),
  where: arbitraryBroadcastShapes(3, { maxRank: 3, minDim: 1, maxDim: 3 }).map(([, sc, sa, sb]) => ({
    label: `where [${sc}] [${sa}] [${sb}]`,
    inputs: [{ shape: sc, dtype: 'bool', values: bools }, float(sa), float(sb)],
    f: (c: Tensor, a: Tensor, b: Tensor) => T.where(c, a, b),
    jvp: {},
  })),
  stopGradient: smallShape().map((s) => ({
    label: 'stopGradient',
    inputs: [float(s)],
    f: (x: Tensor) => T.stopGradient(x),
    jvp: 'zero',
  })),
  // Through float32 and back (finite differences need a step float32 can see); where float32 is
  // the input's dtype (WebGPU has no float64), through int32 and back: a zero tangent.
  cast: smallShape().map((s) => ({
    label: 'cast to float32 (int32 from float32) and back',
    inputs: [float(s)],
    f: (x: Tensor) => T.cast(T.mul(T.cast(x, x.dtype === 'float64' ? 'float32' : 'int32'), 3), x.dtype),
    jvp: { eps: 1e-2, rtol: 1e-3, atol: 1e-4 },
  })),
  reduceSum: reduceCase('sum', T.sum, smooth),
  reduceProd: reduceCase('prod', T.prod, awayFromZero(0.5, 1.5)),
  reduceMax: reduceCase('max', T.max, distinct),
  reduceMin: reduceCase('min', T.min, distinct),
  argmax: argCase('argmax'),
  argmin: argCase('argmin'),
  softmax: smallShape(1).map((s) => ({
    label: `softmax of [${s}]`,
    inputs: [float(s)],
    f: (x: Tensor) => T.softmax(x),
    jvp: {},
  })),
  attention: intsArb([0, 2], [1, 3], [1, 3], [1, 3], [1, 3]).map(([leading, n, m, d, e]) => {
    const lead = Array<number>(leading).fill(2);
    return {
      label: `attention q [${[...lead, n, d]}] k [${[...lead, m, d]}] v [${[...lead, m, e]}]`,
      inputs: [float([...lead, n, d]), float([...lead, m, d]), float([...lead, m, e])],
      f: (q: Tensor, k: Tensor, v: Tensor) => T.attention(q, k, v),
      jvp: {},
    };
  }),
  // Rows of one element standardise to 0 whatever x is: at least 2 per row.
  standardize: smallShape(1)
    .map((s) => s.map((d, i) => (i === s.length - 1 ? Math.max(d, 2) : d)))
    .map((s) => ({
      label: `standardize of [${s}]`,
      inputs: [float(s)],
      f: (x: Tensor) => T.standardize(x),
      jvp: {},
    })),
  standardizeBackward: smallShape(1)
    .map((s) => s.map((d, i) => (i === s.length - 1 ? Math.max(d, 2) : d)))
    .map((s) => ({
      label: `standardizeBackward of [${s}] x 3`,
      inputs: [float(s), float(s), float(s)],
      f: (x: Tensor, y: Tensor, v: Tensor) => T.standardizeBackward(x, y, v),
      jvp: {},
    })),
  groupNormAct: groupNormProblemArb.map(({ x, c, p }) => ({
    label: `groupNorm of x [${x}], ${p.groups} groups, ${p.act}`,
    inputs: [float(x, spread), float([c]), float([c])],
    f: (tx: Tensor, w: Tensor, b: Tensor) =>
      T.groupNorm(tx, { groups: p.groups, weight: w, bias: b, activation: p.act }),
    jvp: {},
  })),
  groupNormActBackward: groupNormGradCase('groupNormActBackward'),
  groupNormActParamGrads: groupNormGradCase('groupNormActParamGrads'),
  reshape: smallShape().map((s) => ({
    label: `reshape [${s}] to its reverse`,
    inputs: [float(s)],
    f: (x: Tensor) => T.reshape(x, [...s].reverse()),
    jvp: {},
  })),
  permute: smallShape().chain((s) =>
    permutationArb(s.length).map((perm) => ({
      label: `transpose [${s}] by ${perm}`,
      inputs: [float(s)],
      f: (x: Tensor) => T.transpose(x, perm),
      jvp: {},
    })),
  ),
  broadcastTo: smallShape().map((s) => {
    const target = [2, ...s.map((d) => (d === 1 ? 2 : d))];
    return {
      label: `broadcastTo [${s}] -> [${target}]`,
      inputs: [float(s)],
      f: (x: Tensor) => T.broadcastTo(x, target),
      jvp: {},
    };
  }),
  slice: smallShape(1).chain((s) =>
    fc
      .tuple(
        ...s.map((d) =>
          fc.tuple(fc.integer({ min: 0, max: d - 1 }), fc.integer({ min: 1, max: d }), fc.integer({ min: 1, max: 2 })),
        ),
      )
      .map((dims) => {
        const starts = dims.map(([a]) => a);
        const ends = dims.map(([a, len], i) => Math.min(s[i], a + len));
        const steps = dims.map(([, , st]) => st);
        return {
          label: `slice [${s}] ${starts}:${ends}:${steps}`,
          inputs: [float(s)],
          f: (x: Tensor) => T.slice(x, starts, ends, steps),
          jvp: {},
        };
      }),
  ),
  pad: smallShape(1).chain((s) =>
    fc
      .array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
        minLength: s.length,
        maxLength: s.length,
      })
      .map((widths) => ({
        label: `pad [${s}] by ${JSON.stringify(widths)} with 1.5`,
        inputs: [float(s)],
        f: (x: Tensor) => T.pad(x, widths, { value: 1.5 }),
        jvp: {},
      })),
  ),
  concat: smallShape(1).chain((s) =>
    fc.tuple(axisArb(s.length), fc.integer({ min: 1, max: 3 })).map(([axis, other]) => {
      const a = axis < 0 ? axis + s.length : axis;
      const s2 = s.map((d, i) => (i === a ? other : d));
      return {
        label: `concat [${s}] [${s2}] on ${axis}`,
        inputs: [float(s), float(s2)],
        f: (x: Tensor, y: Tensor) => T.concat([x, y], { axis }),
        jvp: {},
      };
    }),
  ),
  take: smallShape(1).chain((s) =>
    fc.tuple(axisArb(s.length), smallShape(0, 2)).map(([axis, idxShape]) => {
      const n = s[axis < 0 ? axis + s.length : axis];
      return {
        label: `take [${s}] at [${idxShape}] along ${axis}`,
        inputs: [float(s), { shape: idxShape, dtype: 'int32' as const, values: ints(-n, n - 1) }],
        f: (x: Tensor, idx: Tensor) => T.take(x, idx, { axis }),
        jvp: {},
      };
    }),
  ),
  matmul: intsArb([0, 1], [1, 3], [1, 3], [1, 3], [1, 2]).map(([batched, m, k, n, b]) => {
    const lead = batched ? [b] : [];
    return {
      label: `matmul [${[...lead, m, k]}] [${[...lead, k, n]}]`,
      inputs: [float([...lead, m, k]), float([...lead, k, n])],
      f: T.matmul,
      jvp: {},
    };
  }),
  upsampleNearest2d: intsArb([1, 2], [1, 2], [1, 3], [1, 3], [1, 3], [1, 3]).map(([n, c, h, w, sh, sw]) => ({
    label: `upsampleNearest2d x [${[n, c, h, w]}] scale [${[sh, sw]}]`,
    inputs: [float([n, c, h, w])],
    f: (x: Tensor) => T.upsampleNearest2d(x, { scale: [sh, sw] }),
    jvp: {},
  })),
  conv2d: convGeometry.map(({ n, groups, cg, og, h, w, k, stride, padding }) => ({
    label: `conv2d x [${n}, ${groups * cg}, ${h}, ${w}] w [${groups * og}, ${cg}, ${k}, ${k}] stride ${stride} padding ${padding} groups ${groups}`,
    inputs: [float([n, groups * cg, h, w]), float([groups * og, cg, k, k])],
    f: (x: Tensor, wt: Tensor) => T.conv2d(x, wt, { stride, padding, groups }),
    jvp: {},
  })),
  convTranspose2d: convGeometry.map(({ n, groups, cg, og, h, w, k, stride, padding }) => {
    const pad = Math.min(padding, k - 1);
    return {
      label: `convTranspose2d x [${n}, ${groups * cg}, ${h}, ${w}] w [${groups * cg}, ${og}, ${k}, ${k}] stride ${stride} padding ${pad} groups ${groups}`,
      inputs: [float([n, groups * cg, h, w]), float([groups * cg, og, k, k])],
      f: (x: Tensor, wt: Tensor) => T.convTranspose2d(x, wt, { stride, padding: pad, groups }),
      jvp: {},
    };
  }),
};

/** Host values for each input of a case. */
export const caseValues = (c: PrimitiveCase): fc.Arbitrary<number[][]> =>
  fc.tuple(...c.inputs.map((i) => i.values(sizeOf(i.shape))));

/** Uploads one input's values. */
export const uploadInput = (
  input: CaseInput,
  values: readonly number[],
  backend: 'cpu' | 'webgpu',
  float: 'float64' | 'float32' = 'float64',
): Tensor =>
  T.tensor(Float64Array.from(values), {
    shape: [...input.shape],
    dtype: input.dtype === 'float64' ? float : input.dtype,
    backend,
  });
