// The LRPO policy update for one rollout (DESIGN.md section 5): group-normalised advantages,
// noise-level assignment, PPO-clip over the trained steps, GT-guided likelihood regularization on
// the last trained steps, optional KL to a frozen reference, then AdamW with gradient clipping.
// All trained steps go through the UNet together (ddimTransitions): one forward and one backward.
import { valueAndGrad } from '../autograd/grad.js';
import { stopGradient } from '../autograd/stop-gradient.js';
import { ddimTransitions, rowLogProb } from '../models/diffusion/ddim-transitions.js';
import type { DdimPlan } from '../models/diffusion/ddim-plan.js';
import { qSample } from '../models/diffusion/q-sample.js';
import type { UNetParams } from '../models/unet.js';
import type { Optimizer } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { disposeTree } from '../optim/tree-util.js';
import { foldIn, normal, type PRNGKey } from '../random/index.js';
import { permutation } from '../data/faces.js';
import { scope } from '../tensor/memory.js';
import { tensor, zeros } from '../tensor/ops/creation.js';
import { abs, add, exp, mul, sub } from '../tensor/ops/elementwise.js';
import { concat, slice } from '../tensor/ops/movement.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Policy } from '../train/policy.js';
import { NonFiniteLossError, type TrainState } from '../train/sft.js';
import { groupAdvantages } from './advantages.js';
import { gtSteps, trainedSteps, type LrpoConfig } from './config.js';
import { gtLikelihoodLoss } from './gt-regularization.js';
import { gaussianKl } from './kl.js';
import { noiseLevelWeights, stepAdvantages } from './noise-level.js';
import { ppoClipLoss } from './ppo-loss.js';
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

