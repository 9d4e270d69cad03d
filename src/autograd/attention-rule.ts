// The derivatives of o = attention(q, k, v) = P v with P = softmax(S), S = q k^T * scale, written
// with the public ops (the primitive keeps no P: the rules recompute it, one product and one
// softmax, which is what the composed forward would have stored). Both are the composition's
// rules chained by hand, so grad of grad and jvp of grad go through ordinary primitives.
import { bind } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { swapLastAxes } from '../tensor/ops/movement.js';
import { softmaxLinearMap } from './softmax-rule.js';

const matmul = (a: Tensor, b: Tensor): Tensor => bind('matmul', [a, b], {});

/** P = softmax(q k^T * scale), the attention weights. */
const weightsOf = (q: Tensor, k: Tensor, scale: number): Tensor =>
  bind('softmax', [mul(matmul(q, swapLastAxes(k)), scale)], {});

/**
 * Cotangents of (q, k, v) for the cotangent g of o: dv = P^T g; dS = softmax'(dP) with dP = g v^T;
 * dq = dS k * scale; dk = dS^T q * scale.
 */
export function attentionVjp(
  [q, k, v]: readonly Tensor[],
  scale: number,
  g: Tensor,
  needs: readonly boolean[],
): (Tensor | null)[] {
  const p = weightsOf(q, k, scale);
  const ds = needs[0] || needs[1] ? mul(softmaxLinearMap(p, matmul(g, swapLastAxes(v))), scale) : null;
  return [
    needs[0] ? matmul(ds!, k) : null,
    needs[1] ? matmul(swapLastAxes(ds!), q) : null,
    needs[2] ? matmul(swapLastAxes(p), g) : null,
  ];
}

/** The tangent of o for tangents (tq, tk, tv): dP v + P tv, dP = softmax'(tq k^T + q tk^T) * scale. */
export function attentionJvp(
  [q, k, v]: readonly Tensor[],
  scale: number,
  [tq, tk, tv]: readonly (Tensor | null)[],
): Tensor | null {
  if (!tq && !tk && !tv) return null;
  const p = weightsOf(q, k, scale);
  const parts: Tensor[] = [];
  if (tv) parts.push(matmul(p, tv));
  if (tq || tk) {
    const scores = [tq && matmul(tq, swapLastAxes(k)), tk && matmul(q, swapLastAxes(tk))].filter(
      (t): t is Tensor => !!t,
    );
    const ds = mul(
      scores.reduce((a, b) => add(a, b)),
      scale,
    );
    parts.push(matmul(softmaxLinearMap(p, ds), v));
  }
  return parts.reduce((a, b) => add(a, b));
}
