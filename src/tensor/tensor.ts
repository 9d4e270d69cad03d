// The Tensor value type: an immutable, strided view of backend storage, with async readback.
import type { BackendName, Storage, View } from '../kernels/backend.js';
import type { AnyTypedArray, DType } from './dtype.js';
import { DisposedTensorError, fmtShape } from './errors.js';
import { backendFor } from './backends.js';
import { checkAlloc, HOST } from './alloc-limits.js';
import { countAcquire, countRelease, isOrphaned, track } from './live.js';
import { contiguousStrides, isContiguous, sizeOf, type Shape } from './shape.js';
import { formatHostValues, formatValues, type FormatOptions } from './format.js';

let nextTensorId = 0;

/** The id the next tensor will get: tensors with ids at or past it were made after this call. @internal */
export const peekNextTensorId = (): number => nextTensorId;

/** Nested JS arrays as returned by `array()` (numbers, or booleans for bool tensors). */
export type NestedArray = number | boolean | NestedArray[];

/**
 * An n-dimensional array on one backend. Immutable from the user's view: every op returns a new
 * tensor. Reshape, transpose, broadcast and slice return views that share storage (no copy).
 * Free it with `dispose()` or by creating it inside `scope(() => ...)`.
 */
export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Element strides of this view into its storage (0 along broadcast dims). @internal */
  readonly strides: readonly number[];
  /** Element offset of this view into its storage. @internal */
  readonly offset: number;
  /** Creation order, unique per process: tensors made during a transform have ids past its start. @internal */
  readonly id: number;
  #storage: Storage | null;
  /** Set once the backend that made the storage was shut down. */
  #orphaned = false;

  /** @internal Use `tensor()`, `zeros()` ... to create tensors. */
  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.shape = Object.freeze([...shape]);
    this.dtype = storage.dtype;
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.#storage = storage;
    this.id = nextTensorId++;
    countAcquire(storage);
    track(this);
  }

  /** Which backend holds the data. */
  get backend(): BackendName {
    return this.storage('backend').backend;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }
  get isDisposed(): boolean {
    return this.#liveStorage() === null;
  }
  /** True when the view's elements lie row-major and gap-free in storage. */
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** The storage, or a DisposedTensorError naming the op that wanted it. @internal */
  storage(op: string): Storage {
    if (this.#storage !== null && this.#liveStorage() === null) {
      throw new DisposedTensorError(
        `${op}: received a tensor (shape ${fmtShape(this.shape)}, ${this.dtype}) whose backend was shut down by shutdown(); ` +
          `tensors do not survive a device restart: make it again after ready()/setBackend(), or read it back with data() before shutting down.`,
      );
    }
    if (this.#storage === null) {
      throw new DisposedTensorError(
        `${op}: received a disposed tensor (shape ${fmtShape(this.shape)}, ${this.dtype}). ` +
          `It was freed by dispose() or by the end of the scope that created it; ` +
          `return it from the scope, wrap it in keep(x), or create it outside the scope.`,
      );
    }
    return this.#storage;
  }

  /** The strided view the backends compute on. @internal */
  view(op: string): View {
    return {
      storage: this.storage(op),
      dtype: this.dtype,
      shape: this.shape,
      strides: this.strides,
      offset: this.offset,
    };
  }

  /** Reads the elements back, row-major, as a new TypedArray (bool as 0/1 bytes). */
  async data(): Promise<AnyTypedArray> {
    const view = this.view('data');
    const backend = backendFor(view.storage.backend);
    // A broadcast or strided view may be far larger than its storage: check the gathered copy and
    // the returned array fit before either is made.
    checkAlloc('data', backend, this.shape, this.dtype);
    checkAlloc('data', HOST, this.shape, this.dtype);
    return backend.read(view);
  }

  /** Reads the elements back as nested JS arrays (a number or boolean for a 0-d tensor). */
  async array(): Promise<NestedArray> {
    const flat = await this.data();
    const toValue = this.dtype === 'bool' ? (i: number) => flat[i] !== 0 : (i: number) => flat[i];
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.shape.length) return toValue(start);
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * stride));
    };
    return build(0, 0);
  }

  /** The storage, or null once disposed or once its backend was shut down (then forgotten here). */
  #liveStorage(): Storage | null {
    if (this.#storage !== null && isOrphaned(this.#storage)) this.#orphaned = true;
    return this.#orphaned ? null : this.#storage;
  }

  /** Frees this handle; the storage is freed when no view of it remains. Idempotent. */
  dispose(): void {
    const s = this.#storage;
    if (s === null) return;
    if (this.#liveStorage() === null) {
      // Its device is gone: nothing to count or release (the buffer must not reach a new device's pool).
      this.#storage = null;
      return;
    }
    this.#storage = null;
    if (countRelease(s)) backendFor(s.backend).release(s);
  }

  /**
   * Shape, dtype, backend, and the values when they can be read synchronously: on the CPU backend
   * (host memory) yes; on WebGPU readback is asynchronous, so only the header and a pointer to
   * `await x.print()`. Beyond `threshold` elements (1000) each axis is summarised with '...'.
   */
  toString(options?: FormatOptions): string {
    const s = this.#liveStorage();
    const head = `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${s ? s.backend : 'disposed'})`;
    if (s === null) return head;
    const host = backendFor(s.backend).hostElements?.(this.view('toString'));
    if (host === undefined) return `${head} (values on the device: await x.print() or x.data() to see them)`;
    const rowMajor = contiguousStrides(this.shape);
    const at = (i: number): number => {
      let index = this.offset;
      for (let d = 0; d < rowMajor.length; d++)
        index += (Math.floor(i / rowMajor[d]) % this.shape[d]) * this.strides[d];
      return host[index];
    };
    return `${head}\n${formatValues(this.shape, this.dtype, at, options)}`;
  }

  /** Reads the values back (on any backend) and prints them with console.log, as toString() formats them. */
  async print(options?: FormatOptions): Promise<void> {
    const head = `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.storage('print').backend})`;
    console.log(`${head}\n${formatHostValues(this.shape, this.dtype, await this.data(), options)}`);
  }

  /** console.log(x) and util.inspect show toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
