// faceEmbedding: face-api's FaceRecognitionNet on our engine equals face-api's own (run on
// tfjs-core + tfjs-backend-cpu, a test-only reference) within 1e-4, and identitySimilarity behaves.
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  broadcastTo,
  cast,
  checkGrad,
  key,
  memory,
  scope,
  tensor,
  treeLeaves,
  treeMap,
  uniform,
  valueAndGrad,
  type Tensor,
} from '../src/index.js';
import { readImageCHW } from '../src/io/image.js';
import { decodeFaceApiWeights, loadFaceApiModules } from '../src/io/face-api-reference.js';
import { generateFace } from '../src/data/faces.js';
import { blurImages, gaussianKernel } from '../src/data/degrade.js';
import { WeightsError } from '../src/io/tfjs-weights.js';
import {
  faceEmbedding,
  faceRecognitionManifestPath,
  identitySimilarity,
  loadFaceRecognitionParams,
  type FaceRecognitionParams,
} from '../src/metrics/face-embedding/index.js';
import { useBackends } from './support/backends.js';
import { crop, maxAbsDiff, toFaceApiInputs, toTensor, type HostImage } from './support/face-images.js';
import { readEnv } from '../src/env.js';

useBackends();

const require = createRequire(import.meta.url);
const faceApiDir = dirname(require.resolve('@vladmandic/face-api/package.json'));

/** face-api's FaceRecognitionNet from its own TypeScript sources, on tfjs-core + the CPU backend. */
interface Reference {
  readonly tf: typeof import('@tensorflow/tfjs-core');
  readonly net: { computeFaceDescriptor(input: unknown): Promise<Float32Array | Float32Array[]> };
}

/** face-api's FaceRecognitionNet from its own sources on tfjs (src/io/face-api-reference.ts). */
async function loadReference(): Promise<Reference> {
  const { tf, modules } = await loadFaceApiModules({ FaceRecognitionNet: 'faceRecognitionNet/FaceRecognitionNet.ts' });
  const net = new modules.FaceRecognitionNet() as Reference['net'] & { loadFromWeightMap(map: unknown): void };
  net.loadFromWeightMap(decodeFaceApiWeights(tf, basename(faceRecognitionManifestPath())));
  return { tf, net };
}

/** face-api's descriptors for host images (as 8-bit-scaled HWC tensors, its input convention). */
async function referenceDescriptors(ref: Reference, images: readonly HostImage[]): Promise<Float32Array[]> {
  const inputs = toFaceApiInputs(ref.tf, images);
  const out = await ref.net.computeFaceDescriptor(inputs.length === 1 ? inputs[0] : inputs);
  inputs.forEach((t) => t.dispose());
  return Array.isArray(out) ? out : [out];
}

let ref: Reference;
let cpuParams: FaceRecognitionParams;
/** A procedural face (128 px, resized to 150 by both nets), a square photo crop at 150 px and a non-square crop (zero-padded to square by both). */
let faces: HostImage[];

beforeAll(async () => {
  ref = await loadReference();
  cpuParams = loadFaceRecognitionParams({ backend: 'cpu' });
  const procedural: HostImage = { h: 128, w: 128, data: generateFace(key(6), 128).hq };
  const photo = await readImageCHW(join(faceApiDir, 'demo', 'sample1.jpg'));
  const photoImage: HostImage = { h: photo.height, w: photo.width, data: photo.data };
  const side = 150;
  const square = crop(
    photoImage,
    Math.floor((photo.height - side) / 2),
    Math.floor((photo.width - side) / 2),
    side,
    side,
  );
  const tall = crop(photoImage, Math.floor(photo.height / 4), Math.floor(photo.width / 3), 190, 130);
  faces = [procedural, square, tall];
});

describe('faceEmbedding equals face-api', () => {
  it('gives face-api FaceRecognitionNet descriptors within 1e-4 (CPU backend)', async () => {
    const expected = await referenceDescriptors(ref, faces);
    for (const [i, face] of faces.entries()) {
      const d = scope(() => faceEmbedding(cpuParams, toTensor(face, 'cpu')));
      expect(d.shape).toEqual([1, 128]);
      const got = await d.data();
      d.dispose();
      if (readEnv('FACE_EMBEDDING_REPORT'))
        console.log(`image ${i}: max |ours - face-api| = ${maxAbsDiff(got, expected[i]).toExponential(2)}`);
      expect(maxAbsDiff(got, expected[i]), `image ${i} (${face.h}x${face.w})`).toBeLessThan(1e-4);
    }
  });

  it('embeds a batch the same as one image at a time', async () => {
    const [a, b] = [faces[1], crop(faces[1], 0, 0, 150, 150)];
    const batch = tensor(new Float32Array([...a.data, ...b.data]), { shape: [2, 3, 150, 150], backend: 'cpu' });
    const d = faceEmbedding(cpuParams, batch);
    const single = scope(() => faceEmbedding(cpuParams, toTensor(a, 'cpu')));
    expect(maxAbsDiff((await d.data()).subarray(0, 128), await single.data())).toBeLessThan(1e-6);
    [batch, d, single].forEach((t) => t.dispose());
  });
});

