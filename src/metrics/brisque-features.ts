// BRISQUE's 36 natural-scene-statistics features (Mittal, Moorthy and Bovik 2012, "No-Reference
// Image Quality Assessment in the Spatial Domain", section III), step for step as OpenCV's
// opencv_contrib quality/src/qualitybrisque.cpp computes them, so the trained OpenCV model applies.
//
// Where each step runs: the grayscale conversion and the bicubic half-size resize are cheap, exact
// integer-indexed host loops (they must round like OpenCV); the local mean/deviation filtering and
// the MSCN division (eq. 1-3) run on our engine with conv2d; the AGGD/GGD moment-matching fits
// (section III.A-B) and the paired products need sums, counts and a 1-D grid search, done on the
// host after one readback per scale.
import { scope } from '../tensor/memory.js';
import { conv2d } from '../tensor/ops/conv.js';
import { tensor } from '../tensor/ops/creation.js';
import { add, div, greater, maximum, sqrt, square, sub, where } from '../tensor/ops/elementwise.js';
import { slice } from '../tensor/ops/movement.js';
import type { BackendName } from '../kernels/backend.js';
import { BRISQUE_FEATURE_COUNT } from './brisque-model.js';

const f32 = Math.fround;

/** OpenCV's GaussianBlur window for the local statistics: 7x7, sigma 7/6, BORDER_REPLICATE. */
export const BRISQUE_WINDOW = 7;
export const BRISQUE_SIGMA = 7 / 6;
/** Added to the local deviation before dividing (eq. 1's C, on the [0, 1] scale: 1/255). */
export const BRISQUE_C = 1 / 255;

/** One grayscale plane in [0, 1], float32, row-major. */
export interface GrayPlane {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
}

/**
 * Gray planes of an NCHW batch in [0, 1] (RGB, RGBA or gray), as OpenCV's mat_convert makes them.
 * eightBit (default): pixels are first rounded to 0..255 like an 8-bit image, and the gray value
 * is cvtColor's fixed-point BGR2GRAY (R 9798 + G 19235 + B 3735 + 2^14) >> 15 then times 1/255 in
 * float32, exactly OpenCV on a uint8 image (these 15-bit weights, not the documented 14-bit ones,
 * are what OpenCV 4.6's SIMD path uses: checked bit for bit against cv2.cvtColor on 10^5 pixels). Otherwise the gray value is 0.299 R + 0.587 G + 0.114 B
 * in float32, OpenCV on a float image holding 0..255.
 */
export function grayPlanes(pixels: ArrayLike<number>, shape: readonly number[], eightBit: boolean): GrayPlane[] {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const inv255 = f32(1 / 255);
  const to8 = (v: number) => Math.min(255, Math.max(0, Math.round(v * 255)));
  const out: GrayPlane[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(hw);
    const base = i * c * hw;
    for (let p = 0; p < hw; p++) {
      if (c === 1) {
        const v = pixels[base + p];
        data[p] = eightBit ? f32(to8(v) * inv255) : f32(f32(f32(v * 255)) * inv255);
        continue;
      }
      const r = pixels[base + p];
      const g = pixels[base + hw + p];
      const b = pixels[base + 2 * hw + p];
      if (eightBit) {
        const y = (to8(b) * 3735 + to8(g) * 19235 + to8(r) * 9798 + (1 << 14)) >> 15;
        data[p] = f32(y * inv255);
      } else {
        const y = f32(f32(f32(f32(b * 255) * f32(0.114)) + f32(f32(g * 255) * f32(0.587))) + f32(f32(r * 255) * f32(0.299)));
        data[p] = f32(y * inv255);
      }
    }
    out.push({ data, height: h, width: w });
  }
  return out;
}

