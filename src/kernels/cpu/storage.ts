// CpuStorage: a backend Storage whose elements live in one host TypedArray, plus the checked
// accessor every CPU kernel uses to reach a view's elements.
import type { AnyTypedArray, DType } from '../../tensor/dtype.js';
import { allocHost, hostBytesPerElement } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import type { Storage, View } from '../backend.js';

export class CpuStorage implements Storage {
  readonly backend = 'cpu' as const;
  readonly size: number;
  readonly byteLength: number;
  refs = 1;
  /** The elements, row-major; replaced by an empty array once released. */
  data: AnyTypedArray;
  released = false;

  constructor(
    readonly dtype: DType,
    data: AnyTypedArray,
  ) {
    this.data = data;
    this.size = data.length;
    this.byteLength = data.length * hostBytesPerElement(dtype);
  }

  /** Drops the element array so the garbage collector can reclaim it. */
  release(): void {
    this.released = true;
    this.data = allocHost(this.dtype, 0);
  }
}

/** The CpuStorage behind a view, refusing storages from another backend or already released. */
export function cpuStorageOf(op: string, view: View): CpuStorage {
  const storage = view.storage;
  if (!(storage instanceof CpuStorage)) {
    throw new BackendError(
      `cpu.${op}: got a storage from the '${storage.backend}' backend; move the tensor to the cpu backend first.`,
    );
  }
  if (storage.released) {
    throw new BackendError(
      `cpu.${op}: the storage was already released (refs reached 0); this is a use-after-dispose in the front end.`,
    );
  }
  return storage;
}

/** The element array behind a view (the whole storage, not just the view's window). */
export const dataOf = (op: string, view: View): AnyTypedArray => cpuStorageOf(op, view).data;
