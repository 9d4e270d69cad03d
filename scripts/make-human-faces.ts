// Builds the real-photo training set (src/data/human-faces.ts) from the cached screenshot of
// @vladmandic/human (scripts/setup.mjs fetches it), offline:
//   npx tsx scripts/make-human-faces.ts [--force]
// Skips the work when a complete, current set is already there (unless --force).
import { buildHumanFaces, humanFacesDir, readHumanFacesIndex } from '../src/data/human-faces.js';

const force = process.argv.includes('--force');
const dir = humanFacesDir();
const existing = force ? undefined : readHumanFacesIndex(dir);
if (existing) {
  console.log(`human faces: ${existing.faces.length} crops already in ${dir}`);
} else {
  const t0 = performance.now();
  const index = await buildHumanFaces({ dir, verbose: true });
  console.log(
    `human faces: wrote ${index.faces.length} crops (${index.excluded.length} look-alikes of evaluation faces left out) to ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
