// The LRPO policy update for one rollout (docs/architecture.md, "The LRPO pipeline"): group-normalised
// advantages, noise-level assignment, then the objective (objective.ts) over the trained steps and
// AdamW with gradient clipping (train/step.ts).
// All trained steps go through the UNet together (ddimTransitions): one forward and one backward.
import {
  stopGradient,
  foldIn,
  normal,
  permutation,
  STREAMS,
  scope,
  tensor,
  abs,
  exp,
  sub,
  concat,
  slice,
  mean,
} from '../index.js';
import type { Optimizer, PRNGKey, Tensor } from '../index.js';
import {
  ddimTransitionsOf,
  logProbRows,
  rowLogProbOf,
  stepRows,
  transitionRows,
  type LogProbRows,
  type TransitionRows,
} from '../models/diffusion/ddim-transitions.js';
import type { DdimPlan } from '../models/diffusion/ddim-plan.js';
import { qSample } from '../models/diffusion/q-sample.js';
import type { UNetParams } from '../models/unet.js';
import type { Policy } from '../train/policy.js';
import type { TrainState } from '../train/state.js';
import { optimizerUpdate } from '../train/step.js';
import { groupAdvantages } from './advantages.js';
import { gtSteps, trainedSteps, type LrpoConfig } from './config.js';
import { gaussianKl } from './kl.js';
import { noiseLevelWeights, stepAdvantages } from './noise-level.js';
import { lrpoLoss, type LrpoLoss } from './objective.js';
import type { Rollout } from './rollout.js';

/** Host numbers describing one update (logged per step). */
export interface UpdateMetrics {
  readonly loss: number;
  readonly policyLoss: number;
  readonly gtLoss: number;
  readonly klLoss: number;
  readonly gradNorm: number;
  /** Mean |rho - 1| of the first update's ratios (0 up to float rounding when on-policy). */
  readonly ratioDeviation: number;
}

/** Per-(sample, step) advantages of a rollout, row-major [N][trained steps]. */
export function rolloutAdvantages(config: LrpoConfig, plan: DdimPlan, r: Rollout): Float64Array {
  const steps = trainedSteps(config);
  const advantages = groupAdvantages(r.rewards, {
    groupSize: r.groupSize,
    stdEps: config.advantageStdEps,
    useBatchStd: config.batchStd,
  });
  const weights = config.noiseLevelWeighting ? noiseLevelWeights(steps.map((j) => plan.sigmas[j])) : null;
  return stepAdvantages(advantages, weights, { clip: config.advantageClip, steps: steps.length });
}

export interface UpdateContext {
  readonly policy: Policy;
  readonly config: LrpoConfig;
  readonly plan: DdimPlan;
  readonly optimizer: Optimizer;
  /** Frozen reference params for the KL term (needed when config.klWeight > 0). */
  readonly reference?: UNetParams;
}

/**
 * The tensors one update's objective reads, made from a rollout outside the objective (so its
 * loss-and-gradient call can be recorded and replayed: rolloutLossOf reads nothing else), and the
 * settings that shape it. Rows: row g*n + i is sample i at step steps[g]. Which steps were drawn
 * reaches the objective only through tensors (timesteps, coefficients, sigmas), so one recording
 * replays for every draw of as many steps (and as many GT steps among them).
 */
export interface RolloutLossInputs {
  readonly setup: {
    readonly policy: Policy;
    readonly config: LrpoConfig;
    /** How many steps this update trains, and how many of them (the last ones) are GT-regularized. */
    readonly steps: number;
    readonly gt: number;
  };
  /** The trained rows' timesteps, DDIM coefficients and log-prob terms. */
  readonly rows: TransitionRows;
  readonly xt: Tensor;
  readonly xPrev: Tensor;
  readonly cond: Tensor;
  readonly logProbOld: Tensor;
  /** [rows] the per-(sample, step) advantages. */
  readonly advantages: Tensor;
  /**
   * GT regularization: the targets, their timesteps t_{j+1} [gt rows], the noise that takes them
   * there, and the log-prob terms of the GT rows' sigmas.
   */
  readonly gtTarget?: Tensor;
  readonly gtT?: Tensor;
  readonly gtNoise?: Tensor;
  readonly gtLogProb?: LogProbRows;
  /** The KL term: frozen reference params and each row's sigma [rows, 1, 1, 1]. */
  readonly reference?: UNetParams;
  readonly klSigma?: Tensor;
}

