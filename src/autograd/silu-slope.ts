// silu'(x) = s (1 + x (1 - s)), s = sigmoid(x), with the public ops: silu's VJP and JVP rules and
// the fused group norm's composed rules take it from here.
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, sigmoid, sub } from '../tensor/ops/elementwise.js';

export function siluSlope(x: Tensor): Tensor {
  const s = sigmoid(x);
  return mul(s, add(1, mul(x, sub(1, s))));
}
