// The gradient cases of softmax and the normalisations (standardize and its backward, the fused
// group norm and its two gradient primitives, layer and group norm, attention), checked against
// finite differences by tests/grad-norm.test.ts; tests/grad-ops.test.ts's coverage test reads
// their names.
import fc from 'fast-check';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { bind } from '../../src/tensor/primitives.js';
import { axisArb, groupNormProblemArb } from './arbitraries.js';
import { hostOf, smallShape, spreadOut, uniformIn, type GradProblem } from './grad-problems.js';

function groupNormCases(): Record<string, fc.Arbitrary<GradProblem>> {
  const withInputs = (extra: number) =>
    groupNormProblemArb.chain(({ x, c, p }) =>
      fc
        .tuple(hostOf(x, spreadOut), ...[[c], [c], ...Array.from({ length: extra }, () => x)].map((s) => hostOf(s)))
        .map((inputs) => ({ p, inputs })),
    );
  const gradPrimitive = (prim: 'groupNormActBackward' | 'groupNormActParamGrads') =>
    withInputs(1).map(({ p, inputs }): GradProblem => ({
      label: `${prim}(x [${inputs[0].shape}], w, b, g; ${p.groups} groups, eps ${p.eps}, ${p.act})`,
      inputs,
      f: (x, w, b, g) => bind(prim, [x, w, b, g], p),
    }));
  return {
    'groupNorm with weight, bias and activation (identity or silu; eps 1e-5 or 0.1)': withInputs(0).map(
      ({ p: { groups, eps, act }, inputs }): GradProblem => ({
        label: `groupNorm(x [${inputs[0].shape}], {groups: ${groups}, eps: ${eps}, activation: ${act}})`,
        inputs,
        f: (x, w, b) => T.groupNorm(x, { groups, weight: w, bias: b, eps, activation: act }),
      }),
    ),
    'groupNormActBackward (x, w, b, g)': gradPrimitive('groupNormActBackward'),
    'groupNormActParamGrads (x, w, b, g)': gradPrimitive('groupNormActParamGrads'),
    'groupNorm with silu, grad of grad': withInputs(1).map(({ p: { groups, eps }, inputs }): GradProblem => ({
      label: `(x, w, b, u) -> sum of grad(sum(groupNorm(x, w, b, silu) * u)) w.r.t. x, w, b, x [${inputs[0].shape}]`,
      inputs,
      f: (x, w, b, u) => {
        const inner = (tx: Tensor, tw: Tensor, tb: Tensor) =>
          T.sum(T.mul(T.groupNorm(tx, { groups, weight: tw, bias: tb, eps, activation: 'silu' }), u));
        const [gx, gw, gb] = T.grad(inner, { argnums: [0, 1, 2] })(x, w, b);
        return T.add(T.add(T.sum(T.mul(gx, u)), T.sum(T.mul(gw, gw))), T.sum(T.mul(gb, w)));
      },
    })),
  };
}

