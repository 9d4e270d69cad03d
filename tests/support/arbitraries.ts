// fast-check arbitraries for the op acceptance tests: shapes biased toward the sizes that break
// kernels (0, 1, odd), broadcast-compatible shape tuples, exactly representable float32 values,
// int32 and bool values, axis subsets and permutations.
import fc from 'fast-check';
import type { DType } from '../../src/index.js';
import type { HostTensor } from './backends.js';
import { readEnv } from '../../src/env.js';

export type Shape = number[];

/** Integers, one drawn from each inclusive [min, max] range (sizes, strides, flags of a generated problem). */
export const intsArb = (...ranges: readonly (readonly [number, number])[]): fc.Arbitrary<number[]> =>
  fc.tuple(...ranges.map(([min, max]) => fc.integer({ min, max })));

/**
 * A small fused group normalisation (finite differences stay cheap): x [r, groups * cpg, s] in
 * groups of at least two values (one value has no variance to differentiate), eps and activation.
 */
export const groupNormProblemArb = fc
  .record({
    r: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cpg: fc.integer({ min: 1, max: 2 }),
    s: fc.integer({ min: 1, max: 3 }),
    eps: fc.constantFrom(1e-5, 0.1),
    act: fc.constantFrom('identity' as const, 'silu' as const),
  })
  .filter(({ cpg, s }) => cpg * s >= 2)
  .map(({ r, groups, cpg, s, eps, act }) => ({ x: [r, groups * cpg, s], c: groups * cpg, p: { groups, eps, act } }));

/** Number of elements of a shape (1 for 0-d). */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

// --- shapes -------------------------------------------------------------------------------------

/** A dim in 0..7, biased toward 1 (broadcast edge) and odd sizes (tail handling); 0 sometimes. */
export const dimArb = (allowZero = true): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(1) },
    { weight: 4, arbitrary: fc.constantFrom(3, 5, 7) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: 7 }) },
    ...(allowZero ? [{ weight: 1, arbitrary: fc.constant(0) }] : []),
  );

export interface ShapeOptions {
  readonly minRank?: number;
  readonly maxRank?: number;
  /** Allow size-0 dims (default true). */
  readonly allowZero?: boolean;
}

/** A shape of rank minRank..maxRank (default 0..4) with dims from `dimArb`. */
export const shapeArb = ({ minRank = 0, maxRank = 4, allowZero = true }: ShapeOptions = {}): fc.Arbitrary<Shape> =>
  fc.array(dimArb(allowZero), { minLength: minRank, maxLength: maxRank });

/** A shape with no size-0 dim (for ops that refuse empty axes, e.g. max, argmax, softmax). */
export const nonEmptyShapeArb = (options: Omit<ShapeOptions, 'allowZero'> = {}): fc.Arbitrary<Shape> =>
  shapeArb({ ...options, allowZero: false });

/**
 * A shape that broadcasts to `out`: drops 0..rank leading dims, then sets each remaining dim to 1
 * with probability about 1/3.
 */
export const broadcastableTo = (out: readonly number[]): fc.Arbitrary<Shape> =>
  fc
    .record({
      drop: fc.integer({ min: 0, max: out.length }),
      ones: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: out.length, maxLength: out.length }),
    })
    .map(({ drop, ones }) => out.slice(drop).map((d, i) => (ones[i + drop] === 0 ? 1 : d)));

/** Broadcast-compatible shapes derived from one output shape: [out, a, b]. */
export const broadcastPairArb = (options: ShapeOptions = {}): fc.Arbitrary<[Shape, Shape, Shape]> =>
  shapeArb(options).chain((out) => fc.tuple(fc.constant(out), broadcastableTo(out), broadcastableTo(out)));

/** Broadcast-compatible shapes derived from one output shape: [out, a, b, c]. */
export const broadcastTripleArb = (options: ShapeOptions = {}): fc.Arbitrary<[Shape, Shape, Shape, Shape]> =>
  shapeArb(options).chain((out) =>
    fc.tuple(fc.constant(out), broadcastableTo(out), broadcastableTo(out), broadcastableTo(out)),
  );

/** NumPy broadcast of shapes (for expected result shapes). */
export function broadcastShapes(...shapes: (readonly number[])[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    s.forEach((d, i) => {
      const o = rank - s.length + i;
      if (out[o] === 1) out[o] = d;
    });
  }
  return out;
}

// --- values -------------------------------------------------------------------------------------

const STEPS = 2 ** 16;

/**
 * float32 values in [min, max] on a grid of (max - min) / 2^16, so every value is exactly
 * representable, finite, and never a denormal (the grid never gets closer to 0 than one step
 * except at 0 itself). Math.fround makes the float32 rounding explicit.
 */
