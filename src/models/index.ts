// The diffusion policy's pieces: shared contracts, layers, the conditional UNet (and, from the diffusion helper, schedules and samplers).
export type { ParamTree, EpsModel } from './types.js';
export * from './layers/index.js';
export {
  UNET_PRESETS,
  unetPlan,
  validateUnetConfig,
  unetSizeMultiple,
  type UNetConfig,
  type UNetPlan,
  type LevelPlan,
  type ResPlan,
} from './unet-config.js';
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
} from './unet.js';
export { unetStats, type UNetStats } from './unet-stats.js';
export * from './diffusion/index.js';
