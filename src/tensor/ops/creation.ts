// Creating tensors: from JS data, filled with constants, ranges, and moving between backends.
import type { BackendName } from '../../kernels/backend.js';
import { backendFor, getBackend } from '../backends.js';
import { assertDType, dtypeOfArray, type AnyTypedArray, type DType } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { checkAlloc, HOST } from '../alloc-limits.js';
import { allocHost } from '../dtype.js';
import { validateShape, type Shape } from '../shape.js';
import { Tensor, type NestedArray } from '../tensor.js';
import { checkInt32, fromHost } from './host.js';
import { describe, requireOptions, requireTensor } from './operand.js';

/** Where and how a new tensor is made. */
export interface CreateOptions {
  readonly dtype?: DType;
  /** Defaults to the backend chosen by `ready()`/`setBackend()`. */
  readonly backend?: BackendName;
}

export type TensorData = number | boolean | NestedArray | readonly NestedArray[] | AnyTypedArray;

function nestedShape(op: string, data: unknown): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flattenNested(op: string, data: unknown, shape: Shape): number[] {
  const out: number[] = [];
  const walk = (x: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof x === 'number') out.push(x);
      else if (typeof x === 'boolean') out.push(x ? 1 : 0);
      else throw new ShapeError(`${op}: element ${path || '[]'} is ${describe(x)}, expected a number or boolean.`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new ShapeError(
        `${op}: ragged nested array: ${path || 'the top level'} has ${Array.isArray(x) ? `length ${x.length}` : describe(x)}, ` +
          `expected length ${shape[dim]} to match shape ${fmtShape(shape)}. Every row must have the same length.`,
      );
    }
    x.forEach((v, i) => walk(v, dim + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return out;
}

const firstLeaf = (data: unknown): unknown => (Array.isArray(data) ? firstLeaf(data[0]) : data);

/**
 * Makes a tensor from a number, boolean, nested arrays or a TypedArray.
 * `tensor([[1, 2], [3, 4]])`, `tensor(new Float32Array(6), { shape: [2, 3] })`.
 */
export function tensor(data: TensorData, options: CreateOptions & { readonly shape?: Shape } = {}): Tensor {
  const op = 'tensor';
  requireOptions(op, options, "{ shape: [2, 3], dtype: 'int32' }");
  const backend = options.backend ?? getBackend();
  if (options.dtype !== undefined) assertDType(op, options.dtype);
  if (ArrayBuffer.isView(data)) {
    const kind = dtypeOfArray(data);
    if (kind === undefined) {
      throw new ShapeError(
        `${op}: unsupported TypedArray ${data.constructor.name}; use Float32Array, Float64Array, Int32Array or Uint8Array.`,
      );
    }
    const shape = validateShape(op, options.shape ?? [data.length]);
    return fromHost(op, data, shape, options.dtype ?? kind, backend);
  }
  const inferred = nestedShape(op, data);
  const values = flattenNested(op, data, inferred);
  const dtype = options.dtype ?? (typeof firstLeaf(data) === 'boolean' ? 'bool' : 'float32');
  const shape = validateShape(op, options.shape ?? inferred);
  return fromHost(op, values, shape, dtype, backend);
}

/** A tensor of `shape` filled with `value` (computed on the device, no upload). */
export function full(shape: Shape, value: number | boolean, options: CreateOptions = {}): Tensor {
  const op = 'full';
  validateShape(op, shape);
  requireOptions(op, options, "{ dtype: 'int32', backend: 'cpu' }");
  const dtype = options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  assertDType(op, dtype);
  const backend = backendFor(options.backend ?? getBackend());
  checkAlloc(op, backend, shape, dtype);
  return new Tensor(backend.fill(shape, Number(value), dtype), shape);
}

export const zeros = (shape: Shape, options: CreateOptions = {}): Tensor => {
  requireOptions('zeros', options, "{ dtype: 'int32' }");
  return full(shape, 0, options);
};
export const ones = (shape: Shape, options: CreateOptions = {}): Tensor => {
  requireOptions('ones', options, "{ dtype: 'int32' }");
  return full(shape, 1, options);
};

/** A tensor like `x` (shape, dtype, backend) filled with `value`. */
export const fullLike = (x: Tensor, value: number | boolean, options: CreateOptions = {}): Tensor => {
  requireOptions('fullLike', options, "{ dtype: 'int32' }");
  return full(requireTensor('fullLike', x).shape, value, { dtype: x.dtype, backend: x.backend, ...options });
};
export const zerosLike = (x: Tensor, options: CreateOptions = {}): Tensor => fullLike(x, 0, options);
export const onesLike = (x: Tensor, options: CreateOptions = {}): Tensor => fullLike(x, 1, options);

/**
 * Values from `start` up to (not including) `stop` by `step`, like NumPy.
 * `arange(5)` is [0..4]; `arange(1, 2, 0.25)` is [1, 1.25, 1.5, 1.75].
 */
export function arange(startOrStop: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  const op = 'arange';
  requireOptions(op, options, "{ dtype: 'float32' }");
  const [start, end] = stop === undefined ? [0, startOrStop] : [startOrStop, stop];
  if (![start, end, step].every(Number.isFinite) || step === 0) {
    throw new ShapeError(`${op}: start ${start}, stop ${end} and step ${step} must be finite numbers with step != 0.`);
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  return fromHost(
    op,
    hostRange(op, n, dtype, options.backend ?? getBackend(), (i) => start + i * step),
    [n],
    dtype,
    options.backend ?? getBackend(),
  );
}

/**
 * The n values valueAt(0..n-1) as a host array of `dtype` (bool as 0/1), after checking that n
 * elements fit the target backend and the host: a size from the user never allocates first.
 */
function hostRange(
  op: string,
  n: number,
  dtype: DType,
  backend: BackendName,
  valueAt: (i: number) => number,
): ArrayLike<number> {
  assertDType(op, dtype);
  checkAlloc(op, backendFor(backend), [n], dtype);
  checkAlloc(op, HOST, [n], dtype);
  if (dtype === 'int32' && n > 0) [0, n - 1].forEach((i) => checkInt32(op, valueAt(i), `value ${i}`)); // monotone: the ends bound the rest
  const out = allocHost(dtype === 'bool' ? 'float64' : dtype, n);
  for (let i = 0; i < n; i++) out[i] = valueAt(i);
  return out;
}

/** `num` evenly spaced values from `start` to `stop` inclusive. */
export function linspace(start: number, stop: number, num: number, options: CreateOptions = {}): Tensor {
  const op = 'linspace';
  requireOptions(op, options, "{ dtype: 'float32' }");
  if (!Number.isInteger(num) || num < 0) throw new ShapeError(`${op}: num must be a non-negative integer, got ${num}.`);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  const dtype = options.dtype ?? 'float32';
  const values = hostRange(op, num, dtype, options.backend ?? getBackend(), (i) =>
    i === num - 1 && num > 1 ? stop : start + i * step,
  );
  return fromHost(op, values, [num], dtype, options.backend ?? getBackend());
}

/** Copies a tensor to another backend (reads back through the host). */
export async function toBackend(x: Tensor, backend: BackendName): Promise<Tensor> {
  requireTensor('toBackend', x);
  const b = backendFor(backend, 'toBackend'); // an unknown or unstarted backend is refused before the readback
  const values = await x.data();
  checkAlloc('toBackend', b, x.shape, x.dtype);
  return new Tensor(b.upload(values, x.dtype), x.shape);
}
