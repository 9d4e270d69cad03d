// PSNR per image of an NCHW batch, as scikit-image's peak_signal_noise_ratio, built from engine ops
// so `grad` works through it.
import { scope, div, log, maximum, mul, square, sub, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { MetricInputError, checkImagePair, validateImages } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface PsnrOptions {
  /** Peak-to-peak range of the pixel values (default 1: images in [0, 1]). */
  readonly dataRange?: number;
}

/**
 * The mean squared error is floored at MSE_FLOOR * dataRange^2 before the log, so identical images
 * give a finite 10 * log10(1 / 1e-10) = 100 dB instead of +Infinity, and the gradient there is 0
 * (the floor is a constant) instead of NaN. Above the floor the value is exactly skimage's.
 */
export const PSNR_MSE_FLOOR = 1e-10;

/** Largest value psnr returns (identical images): 100 dB. */
export const PSNR_MAX_DB = -10 * Math.log10(PSNR_MSE_FLOOR);

/**
 * Per-image peak signal-to-noise ratio in dB of NCHW batches x and y (same shape, float32 or
 * float64, values in [0, dataRange]): 10 log10(dataRange^2 / MSE), the MSE taken over C, H and W
 * of each image (scikit-image's `peak_signal_noise_ratio(y_i, x_i, data_range=dataRange)`).
 * Returns shape [N]. Identical images give PSNR_MAX_DB (100 dB), not Infinity, with zero gradient.
 * Differentiable in x and y. Shapes and dtypes are checked here; values are not (see psnrChecked).
 */
export function psnr(x: Tensor, y: Tensor, options: PsnrOptions = {}): Tensor {
  const op = 'psnr';
  requireOptions(op, options, '{ dataRange: 255 }');
  const dataRange = checkDataRange(op, options.dataRange);
  checkImagePair(op, x, y);
  return scope(() => {
    const mse = mean(square(sub(x, y)), { axis: [1, 2, 3] });
    const floored = maximum(mse, PSNR_MSE_FLOOR * dataRange * dataRange);
    // 10 log10(R^2 / mse) = (10 / ln 10) * ln(R^2 / mse)
    return mul(log(div(dataRange * dataRange, floored)), 10 / Math.LN10);
  });
}

/** psnr after validateImages: rejects NaNs and values outside [0, dataRange] (reads the images back). */
export async function psnrChecked(x: Tensor, y: Tensor, options: PsnrOptions = {}): Promise<Tensor> {
  checkImagePair('psnr', x, y);
  await validateImages('psnr', [x, y], { dataRange: checkDataRange('psnr', options.dataRange) });
  return psnr(x, y, options);
}

/** The dataRange option, defaulted to 1; throws MetricInputError naming `op` unless positive and finite. */
export function checkDataRange(op: string, dataRange: number | undefined): number {
  const r = dataRange ?? 1;
  if (!(typeof r === 'number' && Number.isFinite(r) && r > 0)) {
    throw new MetricInputError(
      `${op}: dataRange must be a positive finite number (1 for images in [0, 1], 255 for 8-bit values), got ${r}.`,
    );
  }
  return r;
}
