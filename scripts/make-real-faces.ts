// Builds the real-face evaluation set (issue 6) from @vladmandic/face-api's demo photos, offline:
//   node --import tsx scripts/make-real-faces.ts [dir] [--force]
// Default dir: $WEBGPU_LRPO_REAL_FACES_DIR or node_modules/.cache/webgpu-lrpo/real-faces. Skips
// the work when a complete, current set is already there (unless --force).
import { buildRealFaces, readRealFacesIndex, realFacesDir } from '../src/data/real-faces.js';
import { buildOnce } from './build-once.js';

const args = process.argv.slice(2);
await buildOnce({
  label: 'real faces',
  dir: args.find((a) => !a.startsWith('--')) ?? realFacesDir(),
  force: args.includes('--force'),
  read: readRealFacesIndex,
  build: (dir) => buildRealFaces({ dir, verbose: true }),
  count: (index) => `${index.faces.length} faces`,
  details: (index) => ` at ${index.sizes.join(', ')} px`,
});
