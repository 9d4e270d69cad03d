// Host data -> tensor: flattening nested arrays, checking lengths, converting to the dtype's array.
import type { BackendName } from '../../kernels/backend.js';
import { backendFor } from '../backends.js';
import { allocHost, type AnyTypedArray, type DType } from '../dtype.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { checkAlloc, HOST } from '../alloc-limits.js';
import { sizeOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Uploads host values (already flat, row-major) as a tensor of `shape` and `dtype`. */
export function fromHost(
  op: string,
  values: ArrayLike<number>,
  shape: Shape,
  dtype: DType,
  backendName: BackendName,
): Tensor {
  const size = sizeOf(shape);
  if (values.length !== size) {
    throw new ShapeError(
      `${op}: got ${values.length} values for shape ${fmtShape(shape)}, which holds ${size}. ` +
        `Pass data with exactly ${size} elements or fix the shape.`,
    );
  }
  const backend = backendFor(backendName);
  checkAlloc(op, backend, shape, dtype);
  checkAlloc(op, HOST, shape, dtype);
  if (dtype === 'int32' && !(values instanceof Int32Array))
    for (let i = 0; i < size; i++) checkInt32(op, values[i], `element ${i}`);
  const host: AnyTypedArray = allocHost(dtype, size);
  if (dtype === 'bool') for (let i = 0; i < size; i++) host[i] = values[i] ? 1 : 0;
  else host.set(values as ArrayLike<number>);
  return new Tensor(backend.upload(host, dtype), shape);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Refuses a value an int32 tensor would silently wrap or zero (out of range, NaN, infinite). */
export function checkInt32(op: string, value: number, where: string): void {
  if (!(value >= INT32_MIN && value <= INT32_MAX)) {
    throw new DTypeError(
      `${op}: ${where} is ${value}, which int32 cannot hold (it holds integers in [${INT32_MIN}, ${INT32_MAX}]); ` +
        `use dtype 'float32' or 'float64', or bring the value into range.`,
    );
  }
}
