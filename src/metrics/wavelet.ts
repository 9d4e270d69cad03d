// The LRPO wavelet fidelity term (docs/architecture.md, "The LRPO pipeline"): exp(-15 * L1 of the
// 3-level wavelet low-pass bands of x and gt), on a Haar low-pass pyramid built from engine ops.
import { scope, avgPool2d, abs, exp, mul, sub, concat, slice, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { MetricInputError, checkImagePair, validateImages } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface WaveletFidelityOptions {
  /** Decomposition levels (default 3, the paper's). */
  readonly levels?: number;
  /** The factor in exp(-scale * L1) (default 15, the paper's). */
  readonly scale?: number;
  /**
   * Scale of the low-pass band. 'orthonormal' (default): the Haar DWT's LL band, as PyWavelets and
   * pytorch_wavelets compute it, 2 x the 2x2 mean per level, so level 3 is 8 x the 8x8 block mean.
   * 'average': the plain 2x2 mean per level (the 8x8 block mean at level 3), 8 x smaller L1.
   */
  readonly normalization?: 'orthonormal' | 'average';
}

/**
 * The Haar low-pass (LL) band of NCHW images after `levels` levels: each level averages 2x2
 * blocks (times 2 when orthonormal). An odd height or width first repeats its last row or column,
 * which is PyWavelets' default 'symmetric' extension for Haar, so the band is
 * `pywt.wavedec2(x, 'haar', mode='symmetric', level=levels)[0]` with 'orthonormal'.
 */
export function haarLowpass(x: Tensor, options: Pick<WaveletFidelityOptions, 'levels' | 'normalization'> = {}): Tensor {
  const levels = options.levels ?? 3;
  const gain = (options.normalization ?? 'orthonormal') === 'orthonormal' ? 2 : 1;
  return scope(() => {
    let band = x;
    for (let level = 0; level < levels; level++) {
      const [, , h, w] = band.shape;
      if (h % 2 === 1) band = concat([band, slice(band, [0, 0, h - 1])], { axis: 2 });
      if (w % 2 === 1) band = concat([band, slice(band, [0, 0, 0, w - 1])], { axis: 3 });
      band = avgPool2d(band, { kernel: 2 });
      if (gain !== 1) band = mul(band, gain);
    }
    return band;
  });
}

/**
 * The paper's wavelet fidelity reward per image of NCHW batches x and y (same shape, float32 or
 * float64 in [0, 1]): exp(-15 * L1), where L1 is the mean absolute difference of the level-3 Haar
 * low-pass bands of x and y (over C and the band's pixels; see haarLowpass for the normalization).
 * Returns shape [N], 1 for identical images, falling towards 0 as the coarse content departs.
 * Differentiable (|.| has its usual kink at 0, where the gradient is 0).
 *
 * We take the level-3 band only (the LL band a 3-level DWT returns, pytorch_wavelets' `yl`), not a
 * mean over the three levels: the finer LL bands would re-weight the same low frequencies.
 */
export function waveletFidelity(x: Tensor, y: Tensor, options: WaveletFidelityOptions = {}): Tensor {
  const op = 'waveletFidelity';
  requireOptions(op, options, '{ levels: 3, scale: 15 }');
  const levels = options.levels ?? 3;
  const scale = options.scale ?? 15;
  if (!(Number.isInteger(levels) && levels >= 1))
    throw new MetricInputError(`${op}: levels must be a positive integer, got ${levels}.`);
  if (!(Number.isFinite(scale) && scale >= 0))
    throw new MetricInputError(`${op}: scale must be a non-negative finite number, got ${scale}.`);
  const normalization = options.normalization ?? 'orthonormal';
  if (normalization !== 'orthonormal' && normalization !== 'average') {
    throw new MetricInputError(
      `${op}: normalization must be 'orthonormal' or 'average', got ${JSON.stringify(normalization)}.`,
    );
  }
  checkImagePair(op, x, y);
  return scope(() => {
    const l1 = mean(abs(sub(haarLowpass(x, { levels, normalization }), haarLowpass(y, { levels, normalization }))), {
      axis: [1, 2, 3],
    });
    return exp(mul(l1, -scale));
  });
}

/** waveletFidelity after validateImages: rejects NaNs and values outside [0, 1] (reads the images back). */
export async function waveletFidelityChecked(
  x: Tensor,
  y: Tensor,
  options: WaveletFidelityOptions = {},
): Promise<Tensor> {
  checkImagePair('waveletFidelity', x, y);
  await validateImages('waveletFidelity', [x, y]);
  return waveletFidelity(x, y, options);
}
