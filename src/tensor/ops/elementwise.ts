// Elementwise ops: operand preparation (scalars, dtype promotion, broadcasting) around the
// elementwise primitives of src/kernels/elementwise-ops.ts, plus `where`, `clamp` and `cast`.
import { binaryOps, unaryOps, type BinaryOp, type OperandClass, type UnaryOp } from '../../kernels/elementwise-ops.js';
import { assertDType, promoteTypes, toFloat, type DType } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { bind } from '../primitives.js';
import { broadcastShapes, shapesEqual, type Shape } from '../shape.js';
import { scope } from '../memory.js';
import type { Tensor } from '../tensor.js';
import { asTensors, requireOptions, requireTensor, type TensorLike } from './operand.js';

/** Converts x to `dtype` (float -> int truncates toward zero; to bool is x != 0). */
export function cast(x: Tensor, dtype: DType): Tensor {
  requireTensor('cast', x);
  assertDType('cast', dtype);
  // Same dtype: a new handle on the same data, so disposing the result never frees x.
  return x.dtype === dtype ? bind('reshape', [x], { shape: x.shape }) : bind('cast', [x], { dtype });
}

/** Broadcasts x to `shape` as a view (no copy). */
export function broadcastView(x: Tensor, shape: Shape): Tensor {
  return shapesEqual(x.shape, shape) ? x : bind('broadcastTo', [x], { shape });
}

/** The dtype operands of a class are computed in, given their promoted dtype. */
const prepared: Record<OperandClass, (d: DType) => DType> = {
  float: toFloat,
  numeric: (d) => (d === 'bool' ? 'int32' : d),
  bool: () => 'bool',
  any: (d) => d,
};

function unary(op: UnaryOp, x: Tensor): Tensor {
  requireTensor(op, x);
  return scope(() => bind(op, [cast(x, prepared[unaryOps[op].operands](x.dtype))], {}));
}

// Public ops run inside a scope so the scalar tensors, casts and broadcast views they make are
// freed on return; only the result escapes.
function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return scope(() => binaryUnscoped(op, a, b));
}

function binaryUnscoped(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = asTensors(op, [a, b]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const dtype = prepared[binaryOps[op].operands](promoteTypes(ta.dtype, tb.dtype));
  return bind(op, [broadcastView(cast(ta, dtype), shape), broadcastView(cast(tb, dtype), shape)], {});
}

const unaryFn =
  (op: UnaryOp) =>
  (x: Tensor): Tensor =>
    unary(op, x);
const binaryFn =
  (op: BinaryOp) =>
  (a: TensorLike, b: TensorLike): Tensor =>
    binary(op, a, b);

/** -x */
export const neg = unaryFn('neg');
/** |x| */
export const abs = unaryFn('abs');
/** -1, 0 or 1 */
export const sign = unaryFn('sign');
/** x * x */
export const square = unaryFn('square');
/** max(x, 0) */
export const relu = unaryFn('relu');
/** e^x */
export const exp = unaryFn('exp');
/** Natural log. */
export const log = unaryFn('log');
export const sqrt = unaryFn('sqrt');
/** 1 / sqrt(x) */
export const rsqrt = unaryFn('rsqrt');
/** 1 / x */
export const reciprocal = unaryFn('reciprocal');
export const sin = unaryFn('sin');
export const cos = unaryFn('cos');
export const tanh = unaryFn('tanh');
/** 1 / (1 + e^-x) */
export const sigmoid = unaryFn('sigmoid');
/** x * sigmoid(x) (a.k.a. swish) */
export const silu = unaryFn('silu');
/** Exact GELU, x * Phi(x), as PyTorch's default (erf to 1.5e-7). */
export const gelu = unaryFn('gelu');
/** The error function (accurate to 1.5e-7). */
export const erf = unaryFn('erf');
export const floor = unaryFn('floor');
export const ceil = unaryFn('ceil');
/** Rounds half to even. */
export const round = unaryFn('round');
export const logicalNot = unaryFn('logicalNot');

/** a + b, broadcasting. */
export const add = binaryFn('add');
/** a - b, broadcasting. */
export const sub = binaryFn('sub');
/** a * b, broadcasting. */
export const mul = binaryFn('mul');
/** a / b, broadcasting; integer operands give float32 (true division). */
export const div = binaryFn('div');
/** a ** b, broadcasting; negative bases with integer exponents work as in Math.pow. */
export const pow = binaryFn('pow');
/** Elementwise max of a and b, broadcasting. */
export const maximum = binaryFn('maximum');
/** Elementwise min of a and b, broadcasting. */
export const minimum = binaryFn('minimum');
export const equal = binaryFn('equal');
export const notEqual = binaryFn('notEqual');
export const less = binaryFn('less');
export const lessEqual = binaryFn('lessEqual');
export const greater = binaryFn('greater');
export const greaterEqual = binaryFn('greaterEqual');
export const logicalAnd = binaryFn('logicalAnd');
export const logicalOr = binaryFn('logicalOr');

/** Picks a where cond is true, else b; all three broadcast together. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  return scope(() => whereUnscoped(cond, a, b));
}

function whereUnscoped(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [tc, ta, tb] = asTensors('where', [cond, a, b]);
  if (tc.dtype !== 'bool') {
    throw new DTypeError(
      `where: cond must be bool, got ${tc.dtype}. Build it with a comparison (e.g. greater(x, 0)) or cast(cond, 'bool').`,
    );
  }
  const shape = broadcastShapes('where', tc.shape, ta.shape, tb.shape);
  const dtype = promoteTypes(ta.dtype, tb.dtype);
  return bind(
    'where',
    [broadcastView(tc, shape), broadcastView(cast(ta, dtype), shape), broadcastView(cast(tb, dtype), shape)],
    {},
  );
}

/** Limits x to [min, max] (either bound may be omitted). */
export function clamp(x: Tensor, bounds: { readonly min?: TensorLike; readonly max?: TensorLike }): Tensor {
  requireTensor('clamp', x);
  requireOptions('clamp', bounds, '{ min: 0, max: 1 }', true);
  if (typeof bounds.min === 'number' && typeof bounds.max === 'number' && bounds.min > bounds.max) {
    throw new DTypeError(`clamp: min ${bounds.min} is greater than max ${bounds.max}; swap them.`);
  }
  return scope(() => {
    const lower = bounds.min === undefined ? x : maximum(x, bounds.min);
    return bounds.max === undefined ? lower : minimum(lower, bounds.max);
  });
}
