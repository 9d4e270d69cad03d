// One DDIM step of the policy (Song et al. 2021, eq. 12; docs/architecture.md, "The LRPO
// pipeline"): its mean mu_theta(x_t, t), a sampled transition x_t -> x_{t-1}, and that transition's
// log-probability.
import {
  DTypeError,
  ShapeError,
  scope,
  full,
  add,
  clamp,
  div,
  mul,
  sub,
  Tensor,
  PRNGKey,
  normal,
} from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import type { EpsModel } from '../types.js';
import { checkStep, type DdimPlan } from './ddim-plan.js';
import { gaussianLogProb } from './log-prob.js';
import { requireFloatBatch } from './q-sample.js';

/** Throws unless the model returned a tensor shaped like x_t. @internal */
export function checkEps(op: string, eps: unknown, xt: Tensor): Tensor {
  if (!(eps instanceof Tensor)) {
    throw new DTypeError(
      `${op}: the eps model must return a Tensor shaped like x_t ${fmtShape(xt.shape)}, got ${eps === null ? 'null' : typeof eps}.`,
    );
  }
  if (eps.shape.length !== xt.shape.length || eps.shape.some((d, i) => d !== xt.shape[i])) {
    throw new ShapeError(
      `${op}: the eps model returned ${fmtShape(eps.shape)} for x_t ${fmtShape(xt.shape)}; an epsilon-predictor must return x_t's shape.`,
    );
  }
  return eps;
}

/** Checks x_t and the conditioning agree in batch size and backend. @internal */
export function checkStateAndCond(op: string, xt: Tensor, cond: Tensor, xtName = 'xt'): void {
  requireFloatBatch(op, xt, xtName);
  requireFloatBatch(op, cond, 'cond');
  if (cond.shape[0] !== xt.shape[0]) {
    throw new ShapeError(
      `${op}: cond ${fmtShape(cond.shape)} and ${xtName} ${fmtShape(xt.shape)} must have the same batch size (one condition per sample).`,
    );
  }
  if (cond.backend !== xt.backend) {
    throw new ShapeError(
      `${op}: cond is on ${cond.backend} but ${xtName} is on ${xt.backend}; move one with toBackend.`,
    );
  }
}

export interface DdimMeanOptions {
  /**
   * Clamp x0Hat to [-1, 1] (default true: images live in [-1, 1]); the eps of the direction term
   * is then recomputed from the clipped x0Hat, as diffusers' DDIMScheduler does.
   */
  readonly clipX0?: boolean;
}

/** The pieces of one DDIM step's mean. */
export interface DdimMean {
  /** mu_theta = sqrt(a_prev) x0Hat + sqrt(1 - a_prev - s^2) eps, shaped like x_t. */
  readonly mean: Tensor;
  /** (x_t - sqrt(1 - a_t) eps_theta) / sqrt(a_t), clipped to [-1, 1] when clipX0. */
  readonly x0Hat: Tensor;
  /** The eps of the direction term: the model's eps_theta, or its recomputation from the clipped x0Hat. */
  readonly eps: Tensor;
}

/**
 * The mean of DDIM step j from x_t (t = plan.timesteps[j]) under `params`:
 * { mean, x0Hat, eps } (see DdimMean). Differentiable w.r.t. params (and x_t, cond).
 */
export function ddimMean<P>(
  ...[model, params, plan, j, xt, cond, options]: [...StepArgs<P>, options?: DdimMeanOptions]
): DdimMean {
  return meanUnchecked(checkedStep({ op: 'ddimMean', model, params, plan, j, xt, cond }, options));
}

/** The arguments every step function starts with: the eps model and its params, the plan, step j, x_t and the condition. */
export type StepArgs<P> = [model: EpsModel<P>, params: P, plan: DdimPlan, j: number, xt: Tensor, cond: Tensor];

/** One step's inputs, as the public functions take them (op names the caller in errors). @internal */
export interface StepInputs<P> {
  readonly op: string;
  readonly model: EpsModel<P>;
  readonly params: P;
  readonly plan: DdimPlan;
  readonly j: number;
  readonly xt: Tensor;
  readonly cond: Tensor;
  /** See DdimMeanOptions.clipX0. */
  readonly clipX0: boolean;
}

/** Checks the step index, x_t and cond, and settles the options. */
function checkedStep<P>(inputs: Omit<StepInputs<P>, 'clipX0'>, options: DdimMeanOptions = {}): StepInputs<P> {
  checkStep(inputs.op, inputs.plan, inputs.j);
  checkStateAndCond(inputs.op, inputs.xt, inputs.cond);
  return { ...inputs, clipX0: options.clipX0 ?? true };
}

