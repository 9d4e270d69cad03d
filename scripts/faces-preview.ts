// Writes a grid PNG of procedural faces (rows: sizes or degradations) to look at the data:
//   npx tsx scripts/faces-preview.ts out.png [size=64] [count=8] [seed=0]
import { setBackend, tensor } from '../src/index.js';
import { faceDataset } from '../src/data/faces.js';
import { writeImageGrid } from '../src/io/grid.js';

const [path = 'faces-preview.png', sizeArg = '64', countArg = '8', seedArg = '0'] = process.argv.slice(2);
await setBackend('cpu');
const size = Number(sizeArg);
const count = Number(countArg);
const ds = faceDataset({ split: 'train', size, count, seed: Number(seedArg) });
ds.get(0); const t0 = performance.now();
const [batch] = ds.batches(count);
const ms = (performance.now() - t0) / count;
const neutral = faceDataset({ split: 'train', size, count, seed: Number(seedArg), nuisance: false });
const [nb] = neutral.batches(count);
await writeImageGrid(path, [batch.hq, nb.hq], { labels: [`train faces ${size}px`, 'same identities, neutral'] });
console.log(`wrote ${path}: ${count} faces at ${size}px, ${ms.toFixed(2)} ms per face`);
void tensor;
