// The real-face evaluation set (issue 6): aligned crops of face-api's demo photos, found by
// face-api's own detector. Enough faces, the right shape and range, deterministic, really faces
// (face-ResNet identities distinct), and PSNR / SSIM / perceptualDistance order five increasing
// degradation levels correctly over the set.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { key, mean, scope, type Tensor } from '../src/index.js';
import { perceptualDistance, psnr, ssim, faceEmbedding } from '../src/faces.js';
import { degrade } from '../src/data/degrade.js';
import {
  buildRealFaces,
  loadRealFaces,
  readRealFacesIndex,
  realFacesDir,
  RealFacesError,
  REAL_FACE_SIZES,
} from '../src/data/real-faces.js';
import { loadFaceRecognitionParams, type FaceRecognitionParams } from '../src/metrics/face-embedding/index.js';
import { useBackends } from './support/backends.js';
import { readEnv } from '../src/env.js';

useBackends(); // metrics on WebGPU (the CPU reference backend takes minutes for the face ResNet on 22 x 5 images)

const report = (...args: unknown[]) => readEnv('REAL_FACES_REPORT') && console.log(...args);

let images: Tensor;
let ids: string[];
let params: FaceRecognitionParams;

beforeAll(async () => {
  // Built by set-up (or here, once, on first use: about 45 s of tfjs-cpu detection).
  ({ images, ids } = await loadRealFaces({ size: 64, backend: 'webgpu' }));
  params = loadFaceRecognitionParams({ backend: 'webgpu' });
}, 180_000);

const hostMean = async (t: Tensor): Promise<number> => {
  const m = scope(() => mean(t));
  const v = (await m.data())[0];
  m.dispose();
  return v;
};

describe('real faces: the set', () => {
  it('holds at least 10 faces, [N, 3, 64, 64] in [0, 1], with unique ids naming photo and face', async () => {
    expect(ids.length).toBeGreaterThanOrEqual(10);
    expect(images.shape).toEqual([ids.length, 3, 64, 64]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^sample\d+\.jpg#\d+$/);
    const v = (await images.data()) as Float32Array;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.5); // real content, not a flat fill
    report(`real faces: ${ids.length} faces: ${ids.join(', ')}`);
  });

  it('loads at 128 px with the same ids; rejects other sizes', async () => {
    const big = await loadRealFaces({ size: 128, backend: 'cpu' });
    expect(big.ids).toEqual(ids);
    expect(big.images.shape).toEqual([ids.length, 3, 128, 128]);
    big.images.dispose();
    await expect(loadRealFaces({ size: 96 as 64, backend: 'cpu' })).rejects.toThrow(RealFacesError);
  });

  it('is deterministic: rebuilding one photo into a temp folder gives byte-identical PNGs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'real-faces-'));
    try {
      const index = await buildRealFaces({ dir, sources: ['sample1.jpg'] });
      const cached = readRealFacesIndex(realFacesDir())!;
      expect(index.faces.length).toBeGreaterThan(0);
      for (const f of index.faces) {
        const c = cached.faces.find((e) => e.id === f.id)!;
        expect(c).toBeDefined();
        expect(f).toEqual(c);
        for (const s of REAL_FACE_SIZES) {
          expect(
            readFileSync(join(dir, String(s), f.file)).equals(readFileSync(join(realFacesDir(), String(s), c.file))),
          ).toBe(true);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('real faces: they are faces', () => {
  it('face-ResNet self-similarity is 1 and different people are clearly less similar', async () => {
    const e = scope(() => faceEmbedding(params, images));
    const v = (await e.data()) as Float32Array;
    e.dispose();
    const n = ids.length;
    const d = v.length / n;
    const norm = (i: number) => Math.hypot(...v.subarray(i * d, (i + 1) * d));
    const cos = (i: number, j: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[i * d + k] * v[j * d + k];
      return s / (norm(i) * norm(j));
    };
    let off = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      expect(cos(i, i)).toBeCloseTo(1, 5);
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        off += cos(i, j);
        count++;
      }
    }
    off /= count;
    report(`real faces: mean off-diagonal descriptor cosine ${off.toFixed(4)}`);
    // face-api's descriptors are all-positive-ish, so unrelated faces still sit near 0.9 (0.93 here at
    // 64 px, upsampled to 150 by the net); a duplicate or a non-face set would sit at ~1.
    expect(off).toBeLessThan(0.95);
  });
});

describe('real faces: metrics order degradations', () => {
  it('mean PSNR and SSIM fall and mean perceptualDistance rises strictly over five increasing levels', async () => {
    const rows: { psnr: number; ssim: number; perceptual: number }[] = [];
    for (let level = 1; level <= 5; level++) {
      // One fixed config per level, every knob a point range growing with the level; the same key, so
      // the noise pattern is the same one, scaled. Blur numbers are in pixels of the 64 px crops.
      const { lq } = await degrade(key(7), images, {
        referenceSize: 64,
        blurKernelSize: 13,
        anisotropicProbability: 0,
        blurSigma: [0.4 * level, 0.4 * level],
        downscale: [1 + 0.5 * (level - 1), 1 + 0.5 * (level - 1)],
        noiseSigma: [(2 * level) / 255, (2 * level) / 255],
        jpegQuality: [95 - 12 * level, 95 - 12 * level],
      });
      const p = scope(() => psnr(lq, images));
      const s = scope(() => ssim(lq, images));
      const d = scope(() => perceptualDistance(params, lq, images));
      rows.push({ psnr: await hostMean(p), ssim: await hostMean(s), perceptual: await hostMean(d) });
      [lq, p, s, d].forEach((t) => t.dispose());
    }
    report(
      'real faces: level, mean PSNR, SSIM, perceptualDistance\n' +
        rows
          .map((r, i) => `  ${i + 1}  ${r.psnr.toFixed(2)}  ${r.ssim.toFixed(4)}  ${r.perceptual.toFixed(4)}`)
          .join('\n'),
    );
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].psnr).toBeLessThan(rows[i - 1].psnr);
      expect(rows[i].ssim).toBeLessThan(rows[i - 1].ssim);
      expect(rows[i].perceptual).toBeGreaterThan(rows[i - 1].perceptual);
    }
  });
});