function meanUnchecked<P>({ op, model, params, plan, j, xt, cond, clipX0 }: StepInputs<P>): DdimMean {
  const a = plan.alphas[j];
  const aPrev = plan.alphasPrev[j];
  const s = plan.sigmas[j];
  const sqrtA = Math.sqrt(a);
  const sqrtOneMinusA = Math.sqrt(1 - a);
  // >= 0 for eta <= 1 (checked by ddimPlan); max() absorbs rounding at eta = 1.
  const direction = Math.sqrt(Math.max(0, 1 - aPrev - s * s));
  return scope(() => {
    const t = full([xt.shape[0]], plan.timesteps[j], { dtype: 'float32', backend: xt.backend });
    const epsModel = checkEps(op, model(params, xt, t, cond), xt);
    const x0Raw = div(sub(xt, mul(epsModel, sqrtOneMinusA)), sqrtA);
    const x0Hat = clipX0 ? clamp(x0Raw, { min: -1, max: 1 }) : x0Raw;
    const eps = clipX0 ? div(sub(xt, mul(x0Hat, sqrtA)), sqrtOneMinusA) : epsModel;
    const mean = add(mul(x0Hat, Math.sqrt(aPrev)), mul(eps, direction));
    return { mean, x0Hat, eps };
  });
}

export interface DdimStepResult {
  /** The sampled x_{t-1} = mean + s_j z (the mean itself when s_j = 0). */
  readonly xPrev: Tensor;
  readonly mean: Tensor;
  /** log N(xPrev; mean, s_j^2) averaged over dims, [B]; undefined when s_j = 0 (no density). */
  readonly logProb?: Tensor;
}

/**
 * One stochastic DDIM step j from x_t: x_{t-1} = mu_theta + s_j z with z ~ N(0, I) drawn from
 * `key`, and its log-prob under the same params. Differentiable like ddimMean (the noise is a
 * constant); ddimSample wraps it without gradients.
 */
export function ddimStep<P>(
  ...[model, params, plan, j, xt, cond, key, options]: [...StepArgs<P>, key: PRNGKey, options?: DdimMeanOptions]
): DdimStepResult {
  const inputs = checkedStep({ op: 'ddimStep', model, params, plan, j, xt, cond }, options);
  if (!(key instanceof PRNGKey))
    throw new ShapeError(`${inputs.op}: expected a PRNGKey from key(seed) or split(k), got ${String(key)}.`);
  return stepUnchecked(inputs, key);
}

/** ddimStep without argument checks, for the sampler's inner loop. @internal */
export function stepUnchecked<P>(inputs: StepInputs<P>, key: PRNGKey): DdimStepResult {
  const s = inputs.plan.sigmas[inputs.j];
  return scope(() => {
    const { mean } = meanUnchecked(inputs);
    if (s === 0) return { xPrev: mean, mean };
    const z = normal(key, inputs.xt.shape, { dtype: inputs.xt.dtype, backend: inputs.xt.backend });
    const xPrev = add(mean, mul(z, s));
    return { xPrev, mean, logProb: gaussianLogProb(xPrev, mean, s) };
  });
}

/**
 * log N(xPrev; mu_theta(xt, t_j, cond), s_j^2 I) averaged over dims, [B], recomputed under
 * `params` (which may differ from the sampling params): the PPO ratio's numerator, and with a
 * noised ground truth as xPrev, LRPO's likelihood regularizer. Differentiable w.r.t. params.
 * Pass the same clipX0 the trajectory was sampled with.
 */
export function ddimLogProb<P>(
  model: EpsModel<P>,
  params: P,
  plan: DdimPlan,
  j: number,
  xt: Tensor,
  xPrev: Tensor,
  cond: Tensor,
  options: DdimMeanOptions = {},
): Tensor {
  const inputs = checkedStep({ op: 'ddimLogProb', model, params, plan, j, xt, cond }, options);
  const { op } = inputs;
  requireFloatBatch(op, xPrev, 'xPrev');
  if (xPrev.shape.length !== xt.shape.length || xPrev.shape.some((d, i) => d !== xt.shape[i])) {
    throw new ShapeError(
      `${op}: xPrev ${fmtShape(xPrev.shape)} must have the shape of xt ${fmtShape(xt.shape)} (one transition per sample).`,
    );
  }
  const s = plan.sigmas[j];
  if (!(s > 0)) {
    throw new ShapeError(
      `${op}: step ${j} (t = ${plan.timesteps[j]}) has sigma ${s} (plan eta ${plan.eta}, stepsOffset ${plan.stepsOffset}): ` +
        `a deterministic step has no log-prob. Sample with eta > 0 (LRPO uses 1)${plan.eta > 0 ? ' and stepsOffset >= 1' : ''}.`,
    );
  }
  return scope(() => gaussianLogProb(xPrev, meanUnchecked(inputs).mean, s));
}
