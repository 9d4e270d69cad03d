// PSNR, SSIM and the wavelet term behave as metrics: 1 (or the PSNR cap) on identical images,
// falling as noise or blur grows on procedural faces, with gradients that match finite differences.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  checkGrad,
  clamp,
  grad,
  key,
  memory,
  normal,
  setBackend,
  sum,
  uniform,
  type Tensor,
} from '../src/index.js';
import { PSNR_MAX_DB, psnr, ssim, waveletFidelity } from '../src/faces.js';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import { faceDataset } from '../src/data/faces.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const faces = (count: number, size = 32): Tensor =>
  [...faceDataset({ split: 'test', size, count, seed: 3 }).batches(count)][0].hq;
const noisy = (x: Tensor, sigma: number, seed: number): Tensor =>
  clamp(add(x, normal(key(seed), x.shape, { std: sigma })), { min: 0, max: 1 });
const blurred = (x: Tensor, sigma: number): Tensor =>
  blurImages(
    x,
    Array.from({ length: x.shape[0] }, () => gaussianKernel(9, sigma, sigma)),
    9,
  );
const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

/** Each image's values strictly decrease along the levels. */
function expectDecreasing(rows: number[][]): void {
  for (let level = 1; level < rows.length; level++) {
    rows[level].forEach((v, i) => expect(v, `level ${level}, image ${i}`).toBeLessThan(rows[level - 1][i]));
  }
}

describe('identity', () => {
  it('ssim(x, x) and waveletFidelity(x, x) are 1 and psnr(x, x) is the 100 dB cap', async () => {
    const x = faces(3);
    for (const v of await values(ssim(x, x))) expect(v).toBeCloseTo(1, 6);
    for (const v of await values(waveletFidelity(x, x))) expect(v).toBe(1);
    for (const v of await values(psnr(x, x))) expect(v).toBeCloseTo(PSNR_MAX_DB, 4);
    expect(PSNR_MAX_DB).toBe(100);
  });

  it('psnr has a finite zero gradient at identical images', async () => {
    const x = faces(1);
    const g = grad((a: Tensor) => sum(psnr(a, x)))(x);
    const d = await g.data();
    expect(d.every((v) => v === 0)).toBe(true);
  });

  it('returns one value per image, shape [N]', () => {
    const x = faces(2);
    for (const f of [psnr, ssim, waveletFidelity]) expect(f(x, noisy(x, 0.05, 1)).shape).toEqual([2]);
  });
});

describe('ordering on procedural faces', () => {
  const levels = [0.01, 0.03, 0.06, 0.1, 0.15];
  it('psnr, ssim and waveletFidelity fall as Gaussian noise grows', async () => {
    const x = faces(3);
    const degraded = levels.map((s, i) => noisy(x, s, 10 + i));
    for (const f of [psnr, ssim, waveletFidelity])
      expectDecreasing(await Promise.all(degraded.map((d) => values(f(x, d)))));
  });

  it('psnr, ssim and waveletFidelity fall as blur grows', async () => {
    const x = faces(3, 64);
    const degraded = [0.6, 1, 1.6, 2.4, 3.5].map((s) => blurred(x, s));
    for (const f of [psnr, ssim, waveletFidelity])
      expectDecreasing(await Promise.all(degraded.map((d) => values(f(x, d)))));
  });

  it('holds memory flat: a metric call leaves no tensors behind', async () => {
    const x = faces(2);
    const y = noisy(x, 0.05, 2);
    const before = memory().cpu.tensors;
    for (const f of [psnr, ssim, waveletFidelity]) f(x, y).dispose();
    expect(memory().cpu.tensors).toBe(before);
  });
});

describe('gradients match finite differences (CPU, float64)', () => {
  const pair = (h: number, w: number, seed: number): [Tensor, Tensor] => {
    const opts = { backend: 'cpu' as const, dtype: 'float64' as const, min: 0.1, max: 0.9 };
    return [uniform(key(seed), [2, 2, h, w], opts), uniform(key(seed + 1), [2, 2, h, w], opts)];
  };

  it('psnr, in both arguments, away from identical images', async () => {
    const [x, y] = pair(4, 5, 1);
    const report = await checkGrad((a, b) => psnr(a, b), [x, y]);
    expect(report.ok, report.message).toBe(true);
  });

  it('ssim, in both arguments', async () => {
    const [x, y] = pair(12, 13, 3);
    const report = await checkGrad((a, b) => ssim(a, b), [x, y], { maxElementsPerInput: 120 });
    expect(report.ok, report.message).toBe(true);
  });

  it('waveletFidelity, in both arguments (odd sizes take the edge-repeat path)', async () => {
    const [x, y] = pair(9, 11, 5);
    const report = await checkGrad((a, b) => waveletFidelity(a, b), [x, y]);
    expect(report.ok, report.message).toBe(true);
  });
});
