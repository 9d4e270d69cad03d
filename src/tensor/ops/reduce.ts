// Reductions over any set of axes with `keepdims`: sum, prod, max, min, mean, variance,
// argmax/argmin, logSumExp. mean/variance/logSumExp are composed from the primitives.
import type { ReduceOp } from '../../kernels/elementwise-ops.js';
import { toFloat } from '../dtype.js';
import { checkShape, fmtShape } from '../errors.js';
import { scope } from '../memory.js';
import { bind, type Primitive } from '../primitives.js';
import { normalizeAxes, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, div, exp, log, square, sub } from './elementwise.js';
import { full } from './creation.js';
import { alias, reshape } from './movement.js';
import { requireOptions, requireTensor } from './operand.js';

export interface ReduceOptions {
  /** Axis or axes to reduce (negative allowed); default all. */
  readonly axis?: number | readonly number[];
  /** Keep reduced axes as size 1 so the result broadcasts against the input. */
  readonly keepdims?: boolean;
}

const reducePrimitive: Record<ReduceOp, Primitive & `reduce${string}`> = {
  sum: 'reduceSum',
  prod: 'reduceProd',
  max: 'reduceMax',
  min: 'reduceMin',
};

const keptShape = (shape: readonly number[], axes: readonly number[]): number[] =>
  shape.map((d, i) => (axes.includes(i) ? 1 : d));

function reduceWith(op: ReduceOp, x: Tensor, options: ReduceOptions): Tensor {
  requireTensor(op, x);
  requireOptions(op, options, '{ axis: 1, keepdims: true }');
  const axes = normalizeAxes(op, options.axis, x.shape);
  if (op === 'max' || op === 'min') {
    checkShape(
      axes.every((a) => x.shape[a] > 0),
      op,
      () =>
        `cannot take the ${op} over a size-0 axis of ${fmtShape(x.shape)} (axis ${JSON.stringify(options.axis)}): ` +
        `it has no identity. Check the shape or reduce other axes.`,
    );
  }
  return scope(() => {
    // Sums and products of bools count, as in NumPy.
    const input = x.dtype === 'bool' && (op === 'sum' || op === 'prod') ? cast(x, 'int32') : x;
    const reduced = axes.length === 0 ? alias(input) : bind(reducePrimitive[op], [input], { axes });
    return options.keepdims ? reshape(reduced, keptShape(x.shape, axes)) : reduced;
  });
}

/** Sum over axes. Bools sum to int32. */
export const sum = (x: Tensor, options: ReduceOptions = {}): Tensor => reduceWith('sum', x, options);
/** Product over axes. */
export const prod = (x: Tensor, options: ReduceOptions = {}): Tensor => reduceWith('prod', x, options);
/** Maximum over axes (NaN propagates). */
export const max = (x: Tensor, options: ReduceOptions = {}): Tensor => reduceWith('max', x, options);
/** Minimum over axes (NaN propagates). */
export const min = (x: Tensor, options: ReduceOptions = {}): Tensor => reduceWith('min', x, options);

/** Number of elements a reduction over `options.axis` combines. */
const countOf = (x: Tensor, options: ReduceOptions): number =>
  normalizeAxes('mean', options.axis, x.shape).reduce((n, a) => n * x.shape[a], 1);

/** Arithmetic mean over axes (integers give float32). The mean of nothing is NaN, as in NumPy. */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  requireTensor('mean', x);
  requireOptions('mean', options, '{ axis: 1, keepdims: true }');
  const n = countOf(x, options);
  return scope(() => div(sum(cast(x, toFloat(x.dtype)), options), n));
}

/** Population variance over axes; `ddof: 1` gives the sample variance. */
export function variance(x: Tensor, options: ReduceOptions & { readonly ddof?: number } = {}): Tensor {
  requireTensor('variance', x);
  requireOptions('variance', options, '{ axis: 1, ddof: 1 }');
  const n = countOf(x, options);
  const ddof = options.ddof ?? 0;
  return scope(() => {
    const xf = cast(x, toFloat(x.dtype));
    const centered = sub(xf, mean(xf, { axis: options.axis, keepdims: true }));
    return div(sum(square(centered), options), n - ddof);
  });
}

/** log(sum(exp(x))) over axes, computed stably (shifted by the max); -Infinity over an empty axis (as JAX). */
export function logSumExp(x: Tensor, options: ReduceOptions = {}): Tensor {
  requireTensor('logSumExp', x);
  requireOptions('logSumExp', options, '{ axis: 1, keepdims: true }');
  const axes = normalizeAxes('logSumExp', options.axis, x.shape);
  if (axes.some((a) => x.shape[a] === 0)) {
    // exp sums to 0 over no terms; the max shift has no identity there and would refuse in max's name.
    const shape = x.shape.flatMap((d, i) => (!axes.includes(i) ? [d] : options.keepdims ? [1] : []));
    return full(shape, -Infinity, { dtype: toFloat(x.dtype), backend: x.backend });
  }
  return scope(() => {
    const shift = max(x, { axis: options.axis, keepdims: true });
    const s = log(sum(exp(sub(x, shift)), { axis: options.axis, keepdims: true }));
    const out = add(s, shift);
    return options.keepdims
      ? out
      : reshape(
          out,
          x.shape.filter((_, i) => !axes.includes(i)),
        );
  });
}

function argReduce(
  op: 'argmax' | 'argmin',
  x: Tensor,
  options: { readonly axis?: number; readonly keepdims?: boolean },
): Tensor {
  requireTensor(op, x);
  requireOptions(op, options, '{ axis: 1 }');
  return scope(() => {
    // Without an axis, NumPy's convention: the index into the flattened tensor.
    const input = options.axis === undefined ? reshape(x, [x.size]) : x;
    const axis = normalizeAxis(op, options.axis ?? 0, input.rank, x.shape);
    checkShape(input.shape[axis] > 0, op, () => `cannot take the ${op} of a size-0 axis (shape ${fmtShape(x.shape)}).`);
    const out = bind(op, [input], { axis });
    if (!options.keepdims) return out;
    return reshape(out, options.axis === undefined ? x.shape.map(() => 1) : keptShape(x.shape, [axis]));
  });
}

/** Index (int32) of the first maximum along `axis` (flattened when no axis is given). */
export const argmax = (x: Tensor, options: { readonly axis?: number; readonly keepdims?: boolean } = {}): Tensor =>
  argReduce('argmax', x, options);
/** Index (int32) of the first minimum along `axis` (flattened when no axis is given). */
export const argmin = (x: Tensor, options: { readonly axis?: number; readonly keepdims?: boolean } = {}): Tensor =>
  argReduce('argmin', x, options);
