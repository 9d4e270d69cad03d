// The primitive set and `bind`, the one door every differentiable op goes through. Public ops
// (src/tensor/ops) validate and broadcast, then bind primitives; the autodiff transforms observe
// `bind` to record what ran. bind runs each primitive's eager implementation (eager.ts eagerImpls).
import type { BinaryOp, UnaryOp } from '../kernels/elementwise-ops.js';
import type { Conv2dParams, ConvTranspose2dParams, GroupNormActParams } from '../kernels/params.js';
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
  /**
   * Nearest-neighbour upsampling of NCHW by integer factors [sh, sw] (a primitive so it runs as one
   * kernel: as a broadcast view copied through a reshape it was a six-dimensional gather).
   */
  upsampleNearest2d: { readonly scale: readonly [number, number] };
  /** softmax along the last axis (a primitive so it runs as one kernel). */
  softmax: NoParams;
  /**
   * (x - mean) / sqrt(var + eps) along the last axis, the population variance (a primitive so
   * group and layer normalisation run as one kernel, not two reductions and two elementwise passes).
   */
  standardize: { readonly eps: number };
  /**
   * standardize's derivative applied to a vector: inputs x, y = standardize(x) and v, output
   * r (v - mean(v) - y mean(v y)) along the last axis, r = 1 / sqrt(var(x) + eps). It is
   * standardize's VJP and JVP (the map is symmetric), one kernel where the composition ran nine.
   */
  standardizeBackward: { readonly eps: number };
  /**
   * Group normalisation, its per-channel affine and an activation, x [R, C, S], w and b [C]
   * (GroupNormActParams): a primitive so a training step runs it as one kernel and its gradients as
   * two, where the composed form kept the standardized values and ran about ten passes.
   */
  groupNormAct: GroupNormActParams;
  /** groupNormAct's input gradient: inputs x, w, b and the output cotangent g; output x's shape. */
  groupNormActBackward: GroupNormActParams;
  /** groupNormAct's weight and bias gradients: inputs x, w, b, g; output [2, C] (weight, bias). */
  groupNormActParamGrads: GroupNormActParams;
  /**
   * Scaled dot-product attention over the last two axes: q [..., N, d], k [..., M, d], v [..., M, e]
   * -> softmax(q k^T * scale) v [..., N, e], leading dims equal (a primitive so the GPU runs it as one
   * kernel, the [N, M] scores never in memory; its derivatives are the composition's).
   */
  attention: { readonly scale: number };
  pad: { readonly widths: readonly (readonly [number, number])[]; readonly value: number };
  concat: { readonly axis: number };
  take: { readonly axis: number };
  matmul: NoParams;
  conv2d: Conv2dParams;
  convTranspose2d: ConvTranspose2dParams;
};

export type Primitive = keyof PrimitiveParams;

/**
 * Sees every primitive after it ran (autodiff tapes, op counters, profilers). Returning `true`
 * hides the op from the observers outside this one (vmap's trace does so for per-example ops).
 */
export type PrimitiveObserver = <P extends Primitive>(
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  output: Tensor,
) => boolean | void;

export type PrimitiveImpl<P extends Primitive> = (inputs: readonly Tensor[], params: PrimitiveParams[P]) => Tensor;

const observers: PrimitiveObserver[] = [];

/** Whether any transform (a tape, vmap's trace, jvp) is watching the ops now. @internal */
export const hasObservers = (): boolean => observers.length > 0;

/** Runs primitive `prim` on `inputs` and tells the observers. @internal for op authors. */
export function bind<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: PrimitiveParams[P]): Tensor {
  const output = (eagerImpls[prim] as PrimitiveImpl<P>)(inputs, params);
  for (let i = observers.length - 1; i >= 0; i--) if (observers[i](prim, inputs, params, output) === true) break;
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

/**
 * Runs `fn` with only the observers outside `observer` active: a transform computing its rule for
 * an op is seen by the transforms around it, never by itself or those nested inside it (JAX's
 * levels). Costs nothing unless a transform calls it.
 */
export function observeOutside<T>(observer: PrimitiveObserver, fn: () => T): T {
  const at = observers.lastIndexOf(observer);
  return withObservers(at < 0 ? observers.slice() : observers.slice(0, at), fn);
}

/**
 * Shows a primitive that ran to the observers outside `observer` now, as bind would after it
 * returns: a transform that then runs rules on the op's output calls this first, so the
 * transforms around it record the op before the rule ops that read its output (their tapes stay
 * in dependency order), and returns true so bind does not show it to them twice.
 */
export function notifyOutside<P extends Primitive>(
  observer: PrimitiveObserver,
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  output: Tensor,
): void {
  for (let i = observers.lastIndexOf(observer) - 1; i >= 0; i--)
    if (observers[i](prim, inputs, params, output) === true) break;
}

/** Runs `fn` with exactly `stack` as the observers (outermost first), then restores them. */
export function withObservers<T>(stack: readonly PrimitiveObserver[], fn: () => T): T {
  const saved = observers.splice(0, observers.length, ...stack);
  try {
    return fn();
  } finally {
    observers.splice(0, observers.length, ...saved);
  }
}
