// One Jacobian-vector product rule per primitive, as a table typed over the primitive set (next
// to the VJP table in rules.ts: a new primitive does not compile without both). Each rule maps the
// tangents of the inputs (null where an input has a zero tangent) to the output's tangent (null
// for a zero tangent). Rules are written with the public ops and `bind`, so the transforms around
// the one applying them see and differentiate them (grad of jvp, jvp of jvp).
import { bind, type Primitive, type PrimitiveParams } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { zerosLike } from '../tensor/ops/creation.js';
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
  sign,
  sin,
  square,
  sub,
  where,
} from '../tensor/ops/elementwise.js';
import { reshape } from '../tensor/ops/movement.js';
import { standardizeBackwardJvp, standardizeLinearMap } from './standardize-rule.js';
import { attentionJvp } from './attention-rule.js';
import { compositeJvp, groupNormActJvp, inputGradOf, paramGradsOf } from './group-norm-act-rule.js';
import { softmaxLinearMap } from './softmax-rule.js';
import { siluSlope } from './silu-slope.js';

export interface JvpContext<P extends Primitive> {
  readonly inputs: readonly Tensor[];
  readonly params: PrimitiveParams[P];
  /** The primal output (rules reuse it: exp, sqrt, softmax ...). */
  readonly output: Tensor;
}

/** The output tangent of primitive P, given one tangent per input (null: zero). */
export type JvpRule<P extends Primitive> = (ctx: JvpContext<P>, tangents: readonly (Tensor | null)[]) => Tensor | null;

/** Ops whose output is piecewise constant, integer or bool: the tangent is zero. */
const zero = (): null => null;

/** Sum of the non-zero terms (null when all are zero). */
function sumOf(...terms: (Tensor | null)[]): Tensor | null {
  const live = terms.filter((t): t is Tensor => t !== null);
  return live.length === 0 ? null : live.reduce((a, b) => add(a, b));
}

/** A unary elementwise rule: t * f'(x), with f' built from the primal input and output. */
const chain =
  <P extends Primitive>(derivative: (x: Tensor, y: Tensor) => Tensor): JvpRule<P> =>
  ({ inputs: [x], output }, [t]) =>
    t && mul(t, derivative(x, output));

/** A linear primitive's tangent is the primitive applied to the tangent (reshape, slice ...). */
const linear =
  <P extends Primitive>(prim: P): JvpRule<P> =>
  ({ params }, [t]) =>
    t && bind(prim, [t], params);

/** max/min over axes: the mean of the tangents at the entries equal to the result (ties split). */
function extremumJvp<P extends 'reduceMax' | 'reduceMin'>(
  { inputs: [x], params: { axes }, output }: JvpContext<P>,
  [t]: readonly (Tensor | null)[],
): Tensor | null {
  if (!t) return null;
  const hit = cast(
    equal(
      x,
      reshape(
        output,
        x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      ),
    ),
    x.dtype,
  );
  return div(bind('reduceSum', [mul(t, hit)], { axes }), bind('reduceSum', [hit], { axes }));
}

