// Training and evaluating the restoration policy: pairs, target space, policy, SFT, checkpoints,
// run folders, evaluation sets and metrics.
export { syntheticPairs, degradePairs, pairsFromImages, pairBatch, epochBatches, takePairs, type PairSet, type PairBatch, type SyntheticPairsOptions } from './pairs.js';
export { conditionOf, targetOf, imageOf, DEFAULT_TARGET_SPACE, type TargetSpace } from './target-space.js';
export { policyOf, policyOfCheckpoint, initPolicyParams, restore, type Policy, type PresetName, type RestoreOptions } from './policy.js';
export { trainSft, sftStep, sftOptimizer, sftSchedule, initTrainState, disposeState, keepState, NonFiniteLossError, DEFAULT_SFT_CONFIG, type SftConfig, type SftHooks, type TrainState, type StepResult } from './sft.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError, CHECKPOINT_FORMAT, type Checkpoint, type CheckpointInfo, type LoadCheckpointOptions } from './checkpoint.js';
export { openRun, readRunLog, RunDirError, type RunDir } from './run-dir.js';
export { evalSet, evalSetLabel, type EvalSetName, type EvalSetOptions } from './eval-sets.js';
export { METRICS, ALL_METRICS, metricContext, scoreImages, evaluateRestorer, summarize, type MetricName, type MetricContext, type Restorer, type Evaluation, type EvaluateOptions } from './evaluate.js';
export { meanInterval, formatInterval, studentT975, type MeanInterval } from './stats.js';
export { DEMO_DEGRADATION } from './demo-data.js';
