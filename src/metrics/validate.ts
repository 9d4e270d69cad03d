// Input checks shared by the image metrics: cheap synchronous shape/dtype checks inside every
// metric, and an async value check (range, NaN) that needs a readback and so lives apart.
//
// Design: psnr, ssim and waveletFidelity stay synchronous and differentiable (they only record
// ops), so they check what the host knows without reading data: rank, batch size, channel count,
// spatial size, matching shapes, float dtype. Value problems (NaN, values outside [0, dataRange])
// need the data; `validateImages` reads it back, and the `...Checked` wrappers in the metric
// files run it before the metric. Use the checked forms at API boundaries (user images, eval
// scripts) and the plain forms inside training loops and `grad`.
import { DTypeError, ShapeError, Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';

/** A metric input with bad values (NaN, infinite, or outside the data range). */
export class MetricInputError extends RangeError {
  override name = 'MetricInputError';
}

/** Values may stray this far outside [0, dataRange] (float32 rounding of resampled images). */
export const RANGE_TOLERANCE = 1e-3;

export interface ImageRequirements {
  /** Smallest height and width the metric accepts (default 1). */
  readonly minSize?: number;
  /** What the minimum size comes from, for the error message. */
  readonly minSizeReason?: string;
}

/**
 * Synchronous checks for a pair of NCHW image batches: tensors, rank 4, float dtype, N >= 1,
 * C >= 1, H and W >= minSize, equal shapes. Throws ShapeError/DTypeError naming `op`.
 */
export function checkImagePair(op: string, x: Tensor, y: Tensor, req: ImageRequirements = {}): void {
  checkImages(op, x, 'x', req);
  checkImages(op, y, 'y', req);
  if (x.shape.some((d, i) => d !== y.shape[i])) {
    throw new ShapeError(
      `${op}: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} differ; both must be the same NCHW shape ` +
        `(compare each restored image with its own ground truth; resize one of them first).`,
    );
  }
  if (x.backend !== y.backend) {
    throw new ShapeError(
      `${op}: x is on ${x.backend} and y on ${y.backend}; move one with toBackend(t, '${x.backend}').`,
    );
  }
}

/** Synchronous checks for one NCHW image batch (see checkImagePair). */
export function checkImages(op: string, x: Tensor, name = 'x', req: ImageRequirements = {}): void {
  if (!(x instanceof Tensor)) {
    throw new DTypeError(
      `${op}: ${name} must be a Tensor of NCHW images in [0, 1], got ${x === null ? 'null' : typeof x}.`,
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'float64') {
    throw new DTypeError(
      `${op}: ${name} has dtype ${x.dtype}; images must be float32 or float64 in [0, 1]. Use cast(${name}, 'float32') and divide 8-bit values by 255.`,
    );
  }
  if (x.rank !== 4) {
    const hint = x.rank === 3 ? ` A single CHW image? Add the batch axis with expandDims(${name}, 0).` : '';
    throw new ShapeError(
      `${op}: ${name} has shape ${fmtShape(x.shape)} (rank ${x.rank}); expected NCHW images, rank 4.${hint}`,
    );
  }
  const [n, c, h, w] = x.shape;
  if (n === 0) throw new ShapeError(`${op}: ${name} ${fmtShape(x.shape)} is an empty batch; pass at least one image.`);
  if (c === 0)
    throw new ShapeError(`${op}: ${name} ${fmtShape(x.shape)} has no channels; expected NCHW with C >= 1 (3 for RGB).`);
  if (c > 4 && (w === 1 || w === 3 || w === 4)) {
    throw new ShapeError(
      `${op}: ${name} ${fmtShape(x.shape)} has ${c} channels; is it NHWC? Images are NCHW: transpose(${name}, [0, 3, 1, 2]).`,
    );
  }
  const minSize = req.minSize ?? 1;
  if (h < minSize || w < minSize) {
    throw new ShapeError(
      `${op}: ${name} ${fmtShape(x.shape)} is ${h}x${w} pixels; it needs at least ${minSize}x${minSize}` +
        `${req.minSizeReason ? ` (${req.minSizeReason})` : ''}. Upsample the images or use a smaller metric.`,
    );
  }
}

/**
 * Reads `images` back and throws MetricInputError naming `op` when any value is NaN, infinite, or
 * outside [0, dataRange] by more than RANGE_TOLERANCE * dataRange. Shapes and dtypes are checked
 * first (synchronously). Costs one readback per tensor: use at boundaries, not in a training step.
 */
export async function validateImages(
  op: string,
  images: readonly Tensor[],
  options: { readonly dataRange?: number } = {},
): Promise<void> {
  const dataRange = options.dataRange ?? 1;
  if (!(Number.isFinite(dataRange) && dataRange > 0)) {
    throw new MetricInputError(`${op}: dataRange must be a positive finite number, got ${dataRange}.`);
  }
  const names = images.length === 2 ? ['x', 'y'] : images.map((_, i) => `images[${i}]`);
  images.forEach((x, i) => checkImages(op, x, names[i]));
  const tol = RANGE_TOLERANCE * dataRange;
  for (const [i, x] of images.entries()) {
    const data = await x.data();
    let lo = Infinity;
    let hi = -Infinity;
    let firstBad = -1;
    let nan = 0;
    for (let j = 0; j < data.length; j++) {
      const v = data[j];
      if (Number.isNaN(v)) {
        nan++;
        if (firstBad < 0) firstBad = j;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (firstBad < 0 && !(v >= -tol && v <= dataRange + tol)) firstBad = j;
    }
    if (firstBad < 0) continue;
    const position = `flat index ${firstBad} (${coords(x.shape, firstBad)})`;
    if (nan > 0) {
      throw new MetricInputError(
        `${op}: ${names[i]} ${fmtShape(x.shape)} holds ${nan} NaN value(s), the first at ${position}; fix the model output or mask those images out.`,
      );
    }
    throw new MetricInputError(
      `${op}: ${names[i]} has values in [${lo}, ${hi}], outside [0, ${dataRange}] (first at ${position} of ${fmtShape(x.shape)}); ` +
        `images must be in [0, ${dataRange}]: clamp(x, { min: 0, max: ${dataRange} }), map [-1, 1] outputs with (x + 1) / 2, or divide 8-bit values by 255.`,
    );
  }
}

function coords(shape: readonly number[], flat: number): string {
  const out: number[] = [];
  let r = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(r % shape[d]);
    r = Math.floor(r / shape[d]);
  }
  return `n=${out[0]}, c=${out[1]}, h=${out[2]}, w=${out[3]}`;
}
