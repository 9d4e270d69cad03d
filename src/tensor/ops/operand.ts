// Turning op arguments into tensors: JS scalars become 0-d tensors with "weak" dtypes (they take
// the dtype of the tensor operand, as in JAX), and every argument is checked to be usable.
import { getBackend } from '../backends.js';
import { ArgumentError, DTypeError } from '../errors.js';
import type { DType } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { fromHost } from './host.js';

/** A tensor or a JS scalar that broadcasts like a 0-d tensor. */
export type TensorLike = Tensor | number | boolean;

/** The dtype a JS scalar takes next to a tensor of dtype `like`. */
function weakDType(value: number | boolean, like: DType | undefined): DType {
  if (typeof value === 'boolean') return 'bool';
  if (like === undefined) return Number.isInteger(value) ? 'float32' : 'float32';
  if (like === 'bool') return Number.isInteger(value) ? 'int32' : 'float32';
  if (like === 'int32' && !Number.isInteger(value)) return 'float32';
  return like;
}

/** Converts the operands of `op` to tensors on one backend; scalars follow the tensor operands. */
export function asTensors(op: string, args: readonly TensorLike[]): Tensor[] {
  const firstTensor = args.find((a): a is Tensor => a instanceof Tensor);
  const backend = firstTensor ? firstTensor.storage(op).backend : getBackend();
  return args.map((a) => {
    if (a instanceof Tensor) return a;
    if (typeof a === 'number' || typeof a === 'boolean') {
      const dtype = weakDType(a, firstTensor?.dtype);
      return fromHost(op, [typeof a === 'boolean' ? Number(a) : a], [], dtype, backend);
    }
    throw new DTypeError(
      `${op}: expected a Tensor or a number, got ${describe(a)}. Wrap data with tensor(data) first.`,
    );
  });
}

/** Throws unless `x` is a Tensor, naming the op and what was passed. */
export function requireTensor(op: string, x: unknown, argName = 'x'): Tensor {
  if (x instanceof Tensor) {
    x.storage(op); // throws DisposedTensorError naming the op
    return x;
  }
  throw new DTypeError(`${op}: ${argName} must be a Tensor, got ${describe(x)}. Wrap data with tensor(data) first.`);
}

/**
 * Throws unless `options` is absent or a plain object. A number, array, string or tensor in its place
 * (NumPy's positional axis, PyTorch's positional bias or stride, JAX's positional argnums or
 * in_axes) would read as "no options" and be ignored without a word; `example` shows the object.
 * `required`: the op has settings without defaults, so absent options are refused too.
 */
export function requireOptions(op: string, options: unknown, example: string, required = false): void {
  if (options === undefined && !required) return;
  const plain =
    typeof options === 'object' &&
    options !== null &&
    !Array.isArray(options) &&
    !(options instanceof Tensor) &&
    !ArrayBuffer.isView(options);
  if (plain) return;
  throw new ArgumentError(
    `${op}: options go in an object, e.g. ${example}; got ${options === undefined ? 'none' : `${describe(options)} in their place`}. ` +
      `Positional settings (an axis, a stride, a bias, argnums) are not read.`,
  );
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `${typeof x} ${String(x)}`;
}
