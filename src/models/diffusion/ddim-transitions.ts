// Many DDIM transitions at once: the means and log-probs of several steps of a trajectory in ONE
// model call, each row with its own timestep and coefficients. A policy update over the S - 1
// trained steps of a rollout then costs one forward and one backward instead of S - 1 of each
// (dispatch-bound devices such as lavapipe run it several times faster). Row for row it computes
// what ddimMean / ddimLogProb compute for one step.
import { ShapeError, scope, tensor, add, clamp, div, mul, square, sub, reshape, mean } from '../../index.js';
import type { Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import type { EpsModel } from '../types.js';
import { checkStep, type DdimPlan } from './ddim-plan.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface DdimTransitions {
  /** mu_theta of every row, shaped like xt. */
  readonly mean: Tensor;
  /** log N(xPrev_r; mu_theta_r, s_r^2) averaged over dims, [M] (absent when no xPrev was given). */
  readonly logProb?: Tensor;
}

/**
 * Rows r = g * n + i (n = rows / steps.length) take DDIM step `steps[g]` of the plan from xt[r]
 * with conditioning cond[r]. Returns the per-row means and, with `xPrev`, the per-row log-probs.
 * Differentiable w.r.t. params. clipX0 must match how the trajectory was sampled (default true).
 */
export function ddimTransitions<P>(
  model: EpsModel<P>,
  params: P,
  plan: DdimPlan,
  steps: readonly number[],
  xt: Tensor,
  cond: Tensor,
  { xPrev, clipX0 = true }: { readonly xPrev?: Tensor; readonly clipX0?: boolean } = {},
): DdimTransitions {
  const op = 'ddimTransitions';
  steps.forEach((j) => checkStep(op, plan, j));
  const rows = xt.shape[0];
  if (steps.length === 0 || rows % steps.length !== 0) {
    throw new ShapeError(
      `${op}: xt ${fmtShape(xt.shape)} has ${rows} rows, which is not ${steps.length} steps times a batch; stack one batch per step.`,
    );
  }
  for (const [name, other] of [
    ['cond', cond],
    ['xPrev', xPrev],
  ] as const) {
    if (other && (other.shape.length !== xt.shape.length || other.shape.some((d, i) => d !== xt.shape[i]))) {
      throw new ShapeError(
        `${op}: ${name} ${fmtShape(other.shape)} must have the shape of xt ${fmtShape(xt.shape)} (one row per transition).`,
      );
    }
  }
  const n = rows / steps.length;
  const perRow = (f: (j: number) => number): Float32Array =>
    Float32Array.from({ length: rows }, (_, r) => f(steps[Math.floor(r / n)]));
  if (xPrev) {
    const bad = steps.find((j) => !(plan.sigmas[j] > 0));
    if (bad !== undefined)
      throw new ShapeError(
        `${op}: step ${bad} has sigma ${plan.sigmas[bad]}: a deterministic step has no log-prob; sample with eta > 0 and stepsOffset >= 1.`,
      );
  }
  const column = (values: Float32Array): Tensor =>
    tensor(values, { shape: [rows, 1, 1, 1], dtype: 'float32', backend: xt.backend });
  return scope(() => {
    const t = tensor(
      perRow((j) => plan.timesteps[j]),
      { shape: [rows], dtype: 'float32', backend: xt.backend },
    );
    const sqrtA = column(perRow((j) => Math.sqrt(plan.alphas[j])));
    const sqrtOneMinusA = column(perRow((j) => Math.sqrt(1 - plan.alphas[j])));
    const sqrtAPrev = column(perRow((j) => Math.sqrt(plan.alphasPrev[j])));
    const direction = column(perRow((j) => Math.sqrt(Math.max(0, 1 - plan.alphasPrev[j] - plan.sigmas[j] ** 2))));
    const epsModel = model(params, xt, t, cond);
    const x0Raw = div(sub(xt, mul(epsModel, sqrtOneMinusA)), sqrtA);
    const x0Hat = clipX0 ? clamp(x0Raw, { min: -1, max: 1 }) : x0Raw;
    const eps = clipX0 ? div(sub(xt, mul(x0Hat, sqrtA)), sqrtOneMinusA) : epsModel;
    const mu = add(mul(x0Hat, sqrtAPrev), mul(eps, direction));
    if (!xPrev) return { mean: mu };
    return {
      mean: mu,
      logProb: rowLogProb(
        xPrev,
        mu,
        perRow((j) => plan.sigmas[j]),
      ),
    };
  });
}

/**
 * log N(x_r; mean_r, s_r^2 I) averaged over the non-batch dims, [M], with one sigma per row:
 * gaussianLogProb with a per-row sigma (the caller checks sigma > 0).
 */
export function rowLogProb(x: Tensor, mu: Tensor, sigmas: Float32Array | Float64Array): Tensor {
  const rows = x.shape[0];
  return scope(() => {
    const meanSq = mean(reshape(square(sub(x, mu)), [rows, -1]), { axis: 1 });
    const scale = tensor(
      Float32Array.from(sigmas, (s) => -0.5 / (s * s)),
      { shape: [rows], dtype: 'float32', backend: x.backend },
    );
    const offset = tensor(
      Float32Array.from(sigmas, (s) => -Math.log(s) - HALF_LOG_2PI),
      { shape: [rows], dtype: 'float32', backend: x.backend },
    );
    return add(mul(meanSq, scale), offset);
  });
}
