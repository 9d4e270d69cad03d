// AdamW as a pure function over param trees (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization", Algorithm 2): the state is a value, every call returns new tensors.
import { add, div, mul, sqrt, square, sub } from '../tensor/ops/elementwise.js';
import { zerosLike } from '../tensor/ops/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Schedule } from './schedules.js';
import { treeZipMap } from './tree-util.js';

export interface AdamWOptions {
  /** A fixed learning rate, or a schedule of the 0-based update count. */
  readonly lr: number | Schedule;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay, multiplied by the learning rate (as torch.optim.AdamW). */
  readonly weightDecay?: number;
}

/** AdamW state: first and second moments shaped like the params, and the number of updates applied. */
export interface AdamWState<P> {
  readonly step: number;
  readonly m: P;
  readonly v: P;
}

export interface Optimizer {
  /** Fresh state for `params` (zero moments, step 0). */
  init<P>(params: P): AdamWState<P>;
  /**
   * One update. Returns new params and state; the inputs are not touched or freed, so free the
   * old params and state with `disposeTree` (or run the step inside `scope` and `keep` the results).
   */
  update<P>(grads: P, state: AdamWState<P>, params: P): { params: P; state: AdamWState<P> };
}

/**
 * AdamW: p <- p - lr_t * (mhat / (sqrt(vhat) + eps) + weightDecay * p), with bias-corrected moments
 * mhat = m / (1 - beta1^t), vhat = v / (1 - beta2^t). Matches torch.optim.AdamW (amsgrad off).
 */
export function adamw({ lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 }: AdamWOptions): Optimizer {
  const lrAt: Schedule = typeof lr === 'number' ? () => lr : lr;
  return {
    init: <P>(params: P): AdamWState<P> =>
      scope(() => ({ step: 0, m: treeZipMap('adamw.init', params, [], (p) => zerosLike(p)), v: treeZipMap('adamw.init', params, [], (p) => zerosLike(p)) })),
    update<P>(grads: P, state: AdamWState<P>, params: P) {
      const t = state.step + 1;
      const rate = lrAt(state.step);
      const correction1 = 1 - beta1 ** t;
      const correction2 = 1 - beta2 ** t;
      return scope(() => {
        const m = treeZipMap('adamw.update', state.m, [grads], (m: Tensor, g: Tensor) => add(mul(m, beta1), mul(g, 1 - beta1)));
        const v = treeZipMap('adamw.update', state.v, [grads], (v: Tensor, g: Tensor) => add(mul(v, beta2), mul(square(g), 1 - beta2)));
        const next = treeZipMap('adamw.update', params, [m, v], (p: Tensor, mi: Tensor, vi: Tensor) => {
          const direction = div(div(mi, correction1), add(sqrt(div(vi, correction2)), eps));
          return sub(p, mul(add(direction, mul(p, weightDecay)), rate));
        });
        return { params: next, state: { step: t, m, v } };
      });
    },
  };
}
