// Supervised fine-tuning (SFT) of the restoration policy on (LQ, HQ) pairs: the epsilon-MSE loss
// of DDPM, AdamW with gradient clipping, as a fold over an immutable training state. The loop
// itself only sequences steps, evaluations and checkpoints; progress goes out through hooks.
import { valueAndGrad } from '../autograd/grad.js';
import { epsLoss } from '../models/diffusion/loss.js';
import type { UNetParams } from '../models/unet.js';
import { adamw, type AdamWState, type Optimizer } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { cosineDecay, type Schedule } from '../optim/schedules.js';
import { disposeTree } from '../optim/tree-util.js';
import { foldIn, key, type PRNGKey } from '../random/index.js';
import { keep, scope } from '../tensor/memory.js';
import { treeLeaves } from '../tensor/pytree.js';
import { epochBatches, pairBatch, type PairBatch, type PairSet } from './pairs.js';
import type { Policy } from './policy.js';
import { conditionOf, targetOf } from './target-space.js';

/** Everything a training step reads and writes; a new value after every step. */
export interface TrainState {
  readonly params: UNetParams;
  readonly opt: AdamWState<UNetParams>;
  /** Updates applied so far. */
  readonly step: number;
  /** The run's root key: step s draws from foldIn(key, s), so a resumed run repeats its draws. */
  readonly key: PRNGKey;
}

export interface SftConfig {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  readonly seed: number;
}

export const DEFAULT_SFT_CONFIG: SftConfig = Object.freeze({ steps: 2000, batchSize: 16, lr: 2e-3, warmupSteps: 100, weightDecay: 0, gradClip: 1, seed: 0 });

/** Linear warm-up, then a cosine decay to 10% of the peak at the last step (a common diffusion recipe). */
export const sftSchedule = (config: SftConfig): Schedule =>
  cosineDecay({ peak: config.lr, warmupSteps: Math.min(config.warmupSteps, config.steps - 1), totalSteps: Math.max(config.steps, 1), final: config.lr * 0.1 });

/** AdamW on sftSchedule. */
export const sftOptimizer = (config: SftConfig): Optimizer => adamw({ lr: sftSchedule(config), weightDecay: config.weightDecay });

/** A fresh state around `params` (they become the state's; dispose them with the state). */
export const initTrainState = (optimizer: Optimizer, params: UNetParams, seed: number): TrainState => ({ params, opt: optimizer.init(params), step: 0, key: key(seed) });

/** Frees a state's tensors (params and optimizer moments). */
export const disposeState = (state: TrainState): void => disposeTree([state.params, state.opt.m, state.opt.v]);

export interface StepResult {
  readonly state: TrainState;
  /** This step's loss and pre-clip gradient norm (host numbers: read back once per step). */
  readonly loss: number;
  readonly gradNorm: number;
}

/**
 * One SFT update: eps-MSE of a fresh (t, noise) draw on `batch`, clipped gradients, AdamW. The old
 * state's tensors are freed (the state is consumed, as a fold's accumulator).
 */
export async function sftStep(policy: Policy, optimizer: Optimizer, gradClip: number, state: TrainState, batch: PairBatch): Promise<StepResult> {
  const next = scope(() => {
    const x0 = targetOf(policy.space, batch.hq, batch.lq);
    const cond = conditionOf(batch.lq);
    const lossOf = (p: UNetParams) => epsLoss(policy.model, p, { x0, cond, key: foldIn(state.key, state.step), schedule: policy.schedule });
    const [loss, grads] = valueAndGrad(lossOf)(state.params);
    const clipped = clipGradNorm(grads, gradClip);
    const { params, state: opt } = optimizer.update(clipped.grads, state.opt, state.params);
    return { params, opt, loss, norm: clipped.norm };
  });
  const [loss, gradNorm] = await Promise.all([next.loss.data(), next.norm.data()]);
  next.loss.dispose();
  next.norm.dispose();
  disposeState(state);
  return { state: { params: next.params, opt: next.opt, step: state.step + 1, key: state.key }, loss: loss[0], gradNorm: gradNorm[0] };
}

export interface SftHooks {
  /** After every step. */
  readonly onStep?: (info: { step: number; loss: number; gradNorm: number; lr: number }) => void | Promise<void>;
  /** Every `every` steps and after the last: evaluation, checkpointing (awaited before going on). */
  readonly periodic?: { readonly every: number; readonly run: (state: TrainState) => Promise<void> };
}

/**
 * Trains for config.steps updates (continuing from state.step, so a resumed state finishes the
 * same schedule) on shuffled batches of `pairs`. Returns the final state; `state` is consumed.
 */
export async function trainSft(policy: Policy, config: SftConfig, pairs: PairSet, state: TrainState, hooks: SftHooks = {}): Promise<TrainState> {
  if (pairs.size !== policy.imageSize) {
    throw new RangeError(`trainSft: the pairs are ${pairs.size} px but the policy works at ${policy.imageSize} px; build pairs at ${policy.imageSize} px.`);
  }
  if (pairs.count < config.batchSize) throw new RangeError(`trainSft: ${pairs.count} pairs are fewer than one batch of ${config.batchSize}; lower --batch or add pairs.`);
  const optimizer = sftOptimizer(config);
  const perEpoch = Math.floor(pairs.count / config.batchSize);
  const backend = treeLeaves(state.params)[0]?.backend;
  let current = state;
  while (current.step < config.steps) {
    const epoch = Math.floor(current.step / perEpoch);
    const indices = epochBatches(foldIn(current.key, 1 << 20), epoch, pairs.count, config.batchSize)[current.step % perEpoch];
    const batch = pairBatch(pairs, indices, backend);
    let result: StepResult;
    try {
      result = await sftStep(policy, optimizer, config.gradClip, current, batch);
    } finally {
      batch.hq.dispose();
      batch.lq.dispose();
    }
    if (!Number.isFinite(result.loss)) {
      disposeState(result.state);
      throw new NonFiniteLossError('trainSft', result.state.step, result.loss, config.lr);
    }
    current = result.state;
    await hooks.onStep?.({ step: current.step, loss: result.loss, gradNorm: result.gradNorm, lr: sftSchedule(config)(current.step - 1) });
    if (hooks.periodic && (current.step % hooks.periodic.every === 0 || current.step === config.steps)) await hooks.periodic.run(current);
  }
  return current;
}

/** A NaN or infinite loss (or gradient norm): training stops before the bad update reaches a checkpoint. */
export class NonFiniteLossError extends Error {
  constructor(op: string, step: number, loss: number, lr: number) {
    super(`${op}: the loss became ${loss} at step ${step}; the run stopped and earlier checkpoints are intact. Lower the learning rate (now ${lr}) or the gradient clip, or resume from the last checkpoint.`);
    this.name = 'NonFiniteLossError';
  }
}

/** keep() for every tensor of a state (so it survives an enclosing scope). */
export const keepState = (state: TrainState): TrainState => {
  treeLeaves([state.params, state.opt.m, state.opt.v]).forEach((t) => keep(t));
  return state;
};
