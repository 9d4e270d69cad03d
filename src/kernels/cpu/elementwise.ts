// Elementwise kernels (fill, copy, cast, unary, binary, where), all driven by the op table in
// ../elementwise-ops.ts: each reads its operands in row-major order and maps them element by element.
import type { AnyTypedArray, DType } from '../../tensor/dtype.js';
import { allocHost } from '../../tensor/dtype.js';
import type { Shape } from '../../tensor/shape.js';
import { sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import type { BinaryOp, UnaryOp } from '../elementwise-ops.js';
import { binaryOps, unaryOps } from '../elementwise-ops.js';
import { CpuStorage } from './storage.js';
import { castRules, explicitStoreRule, storeRules } from './store-rules.js';
import { gatherToContiguous, readContiguous } from './strided.js';

/** A fresh storage of `shape` with every element `value` (converted as a cast to `dtype` would). */
export function fill(shape: Shape, value: number, dtype: DType): CpuStorage {
  const data = allocHost(dtype, sizeOf(shape));
  data.fill(storeRules[dtype](value));
  return new CpuStorage(dtype, data);
}

/** A contiguous copy of the view. */
export const copy = (x: View): CpuStorage => new CpuStorage(x.dtype, gatherToContiguous('copy', x));

/** Converts every element with the target dtype's store rule (see store-rules.ts). */
export function cast(x: View, dtype: DType): CpuStorage {
  const src = readContiguous('cast', x);
  const out = allocHost(dtype, src.length);
  const convert = castRules[dtype];
  for (let i = 0; i < src.length; i++) out[i] = convert(src[i]);
  return new CpuStorage(dtype, out);
}

/** Output dtype of a table op: bool for predicates, else the operand dtype. */
const resultDType = (result: 'same' | 'bool', operand: DType): DType => (result === 'bool' ? 'bool' : operand);

export function unary(op: UnaryOp, x: View): CpuStorage {
  const spec = unaryOps[op];
  const dtype = resultDType(spec.result, x.dtype);
  const src = readContiguous(op, x);
  const out = allocHost(dtype, src.length);
  const f = ((dtype === 'int32' && 'cpuInt32' in spec ? spec.cpuInt32 : undefined) ?? spec.cpu) as (
    x: number,
  ) => number;
  const store = explicitStoreRule(dtype);
  if (store === undefined) for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = store(f(src[i]));
  return new CpuStorage(dtype, out);
}

export function binary(op: BinaryOp, a: View, b: View): CpuStorage {
  const spec = binaryOps[op];
  const dtype = resultDType(spec.result, a.dtype);
  const lhs = readContiguous(op, a);
  const rhs = readContiguous(op, b);
  const out = allocHost(dtype, lhs.length);
  const f = ((dtype === 'int32' && 'cpuInt32' in spec ? spec.cpuInt32 : undefined) ?? spec.cpu) as (
    a: number,
    b: number,
  ) => number;
  const store = explicitStoreRule(dtype);
  if (store === undefined) for (let i = 0; i < lhs.length; i++) out[i] = f(lhs[i], rhs[i]);
  else for (let i = 0; i < lhs.length; i++) out[i] = store(f(lhs[i], rhs[i]));
  return new CpuStorage(dtype, out);
}

/** out[i] = cond[i] ? a[i] : b[i]; the output has a's dtype. */
export function where(cond: View, a: View, b: View): CpuStorage {
  const c: AnyTypedArray = readContiguous('where', cond);
  const onTrue = readContiguous('where', a);
  const onFalse = readContiguous('where', b);
  const out = allocHost(a.dtype, c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i] !== 0 ? onTrue[i] : onFalse[i];
  return new CpuStorage(a.dtype, out);
}
