// BRISQUE equals OpenCV's own (cv2.quality.QualityBRISQUE_compute, committed fixtures made by
// scripts/make-brisque-fixtures.py), rises with JPEG artefacts, and rejects bad input and missing
// model files. Needs Debian's opencv-data: these tests fail (never skip) when it is missing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../src/index.js';
import { BrisqueModelError, brisque, brisqueFeatures, loadBrisqueModel } from '../src/faces.js';
import { faceParams } from '../src/data/faces.js';
import { renderFace } from '../src/data/face-render.js';
import { jpegRoundTrip } from '../src/data/degrade.js';
import { useBackends } from './support/backends.js';

interface FixtureCase {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly dtype: 'uint8' | 'float32';
  readonly rgbHWC: string;
  readonly score: number;
  readonly features: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/metrics/brisque.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
};

/** A fixture image as a [1, 3, H, W] tensor in [0, 1]. */
function image(c: FixtureCase, backend: 'cpu' | 'webgpu'): Tensor {
  const bytes = Buffer.from(c.rgbHWC, 'base64');
  const hwc =
    c.dtype === 'uint8'
      ? Float32Array.from(bytes, (v) => v / 255)
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const { height: h, width: w } = c;
  const chw = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < 3; k++) chw[k * h * w + p] = hwc[p * 3 + k];
  return tensor(chw, { shape: [1, 3, h, w], dtype: 'float32', backend });
}

const score = async (x: Tensor, eightBit = true): Promise<number> => {
  const s = await brisque(x, { eightBit });
  const [v] = await s.data();
  s.dispose();
  return v;
};

useBackends();

describe('brisque', () => {
  it("finds OpenCV's model in opencv-data (install it with apt-get install -y opencv-data)", () => {
    const model = loadBrisqueModel();
    expect(model.svCount).toBe(774);
    expect(model.featureMin.length).toBe(36);
  });

  // Every fixture, the strongly compressed JPEGs (their flat blocks make OpenCV's float32 variance
  // negative, so its MSCN has NaNs there) and odd sizes (OpenCV's scalar tails) included: the host
  // pipeline follows OpenCV 4.6's float32 rounding step for step, so the scores are in fact equal
  // (the features test below checks that bit for bit); 1e-3 is the promised agreement.
  for (const backend of ['cpu', 'webgpu'] as const) {
    it(`equals OpenCV's QualityBRISQUE within 1e-3 on every fixture image (${backend})`, async () => {
      expect(fixture.cases.length).toBe(13);
      for (const c of fixture.cases) {
        const x = image(c, backend);
        const s = await score(x, c.dtype === 'uint8');
        x.dispose();
        expect(Math.abs(s - c.score), c.name).toBeLessThan(1e-3);
      }
    });
  }

  it("gives OpenCV's 36 float32 features bit for bit on every fixture image", async () => {
    for (const c of fixture.cases) {
      const x = image(c, 'cpu');
      const [f] = await brisqueFeatures(x, { eightBit: c.dtype === 'uint8' });
      x.dispose();
      f.forEach((v, i) => expect(v, `${c.name} feature ${i}`).toBe(c.features[i]));
    }
  });

  it('scores a batch as each image alone', async () => {
    const [a, b] = fixture.cases.slice(0, 2).map((c) => image(c, 'webgpu'));
    const both = tensor(new Float32Array([...(await a.data()), ...(await b.data())]), {
      shape: [2, 3, 64, 64],
      backend: 'webgpu',
    });
    const s = await brisque(both);
    expect(s.shape).toEqual([2]);
    const got = await s.data();
    expect(got[0]).toBeCloseTo(await score(a), 5);
    expect(got[1]).toBeCloseTo(await score(b), 5);
    [a, b, both, s].forEach((t) => t.dispose());
  });

  it('rises with JPEG artefacts: quality 30 scores worse than quality 90 on procedural faces with sensor noise', async () => {
    // The renderer's flat cartoon shading is far from natural-scene statistics; mild seeded noise
    // (sigma 0.02, like a camera) gives BRISQUE the texture its model was trained on.
    const size = 128;
    for (const identity of [3, 11, 27]) {
      let seed = identity * 7919 + 1;
      const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
      const face = renderFace(faceParams(0, identity), size).map(
        (v) => v + 0.02 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
      );
      const at = (q: number) =>
        tensor(jpegRoundTrip(face, size, size, q), { shape: [1, 3, size, size], backend: 'webgpu' });
      const [q90, q30] = [at(90), at(30)];
      const [s90, s30] = [await score(q90), await score(q30)];
      q90.dispose();
      q30.dispose();
      expect(s30, `face ${identity}: q30 ${s30} vs q90 ${s90}`).toBeGreaterThan(s90);
    }
  });

  it("rises with JPEG artefacts on the fixtures, as OpenCV's scores do (q90 < q50 < q20)", async () => {
    for (const stem of ['scene1-64x64', 'scene2-80x96']) {
      const s: number[] = [];
      for (const q of [90, 50, 20]) {
        const x = image(
          fixture.cases.find((c) => c.name === `${stem}-jpeg${q}`)!,
          'cpu',
        );
        s.push(await score(x));
        x.dispose();
      }
      expect(s[0]).toBeLessThan(s[1]);
      expect(s[1]).toBeLessThan(s[2]);
    }
  });

  it('names opencv-data and the override when the model files are missing', async () => {
    const x = image(fixture.cases[0], 'cpu');
    await expect(brisque(x, { modelDir: '/nonexistent/brisque' })).rejects.toThrow(BrisqueModelError);
    await expect(brisque(x, { modelDir: '/nonexistent/brisque' })).rejects.toThrow(
      /apt-get install -y opencv-data.*WEBGPU_LRPO_BRISQUE_DIR/s,
    );
    x.dispose();
  });

  it('rejects images out of range, with NaN, too small, with 2 channels or an empty batch', async () => {
    const bad = (shape: number[], fill: number) =>
      tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill), { shape, backend: 'cpu' });
    await expect(brisque(bad([1, 3, 32, 32], 2))).rejects.toThrow(/outside \[0, 1\]/);
    await expect(brisque(bad([1, 3, 32, 32], NaN))).rejects.toThrow(/NaN/);
    await expect(brisque(bad([1, 3, 8, 8], 0.5))).rejects.toThrow(/at least 16x16/);
    await expect(brisque(bad([1, 2, 32, 32], 0.5))).rejects.toThrow(/2 channels/);
    await expect(brisque(bad([0, 3, 32, 32], 0.5))).rejects.toThrow(/empty batch/);
    await expect(brisque(bad([32, 32, 3], 0.5))).rejects.toThrow(/rank 4/);
  });
});
