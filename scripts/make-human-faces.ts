// Builds the real-photo set (src/data/human-faces.ts) from the cached screenshot of
// @vladmandic/human, offline once the screenshot is there. Set-up does not fetch it (docs/faces.md
// says why); `--fetch` does, with `npm pack` (a 28 MB download) into a temporary folder:
//   npx tsx scripts/make-human-faces.ts [--fetch] [--force]
// Skips the work when a complete, current set is already there (unless --force).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildHumanFaces,
  HUMAN_FACES_SOURCE,
  humanFacesDir,
  humanScreenshotPath,
  readHumanFacesIndex,
} from '../src/data/human-faces.js';
import { buildOnce } from './build-once.js';

/** Copies the screenshot out of the package's tarball into the cache (the builder checks its sha256). */
function fetchScreenshot(dir: string): void {
  const tmp = mkdtempSync(join(tmpdir(), 'human-faces-'));
  try {
    const spec = `${HUMAN_FACES_SOURCE.package}@${HUMAN_FACES_SOURCE.version}`;
    console.log(`human faces: npm pack ${spec} ...`);
    const member = `package/${HUMAN_FACES_SOURCE.file}`;
    try {
      const tarball = execFileSync('npm', ['pack', spec, '--pack-destination', tmp], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1)!;
      execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp, member]);
    } catch (e) {
      throw new Error(
        `human faces: could not take ${HUMAN_FACES_SOURCE.file} out of ${spec} (${(e as Error).message.split('\n')[0]}); ` +
          `without a registry, copy that file from the package into ${dir} by hand.`,
      );
    }
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(tmp, member), humanScreenshotPath(dir));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const dir = humanFacesDir();
if (process.argv.includes('--fetch') && !existsSync(humanScreenshotPath(dir))) fetchScreenshot(dir);
await buildOnce({
  label: 'human faces',
  dir,
  force: process.argv.includes('--force'),
  read: readHumanFacesIndex,
  build: (d) => buildHumanFaces({ dir: d, verbose: true }),
  count: (index) => `${index.faces.length} crops`,
  details: (index) => ` (${index.excluded.length} look-alikes of evaluation faces left out)`,
});
