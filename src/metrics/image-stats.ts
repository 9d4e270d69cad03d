// Host-side image statistics that compare two face sets (scripts/face-stats.ts): colour,
// gradient magnitudes and the power spectrum's slope, on [3, S, S] float planes in [0, 1].

/** ITU-R BT.601 luma of CHW planes. */
export function luma(planes: Float32Array, size: number): Float64Array {
  const n = size * size;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * planes[i] + 0.587 * planes[n + i] + 0.114 * planes[2 * n + i];
  return y;
}

/** Per-channel mean and standard deviation over the pixels of one image. */
export function channelStats(planes: Float32Array, size: number): { mean: number[]; std: number[] } {
  const n = size * size;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = planes[c * n + i];
      s += v;
      s2 += v * v;
    }
    mean.push(s / n);
    std.push(Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)));
  }
  return { mean, std };
}

/** Upper edges of the gradient-magnitude histogram bins (luma, forward differences, per pixel). */
export const GRADIENT_BINS = [0.01, 0.03, 0.1, 0.3, Infinity] as const;

/** Fraction of pixels whose luma gradient magnitude falls in each GRADIENT_BINS bin. */
export function gradientHistogram(planes: Float32Array, size: number): number[] {
  const y = luma(planes, size);
  const counts = GRADIENT_BINS.map(() => 0);
  let n = 0;
  for (let r = 0; r < size - 1; r++) {
    for (let c = 0; c < size - 1; c++) {
      const g = Math.hypot(y[r * size + c + 1] - y[r * size + c], y[(r + 1) * size + c] - y[r * size + c]);
      counts[GRADIENT_BINS.findIndex((e) => g < e)]++;
      n++;
    }
  }
  return counts.map((k) => k / n);
}

/**
 * The slope of log power against log frequency of the luma's radially averaged power spectrum
 * (Hann-windowed, DC left out), fitted over frequencies 2..size/2 cycles per image. Natural
 * photos sit near -2; flat cartoons and blur fall steeper, noise flatter.
 */
export function spectrumSlope(planes: Float32Array, size: number): number {
  const y = luma(planes, size);
  let m = 0;
  for (const v of y) m += v;
  m /= y.length;
  const w = (i: number) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / size);
  const re = new Float64Array(size * size);
  const im = new Float64Array(size * size);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) re[r * size + c] = (y[r * size + c] - m) * w(r) * w(c);
  // 2-D DFT by rows then columns (sizes here are 32..128: O(S^3) is fine).
  const dft = (get: (k: number) => [number, number], set: (k: number, a: number, b: number) => void) => {
    const inRe = new Float64Array(size);
    const inIm = new Float64Array(size);
    for (let k = 0; k < size; k++) [inRe[k], inIm[k]] = get(k);
    for (let f = 0; f < size; f++) {
      let a = 0;
      let b = 0;
      for (let k = 0; k < size; k++) {
        const t = (-2 * Math.PI * f * k) / size;
        a += inRe[k] * Math.cos(t) - inIm[k] * Math.sin(t);
        b += inRe[k] * Math.sin(t) + inIm[k] * Math.cos(t);
      }
      set(f, a, b);
    }
  };
  for (let r = 0; r < size; r++)
    dft(
      (k) => [re[r * size + k], im[r * size + k]],
      (f, a, b) => ((re[r * size + f] = a), (im[r * size + f] = b)),
    );
  for (let c = 0; c < size; c++)
    dft(
      (k) => [re[k * size + c], im[k * size + c]],
      (f, a, b) => ((re[f * size + c] = a), (im[f * size + c] = b)),
    );
  const half = size / 2;
  const power = new Float64Array(half + 1);
  const count = new Float64Array(half + 1);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const fr = r <= half ? r : r - size;
      const fc = c <= half ? c : c - size;
      const f = Math.round(Math.hypot(fr, fc));
      if (f >= 1 && f <= half) {
        power[f] += re[r * size + c] ** 2 + im[r * size + c] ** 2;
        count[f]++;
      }
    }
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let f = 2; f <= half; f++) {
    if (count[f] > 0 && power[f] > 0) {
      xs.push(Math.log(f));
      ys.push(Math.log(power[f] / count[f]));
    }
  }
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => ((num += (x - mx) * (ys[i] - my)), (den += (x - mx) ** 2)));
  return num / den;
}

/**
 * The r.m.s. of the luma's finest diagonal Haar band, (a - b - c + d) / 2 over 2x2 blocks (an
 * orthonormal Haar step): pixel-scale texture and noise, which straight edges and shading barely
 * excite. At 32 px the real faces sit near 0.02; point-sampled sub-pixel texture raises it.
 */
export function finestDiagonal(planes: Float32Array, size: number): number {
  const y = luma(planes, size);
  let sum = 0;
  let n = 0;
  for (let r = 0; r + 1 < size; r += 2) {
    for (let c = 0; c + 1 < size; c += 2) {
      const d = (y[r * size + c] - y[r * size + c + 1] - y[(r + 1) * size + c] + y[(r + 1) * size + c + 1]) / 2;
      sum += d * d;
      n++;
    }
  }
  return n > 0 ? Math.sqrt(sum / n) : 0;
}
