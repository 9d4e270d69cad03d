// Toy epsilon-predictors for the diffusion tests: a small per-channel model with a nonlinearity
// (for gradients and backend comparisons) and an oracle that knows x0 (for closed-form paths).
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { NoiseSchedule } from '../../src/nn.js';

/** The T of the schedules the toy model is used with (it scales t by 1/T). */
export const TOY_T = 1000;

/** Per-channel params [1, C, 1, 1] of the toy model. */
export interface ToyParams {
  readonly wx: Tensor;
  readonly wc: Tensor;
  readonly wt: Tensor;
  readonly b: Tensor;
}

/** Fixed toy params for 2 channels, optionally scaled (to perturb them). */
export function toyParams(backend: T.BackendName, dtype: T.DType = 'float32', scale = 1): ToyParams {
  const make = (v: number[]) =>
    T.tensor(
      v.map((x) => x * scale),
      { shape: [1, 2, 1, 1], dtype, backend },
    );
  return { wx: make([0.8, -0.6]), wc: make([0.3, 0.5]), wt: make([0.7, -0.4]), b: make([0.05, -0.1]) };
}

/** eps = tanh(wx * x_t + wc * cond + wt * t / T) + b, per channel. */
export function toyModel(p: ToyParams, xt: Tensor, t: Tensor, cond: Tensor): Tensor {
  return T.scope(() => {
    const tau = T.reshape(T.div(T.cast(t, xt.dtype), TOY_T), [xt.shape[0], 1, 1, 1]);
    return T.add(T.tanh(T.add(T.add(T.mul(p.wx, xt), T.mul(p.wc, cond)), T.mul(p.wt, tau))), p.b);
  });
}

/** The exact noise of a known x0: eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t). */
export function oracleModel(schedule: NoiseSchedule, x0: Tensor) {
  return (_params: object, xt: Tensor, t: Tensor): Tensor =>
    T.scope(() => {
      const table = T.tensor(schedule.alphasCumprod, { dtype: xt.dtype, backend: xt.backend });
      const a = T.reshape(T.take(table, T.cast(t, 'int32')), [xt.shape[0], 1, 1, 1]);
      return T.div(T.sub(xt, T.mul(T.sqrt(a), x0)), T.sqrt(T.sub(1, a)));
    });
}
