// Measures how far the procedural faces are from real ones (issue 16): per statistic, the mean
// and s.d. over the real-face evaluation set and over procedural train faces, and their gap in
// real s.d. units (largest first). Looking only: the evaluation set is never trained on.
//   npx tsx scripts/face-stats.ts [count=64] [seed=0] [--style photo|cartoon] [--size 64|32] [--md out.md]
// --size 32 renders the procedural faces at 32 px and resizes the real ones as the evaluation does.
import { writeFileSync } from 'node:fs';
import { setBackend } from '../src/index.js';
import { faceDataset } from '../src/data/faces.js';
import { loadRealFaces } from '../src/data/real-faces.js';
import {
  channelStats,
  finestDiagonal,
  GRADIENT_BINS,
  gradientHistogram,
  spectrumSlope,
} from '../src/metrics/image-stats.js';
import { resizeBilinear } from '../src/data/resize.js';
import { faceLandmarks68, loadFaceLandmarkParams } from '../src/metrics/face-landmarks/index.js';
import { tensor } from '../src/tensor/ops/creation.js';

const args = process.argv.slice(2);
const mdAt = args.indexOf('--md');
const mdPath = mdAt >= 0 ? args.splice(mdAt, 2)[1] : undefined;
const styleAt = args.indexOf('--style');
const style = styleAt >= 0 && args.splice(styleAt, 2)[1] === 'cartoon' ? 'cartoon' : 'photo';
const sizeAt = args.indexOf('--size');
const SIZE = sizeAt >= 0 ? Number(args.splice(sizeAt, 2)[1]) : 64;
const [countArg = '64', seedArg = '0'] = args;
await setBackend('cpu');

const real = await loadRealFaces({ size: 64 });
// Other sizes: the evaluation set's own resize (pairsFromImages).
const realAtSize = SIZE === 64 ? real.images : resizeBilinear(real.images, [SIZE, SIZE], { antialias: true });
const realData = (await realAtSize.data()) as Float32Array;
const plane = 3 * SIZE * SIZE;
const realImages = Array.from({ length: real.images.shape[0] }, (_, i) => realData.slice(i * plane, (i + 1) * plane));
[real.images, realAtSize].forEach((t) => t.isDisposed || t.dispose());
const ds = faceDataset({ split: 'train', size: SIZE, count: Number(countArg), seed: Number(seedArg), style });
const procImages = Array.from({ length: ds.length }, (_, i) => ds.get(i).hq);

const landmarkParams = loadFaceLandmarkParams();
/** Landmark geometry as fractions of the image side (face-api's 68 points). */
async function geometry(images: Float32Array[]): Promise<Record<string, number>[]> {
  const data = new Float32Array(images.length * plane);
  images.forEach((im, i) => data.set(im, i * plane));
  const x = tensor(data, { shape: [images.length, 3, SIZE, SIZE] });
  const pts = (await faceLandmarks68(landmarkParams, x).data()) as Float32Array;
  x.dispose();
  return images.map((_, n) => {
    const p = (k: number): [number, number] => [pts[(n * 68 + k) * 2] / SIZE, pts[(n * 68 + k) * 2 + 1] / SIZE];
    const avg = (a: number, b: number) => {
      let sx = 0;
      let sy = 0;
      for (let k = a; k < b; k++) {
        sx += p(k)[0];
        sy += p(k)[1];
      }
      return [sx / (b - a), sy / (b - a)];
    };
    const [le, re] = [avg(36, 42), avg(42, 48)];
    const mouth = avg(48, 68);
    return {
      'eye distance / side': Math.hypot(re[0] - le[0], re[1] - le[1]),
      'eye height / side': (le[1] + re[1]) / 2,
      'mouth height / side': mouth[1],
      'jaw width / side': Math.hypot(p(16)[0] - p(0)[0], p(16)[1] - p(0)[1]),
      'eye width / eye distance':
        (Math.hypot(p(39)[0] - p(36)[0], p(39)[1] - p(36)[1]) + Math.hypot(p(45)[0] - p(42)[0], p(45)[1] - p(42)[1])) /
        2 /
        Math.hypot(re[0] - le[0], re[1] - le[1]),
    };
  });
}

function stats(images: Float32Array[], geo: Record<string, number>[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const push = (k: string, v: number) => (out[k] ??= []).push(v);
  images.forEach((im, i) => {
    const { mean, std } = channelStats(im, SIZE);
    ['R', 'G', 'B'].forEach((c, j) => (push(`${c} mean`, mean[j]), push(`${c} std`, std[j])));
    push('R - B mean (warmth)', mean[0] - mean[2]);
    const hist = gradientHistogram(im, SIZE);
    GRADIENT_BINS.forEach((e, j) =>
      push(
        `|grad| ${j === 0 ? '< ' : `${GRADIENT_BINS[j - 1]}..`}${Number.isFinite(e) ? e : ''}${j === 0 || Number.isFinite(e) ? '' : '+'}`,
        hist[j],
      ),
    );
    push('spectrum slope', spectrumSlope(im, SIZE));
    push('finest diagonal band r.m.s.', finestDiagonal(im, SIZE));
    for (const [k, v] of Object.entries(geo[i])) push(k, v);
  });
  return out;
}

const summary = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { m, sd: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)) };
};
const r = stats(realImages, await geometry(realImages));
const p = stats(procImages, await geometry(procImages));
const rows = Object.keys(r).map((k) => {
  const a = summary(r[k]);
  const b = summary(p[k]);
  return { k, a, b, gap: (b.m - a.m) / Math.max(a.sd, 1e-6) };
});
rows.sort((x, y) => Math.abs(y.gap) - Math.abs(x.gap));
const lines = [
  `| statistic (${SIZE} px) | real (${realImages.length}) mean ± sd | ${style} procedural (${procImages.length}) mean ± sd | gap (real sd) |`,
  '| :--- | ---: | ---: | ---: |',
  ...rows.map(
    ({ k, a, b, gap }) =>
      `| ${k} | ${a.m.toFixed(3)} ± ${a.sd.toFixed(3)} | ${b.m.toFixed(3)} ± ${b.sd.toFixed(3)} | ${gap >= 0 ? '+' : ''}${gap.toFixed(2)} |`,
  ),
];
console.log(lines.join('\n'));
if (mdPath) writeFileSync(mdPath, `${lines.join('\n')}\n`);
