// stopGradient: the identity on values that transforms treat as a constant.
import { requireTensor } from '../tensor/ops/operand.js';
import { bind } from '../tensor/primitives.js';
import type { Tensor } from '../tensor/tensor.js';

/** Returns x's value as a constant: no gradient flows back through it (a view, no copy). */
export function stopGradient(x: Tensor): Tensor {
  requireTensor('stopGradient', x);
  return bind('stopGradient', [x], {});
}
