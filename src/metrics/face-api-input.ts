// The input path face-api's networks share, so our ports see the same pixels: zero-pad to a
// square, tfjs's bilinear resize (no align corners, no half-pixel centres), mean-RGB shift.
import { ShapeError, tensor, sub, matmul, pad, transpose, scope } from '../index.js';
import type { Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';

/** face-api's mean RGB (0..255), subtracted from every input after scaling by 1/255. */
export const FACE_MEAN_RGB = [122.782, 117.001, 104.298] as const;

/**
 * The [outSize, inSize] matrix of tfjs's resizeBilinear with alignCorners = false and
 * halfPixelCenters = false (what face-api calls): src = i * in / out, top = floor(src),
 * bottom = min(ceil(src), in - 1).
 */
export function tfjsBilinearWeights(inSize: number, outSize: number): Float32Array {
  const w = new Float32Array(outSize * inSize);
  const ratio = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = i * ratio;
    const top = Math.floor(src);
    const bottom = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - top;
    w[i * inSize + top] += 1 - frac;
    w[i * inSize + bottom] += frac;
  }
  return w;
}

/**
 * face-api's input path for images in [0, 1]: zero-pad the shorter side to a square (centred,
 * the extra pixel after), resize to `inputSize` as tfjs does, then subtract the mean RGB / 255.
 */
export function faceApiPreprocess(imagesNCHW: Tensor, inputSize: number): Tensor {
  const [, , h, w] = imagesNCHW.shape;
  return scope(() => {
    let x = imagesNCHW;
    if (h !== w) {
      const diff = Math.abs(h - w);
      const after = Math.round(diff / 2);
      const before = diff - after;
      x =
        h > w
          ? pad(x, [
              [0, 0],
              [0, 0],
              [0, 0],
              [before, after],
            ])
          : pad(x, [
              [0, 0],
              [0, 0],
              [before, after],
              [0, 0],
            ]);
    }
    const side = Math.max(h, w);
    if (side !== inputSize) {
      const wy = tensor(tfjsBilinearWeights(side, inputSize), { shape: [inputSize, side], backend: x.backend });
      x = matmul(matmul(wy, x), transpose(wy));
    }
    const meanRgb = tensor(
      FACE_MEAN_RGB.map((m) => m / 255),
      { shape: [1, 3, 1, 1], backend: x.backend },
    );
    return sub(x, meanRgb);
  });
}

/** Checks images are a non-empty NCHW RGB batch of floats, naming `op` and the fix. */
export function checkFaceImages(op: string, x: Tensor): void {
  if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[0] < 1 || x.shape[2] < 1 || x.shape[3] < 1) {
    throw new ShapeError(
      `${op}: images must be a non-empty RGB batch [N, 3, H, W] in [0, 1], got ${fmtShape(x.shape)}. Use readImage(...) or stack single images with stack(...).`,
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'float64') {
    throw new ShapeError(
      `${op}: images must be float32 in [0, 1], got dtype ${x.dtype}; divide 8-bit pixels by 255 first.`,
    );
  }
}
