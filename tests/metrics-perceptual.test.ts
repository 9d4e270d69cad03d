// perceptualDistance: an LPIPS-style distance on face-ResNet feature maps with unit channel
// weights (not LPIPS) is 0 on identical images, symmetric, grows with noise and blur on a
// procedural face and a photo crop, agrees across backends, and has usable gradients.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  mul,
  cast,
  checkGrad,
  clamp,
  concat,
  key,
  normal,
  scope,
  tensor,
  treeMap,
  valueAndGrad,
  sum,
  type Tensor,
} from '../src/index.js';
import { perceptualDistance, perceptualSimilarity } from '../src/faces.js';
import { readImageCHW } from '../src/io/image.js';
import { generateFace } from '../src/data/faces.js';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import { loadFaceRecognitionParams, type FaceRecognitionParams } from '../src/metrics/face-embedding/index.js';
import { faceFeatureMaps } from '../src/metrics/face-embedding/features.js';
import { featureMapDistance } from '../src/metrics/perceptual.js';
import { slice } from '../src/tensor/ops/movement.js';
import { useBackends } from './support/backends.js';
import { readEnv } from '../src/env.js';

useBackends();

const report = (...args: unknown[]) => readEnv('PERCEPTUAL_REPORT') && console.log(...args);
const faceApiDir = dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'));

interface HostImage {
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}
let cpuParams: FaceRecognitionParams;
let gpuParams: FaceRecognitionParams;
let procedural: HostImage;
let photo: HostImage;

beforeAll(async () => {
  cpuParams = loadFaceRecognitionParams({ backend: 'cpu' });
  gpuParams = loadFaceRecognitionParams({ backend: 'webgpu' });
  const face = generateFace(key(6), 64);
  procedural = { h: 64, w: 64, data: face.hq };
  const img = await readImageCHW(join(faceApiDir, 'demo', 'sample1.jpg'));
  const side = 120;
  const top = Math.floor((img.height - side) / 2);
  const left = Math.floor((img.width - side) / 2);
  const data = new Float32Array(3 * side * side);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++)
        data[(c * side + y) * side + x] = img.data[(c * img.height + top + y) * img.width + left + x];
  photo = { h: side, w: side, data };
});

const batchOf = (img: HostImage, n: number, backend: 'cpu' | 'webgpu' = 'webgpu'): Tensor =>
  tensor(new Float32Array(Array.from({ length: n }, () => [...img.data]).flat()), {
    shape: [n, 3, img.h, img.w],
    backend,
  });
const paramsOn = (t: Tensor) => (t.backend === 'cpu' ? cpuParams : gpuParams);
const values = async (t: Tensor): Promise<number[]> => {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
};
/** Runs `f` in a scope and reads (then frees) every tensor it returns. */
const scopedValues = (f: () => Tensor[]): Promise<number[][]> => Promise.all(scope(f).map(values));
const expectIncreasing = (v: number[], what: string) => {
  for (let i = 1; i < v.length; i++) expect(v[i], `${what}: ${v.map((x) => x.toFixed(4))}`).toBeGreaterThan(v[i - 1]);
};

