// The derivative of y = softmax(x) along the last axis, applied to v: y (v - sum(v y)). The map is
// symmetric, so it is both the VJP of a cotangent and the JVP of a tangent; softmax's rules and
// attention's (whose weights are a softmax) apply it.
import type { Tensor } from '../tensor/tensor.js';
import { mul, sub } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';

export const softmaxLinearMap = (y: Tensor, v: Tensor): Tensor =>
  mul(y, sub(v, sum(mul(v, y), { axis: -1, keepdims: true })));
