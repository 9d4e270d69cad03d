// faceLandmarks68: face-api's FaceLandmark68Net on our engine equals face-api's own (run on
// tfjs-core + tfjs-backend-cpu, a test-only reference) within 1e-4 of the coordinate scale, and
// landmarkDistance (LMD) behaves.
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { key, memory, scope, tensor, valueAndGrad, type Tensor } from '../src/index.js';
import { readImageCHW } from '../src/io/image.js';
import { decodeFaceApiWeights, loadFaceApiModules } from '../src/io/face-api-reference.js';
import { generateFace } from '../src/data/faces.js';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import { WeightsError } from '../src/io/tfjs-weights.js';
import {
  faceLandmarkManifestPath,
  faceLandmarks68,
  landmarkDistance,
  loadFaceLandmarkParams,
  type FaceLandmarkParams,
} from '../src/metrics/face-landmarks/index.js';
import { useBackends } from './support/backends.js';
import { crop, maxAbsDiff, toFaceApiInputs, toTensor, type HostImage } from './support/face-images.js';
import { readEnv } from '../src/env.js';

useBackends();

const require = createRequire(import.meta.url);
const faceApiDir = dirname(require.resolve('@vladmandic/face-api/package.json'));

interface Point {
  readonly x: number;
  readonly y: number;
}

/** face-api's FaceLandmark68Net from its own TypeScript sources, on tfjs-core + the CPU backend. */
interface Reference {
  readonly tf: typeof import('@tensorflow/tfjs-core');
  readonly net: { detectLandmarks(input: unknown): Promise<{ positions: Point[] } | { positions: Point[] }[]> };
}

/** face-api's FaceLandmark68Net from its own sources on tfjs (src/io/face-api-reference.ts). */
async function loadReference(): Promise<Reference> {
  const { tf, modules } = await loadFaceApiModules({ FaceLandmark68Net: 'faceLandmarkNet/FaceLandmark68Net.ts' });
  const net = new modules.FaceLandmark68Net() as Reference['net'] & { loadFromWeightMap(map: unknown): void };
  net.loadFromWeightMap(decodeFaceApiWeights(tf, basename(faceLandmarkManifestPath())));
  return { tf, net };
}

/** face-api's landmark `positions` for host images (as 8-bit-scaled HWC tensors, its input convention), flattened x0, y0, x1, ... */
async function referenceLandmarks(ref: Reference, images: readonly HostImage[]): Promise<Float32Array[]> {
  const inputs = toFaceApiInputs(ref.tf, images);
  const out = await ref.net.detectLandmarks(inputs.length === 1 ? inputs[0] : inputs);
  inputs.forEach((t) => t.dispose());
  return (Array.isArray(out) ? out : [out]).map((l) => Float32Array.from(l.positions.flatMap((p) => [p.x, p.y])));
}

const landmarksOf = async (
  params: FaceLandmarkParams,
  img: HostImage,
  backend: 'cpu' | 'webgpu',
): Promise<Float32Array> => {
  const l = scope(() => faceLandmarks68(params, toTensor(img, backend)));
  const v = (await l.data()) as Float32Array;
  l.dispose();
  return v;
};

let ref: Reference;
let cpuParams: FaceLandmarkParams;
/**
 * A procedural face (128 px, resized to 112 by both nets), a square crop of the middle face of
 * sample1.jpg (260 px) and a tall crop of the left face (zero-padded to square by both).
 */
let faces: HostImage[];

beforeAll(async () => {
  ref = await loadReference();
  cpuParams = loadFaceLandmarkParams({ backend: 'cpu' });
  const procedural: HostImage = { h: 128, w: 128, data: generateFace(key(6), 128).hq };
  const photo = await readImageCHW(join(faceApiDir, 'demo', 'sample1.jpg'));
  const photoImage: HostImage = { h: photo.height, w: photo.width, data: photo.data };
  faces = [procedural, crop(photoImage, 390, 790, 260, 260), crop(photoImage, 320, 390, 290, 250)];
});

