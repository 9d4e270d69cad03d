// Writes a grid PNG of procedural faces and their degraded versions, to look at the data:
//   npx tsx scripts/faces-preview.ts out.png [size=64] [count=8] [seed=0] [style=photo|cartoon]
// Rows: faces (with nuisance), the same identities neutral, default degradation, and a mild one.
import { key, setBackend } from '../src/index.js';
import { degrade } from '../src/data/degrade.js';
import { faceDataset } from '../src/data/faces.js';
import { writeImageGrid } from '../src/io/grid.js';

const [path = 'faces-preview.png', sizeArg = '64', countArg = '8', seedArg = '0', styleArg = 'photo'] =
  process.argv.slice(2);
const style = styleArg === 'cartoon' ? 'cartoon' : 'photo';
await setBackend('cpu');
const size = Number(sizeArg);
const count = Number(countArg);
const seed = Number(seedArg);
const ds = faceDataset({ split: 'train', size, count, seed, style });
ds.get(0); // warm up before timing
const t0 = performance.now();
const [batch] = ds.batches(count);
const ms = (performance.now() - t0) / count;
const [neutral] = faceDataset({ split: 'train', size, count, seed, nuisance: false, style }).batches(count);
const t1 = performance.now();
const strong = await degrade(key(seed), batch.hq);
const degradeMs = performance.now() - t1;
const mild = await degrade(key(seed + 1), batch.hq, {
  blurSigma: [0.1, 3],
  downscale: [1, 3],
  jpegQuality: [60, 95],
  noiseSigma: [0, 5 / 255],
});
await writeImageGrid(path, [batch.hq, neutral.hq, strong.lq, mild.lq], {
  labels: [`${style} train faces ${size}px`, 'same identities, neutral', 'degraded (defaults)', 'degraded (mild)'],
});
console.log(
  `wrote ${path}: ${count} faces at ${size}px, ${ms.toFixed(2)} ms per face; degrade ${degradeMs.toFixed(0)} ms per batch`,
);
for (const p of strong.params) {
  console.log(
    `  blur ${p.blur.kind} sigma ${p.blur.sigmaX.toFixed(2)}x${p.blur.sigmaY.toFixed(2)} k${p.blur.kernelSize}, ` +
      `down x${p.downscale.toFixed(1)} -> ${p.lowSize.join('x')}, ` +
      `noise ${(p.noiseSigma * 255).toFixed(1)}/255, jpeg q${p.jpegQuality}`,
  );
}
for (const t of [batch.hq, neutral.hq, strong.lq, mild.lq]) t.dispose();
