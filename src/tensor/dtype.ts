// Element types: what each dtype is called, how it is stored, and how dtypes combine.

/** Element type of a tensor. `float64` exists on the CPU backend only. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['bool', 'int32', 'float32', 'float64'];

/** The TypedArray that holds each dtype on the host (bool is one byte per element, 0 or 1). */
export type TypedArrayFor<D extends DType> = {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  bool: Uint8Array;
}[D];

export type AnyTypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const hostArray = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/** Allocates a zeroed host array for `size` elements of `dtype`. */
export function allocHost<D extends DType>(dtype: D, size: number): TypedArrayFor<D> {
  return new hostArray[dtype](size) as TypedArrayFor<D>;
}

/** The dtype a host TypedArray stands for, or undefined for unsupported array kinds. */
export function dtypeOfArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return undefined;
}

/** Bytes per element on the host. */
export const hostBytesPerElement = (dtype: DType): number => hostArray[dtype].BYTES_PER_ELEMENT;

export const isFloat = (dtype: DType): boolean => dtype === 'float32' || dtype === 'float64';

/** Rank in the promotion lattice bool < int32 < float32 < float64 (NumPy-like, no uint). */
const promotionRank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** The dtype two operands promote to, e.g. int32 + float32 -> float32. */
export function promoteTypes(a: DType, b: DType): DType {
  return promotionRank[a] >= promotionRank[b] ? a : b;
}

/** The float dtype an operand becomes for float-only math (exp, log, div ...). */
export const toFloat = (dtype: DType): DType => (dtype === 'float64' ? 'float64' : 'float32');

export function assertDType(op: string, value: unknown): asserts value is DType {
  if (!DTYPES.includes(value as DType)) {
    throw new TypeError(`${op}: unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(', ')}.`);
  }
}
