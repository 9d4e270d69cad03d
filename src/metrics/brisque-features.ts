// BRISQUE's 36 natural-scene-statistics features (Mittal, Moorthy and Bovik 2012, "No-Reference
// Image Quality Assessment in the Spatial Domain", section III), step for step as OpenCV's
// opencv_contrib quality/src/qualitybrisque.cpp computes them, so the trained OpenCV model applies.
//
// Everything runs on the host after one readback, in OpenCV's own float32 rounding order: the
// grayscale conversion, the bicubic half-size resize, the 7x7 Gaussian local mean/deviation and the
// MSCN division (eq. 1-3; bit-exact with OpenCV 4.6's float32 GaussianBlur on AVX2/FMA CPUs, which
// matters: its float32 variance goes negative in flat patches and those NaNs change the fits), then
// the AGGD/GGD moment-matching fits (section III.A-B) and the paired products (sums, counts and a
// 1-D grid search). An engine conv2d would round in another order and miss OpenCV by up to ~3 on
// strongly compressed JPEGs.
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
 * in float32 (with cvtColor's fused multiply-adds), OpenCV on a float image holding 0..255.
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
        // cvtColor's float SIMD order: fma(R, 0.299f, fma(G, 0.587f, B * 0.114f)).
        const inner = f32(f32(g * 255) * f32(0.587) + f32(f32(b * 255) * f32(0.114)));
        const y = f32(f32(r * 255) * f32(0.299) + inner);
        data[p] = f32(y * inv255);
      }
    }
    out.push({ data, height: h, width: w });
  }
  return out;
}

/** cv::interpolateCubic's weights for fraction x (Keys' kernel with A = -0.75), in float32 arithmetic as OpenCV. */
function cubicWeights(x: number): [number, number, number, number] {
  const a = f32(-0.75);
  const mul = (p: number, q: number) => f32(p * q);
  const x1 = f32(x + 1);
  const c0 = f32(mul(f32(mul(f32(mul(a, x1) - mul(5, a)), x1) + mul(8, a)), x1) - mul(4, a));
  const c1 = f32(mul(mul(f32(mul(f32(a + 2), x) - f32(a + 3)), x), x) + 1);
  const y = f32(1 - x);
  const c2 = f32(mul(mul(f32(mul(f32(a + 2), y) - f32(a + 3)), y), y) + 1);
  return [c0, c1, c2, f32(f32(f32(1 - c0) - c1) - c2)];
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

/**
 * cv::resize(src, dst, Size(floor(W / 2), floor(H / 2)), 0, 0, INTER_CUBIC) on a float32 plane, in
 * OpenCV 4.6's float32 order: horizontal pass first, ((S0 a0 + S1 a1) + S2 a2) + S3 a3; then the
 * vertical pass S0 b0 + (S1 b1 + (S2 b2 + S3 b3)) (its 4-lane SIMD nesting, no FMA) except in the
 * last width % 4 columns, which its scalar tail adds left to right. Checked bit for bit against
 * cv2.resize on every fixture plane and on odd sizes (37x53, 45x45, 61x29, 100x123; scratch).
 */
export function resizeCubicHalf(src: GrayPlane): GrayPlane {
  const height = Math.floor(src.height / 2);
  const width = Math.floor(src.width / 2);
  const xs = cubicTaps(src.width, width);
  const ys = cubicTaps(src.height, height);
  const rows = new Float32Array(src.height * width);
  for (let y = 0; y < src.height; y++) {
    const base = y * src.width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s = f32(s + f32(src.data[base + xs.index[x * 4 + k]] * xs.weight[x * 4 + k]));
      rows[y * width + x] = s;
    }
  }
  const data = new Float32Array(height * width);
  const simdWidth = width - (width % 4); // 4-lane SIMD columns; the last width % 4 are scalar C++
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      if (x < simdWidth)
        for (let k = 3; k >= 0; k--) s = f32(f32(rows[ys.index[y * 4 + k] * width + x] * ys.weight[y * 4 + k]) + s);
      else for (let k = 0; k < 4; k++) s = f32(s + f32(rows[ys.index[y * 4 + k] * width + x] * ys.weight[y * 4 + k]));
      data[y * width + x] = s;
    }
  }
  return { data, height, width };
}

/**
 * cv::getGaussianKernel(7, 7/6, CV_32F) as OpenCV 4.6 computes it: exp(-x^2 / (2 sigma^2)) and
 * its normalisation in double, each tap then stored as float32 (equals cv2.getGaussianKernel(7, 7/6,
 * ktype=CV_32F) bit for bit; rounding the taps to float32 before normalising, as older OpenCV did,
 * changes the outer taps' last bit).
 */
export function brisqueWindow1d(): Float32Array {
  const r = (BRISQUE_WINDOW - 1) / 2;
  const g = Array.from({ length: BRISQUE_WINDOW }, (_, i) => Math.exp((-0.5 * (i - r) ** 2) / BRISQUE_SIGMA ** 2));
  const total = g.reduce((a, b) => a + b, 0);
  return Float32Array.from(g, (v) => v / total);
}