/** rolloutLossOf's inputs for the trained `steps` of one update (made in the caller's scope). */
export function rolloutLossInputs(
  ctx: UpdateContext,
  r: Rollout,
  advantages: Float64Array,
  noiseKey: PRNGKey,
  steps: readonly number[] = trainedSteps(ctx.config),
): RolloutLossInputs {
  const { policy, config, plan } = ctx;
  const all = trainedSteps(config);
  const gt = gtSteps(config).filter((j) => steps.includes(j));
  const n = r.rewards.length;
  const rows = steps.length * n;
  if (config.klWeight > 0 && !ctx.reference)
    throw new Error(
      `rolloutLoss: klWeight is ${config.klWeight} but no reference params were given; pass the frozen SFT params or set klWeight 0.`,
    );
  const xt = concat(
    steps.map((j) => r.xs[j]),
    { axis: 0 },
  );
  // Row g*n + i is sample i at step steps[g]; advantages are [sample][trained step].
  const column = steps.map((j) => all.indexOf(j));
  const gtInputs = () => {
    // x^gt_{t_{j+1}} = q_sample(x0_gt, t_{j+1}): the GT noised from x0 (not from a noised latent).
    const gtTarget = concat(
      gt.map(() => r.target),
      { axis: 0 },
    );
    return {
      gtTarget,
      gtT: tensor(
        stepRows(gt, n, (j) => plan.prevTimesteps[j]),
        { dtype: 'float32', backend: xt.backend },
      ),
      gtNoise: normal(noiseKey, gtTarget.shape, { backend: gtTarget.backend }),
      gtLogProb: logProbRows(
        stepRows(gt, n, (j) => plan.sigmas[j]),
        xt.backend,
      ),
    };
  };
  const klInputs = () => ({
    reference: ctx.reference,
    klSigma: tensor(
      stepRows(steps, n, (j) => plan.sigmas[j]),
      { shape: [rows, 1, 1, 1], dtype: 'float32', backend: xt.backend },
    ),
  });
  return {
    setup: { policy, config, steps: steps.length, gt: gt.length },
    rows: transitionRows(plan, steps, rows, xt.backend, { withLogProb: true }),
    xt,
    xPrev: concat(
      steps.map((j) => r.xs[j + 1]),
      { axis: 0 },
    ),
    cond: concat(
      steps.map(() => r.cond),
      { axis: 0 },
    ),
    logProbOld: concat(
      steps.map((j) => r.logProbs[j]),
      { axis: 0 },
    ),
    advantages: tensor(
      Float32Array.from({ length: rows }, (_, row) => advantages[(row % n) * all.length + column[Math.floor(row / n)]]),
      { shape: [rows], dtype: 'float32', backend: xt.backend },
    ),
    ...(gt.length > 0 && config.gtRegularization.weight > 0 ? gtInputs() : {}),
    ...(config.klWeight > 0 ? klInputs() : {}),
  };
}

/**
 * The LRPO objective (lrpoLoss) under `params` of one update's rows: they go through the UNet
 * together, GT rows are the last ones (GT steps are the last trained steps), and the KL term runs
 * the reference on the same rows. Returns the loss, its parts, and the new and old log-probs (for
 * the ratio diagnostics).
 */
