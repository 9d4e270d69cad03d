// Face identity (issue 6): face-api's 128-d face descriptor on our engine, and the cosine identity reward.
export {
  faceEmbedding,
  identitySimilarity,
  loadFaceRecognitionParams,
  faceRecognitionManifestPath,
  facePreprocess,
  tfjsBilinearWeights,
  FACE_INPUT_SIZE,
  FACE_MEAN_RGB,
  type FaceRecognitionParams,
  type FaceConvParams,
  type FaceResidualParams,
} from './face-recognition-net.js';
