// The CodeFormer-style degradation (docs/architecture.md, "The LRPO pipeline"): pure per key, each
// step does its job.
import { beforeAll, describe, expect, it } from 'vitest';
import { full, key, memory, normal, setBackend, tensor, type Tensor } from '../src/index.js';
import {
  blurImages,
  defaultDegradation,
  degrade,
  gaussianKernel,
  jpegRoundTrip,
  sampleDegradation,
  type DegradationConfig,
} from '../src/data/degrade.js';
import { faceDataset } from '../src/data/faces.js';
import { bilinearWeights, resizeBilinear } from '../src/data/resize.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const faces = (count: number, size = 32): Tensor =>
  [...faceDataset({ split: 'train', size, count, seed: 1 }).batches(count)][0].hq;

/** Mean squared Laplacian over channel 0 of image 0: high-frequency energy. */
async function laplacianEnergy(x: Tensor): Promise<number> {
  const [, , h, w] = x.shape;
  const d = await x.data();
  let s = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let i = 1; i < w - 1; i++) {
      const c = y * w + i;
      s += (4 * d[c] - d[c - 1] - d[c + 1] - d[c - w] - d[c + w]) ** 2;
    }
  }
  return s / ((h - 2) * (w - 2));
}

const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

/** Fixes every range at one value (a single-step degradation). */
const only = (over: Partial<DegradationConfig>): Partial<DegradationConfig> => ({
  blurSigma: [0.001, 0.001],
  anisotropicProbability: 0,
  downscale: [1, 1],
  noiseSigma: [0, 0],
  jpegQuality: [100, 100],
  ...over,
});

describe('degrade', () => {
  it('is pure: the same key gives the same images and parameters; another key differs', async () => {
    const hq = faces(2);
    const a = await degrade(key(4), hq);
    const b = await degrade(key(4), hq);
    const c = await degrade(key(5), hq);
    expect(Array.from(await a.lq.data())).toEqual(Array.from(await b.lq.data()));
    expect(a.params).toEqual(b.params);
    expect(c.params).not.toEqual(a.params);
    expect(a.lq.shape).toEqual([2, 3, 32, 32]);
    for (const t of [hq, a.lq, b.lq, c.lq]) t.dispose();
  });

  it('draws parameters inside the configured ranges, with blur scaled to the image size', async () => {
    const hq = faces(1, 64);
    const before = memory().cpu.tensors;
    for (let i = 0; i < 6; i++) {
      const { lq, params } = await degrade(key(100 + i), hq);
      const [p] = params;
      const s = 64 / 512;
      expect(p.blur.sigmaX).toBeGreaterThanOrEqual(0.1 * s);
      expect(p.blur.sigmaX).toBeLessThanOrEqual(12 * s);
      expect(p.blur.sigmaY).toBeLessThanOrEqual(12 * s);
      expect(p.blur.kernelSize).toBe(5); // 41 * 64 / 512 = 5.1 -> 5
      expect(p.downscale).toBeGreaterThanOrEqual(1);
      expect(p.downscale).toBeLessThanOrEqual(12);
      expect(p.lowSize[0]).toBe(Math.round(64 / p.downscale));
      expect(p.noiseSigma).toBeLessThanOrEqual(15 / 255);
      expect(Number.isInteger(p.jpegQuality) && p.jpegQuality >= 30 && p.jpegQuality <= 99).toBe(true);
      const v = await lq.data();
      expect(v.every((x) => x >= 0 && x <= 1)).toBe(true);
      lq.dispose();
    }
    expect(memory().cpu.tensors).toBe(before); // nothing leaks besides what is returned
    hq.dispose();
  });

  it('follows a custom config (narrow ranges, all anisotropic)', () => {
    const cfg = {
      ...defaultDegradation,
      blurSigma: [2, 3] as const,
      anisotropicProbability: 1,
      downscale: [4, 4] as const,
      jpegQuality: [50, 50] as const,
    };
    for (let i = 0; i < 20; i++) {
      const p = sampleDegradation(key(i), cfg, 512, 512);
      expect(p.blur.kind).toBe('anisotropic');
      expect(p.blur.sigmaX >= 2 && p.blur.sigmaX <= 3 && p.blur.sigmaY >= 2 && p.blur.sigmaY <= 3).toBe(true);
      expect(p.lowSize).toEqual([128, 128]);
      expect(p.jpegQuality).toBe(50);
      expect(p.blur.kernelSize).toBe(41);
    }
  });

  it('refuses a bad range and a non-image batch', async () => {
    const hq = faces(1);
    await expect(degrade(key(0), hq, { jpegQuality: [30, 120] })).rejects.toThrow(
      /config\.jpegQuality must be a range \[min, max\] with 1 <= min <= max <= 100/,
    );
    const gray = full([1, 1, 8, 8], 0.5);
    await expect(degrade(key(0), gray)).rejects.toThrow(/must be a \[N, 3, H, W\] tensor.*got \[1, 1, 8, 8\]/);
    hq.dispose();
    gray.dispose();
  });
});