describe('perceptualDistance', () => {
  it('is 0 for an image and itself', async () => {
    const d = await values(
      scope(() => {
        const x = batchOf(photo, 2, 'cpu');
        return perceptualDistance(cpuParams, x, x);
      }),
    );
    expect(d).toEqual([0, 0]);
  });

  it('is symmetric', async () => {
    const [ab, ba] = await scopedValues(() => {
      const a = batchOf(photo, 1);
      const b = clamp(add(a, normal(key(2), a.shape, { std: 0.05 })), { min: 0, max: 1 });
      return [perceptualDistance(gpuParams, a, b), perceptualDistance(gpuParams, b, a)];
    });
    expect(ab[0]).toBeGreaterThan(0);
    expect(Math.abs(ab[0] - ba[0])).toBeLessThan(1e-6 + 1e-5 * ab[0]);
  });

  for (const which of ['procedural face', 'photo crop'] as const) {
    it(`grows with five Gaussian noise levels on a ${which}`, async () => {
      const img = which === 'photo crop' ? photo : procedural;
      const sigmas = [0.01, 0.03, 0.06, 0.1, 0.2];
      const d = await values(
        scope(() => {
          const x = batchOf(img, sigmas.length);
          const noise = mul(normal(key(3), x.shape), tensor(sigmas, { shape: [sigmas.length, 1, 1, 1] }));
          return perceptualDistance(gpuParams, clamp(add(x, noise), { min: 0, max: 1 }), x);
        }),
      );
      report(`${which} noise ${sigmas}: ${d.map((v) => v.toFixed(4))}`);
      expectIncreasing(d, 'noise');
    });

    it(`grows with five Gaussian blur levels on a ${which}`, async () => {
      const img = which === 'photo crop' ? photo : procedural;
      const sigmas = [0.5, 1, 2, 3, 5];
      const d = await values(
        scope(() => {
          const x = batchOf(img, sigmas.length);
          return perceptualDistance(
            gpuParams,
            blurImages(
              x,
              sigmas.map((s) => gaussianKernel(21, s, s)),
              21,
            ),
            x,
          );
        }),
      );
      report(`${which} blur ${sigmas}: ${d.map((v) => v.toFixed(4))}`);
      expectIncreasing(d, 'blur');
    });
  }

  it('agrees on WebGPU and the CPU within 1e-4', async () => {
    const [cpu, gpu] = await Promise.all(
      (['cpu', 'webgpu'] as const).map((backend) =>
        values(
          scope(() => {
            const x = concat([batchOf(photo, 1, backend), batchOf(photo, 1, backend)]);
            const y = blurImages(x, [gaussianKernel(9, 1, 1), gaussianKernel(9, 2.5, 1)], 9);
            return perceptualDistance(paramsOn(x), x, y);
          }),
        ),
      ),
    );
    report(`cpu ${cpu} webgpu ${gpu}`);
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(cpu[i] - gpu[i]), `image ${i}`).toBeLessThan(1e-4);
  });

  it('has a finite, nonzero gradient in the restored image on WebGPU', async () => {
    const [value, g] = scope(() => {
      const gt = batchOf(photo, 1);
      const x = blurImages(gt, [gaussianKernel(9, 2, 2)], 9);
      return valueAndGrad((r: Tensor) => sum(perceptualDistance(gpuParams, r, gt)))(x);
    });
    const gv = await values(g);
    expect(g.shape).toEqual([1, 3, photo.h, photo.w]);
    expect(gv.every(Number.isFinite)).toBe(true);
    expect(gv.some((v) => v !== 0)).toBe(true);
    expect((await values(value))[0]).toBeGreaterThan(0);
  });

  /** Two different smooth [1, 3, size, size] float64 images on the CPU, for checkGrad. */
  const smoothPair = (size: number): [Tensor, Tensor] =>
    [(i: number) => Math.sin(i * 0.7), (i: number) => Math.cos(i * 0.3)].map((wave) =>
      tensor(
        Float64Array.from({ length: 3 * size * size }, (_, i) => 0.5 + 0.4 * wave(i)),
        { shape: [1, 3, size, size], dtype: 'float64', backend: 'cpu' },
      ),
    ) as [Tensor, Tensor];

  it('passes checkGrad on a tiny input (float64 CPU, the first two feature taps)', async () => {
    const params64 = treeMap(cpuParams, (t) => cast(t, 'float64'));
    const [x, y] = smoothPair(8);
    const layers = ['conv32_down', 'conv32_3'] as const;
    const r = await checkGrad((a, b) => perceptualDistance(params64, a, b, { layers }), [x, y], {
      maxElementsPerInput: 4,
      eps: 1e-5,
      rtol: 1e-4,
      atol: 1e-8,
    });
    report(r.message);
    expect(r.ok, r.message).toBe(true);
  });

  it('passes checkGrad through all five feature taps (float64 CPU, a few sampled pixels)', async () => {
    const params64 = treeMap(cpuParams, (t) => cast(t, 'float64'));
    const [x, y] = smoothPair(12);
    const r = await checkGrad((a: Tensor) => perceptualDistance(params64, a, y), [x], {
      maxElementsPerInput: 3,
      rtol: 1e-4,
      atol: 1e-6,
    });
    report(r.message);
    expect(r.ok, r.message).toBe(true);
  });

  it('rejects images of different shapes and non-RGB images', () => {
    const a = tensor(new Float32Array(3 * 16 * 16), { shape: [1, 3, 16, 16], backend: 'cpu' });
    const b = tensor(new Float32Array(3 * 16 * 8), { shape: [1, 3, 16, 8], backend: 'cpu' });
    const gray = tensor(new Float32Array(16 * 16), { shape: [1, 1, 16, 16], backend: 'cpu' });
    expect(() => perceptualDistance(cpuParams, a, b)).toThrow(
      /perceptualDistance: x \[1, 3, 16, 16\] and y \[1, 3, 16, 8\] differ/,
    );
    expect(() => perceptualDistance(cpuParams, gray, gray)).toThrow(
      /perceptualDistance: images must be RGB.*got 1 channels/,
    );
    expect(() => faceFeatureMaps(cpuParams, a, [])).toThrow(/layers is empty/);
    expect(() => faceFeatureMaps(cpuParams, a, ['conv99' as never])).toThrow(/unknown layer "conv99"/);
    [a, b, gray].forEach((t) => t.dispose());
  });
});

describe('featureMapDistance', () => {
  it("compares each group of K rows with its group's one reference as if the reference were repeated", async () => {
    const x = [normal(key(31), [6, 4, 3, 3]), normal(key(32), [6, 2, 5, 5])];
    const y = [normal(key(33), [2, 4, 3, 3]), normal(key(34), [2, 2, 5, 5])];
    const repeated = y.map((m) =>
      concat(
        [0, 0, 0, 1, 1, 1].map((g) => slice(m, [g], [g + 1])),
        { axis: 0 },
      ),
    );
    const grouped = await values(featureMapDistance(x, y));
    const plain = await values(featureMapDistance(x, repeated));
    expect(grouped.length).toBe(6);
    grouped.forEach((v, i) => expect(v).toBeCloseTo(plain[i], 5));
    expect(() => featureMapDistance(x, [normal(key(35), [4, 4, 3, 3]), y[1]])).toThrow(
      /featureMapDistance: .*may have G rows for the first's G \* K/,
    );
    expect(() => featureMapDistance(x, [y[0]])).toThrow(/equal-length lists/);
    [...x, ...y, ...repeated].forEach((t) => t.dispose());
  });
});

describe('perceptualSimilarity', () => {
  it('is 1 - min(distance / layers, 1), in [0, 1]', async () => {
    const [d, s] = await scopedValues(() => {
      const x = batchOf(photo, 1);
      const y = clamp(add(x, normal(key(5), x.shape, { std: 0.1 })), { min: 0, max: 1 });
      return [perceptualDistance(gpuParams, x, y), perceptualSimilarity(gpuParams, x, y)];
    });
    expect(s[0]).toBeCloseTo(1 - Math.min(d[0] / 5, 1), 5);
    expect(s[0]).toBeGreaterThan(0);
    expect(s[0]).toBeLessThan(1);
  });
});
