// One vector-Jacobian product rule per primitive, as a table typed over the primitive set (the
// compiler refuses a primitive without a rule). Each rule maps the output cotangent `g` to one
// cotangent per input (null where no gradient flows). Rules are written with the public ops, so
// a transform observing them can differentiate the backward pass again (grad of grad).
import { convTransposeOutSize, type Conv2dParams } from '../kernels/params.js';
import { bind, type Primitive, type PrimitiveParams } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange } from '../tensor/ops/creation.js';
import {
  add,
  cast,
  cos,
  div,
  equal,
  erf,
  exp,
  greater,
  less,
  log,
  mul,
  neg,
  sin,
  square,
  sub,
  where,
  clamp,
} from '../tensor/ops/elementwise.js';
import { broadcastTo, pad, reshape, slice, swapLastAxes, transpose } from '../tensor/ops/movement.js';
import { sum } from '../tensor/ops/reduce.js';
import { standardizeBackwardVjp, standardizeLinearMap } from './standardize-rule.js';
import { attentionVjp } from './attention-rule.js';
import { compositeVjp, groupNormActVjp, inputGradOf, paramGradsOf } from './group-norm-act-rule.js';
import { softmaxLinearMap } from './softmax-rule.js';
import { siluSlope } from './silu-slope.js';

export interface RuleContext<P extends Primitive> {
  readonly inputs: readonly Tensor[];
  readonly params: PrimitiveParams[P];
  readonly output: Tensor;
  /** Which inputs need a cotangent (depend on a differentiated argument); costly rules skip the rest. */
  readonly needs: readonly boolean[];
}

/** Cotangents for each input of primitive P, given the output's cotangent. */
export type VjpRule<P extends Primitive> = (ctx: RuleContext<P>, g: Tensor) => readonly (Tensor | null)[];

const none = (): [null] => [null];
const noneBinary = (): [null, null] => [null, null];

/** Sums g over the dims that broadcasting added or stretched, giving `shape`. */
function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.rank - shape.length;
  const axes = g.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  const summed = axes.length ? sum(g, { axis: axes, keepdims: true }) : g;
  return reshape(summed, shape);
}

/** g broadcast back over the reduced axes of x (the output of a reduction without keepdims). */
function expandReduced(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return broadcastTo(
    reshape(
      g,
      x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
    ),
    x.shape,
  );
}

/** Inverse of the cotangent-to-slice map: zeros except g's entries at the sliced positions. */
function unslice(g: Tensor, x: Tensor, { starts, steps }: PrimitiveParams['slice']): Tensor {
  let out = g;
  for (let axis = 0; axis < x.rank; axis++) {
    const step = steps[axis];
    const n = out.shape[axis];
    if (step > 1 && n > 0) {
      // Interleave step-1 zeros after each entry: [.., n, ..] -> [.., n, step, ..] -> [.., n*step, ..].
      const shape = out.shape;
      const spread = pad(reshape(out, [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)]), [
        ...shape.slice(0, axis + 1).map(() => [0, 0] as [number, number]),
        [0, step - 1],
      ]);
      out = reshape(spread, [...shape.slice(0, axis), n * step, ...shape.slice(axis + 1)]);
      out = slice(
        out,
        out.shape.map(() => 0),
        out.shape.map((d, i) => (i === axis ? (n - 1) * step + 1 : d)),
      );
    }
    const before = starts[axis];
    const after = x.shape[axis] - before - out.shape[axis];
    if (before || after)
      out = pad(
        out,
        out.shape.map((_, i) => (i === axis ? [before, after] : [0, 0]) as [number, number]),
      );
  }
  return out;
}

/**
 * d(conv2d)/d(weights), as a convolution of the input with the output cotangent (batch and
 * channels swapped, stride and dilation swapped), grouped: returns [O, C / groups, kh, kw].
 */
function convWeightGrad(x: Tensor, g: Tensor, kernel: readonly [number, number], p: Conv2dParams): Tensor {
  const [n, c, h, w] = x.shape;
  const [, o, ho, wo] = g.shape;
  const G = p.groups;
  const cg = c / G;
  const og = o / G;
  // x [N, G*Cg, H, W] -> [Cg, G*N, H, W]: a "batch" of Cg images with G*N channels.
  const xs = reshape(transpose(reshape(x, [n, G, cg, h, w]), [2, 1, 0, 3, 4]), [cg, G * n, h, w]);
  // g [N, G*Og, Ho, Wo] -> [G*Og, N, Ho, Wo]: G*Og "filters" over N channels per group.
  const gs = reshape(transpose(reshape(g, [n, G, og, ho, wo]), [1, 2, 0, 3, 4]), [G * og, n, ho, wo]);
  const full = bind('conv2d', [xs, gs], { stride: p.dilation, padding: p.padding, dilation: p.stride, groups: G });
  const cropped = slice(full, [0, 0, 0, 0], [cg, o, kernel[0], kernel[1]]);
  return transpose(cropped, [1, 0, 2, 3]);
}

