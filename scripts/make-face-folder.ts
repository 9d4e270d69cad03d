// Writes an FFHQ-style folder (one aligned face per PNG, square, HQ) of procedural faces, to try
// the folder code paths (`--data <folder>`) without a real data set:
//   npx tsx scripts/make-face-folder.ts <dir> [count=200] [size=128] [seed=0]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend, shutdown, tensor } from '../src/index.js';
import { writeImage } from '../src/faces.js';
import { faceDataset } from '../src/data/faces.js';

const [dir, countArg = '200', sizeArg = '128', seedArg = '0'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: npx tsx scripts/make-face-folder.ts <dir> [count=200] [size=128] [seed=0]\n');
  process.exit(1);
}
const [count, size, seed] = [countArg, sizeArg, seedArg].map(Number);
await setBackend('cpu');
mkdirSync(dir, { recursive: true });
const faces = faceDataset({ split: 'train', count, size, seed });
for (let i = 0; i < count; i++)
  await writeImage(
    join(dir, `face-${String(i).padStart(5, '0')}.png`),
    tensor(faces.get(i).hq, { shape: [3, size, size] }),
  );
await shutdown();
process.stdout.write(`wrote ${count} faces of ${size}x${size} px into ${dir}\n`);
