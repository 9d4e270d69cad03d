// Supervised fine-tuning (SFT) of the restoration policy on (LQ, HQ) pairs: the epsilon-MSE loss
// of DDPM, AdamW with gradient clipping, as a fold over an immutable training state. The loop
// itself only sequences steps, evaluations and checkpoints; progress goes out through hooks.
import { epsLossDraws, epsLossOf, type EpsLossOfInputs } from '../models/diffusion/loss.js';
import type { UNetParams } from '../models/unet.js';
import { adamw, cosineDecay, foldIn, STREAMS, treeLeaves } from '../index.js';
import type { Optimizer, Schedule } from '../index.js';
import { trainFold, type TrainHooks } from './fold.js';
import { epochBatches, pairBatch, type PairBatch, type PairSet } from './pairs.js';
import type { Policy } from './policy.js';
import type { TrainState } from './state.js';
import { optimizerUpdate } from './step.js';
import { conditionOf, targetOf } from './target-space.js';

export interface SftConfig {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  readonly seed: number;
}

export const DEFAULT_SFT_CONFIG: SftConfig = Object.freeze({
  steps: 2000,
  batchSize: 16,
  lr: 2e-3,
  warmupSteps: 100,
  weightDecay: 0,
  gradClip: 1,
  seed: 0,
});

/** Linear warm-up, then a cosine decay to 10% of the peak at the last step (a common diffusion recipe). */
export const sftSchedule = (config: SftConfig): Schedule =>
  cosineDecay({
    peak: config.lr,
    warmupSteps: Math.min(config.warmupSteps, config.steps - 1),
    totalSteps: Math.max(config.steps, 1),
    final: config.lr * 0.1,
  });

/** AdamW on sftSchedule. */
export const sftOptimizer = (config: SftConfig): Optimizer =>
  adamw({ lr: sftSchedule(config), weightDecay: config.weightDecay });

/** One SFT step's numbers. */
export interface SftStepMetrics {
  readonly step: number;
  /** This step's loss and pre-clip gradient norm (host numbers: read back once per step). */
  readonly loss: number;
  readonly gradNorm: number;
  /** The learning rate of this step's update. */
  readonly lr: number;
}

/** The eps-MSE of the policy on given draws: one function for every run (a recording is keyed on it). */
const sftLoss = (p: UNetParams, { policy, draws }: { readonly policy: Policy; readonly draws: EpsLossOfInputs }) =>
  [epsLossOf(policy.model, p, draws, policy.schedule), {}] as const;

/**
 * One SFT update: eps-MSE of a fresh (t, noise) draw on `batch`, clipped gradients, AdamW. The old
 * state's tensors are freed (the state is consumed, as a fold's accumulator).
 */
export async function sftStep(
  policy: Policy,
  optimizer: Optimizer,
  config: SftConfig,
  state: TrainState,
  batch: PairBatch,
): Promise<{ state: TrainState; metrics: SftStepMetrics }> {
  const spec = { op: 'trainSft', optimizer, gradClip: config.gradClip, lr: config.lr };
  const {
    state: next,
    loss,
    gradNorm,
  } = await optimizerUpdate(spec, state, () => {
    const x0 = targetOf(policy.space, batch.hq, batch.lq);
    const draws = {
      x0,
      cond: conditionOf(batch.lq),
      ...epsLossDraws(foldIn(state.key, state.step), x0, policy.schedule),
    };
    return { fn: sftLoss, inputs: { policy, draws } };
  });
  const step = state.step + 1;
  return { state: { ...next, step }, metrics: { step, loss, gradNorm, lr: sftSchedule(config)(step - 1) } };
}

/**
 * Trains for config.steps updates (continuing from state.step, so a resumed state finishes the
 * same schedule) on shuffled batches of `pairs`. Returns the final state; `state` is consumed.
 */
export async function trainSft(
  policy: Policy,
  config: SftConfig,
  pairs: PairSet,
  state: TrainState,
  hooks: TrainHooks<SftStepMetrics> = {},
): Promise<TrainState> {
  if (pairs.size !== policy.imageSize) {
    throw new RangeError(
      `trainSft: the pairs are ${pairs.size} px but the policy works at ${policy.imageSize} px; build pairs at ${policy.imageSize} px.`,
    );
  }
  if (pairs.count < config.batchSize)
    throw new RangeError(
      `trainSft: ${pairs.count} pairs are fewer than one batch of ${config.batchSize}; lower --batch or add pairs.`,
    );
  const optimizer = sftOptimizer(config);
  const perEpoch = Math.floor(pairs.count / config.batchSize);
  const backend = treeLeaves(state.params)[0]?.backend;
  return trainFold(
    state,
    config.steps,
    async (current) => {
      const epoch = Math.floor(current.step / perEpoch);
      const indices = epochBatches(foldIn(current.key, STREAMS.sftBatchOrder), epoch, pairs.count, config.batchSize)[
        current.step % perEpoch
      ];
      const batch = pairBatch(pairs, indices, backend);
      try {
        return await sftStep(policy, optimizer, config, current, batch);
      } finally {
        batch.hq.dispose();
        batch.lq.dispose();
      }
    },
    hooks,
  );
}
