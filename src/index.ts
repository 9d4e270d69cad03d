// The package entry `webgpu-lrpo`: the engine only (tensors, ops, random numbers, autodiff and
// transforms, optimizers, profiling, memory, devices, safetensors files); docs/architecture.md,
// "The public API". The application layers have entries of their own: `webgpu-lrpo/nn` (src/nn.ts),
// `webgpu-lrpo/faces` (src/faces.ts), `webgpu-lrpo/lrpo` (src/lrpo.ts), `webgpu-lrpo/report`
// (src/report.ts), `webgpu-lrpo/testing`. Nothing here imports an application folder.
export { Tensor, type NestedArray } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export type { Shape } from './tensor/shape.js';
export type { BackendName, BackendInfo } from './kernels/backend.js';
export { ShapeError, DTypeError, DisposedTensorError, BackendError, ArgumentError } from './tensor/errors.js';

// device
export { setBackend, getBackend, ready, shutdown, isBackendStarted, sync, backendInfo } from './tensor/backends.js';
export {
  profile,
  startProfile,
  named,
  profileSvg,
  type ProfileSession,
  type Profile,
  type ProfileOptions,
  type ProfileRow,
  type ProfileTiming,
  type TableOptions,
} from './profile/index.js';
// memory
export { scope, tidy, keep, dispose, memory, type MemoryInfo } from './tensor/memory.js';
export { treeLeaves, treeMap, type Tree } from './tensor/pytree.js';
// creation
export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  linspace,
  toBackend,
  type CreateOptions,
  type TensorData,
} from './tensor/ops/creation.js';
// PRNG
export { PRNGKey, key, split, foldIn, uniform, normal, randomBits, permutation, STREAMS } from './random/index.js';
// elementwise
export {
  cast,
  neg,
  abs,
  sign,
  square,
  relu,
  exp,
  log,
  sqrt,
  rsqrt,
  reciprocal,
  sin,
  cos,
  tanh,
  sigmoid,
  silu,
  gelu,
  erf,
  floor,
  ceil,
  round,
  logicalNot,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  equal,
  notEqual,
  less,
  lessEqual,
  greater,
  greaterEqual,
  logicalAnd,
  logicalOr,
  where,
  clamp,
} from './tensor/ops/elementwise.js';
// reductions
export {
  sum,
  prod,
  max,
  min,
  mean,
  variance,
  logSumExp,
  argmax,
  argmin,
  type ReduceOptions,
} from './tensor/ops/reduce.js';
// movement
export {
  reshape,
  transpose,
  broadcastTo,
  expandDims,
  squeeze,
  slice,
  concat,
  stack,
  pad,
  flatten,
} from './tensor/ops/movement.js';
// linear algebra and nn
export { matmul } from './tensor/ops/linalg.js';
export {
  conv2d,
  convTranspose2d,
  avgPool2d,
  maxPool2d,
  upsampleNearest2d,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type Pool2dOptions,
} from './tensor/ops/conv.js';
export {
  softmax,
  logSoftmax,
  standardize,
  standardizeBackward,
  layerNorm,
  groupNorm,
  type LayerNormOptions,
  type GroupNormOptions,
} from './tensor/ops/normalization.js';
export { attention } from './tensor/ops/attention.js';
export { take, gather } from './tensor/ops/indexing.js';
// primitives (for transform and op authors)
export {
  bind,
  observePrimitives,
  type Primitive,
  type PrimitiveParams,
  type PrimitiveObserver,
} from './tensor/primitives.js';
// autodiff
export {
  grad,
  valueAndGrad,
  vjp,
  jvp,
  linearize,
  vmap,
  jacfwd,
  jacrev,
  hessian,
  stopGradient,
  checkGrad,
  checkJvp,
  type GradOptions,
  type Pullback,
  type Linearized,
  type VmapOptions,
  type AxisSpec,
  type JacobianOptions,
  type JacobianOf,
  type CheckGradOptions,
  type CheckGradReport,
} from './autograd/index.js';
// recorded calls: a fixed-shape call's kernels recorded once and replayed
export { jit, type Jitted, type JitOptions } from './tensor/jit.js';
// optimizers (issue 5): AdamW, global-norm clipping and learning-rate schedules as pure functions over param trees
export {
  adamw,
  clipGradNorm,
  constantSchedule,
  linearWarmup,
  cosineDecay,
  disposeTree,
  saveAdamWState,
  loadAdamWState,
  ADAMW_STATE_FORMAT,
  type AdamWOptions,
  type AdamWState,
  type Optimizer,
  type Schedule,
} from './optim/index.js';
// safetensors files: param trees and optimizer state (F16/BF16/I64 load as float32/int32)
export {
  saveSafetensors,
  loadSafetensors,
  SafetensorsError,
  type LoadSafetensorsOptions,
  type LoadedSafetensors,
  type TensorSpec,
  type LoadedTree,
} from './io/safetensors.js';
// Types the public functions take or return, for users who name them (and for the API reference, npm run docs).
export type { AnyTypedArray } from './tensor/dtype.js';
export type { FormatOptions } from './tensor/format.js';
export type { TensorLike } from './tensor/ops/operand.js';
export type { IntOrPair } from './tensor/ops/conv.js';
export type { RandomOptions } from './random/index.js';
export type { Argnums, GradsOf } from './autograd/grad.js';
