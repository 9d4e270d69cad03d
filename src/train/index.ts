// Training and evaluating the restoration policy: pairs, target space, policy, SFT, checkpoints,
// run folders, evaluation sets and metrics. Every method trains through one update (step.ts) and
// one fold (fold.ts) over one state (state.ts).
export {
  syntheticPairs,
  degradePairs,
  pairsFromImages,
  pairBatch,
  epochBatches,
  takePairs,
  type PairSet,
  type PairBatch,
  type SyntheticPairsOptions,
} from './pairs.js';
export { conditionOf, targetOf, imageOf, DEFAULT_TARGET_SPACE, type TargetSpace } from './target-space.js';
export {
  policyOf,
  policyOfCheckpoint,
  initPolicyParams,
  restore,
  type Policy,
  type PresetName,
  type RestoreOptions,
} from './policy.js';
export {
  trainSft,
  sftStep,
  sftOptimizer,
  sftSchedule,
  DEFAULT_SFT_CONFIG,
  type SftConfig,
  type SftStepMetrics,
} from './sft.js';
export { initTrainState, disposeState, keepState, type TrainState } from './state.js';
export { optimizerUpdate, NonFiniteLossError, type UpdateSpec, type LossOf, type UpdateResult } from './step.js';
export { trainFold, type TrainHooks, type TrainStep } from './fold.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  CheckpointError,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointInfo,
  type LoadCheckpointOptions,
} from './checkpoint.js';
export { openRun, readRunLog, RunDirError, type RunDir } from './run-dir.js';
export { evalSet, evalSetLabel, type EvalSetName, type EvalSetOptions } from './eval-sets.js';
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
} from './evaluate.js';
export { meanInterval, formatInterval, studentT975, type MeanInterval } from './stats.js';
export { DEMO_DEGRADATION } from './demo-data.js';
