// The CodeFormer-style degradation (docs/architecture.md, "The LRPO pipeline"), seeded and pure:
// Gaussian blur (iso / anisotropic) -> bilinear downsampling -> Gaussian noise -> real JPEG ->
// bilinear resize back. Blur, resizes and noise run on our engine; JPEG is encoded and decoded on
// the host (jpeg-js).
import { decodeJpeg, encodeJpeg } from '../io/codecs.js';
import { chwToRgb, rgbToCHW } from '../io/image.js';
import {
  foldIn,
  normal,
  split,
  ShapeError,
  tensor,
  conv2d,
  add,
  clamp,
  take,
  concat,
  reshape,
  slice,
  scope,
  Tensor,
} from '../index.js';
import type { PRNGKey } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { Draws } from './draws.js';
import { resizeBilinear } from './resize.js';
import { requireOptions } from '../tensor/ops/operand.js';

type Range = readonly [number, number];

/**
 * Parameter ranges of the degradation. Blur sizes are given at `referenceSize` pixels and scaled
 * by imageSize / referenceSize; every other range is size-free. A range [x, x] fixes a value.
 */
export interface DegradationConfig {
  /** Image side the blur numbers refer to (512 in CodeFormer). */
  readonly referenceSize: number;
  /** Blur kernel side at referenceSize (41); scaled, rounded to an odd number >= 3. */
  readonly blurKernelSize: number;
  /** Blur standard deviation at referenceSize, per axis for anisotropic kernels. */
  readonly blurSigma: Range;
  /** Probability that a kernel is anisotropic (else isotropic). */
  readonly anisotropicProbability: number;
  /** Rotation of anisotropic kernels, radians. */
  readonly blurRotation: Range;
  /** Downsampling factor (the image shrinks to size / factor, at least 1 pixel). */
  readonly downscale: Range;
  /** Gaussian noise standard deviation, in [0, 1] image units. */
  readonly noiseSigma: Range;
  /** JPEG quality (libjpeg scale, integer). */
  readonly jpegQuality: Range;
}

/**
 * CodeFormer's ranges (docs/architecture.md, "The LRPO pipeline"): sigma 0.1..12 and kernel 41 at
 * 512 px, x1..x12, noise 0..15/255, JPEG 30..99.
 */
export const defaultDegradation: DegradationConfig = Object.freeze({
  referenceSize: 512,
  blurKernelSize: 41,
  blurSigma: [0.1, 12] as Range,
  anisotropicProbability: 0.5,
  blurRotation: [-Math.PI, Math.PI] as Range,
  downscale: [1, 12] as Range,
  noiseSigma: [0, 15 / 255] as Range,
  jpegQuality: [30, 99] as Range,
});

/** What was drawn for one image; blur numbers are in pixels of this image. */
export interface DegradationParams {
  readonly blur: {
    readonly kind: 'isotropic' | 'anisotropic';
    readonly sigmaX: number;
    readonly sigmaY: number;
    readonly rotation: number;
    readonly kernelSize: number;
  };
  readonly downscale: number;
  /** The intermediate low-resolution size [h, w]. */
  readonly lowSize: readonly [number, number];
  readonly noiseSigma: number;
  readonly jpegQuality: number;
}

function checkRange(name: string, r: unknown, lo: number, hi: number): Range {
  if (
    !Array.isArray(r) ||
    r.length !== 2 ||
    !r.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    r[0] > r[1] ||
    r[0] < lo ||
    r[1] > hi
  ) {
    throw new ShapeError(
      `degrade: config.${name} must be a range [min, max] with ${lo} <= min <= max <= ${hi}, got ${JSON.stringify(r)}.`,
    );
  }
  return r as unknown as Range;
}