/** cv::interpolateCubic's weights for fraction x (Keys' kernel with A = -0.75), in float32. */
function cubicWeights(x: number): [number, number, number, number] {
  const a = -0.75;
  const c0 = f32(((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a);
  const c1 = f32(((a + 2) * x - (a + 3)) * x * x + 1);
  const c2 = f32(((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1);
  return [c0, c1, c2, f32(1 - c0 - c1 - c2)];
}

/** Source index and weights of every output coordinate, as cv::resize (INTER_CUBIC) picks them. */
function cubicTaps(srcSize: number, dstSize: number): { index: Int32Array; weight: Float32Array } {
  const scale = 1 / (dstSize / srcSize);
  const index = new Int32Array(dstSize * 4);
  const weight = new Float32Array(dstSize * 4);
  for (let d = 0; d < dstSize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    fx = f32(fx - sx);
    const wts = cubicWeights(fx);
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(srcSize - 1, Math.max(0, sx - 1 + k)); // taps outside replicate the edge
      weight[d * 4 + k] = wts[k];
    }
  }
  return { index, weight };
}

/** cv::resize(src, dst, Size(floor(W / 2), floor(H / 2)), 0, 0, INTER_CUBIC) on a float32 plane. */
export function resizeCubicHalf(src: GrayPlane): GrayPlane {
  const height = Math.floor(src.height / 2);
  const width = Math.floor(src.width / 2);
  const xs = cubicTaps(src.width, width);
  const ys = cubicTaps(src.height, height);
  const rows = new Float32Array(src.height * width); // horizontal pass first, as OpenCV does
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += src.data[y * src.width + xs.index[x * 4 + k]] * xs.weight[x * 4 + k];
      rows[y * width + x] = s;
    }
  }
  const data = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += rows[ys.index[y * 4 + k] * width + x] * ys.weight[y * 4 + k];
      data[y * width + x] = s;
    }
  }
  return { data, height, width };
}

/** cv::getGaussianKernel(7, 7/6, CV_32F): exp(-x^2 / (2 sigma^2)) normalized in double, stored as float32. */
export function brisqueWindow1d(): Float32Array {
  const r = (BRISQUE_WINDOW - 1) / 2;
  const g = Array.from({ length: BRISQUE_WINDOW }, (_, i) => Math.exp((-0.5 * (i - r) ** 2) / BRISQUE_SIGMA ** 2));
  const total = g.reduce((a, b) => a + b, 0);
  return Float32Array.from(g, (v) => v / total);
}

/**
 * Mean-subtracted contrast-normalized coefficients (eq. 1): (I - mu) / (sigma + 1/255) with mu and
 * sigma^2 = G * I^2 - mu^2 from the 7x7 Gaussian window, edges replicated. Planes of one size are
 * filtered together on `backend`. Where float32 cancellation makes sigma^2 <= 0 (flat patches),
 * OpenCV's sqrt yields NaN, which its AGGD fit then counts as 0; we return 0 there directly.
 */
export async function mscnPlanes(planes: readonly GrayPlane[], backend: BackendName): Promise<GrayPlane[]> {
  const { height: h, width: w } = planes[0];
  const r = (BRISQUE_WINDOW - 1) / 2;
  const hp = h + 2 * r;
  const wp = w + 2 * r;
  const padded = new Float32Array(planes.length * hp * wp);
  planes.forEach((p, i) => {
    for (let y = 0; y < hp; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - r));
      for (let x = 0; x < wp; x++) padded[(i * hp + y) * wp + x] = p.data[sy * w + Math.min(w - 1, Math.max(0, x - r))];
    }
  });
  const g = brisqueWindow1d();
  const result = scope(() => {
    const img = tensor(padded, { shape: [planes.length, 1, hp, wp], dtype: 'float32', backend });
    const wRow = tensor(g, { shape: [1, 1, 1, BRISQUE_WINDOW], dtype: 'float32', backend });
    const wCol = tensor(g, { shape: [1, 1, BRISQUE_WINDOW, 1], dtype: 'float32', backend });
    const blur = (t: typeof img) => conv2d(conv2d(t, wRow), wCol); // [P, 1, h, w], rows then columns like sepFilter2D
    const mu = blur(img);
    const variance = sub(blur(square(img)), square(mu));
    const sigma = add(sqrt(maximum(variance, 0)), BRISQUE_C);
    const centre = slice(img, [0, 0, r, r], [planes.length, 1, r + h, r + w]);
    return where(greater(variance, 0), div(sub(centre, mu), sigma), 0);
  });
  try {
    const data = (await result.data()) as Float32Array;
    return planes.map((_, i) => ({ data: data.slice(i * h * w, (i + 1) * h * w), height: h, width: w }));
  } finally {
    result.dispose();
  }
}

/** Best-fit asymmetric generalized Gaussian of `values` (float32 samples), as OpenCV's AGGDfit. */
export interface AggdFit {
  readonly gamma: number;
  readonly leftSigma: number;
  readonly rightSigma: number;
}

/**
 * The shape grid of the moment-matching search (section III.A; Sharifi and Leon-Garcia 1995):
 * gam = 0.2, 0.201, ... < 10 accumulated in double exactly as OpenCV's loop does, with
 * r(gam) = Gamma(2/gam)^2 / (Gamma(1/gam) Gamma(3/gam)).
 */
