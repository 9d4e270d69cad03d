// Bilinear resizing as two small matrices (rows then columns), applied on our engine with
// matmul (y = Wy x Wx^T) or on the host: one weight builder serves both.
import { ShapeError, tensor, matmul, reshape, transpose, scope } from '../index.js';
import type { Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface ResizeOptions {
  /**
   * Widen the triangle filter by the shrink factor when downscaling (PIL-style antialiasing).
   * Default false: plain bilinear interpolation of the two nearest samples, as OpenCV's
   * INTER_LINEAR does (and as the CodeFormer degradation uses).
   */
  readonly antialias?: boolean;
}

/**
 * The [outSize, inSize] matrix of 1-D bilinear resampling with half-pixel centres
 * (src = (i + 0.5) * in / out - 0.5, edges clamped): OpenCV INTER_LINEAR and PyTorch
 * `interpolate(mode='bilinear', align_corners=False)`. Rows sum to 1.
 */
export function bilinearWeights(inSize: number, outSize: number, options: ResizeOptions = {}): Float32Array {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize < 1 || outSize < 1) {
    throw new ShapeError(`bilinearWeights: sizes must be positive integers, got ${inSize} -> ${outSize}.`);
  }
  const scale = inSize / outSize;
  const support = options.antialias && scale > 1 ? scale : 1; // filter half-width in input pixels
  const w = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const row = new Float64Array(inSize);
    if (support === 1) {
      const c = Math.min(inSize - 1, Math.max(0, centre));
      const j0 = Math.floor(c);
      const j1 = Math.min(inSize - 1, j0 + 1);
      const t = c - j0;
      row[j0] += 1 - t;
      row[j1] += t;
    } else {
      const lo = Math.floor(centre - support);
      const hi = Math.ceil(centre + support);
      for (let j = lo; j <= hi; j++) {
        const weight = Math.max(0, 1 - Math.abs(j - centre) / support);
        if (weight > 0) row[Math.min(inSize - 1, Math.max(0, j))] += weight;
      }
    }
    const total = row.reduce((a, b) => a + b, 0);
    for (let j = 0; j < inSize; j++) w[i * inSize + j] = row[j] / total;
  }
  return w;
}

/** Resizes NCHW images to [outH, outW] on the tensor's backend with bilinear weights (two matmuls). */
export function resizeBilinear(x: Tensor, size: readonly [number, number], options: ResizeOptions = {}): Tensor {
  const op = 'resizeBilinear';
  requireOptions(op, options, '{ antialias: true }');
  if (x.rank !== 4) throw new ShapeError(`${op}: x must be NCHW (4-D), got ${fmtShape(x.shape)}.`);
  const [, , h, w] = x.shape;
  const [oh, ow] = size;
  if (oh === h && ow === w) return reshape(x, x.shape); // a view: the caller may dispose it like any result
  return scope(() => {
    const wy = tensor(bilinearWeights(h, oh, options), { shape: [oh, h], backend: x.backend });
    const wxT = transpose(tensor(bilinearWeights(w, ow, options), { shape: [ow, w], backend: x.backend }));
    return matmul(wy, matmul(x, wxT));
  });
}

/** Resizes host CHW planes (any channel count) with bilinear weights. */
export function resizeHostCHW(
  data: Float32Array,
  channels: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  options: ResizeOptions = {},
): Float32Array {
  const wy = bilinearWeights(h, oh, options);
  const wx = bilinearWeights(w, ow, options);
  const tmp = new Float32Array(h * ow);
  const out = new Float32Array(channels * oh * ow);
  for (let c = 0; c < channels; c++) {
    const src = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let i = 0; i < ow; i++) {
        let s = 0;
        for (let x = 0; x < w; x++) {
          const k = wx[i * w + x];
          if (k !== 0) s += k * data[src + y * w + x];
        }
        tmp[y * ow + i] = s;
      }
    }
    for (let j = 0; j < oh; j++) {
      for (let i = 0; i < ow; i++) {
        let s = 0;
        for (let y = 0; y < h; y++) {
          const k = wy[j * h + y];
          if (k !== 0) s += k * tmp[y * ow + i];
        }
        out[c * oh * ow + j * ow + i] = s;
      }
    }
  }
  return out;
}
