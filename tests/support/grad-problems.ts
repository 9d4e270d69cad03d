// The harness of the gradient acceptance tests (grad-ops.test.ts): a generated problem (a function,
// its float64 inputs, checkGrad's options), the property that checkGrad passes on every one, and
// the value generators that keep inputs away from the points where an op has no derivative.
import fc from 'fast-check';
import { expect } from 'vitest';
import * as T from '../../src/index.js';
import type { CheckGradOptions, Tensor } from '../../src/index.js';
import { arbitraryShape } from '../../src/testing/index.js';
import { runs, sizeOf } from './arbitraries.js';

// --- problems: a function, its inputs, and how to check it ---------------------------------------

/** Host data of one float64 input. */
export interface Host64 {
  readonly values: readonly number[];
  readonly shape: readonly number[];
}

/** One generated gradient check: f at `inputs`, described by `label` for the failure message. */
export interface GradProblem {
  readonly label: string;
  readonly inputs: readonly Host64[];
  readonly f: (...xs: Tensor[]) => Tensor;
  readonly options?: CheckGradOptions;
}

export const upload = (h: Host64): Tensor =>
  T.tensor(Float64Array.from(h.values), { shape: [...h.shape], dtype: 'float64', backend: 'cpu' });

/** Runs checkGrad on the problem and asserts it passed, with checkGrad's report as the message. */
export async function expectGradientsMatchFiniteDifferences(p: GradProblem): Promise<void> {
  const xs = p.inputs.map(upload);
  try {
    const report = await T.checkGrad(p.f, xs, p.options);
    expect(
      report.ok,
      `${p.label} (input shapes ${p.inputs.map((h) => `[${h.shape}]`).join(', ')}): ${report.message}`,
    ).toBe(true);
  } finally {
    xs.forEach((x) => x.dispose());
  }
}

/** A property: every problem the arbitrary generates passes checkGrad. */
export const gradProperty =
  (problems: fc.Arbitrary<GradProblem>, numRuns = 40) =>
  () =>
    fc.assert(fc.asyncProperty(problems, expectGradientsMatchFiniteDifferences), runs(numRuns));

// --- values: smooth, away from zero, or distinct (no near-ties) ----------------------------------

/** Makes `n` element values. */
export type Values = (n: number) => fc.Arbitrary<number[]>;

export const uniformIn =
  (min: number, max: number): Values =>
  (n) =>
    fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });

/** |x| in [minAbs, maxAbs], either sign (or positive only). */
export const awayFromZero =
  (minAbs: number, maxAbs: number, { positive = false } = {}): Values =>
  (n) =>
    fc.array(
      fc
        .tuple(fc.double({ min: minAbs, max: maxAbs, noNaN: true }), fc.boolean())
        .map(([v, negative]) => (negative && !positive ? -v : v)),
      { minLength: n, maxLength: n },
    );

/**
 * Pairwise-distinct values (k + 1/2) / 400 in (-2, 2): spaced 2.5e-3 apart and at least 1.25e-3
 * from 0, so max/min/maximum/relu/abs/clamp/maxPool see no ties or kinks within the
 * finite-difference step (1e-6).
 */
export const distinct: Values = (n) =>
  fc
    .uniqueArray(fc.integer({ min: -800, max: 799 }), { minLength: n, maxLength: n })
    .map((ks) => ks.map((k) => (k + 0.5) / 400));

export const smooth = uniformIn(-2, 2);

export const hostOf = (shape: readonly number[], values: Values = smooth): fc.Arbitrary<Host64> =>
  values(sizeOf(shape)).map((v) => ({ values: v, shape: [...shape] }));

/**
 * Values in [-4, 4) at least 0.1 apart (a grid of 0.2 with a jitter under 0.1): every row of two or
 * more has a variance of at least 0.0025, so standardize's 1/sqrt(var + eps) stays under 20.
 */
export const spreadOut: Values = (n) =>
  fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: -20, max: 19 }), { minLength: n, maxLength: n }),
      fc.array(fc.double({ min: 0, max: 0.1, maxExcluded: true, noNaN: true }), { minLength: n, maxLength: n }),
    )
    .map(([ks, jitter]) => ks.map((k, i) => k / 5 + (jitter[i] ?? 0)));

/** Several inputs whose values come from one draw of `values` over all of them, split by shape. */
export const hostsOf = (shapes: readonly (readonly number[])[], values: Values): fc.Arbitrary<Host64[]> =>
  values(shapes.reduce((n, s) => n + sizeOf(s), 0)).map((all) => {
    let at = 0;
    return shapes.map((s) => {
      const part = all.slice(at, at + sizeOf(s));
      at += sizeOf(s);
      return { values: part, shape: [...s] };
    });
  });

/** Several inputs whose values are distinct across all of them (for maximum, clamp, where ties matter). */
export const distinctHosts = (shapes: readonly (readonly number[])[]): fc.Arbitrary<Host64[]> =>
  hostsOf(shapes, distinct);

/** Small shapes (rank 0..3, dims 1..3: at most 27 elements) keep finite differences cheap. */
export const smallShape = (minRank = 0, maxRank = 3) => arbitraryShape({ minRank, maxRank, minDim: 1, maxDim: 3 });
