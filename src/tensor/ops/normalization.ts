// Softmax and normalisation layers over primitives (softmax, standardize, the fused groupNormAct).
import { toFloat } from '../dtype.js';
import { checkShape, fmtShape } from '../errors.js';
import { scope } from '../memory.js';
import { normalizeAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, exp, log, mul, sub } from './elementwise.js';
import { reshape, transpose } from './movement.js';
import { bind } from '../primitives.js';
import { requireOptions, requireTensor } from './operand.js';
import { full } from './creation.js';
import { NORM_ACTIVATIONS } from '../../kernels/norm-activations.js';
import type { NormActivation } from '../../kernels/params.js';
import { max, sum } from './reduce.js';

/** exp(x) / sum(exp(x)) along `axis` (default -1), shifted by the max for stability. */
export function softmax(x: Tensor, options: { readonly axis?: number } = {}): Tensor {
  requireTensor('softmax', x);
  requireOptions('softmax', options, '{ axis: 1 }');
  const axis = normalizeAxis('softmax', options.axis ?? -1, x.rank, x.shape);
  return scope(() => {
    // The primitive works on the last axis (one kernel per row); other axes go through a view.
    const xf = cast(x, toFloat(x.dtype));
    const last = x.rank - 1;
    if (axis === last) return bind('softmax', [xf], {});
    const perm = x.shape.map((_, i) => (i === axis ? last : i === last ? axis : i));
    return transpose(bind('softmax', [transpose(xf, perm)], {}), perm);
  });
}

