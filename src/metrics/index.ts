// Image metrics on the engine (issue 6, item 3): PSNR, SSIM and the LRPO wavelet fidelity term.
export { psnr, psnrChecked, PSNR_MAX_DB, PSNR_MSE_FLOOR, type PsnrOptions } from './psnr.js';
export { ssim, ssimChecked, ssimWindow1d, type SsimOptions } from './ssim.js';
export { waveletFidelity, waveletFidelityChecked, haarLowpass, type WaveletFidelityOptions } from './wavelet.js';
export { validateImages, MetricInputError, RANGE_TOLERANCE } from './validate.js';
export {
  brisque,
  brisqueFeatures,
  BRISQUE_MIN_SIZE,
  loadBrisqueModel,
  BrisqueModelError,
  BRISQUE_MODEL_DIR_ENV,
  type BrisqueOptions,
  type BrisqueModel,
  type BrisqueModelOptions,
} from './brisque.js';
// face landmarks (issue 6): face-api's 68-point landmark net on our engine, and the landmark distance (LMD) in pixels
export {
  faceLandmarks68,
  landmarkDistance,
  loadFaceLandmarkParams,
  LANDMARK_INPUT_SIZE,
  LANDMARK_COUNT,
  type FaceLandmarkParams,
} from './face-landmarks/index.js';
// LPIPS-style perceptual distance on face-ResNet feature maps, unit channel weights (not LPIPS).
export {
  perceptualDistance,
  perceptualSimilarity,
  PERCEPTUAL_LAYER_MAX,
  type PerceptualDistanceOptions,
  type PerceptualSimilarityOptions,
} from './perceptual.js';
export {
  faceFeatureMaps,
  FACE_FEATURE_LAYERS,
  type FaceFeatureLayer,
  type FaceFeatureSource,
} from './face-embedding/features.js';
export { faceEmbeddingChecked, landmarkDistanceChecked } from './face-checked.js';
// detailQuality: the default no-reference reward term (detail minus noise and JPEG blocking), differentiable, for 32-64 px faces
export {
  detailQuality,
  detailQualityParts,
  type DetailQualityOptions,
  type DetailQualityParts,
} from './detail-quality.js';