export function rolloutLossOf(
  params: UNetParams,
  inputs: RolloutLossInputs,
): LrpoLoss & { logProbNew: Tensor; logProbOld: Tensor } {
  const { policy, config, steps, gt } = inputs.setup;
  const { xt, cond, logProbOld } = inputs;
  const n = xt.shape[0] / steps;
  return scope(() => {
    const { mean: mu, logProb } = ddimTransitionsOf(policy.model, params, inputs.rows, xt, cond, {
      xPrev: inputs.xPrev,
    });
    let logProbGt: Tensor | undefined;
    if (gt > 0 && config.gtRegularization.weight > 0) {
      // The GT steps are the last trained steps, so their rows are the last ones.
      const muGt = slice(mu, [(steps - gt) * n], [steps * n]);
      const xGt = qSample(policy.schedule, inputs.gtTarget!, inputs.gtT!, inputs.gtNoise!);
      logProbGt = rowLogProbOf(xGt, muGt, inputs.gtLogProb!);
    }
    let klTerm: Tensor | undefined;
    if (config.klWeight > 0) {
      const muRef = stopGradient(ddimTransitionsOf(policy.model, inputs.reference!, inputs.rows, xt, cond).mean);
      klTerm = gaussianKl(mu, muRef, inputs.klSigma!);
    }
    const objective = lrpoLoss({
      logProbNew: logProb!,
      logProbOld,
      advantages: inputs.advantages,
      logProbGt,
      klTerm,
      config,
      steps,
      gtSteps: gt,
    });
    return { ...objective, logProbNew: stopGradient(logProb!), logProbOld };
  });
}

/**
 * The LRPO objective (lrpoLoss) of a rollout under `params`, over the trained `steps` of one
 * update: rolloutLossOf on rolloutLossInputs.
 */
export function rolloutLoss(
  ctx: UpdateContext,
  params: UNetParams,
  r: Rollout,
  advantages: Float64Array,
  noiseKey: PRNGKey,
  steps: readonly number[] = trainedSteps(ctx.config),
): LrpoLoss & { logProbNew: Tensor; logProbOld: Tensor } {
  return scope(() => rolloutLossOf(params, rolloutLossInputs(ctx, r, advantages, noiseKey, steps)));
}

/** One update's loss and the numbers read back with it: one function for every run (its recording is keyed on it). */
const updateLoss = (p: UNetParams, inputs: RolloutLossInputs) => {
  const l = rolloutLossOf(p, inputs);
  return [l.loss, { ...l.terms, ratioDeviation: mean(absRatioDeviation(l.logProbNew, l.logProbOld)) }] as const;
};

/** config.updatesPerBatch AdamW updates on one rollout. The state is consumed (as a fold's accumulator). */
export async function lrpoUpdate(
  ctx: UpdateContext,
  state: TrainState,
  r: Rollout,
  noiseKey: PRNGKey,
): Promise<{ state: TrainState; metrics: UpdateMetrics }> {
  const advantages = rolloutAdvantages(ctx.config, ctx.plan, r);
  const steps = updateSteps(ctx.config, noiseKey);
  const spec = {
    op: 'lrpoUpdate',
    optimizer: ctx.optimizer,
    gradClip: ctx.config.optimizer.gradClip,
    lr: ctx.config.optimizer.lr,
  };
  let current = state;
  let metrics: UpdateMetrics | undefined;
  for (let u = 0; u < ctx.config.updatesPerBatch; u++) {
    const {
      state: next,
      loss,
      gradNorm,
      aux,
    } = await optimizerUpdate(spec, current, () => ({
      fn: updateLoss,
      inputs: rolloutLossInputs(ctx, r, advantages, noiseKey, steps),
    }));
    current = next;
    if (u === 0)
      metrics = {
        loss,
        policyLoss: aux.policy[0],
        gtLoss: aux.gt[0],
        klLoss: aux.kl[0],
        gradNorm,
        ratioDeviation: aux.ratioDeviation[0],
      };
  }
  return { state: { ...current, step: current.step + 1 }, metrics: metrics! };
}

/** The trained steps of one update: all of them, or config.stepsPerUpdate drawn from the key (ascending). */
export function updateSteps(config: LrpoConfig, k: PRNGKey): number[] {
  const all = trainedSteps(config);
  if (config.stepsPerUpdate === 0 || config.stepsPerUpdate >= all.length) return all;
  return permutation(foldIn(k, STREAMS.updateStepSubset), all.length)
    .slice(0, config.stepsPerUpdate)
    .sort((a, b) => a - b)
    .map((i) => all[i]);
}

const absRatioDeviation = (logProbNew: Tensor, logProbOld: Tensor): Tensor =>
  scope(() => abs(sub(exp(sub(logProbNew, logProbOld)), 1)));
