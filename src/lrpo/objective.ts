// The LRPO loss of one trained denoising step (DESIGN.md section 5): PPO-clip policy loss, plus
// the GT-guided likelihood term on the last trained steps, plus the optional KL to a reference.
import { scope } from '../tensor/memory.js';
import { zeros } from '../tensor/ops/creation.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { requireTensor } from '../tensor/ops/operand.js';
import { alias } from '../tensor/ops/movement.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { LrpoConfigError, type LrpoConfig } from './config.js';
import { gtLikelihoodLoss } from './gt-regularization.js';
import { checkVectors, ppoClipLoss } from './ppo-loss.js';

export interface LrpoStepInputs {
  /** log pi_theta(x_{t_{j+1}} | x_{t_j}) of each sample under the params being trained, [N] (averaged over pixels). */
  readonly logProbNew: Tensor;
  /** The same log-prob recorded during the rollout, [N] (treated as a constant). */
  readonly logProbOld: Tensor;
  /** A_ij of this step for each sample, [N] (stepAdvantages, one column; treated as a constant). */
  readonly advantages: Tensor;
  /** [B] mean_d log N(q_sample(gt, t_{j+1}); mu_theta, s^2): needed on GT steps when gtRegularization is enabled. */
  readonly logProbGt?: Tensor;
  /** KL to the reference per sample, [N] (gaussianKl) or a scalar: needed when klWeight > 0. */
  readonly klTerm?: Tensor;
  readonly config: LrpoConfig;
  /** Whether this step is one of the last gtRegularization.lastSteps trained steps (see gtSteps(config)). */
  readonly isGtStep: boolean;
}

/** The step's total loss and its unweighted parts (a part that is off is a zero scalar). */
export interface LrpoStepLoss {
  /** policy + gtRegularization.weight * gt + klWeight * kl: a scalar for valueAndGrad. */
  readonly loss: Tensor;
  readonly terms: { readonly policy: Tensor; readonly gt: Tensor; readonly kl: Tensor };
}

/**
 * L_j = L_policy(PPO-clip, clipEps) + lambda_GT [GT step] L_GT(temperature) + beta mean(KL)
 * (DESIGN.md section 5, one trained step j). Pure: builds tensors from its inputs only; a term
 * whose switch is off (gtRegularization.enabled false, not a GT step, klWeight 0) is not computed
 * and reads as 0 in `terms`. The caller sums or averages L_j over the trained steps. Throws
 * LrpoConfigError when an enabled term's input is missing.
 * For the value with aux: `valueAndGrad((p) => { const r = lrpoStepLoss(...); return [r.loss, r.terms]; }, { hasAux: true })`.
 */
export function lrpoStepLoss(inputs: LrpoStepInputs): LrpoStepLoss {
  const op = 'lrpoStepLoss';
  const { logProbNew, logProbOld, advantages, logProbGt, klTerm, config, isGtStep } = inputs;
  if (config === null || typeof config !== 'object' || config.gtRegularization === undefined) {
    throw new LrpoConfigError(`${op}: config is missing or not an LrpoConfig; build one with lrpoConfig(overrides).`);
  }
  if (typeof isGtStep !== 'boolean') throw new LrpoConfigError(`${op}: isGtStep is ${String(isGtStep)}; expected true or false (gtSteps(config).includes(j)).`);
  const useGt = config.gtRegularization.enabled && isGtStep && config.gtRegularization.weight > 0;
  const useKl = config.klWeight > 0;
  if (useGt && logProbGt === undefined) {
    throw new LrpoConfigError(`${op}: this is a GT step and gtRegularization is enabled (weight ${config.gtRegularization.weight}), but logProbGt was not given; pass the [B] GT log-probs or disable gtRegularization.`);
  }
  if (useKl && klTerm === undefined) {
    throw new LrpoConfigError(`${op}: klWeight is ${config.klWeight} but klTerm was not given; pass gaussianKl(mu_theta, mu_ref, s_t) or set klWeight: 0.`);
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
    if (useGt) loss = add(loss, mul(gt, config.gtRegularization.weight));
    if (useKl) loss = add(loss, mul(kl, config.klWeight));
    return { loss, terms: { policy, gt, kl } };
  });
}
