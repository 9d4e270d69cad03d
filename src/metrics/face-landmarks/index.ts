// Face landmarks (issue 6): face-api's 68-point landmark net on our engine, and the landmark distance (LMD).
export {
  faceLandmarks68,
  landmarkDistance,
  loadFaceLandmarkParams,
  faceLandmarkManifestPath,
  landmarkPreprocess,
  LANDMARK_INPUT_SIZE,
  LANDMARK_COUNT,
  type FaceLandmarkParams,
  type LandmarkConvParams,
  type LandmarkSeparableConvParams,
  type LandmarkDenseBlockParams,
} from './face-landmark-net.js';
