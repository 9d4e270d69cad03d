// SSIM per image of an NCHW batch, equal to scikit-image's structural_similarity with Gaussian
// weights (Wang et al. 2004), built from engine ops so `grad` works through it.
import { scope, tensor, add, mul, div, square, sub, conv2d, concat, reshape, slice, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { checkDataRange } from './psnr.js';
import { checkImagePair, validateImages } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface SsimOptions {
  /** Peak-to-peak range of the pixel values (default 1). */
  readonly dataRange?: number;
}

/** Gaussian window of skimage's gaussian_weights=True: sigma 1.5, truncate 3.5. */
export const SSIM_SIGMA = 1.5;
/** Window radius as scipy.ndimage computes it: int(truncate * sigma + 0.5) = 5, i.e. 11 taps. */
export const SSIM_RADIUS = Math.floor(3.5 * SSIM_SIGMA + 0.5);
/** Stabilizers of Wang et al. 2004 (C1 = (K1 R)^2, C2 = (K2 R)^2). */
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

/** scipy.ndimage's normalized 1-D Gaussian: exp(-x^2 / (2 sigma^2)) for x in [-r, r], summing to 1. */
export function ssimWindow1d(sigma = SSIM_SIGMA, radius = SSIM_RADIUS): Float64Array {
  const w = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-0.5 * ((i - radius) / sigma) ** 2));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/**
 * Per-image structural similarity of NCHW batches x and y (same shape, float32/float64 in
 * [0, dataRange], H and W >= 11), returned as shape [N]. Equals scikit-image 0.19's
 * `structural_similarity(x_i, y_i, channel_axis=0, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=dataRange)`: the SSIM map of each channel averaged over
 * the pixels at least 5 from every border, then over channels. Differentiable in x and y.
 *
 * skimage filters with mode='reflect' and then crops (win_size - 1) / 2 = 5 pixels from each
 * border before the mean. The 11-tap window centred on any kept pixel lies wholly inside the
 * image, so the boundary mode never reaches the result: a 'valid' separable convolution gives the
 * kept pixels exactly, with no padding (and 2r fewer pixels to filter).
 */
export function ssim(x: Tensor, y: Tensor, options: SsimOptions = {}): Tensor {
  const op = 'ssim';
  requireOptions(op, options, '{ dataRange: 255 }');
  const dataRange = checkDataRange(op, options.dataRange);
  checkImagePair(op, x, y, {
    minSize: 2 * SSIM_RADIUS + 1,
    minSizeReason: 'the 11-tap Gaussian window of SSIM must fit, as in scikit-image',
  });
  const [n, c, h, w] = x.shape;
  const c1 = (SSIM_K1 * dataRange) ** 2;
  const c2 = (SSIM_K2 * dataRange) ** 2;
  return scope(() => {
    // One single-channel filter over the five moments of every channel of every image.
    const moments = concat([x, y, square(x), square(y), mul(x, y)], { axis: 0 }); // [5N, C, H, W]
    const planes = reshape(moments, [5 * n * c, 1, h, w]);
    const g = ssimWindow1d();
    const k = g.length;
    const dtype = planes.dtype;
    const wCol = tensor(g, { shape: [1, 1, k, 1], dtype, backend: x.backend });
    const wRow = tensor(g, { shape: [1, 1, 1, k], dtype, backend: x.backend });
    const filtered = conv2d(conv2d(planes, wCol), wRow); // [5NC, 1, H - 10, W - 10]
    const ho = h - 2 * SSIM_RADIUS;
    const wo = w - 2 * SSIM_RADIUS;
    const m = reshape(filtered, [5, n, c, ho, wo]);
    const part = (i: number) => reshape(slice(m, [i], [i + 1]), [n, c, ho, wo]);
    const [ux, uy, uxx, uyy, uxy] = [0, 1, 2, 3, 4].map(part);
    const uxuy = mul(ux, uy);
    const vx = sub(uxx, square(ux));
    const vy = sub(uyy, square(uy));
    const vxy = sub(uxy, uxuy);
    const numerator = mul(add(mul(uxuy, 2), c1), add(mul(vxy, 2), c2));
    const denominator = mul(add(add(square(ux), square(uy)), c1), add(add(vx, vy), c2));
    return mean(div(numerator, denominator), { axis: [1, 2, 3] });
  });
}

/** ssim after validateImages: rejects NaNs and values outside [0, dataRange] (reads the images back). */
export async function ssimChecked(x: Tensor, y: Tensor, options: SsimOptions = {}): Promise<Tensor> {
  checkImagePair('ssim', x, y);
  await validateImages('ssim', [x, y], { dataRange: checkDataRange('ssim', options.dataRange) });
  return ssim(x, y, options);
}