describe('faceLandmarks68 equals face-api', () => {
  it('gives face-api FaceLandmark68Net positions within 1e-4 of the image side (CPU backend)', async () => {
    const expected = await referenceLandmarks(ref, faces);
    for (const [i, face] of faces.entries()) {
      const l = scope(() => faceLandmarks68(cpuParams, toTensor(face, 'cpu')));
      expect(l.shape).toEqual([1, 68, 2]);
      const got = await l.data();
      l.dispose();
      // Coordinates are pixels of the input image; the net's output is relative to the padded square of side max(h, w).
      const relErr = maxAbsDiff(got, expected[i]) / Math.max(face.h, face.w);
      if (readEnv('FACE_LANDMARKS_REPORT'))
        console.log(`image ${i} (${face.h}x${face.w}): max |ours - face-api| / side = ${relErr.toExponential(2)}`);
      expect(relErr, `image ${i} (${face.h}x${face.w})`).toBeLessThan(1e-4);
      // The landmarks land inside the image (a sanity check that the crops hold faces).
      for (let k = 0; k < 136; k++) expect(got[k]).toBeGreaterThan(-0.1 * face.w);
    }
  });

  it('finds a batch the same as one image at a time', async () => {
    const a = faces[1];
    const inverted = a.data.map((v) => 1 - v);
    const batch = tensor(new Float32Array([...a.data, ...inverted]), { shape: [2, 3, a.h, a.w], backend: 'cpu' });
    const l = faceLandmarks68(cpuParams, batch);
    expect(l.shape).toEqual([2, 68, 2]);
    const single = await landmarksOf(cpuParams, a, 'cpu');
    expect(maxAbsDiff((await l.data()).subarray(0, 136), single) / a.w).toBeLessThan(1e-6);
    [batch, l].forEach((t) => t.dispose());
  });
});

