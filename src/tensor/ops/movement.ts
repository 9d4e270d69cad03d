// Movement ops: reshape, transpose, broadcast, expand/squeeze and slice are views (no copy);
// concat, stack and pad make new storage.
import { promoteTypes } from '../dtype.js';
import { checkShape, fmtShape, ShapeError } from '../errors.js';
import { scope } from '../memory.js';
import { bind } from '../primitives.js';
import { broadcastShapes, normalizeAxes, normalizeAxis, shapesEqual, sizeOf, validateShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { requireOptions, requireTensor } from './operand.js';

/** A new handle on the same data (so disposing it never frees the caller's tensor). */
export const alias = (x: Tensor): Tensor => bind('reshape', [x], { shape: x.shape });

/** Same data, new shape; one dim may be -1 (inferred). A view when x is contiguous or its strides line up (see reshapeStrides); else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'reshape';
  requireTensor(op, x);
  const inferAt = shape.indexOf(-1);
  let target = [...shape];
  if (inferAt >= 0) {
    checkShape(
      shape.lastIndexOf(-1) === inferAt,
      op,
      () => `shape ${fmtShape(shape)} has more than one -1; only one dim can be inferred.`,
    );
    const known = sizeOf(shape.filter((_, i) => i !== inferAt));
    checkShape(
      known > 0 && x.size % known === 0,
      op,
      () => `cannot infer the -1 in ${fmtShape(shape)} for ${x.size} elements (input shape ${fmtShape(x.shape)}).`,
    );
    target[inferAt] = x.size / known;
  }
  target = [...validateShape(op, target)];
  checkShape(
    sizeOf(target) === x.size,
    op,
    () =>
      `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} (${sizeOf(target)} elements); the element counts must match.`,
  );
  return bind(op, [x], { shape: target });
}

/** Permutes axes (default: reverses them). A view. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const op = 'transpose';
  requireTensor(op, x);
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  const normalized = p.map((a) => normalizeAxis(op, a, x.rank, x.shape));
  checkShape(
    normalized.length === x.rank && new Set(normalized).size === x.rank,
    op,
    () =>
      `perm ${JSON.stringify(p)} is not a permutation of the ${x.rank} axes of ${fmtShape(x.shape)}; list each axis once.`,
  );
  return bind('permute', [x], { perm: normalized });
}

/** x with its last two axes swapped (a view): the transposed matrices of a batch. */
export const swapLastAxes = (x: Tensor): Tensor =>
  transpose(
    x,
    x.shape.map((_, i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i)),
  );

/** Broadcasts x to `shape` under NumPy rules. A view (stride 0 along broadcast dims). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'broadcastTo';
  requireTensor(op, x);
  validateShape(op, shape);
  const out = broadcastShapes(op, x.shape, shape);
  checkShape(shapesEqual(out, shape), op, () => `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}.`);
  return bind(op, [x], { shape });
}

/** Inserts a size-1 axis at `axis` (negative counts from the end of the new shape). A view. */
export function expandDims(x: Tensor, axis: number): Tensor {
  requireTensor('expandDims', x);
  const a = normalizeAxis('expandDims', axis, x.rank + 1, x.shape);
  return bind('reshape', [x], { shape: [...x.shape.slice(0, a), 1, ...x.shape.slice(a)] });
}

/** Removes size-1 axes (all of them, or those listed). A view. */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  const op = 'squeeze';
  requireTensor(op, x);
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes(op, axis, x.shape);
  for (const a of axes) {
    checkShape(
      x.shape[a] === 1,
      op,
      () => `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1; only size-1 axes can be squeezed.`,
    );
  }
  return bind('reshape', [x], { shape: x.shape.filter((_, i) => !axes.includes(i)) });
}

/**
 * x[starts[0]:ends[0]:steps[0], ...] with NumPy rules: negative indices count from the end,
 * out-of-range bounds are clamped, missing trailing entries take the whole axis. A view.
 */
