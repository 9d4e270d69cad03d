// The derivative of y = standardize(x) = (x - mean) * r along the last axis, r = 1 / sqrt(var + eps):
// dy/dx = r (I - 1/n - y y^T / n), a symmetric matrix, so the VJP of a cotangent g and the JVP of
// a tangent t are the same map, S(x, y, v) = r (v - mean(v) - y mean(v y)): the primitive
// `standardizeBackward`, one kernel. Its own rules (for grad of grad and jvp of grad) are written
// here with the public ops, with x, y and v as independent inputs: r depends on x alone.
import { bind } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, neg, rsqrt, square, sub } from '../tensor/ops/elementwise.js';
import { mean, variance } from '../tensor/ops/reduce.js';

const LAST = { axis: -1, keepdims: true } as const;

/** S(x, y, v) = r (v - mean(v) - y mean(v y)) along the last axis: standardize's VJP and JVP. */
export const standardizeLinearMap = (x: Tensor, y: Tensor, eps: number, v: Tensor): Tensor =>
  bind('standardizeBackward', [x, y, v], { eps });

/** r = 1 / sqrt(var(x) + eps) and x - mean(x), the parts of S's derivative in x. */
const statsOf = (x: Tensor, eps: number): { readonly r: Tensor; readonly centred: Tensor } => ({
  r: rsqrt(add(variance(x, LAST), eps)),
  centred: sub(x, mean(x, LAST)),
});

/**
 * Cotangents of S's inputs (x, y, v) for the cotangent g of its output s:
 * dv = S(x, y, g) (S is symmetric in v); dy = -r (g mean(v y) + v mean(g y));
 * dx = -r^2 (x - mean(x)) mean(g s), from dr/dx = -r^3 (x - mean(x)) / n and s = r (...).
 */
export function standardizeBackwardVjp(
  [x, y, v]: readonly Tensor[],
  eps: number,
  s: Tensor,
  g: Tensor,
  needs: readonly boolean[],
): (Tensor | null)[] {
  const { r, centred } = statsOf(x, eps);
  return [
    needs[0] ? neg(mul(mul(square(r), centred), mean(mul(g, s), LAST))) : null,
    needs[1] ? neg(mul(r, add(mul(g, mean(mul(v, y), LAST)), mul(v, mean(mul(g, y), LAST))))) : null,
    needs[2] ? standardizeLinearMap(x, y, eps, g) : null,
  ];
}

/** The tangent of S for tangents (tx, ty, tv) of its inputs (null: zero), s its output. */
export function standardizeBackwardJvp(
  [x, y, v]: readonly Tensor[],
  eps: number,
  s: Tensor,
  [tx, ty, tv]: readonly (Tensor | null)[],
): Tensor | null {
  const parts: Tensor[] = [];
  if (tv) parts.push(standardizeLinearMap(x, y, eps, tv));
  if (tx || ty) {
    const { r, centred } = statsOf(x, eps);
    if (ty) parts.push(neg(mul(r, add(mul(ty, mean(mul(v, y), LAST)), mul(y, mean(mul(v, ty), LAST))))));
    if (tx) parts.push(neg(mul(mul(square(r), mean(mul(centred, tx), LAST)), s)));
  }
  return parts.length === 0 ? null : parts.reduce((a, b) => add(a, b));
}
