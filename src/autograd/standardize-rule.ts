// The derivative of y = standardize(x) = (x - mean) * r along the last axis, r = 1 / sqrt(var + eps):
// dy/dx = r (I - 1/n - y y^T / n), a symmetric matrix, so the VJP of a cotangent g and the JVP of
// a tangent t are the same map: r (v - mean(v) - y mean(v y)). One function serves both rules.
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, rsqrt, sub } from '../tensor/ops/elementwise.js';
import { mean, variance } from '../tensor/ops/reduce.js';

const LAST = { axis: -1, keepdims: true } as const;

/** r (v - mean(v) - y mean(v y)) along the last axis, for x, its standardisation y and eps. */
export const standardizeLinearMap = (x: Tensor, y: Tensor, eps: number, v: Tensor): Tensor =>
  mul(rsqrt(add(variance(x, LAST), eps)), sub(sub(v, mean(v, LAST)), mul(y, mean(mul(v, y), LAST))));
