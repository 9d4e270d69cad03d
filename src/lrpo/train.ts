// LRPO training as a fold over an immutable state (params, optimizer state, PRNG key, step):
// each step samples a rollout batch of B LQ inputs x K candidates, scores it, and applies the
// LRPO update (update.ts). Step s draws everything from foldIn(key, s), so a run resumed from a
// checkpoint at step s repeats exactly what an uninterrupted run would have done.
import { named, adamw, foldIn, key as prngKey, permutation, split, STREAMS, memory, treeLeaves } from '../index.js';
import type { Optimizer } from '../index.js';
import { ddimPlan, type DdimPlan } from '../models/diffusion/ddim-plan.js';
import type { UNetParams } from '../models/unet.js';
import { pairBatch, type PairSet } from '../train/pairs.js';
import type { Policy } from '../train/policy.js';
import { meanInterval } from '../train/stats.js';
import { trainFold, type TrainHooks } from '../train/fold.js';
import type { TrainState } from '../train/state.js';
import type { LrpoConfig } from './config.js';
import type { Reward } from './reward.js';
import { disposeRollout, rollout } from './rollout.js';
import { lrpoUpdate, type UpdateMetrics } from './update.js';

/** What one LRPO step reports (host numbers). */
export interface LrpoStepMetrics extends UpdateMetrics {
  readonly step: number;
  readonly rewardMean: number;
  readonly rewardStd: number;
  /** Mean of each reward term over the rollout. */
  readonly rewardTerms: Readonly<Record<string, number>>;
  /** Live tensors and bytes on the policy's backend after the step. */
  readonly liveTensors: number;
  readonly liveBytes: number;
  /** Device bytes held by jit recordings after the step (bounded per jitted function; flat in a steady loop). */
  readonly recordedBytes: number;
}

/** The AdamW of the config (constant learning rate, as the paper's fine-tuning). */
export const lrpoOptimizer = (config: LrpoConfig): Optimizer =>
  adamw({ lr: config.optimizer.lr, weightDecay: config.optimizer.weightDecay });

/** The rollout sampler of the config: S uniform DDIM steps with its eta (offset 1, every step has a log-prob). */
export const lrpoPlan = (policy: Policy, config: LrpoConfig): DdimPlan =>
  ddimPlan(policy.schedule, { steps: config.sampling.steps, eta: config.sampling.eta });

export interface LrpoContext {
  readonly policy: Policy;
  readonly config: LrpoConfig;
  readonly reward: Reward;
  readonly pairs: PairSet;
  /** Frozen reference params for the KL term (only when config.klWeight > 0). */
  readonly reference?: UNetParams;
}

/** The LQ inputs of step `step`: B pairs from a per-epoch shuffle of the set (deterministic for the key). */
export function stepInputs(ctx: LrpoContext, root: TrainState['key'], step: number): number[] {
  const b = ctx.config.inputsPerBatch;
  const perEpoch = Math.max(1, Math.floor(ctx.pairs.count / b));
  const order = permutation(foldIn(foldIn(root, STREAMS.lrpoInputOrder), Math.floor(step / perEpoch)), ctx.pairs.count);
  const start = (step % perEpoch) * b;
  return order.slice(start, start + b);
}

/** One LRPO step: rollout on fresh inputs, then the update. Consumes `state`. */
export async function lrpoStep(
  ctx: LrpoContext,
  optimizer: Optimizer,
  plan: DdimPlan,
  state: TrainState,
): Promise<{ state: TrainState; metrics: LrpoStepMetrics }> {
  const [sampleKey, noiseKey] = split(foldIn(state.key, state.step), 2);
  const backend = treeLeaves(state.params)[0].backend;
  const batch = pairBatch(ctx.pairs, stepInputs(ctx, state.key, state.step), backend);
  let r;
  try {
    r = await named('rollout', () =>
      rollout(ctx.policy, state.params, ctx.reward, batch, ctx.config.groupSize, plan, sampleKey),
    );
  } finally {
    batch.hq.dispose();
    batch.lq.dispose();
  }
  try {
    // The noise-floor control: the same rewards, dealt to the samples at random.
    const scored = ctx.config.shuffleRewards
      ? {
          ...r,
          rewards: Float64Array.from(
            permutation(foldIn(sampleKey, STREAMS.shuffledRewards), r.rewards.length),
            (i) => r.rewards[i],
          ),
        }
      : r;
    const { state: next, metrics } = await named('update', () =>
      lrpoUpdate(
        { policy: ctx.policy, config: ctx.config, plan, optimizer, reference: ctx.reference },
        state,
        scored,
        noiseKey,
      ),
    );
    const mem = memory()[backend];
    const { mean, sd } = meanInterval(r.rewards);
    const terms = Object.fromEntries(Object.entries(r.rewardTerms).map(([k, v]) => [k, meanInterval(v).mean]));
    return {
      state: next,
      metrics: {
        ...metrics,
        step: next.step,
        rewardMean: mean,
        rewardStd: sd,
        rewardTerms: terms,
        liveTensors: mem.tensors,
        liveBytes: mem.bytes,
        recordedBytes: mem.recordedBytes,
      },
    };
  } finally {
    disposeRollout(r);
  }
}

/** One training step of some method (lrpoStep, or rewardBackpropStep for the baseline). */
export type PolicyStep = (
  ctx: LrpoContext,
  optimizer: Optimizer,
  plan: DdimPlan,
  state: TrainState,
) => Promise<{ state: TrainState; metrics: LrpoStepMetrics }>;

/** Runs LRPO (or another `method` step) from state.step to `steps`: a fold. Consumes `state`, returns the final one. */
export async function trainLrpo(
  ctx: LrpoContext,
  steps: number,
  state: TrainState,
  hooks: TrainHooks<LrpoStepMetrics> = {},
  method: PolicyStep = lrpoStep,
): Promise<TrainState> {
  if (ctx.pairs.size !== ctx.policy.imageSize) {
    throw new RangeError(
      `trainLrpo: the pairs are ${ctx.pairs.size} px but the policy works at ${ctx.policy.imageSize} px; build pairs at ${ctx.policy.imageSize} px.`,
    );
  }
  if (ctx.pairs.count < ctx.config.inputsPerBatch) {
    throw new RangeError(
      `trainLrpo: ${ctx.pairs.count} pairs are fewer than inputsPerBatch ${ctx.config.inputsPerBatch}; add pairs or lower it.`,
    );
  }
  const optimizer = lrpoOptimizer(ctx.config);
  const plan = lrpoPlan(ctx.policy, ctx.config);
  return trainFold(state, steps, (current) => method(ctx, optimizer, plan, current), hooks);
}

/** A fresh LRPO state starting from (a copy-free handle of) SFT params; its optimizer moments start at zero. */
export const initLrpoState = (config: LrpoConfig, params: UNetParams, seed: number): TrainState => ({
  params,
  opt: lrpoOptimizer(config).init(params),
  step: 0,
  key: prngKey(seed),
});
