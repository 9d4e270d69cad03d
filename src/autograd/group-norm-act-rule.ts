// The derivatives of out = groupNormAct(x, w, b) = act(a), a = y w + b, y = x standardized per
// (row, group) (GroupNormActParams). Its VJP is two fused primitives: the input gradient
// groupNormActBackward (standardize's linear map applied to v = g act'(a) w) and the weight and bias
// gradients groupNormActParamGrads (the sums of g act'(a) y and g act'(a) per channel). Their own
// derivatives (grad of grad, jvp of grad) are those of the same maps written with the public ops
// (`inputGradOf`, `paramGradsOf` below), taken by the engine's own vjp and jvp: a second
// derivative of a fused layer is rare, and the composition is exact.
import type { GroupNormActParams } from '../kernels/params.js';
import { bind } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, silu } from '../tensor/ops/elementwise.js';
import { broadcastTo, concat, reshape } from '../tensor/ops/movement.js';
import { shapesEqual } from '../tensor/shape.js';
import { sum } from '../tensor/ops/reduce.js';
import { zerosLike } from '../tensor/ops/creation.js';
import { standardizeLinearMap } from './standardize-rule.js';
import { compositeTransform } from './composite-transforms.js';
import { siluSlope } from './silu-slope.js';

/** x [R, C, S] as [R, groups, C / groups * S]: each row one group's values. */
const grouped = (x: Tensor, groups: number): Tensor => {
  const [r, c, s] = x.shape;
  return reshape(x, [r, groups, (c / groups) * s]);
};

/** A [C] parameter as [1, C, 1], to broadcast over x [R, C, S]. */
const perChannel = (p: Tensor): Tensor => reshape(p, [1, p.shape[0], 1]);

/** y: x standardized per (row, group). */
const standardized = (x: Tensor, { groups, eps }: GroupNormActParams): Tensor =>
  reshape(bind('standardize', [grouped(x, groups)], { eps }), x.shape);

/** The activation's value and derivative at a, with the public ops (NORM_ACTIVATIONS has the kernels' forms). */
const ACTIVATION_OPS: Readonly<
  Record<GroupNormActParams['act'], { value: (a: Tensor) => Tensor; slope: (a: Tensor) => Tensor | null }>
> = {
  identity: { value: (a) => a, slope: () => null },
  silu: { value: (a) => silu(a), slope: siluSlope },
};

/** g act'(a) for the cotangent g of the output, a = y w + b. */
function preActivationGrad(y: Tensor, w: Tensor, b: Tensor, g: Tensor, p: GroupNormActParams): Tensor {
  const slope = ACTIVATION_OPS[p.act].slope(add(mul(y, perChannel(w)), perChannel(b)));
  return slope ? mul(g, slope) : g;
}

/** groupNormActBackward with the public ops: standardize's linear map of v = g act'(a) w. */
export function inputGradOf(x: Tensor, w: Tensor, b: Tensor, g: Tensor, p: GroupNormActParams): Tensor {
  const y = standardized(x, p);
  const v = mul(preActivationGrad(y, w, b, g, p), perChannel(w));
  return reshape(
    standardizeLinearMap(grouped(x, p.groups), grouped(y, p.groups), p.eps, grouped(v, p.groups)),
    x.shape,
  );
}

/** groupNormActParamGrads with the public ops: [2, C], the sums of g act'(a) y and of g act'(a). */
export function paramGradsOf(x: Tensor, w: Tensor, b: Tensor, g: Tensor, p: GroupNormActParams): Tensor {
  const y = standardized(x, p);
  const ga = preActivationGrad(y, w, b, g, p);
  const c = x.shape[1];
  const perChannelSum = (t: Tensor) => reshape(sum(t, { axis: [0, 2] }), [1, c]);
  return concat([perChannelSum(mul(ga, y)), perChannelSum(ga)], { axis: 0 });
}

/** groupNormAct with the public ops (tests check the primitive against it). */
export function groupNormActOf(x: Tensor, w: Tensor, b: Tensor, p: GroupNormActParams): Tensor {
  return ACTIVATION_OPS[p.act].value(add(mul(standardized(x, p), perChannel(w)), perChannel(b)));
}

/** Cotangents of (x, w, b) for the cotangent g of groupNormAct's output. */
export function groupNormActVjp(
  [x, w, b]: readonly Tensor[],
  p: GroupNormActParams,
  g: Tensor,
  needs: readonly boolean[],
): (Tensor | null)[] {
  const c = x.shape[1];
  // The input gradient first: on WebGPU its kernel leaves the parameter gradients' partial sums
  // for the op right after it.
  const dx = needs[0] ? bind('groupNormActBackward', [x, w, b, g], p) : null;
  const grads = needs[1] || needs[2] ? bind('groupNormActParamGrads', [x, w, b, g], p) : null;
  const row = (i: number) => reshape(sliceRow(grads!, i), [c]);
  return [dx, needs[1] ? row(0) : null, needs[2] ? row(1) : null];
}

/** Row i of a [2, C] tensor as [1, C] (a view). */
const sliceRow = (t: Tensor, i: number): Tensor =>
  bind('slice', [t], { starts: [i, 0], ends: [i + 1, t.shape[1]], steps: [1, 1] });

/** The tangent of groupNormAct's output: act'(a) (ty w + y tw + tb), ty standardize's linear map of tx. */
export function groupNormActJvp(
  [x, w, b]: readonly Tensor[],
  p: GroupNormActParams,
  [tx, tw, tb]: readonly (Tensor | null)[],
): Tensor | null {
  if (!tx && !tw && !tb) return null;
  const y = standardized(x, p);
  const parts: Tensor[] = [];
  if (tx) {
    const ty = standardizeLinearMap(grouped(x, p.groups), grouped(y, p.groups), p.eps, grouped(tx, p.groups));
    parts.push(mul(reshape(ty, x.shape), perChannel(w)));
  }
  if (tw) parts.push(mul(y, perChannel(tw)));
  if (tb) parts.push(perChannel(tb));
  const ta = parts.reduce((s, t) => add(s, t));
  const slope = ACTIVATION_OPS[p.act].slope(add(mul(y, perChannel(w)), perChannel(b)));
  const t = slope ? mul(ta, slope) : ta;
  // A bias-only tangent under the identity is [1, C, 1]: the output's tangent is it broadcast.
  return shapesEqual(t.shape, x.shape) ? t : broadcastTo(t, x.shape);
}

type FourInputMap = (x: Tensor, w: Tensor, b: Tensor, g: Tensor, p: GroupNormActParams) => Tensor;

/** The VJP of a backward primitive: its composition's, by vjp. */
export const compositeVjp =
  (map: FourInputMap) =>
  (inputs: readonly Tensor[], p: GroupNormActParams, cotangent: Tensor): Tensor[] =>
    compositeTransform('pullback')((x, w, b, g) => map(x, w, b, g, p), inputs, cotangent);

/** The JVP of a backward primitive: its composition's, by jvp (zeros for absent tangents). */
export const compositeJvp =
  (map: FourInputMap) =>
  (inputs: readonly Tensor[], p: GroupNormActParams, tangents: readonly (Tensor | null)[]): Tensor | null =>
    tangents.every((t) => !t)
      ? null
      : compositeTransform('pushforward')(
          (x, w, b, g) => map(x, w, b, g, p),
          inputs,
          inputs.map((t, i) => tangents[i] ?? zerosLike(t)),
        );
