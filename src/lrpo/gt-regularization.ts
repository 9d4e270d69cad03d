// GT-guided likelihood regularization (docs/architecture.md, "The LRPO pipeline"): on the last
// trained steps, pull the policy's step distribution towards the noised ground truth, through a
// bounded transform of its log-likelihood.
import { scope, div, exp, sub, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { LrpoConfigError } from './config.js';
import { checkVectors } from './ppo-loss.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface GtLikelihoodOptions {
  /** tau in 1 - exp(logProbGt / tau) (default 40, the paper's). */
  readonly temperature?: number;
}

/**
 * L_GT = mean_b [1 - exp(logProbGt_b / tau)] (LRPO's GT-guided likelihood term,
 * docs/architecture.md, "The LRPO pipeline"), a scalar tensor. logProbGt [B] is mean_d log
 * N(x^gt_{t_{j+1}}; mu_theta(x_{t_j}, t_j, c), s_{t_j}^2), averaged over the C*H*W dimensions,
 * computed by the caller, where x^gt_{t_{j+1}} = q_sample(gt, t_{j+1}) = sqrt(a_{t_{j+1}}) gt +
 * sqrt(1 - a_{t_{j+1}}) noise is the ground truth noised FROM x0 to the step's target level (not a
 * further noising of an already-noised latent: the authors' released code does that; we do not).
 * Minimizing L_GT raises the likelihood of the GT under the policy's step. Because the log-density
 * of a narrow Gaussian can be positive, L_GT can be negative; it is bounded above by 1. Gradients
 * flow into logProbGt (i.e. into mu_theta).
 */
export function gtLikelihoodLoss(logProbGt: Tensor, options: GtLikelihoodOptions = {}): Tensor {
  const op = 'gtLikelihoodLoss';
  requireOptions(op, options, '{ temperature: 40 }');
  const temperature = options.temperature ?? 40;
  if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
    throw new LrpoConfigError(
      `${op}: temperature is ${String(temperature)}; expected a finite number > 0 (the paper uses 40).`,
    );
  }
  checkVectors(op, { logProbGt });
  return scope(() => mean(sub(1, exp(div(logProbGt, temperature)))));
}
