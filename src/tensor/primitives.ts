// The primitive set and `bind`, the one door every differentiable op goes through. Public ops
// (src/tensor/ops) validate and broadcast, then bind primitives; the autodiff transforms observe
// `bind` to record what ran. bind runs each primitive's eager implementation (eager.ts eagerImpls).
import type { BinaryOp, UnaryOp } from '../kernels/elementwise-ops.js';
import type { Conv2dParams, ConvTranspose2dParams } from '../kernels/params.js';
import type { DType } from './dtype.js';
import type { Shape } from './shape.js';
import { eagerImpls } from './eager.js';
import type { Tensor } from './tensor.js';

type NoParams = Record<string, never>;

/** Parameters of each primitive, by name. The autodiff rule table is typed over these keys. */
export type PrimitiveParams = { [K in UnaryOp | BinaryOp]: NoParams } & {
  where: NoParams;
  /** Identity on values; blocks gradients (a new handle on the same storage). */
  stopGradient: NoParams;
  cast: { readonly dtype: DType };
  reduceSum: { readonly axes: readonly number[] };
  reduceProd: { readonly axes: readonly number[] };
  reduceMax: { readonly axes: readonly number[] };
  reduceMin: { readonly axes: readonly number[] };
  argmax: { readonly axis: number };
  argmin: { readonly axis: number };
  /** View when the input is contiguous, else a copy. */
  reshape: { readonly shape: Shape };
  /** View with permuted axes. */
  permute: { readonly perm: readonly number[] };
  /** View with stride 0 along new or size-1 dims; `shape` has the input's rank or more. */
  broadcastTo: { readonly shape: Shape };
  /** View of [starts, ends) with positive steps, one entry per axis. */
  slice: { readonly starts: readonly number[]; readonly ends: readonly number[]; readonly steps: readonly number[] };
  /** softmax along the last axis (a primitive so it runs as one kernel). */
  softmax: NoParams;
  pad: { readonly widths: readonly (readonly [number, number])[]; readonly value: number };
  concat: { readonly axis: number };
  take: { readonly axis: number };
  matmul: NoParams;
  conv2d: Conv2dParams;
  convTranspose2d: ConvTranspose2dParams;
};

export type Primitive = keyof PrimitiveParams;

/** Sees every primitive after it ran (autodiff tapes, op counters, profilers). */
export type PrimitiveObserver = <P extends Primitive>(
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  output: Tensor,
) => void;

export type PrimitiveImpl<P extends Primitive> = (inputs: readonly Tensor[], params: PrimitiveParams[P]) => Tensor;

const observers: PrimitiveObserver[] = [];

/** Runs primitive `prim` on `inputs` and tells the observers. @internal for op authors. */
export function bind<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: PrimitiveParams[P]): Tensor {
  const output = (eagerImpls[prim] as PrimitiveImpl<P>)(inputs, params);
  for (let i = observers.length - 1; i >= 0; i--) observers[i](prim, inputs, params, output);
  return output;
}

/** Runs `fn` with `observer` seeing every primitive bound inside it (innermost observer first). */
export function observePrimitives<T>(observer: PrimitiveObserver, fn: () => T): T {
  observers.push(observer);
  try {
    return fn();
  } finally {
    observers.splice(observers.lastIndexOf(observer), 1);
  }
}
