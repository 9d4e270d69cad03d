// Error types the engine throws, and helpers that format shapes the same way everywhere.

/** Formats a shape as `[2, 3]`, the way every error message shows it. */
export const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Shapes that do not fit an op (mismatched, not broadcastable, wrong rank). */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** An operand with a dtype the op cannot take, or mixed dtypes it will not promote. */
export class DTypeError extends TypeError {
  override name = 'DTypeError';
}

/** A tensor used after `dispose()` or after the scope that owned it ended. */
export class DisposedTensorError extends Error {
  override name = 'DisposedTensorError';
}

/**
 * An argument of the wrong kind or value that is not a shape or dtype problem: a non-integer
 * index, an axis given as a string, an async function where a synchronous one is needed, a
 * cyclic tree, a size past what the host can allocate.
 */
export class ArgumentError extends TypeError {
  override name = 'ArgumentError';
}

/** Device acquisition, limits, shader compilation or validation problems on a backend. */
export class BackendError extends Error {
  override name = 'BackendError';
}

/** Throws a ShapeError with `op: message` unless `cond` holds. */
export function checkShape(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new ShapeError(`${op}: ${message()}`);
}
