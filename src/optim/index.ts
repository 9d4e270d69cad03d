// Optimizers as pure functions over param trees: AdamW, gradient clipping, learning-rate schedules.
export { adamw, type AdamWOptions, type AdamWState, type Optimizer } from './adamw.js';
export { clipGradNorm } from './clip.js';
export { constantSchedule, linearWarmup, cosineDecay, type Schedule } from './schedules.js';
export { disposeTree } from './tree-util.js';
export { saveAdamWState, loadAdamWState, ADAMW_STATE_FORMAT } from './state-file.js';