/** maximum/minimum: the winner's tangent; exact ties average the two (matching the VJP's split). */
function pickJvp<P extends 'maximum' | 'minimum'>(win: (a: Tensor, b: Tensor) => Tensor): JvpRule<P> {
  return ({ inputs: [a, b] }, [ta, tb]) => {
    if (!ta && !tb) return null;
    const share = add(cast(win(a, b), a.dtype), mul(cast(equal(a, b), a.dtype), 0.5));
    return sumOf(ta && mul(ta, share), tb && mul(tb, sub(1, share)));
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const jvpRules: { [P in Primitive]: JvpRule<P> } = {
  // --- unary: t * f'(x) ------------------------------------------------------------------------
  neg: (_, [t]) => t && neg(t),
  abs: chain((x) => sign(x)),
  sign: zero,
  square: chain((x) => mul(x, 2)),
  relu: ({ inputs: [x] }, [t]) => t && where(greater(x, 0), t, 0),
  exp: chain((_, y) => y),
  log: ({ inputs: [x] }, [t]) => t && div(t, x),
  sqrt: ({ output }, [t]) => t && div(t, mul(output, 2)),
  rsqrt: chain((x, y) => div(mul(y, -0.5), x)),
  reciprocal: chain((_, y) => neg(square(y))),
  sin: chain((x) => cos(x)),
  cos: chain((x) => neg(sin(x))),
  tanh: chain((_, y) => sub(1, square(y))),
  sigmoid: chain((_, y) => mul(y, sub(1, y))),
  silu: chain((x) => siluSlope(x)),
  // d/dx x*Phi(x) = Phi(x) + x*phi(x), with the same erf as the forward pass.
  gelu: chain((x) =>
    add(mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5), mul(x, mul(exp(mul(square(x), -0.5)), SQRT_2_OVER_PI / 2))),
  ),
  erf: chain((x) => mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  floor: zero,
  ceil: zero,
  round: zero,
  logicalNot: zero,

  // --- binary ----------------------------------------------------------------------------------
  add: (_, [ta, tb]) => (ta && tb ? add(ta, tb) : (ta ?? tb)),
  sub: (_, [ta, tb]) => (ta && tb ? sub(ta, tb) : (ta ?? (tb && neg(tb)))),
  mul: ({ inputs: [a, b] }, [ta, tb]) => sumOf(ta && mul(ta, b), tb && mul(a, tb)),
  // d(a/b) = (da - y db) / b
  div: ({ inputs: [, b], output }, [ta, tb]) => {
    const top = ta && tb ? sub(ta, mul(output, tb)) : (ta ?? (tb && neg(mul(output, tb))));
    return top && div(top, b);
  },
  // d(a^b) = b a^(b-1) da + a^b log(a) db, the db term taken as 0 where a <= 0 (as the VJP does).
  pow: ({ inputs: [a, b], output }, [ta, tb]) =>
    sumOf(
      ta && mul(ta, mul(b, bind('pow', [a, sub(b, 1)], {}))),
      tb && mul(tb, where(greater(a, 0), mul(output, log(where(greater(a, 0), a, 1))), 0)),
    ),
  maximum: pickJvp(greater),
  minimum: pickJvp(less),
  equal: zero,
  notEqual: zero,
  less: zero,
  lessEqual: zero,
  greater: zero,
  greaterEqual: zero,
  logicalAnd: zero,
  logicalOr: zero,

  // --- selection and casts ---------------------------------------------------------------------
  where: ({ inputs: [c], output }, [, ta, tb]) =>
    ta || tb ? where(c, ta ?? zerosLike(output), tb ?? zerosLike(output)) : null,
  stopGradient: zero,
  cast: linear('cast'),

  // --- reductions ------------------------------------------------------------------------------
  reduceSum: linear('reduceSum'),
  // d prod(x) = prod(x) * sum(dx / x): exact except at zeros (as the VJP).
  reduceProd: ({ inputs: [x], params, output }, [t]) => t && mul(output, bind('reduceSum', [div(t, x)], params)),
  reduceMax: extremumJvp,
  reduceMin: extremumJvp,
  argmax: zero,
  argmin: zero,
  // y = softmax(x): dy = y * (dx - sum(dx * y)) along the last axis.
  softmax: ({ output }, [t]) => t && softmaxLinearMap(output, t),
  standardize: ({ inputs: [x], params: { eps }, output }, [t]) => t && standardizeLinearMap(x, output, eps, t),
  standardizeBackward: ({ inputs, params: { eps }, output }, ts) => standardizeBackwardJvp(inputs, eps, output, ts),
  groupNormAct: ({ inputs, params }, ts) => groupNormActJvp(inputs, params, ts),
  groupNormActBackward: ({ inputs, params }, ts) => compositeJvp(inputGradOf)(inputs, params, ts),
  groupNormActParamGrads: ({ inputs, params }, ts) => compositeJvp(paramGradsOf)(inputs, params, ts),
  attention: ({ inputs, params: { scale } }, ts) => attentionJvp(inputs, scale, ts),

  // --- movement: linear, so the tangent moves as the primal does ---------------------------------
  reshape: linear('reshape'),
  permute: linear('permute'),
  broadcastTo: linear('broadcastTo'),
  slice: linear('slice'),
  upsampleNearest2d: linear('upsampleNearest2d'),
  // The padding is a constant: its tangent is zero whatever value it pads with.
  pad: ({ params }, [t]) => t && bind('pad', [t], { widths: params.widths, value: 0 }),
  concat: ({ inputs, params }, ts) =>
    ts.some((t) => t)
      ? bind(
          'concat',
          ts.map((t, i) => t ?? zerosLike(inputs[i])),
          params,
        )
      : null,
  take: ({ inputs: [, idx], params }, [t]) => t && bind('take', [t, idx], params),

  // --- bilinear: d(a . b) = da . b + a . db ------------------------------------------------------
  matmul: ({ inputs: [a, b] }, [ta, tb]) => sumOf(ta && bind('matmul', [ta, b], {}), tb && bind('matmul', [a, tb], {})),
  conv2d: ({ inputs: [x, w], params }, [tx, tw]) =>
    sumOf(tx && bind('conv2d', [tx, w], params), tw && bind('conv2d', [x, tw], params)),
  convTranspose2d: ({ inputs: [x, w], params }, [tx, tw]) =>
    sumOf(tx && bind('convTranspose2d', [tx, w], params), tw && bind('convTranspose2d', [x, tw], params)),
};
