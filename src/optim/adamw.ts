// AdamW as a pure function over param trees (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization", Algorithm 2): the state is a value, every call returns new tensors.
import { add, div, mul, sqrt, square, sub } from '../tensor/ops/elementwise.js';
import { zerosLike } from '../tensor/ops/creation.js';
import { scope } from '../tensor/memory.js';
import type { Schedule } from './schedules.js';
import { packedZipMap } from './tree-util.js';

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
      scope(() => {
        const [m, v] = packedZipMap('adamw.init', [params], 2, ([p]) => [zerosLike(p), zerosLike(p)]);
        return { step: 0, m, v };
      }),
    update<P>(grads: P, state: AdamWState<P>, params: P) {
      const t = state.step + 1;
      const rate = lrAt(state.step);
      const correction1 = 1 - beta1 ** t;
      const correction2 = 1 - beta2 ** t;
      // All leaves at once (multi-tensor AdamW, as torch's foreach implementation): the params,
      // grads and moments are each packed into one flat tensor, so a step costs a few kernels
      // whatever the leaf count; the results come back as views of flat tensors, which the next
      // step packs again without a copy.
      return scope(() => {
        const [next, m, v] = packedZipMap('adamw.update', [params, grads, state.m, state.v], 3, ([p, g, m0, v0]) => {
          const m1 = add(mul(m0, beta1), mul(g, 1 - beta1));
          const v1 = add(mul(v0, beta2), mul(square(g), 1 - beta2));
          const direction = div(div(m1, correction1), add(sqrt(div(v1, correction2)), eps));
          return [sub(p, mul(add(direction, mul(p, weightDecay)), rate)), m1, v1];
        });
        return { params: next, state: { step: t, m, v } };
      });
    },
  };
}
