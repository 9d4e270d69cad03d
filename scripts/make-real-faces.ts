// Builds the real-face evaluation set (issue 6) from @vladmandic/face-api's demo photos, offline:
//   node --import tsx scripts/make-real-faces.ts [dir] [--force]
// Default dir: $WEBGPU_LRPO_REAL_FACES_DIR or node_modules/.cache/webgpu-lrpo/real-faces. Skips
// the work when a complete, current set is already there (unless --force).
import { buildRealFaces, readRealFacesIndex, realFacesDir } from '../src/data/real-faces.js';

const args = process.argv.slice(2);
const force = args.includes('--force');
const dir = args.find((a) => !a.startsWith('--')) ?? realFacesDir();
const existing = force ? undefined : readRealFacesIndex(dir);
if (existing) {
  console.log(`real faces: ${existing.faces.length} faces already in ${dir}`);
} else {
  const t0 = performance.now();
  const index = await buildRealFaces({ dir, verbose: true });
  console.log(
    `real faces: wrote ${index.faces.length} faces at ${index.sizes.join(', ')} px to ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
