// The LRPO package (docs/architecture.md, "The LRPO pipeline"): the composite reward, group and
// per-step advantages, the per-step objective (PPO-clip, GT-guided likelihood, KL) and its
// configuration.
export { laplacianSharpness, type LaplacianSharpnessOptions } from './sharpness.js';
export {
  compositeReward,
  defaultReward,
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
} from './reward.js';
export {
  lrpoConfig,
  decodeLrpoConfig,
  validateLrpoConfig,
  trainedSteps,
  gtSteps,
  LRPO_DEFAULTS,
  ABLATIONS,
  LrpoConfigError,
  type LrpoConfigProblem,
  type LrpoConfig,
  type LrpoConfigOverrides,
  type GtRegularizationConfig,
  type SamplingConfig,
  type OptimizerConfig,
  type AblationName,
} from './config.js';
export { groupAdvantages, type GroupAdvantageOptions } from './advantages.js';
export { noiseLevelWeights, stepAdvantages, stepColumn, type StepAdvantageOptions } from './noise-level.js';
export { ppoClipLoss, ppoDiagnostics, type PpoClipOptions, type PpoDiagnostics } from './ppo-loss.js';
export { gtLikelihoodLoss, type GtLikelihoodOptions } from './gt-regularization.js';
export { gaussianKl } from './kl.js';
export { lrpoLoss, type LrpoLossInputs, type LrpoLoss } from './objective.js';
export { rollout, disposeRollout, type Rollout } from './rollout.js';
export { repeatEach } from './groups.js';
export { rolloutLoss, lrpoUpdate, rolloutAdvantages, type UpdateContext, type UpdateMetrics } from './update.js';
export {
  trainLrpo,
  lrpoStep,
  lrpoOptimizer,
  lrpoPlan,
  initLrpoState,
  stepInputs,
  type LrpoContext,
  type LrpoStepMetrics,
  type PolicyStep,
} from './train.js';
export { rewardBackpropStep } from './reward-backprop.js';
