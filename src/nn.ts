// The `webgpu-lrpo/nn` entry: layers as pure functions over param trees, the conditional UNet,
// the noise schedule and DDIM sampling with per-step log-probabilities. Engine names (tensors,
// ops, grad, optimizers) come from `webgpu-lrpo`.
export type { ParamTree, EpsModel } from './models/types.js';
export {
  initParams,
  kaimingUniform,
  zerosSpec,
  onesSpec,
  specParamCount,
  checkParamsAgainstSpec,
  type InitScheme,
  type ParamSpec,
  type SpecOf,
  type InitOptions,
} from './models/layers/init.js';
export { linearSpec, linearInit, linearApply, type LinearConfig, type LinearParams } from './models/layers/linear.js';
export { convSpec, convInit, convApply, type ConvConfig, type ConvParams } from './models/layers/conv.js';
export {
  groupNormSpec,
  groupNormInit,
  groupNormApply,
  defaultGroups,
  type GroupNormParams,
} from './models/layers/group-norm.js';
export {
  sinusoidalEmbedding,
  timeMlpSpec,
  timeMlpInit,
  timeMlpApply,
  timeEmbeddingApply,
  type SinusoidalOptions,
  type TimeMlpConfig,
  type TimeMlpParams,
} from './models/layers/timestep-embedding.js';
export {
  resBlockSpec,
  resBlockInit,
  resBlockApply,
  resBlockTimeShifts,
  type ResBlockConfig,
  type ResBlockParams,
} from './models/layers/res-block.js';
export {
  attentionSpec,
  attentionInit,
  attentionApply,
  type AttentionConfig,
  type AttentionParams,
} from './models/layers/attention.js';
export { resampleSpec, resampleInit, downsampleApply, upsampleApply } from './models/layers/resample.js';
export { UNET_PRESETS, validateUnetConfig, unetSizeMultiple, type UNetConfig } from './models/unet-config.js';
export {
  unetSpec,
  unetInit,
  unetApply,
  unetModel,
  checkUnetParams,
  checkUnetInputs,
  type UNetParams,
  type UNetDownLevel,
  type UNetUpLevel,
  type UNetMid,
} from './models/unet.js';
export { unetStats, type UNetStats } from './models/unet-stats.js';
export {
  scaledLinearSchedule,
  type NoiseSchedule,
  type DiffusionSchedule,
  type ScaledLinearScheduleOptions,
} from './models/diffusion/schedule.js';
export { qSample, type Timesteps } from './models/diffusion/q-sample.js';
export { epsLoss, sampleTimesteps, type EpsLossInputs } from './models/diffusion/loss.js';
export { gaussianLogProb } from './models/diffusion/log-prob.js';
export {
  ddimPlan,
  ddimMean,
  ddimStep,
  ddimLogProb,
  ddimSample,
  type DdimPlan,
  type DdimPlanOptions,
  type DdimMean,
  type DdimMeanOptions,
  type DdimStepResult,
  type DdimSampleOptions,
  type DdimSampleResult,
} from './models/diffusion/ddim.js';
export { ddimTransitions, type DdimTransitions } from './models/diffusion/ddim-transitions.js';