const gammaGrid = (() => {
  const gam: number[] = [];
  const ratio: number[] = [];
  for (let x = 0.2; x < 10; x += 0.001) {
    gam.push(x);
    ratio.push((gammaFn(2 / x) * gammaFn(2 / x)) / (gammaFn(1 / x) * gammaFn(3 / x)));
  }
  return { gam: Float64Array.from(gam), ratio: Float64Array.from(ratio) };
})();

/** AGGD moment matching of OpenCV's AGGDfit: sums in double, counts of strictly positive/negative values. */
export function aggdFit(values: Float32Array): AggdFit {
  let posSq = 0;
  let negSq = 0;
  let absSum = 0;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > 0) {
      posSq += f32(v * v);
      pos++;
    } else if (v < 0) {
      negSq += f32(v * v);
      neg++;
    }
    if (v === v) absSum += Math.abs(v);
  }
  const leftSigma = Math.sqrt(negSq / neg);
  const rightSigma = Math.sqrt(posSq / pos);
  const gammaHat = leftSigma / rightSigma;
  const total = values.length;
  const rHat = (absSum / total) ** 2 / ((negSq + posSq) / total);
  const rHatNorm = (rHat * (gammaHat ** 3 + 1) * (gammaHat + 1)) / (gammaHat ** 2 + 1) ** 2;
  // First local minimum of |r(gam) - rHatNorm| along the grid (OpenCV stops at the first rise).
  let best = 0;
  let prevDiff = 1e10;
  for (let i = 0; i < gammaGrid.gam.length; i++) {
    const diff = Math.abs(gammaGrid.ratio[i] - rHatNorm);
    if (diff > prevDiff) break;
    prevDiff = diff;
    best = gammaGrid.gam[i];
  }
  return { gamma: best, leftSigma, rightSigma };
}

/** Neighbour offsets [dy, dx] of the four paired products (H, V, D1, D2; section III.B). */
const SHIFTS: readonly (readonly [number, number])[] = [[0, 1], [1, 0], [1, 1], [-1, 1]];

/** The 18 features of one scale from its MSCN plane (OpenCV's order: GGD 2, then 4 per orientation). */
export function scaleFeatures(mscn: GrayPlane): number[] {
  const { data, height: h, width: w } = mscn;
  const features: number[] = [];
  const ggd = aggdFit(data);
  features.push(ggd.gamma, (ggd.leftSigma ** 2 + ggd.rightSigma ** 2) / 2);
  const product = new Float32Array(h * w);
  for (const [dy, dx] of SHIFTS) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const yy = y + dy;
        const xx = x + dx;
        const other = yy >= 0 && yy < h && xx >= 0 && xx < w ? data[yy * w + xx] : 0; // outside: 0, as OpenCV
        product[y * w + x] = f32(data[y * w + x] * other);
      }
    }
    const fit = aggdFit(product);
    const g = fit.gamma;
    const constant = Math.sqrt(gammaFn(1 / g)) / Math.sqrt(gammaFn(3 / g));
    const mean = (fit.rightSigma - fit.leftSigma) * (gammaFn(2 / g) / gammaFn(1 / g)) * constant; // eq. 8
    features.push(g, mean, fit.leftSigma ** 2, fit.rightSigma ** 2);
  }
  return features;
}

/** The 36 BRISQUE features of each gray plane (scale 1, then the bicubic half-size scale), float32 like OpenCV. */
export async function brisqueFeaturesOfPlanes(planes: readonly GrayPlane[], backend: BackendName): Promise<Float32Array[]> {
  const halves = planes.map(resizeCubicHalf);
  const out: Float32Array[] = planes.map(() => new Float32Array(BRISQUE_FEATURE_COUNT));
  for (const [s, level] of [planes, halves].entries()) {
    // Images of one batch share a size, so each scale is one engine pass.
    const mscn = await mscnPlanes(level, backend);
    mscn.forEach((m, i) => out[i].set(scaleFeatures(m).map(f32), s * 18));
  }
  return out;
}

/**
 * The gamma function for positive arguments (Lanczos, g = 7, 9 terms; relative error ~1e-15), in
 * place of C's tgamma. BRISQUE evaluates it on [0.1, 15].
 */
export function gammaFn(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gammaFn(1 - x));
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return Math.sqrt(2 * Math.PI) * t ** (z + 0.5) * Math.exp(-t) * a;
}
