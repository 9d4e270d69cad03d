// The DDIM sampler for policy rollouts: x_T ~ N(0, I) down to a restored image, recording the
// trajectory and each transition's log-probability (what the PPO ratios of LRPO start from).
// The plan and the single-step functions live beside it and are re-exported here, so one import
// gives the whole sampler.
import { ShapeError, scope, treeMap, stopGradient, PRNGKey, normal, split } from '../../index.js';
import type { Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import type { EpsModel } from '../types.js';
import { checkStep, type DdimPlan } from './ddim-plan.js';
import { checkStateAndCond, stepUnchecked } from './ddim-step.js';
import { requireFloatBatch } from './q-sample.js';
import { requireOptions } from '../../tensor/ops/operand.js';

export { ddimPlan, type DdimPlan, type DdimPlanOptions } from './ddim-plan.js';
export {
  ddimMean,
  ddimStep,
  ddimLogProb,
  type DdimMean,
  type DdimMeanOptions,
  type DdimStepResult,
} from './ddim-step.js';

export interface DdimSampleOptions {
  readonly plan: DdimPlan;
  /** The starting noise x_T; default N(0, I) of `shape` from the key. */
  readonly xT?: Tensor;
  /** The shape of x_T when xT is not given (default cond's shape). */
  readonly shape?: readonly number[];
  /** Return every state in `xs` (default true); false returns only x0 and frees states as it goes. */
  readonly keepTrajectory?: boolean;
  /** Clamp x0Hat to [-1, 1] at every step (default true), see ddimMean. */
  readonly clipX0?: boolean;
  /**
   * Compute each transition's log-prob (default: plan.eta > 0). Needs every step's sigma > 0:
   * an eta > 0 plan with stepsOffset 0 has a sigma-0 last step, so pass false or stepsOffset >= 1.
   */
  readonly logProbs?: boolean;
}

export interface DdimSampleResult {
  /** The final sample (the same tensor as xs[S] when the trajectory is kept). */
  readonly x0: Tensor;
  /** S + 1 states: xs[0] = x_T, xs[j + 1] = the state after step j, xs[S] = x0 ([] if not kept). */
  readonly xs: readonly Tensor[];
  /** S tensors [B]: log N(xs[j+1]; mu_theta(xs[j], t_j), s_j^2), dims averaged ([] without log-probs). */
  readonly logProbs: readonly Tensor[];
  readonly plan: DdimPlan;
}

/**
 * Samples S DDIM steps from x_T under `params` without gradients (params, cond and x_T pass
 * through stopGradient: this is for rollouts; recompute log-probs under grad with ddimLogProb).
 * Randomness: `key` splits into [x_T key, noise key]; the noise key splits into one key per step,
 * so a given x_T with the same key gives the same trajectory on every backend. Intermediates are
 * freed; the returned tensors belong to the caller's scope (the returned xs[0] is a new handle
 * even when xT is given, so disposing results never frees the caller's xT).
 */
export function ddimSample<P>(
  model: EpsModel<P>,
  params: P,
  cond: Tensor,
  key: PRNGKey,
  options: DdimSampleOptions,
): DdimSampleResult {
  const op = 'ddimSample';
  requireOptions(op, options, '{ plan: ddimPlan(schedule, { steps: 10, eta: 1 }) }', true);
  const plan = options?.plan;
  checkStep(op, plan, 0);
  requireFloatBatch(op, cond, 'cond');
  if (!(key instanceof PRNGKey))
    throw new ShapeError(`${op}: expected a PRNGKey from key(seed) or split(k), got ${String(key)}.`);
  const keepTrajectory = options.keepTrajectory ?? true;
  const clipX0 = options.clipX0 ?? true;
  const withLogProbs = options.logProbs ?? plan.eta > 0;
  if (withLogProbs) {
    const zero = plan.sigmas.findIndex((s) => !(s > 0));
    if (zero >= 0) {
      throw new ShapeError(
        `${op}: log-probs need every step's sigma > 0, but step ${zero} (t = ${plan.timesteps[zero]}) has sigma ${plan.sigmas[zero]} ` +
          `(plan eta ${plan.eta}, stepsOffset ${plan.stepsOffset}). Sample with eta > 0 and stepsOffset >= 1, or pass { logProbs: false }.`,
      );
    }
  }
  const shape = options.xT?.shape ?? options.shape ?? cond.shape;
  if (options.xT !== undefined) checkStateAndCond(op, options.xT, cond, 'xT');
  else if (shape[0] !== cond.shape[0]) {
    throw new ShapeError(
      `${op}: shape ${fmtShape(shape)} and cond ${fmtShape(cond.shape)} must have the same batch size.`,
    );
  }
  const [startKey, noiseKey] = split(key, 2);
  const stepKeys = split(noiseKey, plan.steps);

  return scope(() => {
    const constParams = treeMap(params, stopGradient);
    const constCond = stopGradient(cond);
    let x =
      options.xT !== undefined
        ? stopGradient(options.xT)
        : normal(startKey, shape, { dtype: cond.dtype, backend: cond.backend });
    const xs: Tensor[] = keepTrajectory ? [x] : [];
    const logProbs: Tensor[] = [];
    for (let j = 0; j < plan.steps; j++) {
      const next = scope(() => {
        const r = stepUnchecked(
          { op, model, params: constParams, plan, j, xt: x, cond: constCond, clipX0 },
          stepKeys[j],
        );
        return { xPrev: r.xPrev, logProb: withLogProbs ? r.logProb : undefined };
      });
      if (!keepTrajectory) x.dispose();
      x = next.xPrev;
      if (keepTrajectory) xs.push(x);
      if (next.logProb !== undefined) logProbs.push(next.logProb);
    }
    return { x0: x, xs, logProbs, plan };
  });
}
