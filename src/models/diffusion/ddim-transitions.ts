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
 * Each row's timestep and DDIM coefficients as tensors (the host numbers of the plan at the row's
 * step), so the transition itself reads only tensors: a recorded (jit) call over them replays for
 * any choice of steps with the same row count.
 */
export interface TransitionRows {
  /** [M] the timestep t of each row. */
  readonly t: Tensor;
  /** [M, 1, 1, 1] sqrt(a_t), sqrt(1 - a_t), sqrt(a_prev) and the direction's sqrt(1 - a_prev - s^2). */
  readonly sqrtA: Tensor;
  readonly sqrtOneMinusA: Tensor;
  readonly sqrtAPrev: Tensor;
  readonly direction: Tensor;
  /** [M] -1 / (2 s^2) and -log s - log(2 pi) / 2 of each row's sigma (rowLogProbOf's), when made withLogProb. */
  readonly logProb?: LogProbRows;
}

/** Per-row terms of log N(x; mu, s^2 I) averaged over the dims: scale * mean((x - mu)^2) + offset. */
export interface LogProbRows {
  readonly scale: Tensor;
  readonly offset: Tensor;
}

/** logProbRows of one sigma per row (each > 0: the caller checks). */
export function logProbRows(sigmas: Float32Array | Float64Array, backend: Tensor['backend']): LogProbRows {
  const rows = sigmas.length;
  return {
    scale: tensor(
      Float32Array.from(sigmas, (s) => -0.5 / (s * s)),
      { shape: [rows], dtype: 'float32', backend },
    ),
    offset: tensor(
      Float32Array.from(sigmas, (s) => -Math.log(s) - HALF_LOG_2PI),
      { shape: [rows], dtype: 'float32', backend },
    ),
  };
}

/** One value per row for rows stacked a batch of `n` per step: rows g * n .. (g + 1) n - 1 get f(steps[g]). */
export const stepRows = (steps: readonly number[], n: number, f: (j: number) => number): Float64Array =>
  Float64Array.from({ length: steps.length * n }, (_, r) => f(steps[Math.floor(r / n)]));

/**
 * The TransitionRows of `rows` rows where rows g * n .. (g + 1) n - 1 take DDIM step `steps[g]`
 * of the plan (n = rows / steps.length). `withLogProb` checks every step has sigma > 0.
 */
export function transitionRows(
  plan: DdimPlan,
  steps: readonly number[],
  rows: number,
  backend: Tensor['backend'],
  { withLogProb = false }: { readonly withLogProb?: boolean } = {},
): TransitionRows {
  const op = 'ddimTransitions';
  steps.forEach((j) => checkStep(op, plan, j));
  if (steps.length === 0 || rows % steps.length !== 0) {
    throw new ShapeError(`${op}: ${rows} rows are not ${steps.length} steps times a batch; stack one batch per step.`);
  }
  if (withLogProb) {
    const bad = steps.find((j) => !(plan.sigmas[j] > 0));
    if (bad !== undefined)
      throw new ShapeError(
        `${op}: step ${bad} has sigma ${plan.sigmas[bad]}: a deterministic step has no log-prob; sample with eta > 0 and stepsOffset >= 1.`,
      );
  }
  const n = rows / steps.length;
  const perRow = (f: (j: number) => number): Float32Array => Float32Array.from(stepRows(steps, n, f));
  const column = (values: Float32Array): Tensor =>
    tensor(values, { shape: [rows, 1, 1, 1], dtype: 'float32', backend });
  return {
    t: tensor(
      perRow((j) => plan.timesteps[j]),
      { shape: [rows], dtype: 'float32', backend },
    ),
    sqrtA: column(perRow((j) => Math.sqrt(plan.alphas[j]))),
    sqrtOneMinusA: column(perRow((j) => Math.sqrt(1 - plan.alphas[j]))),
    sqrtAPrev: column(perRow((j) => Math.sqrt(plan.alphasPrev[j]))),
    direction: column(perRow((j) => Math.sqrt(Math.max(0, 1 - plan.alphasPrev[j] - plan.sigmas[j] ** 2)))),
    ...(withLogProb
      ? {
          logProb: logProbRows(
            perRow((j) => plan.sigmas[j]),
            backend,
          ),
        }
      : {}),
  };
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
  options: { readonly xPrev?: Tensor; readonly clipX0?: boolean } = {},
): DdimTransitions {
  return scope(() =>
    ddimTransitionsOf(
      model,
      params,
      transitionRows(plan, steps, xt.shape[0], xt.backend, { withLogProb: options.xPrev !== undefined }),
      xt,
      cond,
      options,
    ),
  );
}

/** ddimTransitions with its rows' timesteps and coefficients given as tensors (transitionRows). */
export function ddimTransitionsOf<P>(
  model: EpsModel<P>,
  params: P,
  rows: TransitionRows,
  xt: Tensor,
  cond: Tensor,
  { xPrev, clipX0 = true }: { readonly xPrev?: Tensor; readonly clipX0?: boolean } = {},
): DdimTransitions {
  const op = 'ddimTransitions';
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
  if (rows.t.shape.length !== 1 || rows.t.shape[0] !== xt.shape[0])
    throw new ShapeError(
      `${op}: ${rows.t.shape[0]} row timesteps for xt ${fmtShape(xt.shape)}; make them with transitionRows.`,
    );
  if (xPrev && !rows.logProb)
    throw new ShapeError(`${op}: xPrev was given but the rows have no log-prob terms; make them withLogProb.`);
  return scope(() => {
    const { sqrtA, sqrtOneMinusA, sqrtAPrev, direction } = rows;
    const epsModel = model(params, xt, rows.t, cond);
    const x0Raw = div(sub(xt, mul(epsModel, sqrtOneMinusA)), sqrtA);
    const x0Hat = clipX0 ? clamp(x0Raw, { min: -1, max: 1 }) : x0Raw;
    const eps = clipX0 ? div(sub(xt, mul(x0Hat, sqrtA)), sqrtOneMinusA) : epsModel;
    const mu = add(mul(x0Hat, sqrtAPrev), mul(eps, direction));
    if (!xPrev) return { mean: mu };
    return { mean: mu, logProb: rowLogProbOf(xPrev, mu, rows.logProb!) };
  });
}

/**
 * log N(x_r; mean_r, s_r^2 I) averaged over the non-batch dims, [M], with one sigma per row given
 * as its terms (logProbRows): gaussianLogProb with a per-row sigma.
 */
export function rowLogProbOf(x: Tensor, mu: Tensor, { scale, offset }: LogProbRows): Tensor {
  const rows = x.shape[0];
  return scope(() => add(mul(mean(reshape(square(sub(x, mu)), [rows, -1]), { axis: 1 }), scale), offset));
}
