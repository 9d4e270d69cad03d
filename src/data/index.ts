// Face data: the procedural face generator and its splits, the degradation model, bilinear
// resizing, and a loader for a user's own folder of face images.
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
} from './faces.js';
export {
  sampleIdentity,
  sampleNuisance,
  neutralNuisance,
  type FaceIdentity,
  type FaceNuisance,
  type FaceParams,
  type HairStyle,
  type Rgb,
} from './face-params.js';
export { renderFace } from './face-render.js';
export {
  degrade,
  defaultDegradation,
  degradationConfig,
  sampleDegradation,
  gaussianKernel,
  blurImages,
  blurKernelSize,
  jpegRoundTrip,
  type DegradationConfig,
  type DegradationParams,
  type DegradeResult,
} from './degrade.js';
export { resizeBilinear, resizeHostCHW, bilinearWeights, type ResizeOptions } from './resize.js';
export { readFaceFolder, listImageFiles, type FaceFolder, type FaceFolderOptions } from './folder.js';
