// BRISQUE no-reference image quality (Mittal, Moorthy and Bovik 2012) with OpenCV's trained LIVE
// model from Debian's opencv-data: features in brisque-features.ts, model files in
// brisque-model.ts, the SVR in brisque-svr.ts. Scores match cv2.quality.QualityBRISQUE_compute.
//
// Design: BRISQUE is async and not differentiable. Its AGGD fits are a grid search over counts and
// sums of the MSCN coefficients, which has no useful gradient, so the images are read back once
// and all the rest (filtering included, in OpenCV's float32 order) runs on the host. Because it reads the data anyway it always checks
// values (NaN, range) too: there is no separate brisqueChecked.
import { tensor, ShapeError } from '../index.js';
import type { Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { brisqueFeaturesOfPlanes, grayPlanes } from './brisque-features.js';
import { loadBrisqueModel, type BrisqueModelOptions } from './brisque-model.js';
import { predictBrisqueScore, scaleBrisqueFeatures } from './brisque-svr.js';
import { checkImages, validateImages } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface BrisqueOptions extends BrisqueModelOptions {
  /**
   * Round pixels to 8 bits before the gray conversion, as OpenCV does with a uint8 image (default
   * true: what a saved PNG/JPEG of the image would score). false uses the float values, as OpenCV
   * does with a float image on the 0..255 scale.
   */
  readonly eightBit?: boolean;
}

/** Smallest height and width: the half-size scale must still hold the 7x7 window. */
export const BRISQUE_MIN_SIZE = 16;

/**
 * BRISQUE quality score per image of an NCHW batch in [0, 1] (C = 3 RGB, 4 RGBA with alpha
 * ignored, or 1 gray), as a float32 tensor [N] on the images' backend: 0 is best, 100 worst
 * (OpenCV's clamp). Equals OpenCV's `cv2.quality.QualityBRISQUE_compute(bgr8, model, range)` on the
 * 8-bit BGR version of each image. Needs brisque_model_live.yml and brisque_range_live.yml
 * (`apt-get install opencv-data`; see BrisqueModelOptions for other places). Async (one readback
 * per scale) and not differentiable.
 *
 * @example
 * const scores = await brisque(images);   // [N], lower is better
 */
export async function brisque(imagesNCHW: Tensor, options: BrisqueOptions = {}): Promise<Tensor> {
  requireOptions('brisque', options, "{ modelDir: '/usr/share/opencv4/quality' }");
  const features = await brisqueFeatures(imagesNCHW, options);
  const model = loadBrisqueModel(options);
  const scores = features.map((f) => predictBrisqueScore(scaleBrisqueFeatures(f, model), model));
  return tensor(Float32Array.from(scores), { shape: [scores.length], dtype: 'float32', backend: imagesNCHW.backend });
}

/**
 * The 36 unscaled BRISQUE features of each image (OpenCV's QualityBRISQUE::computeFeatures order:
 * per scale, MSCN GGD shape and variance, then shape, mean, left and right variance of the
 * H, V, D1 and D2 paired products). Checks shapes and values like brisque.
 */
export async function brisqueFeatures(
  imagesNCHW: Tensor,
  options: Pick<BrisqueOptions, 'eightBit'> & BrisqueModelOptions = {},
): Promise<Float32Array[]> {
  const op = 'brisque';
  checkImages(op, imagesNCHW, 'images', {
    minSize: BRISQUE_MIN_SIZE,
    minSizeReason: 'the 7x7 window of BRISQUE must fit at half size',
  });
  const [, c] = imagesNCHW.shape;
  if (c !== 1 && c !== 3 && c !== 4) {
    throw new ShapeError(
      `${op}: images ${fmtShape(imagesNCHW.shape)} have ${c} channels; BRISQUE takes RGB (3), RGBA (4) or gray (1) NCHW images.`,
    );
  }
  loadBrisqueModel(options); // fail on a missing model before any work
  await validateImages(op, [imagesNCHW]);
  const pixels = await imagesNCHW.data();
  const planes = grayPlanes(pixels, imagesNCHW.shape, options.eightBit ?? true);
  return brisqueFeaturesOfPlanes(planes);
}

export {
  loadBrisqueModel,
  BrisqueModelError,
  BRISQUE_MODEL_DIR_ENV,
  type BrisqueModel,
  type BrisqueModelOptions,
} from './brisque-model.js';
