// The DDIM sampling plan (Song et al. 2021, "Denoising Diffusion Implicit Models", eq. 12 and 16):
// which S of the T timesteps the sampler visits, and each step's alphas and noise scale sigma.
import { ShapeError } from '../../index.js';
import { requireSchedule, type NoiseSchedule } from './schedule.js';
import { requireOptions } from '../../tensor/ops/operand.js';

/**
 * S DDIM steps over a schedule, all host numbers. Step j (0..S-1) goes from timestep
 * `timesteps[j]` to `prevTimesteps[j]` (-1 after the last step), with a_t = `alphas[j]`,
 * a_prev = `alphasPrev[j]` and noise scale `sigmas[j]`.
 */
export interface DdimPlan {
  readonly schedule: NoiseSchedule;
  /** S, the number of sampler steps. */
  readonly steps: number;
  readonly eta: number;
  readonly stepsOffset: number;
  /** T / S, the spacing between visited timesteps. */
  readonly stepRatio: number;
  /** Descending: timesteps[j] = (S-1-j) * T/S + stepsOffset. */
  readonly timesteps: readonly number[];
  /** timesteps[j] - T/S; -1 for the last step (which then uses alphasCumprod[0], see ddimPlan). */
  readonly prevTimesteps: readonly number[];
  /** a_t = abar at timesteps[j]. */
  readonly alphas: readonly number[];
  /** a_prev = abar at prevTimesteps[j], or alphasCumprod[0] after the last step. */
  readonly alphasPrev: readonly number[];
  /**
   * s_j = eta * sqrt((1 - a_prev)/(1 - a_t) * (1 - a_t/a_prev)) (docs/architecture.md, "The LRPO
   * pipeline").
   */
  readonly sigmas: readonly number[];
}

export interface DdimPlanOptions {
  /** S, the number of sampler steps: a divisor of T (the paper uses 50). */
  readonly steps: number;
  /** 0 gives the deterministic DDIM sampler, 1 the DDPM-like one LRPO samples with. */
  readonly eta: number;
  /**
   * Added to every visited timestep, in 0..T/S-1. Default 1, as in Stable Diffusion's scheduler
   * config and the DDPO-style RL code built on it; 0 when S = T, where no offset fits. With 0 the
   * last step runs from t = 0 to a_prev = alphasCumprod[0] = a_t: a step with sigma 0 that
   * returns its input (unless x0Hat is clipped), whose density (and log-prob) does not exist.
   */
  readonly stepsOffset?: number;
}

/**
 * The DDIM plan with diffusers' "leading" spacing: t_j = (S-1-j) * T/S + stepsOffset for
 * j = 0..S-1 (descending). After the last step a_prev is alphasCumprod[0], not 1 (diffusers'
 * `set_alpha_to_one=False`, as in Stable Diffusion): the sampler ends at the noise level of t = 0,
 * which keeps the last step's sigma positive, so every step of an eta > 0 plan has a log-prob.
 */
export function ddimPlan(schedule: NoiseSchedule, options: DdimPlanOptions): DdimPlan {
  const op = 'ddimPlan';
  requireSchedule(op, schedule);
  requireOptions(op, options, '{ steps: 10, eta: 1 }', true);
  const { T } = schedule;
  const S = options?.steps;
  const eta = options?.eta;
  if (!Number.isInteger(S) || S < 1 || S > T || T % S !== 0) {
    const divisors = [10, 20, 25, 50, 100].filter((d) => d <= T && T % d === 0);
    throw new ShapeError(
      `${op}: steps must be a positive integer that divides T = ${T} (uniform spacing), got ${S}. ` +
        `Pick a divisor of ${T}${divisors.length ? `, e.g. ${divisors.join(', ')}` : ''}.`,
    );
  }
  if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
    throw new ShapeError(
      `${op}: eta must be a finite number >= 0, got ${String(eta)}. Use 0 for deterministic DDIM, 1 for LRPO's stochastic sampler.`,
    );
  }
  const stepRatio = T / S;
  const stepsOffset = options.stepsOffset ?? (stepRatio > 1 ? 1 : 0);
  if (!Number.isInteger(stepsOffset) || stepsOffset < 0 || stepsOffset > stepRatio - 1) {
    throw new ShapeError(
      `${op}: stepsOffset must be an integer in 0..${stepRatio - 1} (T/S - 1, so the first timestep stays below T = ${T}), got ${stepsOffset}.` +
        (stepRatio === 1 ? ' With steps = T pass stepsOffset: 0.' : ''),
    );
  }
  const abar = schedule.alphasCumprod;
  const timesteps = Array.from({ length: S }, (_, j) => (S - 1 - j) * stepRatio + stepsOffset);
  const prevTimesteps = timesteps.map((t) => (t - stepRatio >= 0 ? t - stepRatio : -1));
  const alphas = timesteps.map((t) => abar[t]);
  const alphasPrev = prevTimesteps.map((t) => (t >= 0 ? abar[t] : abar[0]));
  const sigmas = alphas.map((a, j) => {
    const ap = alphasPrev[j];
    return eta * Math.sqrt(Math.max(0, ((1 - ap) / (1 - a)) * (1 - a / ap)));
  });
  // The direction term needs 1 - a_prev - s^2 >= 0; it holds for eta <= 1 (it equals
  // (1 - a_prev)^2 a_t / (a_prev (1 - a_t)) at eta = 1) and fails for large eta.
  const bad = sigmas.findIndex((s, j) => 1 - alphasPrev[j] - s * s < -1e-12);
  if (bad >= 0) {
    throw new ShapeError(
      `${op}: eta ${eta} is too large: at step ${bad} (t = ${timesteps[bad]}) sigma^2 = ${sigmas[bad] ** 2} exceeds 1 - a_prev = ${1 - alphasPrev[bad]}, ` +
        `so the DDIM direction term sqrt(1 - a_prev - sigma^2) is undefined. Use eta <= 1.`,
    );
  }
  const frozen = <T>(xs: T[]): readonly T[] => Object.freeze(xs);
  return Object.freeze({
    schedule,
    steps: S,
    eta,
    stepsOffset,
    stepRatio,
    timesteps: frozen(timesteps),
    prevTimesteps: frozen(prevTimesteps),
    alphas: frozen(alphas),
    alphasPrev: frozen(alphasPrev),
    sigmas: frozen(sigmas),
  });
}

/** Throws unless `plan` is a DdimPlan and `j` a step index in 0..S-1. @internal */
export function checkStep(op: string, plan: DdimPlan, j: number): void {
  if (plan === null || typeof plan !== 'object' || !Array.isArray(plan.timesteps) || !Array.isArray(plan.sigmas)) {
    throw new ShapeError(`${op}: expected a DdimPlan from ddimPlan(schedule, { steps, eta }), got ${String(plan)}.`);
  }
  if (!Number.isInteger(j) || j < 0 || j >= plan.steps) {
    throw new ShapeError(
      `${op}: step index j = ${j} is out of range for a plan of ${plan.steps} steps; ` +
        `use 0..${plan.steps - 1} (0 is the noisiest step, t = ${plan.timesteps[0]}).`,
    );
  }
}
