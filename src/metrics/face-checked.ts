// Checked forms of the face-network metrics: the synchronous, differentiable functions check
// shapes only (values need a readback); these also refuse NaNs and values outside [0, 1].
import type { Tensor } from '../index.js';
import { faceEmbedding, type FaceRecognitionParams } from './face-embedding/index.js';
import { landmarkDistance, type FaceLandmarkParams } from './face-landmarks/index.js';
import { validateImages } from './validate.js';

/** faceEmbedding after checking the images are finite and in [0, 1]. */
export async function faceEmbeddingChecked(params: FaceRecognitionParams, imagesNCHW: Tensor): Promise<Tensor> {
  await validateImages('faceEmbedding', [imagesNCHW]);
  return faceEmbedding(params, imagesNCHW);
}

/** landmarkDistance after checking both batches are finite and in [0, 1]. */
export async function landmarkDistanceChecked(
  restoredNCHW: Tensor,
  gtNCHW: Tensor,
  params: FaceLandmarkParams,
): Promise<Tensor> {
  await validateImages('landmarkDistance', [restoredNCHW, gtNCHW]);
  return landmarkDistance(restoredNCHW, gtNCHW, params);
}