export function slice(
  x: Tensor,
  starts: readonly number[],
  ends?: readonly (number | undefined)[],
  steps?: readonly number[],
): Tensor {
  const op = 'slice';
  requireTensor(op, x);
  checkShape(
    starts.length <= x.rank && (ends?.length ?? 0) <= x.rank && (steps?.length ?? 0) <= x.rank,
    op,
    () =>
      `got ${starts.length} starts / ${ends?.length ?? 0} ends for a tensor of rank ${x.rank} (shape ${fmtShape(x.shape)}); give at most one per axis.`,
  );
  const clampIndex = (i: number, d: number): number => Math.min(d, Math.max(0, i < 0 ? i + d : i));
  const st: number[] = [];
  const en: number[] = [];
  const sp: number[] = [];
  x.shape.forEach((d, i) => {
    const step = steps?.[i] ?? 1;
    checkShape(Number.isInteger(step) && step > 0, op, () => `step ${step} on axis ${i} must be a positive integer.`);
    for (const v of [starts[i], ends?.[i]]) {
      checkShape(v === undefined || Number.isInteger(v), op, () => `index ${v} on axis ${i} must be an integer.`);
    }
    const s = clampIndex(starts[i] ?? 0, d);
    st.push(s);
    en.push(Math.max(s, ends?.[i] === undefined ? d : clampIndex(ends[i]!, d)));
    sp.push(step);
  });
  return bind(op, [x], { starts: st, ends: en, steps: sp });
}

/** Joins tensors along an existing axis; all other dims must match. */
export function concat(xs: readonly Tensor[], options: { readonly axis?: number } = {}): Tensor {
  const op = 'concat';
  requireOptions(op, options, '{ axis: 1 }');
  if (!Array.isArray(xs as unknown) || xs.length === 0)
    throw new ShapeError(`${op}: expected a non-empty array of tensors.`);
  xs.forEach((x, i) => requireTensor(op, x, `xs[${i}]`));
  const rank = xs[0].rank;
  checkShape(rank > 0, op, () => `cannot concatenate 0-d tensors; use stack instead.`);
  const axis = normalizeAxis(op, options.axis ?? 0, rank, xs[0].shape);
  for (const x of xs) {
    checkShape(
      x.rank === rank && x.shape.every((d, i) => i === axis || d === xs[0].shape[i]),
      op,
      () =>
        `shapes ${xs.map((t) => fmtShape(t.shape)).join(', ')} differ outside axis ${axis}; every dim but the concat axis must match.`,
    );
  }
  const dtype = xs.map((x) => x.dtype).reduce(promoteTypes);
  return scope(() =>
    bind(
      op,
      xs.map((x) => cast(x, dtype)),
      { axis },
    ),
  );
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(xs: readonly Tensor[], options: { readonly axis?: number } = {}): Tensor {
  const op = 'stack';
  requireOptions(op, options, '{ axis: 1 }');
  if (!Array.isArray(xs as unknown) || xs.length === 0)
    throw new ShapeError(`${op}: expected a non-empty array of tensors.`);
  xs.forEach((x, i) => requireTensor(op, x, `xs[${i}]`));
  for (const x of xs) {
    checkShape(
      shapesEqual(x.shape, xs[0].shape),
      op,
      () => `all shapes must be equal, got ${xs.map((t) => fmtShape(t.shape)).join(', ')}.`,
    );
  }
  const axis = normalizeAxis(op, options.axis ?? 0, xs[0].rank + 1, xs[0].shape);
  return scope(() =>
    concat(
      xs.map((x) => expandDims(x, axis)),
      { axis },
    ),
  );
}

/** Pads with a constant: widths[d] = [before, after] for each axis (fewer entries pad leading axes). */
export function pad(
  x: Tensor,
  widths: readonly (readonly [number, number])[],
  options: { readonly value?: number } = {},
): Tensor {
  const op = 'pad';
  requireTensor(op, x);
  requireOptions(op, options, '{ value: -1 }');
  checkShape(
    widths.length <= x.rank,
    op,
    () => `got ${widths.length} [before, after] pairs for a tensor of rank ${x.rank}; give at most one per axis.`,
  );
  const full = x.shape.map((_, i) => widths[i] ?? [0, 0]);
  for (const [i, [b, a]] of full.entries()) {
    checkShape(
      [b, a].every((w) => Number.isInteger(w) && w >= 0),
      op,
      () => `widths on axis ${i} are [${b}, ${a}]; they must be non-negative integers (use slice to crop).`,
    );
  }
  const value = options.value ?? 0;
  return bind(op, [x], { widths: full.map(([b, a]) => [b, a] as const), value });
}

/** Flattens to 1-D (a view when contiguous). */
export const flatten = (x: Tensor): Tensor => reshape(x, [-1]);
