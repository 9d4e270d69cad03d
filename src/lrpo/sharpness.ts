// A differentiable no-reference sharpness proxy: the variance of the Laplacian of the luma,
// squashed to [0, 1). It was the default no-reference reward term until detailQuality
// (metrics/detail-quality.ts) replaced it, because it rewards noise; kept as a pluggable option.
import { scope, tensor, add, div, conv2d, variance } from '../index.js';
import type { Tensor } from '../index.js';
import { MetricInputError, checkImages } from '../metrics/validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface LaplacianSharpnessOptions {
  /**
   * The Laplacian variance that maps to 0.5 (default 0.01; a sharp 64 px procedural face scores
   * about 0.78, blur sigma 1 about 0.13, noise sigma 0.15 about 0.96: tests/lrpo-reward.test.ts). The score is v / (v + halfPoint).
   */
  readonly halfPoint?: number;
}

/** ITU-R BT.601 luma weights, as OpenCV's RGB2GRAY, so the proxy sees what BRISQUE would. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * laplacianSharpness: for NCHW images in [0, 1] (1 or 3 channels), the variance over pixels of
 * the 4-neighbour Laplacian of the luma ('valid', no border), v, mapped to v / (v + halfPoint)
 * in [0, 1). Returns [N]; differentiable. The classic focus measure: it falls with blur, but it
 * also RISES with noise and JPEG ringing (it cannot tell detail from noise), and it depends on
 * resolution (a Laplacian in pixel units). defaultReward uses detailQuality instead, which
 * falls with noise and blocking.
 */
export function laplacianSharpness(images: Tensor, options: LaplacianSharpnessOptions = {}): Tensor {
  const op = 'laplacianSharpness';
  requireOptions(op, options, '{ halfPoint: 0.01 }');
  const halfPoint = options.halfPoint ?? 0.01;
  if (!(Number.isFinite(halfPoint) && halfPoint > 0))
    throw new MetricInputError(`${op}: halfPoint must be a positive finite number, got ${halfPoint}.`);
  checkImages(op, images, 'images', { minSize: 3, minSizeReason: 'the 3x3 Laplacian' });
  const c = images.shape[1];
  if (c !== 1 && c !== 3)
    throw new MetricInputError(`${op}: images must have 1 or 3 channels (gray or RGB), got ${c}.`);
  return scope(() => {
    const lap = [0, 1, 0, 1, -4, 1, 0, 1, 0];
    // Luma and Laplacian in one 3x3 convolution: out = sum_c luma_c * (lap * x_c).
    const weights = c === 1 ? lap : LUMA.flatMap((l) => lap.map((v) => v * l));
    const kernel = tensor(weights, { shape: [1, c, 3, 3], dtype: images.dtype, backend: images.backend });
    const v = variance(conv2d(images, kernel), { axis: [1, 2, 3] });
    return div(v, add(v, halfPoint));
  });
}