export const normCases: Record<string, fc.Arbitrary<GradProblem>> = {
  softmax: smallShape(1, 3).chain((shape) =>
    fc.tuple(hostOf(shape, uniformIn(-4, 4)), axisArb(shape.length)).map(([x, axis]): GradProblem => ({
      label: `softmax(x, {axis: ${axis}})`,
      inputs: [x],
      f: (t) => T.softmax(t, { axis }),
    })),
  ),
  'standardize (eps 1e-5 or 0.1)': smallShape(1, 3)
    .map((s) => s.map((d, i) => (i === s.length - 1 ? Math.max(d, 2) : d)))
    .chain((shape) =>
      fc.tuple(hostOf(shape, uniformIn(-4, 4)), fc.constantFrom(1e-5, 0.1)).map(([x, eps]): GradProblem => ({
        label: `standardize(x [${shape}], {eps: ${eps}})`,
        inputs: [x],
        f: (t) => T.standardize(t, { eps }),
      })),
    ),
  // x, y and v independent: the primitive's own rules (grad of grad) treat them so. x's rows are
  // spread out, as in the grad-of-grad case below (near-constant rows defeat finite differences).
  'standardizeBackward (x, y, v; eps 1e-5 or 0.1)': smallShape(1, 3)
    .map((s) => s.map((d, i) => (i === s.length - 1 ? Math.max(d, 2) : d)))
    .chain((shape) =>
      fc
        .tuple(hostOf(shape, spreadOut), hostOf(shape), hostOf(shape), fc.constantFrom(1e-5, 0.1))
        .map(([x, y, v, eps]): GradProblem => ({
          label: `standardizeBackward(x, y, v [${shape}], {eps: ${eps}})`,
          inputs: [x, y, v],
          f: (tx, ty, tv) => T.standardizeBackward(tx, ty, tv, { eps }),
        })),
    ),
  // The gradient of a function of standardize's gradient: y = standardize(x) reaches the backward
  // through x twice (as x and through y), which the independent case above does not cover. Rows of
  // x are spread out: on a near-constant row r = 1/sqrt(var + 1e-5) reaches 316, and the central
  // difference's own error (rounding in values of order r^2, divided by the step) passes the
  // tolerance there (CI's shrinker found x = 0: analytic -1.3e-8, difference -1.1e-7).
  'standardize, grad of grad': smallShape(1, 3)
    .map((s) => s.map((d, i) => (i === s.length - 1 ? Math.max(d, 2) : d)))
    .chain((shape) =>
      fc.tuple(hostOf(shape, spreadOut), hostOf(shape), hostOf(shape)).map(([x, w, u]): GradProblem => ({
        label: `x -> sum(grad(sum(standardize(x) * w))(x) * u), x [${shape}]`,
        inputs: [x, w, u],
        f: (tx, tw, tu) => T.sum(T.mul(T.grad((z: T.Tensor) => T.sum(T.mul(T.standardize(z), tw)))(tx), tu)),
      })),
    ),
  // Group normalisation with its affine and activation (one primitive), x [R, C, S] in groups of
  // at least two spread-out values; its two gradient primitives with x, w, b and g independent (their
  // own rules, for grad of grad); and the gradient of a function of its gradient, where x reaches
  // the gradient primitives both directly and through w, b.
  ...groupNormCases(),
  // q, k and v of generated widths (the scale its default or given), with 0-2 leading dims; a
  // second-order case checks the rules' own composition (grad of grad).
  'attention (q, k, v; 0-2 leading dims, default or given scale)': fc
    .record({
      lead: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 2 }),
      n: fc.integer({ min: 1, max: 3 }),
      m: fc.integer({ min: 1, max: 3 }),
      d: fc.integer({ min: 1, max: 3 }),
      e: fc.integer({ min: 1, max: 3 }),
      scale: fc.constantFrom(undefined, 0.7),
    })
    .chain(({ lead, n, m, d, e, scale }) =>
      fc
        .tuple(
          hostOf([...lead, n, d], uniformIn(-2, 2)),
          hostOf([...lead, m, d], uniformIn(-2, 2)),
          hostOf([...lead, m, e]),
        )
        .map((inputs): GradProblem => ({
          label: `attention(q [${[...lead, n, d]}], k [${[...lead, m, d]}], v [${[...lead, m, e]}], {scale: ${scale}})`,
          inputs,
          f: (q, k, v) => T.attention(q, k, v, { scale }),
        })),
    ),
  'attention, grad of grad': fc
    .record({ n: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 1, max: 3 }), d: fc.integer({ min: 1, max: 2 }) })
    .chain(({ n, m, d }) =>
      fc
        .tuple(hostOf([n, d], uniformIn(-2, 2)), hostOf([m, d], uniformIn(-2, 2)), hostOf([m, 2]), hostOf([n, d]))
        .map((inputs): GradProblem => ({
          label: `q -> sum(grad(sum(attention(q, k, v)^2))(q) * u), q [${n}, ${d}], k [${m}, ${d}]`,
          inputs,
          f: (q, k, v, u) => T.sum(T.mul(T.grad((z: T.Tensor) => T.sum(T.square(T.attention(z, k, v))))(q), u)),
        })),
    ),
  logSoftmax: smallShape(1, 3).chain((shape) =>
    fc.tuple(hostOf(shape, uniformIn(-4, 4)), axisArb(shape.length)).map(([x, axis]): GradProblem => ({
      label: `logSoftmax(x, {axis: ${axis}})`,
      inputs: [x],
      f: (t) => T.logSoftmax(t, { axis }),
    })),
  ),
  'layerNorm (weight, bias, 1 or 2 normalised dims)': smallShape(1, 3)
    .chain((shape) =>
      fc.tuple(fc.constant(shape), fc.integer({ min: 1, max: shape.length }), fc.boolean(), fc.boolean()),
    )
    .chain(([shape, k, withWeight, withBias]) => {
      const tail = shape.slice(shape.length - k);
      return fc.tuple(hostOf(shape), hostOf(tail), hostOf(tail)).map(([x, w, b]): GradProblem => ({
        label: `layerNorm(x, {normalizedDims: ${k}, weight: ${withWeight}, bias: ${withBias}})`,
        inputs: [x, ...(withWeight ? [w] : []), ...(withBias ? [b] : [])],
        f: (t, ...rest) =>
          T.layerNorm(t, {
            normalizedDims: k,
            weight: withWeight ? rest[0] : undefined,
            bias: withBias ? rest[withWeight ? 1 : 0] : undefined,
          }),
      }));
    }),
  'groupNorm (weight, bias, 0 to 2 spatial dims)': fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 3 }),
      perGroup: fc.integer({ min: 1, max: 2 }),
      spatial: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    })
    .chain(({ n, groups, perGroup, spatial }) => {
      const c = groups * perGroup;
      return fc.tuple(hostOf([n, c, ...spatial]), hostOf([c]), hostOf([c])).map((inputs): GradProblem => ({
        label: `groupNorm(x [${[n, c, ...spatial]}], {groups: ${groups}, weight, bias})`,
        inputs,
        f: (x, w, b) => T.groupNorm(x, { groups, weight: w, bias: b }),
        options: { maxElementsPerInput: 30 },
      }));
    }),
};
