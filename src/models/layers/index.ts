// The UNet's layers: each a spec (leaf shapes and init schemes), an init and a pure apply.
export {
  initParams,
  kaimingUniform,
  zerosSpec,
  onesSpec,
  specLeaves,
  specParamCount,
  checkParamsAgainstSpec,
  isParamSpec,
  type InitScheme,
  type ParamSpec,
  type SpecOf,
  type InitOptions,
} from './init.js';
export { linearSpec, linearInit, linearApply, type LinearConfig, type LinearParams } from './linear.js';
export { convSpec, convInit, convApply, type ConvConfig, type ConvParams } from './conv.js';
export { groupNormSpec, groupNormInit, groupNormApply, defaultGroups, type GroupNormParams } from './group-norm.js';
export {
  sinusoidalEmbedding,
  timeMlpSpec,
  timeMlpInit,
  timeMlpApply,
  timeEmbeddingApply,
  type SinusoidalOptions,
  type TimeMlpConfig,
  type TimeMlpParams,
} from './timestep-embedding.js';
export { resBlockSpec, resBlockInit, resBlockApply, type ResBlockConfig, type ResBlockParams } from './res-block.js';
export {
  attentionSpec,
  attentionInit,
  attentionApply,
  type AttentionConfig,
  type AttentionParams,
} from './attention.js';
export { resampleSpec, resampleInit, downsampleApply, upsampleApply } from './resample.js';
