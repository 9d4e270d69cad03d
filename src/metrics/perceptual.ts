// An LPIPS-style perceptual distance over face-ResNet feature maps with unit channel weights.
// It is NOT LPIPS: LPIPS (Zhang et al. 2018) uses AlexNet/VGG features and learned per-channel
// weights, neither of which exists offline here. We keep LPIPS's recipe (eq. 1 of the paper) and
// swap the network for face-api's FaceRecognitionNet and the learned weights for ones.
import { FACE_FEATURE_LAYERS, faceFeatureMaps, type FaceFeatureLayer } from './face-embedding/features.js';
import type { FaceRecognitionParams } from './face-embedding/face-recognition-net.js';
import {
  ShapeError,
  scope,
  add,
  minimum,
  mul,
  rsqrt,
  square,
  sub,
  concat,
  reshape,
  slice,
  mean,
  sum,
} from '../index.js';
import type { Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { MetricInputError, checkImagePair } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface PerceptualDistanceOptions {
  /** Feature taps of the face ResNet (default FACE_FEATURE_LAYERS: the end of each of its five stages). */
  readonly layers?: readonly FaceFeatureLayer[];
}

/**
 * LPIPS's normalisation floor, added to the squared channel norm: a feature vector that is all
 * zero (common after a ReLU) normalises to zero instead of 0/0, and the gradient stays finite.
 */
const NORM_EPS = 1e-10;

/**
 * Per-layer upper bound of perceptualDistance: the taps are ReLU outputs, so two unit-normalised
 * feature vectors a, b >= 0 have |a - b|^2 = 2 - 2 a.b <= 2 (and 0 where one of them is all zero
 * is at most 1). With L layers the distance lies in [0, 2L].
 */
export const PERCEPTUAL_LAYER_MAX = 2;

/** Scales each spatial feature vector of an NCHW map to unit L2 norm over channels (LPIPS's normalize_tensor). */
function unitNormalizeChannels(features: Tensor): Tensor {
  return mul(features, rsqrt(add(sum(square(features), { axis: 1, keepdims: true }), NORM_EPS)));
}

/**
 * An LPIPS-style distance between NCHW RGB image batches x and y in [0, 1] (same shape, any
 * size: padded to square and resized to 150x150 as faceEmbedding does), on the feature maps of
 * face-api's face-recognition ResNet with unit channel weights. LPIPS-style, face-ResNet
 * features, unit weights: not LPIPS, and not comparable with published LPIPS numbers.
 *
 * Per layer l (default: the end of each of the net's five stages, see FACE_FEATURE_LAYERS):
 * normalise each pixel's feature vector to unit L2 norm over channels, take the squared
 * difference, SUM over channels (LPIPS's learned 1x1 weights replaced by ones), MEAN over the
 * layer's pixels; then SUM over layers. Returns [N]: 0 for identical images, at most
 * 2 x layers.length (PERCEPTUAL_LAYER_MAX per layer). Symmetric and differentiable.
 */
export function perceptualDistance(
  params: FaceRecognitionParams,
  x: Tensor,
  y: Tensor,
  options: PerceptualDistanceOptions = {},
): Tensor {
  const op = 'perceptualDistance';
  requireOptions(op, options, '{ layers: FACE_FEATURE_LAYERS }');
  checkImagePair(op, x, y);
  if (x.shape[1] !== 3) {
    throw new ShapeError(
      `${op}: images must be RGB [N, 3, H, W] (the face ResNet takes three channels), got ${x.shape[1]} channels; repeat a gray channel with concat([g, g, g], { axis: 1 }).`,
    );
  }
  const layers = options.layers ?? FACE_FEATURE_LAYERS;
  const n = x.shape[0];
  return scope(() => {
    // One pass over x and y stacked along the batch: half the dispatches of two passes.
    const maps = faceFeatureMaps(params, concat([x, y], { axis: 0 }), layers);
    return featureMapDistance(
      maps.map((m) => slice(m, [0], [n])),
      maps.map((m) => slice(m, [n], [2 * n])),
    );
  });
}

/**
 * perceptualDistance's formula on feature maps already computed (e.g. by faceFeatures, whose
 * pass also gives the identity descriptor): per layer, unit-normalise channels, squared
 * difference summed over channels, mean over pixels; summed over layers. [N].
 *
 * mapsY may hold one row per group instead of one per row of mapsX: G rows for N = G * K, each
 * compared with its group's K consecutive rows of mapsX (a group's candidates against their one
 * reference), normalised once and broadcast rather than repeated.
 */
export function featureMapDistance(mapsX: readonly Tensor[], mapsY: readonly Tensor[]): Tensor {
  const fits = (mx: Tensor, my: Tensor | undefined) =>
    my !== undefined &&
    mx.rank === 4 &&
    my.rank === 4 &&
    (my.shape[0] === mx.shape[0] || (my.shape[0] > 0 && mx.shape[0] % my.shape[0] === 0)) &&
    mx.shape.slice(1).join() === my.shape.slice(1).join();
  if (
    mapsX.length === 0 ||
    mapsX.length !== mapsY.length ||
    mapsX.some((m, i) => !fits(m, mapsY[i]) || mapsY[i].shape[0] !== mapsY[0].shape[0])
  ) {
    throw new ShapeError(
      `featureMapDistance: expected two equal-length lists of NCHW maps of matching shapes (the second may have G rows for the first's G * K), got [${mapsX.map((m) => fmtShape(m.shape)).join(', ')}] and [${mapsY.map((m) => fmtShape(m.shape)).join(', ')}].`,
    );
  }
  return scope(() => {
    let total: Tensor | undefined;
    for (const [i, mx] of mapsX.entries()) {
      const [n, c, h, w] = mx.shape;
      const g = mapsY[i].shape[0];
      // [G, K, C, H, W] against [G, 1, C, H, W]: K = 1 is the plain row-by-row comparison.
      const nx = reshape(unitNormalizeChannels(mx), [g, g === 0 ? 1 : n / g, c, h, w]);
      const ny = reshape(unitNormalizeChannels(mapsY[i]), [g, 1, c, h, w]);
      const perLayer = reshape(mean(sum(square(sub(nx, ny)), { axis: 2 }), { axis: [2, 3] }), [n]);
      total = total ? add(total, perLayer) : perLayer;
    }
    return total!;
  });
}

export interface PerceptualSimilarityOptions extends PerceptualDistanceOptions {
  /** The distance that maps to similarity 0 (default: the number of layers, i.e. a mean of 1 per layer). */
  readonly scale?: number;
}

/**
 * 1 - min(perceptualDistance / scale, 1): the distance mapped linearly onto [0, 1], 1 for
 * identical images, 0 from `scale` on (default scale: one per layer, half the exact bound 2 per
 * layer, so ordinary degradations use the range: on 64-128 px procedural faces Gaussian noise
 * sigma 0.2 or blur sigma 5 give a distance of about 1.3-2.6 of 5, similarity 0.5-0.75). The
 * gradient is zero only past `scale`. The stand-in for the paper's 1 - LPIPS reward term; see
 * perceptualDistance for what it is not.
 */
export function perceptualSimilarity(
  params: FaceRecognitionParams,
  x: Tensor,
  y: Tensor,
  options: PerceptualSimilarityOptions = {},
): Tensor {
  requireOptions('perceptualSimilarity', options, '{ scale: 5 }');
  const layers = options.layers ?? FACE_FEATURE_LAYERS;
  const scale = options.scale ?? layers.length;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new MetricInputError(`perceptualSimilarity: scale must be a positive finite number, got ${scale}.`);
  return scope(() => similarityOfDistance(perceptualDistance(params, x, y, options), scale));
}

/** perceptualSimilarity's mapping of a distance onto [0, 1]: 1 - min(distance / scale, 1). */
export const similarityOfDistance = (distance: Tensor, scale: number): Tensor =>
  scope(() => sub(1, minimum(mul(distance, 1 / scale), 1)));
