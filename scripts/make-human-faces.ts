// Builds the real-photo training set (src/data/human-faces.ts) from the cached screenshot of
// @vladmandic/human (copied there by hand: set-up does not fetch it, see docs/faces.md), offline:
//   npx tsx scripts/make-human-faces.ts [--force]
// Skips the work when a complete, current set is already there (unless --force).
import { buildHumanFaces, humanFacesDir, readHumanFacesIndex } from '../src/data/human-faces.js';
import { buildOnce } from './build-once.js';

await buildOnce({
  label: 'human faces',
  dir: humanFacesDir(),
  force: process.argv.includes('--force'),
  read: readHumanFacesIndex,
  build: (dir) => buildHumanFaces({ dir, verbose: true }),
  count: (index) => `${index.faces.length} crops`,
  details: (index) => ` (${index.excluded.length} look-alikes of evaluation faces left out)`,
});
