// Indexing by integer tensors: take (NumPy) and gather (PyTorch), both on the `take` primitive.
import { ArgumentError, DTypeError, checkShape, fmtShape } from '../errors.js';
import { scope } from '../memory.js';
import { bind } from '../primitives.js';
import { normalizeAxis } from '../shape.js';
import { Tensor } from '../tensor.js';
import { add, clamp, less, mul, where } from './elementwise.js';
import { arange, tensor } from './creation.js';
import { reshape } from './movement.js';
import { describe, requireOptions, requireTensor } from './operand.js';

function indexTensor(op: string, x: Tensor, indices: Tensor | readonly number[]): Tensor {
  if (!(indices instanceof Tensor)) {
    if (!Array.isArray(indices))
      throw new ArgumentError(
        `${op}: indices must be an int32 tensor or an array of integers, got ${describe(indices)}.`,
      );
    const bad = indices.findIndex((i) => typeof i !== 'number' || !Number.isInteger(i) || Math.abs(i) > 2 ** 31 - 1);
    if (bad >= 0) {
      throw new ArgumentError(
        `${op}: indices[${bad}] is ${describe(indices[bad])}, not an int32 integer; ` +
          `indices pick whole elements: round them (Math.round), keep them within ±${2 ** 31 - 1}, or pass an int32 tensor.`,
      );
    }
  }
  const idx = indices instanceof Tensor ? indices : tensor([...indices], { dtype: 'int32', backend: x.backend });
  requireTensor(op, idx, 'indices');
  if (idx.dtype !== 'int32') {
    throw new DTypeError(`${op}: indices must be int32, got ${idx.dtype}. Convert with cast(indices, 'int32').`);
  }
  return idx;
}

/**
 * Entries of x at `indices` along `axis` (flattened x when no axis): the result has shape
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]. Negative indices count from the end.
 * Out-of-range indices in an int32 tensor are clamped (GPU kernels cannot throw, so both backends
 * clamp); in a number array they are refused at once.
 */
export function take(x: Tensor, indices: Tensor | readonly number[], options: { readonly axis?: number } = {}): Tensor {
  const op = 'take';
  requireTensor(op, x);
  requireOptions(op, options, '{ axis: 1 }');
  return scope(() => {
    const idx = indexTensor(op, x, indices);
    const src = options.axis === undefined ? reshape(x, [x.size]) : x;
    const axis = normalizeAxis(op, options.axis ?? 0, src.rank, x.shape);
    checkShape(
      src.shape[axis] > 0 || idx.size === 0,
      op,
      () => `cannot take from the size-0 axis ${axis} of ${fmtShape(x.shape)}.`,
    );
    // Indices known on the host are checked, not clamped: a literal past the end is a mistake.
    if (!(indices instanceof Tensor)) {
      const n = src.shape[axis];
      const bad = indices.findIndex((i) => i < -n || i >= n);
      if (bad >= 0)
        throw new ArgumentError(
          `${op}: indices[${bad}] is ${indices[bad]}, out of range for axis ${axis} of size ${n} (x ${fmtShape(x.shape)}${options.axis === undefined ? ', flattened' : ''}); use -${n}..${n - 1}.`,
        );
    }
    return bind(op, [src, idx], { axis });
  });
}

/**
 * PyTorch's gather: out[i][j][k] = x[i][indices[i][j][k]][k] for axis 1. indices has x's rank and
 * no dim larger than x's outside `axis`. Negative indices count from the end; others are clamped.
 */
export function gather(x: Tensor, indices: Tensor, options: { readonly axis: number }): Tensor {
  const op = 'gather';
  requireTensor(op, x);
  requireOptions(op, options, '{ axis: 1 }', true);
  const idx = indexTensor(op, x, indices);
  const axis = normalizeAxis(op, options.axis, x.rank, x.shape);
  checkShape(
    idx.rank === x.rank && idx.shape.every((d, i) => i === axis || d <= x.shape[i]),
    op,
    () =>
      `indices ${fmtShape(idx.shape)} must have the rank of x ${fmtShape(x.shape)} and no dim larger than x's outside axis ${axis}.`,
  );
  const n = x.shape[axis];
  checkShape(n > 0 || idx.size === 0, op, () => `cannot gather from the size-0 axis ${axis} of ${fmtShape(x.shape)}.`);
  return scope(() => {
    // Flat index into x = sum over dims of coordinate * stride, with the gathered coordinate
    // taken from `indices` (wrapped and clamped first, so clamping stays within the axis).
    const strides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const wrapped = clamp(where(less(idx, 0), add(idx, n), idx), { min: 0, max: Math.max(n - 1, 0) });
    let flat = mul(wrapped, strides[axis]);
    idx.shape.forEach((d, dim) => {
      if (dim === axis) return;
      const coord = reshape(
        mul(arange(d, undefined, 1, { dtype: 'int32', backend: x.backend }), strides[dim]),
        idx.shape.map((s, i) => (i === dim ? s : 1)),
      );
      flat = add(flat, coord);
    });
    return bind('take', [reshape(x, [x.size]), flat], { axis: 0 });
  });
}
