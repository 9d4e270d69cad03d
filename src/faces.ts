// The `webgpu-lrpo/faces` entry: procedural faces, dead-leaves pictures, degradations, a folder
// loader, the real-face evaluation set, PNG/JPEG files, and the restoration metrics (PSNR, SSIM,
// wavelet fidelity, BRISQUE, face identity, landmarks, perceptual distance) on the engine.
export {
  faceDataset,
  faceParams,
  generateFace,
  splitOfIdentity,
  SPLIT_IDS,
  FACE_SIZES,
  type FaceSplit,
  type FaceDataset,
  type FaceDatasetOptions,
  type FaceSample,
  type FaceBatch,
  type FaceBatchOptions,
  type FaceStyle,
} from './data/faces.js';
export {
  sampleIdentity,
  sampleNuisance,
  neutralNuisance,
  type FaceIdentity,
  type FaceNuisance,
  type FaceParams,
  type FaceParamsOf,
  type CartoonFaceParams,
  type CartoonIdentity,
  type CartoonNuisance,
  type HairStyle,
  // both styles share the hair styles; the old name stays
  type HairStyle as CartoonHairStyle,
  type Rgb,
} from './data/face-params.js';
export { renderFace } from './data/face-render.js';
export { deadLeaves, powerLawRadius } from './data/dead-leaves.js';
export {
  degrade,
  defaultDegradation,
  degradationConfig,
  sampleDegradation,
  gaussianKernel,
  blurImages,
  jpegRoundTrip,
  type DegradationConfig,
  type DegradationParams,
  type DegradeResult,
} from './data/degrade.js';
export { resizeBilinear, type ResizeOptions } from './data/resize.js';
export { readFaceFolder, listImageFiles, type FaceFolder, type FaceFolderOptions } from './data/folder.js';
// real-face evaluation set: aligned crops of face-api's demo photos, built offline on first use; evaluation only
export {
  loadRealFaces,
  buildRealFaces,
  readRealFacesIndex,
  realFacesDir,
  realFaceSources,
  RealFacesError,
  REAL_FACE_SIZES,
  REAL_FACES_DIR_ENV,
  REAL_FACES_VERSION,
  type RealFaces,
  type RealFaceSize,
  type RealFaceEntry,
  type RealFacesIndex,
  type LoadRealFacesOptions,
  type BuildRealFacesOptions,
} from './data/real-faces.js';
export { ffhqQuad } from './data/ffhq-align.js';
// image files
export {
  ImageError,
  encodePng,
  decodePng,
  encodeJpeg,
  decodeJpeg,
  decodeImage,
  MAX_IMAGE_PIXELS,
  type RgbImage,
  type ImageFormat,
} from './io/codecs.js';
export {
  readImage,
  writeImage,
  chwToTensor,
  tensorToCHW,
  type ImageCHW,
  type ReadImageOptions,
  type WriteImageOptions,
} from './io/image.js';
export { writeImageGrid, type ImageGridOptions } from './io/grid.js';
export {
  readTfjsWeights,
  WeightsError,
  type TfjsWeightGroup,
  type TfjsWeightSpec,
  type TfjsQuantization,
} from './io/tfjs-weights.js';
// metrics; the ...Checked forms also read the images back to reject NaNs and out-of-range values
export { psnr, psnrChecked, PSNR_MAX_DB, type PsnrOptions } from './metrics/psnr.js';
export { ssim, ssimChecked, type SsimOptions } from './metrics/ssim.js';
export {
  waveletFidelity,
  waveletFidelityChecked,
  haarLowpass,
  type WaveletFidelityOptions,
} from './metrics/wavelet.js';
export { validateImages, MetricInputError } from './metrics/validate.js';
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
} from './metrics/brisque.js';
export {
  faceEmbedding,
  identitySimilarity,
  loadFaceRecognitionParams,
  type FaceRecognitionParams,
} from './metrics/face-embedding/face-recognition-net.js';
export {
  faceLandmarks68,
  landmarkDistance,
  loadFaceLandmarkParams,
  type FaceLandmarkParams,
} from './metrics/face-landmarks/face-landmark-net.js';
// LPIPS-style distance on face-ResNet features with unit weights (not LPIPS)
export {
  perceptualDistance,
  perceptualSimilarity,
  type PerceptualDistanceOptions,
  type PerceptualSimilarityOptions,
} from './metrics/perceptual.js';
export {
  faceFeatureMaps,
  FACE_FEATURE_LAYERS,
  type FaceFeatureLayer,
  type FaceFeatureSource,
} from './metrics/face-embedding/features.js';
export { faceEmbeddingChecked, landmarkDistanceChecked } from './metrics/face-checked.js';
export {
  detailQuality,
  detailQualityParts,
  type DetailQualityOptions,
  type DetailQualityParts,
} from './metrics/detail-quality.js';
