// The package entry: every public name of the engine (docs/architecture.md, "The public API").
export { Tensor, type NestedArray } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export type { Shape } from './tensor/shape.js';
export type { BackendName, BackendInfo } from './kernels/backend.js';
export { ShapeError, DTypeError, DisposedTensorError, BackendError, ArgumentError } from './tensor/errors.js';

// device
export { setBackend, getBackend, ready, shutdown, isBackendStarted, sync, backendInfo } from './tensor/backends.js';
export { profile, startProfile, named, profileSvg, type ProfileSession, type Profile, type ProfileOptions, type ProfileRow, type ProfileTiming, type TableOptions } from './profile/index.js';
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
  neg, abs, sign, square, relu, exp, log, sqrt, rsqrt, reciprocal, sin, cos, tanh, sigmoid, silu, gelu, erf, floor, ceil, round, logicalNot,
  add, sub, mul, div, pow, maximum, minimum, equal, notEqual, less, lessEqual, greater, greaterEqual, logicalAnd, logicalOr,
  where, clamp,
} from './tensor/ops/elementwise.js';
// reductions
export { sum, prod, max, min, mean, variance, logSumExp, argmax, argmin, type ReduceOptions } from './tensor/ops/reduce.js';
// movement
export { reshape, transpose, broadcastTo, expandDims, squeeze, slice, concat, stack, pad, flatten } from './tensor/ops/movement.js';
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
export { softmax, logSoftmax, layerNorm, groupNorm, type LayerNormOptions, type GroupNormOptions } from './tensor/ops/normalization.js';
export { take, gather } from './tensor/ops/indexing.js';
// primitives (for transform and op authors)
export { bind, observePrimitives, type Primitive, type PrimitiveParams, type PrimitiveObserver } from './tensor/primitives.js';
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
// face data and image files (issue 6): procedural faces, degradation, folder loader, PNG/JPEG
export {
  faceDataset,
  faceParams,
  generateFace,
  renderFace,
  sampleIdentity,
  sampleNuisance,
  splitOfIdentity,
  SPLIT_IDS,
  degrade,
  defaultDegradation,
  resizeBilinear,
  readFaceFolder,
  type FaceSplit,
  type FaceDataset,
  type FaceDatasetOptions,
  type FaceSample,
  type FaceBatch,
  type FaceParams,
  type FaceIdentity,
  type FaceNuisance,
  type DegradationConfig,
  type DegradationParams,
  type DegradeResult,
  type FaceFolder,
  type FaceFolderOptions,
} from './data/index.js';
export {
  readImage,
  writeImage,
  writeImageGrid,
  encodePng,
  decodePng,
  encodeJpeg,
  decodeJpeg,
  decodeImage,
  ImageError,
  type RgbImage,
  type ImageGridOptions,
} from './io/index.js';
// image metrics (issue 6): PSNR, SSIM (scikit-image's), the LRPO wavelet fidelity term; the
// ...Checked forms also read the images back to reject NaNs and out-of-range values
export {
  psnr,
  psnrChecked,
  ssim,
  ssimChecked,
  waveletFidelity,
  waveletFidelityChecked,
  haarLowpass,
  validateImages,
  MetricInputError,
  PSNR_MAX_DB,
  type PsnrOptions,
  type SsimOptions,
  type WaveletFidelityOptions,
} from './metrics/index.js';
// face identity (issue 6): face-api's FaceRecognitionNet descriptor on our engine, and tfjs weight files
export {
  faceEmbedding,
  identitySimilarity,
  loadFaceRecognitionParams,
  type FaceRecognitionParams,
} from './metrics/face-embedding/index.js';
export { readTfjsWeights, WeightsError, type TfjsWeightGroup, type TfjsWeightSpec, type TfjsQuantization } from './io/tfjs-weights.js';
export { brisque, brisqueFeatures, loadBrisqueModel, BrisqueModelError, BRISQUE_MODEL_DIR_ENV, BRISQUE_MIN_SIZE, type BrisqueOptions, type BrisqueModel, type BrisqueModelOptions } from './metrics/index.js';
// face landmarks (issue 6): face-api's FaceLandmark68Net on our engine, and the landmark distance (LMD) in pixels
export { faceLandmarks68, landmarkDistance, loadFaceLandmarkParams, type FaceLandmarkParams } from './metrics/face-landmarks/index.js';
// perceptual distance (issue 6): LPIPS-style on face-ResNet features with unit weights (not LPIPS)
export {
  perceptualDistance,
  perceptualSimilarity,
  faceFeatureMaps,
  FACE_FEATURE_LAYERS,
  type PerceptualDistanceOptions,
  type PerceptualSimilarityOptions,
  type FaceFeatureLayer,
  type FaceFeatureSource,
} from './metrics/index.js';
// LRPO (issues 6, 7): the composite reward, advantages, the objective, rollouts and the training fold
export * from './lrpo/index.js';
// real-face evaluation set (issue 6): aligned crops of face-api's demo photos, built offline on first use; evaluation only
export { loadRealFaces, buildRealFaces, readRealFacesIndex, realFacesDir, realFaceSources, ffhqQuad, RealFacesError, REAL_FACE_SIZES, REAL_FACES_DIR_ENV, REAL_FACES_VERSION, type RealFaces, type RealFaceSize, type RealFaceEntry, type RealFacesIndex, type LoadRealFacesOptions, type BuildRealFacesOptions } from './data/real-faces.js';
export { faceEmbeddingChecked, landmarkDistanceChecked } from './metrics/index.js';
// optimizers (issue 5): AdamW, global-norm clipping and learning-rate schedules as pure functions over param trees
export { adamw, clipGradNorm, constantSchedule, linearWarmup, cosineDecay, disposeTree, type AdamWOptions, type AdamWState, type Optimizer, type Schedule } from './optim/index.js';
// checkpoints (issue 5): param trees and optimizer state as safetensors files
export { saveSafetensors, loadSafetensors, SafetensorsError } from './io/safetensors.js';
// the diffusion policy (issue 5): layers, the conditional UNet, the noise schedule and DDIM with log-probs
export * from './models/index.js';
// training and evaluating the policy (issues 5, 7): pairs, SFT, checkpoints, run folders, metrics table
export * from './train/index.js';
// reports (issue 7): markdown tables with 95% intervals, SVG charts, report.md with its figures
export * from './report/index.js';
// Types the public functions take or return, for users who name them (and for the API reference, npm run docs).
export type { AnyTypedArray } from './tensor/dtype.js';
export type { TensorLike } from './tensor/ops/operand.js';
export type { IntOrPair } from './tensor/ops/conv.js';
export type { RandomOptions } from './random/index.js';
export type { Argnums, GradsOf } from './autograd/grad.js';
export type { ReadImageOptions, WriteImageOptions } from './io/image.js';
export type { ResizeOptions } from './data/resize.js';
export type { FaceBatchOptions } from './data/faces.js';
