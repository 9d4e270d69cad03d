// The LRPO objective (docs/architecture.md, "The LRPO pipeline"): the PPO-clip policy loss, plus
// the GT-guided likelihood term on the last trained steps, plus the optional KL to a reference,
// over the rows of one update. The update (update.ts) trains through this function.
import { scope, zeros, add, mul, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { requireTensor } from '../tensor/ops/operand.js';
import { alias } from '../tensor/ops/movement.js';
import { LrpoConfigError, type LrpoConfig } from './config.js';
import { gtLikelihoodLoss } from './gt-regularization.js';
import { checkVectors, ppoClipLoss } from './ppo-loss.js';

/**
 * One update's rows: every trained step of the update times every sample, [R] = [steps x N] (one
 * step: [N]). The counts say how the paper's per-step sum weights the GT term.
 */
export interface LrpoLossInputs {
  /** log pi_theta(x_{t_{j+1}} | x_{t_j}) of each row under the params being trained, [R] (averaged over pixels). */
  readonly logProbNew: Tensor;
  /** The same log-prob recorded during the rollout, [R] (treated as a constant). */
  readonly logProbOld: Tensor;
  /** A_ij of each row, [R] (stepAdvantages; treated as a constant). */
  readonly advantages: Tensor;
  /** mean_d log N(q_sample(gt, t_{j+1}); mu_theta, s^2) of the GT steps' rows: needed when a GT step is among the rows and gtRegularization is enabled. */
  readonly logProbGt?: Tensor;
  /** KL to the reference per row, [R] (gaussianKl) or a scalar: needed when klWeight > 0. */
  readonly klTerm?: Tensor;
  readonly config: LrpoConfig;
  /** How many trained steps the rows hold (default 1). */
  readonly steps?: number;
  /** How many of them are GT steps, the last gtRegularization.lastSteps trained steps (see gtSteps(config)). */
  readonly gtSteps: number;
}

/** The total loss and its unweighted parts (a part that is off is a zero scalar). */
export interface LrpoLoss {
  /** policy + gtRegularization.weight * (gtSteps / steps) * gt + klWeight * kl: a scalar for valueAndGrad. */
  readonly loss: Tensor;
  readonly terms: { readonly policy: Tensor; readonly gt: Tensor; readonly kl: Tensor };
}

/**
 * L = mean over the update's trained steps j of L_j, with
 * L_j = L_policy(PPO-clip, clipEps) + lambda_GT [j is a GT step] L_GT(temperature) + beta mean(KL).
 * Every step has N rows, so the mean of L_j is the PPO-clip loss and the KL over all rows, plus
 * lambda_GT (gtSteps / steps) times L_GT over the GT rows: the paper's per-step balance whatever the
 * number of steps trained together. One step (steps 1, gtSteps 0 or 1) is L_j itself.
 * Pure: builds tensors from its inputs only; a term whose switch is off (gtRegularization.enabled
 * false, no GT step, klWeight 0) is not computed and reads as 0 in `terms`. Throws LrpoConfigError
 * when an enabled term's input is missing.
 * For the value with aux: `valueAndGrad((p) => { const r = lrpoLoss(...); return [r.loss, r.terms]; }, { hasAux: true })`.
 */
export function lrpoLoss(inputs: LrpoLossInputs): LrpoLoss {
  const op = 'lrpoLoss';
  const { logProbNew, logProbOld, advantages, logProbGt, klTerm, config, steps = 1, gtSteps } = inputs;
  if (config === null || typeof config !== 'object' || config.gtRegularization === undefined) {
    throw new LrpoConfigError(`${op}: config is missing or not an LrpoConfig; build one with lrpoConfig(overrides).`);
  }
  if (!Number.isInteger(steps) || steps < 1)
    throw new LrpoConfigError(
      `${op}: steps is ${String(steps)}; expected the number of trained steps the rows hold (an integer >= 1).`,
    );
  if (!Number.isInteger(gtSteps) || gtSteps < 0 || gtSteps > steps) {
    throw new LrpoConfigError(
      `${op}: gtSteps is ${String(gtSteps)}; expected how many of the ${steps} trained steps are GT steps (gtSteps(config) among them).`,
    );
  }
  const useGt = config.gtRegularization.enabled && gtSteps > 0 && config.gtRegularization.weight > 0;
  const useKl = config.klWeight > 0;
  if (useGt && logProbGt === undefined) {
    throw new LrpoConfigError(
      `${op}: ${gtSteps} GT step(s) are among the rows and gtRegularization ` +
        `is enabled (weight ${config.gtRegularization.weight}), but logProbGt was not given; ` +
        `pass the GT log-probs or disable gtRegularization.`,
    );
  }
  if (useKl && klTerm === undefined) {
    throw new LrpoConfigError(
      `${op}: klWeight is ${config.klWeight} but klTerm was not given; pass gaussianKl(mu_theta, mu_ref, s_t) or set klWeight: 0.`,
    );
  }
  if (useKl) requireTensor(op, klTerm, 'klTerm');
  checkVectors(op, { logProbNew, logProbOld, advantages });
  return scope(() => {
    const policy = ppoClipLoss(logProbNew, logProbOld, advantages, { clipEps: config.clipEps });
    const zero = () => zeros([], { dtype: policy.dtype, backend: logProbNew.backend });
    const gt = useGt ? gtLikelihoodLoss(logProbGt!, { temperature: config.gtRegularization.temperature }) : zero();
    const kl = useKl ? mean(klTerm!) : zero();
    // A distinct handle even when no term is added, so loss and terms.policy dispose independently.
    let loss = alias(policy);
    if (useGt) loss = add(loss, mul(gt, config.gtRegularization.weight * (gtSteps / steps)));
    if (useKl) loss = add(loss, mul(kl, config.klWeight));
    return { loss, terms: { policy, gt, kl } };
  });
}