/** Validates a (partial) config merged over the defaults. */
export function degradationConfig(config: Partial<DegradationConfig> = {}): DegradationConfig {
  const c = { ...defaultDegradation, ...config };
  if (!(c.referenceSize > 0))
    throw new ShapeError(`degrade: config.referenceSize must be positive, got ${c.referenceSize}.`);
  if (!(c.blurKernelSize >= 1))
    throw new ShapeError(`degrade: config.blurKernelSize must be >= 1, got ${c.blurKernelSize}.`);
  if (!(c.anisotropicProbability >= 0 && c.anisotropicProbability <= 1)) {
    throw new ShapeError(`degrade: config.anisotropicProbability must be in [0, 1], got ${c.anisotropicProbability}.`);
  }
  checkRange('blurSigma', c.blurSigma, 1e-3, 1e3);
  checkRange('blurRotation', c.blurRotation, -10, 10);
  checkRange('downscale', c.downscale, 1, 1e3);
  checkRange('noiseSigma', c.noiseSigma, 0, 1);
  checkRange('jpegQuality', c.jpegQuality, 1, 100);
  return c;
}

/** The odd blur kernel side for an image of `size` pixels. */
export const blurKernelSize = (config: DegradationConfig, size: number): number =>
  Math.max(3, 2 * Math.round(((config.blurKernelSize * size) / config.referenceSize - 1) / 2) + 1);

/** Draws one image's parameters from its key (host-side Threefry draws). */
export function sampleDegradation(
  k: PRNGKey,
  config: DegradationConfig,
  height: number,
  width: number,
): DegradationParams {
  const d = new Draws(k, 16, 'sampleDegradation');
  const s = Math.min(height, width) / config.referenceSize;
  const anisotropic = d.chance(config.anisotropicProbability);
  const sigmaX = d.between(config.blurSigma) * s;
  const sigmaYDraw = d.between(config.blurSigma) * s;
  const rotationDraw = d.between(config.blurRotation);
  const downscale = d.between(config.downscale);
  const noiseSigma = d.between(config.noiseSigma);
  const jpegQuality = Math.round(d.between(config.jpegQuality));
  return {
    blur: {
      kind: anisotropic ? 'anisotropic' : 'isotropic',
      sigmaX,
      sigmaY: anisotropic ? sigmaYDraw : sigmaX,
      rotation: anisotropic ? rotationDraw : 0,
      kernelSize: blurKernelSize(config, Math.min(height, width)),
    },
    downscale,
    lowSize: [Math.max(1, Math.round(height / downscale)), Math.max(1, Math.round(width / downscale))],
    noiseSigma,
    jpegQuality,
  };
}

/**
 * A normalised Gaussian kernel [k, k] with covariance R diag(sx^2, sy^2) R^T (R rotates by
 * `rotation`), as BasicSR's `bivariate_Gaussian` builds it.
 */
export function gaussianKernel(size: number, sigmaX: number, sigmaY: number, rotation = 0): Float32Array {
  const c = Math.cos(rotation);
  const s = Math.sin(rotation);
  // Inverse covariance: R diag(1/sx^2, 1/sy^2) R^T.
  const ix = 1 / (sigmaX * sigmaX);
  const iy = 1 / (sigmaY * sigmaY);
  const a = c * c * ix + s * s * iy;
  const b = c * s * (ix - iy);
  const d = s * s * ix + c * c * iy;
  const half = (size - 1) / 2;
  const k = new Float64Array(size * size);
  let total = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x - half;
      const v = y - half;
      const e = Math.exp(-0.5 * (a * u * u + 2 * b * u * v + d * v * v));
      k[y * size + x] = e;
      total += e;
    }
  }
  return Float32Array.from(k, (e) => e / total);
}

/** Indices that reflect a padded axis back into [0, n) without repeating the edge (OpenCV REFLECT_101). */
function reflectIndices(n: number, pad: number): number[] {
  const idx: number[] = [];
  for (let i = -pad; i < n + pad; i++) {
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    idx.push(n === 1 ? 0 : j);
  }
  return idx;
}

/** Blurs each image of [N, 3, H, W] with its own kernel (one grouped conv2d, reflected borders). */
export function blurImages(x: Tensor, kernels: readonly Float32Array[], kernelSize: number): Tensor {
  const [n, c, h, w] = x.shape;
  const pad = (kernelSize - 1) / 2;
  return scope(() => {
    const weights = new Float32Array(n * c * kernelSize * kernelSize);
    kernels.forEach((k, i) => {
      for (let ch = 0; ch < c; ch++) weights.set(k, (i * c + ch) * kernelSize * kernelSize);
    });
    const wT = tensor(weights, { shape: [n * c, 1, kernelSize, kernelSize], backend: x.backend, dtype: x.dtype });
    const padded = take(take(x, reflectIndices(h, pad), { axis: 2 }), reflectIndices(w, pad), { axis: 3 });
    const y = conv2d(reshape(padded, [1, n * c, h + 2 * pad, w + 2 * pad]), wT, { groups: n * c });
    return reshape(y, [n, c, h, w]);
  });
}