describe('landmarkDistance', () => {
  it('is exactly 0 for a face and itself, leaving no tensors behind', async () => {
    const before = memory().cpu.tensors;
    const d = scope(() => landmarkDistance(toTensor(faces[1], 'cpu'), toTensor(faces[1], 'cpu'), cpuParams));
    expect(d.shape).toEqual([1]);
    expect((await d.data())[0]).toBe(0);
    d.dispose();
    expect(memory().cpu.tensors).toBe(before);
  });

  it('is the mean Euclidean distance between the 68 landmark pairs, in pixels', async () => {
    const face = faces[1];
    const blurred = blurImages(toTensor(face, 'cpu'), [gaussianKernel(9, 2, 2)], 9);
    const blurredHost: HostImage = { h: face.h, w: face.w, data: (await blurred.data()) as Float32Array };
    const [la, lb] = await Promise.all([
      landmarksOf(cpuParams, face, 'cpu'),
      landmarksOf(cpuParams, blurredHost, 'cpu'),
    ]);
    let expected = 0;
    for (let k = 0; k < 68; k++) expected += Math.hypot(la[2 * k] - lb[2 * k], la[2 * k + 1] - lb[2 * k + 1]) / 68;
    const d = scope(() => landmarkDistance(blurred, toTensor(face, 'cpu'), cpuParams));
    expect(expected).toBeGreaterThan(0);
    expect((await d.data())[0]).toBeCloseTo(expected, 4);
    [blurred, d].forEach((t) => t.dispose());
  });

  it('grows with the blur', async () => {
    // Sigmas in pixels per 128 px of face: past about 4 the net sees no face and its output drifts to a mean shape.
    const sigmasPer128 = [0.5, 1, 2, 3];
    const size = 33;
    for (const face of faces.slice(0, 2)) {
      const sigmas = sigmasPer128.map((s) => (s * face.w) / 128);
      const d = scope(() => {
        const batch = (img: HostImage) =>
          tensor(new Float32Array(sigmas.flatMap(() => [...img.data])), {
            shape: [sigmas.length, 3, img.h, img.w],
            backend: 'cpu',
          });
        const blurred = blurImages(
          batch(face),
          sigmas.map((s) => gaussianKernel(size, s, s)),
          size,
        );
        return landmarkDistance(blurred, batch(face), cpuParams);
      });
      const lmd = Array.from(await d.data());
      d.dispose();
      if (readEnv('FACE_LANDMARKS_REPORT'))
        console.log(`${face.h}x${face.w} blur sigmas ${sigmas}: LMD ${lmd.map((v) => v.toFixed(3))} px`);
      for (let i = 1; i < lmd.length; i++)
        expect(lmd[i], `LMD ${lmd.map((v) => v.toFixed(3))}`).toBeGreaterThan(lmd[i - 1]);
      expect(lmd[0]).toBeLessThan(0.01 * face.w);
    }
  });

  it('has a finite gradient in the restored image, zero where the landmarks agree', async () => {
    const face = faces[0];
    const lmdOf = (gt: Tensor) => (x: Tensor) => landmarkDistance(x, gt, cpuParams);
    const gt = toTensor(face, 'cpu');
    const [same, gSame] = valueAndGrad(lmdOf(gt))(toTensor(face, 'cpu'));
    expect((await same.data())[0]).toBe(0);
    expect(maxAbsDiff(await gSame.data(), new Float32Array(gSame.size))).toBe(0);
    const blurred = blurImages(gt, [gaussianKernel(9, 1.5, 1.5)], 9);
    const [value, g] = valueAndGrad(lmdOf(gt))(blurred);
    const gv = await g.data();
    expect(g.shape).toEqual([1, 3, face.h, face.w]);
    expect(gv.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(gv, new Float32Array(gv.length))).toBeGreaterThan(0);
    expect((await value.data())[0]).toBeGreaterThan(0);
    [gt, same, gSame, blurred, value, g].forEach((t) => t.dispose());
  });

  it('rejects images that are not NCHW RGB, empty batches and mismatched pairs', () => {
    const gray = tensor(new Float32Array(112 * 112), { shape: [1, 1, 112, 112], backend: 'cpu' });
    expect(() => faceLandmarks68(cpuParams, gray)).toThrow(
      /faceLandmarks68: images must be a non-empty RGB batch \[N, 3, H, W\].*got \[1, 1, 112, 112\]/,
    );
    const empty = tensor(new Float32Array(0), { shape: [0, 3, 112, 112], backend: 'cpu' });
    expect(() => faceLandmarks68(cpuParams, empty)).toThrow(/non-empty/);
    const bytes = tensor(new Int32Array(3 * 112 * 112), { shape: [1, 3, 112, 112], backend: 'cpu' });
    expect(() => faceLandmarks68(cpuParams, bytes)).toThrow(/float32 in \[0, 1\], got dtype int32/);
    const a = tensor(new Float32Array(3 * 112 * 112), { shape: [1, 3, 112, 112], backend: 'cpu' });
    const b = tensor(new Float32Array(3 * 112 * 96), { shape: [1, 3, 112, 96], backend: 'cpu' });
    expect(() => landmarkDistance(a, b, cpuParams)).toThrow(
      /landmarkDistance: restored and ground-truth batches must have one shape \[N, 3, H, W\], got \[1, 3, 112, 112\] and \[1, 3, 112, 96\]/,
    );
    expect(() => landmarkDistance(gray, gray, cpuParams)).toThrow(/landmarkDistance: images must be/);
    [gray, empty, bytes, a, b].forEach((t) => t.dispose());
  });
});

describe('loadFaceLandmarkParams', () => {
  it('names a manifest that is not the 68-point landmark model', () => {
    const tiny = join(faceApiDir, 'model', 'face_landmark_68_tiny_model-weights_manifest.json');
    expect(() => loadFaceLandmarkParams({ backend: 'cpu', manifestPath: tiny })).toThrow(WeightsError);
    expect(() => loadFaceLandmarkParams({ backend: 'cpu', manifestPath: tiny })).toThrow(
      /has no weight "dense0\/conv3\/depthwise_filter".*not face-api's face_landmark_68_model/,
    );
  });
});

describe('faceLandmarks68 on WebGPU', () => {
  it('matches the CPU backend within 1e-4 of the image side', async () => {
    const gpuParams = loadFaceLandmarkParams({ backend: 'webgpu' });
    for (const [i, img] of [faces[0], faces[2]].entries()) {
      const [cpu, gpu] = await Promise.all([landmarksOf(cpuParams, img, 'cpu'), landmarksOf(gpuParams, img, 'webgpu')]);
      expect(maxAbsDiff(gpu, cpu) / Math.max(img.h, img.w), `image ${i}`).toBeLessThan(1e-4);
    }
  });
});
