// FFHQ-style face alignment on the host (float64, deterministic): the crop square from eyes and
// mouth, and the resampling that cuts it out and reduces it to the set's sizes. Shared by the
// real-face evaluation set, the human-faces builder and the photographic generator's framing.
import type { RgbImage } from '../io/codecs.js';
import { bilinearWeights } from './resize.js';

/** A point or direction in source pixels. */
export type Vec = readonly [number, number];

/**
 * The FFHQ crop square from eyes and mouth (Karras et al.'s recipe): centre c, half-axes x
 * (towards the image right) and y (down). Output pixel (u, v) in [0, 1]^2 maps to c + (2u - 1) x + (2v - 1) y.
 */
export function ffhqQuad(leftEye: Vec, rightEye: Vec, mouthLeft: Vec, mouthRight: Vec): { c: Vec; x: Vec; y: Vec } {
  const eyeAvg: Vec = [(leftEye[0] + rightEye[0]) / 2, (leftEye[1] + rightEye[1]) / 2];
  const eyeToEye: Vec = [rightEye[0] - leftEye[0], rightEye[1] - leftEye[1]];
  const mouthAvg: Vec = [(mouthLeft[0] + mouthRight[0]) / 2, (mouthLeft[1] + mouthRight[1]) / 2];
  const eyeToMouth: Vec = [mouthAvg[0] - eyeAvg[0], mouthAvg[1] - eyeAvg[1]];
  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
  let x: [number, number] = [eyeToEye[0] + eyeToMouth[1], eyeToEye[1] - eyeToMouth[0]];
  const norm = Math.hypot(x[0], x[1]);
  const scale = Math.max(Math.hypot(eyeToEye[0], eyeToEye[1]) * 2.0, Math.hypot(eyeToMouth[0], eyeToMouth[1]) * 1.8);
  x = [(x[0] / norm) * scale, (x[1] / norm) * scale];
  const y: Vec = [-x[1], x[0]];
  const c: Vec = [eyeAvg[0] + eyeToMouth[0] * 0.1, eyeAvg[1] + eyeToMouth[1] * 0.1];
  return { c, x, y };
}

/**
 * Bilinear interpolation at (sx, sy), inside a w x h grid whose values are `at(x, y)` (the far
 * neighbours clamped to the last row and column). @internal
 */
export function bilinearAt(at: (x: number, y: number) => number, w: number, h: number, sx: number, sy: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const tx = sx - x0;
  const ty = sy - y0;
  return (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x1, y0)) + ty * ((1 - tx) * at(x0, y1) + tx * at(x1, y1));
}

/**
 * Samples a quad (centre c, half-axes x and y, in source pixels) into [3, side, side] planes at
 * half-pixel centres: `at(px, py)` gives the channels' values at a source point (pixel centres
 * at integers). @internal
 */
export function sampleQuad(
  quad: { c: Vec; x: Vec; y: Vec },
  side: number,
  at: (px: number, py: number) => (channel: number) => number,
): Float64Array {
  const out = new Float64Array(3 * side * side);
  const plane = side * side;
  for (let v = 0; v < side; v++) {
    const fv = (2 * (v + 0.5)) / side - 1;
    for (let u = 0; u < side; u++) {
      const fu = (2 * (u + 0.5)) / side - 1;
      const value = at(
        quad.c[0] + fu * quad.x[0] + fv * quad.y[0] - 0.5,
        quad.c[1] + fu * quad.x[1] + fv * quad.y[1] - 0.5,
      );
      for (let c = 0; c < 3; c++) out[c * plane + v * side + u] = value(c);
    }
  }
  return out;
}

/** Samples the quad from an 8-bit RGB image into [3, side, side] float planes (bilinear, edges clamped, half-pixel centres). */
export function warpQuad(img: RgbImage, quad: { c: Vec; x: Vec; y: Vec }, side: number): Float64Array {
  const { width: w, height: h, data } = img;
  return sampleQuad(quad, side, (px, py) => {
    const sx = Math.min(w - 1, Math.max(0, px));
    const sy = Math.min(h - 1, Math.max(0, py));
    return (ch) => bilinearAt((x, y) => data[(y * w + x) * 3 + ch], w, h, sx, sy) / 255;
  });
}

/** Antialiased bilinear reduction of [3, n, n] planes to an 8-bit RGB image of side m (resize.ts's weights, on the host). @internal */
export function reduceToRgb(planes: Float64Array, n: number, m: number): RgbImage {
  const wts = bilinearWeights(n, m, { antialias: true });
  const data = new Uint8Array(m * m * 3);
  const rows = new Float64Array(m * n);
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * n * n;
    rows.fill(0);
    for (let i = 0; i < m; i++)
      for (let k = 0; k < n; k++) {
        const a = wts[i * n + k];
        if (a === 0) continue;
        for (let j = 0; j < n; j++) rows[i * n + j] += a * planes[base + k * n + j];
      }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += wts[j * n + k] * rows[i * n + k];
        data[(i * m + j) * 3 + ch] = Math.round(Math.min(1, Math.max(0, s)) * 255);
      }
  }
  return { width: m, height: m, data };
}
