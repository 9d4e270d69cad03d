// Host-side RGB images for the face-network tests: crops, conversion to our tensors, and to
// face-api's input convention (8-bit-scaled HWC tfjs tensors).
import { tensor, type Tensor } from '../../src/index.js';
import type { Tfjs } from '../../src/io/face-api-reference.js';

/** A host RGB image: [3, h, w] planes in [0, 1]. */
export interface HostImage {
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}

export const crop = (img: HostImage, top: number, left: number, h: number, w: number): HostImage => {
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = img.data[(c * img.h + top + y) * img.w + left + x];
  return { h, w, data };
};

/** One image as a [1, 3, h, w] tensor. */
export const toTensor = (img: HostImage, backend: 'cpu' | 'webgpu'): Tensor =>
  tensor(img.data, { shape: [1, 3, img.h, img.w], backend });

/** face-api's input convention: HWC tfjs tensors scaled to 0..255 (the caller disposes them). */
export const toFaceApiInputs = (tf: Tfjs, images: readonly HostImage[]) =>
  images.map(({ h, w, data }) => {
    const hwc = new Float32Array(h * w * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) hwc[i * 3 + c] = data[c * h * w + i] * 255;
    return tf.tensor3d(hwc, [h, w, 3]);
  });

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
