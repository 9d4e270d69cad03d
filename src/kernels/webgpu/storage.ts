// GPU-resident storage: the buffer holding a tensor's elements, and host <-> device element conversion.
import type { AnyTypedArray, DType } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import type { Storage } from '../backend.js';

/** Every dtype this backend holds takes 4 bytes per element on the device (bool as u32 0/1). */
export const DEVICE_BYTES_PER_ELEMENT = 4;

export class WebGpuStorage implements Storage {
  readonly backend = 'webgpu' as const;
  refs = 1;
  released = false;
  /**
   * Pending fused kernels that will read this storage (see fusion.ts). While pinned, a release
   * from the front end is deferred: the buffer returns to the pool when the last pin goes.
   */
  pins = 0;
  releaseWhenUnpinned = false;
  protected buffer_: GPUBuffer | null;

  constructor(
    buffer: GPUBuffer | null,
    readonly dtype: DType,
    readonly size: number,
  ) {
    this.buffer_ = buffer;
  }

  /** The device buffer (a lazy storage computes itself on first access). */
  get buffer(): GPUBuffer {
    return this.buffer_!;
  }

  /** Whether the elements exist on the device (false only for a fused expression not yet run). */
  get isMaterialized(): boolean {
    return this.buffer_ !== null;
  }

  /** Bytes the elements occupy (the pooled buffer may be larger). */
  get byteLength(): number {
    return this.size * DEVICE_BYTES_PER_ELEMENT;
  }

  /** Bytes to bind: at least 4, since a zero-size binding is invalid. */
  get bindSize(): number {
    return Math.max(DEVICE_BYTES_PER_ELEMENT, this.byteLength);
  }
}

export function assertGpuDType(op: string, dtype: DType): void {
  if (dtype === 'float64') {
    throw new BackendError(
      `webgpu: ${op}: float64 is CPU-only on this library; cast to float32 first, or use the cpu backend (setBackend('cpu')).`,
    );
  }
}

/** The bytes to upload for `data` as `dtype`: bool becomes u32 0/1, other arrays are converted if needed. */
export function toDeviceElements(data: AnyTypedArray, dtype: DType): Float32Array | Int32Array | Uint32Array {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    case 'int32':
      return data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
    case 'bool': {
      const out = new Uint32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = data[i] ? 1 : 0;
      return out;
    }
    case 'float64':
      throw new BackendError('webgpu: float64 is CPU-only; cast to float32 or use the cpu backend.');
  }
}

/** A fresh host array from device bytes: bool comes back as 0/1 bytes. */
export function fromDeviceBytes(bytes: ArrayBuffer, dtype: DType, size: number): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(bytes, 0, size).slice();
    case 'int32':
      return new Int32Array(bytes, 0, size).slice();
    case 'bool': {
      const words = new Uint32Array(bytes, 0, size);
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i++) out[i] = words[i] ? 1 : 0;
      return out;
    }
    case 'float64':
      throw new BackendError('webgpu: float64 is CPU-only; cast to float32 or use the cpu backend.');
  }
}