/** Per-(sample, step) advantages of a rollout, row-major [N][trained steps] (DESIGN.md section 5). */
export function rolloutAdvantages(config: LrpoConfig, plan: DdimPlan, r: Rollout): Float64Array {
  const steps = trainedSteps(config);
  const advantages = groupAdvantages(r.rewards, { groupSize: r.groupSize, stdEps: config.advantageStdEps, useBatchStd: config.batchStd });
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
 * The scalar LRPO loss of a rollout under `params` and its parts: mean over trained steps and
 * samples of the PPO-clip term, plus weight * (GT steps / trained steps) * the mean GT term (so
 * the balance equals the paper's per-step sum of L_j), plus klWeight * mean KL.
 */
export function lrpoLoss(
  ctx: UpdateContext,
  params: UNetParams,
  r: Rollout,
  advantages: Float64Array,
  noiseKey: PRNGKey,
  steps: readonly number[] = trainedSteps(ctx.config),
): { loss: Tensor; policy: Tensor; gt: Tensor; kl: Tensor; logProbNew: Tensor; logProbOld: Tensor } {
  const { policy, config, plan } = ctx;
  const all = trainedSteps(config);
  const gt = gtSteps(config).filter((j) => steps.includes(j));
  const n = r.rewards.length;
  const rows = steps.length * n;
  return scope(() => {
    const xt = concat(steps.map((j) => r.xs[j]), { axis: 0 });
    const xPrev = concat(steps.map((j) => r.xs[j + 1]), { axis: 0 });
    const cond = concat(steps.map(() => r.cond), { axis: 0 });
    const logProbOld = concat(steps.map((j) => r.logProbs[j]), { axis: 0 });
    // Row g*n + i is sample i at step steps[g]; advantages are [sample][trained step].
    const column = steps.map((j) => all.indexOf(j));
    const advRows = tensor(Float32Array.from({ length: rows }, (_, row) => advantages[(row % n) * all.length + column[Math.floor(row / n)]]), { shape: [rows], dtype: 'float32', backend: xt.backend });
    const { mean: mu, logProb } = ddimTransitions(policy.model, params, plan, steps, xt, cond, { xPrev });
    const policyLoss = ppoClipLoss(logProb!, logProbOld, advRows, { clipEps: config.clipEps });
    const zero = () => zeros([], { backend: xt.backend });
    let gtLoss = zero();
    if (gt.length > 0 && config.gtRegularization.weight > 0) {
      // x^gt_{t_{j+1}} = q_sample(x0_gt, t_{j+1}): the GT noised from x0 (not from a noised latent).
      // GT steps are the last trained steps, so they are the last rows of the batch.
      const first = steps.indexOf(gt[0]);
      const muGt = slice(mu, [first * n], [(first + gt.length) * n]);
      const prevT = gt.flatMap((j) => Array.from({ length: n }, () => plan.prevTimesteps[j]));
      const target = concat(gt.map(() => r.target), { axis: 0 });
      const xGt = qSample(policy.schedule, target, prevT, normal(noiseKey, target.shape, { backend: target.backend }));
      const sigmas = Float64Array.from(prevT, (_, row) => plan.sigmas[gt[Math.floor(row / n)]]);
      gtLoss = gtLikelihoodLoss(rowLogProb(xGt, muGt, sigmas), { temperature: config.gtRegularization.temperature });
    }
    let klLoss = zero();
    if (config.klWeight > 0) {
      if (!ctx.reference) throw new Error(`lrpoLoss: klWeight is ${config.klWeight} but no reference params were given; pass the frozen SFT params or set klWeight 0.`);
      const muRef = stopGradient(ddimTransitions(policy.model, ctx.reference, plan, steps, xt, cond).mean);
      const sigmaRows = tensor(Float32Array.from({ length: rows }, (_, row) => plan.sigmas[steps[Math.floor(row / n)]]), { shape: [rows, 1, 1, 1], backend: xt.backend });
      klLoss = mean(gaussianKl(mu, muRef, sigmaRows));
    }
    const gtWeight = config.gtRegularization.weight * (gt.length / steps.length);
    const loss = add(add(policyLoss, mul(gtLoss, gtWeight)), mul(klLoss, config.klWeight));
    return { loss, policy: policyLoss, gt: gtLoss, kl: klLoss, logProbNew: stopGradient(logProb!), logProbOld };
  });
}

/** config.updatesPerBatch AdamW updates on one rollout. The state is consumed (as a fold's accumulator). */
export async function lrpoUpdate(ctx: UpdateContext, state: TrainState, r: Rollout, noiseKey: PRNGKey): Promise<{ state: TrainState; metrics: UpdateMetrics }> {
  const advantages = rolloutAdvantages(ctx.config, ctx.plan, r);
  const steps = updateSteps(ctx.config, noiseKey);
  let current = state;
  let metrics: UpdateMetrics | undefined;
  for (let u = 0; u < ctx.config.updatesPerBatch; u++) {
    const out = scope(() => {
      const [[, parts], grads] = valueAndGrad(
        (p: UNetParams) => {
          const l = lrpoLoss(ctx, p, r, advantages, noiseKey, steps);
          return [l.loss, { loss: l.loss, policy: l.policy, gt: l.gt, kl: l.kl, ratioDeviation: mean(absRatioDeviation(l.logProbNew, l.logProbOld)) }] as const;
        },
        { hasAux: true },
      )(current.params);
      const clipped = clipGradNorm(grads, ctx.config.optimizer.gradClip);
      const next = ctx.optimizer.update(clipped.grads, current.opt, current.params);
      return { next, parts, norm: clipped.norm };
    });
    const numbers = await Promise.all([out.parts.loss, out.parts.policy, out.parts.gt, out.parts.kl, out.norm, out.parts.ratioDeviation].map(async (t) => (await t.data())[0]));
    disposeTree([out.parts, out.norm]);
    const [loss, policyLoss, gtLoss, klLoss, gradNorm, ratioDeviation] = numbers;
    if (!numbers.every(Number.isFinite)) {
      disposeTree([out.next.params, out.next.state.m, out.next.state.v]);
      throw new NonFiniteLossError('lrpoUpdate', current.step + 1, Number.isFinite(loss) ? gradNorm : loss, ctx.config.optimizer.lr);
    }
    disposeTree([current.params, current.opt.m, current.opt.v]);
    current = { params: out.next.params, opt: out.next.state, step: current.step, key: current.key };
    if (u === 0) metrics = { loss, policyLoss, gtLoss, klLoss, gradNorm, ratioDeviation };
  }
  return { state: { ...current, step: current.step + 1 }, metrics: metrics! };
}

/** The trained steps of one update: all of them, or config.stepsPerUpdate drawn from the key (ascending). */
export function updateSteps(config: LrpoConfig, k: PRNGKey): number[] {
  const all = trainedSteps(config);
  if (config.stepsPerUpdate === 0 || config.stepsPerUpdate >= all.length) return all;
  return permutation(foldIn(k, 0x57e9), all.length)
    .slice(0, config.stepsPerUpdate)
    .sort((a, b) => a - b)
    .map((i) => all[i]);
}

const absRatioDeviation = (logProbNew: Tensor, logProbOld: Tensor): Tensor => scope(() => abs(sub(exp(sub(logProbNew, logProbOld)), 1)));
