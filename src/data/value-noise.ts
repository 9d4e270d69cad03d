// Deterministic 2-D value noise for the procedural faces' textures (skin, hair, background
// clutter, sensor noise): an integer hash of the lattice point and a seed, smoothly interpolated.
// A pure function of its arguments, so a face renders to the same bytes every time.

/** A hash of (x, y, seed) to [0, 1) (integer mixing, as in "Hash functions for GPU rendering", Jarzynski & Olano 2020). */
export function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Value noise in [0, 1) at (x, y) in lattice units: smoothstep interpolation of the four corner hashes. */
export function valueNoise(x: number, y: number, seed: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const tx = x - x0;
  const ty = y - y0;
  const sx = tx * tx * (3 - 2 * tx);
  const sy = ty * ty * (3 - 2 * ty);
  const a = hash2(x0, y0, seed);
  const b = hash2(x0 + 1, y0, seed);
  const c = hash2(x0, y0 + 1, seed);
  const d = hash2(x0 + 1, y0 + 1, seed);
  return a + (b - a) * sx + (c - a + (a - b - c + d) * sx) * sy;
}

/**
 * Fractal noise: `octaves` of value noise, each twice the frequency and half the amplitude; about
 * [0, 1), mean 0.5. `cellPixels` is how many pixels one lattice cell of the first octave spans:
 * octaves whose cells shrink below 2 pixels fade toward the mean, and are flat below 1 pixel, as
 * a texture finer than the pixels averages out in a photo (point-sampled, it would alias into
 * pixel noise, which no restorer can predict and which a restorer trained on it learns to paint).
 */
export function fbm(x: number, y: number, seed: number, octaves = 3, cellPixels = Infinity): number {
  let sum = 0;
  let amp = 0.5;
  let kept = 0;
  let total = 0;
  let cell = cellPixels;
  for (let o = 0; o < octaves; o++, cell /= 2) {
    total += amp;
    const fade = Math.min(1, Math.max(0, cell - 1));
    if (fade > 0) {
      sum += amp * fade * valueNoise(x, y, seed + o * 1013);
      kept += amp * fade;
    }
    x *= 2;
    y *= 2;
    amp *= 0.5;
  }
  // A faded octave's lost share sits at the mean: its contrast fades, it is not renormalised back.
  // With nothing faded, total - kept is exactly 0 and this is sum / total (the same bytes as before).
  return total > 0 ? (sum + 0.5 * (total - kept)) / total : 0.5;
}