describe('degradation steps', () => {
  it('blur lowers high-frequency energy (variance of the Laplacian), more with larger sigma', async () => {
    const hq = faces(1, 64);
    const e0 = await laplacianEnergy(hq);
    const mild = blurImages(hq, [gaussianKernel(7, 0.8, 0.8)], 7);
    const strong = blurImages(hq, [gaussianKernel(7, 2, 2)], 7);
    const e1 = await laplacianEnergy(mild);
    const e2 = await laplacianEnergy(strong);
    expect(e1).toBeLessThan(e0 * 0.6);
    expect(e2).toBeLessThan(e1);
    for (const t of [hq, mild, strong]) t.dispose();
  });

  it('blur keeps a constant image constant (normalised kernel, reflected borders), anisotropic too', async () => {
    const x = full([2, 3, 12, 12], 0.3);
    const y = blurImages(x, [gaussianKernel(5, 1, 1), gaussianKernel(5, 0.5, 2, 0.7)], 5);
    for (const v of await y.data()) expect(v).toBeCloseTo(0.3, 5);
    x.dispose();
    y.dispose();
  });

  it('an anisotropic kernel blurs more along its long axis', () => {
    const k = gaussianKernel(9, 3, 0.5, 0); // long along x
    const c = 4;
    expect(k[c * 9 + c + 2]).toBeGreaterThan(k[(c + 2) * 9 + c] * 10);
  });

  it('downsampling then upsampling a constant image gives the same constant', async () => {
    const x = full([1, 3, 32, 32], 0.7);
    const small = resizeBilinear(x, [5, 7]);
    const back = resizeBilinear(small, [32, 32]);
    for (const v of await back.data()) expect(v).toBeCloseTo(0.7, 5);
    for (const t of [x, small, back]) t.dispose();
  });

  it('bilinear weights match OpenCV INTER_LINEAR (half-pixel centres) for a 2x upscale', () => {
    const w = bilinearWeights(2, 4);
    expect(Array.from(w)).toEqual([1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  });

  it('noise of sigma s added to a flat image has standard deviation s within 5%', async () => {
    const s = 10 / 255;
    const hq = full([1, 3, 64, 64], 0.5);
    const { lq } = await degrade(key(9), hq, only({ noiseSigma: [s, s], jpegQuality: [100, 100] }));
    const v = Array.from(await lq.data());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    // JPEG at 100 and 8-bit rounding add a little error of their own.
    expect(std).toBeGreaterThan(s * 0.95);
    expect(std).toBeLessThan(s * 1.1);
    hq.dispose();
    lq.dispose();
    const direct = normal(key(1), [4096], { std: s });
    const d = Array.from(await direct.data());
    expect(Math.sqrt(d.reduce((a, b) => a + b * b, 0) / d.length)).toBeCloseTo(s, 2);
    direct.dispose();
  });

  it('JPEG at low quality changes the image more than at high quality', async () => {
    const hq = faces(1, 64);
    const data = (await hq.data()) as Float32Array;
    const low = meanAbs(data, jpegRoundTrip(data, 64, 64, 30));
    const high = meanAbs(data, jpegRoundTrip(data, 64, 64, 95));
    expect(low).toBeGreaterThan(high * 1.5);
    hq.dispose();
  });

  it('with every step switched off, degrade returns the image up to 8-bit JPEG-100 error', async () => {
    const hq = faces(1, 32);
    const { lq } = await degrade(key(2), hq, only({}));
    expect(meanAbs(await hq.data(), await lq.data())).toBeLessThan(0.01);
    hq.dispose();
    lq.dispose();
  });

  it('also takes a tensor made from host data (no dependency on the face generator)', async () => {
    const hq = tensor(new Float32Array(3 * 16 * 16).fill(0.25), { shape: [1, 3, 16, 16] });
    const { lq } = await degrade(key(1), hq, only({ downscale: [3, 3] }));
    for (const v of await lq.data()) expect(Math.abs(v - 0.25)).toBeLessThan(0.01);
    hq.dispose();
    lq.dispose();
  });
});
