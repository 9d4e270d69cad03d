// The `webgpu-lrpo/lrpo` entry: training a restoration policy. (LQ, HQ) pairs, the policy and its
// checkpoints, supervised training (SFT), LRPO and its ablations (reward, advantages, the
// objective, rollouts, the training loop), evaluation with every metric and 95% intervals.
// Models come from `webgpu-lrpo/nn`, faces and metrics from `webgpu-lrpo/faces`.
export { laplacianSharpness, type LaplacianSharpnessOptions } from './lrpo/sharpness.js';
export {
  compositeReward,
  defaultReward,
  lrpoReward,
  DEFAULT_REWARD_WEIGHTS,
  RewardConfigError,
  type Reward,
  type RewardTerm,
  type RewardTermFn,
  type RewardTerms,
  type RewardResult,
  type RewardShared,
  type DefaultRewardOptions,
  type DefaultRewardTermName,
} from './lrpo/reward.js';
export {
  lrpoConfig,
  decodeLrpoConfig,
  trainedSteps,
  gtSteps,
  LRPO_DEFAULTS,
  ABLATIONS,
  LrpoConfigError,
  validateLrpoConfig,
  type LrpoConfigProblem,
  type LrpoConfig,
  type LrpoConfigOverrides,
  type GtRegularizationConfig,
  type SamplingConfig,
  type OptimizerConfig,
  type RewardWeights,
  type AblationName,
} from './lrpo/config.js';
export { groupAdvantages, type GroupAdvantageOptions } from './lrpo/advantages.js';
export { noiseLevelWeights, stepAdvantages, stepColumn, type StepAdvantageOptions } from './lrpo/noise-level.js';
export { ppoClipLoss, ppoDiagnostics, type PpoClipOptions, type PpoDiagnostics } from './lrpo/ppo-loss.js';
export { gtLikelihoodLoss, type GtLikelihoodOptions } from './lrpo/gt-regularization.js';
export { gaussianKl } from './lrpo/kl.js';
export { lrpoLoss, type LrpoLossInputs, type LrpoLoss } from './lrpo/objective.js';
export { rollout, disposeRollout, type Rollout } from './lrpo/rollout.js';
export { rolloutLoss, lrpoUpdate, rolloutAdvantages, type UpdateContext, type UpdateMetrics } from './lrpo/update.js';
export {
  trainLrpo,
  lrpoStep,
  lrpoOptimizer,
  initLrpoState,
  type LrpoContext,
  type LrpoStepMetrics,
  type PolicyStep,
} from './lrpo/train.js';
export { rewardBackpropStep } from './lrpo/reward-backprop.js';
// training and evaluating the policy
export {
  syntheticPairs,
  pairsFromImages,
  pairBatch,
  type PairSet,
  type PairBatch,
  type SyntheticPairsOptions,
} from './train/pairs.js';
export { DEFAULT_TARGET_SPACE, type TargetSpace } from './train/target-space.js';
export {
  policyOf,
  policyOfCheckpoint,
  initPolicyParams,
  restore,
  RESTORE_DEFAULTS,
  type Policy,
  type PresetName,
  type RestoreOptions,
} from './train/policy.js';
export {
  trainSft,
  sftStep,
  sftOptimizer,
  sftSchedule,
  DEFAULT_SFT_CONFIG,
  type SftConfig,
  type SftStepMetrics,
} from './train/sft.js';
export { disposeState, type TrainState } from './train/state.js';
export { optimizerUpdate, NonFiniteLossError, type UpdateSpec, type LossOf, type UpdateResult } from './train/step.js';
export { trainFold, type TrainHooks, type TrainStep } from './train/fold.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  CheckpointError,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointInfo,
  type LoadCheckpointOptions,
} from './train/checkpoint.js';
export { openRun, readRunLog, RunDirError, type RunDir } from './train/run-dir.js';
export { evalSet, evalSetLabel, type EvalSetName, type EvalSetOptions } from './train/eval-sets.js';
export {
  METRICS,
  ALL_METRICS,
  metricContext,
  scoreImages,
  evaluateRestorer,
  summarize,
  type MetricName,
  type MetricContext,
  type Restorer,
  type Evaluation,
  type EvaluateOptions,
} from './train/evaluate.js';
export { meanInterval, formatInterval, type MeanInterval } from './train/stats.js';
