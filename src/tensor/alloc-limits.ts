// The one size check every allocation whose size comes from the user goes through, run before
// anything is allocated: on a backend's device (its element limit per dtype) and on the host (the
// largest TypedArray the JS engine can make, for uploads and readbacks).
import { constants as bufferConstants } from 'node:buffer';
import type { Backend } from '../kernels/backend.js';
import { DTYPES, type DType } from './dtype.js';
import { BackendError, fmtShape } from './errors.js';
import { sizeOf, type Shape } from './shape.js';

/** Bytes per element of each dtype in host arrays. */
const HOST_BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int32: 4, bool: 1 };
/** Largest element count we promise for one JS TypedArray, whatever the engine allows. */
const MAX_TYPED_ARRAY_ELEMENTS = 2 ** 31 - 1;

/** Elements of `dtype` one host TypedArray can hold: the engine's byte limit, capped at 2^31 - 1. */
export const maxHostElements = (dtype: DType): number =>
  Math.min(MAX_TYPED_ARRAY_ELEMENTS, Math.floor(bufferConstants.MAX_LENGTH / HOST_BYTES[dtype]));

/** What an allocation is checked against: a backend, or the host. */
export type AllocTarget = Pick<Backend, 'name' | 'dtypes' | 'maxElements'> | typeof HOST;

/** The host (JS TypedArrays): the staging array of an upload, the array a readback returns. */
export const HOST = {
  name: 'host',
  dtypes: DTYPES,
  maxElements: (dtype: DType) => ({
    elements: maxHostElements(dtype),
    limit: `JS TypedArray size (${bufferConstants.MAX_LENGTH} bytes)`,
  }),
} as const;

/** Refuses outputs larger than the target can hold, naming the op, the size and the limit, before allocating. */
export function checkAlloc(op: string, target: AllocTarget, shape: Shape, dtype: DType): void {
  if (!target.dtypes.includes(dtype)) {
    throw new BackendError(
      `${op}: the ${target.name} backend has no ${dtype} (it has ${target.dtypes.join(', ')}); ` +
        (dtype === 'float64'
          ? `float64 is CPU-only: cast to float32 or use setBackend('cpu').`
          : `cast to a supported dtype.`),
    );
  }
  const { elements, limit } = target.maxElements(dtype);
  const size = sizeOf(shape);
  if (size > elements) {
    const where = target.name === 'host' ? 'the host limit' : `the ${target.name} device limit`;
    throw new BackendError(
      `${op}: an output of shape ${fmtShape(shape)} (${size} ${dtype} elements) exceeds ${where} ` +
        `${limit} (${elements} elements). Split the work into smaller chunks (e.g. a smaller batch).`,
    );
  }
}