/** PyTorch-style index normalisation shared with the take kernels: wrap once, then clamp. */
export const normalizeIndices = (idx: Tensor, n: number): Tensor =>
  clamp(where(less(idx, 0), add(idx, n), idx), { min: 0, max: Math.max(n - 1, 0) });

/** max/min: the cotangent goes to the entries equal to the result, split evenly between ties. */
function extremumRule<P extends 'reduceMax' | 'reduceMin'>(
  { inputs: [x], params: { axes }, output }: RuleContext<P>,
  g: Tensor,
): [Tensor] {
  const hit = cast(equal(x, expandReduced(output, x, axes)), x.dtype);
  const count = sum(hit, { axis: [...axes], keepdims: true });
  return [mul(div(hit, count), expandReduced(g, x, axes))];
}

/** maximum/minimum: the winner takes g; exact ties split it in half (as JAX does). */
function pickRule<P extends 'maximum' | 'minimum'>(win: (a: Tensor, b: Tensor) => Tensor) {
  return ({ inputs: [a, b] }: RuleContext<P>, g: Tensor): [Tensor, Tensor] => {
    const share = add(cast(win(a, b), a.dtype), mul(cast(equal(a, b), a.dtype), 0.5));
    const ga = mul(g, share);
    return [ga, sub(g, ga)];
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const vjpRules: { [P in Primitive]: VjpRule<P> } = {
  // --- unary -------------------------------------------------------------------------------
  neg: (_, g) => [neg(g)],
  abs: ({ inputs: [x] }, g) => [mul(g, where(greater(x, 0), 1, where(less(x, 0), -1, 0)))],
  sign: none,
  square: ({ inputs: [x] }, g) => [mul(g, mul(x, 2))],
  relu: ({ inputs: [x] }, g) => [where(greater(x, 0), g, 0)],
  exp: ({ output }, g) => [mul(g, output)],
  log: ({ inputs: [x] }, g) => [div(g, x)],
  sqrt: ({ output }, g) => [div(g, mul(output, 2))],
  rsqrt: ({ inputs: [x], output }, g) => [mul(g, div(mul(output, -0.5), x))],
  reciprocal: ({ output }, g) => [neg(mul(g, square(output)))],
  sin: ({ inputs: [x] }, g) => [mul(g, cos(x))],
  cos: ({ inputs: [x] }, g) => [neg(mul(g, sin(x)))],
  tanh: ({ output }, g) => [mul(g, sub(1, square(output)))],
  sigmoid: ({ output }, g) => [mul(g, mul(output, sub(1, output)))],
  silu: ({ inputs: [x] }, g) => [mul(g, siluSlope(x))],
  // d/dx x*Phi(x) = Phi(x) + x*phi(x), with the same erf as the forward pass.
  gelu: ({ inputs: [x] }, g) => {
    const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(square(x), -0.5)), SQRT_2_OVER_PI / 2);
    return [mul(g, add(cdf, mul(x, pdf)))];
  },
  erf: ({ inputs: [x] }, g) => [mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI)))],
  floor: none,
  ceil: none,
  round: none,
  logicalNot: none,

  // --- binary ------------------------------------------------------------------------------
  add: (_, g) => [g, g],
  sub: (_, g) => [g, neg(g)],
  mul: ({ inputs: [a, b] }, g) => [mul(g, b), mul(g, a)],
  div: ({ inputs: [, b], output }, g) => {
    const ga = div(g, b);
    return [ga, neg(mul(ga, output))];
  },
  // d/da = b a^(b-1); d/db = a^b log a, taken as 0 where a <= 0 (where the real power has no
  // derivative in b), as JAX does for a == 0.
  pow: ({ inputs: [a, b], output }, g) => [
    mul(g, mul(b, bind('pow', [a, sub(b, 1)], {}))),
    mul(g, where(greater(a, 0), mul(output, log(where(greater(a, 0), a, 1))), 0)),
  ],
  maximum: pickRule(greater),
  minimum: pickRule(less),
  equal: noneBinary,
  notEqual: noneBinary,
  less: noneBinary,
  lessEqual: noneBinary,
  greater: noneBinary,
  greaterEqual: noneBinary,
  logicalAnd: noneBinary,
  logicalOr: noneBinary,

  // --- selection and casts -----------------------------------------------------------------
  where: ({ inputs: [c] }, g) => [null, where(c, g, 0), where(c, 0, g)],
  stopGradient: none,
  cast: ({ inputs: [x] }, g) => [x.dtype === 'float32' || x.dtype === 'float64' ? cast(g, x.dtype) : null],

  // --- reductions --------------------------------------------------------------------------
  reduceSum: ({ inputs: [x], params: { axes } }, g) => [expandReduced(g, x, axes)],
  // d/dx_i prod(x) = prod / x_i: exact except at zeros (documented limitation).
  reduceProd: ({ inputs: [x], params: { axes }, output }, g) => [div(expandReduced(mul(g, output), x, axes), x)],
  reduceMax: extremumRule,
  reduceMin: extremumRule,
  argmax: none,
  argmin: none,

  // y = softmax(x) along the last axis: dx = y * (g - sum(g * y)), the sum over that axis.
  softmax: ({ output }, g) => [softmaxLinearMap(output, g)],
  standardize: ({ inputs: [x], params: { eps }, output }, g) => [standardizeLinearMap(x, output, eps, g)],
  standardizeBackward: ({ inputs, params: { eps }, output, needs }, g) =>
    standardizeBackwardVjp(inputs, eps, output, g, needs),
  groupNormAct: ({ inputs, params, needs }, g) => groupNormActVjp(inputs, params, g, needs),
  groupNormActBackward: ({ inputs, params }, g) => compositeVjp(inputGradOf)(inputs, params, g),
  groupNormActParamGrads: ({ inputs, params }, g) => compositeVjp(paramGradsOf)(inputs, params, g),
  attention: ({ inputs, params: { scale }, needs }, g) => attentionVjp(inputs, scale, g, needs),

  // --- movement ----------------------------------------------------------------------------
  reshape: ({ inputs: [x] }, g) => [reshape(g, x.shape)],
  permute: ({ params: { perm } }, g) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(g, inverse)];
  },
  broadcastTo: ({ inputs: [x] }, g) => [sumToShape(g, x.shape)],
  slice: ({ inputs: [x], params }, g) => [unslice(g, x, params)],
  // Each input pixel feeds a scale[0] x scale[1] block: its cotangent is the block's sum.
  upsampleNearest2d: ({ inputs: [x], params: { scale } }, g) => {
    const [n, c, h, w] = x.shape;
    return [sum(reshape(g, [n, c, h, scale[0], w, scale[1]]), { axis: [3, 5] })];
  },
  pad: ({ inputs: [x], params: { widths } }, g) => [
    slice(
      g,
      widths.map(([before]) => before),
      widths.map(([before], i) => before + x.shape[i]),
    ),
  ],
  concat: ({ inputs, params: { axis } }, g) => {
    let start = 0;
    return inputs.map((x) => {
      const part = slice(
        g,
        g.shape.map((_, i) => (i === axis ? start : 0)),
        g.shape.map((d, i) => (i === axis ? start + x.shape[axis] : d)),
      );
      start += x.shape[axis];
      return part;
    });
  },
  // Scatter-add as a one-hot matmul: g_x[a, j, b] = sum_i [idx_i == j] g[a, i, b].
  take: ({ inputs: [x, idx], params: { axis } }, g) => {
    const n = x.shape[axis];
    const before = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const after = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const m = idx.size;
    const flatIdx = reshape(normalizeIndices(idx, n), [m, 1]);
    const oneHot = cast(
      equal(flatIdx, reshape(arange(n, undefined, 1, { dtype: 'int32', backend: x.backend }), [1, n])),
      g.dtype,
    );
    const g3 = reshape(g, [before, m, after]);
    const gx = bind('matmul', [broadcastTo(reshape(transpose(oneHot), [1, n, m]), [before, n, m]), g3], {});
    return [reshape(gx, x.shape), null];
  },

  // --- linear algebra and convolution ---------------------------------------------------------
  matmul: ({ inputs: [a, b], needs }, g) => {
    return [
      needs[0] ? bind('matmul', [g, swapLastAxes(b)], {}) : null,
      needs[1] ? bind('matmul', [swapLastAxes(a), g], {}) : null,
    ];
  },
  conv2d: ({ inputs: [x, w], params: p, needs }, g) => {
    const [, , kh, kw] = w.shape;
    // The input gradient is the transposed convolution; outputPadding restores rows that the
    // forward stride skipped at the bottom/right edge.
    const outputPadding = [0, 1].map(
      (i) =>
        x.shape[2 + i] -
        convTransposeOutSize(g.shape[2 + i], w.shape[2 + i], p.stride[i], p.padding[i], p.dilation[i], 0),
    ) as [number, number];
    const gx = needs[0] ? bind('convTranspose2d', [g, w], { ...p, outputPadding }) : null;
    return [gx, needs[1] ? convWeightGrad(x, g, [kh, kw], p) : null];
  },
  convTranspose2d: ({ inputs: [x, w], params: p, needs }, g) => {
    const { outputPadding: _unused, ...conv } = p;
    void _unused;
    const [, , kh, kw] = w.shape;
    // y = convT(x, w) is the adjoint of conv2d(., w): its input gradient is conv2d(g, w), and its
    // weight gradient is conv2d's weight gradient with the roles of input and output swapped.
    // (conv2d of g covers the rows and columns that outputPadding added too: crop them.)
    const gx = needs[0] ? slice(bind('conv2d', [g, w], conv), [0, 0, 0, 0], [...x.shape]) : null;
    return [gx, needs[1] ? convWeightGrad(g, x, [kh, kw], conv) : null];
  },
};