export const floatArb = (min = -4, max = 4): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: STEPS }).map((i) => Math.fround(min + ((max - min) * i) / STEPS));

/** float32 values with |x| in [minAbs, maxAbs] and either sign (e.g. divisors away from 0). */
export const floatAwayFromZeroArb = (minAbs = 0.25, maxAbs = 4): fc.Arbitrary<number> =>
  fc.tuple(floatArb(minAbs, maxAbs), fc.boolean()).map(([x, negative]) => (negative ? -x : x));

/** int32 values in [min, max]. */
export const intArb = (min = -100, max = 100): fc.Arbitrary<number> => fc.integer({ min, max });

/** Bools as 0/1. */
export const boolArb: fc.Arbitrary<number> = fc.constantFrom(0, 1);

/** Exactly `n` values from `values`. */
export const valuesArb = (values: fc.Arbitrary<number>, n: number): fc.Arbitrary<number[]> =>
  fc.array(values, { minLength: n, maxLength: n });

/** Host data of `shape` with elements from `values`. */
export const hostArb = (
  shape: readonly number[],
  values: fc.Arbitrary<number>,
  dtype: DType = 'float32',
): fc.Arbitrary<HostTensor> => valuesArb(values, sizeOf(shape)).map((v) => ({ values: v, shape: [...shape], dtype }));

/** Values by dtype for mixed-dtype tests: small ints, bools, or floats in [-4, 4]. */
export const valuesFor = (dtype: DType): fc.Arbitrary<number> =>
  dtype === 'bool' ? boolArb : dtype === 'int32' ? intArb(-20, 20) : floatArb(-4, 4);

/** Distinct values (no ties), shuffled: 0.5 * i for i in a permutation of 0..n-1, minus an offset. */
export const distinctValuesArb = (n: number): fc.Arbitrary<number[]> =>
  permutationArb(n).map((p) => p.map((i) => i * 0.5 - n / 4));

// --- axes ---------------------------------------------------------------------------------------

/** A permutation of 0..n-1. */
export const permutationArb = (n: number): fc.Arbitrary<number[]> =>
  fc.shuffledSubarray(
    Array.from({ length: n }, (_, i) => i),
    { minLength: n, maxLength: n },
  );

/**
 * A subset of the axes of a rank-`rank` tensor, in random order, each randomly written as its
 * negative alias (axis - rank).
 */
export const axisSubsetArb = (rank: number, { minLength = 0 } = {}): fc.Arbitrary<number[]> =>
  fc
    .shuffledSubarray(
      Array.from({ length: rank }, (_, i) => i),
      { minLength: Math.min(minLength, rank), maxLength: rank },
    )
    .chain((axes) =>
      fc
        .array(fc.boolean(), { minLength: axes.length, maxLength: axes.length })
        .map((neg) => axes.map((a, i) => (neg[i] ? a - rank : a))),
    );

/** One axis of a rank-`rank` tensor (rank >= 1), possibly negative. */
export const axisArb = (rank: number): fc.Arbitrary<number> => fc.integer({ min: -rank, max: rank - 1 });

/** Multiplies every property's run count, for soak runs: `OPS_RUNS_SCALE=10 npx vitest run tests/ops-*`. */
const RUNS_SCALE = Math.max(1, Number(readEnv('OPS_RUNS_SCALE') ?? 1) || 1);

/** fast-check parameters: a modest run count per property so each file stays fast. */
export const runs = (numRuns = 25): { numRuns: number } => ({ numRuns: Math.round(numRuns * RUNS_SCALE) });

// --- batches (vmap) -------------------------------------------------------------------------------

/** `shape` with a batch of `size` inserted at `axis` (negative counts from the end of the result). */
export const batchedShape = (shape: readonly number[], axis: number, size: number): Shape => {
  const at = axis < 0 ? axis + shape.length + 1 : axis;
  return [...shape.slice(0, at), size, ...shape.slice(at)];
};

/**
 * Row-major values of a batch laid out with its batch axis at `axis`, from per-example values
 * (each `example[b]` row-major in `shape`): the host data vmap's input and the loop's rows share.
 */
export function interleaveBatch(
  examples: readonly (readonly number[])[],
  shape: readonly number[],
  axis: number,
): number[] {
  const at = axis < 0 ? axis + shape.length + 1 : axis;
  const outer = sizeOf(shape.slice(0, at));
  const inner = sizeOf(shape.slice(at));
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const ex of examples) for (let i = 0; i < inner; i++) out.push(ex[o * inner + i]);
  return out;
}