describe('identitySimilarity', () => {
  it('is 1 for a face and itself, leaving no tensors behind', async () => {
    const before = memory().cpu.tensors;
    const s = scope(() => {
      const d = faceEmbedding(cpuParams, toTensor(faces[1], 'cpu'));
      return identitySimilarity(d, d);
    });
    expect(s.shape).toEqual([1]);
    expect((await s.data())[0]).toBeCloseTo(1, 6);
    s.dispose();
    expect(memory().cpu.tensors).toBe(before);
  });

  it('drops as the blur grows', async () => {
    const sigmas = [0.5, 1.5, 3, 6];
    const size = 25;
    for (const face of faces.slice(0, 2)) {
      const s = scope(() => {
        const x = tensor(new Float32Array(sigmas.flatMap(() => [...face.data])), {
          shape: [sigmas.length, 3, face.h, face.w],
          backend: 'cpu',
        });
        const blurred = blurImages(
          x,
          sigmas.map((sg) => gaussianKernel(size, sg, sg)),
          size,
        );
        const clean = broadcastTo(faceEmbedding(cpuParams, toTensor(face, 'cpu')), [sigmas.length, 128]);
        return identitySimilarity(faceEmbedding(cpuParams, blurred), clean);
      });
      const sims = Array.from(await s.data());
      s.dispose();
      for (let i = 1; i < sims.length; i++)
        expect(sims[i], `sims ${sims.map((v) => v.toFixed(4))}`).toBeLessThan(sims[i - 1]);
      if (readEnv('FACE_EMBEDDING_REPORT'))
        console.log(`blur sigmas ${sigmas}: similarity ${sims.map((v) => v.toFixed(4))}`);
      expect(sims[0]).toBeGreaterThan(0.9);
    }
  });

  it('is differentiable in the restored image', async () => {
    const [value, g] = valueAndGrad((x: Tensor) => {
      const target = faceEmbedding(cpuParams, toTensor(faces[0], 'cpu'));
      return identitySimilarity(faceEmbedding(cpuParams, x), target);
    })(toTensor(crop(faces[0], 4, 4, 120, 120), 'cpu'));
    const gv = await g.data();
    expect(g.shape).toEqual([1, 3, 120, 120]);
    expect(gv.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(gv, new Float32Array(gv.length))).toBeGreaterThan(0);
    expect((await value.data())[0]).toBeLessThan(1);
    value.dispose();
    g.dispose();
  });

  it('passes checkGrad in float64 on the CPU (a few sampled pixels of a small image)', async () => {
    const params64 = treeMap(cpuParams, (t) => cast(t, 'float64'));
    const gt = uniform(key(1), [1, 3, 12, 12], { dtype: 'float64', backend: 'cpu' });
    const x = uniform(key(2), [1, 3, 12, 12], { dtype: 'float64', backend: 'cpu' });
    const report = await checkGrad(
      (a: Tensor) => identitySimilarity(faceEmbedding(params64, a), faceEmbedding(params64, gt)),
      [x],
      {
        maxElementsPerInput: 3,
        rtol: 1e-4,
        atol: 1e-6,
      },
    );
    expect(report.ok, report.message).toBe(true);
    [gt, x, ...treeLeaves(params64)].forEach((t) => t.dispose());
  });

  it('rejects descriptors of different shapes and images that are not NCHW RGB', () => {
    const a = tensor(new Float32Array(256), { shape: [2, 128], backend: 'cpu' });
    const b = tensor(new Float32Array(128), { shape: [1, 128], backend: 'cpu' });
    expect(() => identitySimilarity(a, b)).toThrow(
      /identitySimilarity: expected two descriptor batches of one shape \[N, D\], got \[2, 128\] and \[1, 128\]/,
    );
    const gray = tensor(new Float32Array(150 * 150), { shape: [1, 1, 150, 150], backend: 'cpu' });
    expect(() => faceEmbedding(cpuParams, gray)).toThrow(
      /faceEmbedding: images must be a non-empty RGB batch \[N, 3, H, W\].*got \[1, 1, 150, 150\]/,
    );
    const empty = tensor(new Float32Array(0), { shape: [0, 3, 150, 150], backend: 'cpu' });
    expect(() => faceEmbedding(cpuParams, empty)).toThrow(/non-empty/);
    [a, b, gray, empty].forEach((t) => t.dispose());
  });
});

describe('loadFaceRecognitionParams', () => {
  it('names a manifest that is not the face-recognition model', () => {
    const other = join(faceApiDir, 'model', 'face_landmark_68_tiny_model-weights_manifest.json');
    expect(() => loadFaceRecognitionParams({ backend: 'cpu', manifestPath: other })).toThrow(WeightsError);
    expect(() => loadFaceRecognitionParams({ backend: 'cpu', manifestPath: other })).toThrow(
      /has no rank-4 weight "conv32_down\/conv\/filters".*not face-api's face_recognition_model/,
    );
  });
});

describe('faceEmbedding on WebGPU', () => {
  it('matches the CPU backend within 1e-4', async () => {
    const gpuParams = loadFaceRecognitionParams({ backend: 'webgpu' });
    const images = [faces[0], faces[2]];
    const [cpu, gpu] = await Promise.all(
      (['cpu', 'webgpu'] as const).map(async (backend) =>
        Promise.all(
          images.map(async (img) => {
            const d = scope(() => faceEmbedding(backend === 'cpu' ? cpuParams : gpuParams, toTensor(img, backend)));
            const v = await d.data();
            d.dispose();
            return v;
          }),
        ),
      ),
    );
    for (let i = 0; i < images.length; i++) expect(maxAbsDiff(gpu[i], cpu[i]), `image ${i}`).toBeLessThan(1e-4);
  });
});
