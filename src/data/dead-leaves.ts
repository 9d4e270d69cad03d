// Dead-leaves pictures (Matheron's model; Lee, Mumford and Huang 2001): opaque discs whose radii
// follow a power law, dropped on top of each other until the picture is covered. They share
// natural photos' scale invariance, edges and occlusions and hold no face, so a restorer trained
// on a share of them learns blur, noise and JPEG in general rather than only the procedural
// faces' look (Achddou et al. 2021 train denoisers on dead leaves alone). A pure function of its
// key: the same key gives the same bytes.
import type { PRNGKey } from '../index.js';
import { Draws } from './draws.js';

/** Discs per picture at most; the rest of the picture (rarely any) takes a background colour. */
const MAX_DISCS = 1500;
/** Uniform draws per disc: centre (2), radius, luminance, chroma (2), shading direction and strength (2). */
const DRAWS_PER_DISC = 8;
/** The smallest disc radius in pixels: smaller ones would be the pixel noise real faces lack. */
const R_MIN = 1.5;
/** Stop once no pixel lets more than this much of the discs behind show through. */
const COVERED = 0.005;

/**
 * The radius of a power-law disc, density proportional to r^-3 on [rMin, rMax] (scale
 * invariance), from a uniform u by the inverse CDF.
 */
export function powerLawRadius(u: number, rMin: number, rMax: number): number {
  const a = rMin ** -2;
  const b = rMax ** -2;
  return (a - u * (a - b)) ** -0.5;
}

/**
 * One dead-leaves picture as [3, size, size] float32 planes in [0, 1]. Radii run from R_MIN pixels
 * to half the side; each disc has a colour (a luminance and a mild tint) shaded by a linear ramp,
 * and a soft edge `edge` pixels wide: at 3 the 32 px pictures' gradient histogram and finest-scale
 * energy sit near the 32 px real faces' (finestDiagonal 0.019 vs 0.020).
 */
export function deadLeaves(k: PRNGKey, size: number, { edge = 3 }: { readonly edge?: number } = {}): Float32Array {
  if (!Number.isInteger(size) || size < 2)
    throw new RangeError(`deadLeaves: size must be an integer >= 2, got ${String(size)}.`);
  if (!(edge > 0)) throw new RangeError(`deadLeaves: edge must be a positive number of pixels, got ${String(edge)}.`);
  const d = new Draws(k, MAX_DISCS * DRAWS_PER_DISC + 3, 'deadLeaves');
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  // Front to back: each pixel keeps how much of what lies behind still shows (its transmittance).
  const through = new Float32Array(plane).fill(1);
  let open = plane;
  for (let disc = 0; disc < MAX_DISCS && open > 0; disc++) {
    const cx = d.range(-0.1, 1.1) * size;
    const cy = d.range(-0.1, 1.1) * size;
    const r = powerLawRadius(d.u(), R_MIN, size / 2);
    const lum = d.range(0.15, 0.85);
    const tintA = d.range(-0.15, 0.15);
    const tintB = d.range(-0.15, 0.15);
    const colour = [lum * (1 + tintA), lum * (1 - 0.5 * tintA + tintB), lum * (1 - 0.5 * tintA - tintB)];
    const angle = d.range(0, 2 * Math.PI);
    const shade = d.range(0, 0.35);
    const [gx, gy] = [(Math.cos(angle) * shade) / r, (Math.sin(angle) * shade) / r];
    const x0 = Math.max(0, Math.floor(cx - r - edge));
    const x1 = Math.min(size - 1, Math.ceil(cx + r + edge));
    const y0 = Math.max(0, Math.floor(cy - r - edge));
    const y1 = Math.min(size - 1, Math.ceil(cy + r + edge));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const p = y * size + x;
        const t = through[p];
        if (t <= COVERED) continue;
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const cover = Math.min(1, Math.max(0, 0.5 - (Math.hypot(dx, dy) - r) / edge));
        if (cover <= 0) continue;
        const light = 1 + gx * dx + gy * dy;
        const w = t * cover;
        for (let c = 0; c < 3; c++) out[c * plane + p] += w * Math.min(1, Math.max(0, colour[c] * light));
        through[p] = t - w;
        if (through[p] <= COVERED) open--;
      }
    }
  }
  // Whatever still shows through: a mid-grey background.
  const background = [d.range(0.3, 0.7), d.range(0.3, 0.7), d.range(0.3, 0.7)];
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < 3; c++) out[c * plane + p] = Math.min(1, out[c * plane + p] + through[p] * background[c]);
  return out;
}
