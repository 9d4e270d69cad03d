// The diffusion process of an epsilon-prediction policy, generic over any EpsModel: the noise
// schedule, forward noising, the denoising loss, and the DDIM sampler with per-step log-probs.
export {
  scaledLinearSchedule,
  type NoiseSchedule,
  type DiffusionSchedule,
  type ScaledLinearScheduleOptions,
} from './schedule.js';
export { qSample, type Timesteps } from './q-sample.js';
export { epsLoss, sampleTimesteps, type EpsLossInputs } from './loss.js';
export { gaussianLogProb } from './log-prob.js';
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
} from './ddim.js';
export { ddimTransitions, rowLogProb, type DdimTransitions } from './ddim-transitions.js';
