// Nearest-neighbour upsampling of NCHW by integer factors, the CPU reference: output pixel (y, x)
// is input pixel (floor(y / sh), floor(x / sw)).
import { allocHost } from '../../tensor/dtype.js';
import type { View } from '../backend.js';
import { CpuStorage } from './storage.js';
import { gatherToContiguous } from './strided.js';

export function upsampleNearest2d(x: View, [sh, sw]: readonly [number, number]): CpuStorage {
  const src = gatherToContiguous('upsampleNearest2d', x);
  const [n, c, h, w] = x.shape;
  const [oh, ow] = [h * sh, w * sw];
  const out = allocHost(x.dtype, n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      const row = (plane * h + Math.floor(oy / sh)) * w;
      const at = (plane * oh + oy) * ow;
      for (let ox = 0; ox < ow; ox++) out[at + ox] = src[row + Math.floor(ox / sw)];
    }
  }
  return new CpuStorage(x.dtype, out);
}
