// detailQuality, the default no-reference reward term: on real and procedural faces at 32 and
// 64 px it falls when Gaussian noise or JPEG blocking is added and when the face is blurred
// (it rises with real detail), where the Laplacian stand-in it replaced rises with noise.
import { beforeAll, describe, expect, it } from 'vitest';
import { add, clamp, key, normal, setBackend, tensor, valueAndGrad, sum, type Tensor } from '../src/index.js';
import { faceDataset } from '../src/data/faces.js';
import { loadRealFaces } from '../src/data/real-faces.js';
import { resizeBilinear } from '../src/data/resize.js';
import { blurImages, gaussianKernel, jpegRoundTrip } from '../src/data/degrade.js';
import { detailQuality, detailQualityParts } from '../src/metrics/detail-quality.js';
import { laplacianSharpness } from '../src/lrpo/sharpness.js';

const sets: Record<string, Tensor> = {};

beforeAll(async () => {
  await setBackend('cpu');
  const real = (await loadRealFaces({ size: 64 })).images;
  sets['real 64 px'] = real;
  sets['real 32 px'] = resizeBilinear(real, [32, 32], { antialias: true });
  for (const size of [32, 64])
    sets[`procedural ${size} px`] = [
      ...faceDataset({ split: 'test', size, count: 16, style: 'photo' }).batches(16),
    ][0].hq;
});

const read = async (t: Tensor): Promise<number[]> => Array.from((await t.data()) as Float32Array);
const noisy = (x: Tensor, sigma: number, seed: number) =>
  clamp(add(x, normal(key(seed), x.shape, { std: sigma })), { min: 0, max: 1 });
const blurred = (x: Tensor, sigma: number) => {
  const k = 2 * Math.ceil(2.5 * sigma) + 1;
  return blurImages(
    x,
    Array.from({ length: x.shape[0] }, () => gaussianKernel(k, sigma, sigma)),
    k,
  );
};
async function jpegged(x: Tensor, quality: number): Promise<Tensor> {
  const [n, c, h, w] = x.shape;
  const data = (await x.data()) as Float32Array;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++)
    out.set(jpegRoundTrip(data.subarray(i * c * h * w, (i + 1) * c * h * w), h, w, quality), i * c * h * w);
  return tensor(out, { shape: x.shape });
}

/** Indices of the images whose score did not fall from `clean` to `worse`. */
const notLower = (clean: number[], worse: number[]) => clean.map((c, i) => i).filter((i) => !(worse[i] < clean[i]));
const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('detailQuality', () => {
  for (const name of ['real 64 px', 'real 32 px', 'procedural 64 px', 'procedural 32 px']) {
    it(`${name}: every face scores lower with Gaussian noise (sigma 5/255 and 10/255) added`, async () => {
      const x = sets[name];
      const clean = await read(detailQuality(x));
      for (const [sigma, seed] of [
        [5 / 255, 5],
        [10 / 255, 10],
      ] as const) {
        expect(notLower(clean, await read(detailQuality(noisy(x, sigma, seed)))), `sigma ${sigma * 255}/255`).toEqual(
          [],
        );
      }
    });

    it(`${name}: every face scores higher than its blurred self (Gaussian sigma 1 and 2 px)`, async () => {
      const x = sets[name];
      const sharp = await read(detailQuality(x));
      for (const sigma of [1, 2])
        expect(notLower(sharp, await read(detailQuality(blurred(x, sigma)))), `blur ${sigma}`).toEqual([]);
    });
  }

  for (const name of ['real 64 px', 'procedural 64 px']) {
    it(`${name}: every face scores lower after JPEG at quality 10 (8x8 blocking)`, async () => {
      const x = sets[name];
      expect(notLower(await read(detailQuality(x)), await read(detailQuality(await jpegged(x, 10))))).toEqual([]);
    });
  }

  for (const name of ['real 32 px', 'procedural 32 px']) {
    // At 32 px an 8x8 block is a quarter of the face and JPEG also wipes out the fine noise the
    // score penalises, so a few faces score higher after it: the mean falls, most faces fall.
    it(`${name}: JPEG at quality 10 lowers the mean score and that of at least 90% of faces`, async () => {
      const x = sets[name];
      const clean = await read(detailQuality(x));
      const jpeg = await read(detailQuality(await jpegged(x, 10)));
      expect(meanOf(jpeg)).toBeLessThan(meanOf(clean));
      expect(notLower(clean, jpeg).length).toBeLessThanOrEqual(Math.floor(clean.length * 0.1));
    });
  }

  it('is in (0, 1), and its noise estimate tracks the noise added to a flat gray image', async () => {
    const flat = tensor(new Float32Array(2 * 32 * 32).fill(0.5), { shape: [2, 1, 32, 32] });
    const parts = detailQualityParts(noisy(flat, 0.04, 1));
    // A soft minimum over blocks: a little below the true s.d.
    for (const v of await read(parts.noise)) {
      expect(v).toBeGreaterThan(0.03);
      expect(v).toBeLessThan(0.045);
    }
    for (const v of await read(detailQuality(sets['real 32 px']))) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
  });

  it('is differentiable: finite gradients with respect to the images', async () => {
    const x = sets['procedural 32 px'];
    const [, g] = valueAndGrad((img: Tensor) => sum(detailQuality(img)))(x);
    const grad = await read(g as Tensor);
    expect(grad.every(Number.isFinite)).toBe(true);
    expect(grad.some((v) => v !== 0)).toBe(true);
  });

  it('rejects images smaller than 8 px and other channel counts', () => {
    expect(() => detailQuality(tensor(new Float32Array(3 * 4 * 4), { shape: [1, 3, 4, 4] }))).toThrow(/at least 8x8/);
    expect(() => detailQuality(tensor(new Float32Array(2 * 16 * 16), { shape: [1, 2, 16, 16] }))).toThrow(
      /1 or 3 channels/,
    );
  });
});

describe('laplacianSharpness (the stand-in detailQuality replaced)', () => {
  it('rises when noise is added to a real face: it cannot tell detail from noise', async () => {
    const x = sets['real 32 px'];
    const clean = await read(laplacianSharpness(x));
    const noise = await read(laplacianSharpness(noisy(x, 10 / 255, 10)));
    expect(noise.every((v, i) => v > clean[i])).toBe(true);
  });
});
