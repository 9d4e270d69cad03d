// Shapes, strides and axes: validation, broadcasting (NumPy rules) and axis normalisation.
import { ArgumentError, checkShape, fmtShape, ShapeError } from './errors.js';

export type Shape = readonly number[];

/** Number of elements in a shape (1 for a 0-d shape). */
export const sizeOf = (shape: Shape): number => shape.reduce((n, d) => n * d, 1);

/** Row-major strides, in elements, of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Whether `strides` walk `shape` row-major with no gaps, so the elements are one run of storage.
 * Strides of size-1 dims never matter, and a shape with a 0 dim has no elements: it is contiguous
 * whatever its strides (one rule for the tensor, the CPU kernels and the WebGPU kernels).
 */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  if (shape.includes(0)) return true;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Checks that every dim is a non-negative integer; NaN, fractions and negatives are refused. */
export function validateShape(op: string, shape: unknown): Shape {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${op}: shape must be an array of non-negative integers, got ${String(shape)}.`);
  }
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}: shape ${fmtShape(shape)} has an invalid dim ${String(d)}; every dim must be a non-negative integer (NaN, fractions and negatives are refused).`,
      );
    }
  }
  return shape as Shape;
}

/** The broadcast of several shapes under NumPy rules, or a ShapeError naming all of them. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together (dim ${o - rank} is ${out[o]} vs ${d}). ` +
            `Each trailing dim must match or be 1; reshape or expandDims one operand so they line up.`,
        );
      }
    }
  }
  return out;
}

/** Turns a possibly negative axis into 0..rank-1, or throws naming the op, the axis and the shape. */
export function normalizeAxis(op: string, axis: number, rank: number, shape?: Shape): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    throw new ArgumentError(
      `${op}: axis must be an integer number, got ${typeof axis === 'string' ? `the string ${JSON.stringify(axis)}` : `${String(axis)} (${typeof axis})`}; ` +
        `pass an integer in [${-rank}, ${rank - 1}]${typeof axis === 'string' && Number.isInteger(Number(axis)) ? `, e.g. ${Number(axis)}` : ''}.`,
    );
  }
  checkShape(
    Number.isInteger(axis) && axis >= -rank && axis < rank,
    op,
    () =>
      `axis ${axis} is out of range for a tensor of rank ${rank}${shape ? ` (shape ${fmtShape(shape)})` : ''}; ` +
      `use an integer in [${-rank}, ${rank - 1}].`,
  );
  return axis < 0 ? axis + rank : axis;
}

/** Normalises an axis option (number, list, or undefined = all axes) to sorted unique axes. */
export function normalizeAxes(op: string, axis: number | readonly number[] | undefined, shape: Shape): number[] {
  const rank = shape.length;
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const axes = list.map((a) => normalizeAxis(op, a, rank, shape));
  checkShape(new Set(axes).size === axes.length, op, () => `axis ${JSON.stringify(list)} repeats an axis.`);
  return axes.sort((a, b) => a - b);
}

export const shapesEqual = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Strides that view the elements of (shape, strides) in row-major order as `target`, without
 * moving them, or null when no such strides exist and a reshape must copy (NumPy's
 * `_attempt_nocopy_reshape`). Size-1 dims are dropped first; each run of old dims that maps onto
 * a run of new dims must be row-major-contiguous within itself (broadcast dims of stride 0 only
 * merge with other broadcast dims). `target` has the same element count as `shape`.
 */
export function reshapeStrides(shape: Shape, strides: readonly number[], target: Shape): number[] | null {
  if (sizeOf(shape) === 0) return contiguousStrides(target);
  const oldDims: number[] = [];
  const oldStrides: number[] = [];
  shape.forEach((d, i) => {
    if (d !== 1) {
      oldDims.push(d);
      oldStrides.push(strides[i]);
    }
  });
  const out = new Array<number>(target.length).fill(0);
  let oi = 0;
  let oj = 1;
  let ni = 0;
  let nj = 1;
  while (ni < target.length && oi < oldDims.length) {
    let np = target[ni];
    let op = oldDims[oi];
    while (np !== op) {
      if (np < op) np *= target[nj++];
      else op *= oldDims[oj++];
    }
    for (let k = oi; k < oj - 1; k++) if (oldStrides[k] !== oldDims[k + 1] * oldStrides[k + 1]) return null;
    out[nj - 1] = oldStrides[oj - 1];
    for (let k = nj - 1; k > ni; k--) out[k - 1] = out[k] * target[k];
    ni = nj++;
    oi = oj++;
  }
  // Trailing size-1 dims of the target: any stride reads the same element.
  for (let k = ni; k < target.length; k++) out[k] = 1;
  return out;
}