/** log(softmax(x)) along `axis` (default -1), computed stably. */
export function logSoftmax(x: Tensor, options: { readonly axis?: number } = {}): Tensor {
  requireTensor('logSoftmax', x);
  requireOptions('logSoftmax', options, '{ axis: 1 }');
  const axis = normalizeAxis('logSoftmax', options.axis ?? -1, x.rank, x.shape);
  return scope(() => {
    // (x - max) - log(sum(exp(x - max))): subtracting the max first keeps float32 digits that
    // x - logSumExp(x) would round away for large logits.
    const xf = cast(x, toFloat(x.dtype));
    const shifted = sub(xf, max(xf, { axis, keepdims: true }));
    return sub(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
  });
}

/**
 * (x - mean) / sqrt(var + eps) along the last axis, var the population variance (as group and layer
 * normalisation use it): one kernel per call on WebGPU.
 */
export function standardize(x: Tensor, options: { readonly eps?: number } = {}): Tensor {
  const op = 'standardize';
  requireTensor(op, x);
  const eps = epsOf(op, options);
  return scope(() => bind(op, [cast(x, toFloat(x.dtype))], { eps }));
}

/** The eps of standardize and its backward (default 1e-5), checked. */
function epsOf(op: string, options: { readonly eps?: number }): number {
  requireOptions(op, options, '{ eps: 1e-5 }');
  const eps = options.eps ?? 1e-5;
  checkShape(
    Number.isFinite(eps) && eps >= 0,
    op,
    () => `eps = ${eps} must be a finite number >= 0 (a small positive one keeps constant rows finite).`,
  );
  return eps;
}

/**
 * standardize's derivative applied to v, along the last axis: r (v - mean(v) - y mean(v y)) with
 * r = 1 / sqrt(var(x) + eps), for x, y = standardize(x, { eps }) and v of x's shape. It is both the
 * VJP (v a cotangent of y) and the JVP (v a tangent of x) of standardize, as one kernel; autodiff
 * uses it, and custom normalisation layers can too.
 */
export function standardizeBackward(x: Tensor, y: Tensor, v: Tensor, options: { readonly eps?: number } = {}): Tensor {
  const op = 'standardizeBackward';
  for (const t of [x, y, v]) requireTensor(op, t);
  const eps = epsOf(op, options);
  checkShape(
    [y, v].every((t) => shapesEqual(t.shape, x.shape)),
    op,
    () =>
      `x ${fmtShape(x.shape)}, y ${fmtShape(y.shape)} and v ${fmtShape(v.shape)} must have one shape (y = standardize(x), v a cotangent or tangent of it); broadcast them first.`,
  );
  return scope(() => {
    const dtype = toFloat(x.dtype);
    return bind(op, [cast(x, dtype), cast(y, dtype), cast(v, dtype)], { eps });
  });
}

/** (x - mean) / sqrt(var + eps) jointly over the last `k` axes of a float tensor. */
function standardizeLastAxes(x: Tensor, k: number, eps: number): Tensor {
  const rows = x.shape.slice(0, x.rank - k);
  const flat = reshape(x, [...rows, x.shape.slice(x.rank - k).reduce((a, d) => a * d, 1)]);
  return reshape(bind('standardize', [flat], { eps }), x.shape);
}

export interface LayerNormOptions {
  /** Scale, broadcast against the normalised trailing dims (e.g. shape [D]). */
  readonly weight?: Tensor;
  readonly bias?: Tensor;
  readonly eps?: number;
  /** How many trailing dims to normalise over (default 1, PyTorch's normalized_shape length). */
  readonly normalizedDims?: number;
}

/** Layer normalisation over the trailing dims, as torch.nn.functional.layer_norm. */
export function layerNorm(x: Tensor, options: LayerNormOptions = {}): Tensor {
  const op = 'layerNorm';
  requireTensor(op, x);
  requireOptions(op, options, '{ weight, bias, normalizedDims: 1 }');
  const k = options.normalizedDims ?? 1;
  checkShape(
    Number.isInteger(k) && k >= 1 && k <= x.rank,
    op,
    () => `normalizedDims ${k} must be in [1, ${x.rank}] for shape ${fmtShape(x.shape)}.`,
  );
  const tail = x.shape.slice(x.rank - k);
  for (const [name, p] of [
    ['weight', options.weight],
    ['bias', options.bias],
  ] as const) {
    if (p === undefined) continue;
    requireTensor(op, p, name);
    checkShape(
      p.shape.length === k && p.shape.every((d, i) => d === tail[i]),
      op,
      () =>
        `${name} has shape ${fmtShape(p.shape)}, expected ${fmtShape(tail)} (the normalised trailing dims of ${fmtShape(x.shape)}).`,
    );
  }
  return scope(() => {
    let y = standardizeLastAxes(cast(x, toFloat(x.dtype)), k, options.eps ?? 1e-5);
    if (options.weight) y = mul(y, options.weight);
    if (options.bias) y = add(y, options.bias);
    return y;
  });
}

export interface GroupNormOptions {
  readonly groups: number;
  /** Per-channel scale, shape [C] (default 1). */
  readonly weight?: Tensor;
  /** Per-channel shift, shape [C] (default 0). */
  readonly bias?: Tensor;
  readonly eps?: number;
  /** Applied after the affine, in the same kernel (default 'identity'): 'silu' for a UNet's norm + SiLU. */
  readonly activation?: NormActivation;
}

/**
 * Group normalisation over (C / groups, spatial...) per sample, as torch.nn.functional.group_norm,
 * then `activation`: one primitive (groupNormAct), so a training step runs it as one kernel and its
 * gradients as two.
 */
export function groupNorm(x: Tensor, options: GroupNormOptions): Tensor {
  const op = 'groupNorm';
  requireTensor(op, x);
  requireOptions(op, options, '{ groups: 8, weight, bias }', true);
  checkShape(x.rank >= 2, op, () => `x must be at least 2-D (N, C, ...), got ${fmtShape(x.shape)}.`);
  const [n, c, ...spatial] = x.shape;
  const g = options.groups;
  checkShape(
    Number.isInteger(g) && g >= 1 && c % g === 0,
    op,
    () => `groups = ${g} must be a positive integer dividing the ${c} channels of ${fmtShape(x.shape)}.`,
  );
  const act = options.activation ?? 'identity';
  checkShape(
    Object.hasOwn(NORM_ACTIVATIONS, act),
    op,
    () => `activation ${JSON.stringify(act)} is not one of ${Object.keys(NORM_ACTIVATIONS).join(', ')}.`,
  );
  for (const [name, p] of [
    ['weight', options.weight],
    ['bias', options.bias],
  ] as const) {
    if (p === undefined) continue;
    requireTensor(op, p, name);
    checkShape(p.rank === 1 && p.shape[0] === c, op, () => `${name} must have shape [${c}], got ${fmtShape(p.shape)}.`);
  }
  return scope(() => {
    const xf = cast(x, toFloat(x.dtype));
    const param = (p: Tensor | undefined, fill: number) =>
      p ? cast(p, xf.dtype) : full([c], fill, { dtype: xf.dtype, backend: xf.backend });
    const s = spatial.reduce((a, d) => a * d, 1);
    const y = bind('groupNormAct', [reshape(xf, [n, c, s]), param(options.weight, 1), param(options.bias, 0)], {
      groups: g,
      eps: options.eps ?? 1e-5,
      act,
    });
    return reshape(y, x.shape);
  });
}
