// Host data -> tensor: flattening nested arrays, checking lengths, converting to the dtype's array.
import type { BackendName } from '../../kernels/backend.js';
import { backendFor } from '../backends.js';
import { allocHost, type AnyTypedArray, type DType } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { checkAlloc } from '../eager.js';
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
  const host: AnyTypedArray = allocHost(dtype, size);
  if (dtype === 'bool') for (let i = 0; i < size; i++) host[i] = values[i] ? 1 : 0;
  else host.set(values as ArrayLike<number>);
  return new Tensor(backend.upload(host, dtype), shape);
}
