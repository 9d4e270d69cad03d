// The direct reward-backpropagation baseline of the ablation (DRaFT-1 style, Clark et al. 2024):
// our rewards are differentiable, so instead of a policy gradient, sample S - 1 DDIM steps without
// gradients, run the last step under grad, and ascend the reward of the result directly.
import { ddimSample } from '../models/diffusion/ddim.js';
import { ddimTransitions } from '../models/diffusion/ddim-transitions.js';
import type { DdimPlan } from '../models/diffusion/ddim-plan.js';
import type { UNetParams } from '../models/unet.js';
import { foldIn, memory, neg, mean, treeLeaves } from '../index.js';
import type { Optimizer } from '../index.js';
import { pairBatch } from '../train/pairs.js';
import type { TrainState } from '../train/state.js';
import { optimizerUpdate } from '../train/step.js';
import { meanInterval } from '../train/stats.js';
import { conditionOf, imageOf } from '../train/target-space.js';
import { repeatEach } from './groups.js';
import { stepInputs, type LrpoContext, type LrpoStepMetrics } from './train.js';

/**
 * One reward-backprop update on B inputs x K samples: loss = -mean reward of the images whose last
 * DDIM step (its mean: the final sigma is tiny) is taken under grad. Consumes `state`.
 */
export async function rewardBackpropStep(
  ctx: LrpoContext,
  optimizer: Optimizer,
  plan: DdimPlan,
  state: TrainState,
): Promise<{ state: TrainState; metrics: LrpoStepMetrics }> {
  const { policy, config, reward } = ctx;
  const backend = treeLeaves(state.params)[0].backend;
  const batch = pairBatch(ctx.pairs, stepInputs(ctx, state.key, state.step), backend);
  const last = plan.steps - 1;
  const spec = { op: 'rewardBackpropStep', optimizer, gradClip: config.optimizer.gradClip, lr: config.optimizer.lr };
  let update;
  try {
    update = await optimizerUpdate(spec, state, () => {
      const lq = repeatEach(batch.lq, config.groupSize);
      const cond = conditionOf(lq);
      const { xs } = ddimSample(policy.model, state.params, cond, foldIn(state.key, state.step), {
        plan,
        keepTrajectory: true,
        logProbs: false,
      });
      return (p: UNetParams) => {
        const x0 = ddimTransitions(policy.model, p, plan, [last], xs[last], cond).mean;
        const rewards = reward(imageOf(policy.space, x0, lq), batch.hq, batch.lq).total; // one reference per group
        return [neg(mean(rewards)), { rewards }] as const;
      };
    });
  } finally {
    batch.hq.dispose();
    batch.lq.dispose();
  }
  const { mean: rewardMean, sd: rewardStd } = meanInterval(update.aux.rewards);
  const mem = memory()[backend];
  const step = state.step + 1;
  return {
    state: { ...update.state, step },
    // The loss is the host mean of the read-back rewards (float64), as the reward curve shows it.
    metrics: {
      step,
      loss: -rewardMean,
      policyLoss: -rewardMean,
      gtLoss: 0,
      klLoss: 0,
      gradNorm: update.gradNorm,
      ratioDeviation: 0,
      rewardMean,
      rewardStd,
      rewardTerms: {},
      liveTensors: mem.tensors,
      liveBytes: mem.bytes,
      recordedBytes: mem.recordedBytes,
    },
  };
}