/**
 * float32 fused multiply-add a * b + c of float32 values: a * b is exact in double, so only the sum
 * rounds (in double, then to float32; the double rounding differs from a true FMA with probability
 * ~2^-29 per operation, never seen on the fixtures).
 */
const fma32 = (a: number, b: number, c: number): number => f32(a * b + c);

/**
 * cv::GaussianBlur(src, dst, Size(7, 7), 7/6, 0, BORDER_REPLICATE) on a float32 plane, with
 * OpenCV 4.6's float32 arithmetic on an x86-64 CPU with AVX2/FMA (its dispatched filter code):
 * a row pass over the edge-replicated rows, s = fma(x[t], k[t], s) for t = 0..6 from s = 0, then a
 * symmetric column pass o = r[0] k[3], o = fma(r[-t] + r[t], k[3 - t], o) for t = 1..3. Checked bit
 * for bit against cv2.GaussianBlur on every fixture plane at both scales (scratch emulation).
 */
export function gaussianBlur7(src: Float32Array, height: number, width: number): Float32Array {
  const k = brisqueWindow1d();
  const r = (BRISQUE_WINDOW - 1) / 2;
  const rows = new Float32Array((height + 2 * r) * width); // padded row index y + r
  const xIndex = new Int32Array(width + 2 * r);
  for (let x = 0; x < width + 2 * r; x++) xIndex[x] = Math.min(width - 1, Math.max(0, x - r));
  for (let y = 0; y < height + 2 * r; y++) {
    const base = Math.min(height - 1, Math.max(0, y - r)) * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = 0; t < BRISQUE_WINDOW; t++) s = fma32(src[base + xIndex[x + t]], k[t], s);
      rows[y * width + x] = s;
    }
  }
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const c = (y + r) * width;
    for (let x = 0; x < width; x++) {
      let o = f32(rows[c + x] * k[r]);
      for (let t = 1; t <= r; t++) o = fma32(f32(rows[c - t * width + x] + rows[c + t * width + x]), k[r - t], o);
      out[y * width + x] = o;
    }
  }
  return out;
}

/**
 * Mean-subtracted contrast-normalized coefficients (eq. 1) exactly as OpenCV's ComputeBrisqueFeature
 * computes them in float32: mu = G * I, sigma = sqrt(G * (I I) - mu mu) + 1/255 (the constant
 * rounded to float32), MSCN = (I - mu) / sigma, every step rounded to float32 like cv::pow,
 * cv::multiply, cv::subtract, cv::add and cv::divide. Where float32 cancellation makes the variance
 * negative (flat patches, e.g. strong JPEG blocks), OpenCV's sqrt gives NaN and so does the MSCN
 * value; we keep the NaN, which aggdFit then skips like OpenCV's cv::max/cv::min/patchNaNs (a zero
 * variance gives sqrt 0 and a finite value, as in OpenCV). Runs on the host: bit-exact float32
 * order is what makes the scores equal OpenCV's on such images.
 */
export function mscnPlane(plane: GrayPlane): GrayPlane {
  const { data: img, height: h, width: w } = plane;
  const n = h * w;
  const mu = gaussianBlur7(img, h, w);
  const squares = new Float32Array(n);
  for (let i = 0; i < n; i++) squares[i] = f32(img[i] * img[i]);
  const blurredSquares = gaussianBlur7(squares, h, w);
  const c = f32(BRISQUE_C);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const variance = f32(blurredSquares[i] - f32(mu[i] * mu[i]));
    const sigma = f32(f32(Math.sqrt(variance)) + c); // NaN where variance < 0, as OpenCV
    data[i] = f32(f32(img[i] - mu[i]) / sigma);
  }
  return { data, height: h, width: w };
}

/** MSCN planes of gray planes (host float32, see mscnPlane); async for the callers' sake. */
export async function mscnPlanes(planes: readonly GrayPlane[]): Promise<GrayPlane[]> {
  return planes.map(mscnPlane);
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

/**
 * AGGD moment matching of OpenCV 4.6's AGGDfit (a plain loop, no cv::sum: libopencv_quality 4.6
 * imports neither cv::sum nor countNonZero): each float32 value widened to double, squares and
 * |x| summed in double in row-major order over the strictly positive and negative values; NaN
 * values fail both tests and count only in the total. Squaring in float32 instead (as later
 * OpenCV's cv::multiply does) moves the features by ~1e-9 relative and the score by up to ~5e-4.
 */
export function aggdFit(values: Float32Array): AggdFit {
  let posSq = 0;
  let negSq = 0;
  let absSum = 0;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > 0) {
      pos++;
      posSq += v * v;
      absSum += v;
    } else if (v < 0) {
      neg++;
      negSq += v * v;
      absSum -= v;
    }
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
const SHIFTS: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [-1, 1],
];

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
export async function brisqueFeaturesOfPlanes(planes: readonly GrayPlane[]): Promise<Float32Array[]> {
  const halves = planes.map(resizeCubicHalf);
  const out: Float32Array[] = planes.map(() => new Float32Array(BRISQUE_FEATURE_COUNT));
  for (const [s, level] of [planes, halves].entries()) {
    const mscn = await mscnPlanes(level);
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