/** Every image of [N, C, H, W] blurred by an isotropic Gaussian of sigma px (kernel out to 3 sigma, reflected borders). */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  const size = 2 * Math.ceil(3 * sigma) + 1;
  const kernel = gaussianKernel(size, sigma, sigma);
  return blurImages(
    x,
    Array.from({ length: x.shape[0] }, () => kernel),
    size,
  );
}

/** One real JPEG round trip of host CHW planes at `quality` (values clamped to [0, 1], 8-bit). */
export function jpegRoundTrip(data: Float32Array, height: number, width: number, quality: number): Float32Array {
  const clamped = Float32Array.from(data, (v) => Math.min(1, Math.max(0, v)));
  const rgb = chwToRgb('jpegRoundTrip', { width, height, data: clamped });
  return rgbToCHW(decodeJpeg(encodeJpeg(rgb, quality))).data;
}

export interface DegradeResult {
  /** [N, 3, H, W] float32 in [0, 1], the size of the input. */
  readonly lq: Tensor;
  /** What was drawn for each image, in batch order. */
  readonly params: readonly DegradationParams[];
}

/**
 * Degrades a batch of high-quality images [N, 3, H, W] in [0, 1]: image i uses key
 * foldIn(k, i), so results are the same for the same key whatever the backend or batch split.
 * Returns `lq` (the caller's to dispose) and the parameters drawn for each image.
 */
export async function degrade(
  k: PRNGKey,
  hqNCHW: Tensor,
  config: Partial<DegradationConfig> = {},
): Promise<DegradeResult> {
  const op = 'degrade';
  requireOptions(op, config, '{ noiseSigma: [0, 10] }');
  if (!(hqNCHW instanceof Tensor) || hqNCHW.rank !== 4 || hqNCHW.shape[1] !== 3 || hqNCHW.shape[0] < 1) {
    throw new ShapeError(
      `${op}: hqNCHW must be a [N, 3, H, W] tensor with N >= 1, got ${hqNCHW instanceof Tensor ? fmtShape(hqNCHW.shape) : String(hqNCHW)}.`,
    );
  }
  const cfg = degradationConfig(config);
  const [n, , h, w] = hqNCHW.shape;
  const keys = Array.from({ length: n }, (_, i) => split(foldIn(k, i), 2));
  const params = keys.map(([paramKey]) => sampleDegradation(paramKey, cfg, h, w));
  const kernelSize = params[0].blur.kernelSize;
  // Blur, shrink and add noise on the engine; keep each small noisy image for the host JPEG.
  const small = scope(() => {
    const kernels = params.map((p) => gaussianKernel(kernelSize, p.blur.sigmaX, p.blur.sigmaY, p.blur.rotation));
    const blurred = blurImages(hqNCHW, kernels, kernelSize);
    return params.map((p, i) => {
      const img = slice(blurred, [i], [i + 1]);
      const low = resizeBilinear(img, p.lowSize);
      const noisy =
        p.noiseSigma > 0 ? add(low, normal(keys[i][1], low.shape, { std: p.noiseSigma, backend: low.backend })) : low;
      return clamp(noisy, { min: 0, max: 1 });
    });
  });
  let host: Float32Array[];
  try {
    host = (await Promise.all(small.map((t) => t.data()))) as Float32Array[];
  } finally {
    small.forEach((t) => t.dispose());
  }
  const jpegged = host.map((data, i) =>
    jpegRoundTrip(data, params[i].lowSize[0], params[i].lowSize[1], params[i].jpegQuality),
  );
  const lq = scope(() =>
    concat(
      jpegged.map((data, i) => {
        const [lh, lw] = params[i].lowSize;
        return clamp(resizeBilinear(tensor(data, { shape: [1, 3, lh, lw], backend: hqNCHW.backend }), [h, w]), {
          min: 0,
          max: 1,
        });
      }),
      { axis: 0 },
    ),
  );
  return { lq, params };
}
