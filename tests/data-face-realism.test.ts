// The photographic parts of the procedural faces (issue 16): the texture noise is a pure,
// bounded, band-limited function; the face-statistics helpers measure what they say; and the
// rendered set has beards, glasses and the FFHQ crop's eye line like the real-face set.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { faceParams } from '../src/data/faces.js';
import { renderFace } from '../src/data/face-render.js';
import { fbm, hash2, valueNoise } from '../src/data/value-noise.js';
import { channelStats, finestDiagonal, gradientHistogram, spectrumSlope } from '../src/metrics/image-stats.js';
import { key } from '../src/index.js';
import { randomStream } from '../src/random/threefry.js';

describe('value noise', () => {
  it('is a pure function in [0, 1) that varies smoothly', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (x, y, seed) => {
          const v = valueNoise(x, y, seed);
          expect(v).toBe(valueNoise(x, y, seed));
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(1);
          expect(Math.abs(valueNoise(x + 1e-4, y, seed) - v)).toBeLessThan(1e-2);
          expect(hash2(Math.floor(x), Math.floor(y), seed)).toBe(hash2(Math.floor(x), Math.floor(y), seed));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fbm fades octaves finer than two pixels toward the mean: flat (0.5) under one pixel per cell', () => {
    const v = (o: number) => valueNoise(3.3 * 2 ** o, 7.1 * 2 ** o, 5 + o * 1013);
    expect(fbm(3.3, 7.1, 5, 3, 0.9)).toBe(0.5);
    // Unfaded: the plain weighted sum, to the bit.
    expect(fbm(3.3, 7.1, 5, 3)).toBe((0.5 * v(0) + 0.25 * v(1) + 0.125 * v(2)) / 0.875);
    // 1.5 pixels per cell: the first octave at half its contrast, the finer two gone; not renormalised.
    expect(fbm(3.3, 7.1, 5, 3, 1.5)).toBeCloseTo(0.5 + (0.25 * (v(0) - 0.5)) / 0.875, 12);
  });

  it("fbm's contrast falls as its cells shrink toward a pixel", () => {
    const spread = (cellPixels: number) => {
      const xs = Array.from({ length: 400 }, (_, i) => fbm(i * 0.37, i * 0.61, 9, 2, cellPixels));
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
    };
    expect(spread(1.2)).toBeLessThan(0.5 * spread(1.8));
    expect(spread(1.8)).toBeLessThan(spread(8));
  });
});

describe('image statistics', () => {
  const size = 32;
  const white = Float32Array.from(randomStream('uniform', key(1).words, 3 * size * size) as Float32Array);

  it('channelStats: a constant image has its value as mean and 0 s.d.', () => {
    const { mean, std } = channelStats(new Float32Array(3 * size * size).fill(0.25), size);
    mean.forEach((m) => expect(m).toBeCloseTo(0.25, 6));
    std.forEach((s) => expect(s).toBeCloseTo(0, 6));
  });

  it('gradientHistogram: fractions summing to 1, all in the first bin for a flat image', () => {
    const flat = gradientHistogram(new Float32Array(3 * size * size).fill(0.5), size);
    expect(flat[0]).toBe(1);
    expect(gradientHistogram(white, size).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('finestDiagonal: 0 for flat images and ramps, the amplitude of a checkerboard, high for noise', () => {
    const image = (f: (y: number, x: number) => number) =>
      Float32Array.from({ length: 3 * size * size }, (_, i) => f(Math.floor((i % (size * size)) / size), i % size));
    expect(
      finestDiagonal(
        image(() => 0.3),
        size,
      ),
    ).toBe(0);
    expect(
      finestDiagonal(
        image((y, x) => 0.01 * x + 0.02 * y),
        size,
      ),
    ).toBeCloseTo(0, 6); // float32 pixels
    expect(
      finestDiagonal(
        image((y, x) => 0.5 + ((x + y) % 2 ? -0.1 : 0.1)),
        size,
      ),
    ).toBeCloseTo(0.2, 6);
    expect(finestDiagonal(white, size)).toBeGreaterThan(0.1);
  });

  it('spectrumSlope: about 0 for white noise, steep for a smooth ramp-and-blob image', () => {
    expect(Math.abs(spectrumSlope(white, size))).toBeLessThan(0.5);
    const smooth = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          smooth[c * size * size + y * size + x] = 0.5 + 0.4 * Math.exp(-((x - 16) ** 2 + (y - 14) ** 2) / 60);
    expect(spectrumSlope(smooth, size)).toBeLessThan(-3);
  });
});

describe('photographic procedural faces', () => {
  const params = Array.from({ length: 200 }, (_, i) => faceParams(0, i));

  it('draw beards, clear and dark glasses at their rates, and skin texture in its range', () => {
    const beards = params.filter((p) => p.identity.beard > 0).length;
    const glasses = params.filter((p) => p.identity.glasses !== 'none').length;
    expect(beards).toBeGreaterThan(20);
    expect(beards).toBeLessThan(60);
    expect(glasses).toBeGreaterThan(10);
    expect(glasses).toBeLessThan(50);
    expect(params.some((p) => p.identity.glasses === 'dark')).toBe(true);
    for (const p of params) {
      expect(p.identity.skinTexture).toBeGreaterThanOrEqual(0.03);
      expect(p.identity.skinTexture).toBeLessThan(0.1);
    }
  });

  it('keep real proportions: mouth about one eye distance below the eyes, nose between', () => {
    for (const { identity: id } of params) {
      const eyeDistance = 2 * id.eyeSpacing;
      expect((id.mouthY - id.eyeY) / eyeDistance).toBeGreaterThanOrEqual(0.9);
      expect((id.mouthY - id.eyeY) / eyeDistance).toBeLessThan(1.12);
      expect(id.noseY).toBeGreaterThan(id.eyeY);
      expect(id.noseY).toBeLessThan(id.mouthY);
    }
  });

  it('render the same bytes at every size for the same parameters, in [0, 1], with the face filling the crop', () => {
    for (const size of [32, 64]) {
      const a = renderFace(params[7], size);
      expect(Buffer.from(a.buffer).equals(Buffer.from(renderFace(params[7], size).buffer))).toBe(true);
      expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    // FFHQ framing: the eyes sit just above the middle row, so the centre pixel is face (skin), not background.
    const frontal = faceParams(0, 3, 0, { nuisance: false });
    const img = renderFace(frontal, 64);
    const centre = 32 * 64 + 32;
    const skin = frontal.identity.skin;
    expect(Math.abs(img[centre] - skin[0])).toBeLessThan(0.25);
    expect(Math.abs(img[2 * 64 * 64 + centre] - skin[2])).toBeLessThan(0.25);
  });
});
