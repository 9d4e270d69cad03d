// What a command needs beyond the installed package, checked before any work starts, so a user
// of `npm install webgpu-lrpo` learns in a second (not after training) what is missing: the
// real-face set, built once from face-api's demo photos by face-api's own networks on tfjs (dev
// dependencies: a git checkout after `npm ci`), and BRISQUE's trained model (Debian's opencv-data).
import { createRequire } from 'node:module';
import { readRealFacesIndex, realFacesDir } from '../data/real-faces.js';
import { brisqueModelPaths } from '../metrics/brisque-model.js';

const require = createRequire(import.meta.url);

/** The packages building the real-face set needs (src/io/face-api-reference.ts, tfjs's CPU backend). */
export const REAL_FACES_BUILD_DEPENDENCIES = [
  'esbuild',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
] as const;

/** The lines `--help` shows about them. */
export const REQUIREMENTS_HELP = `
Needs beyond the installed package:
  the 'real' evaluation set (eval --data real, the default; demo; ablate --data real): built once, offline, into
    ${'$'}WEBGPU_LRPO_REAL_FACES_DIR or <package>/node_modules/.cache/webgpu-lrpo/real-faces, by face-api's
    networks on tfjs, which need the dev dependencies ${REAL_FACES_BUILD_DEPENDENCIES.join(', ')}
    (a git checkout after \`npm ci\`, or install them next to the package). Without them use eval --data synthetic.
  BRISQUE (eval, demo): OpenCV's model files from Debian's opencv-data (apt-get install opencv-data), or
    WEBGPU_LRPO_BRISQUE_DIR pointing at brisque_model_live.yml and brisque_range_live.yml.
  The committed SFT checkpoint (demo, ablate) ships in the package's checkpoints/.`;

const resolvable = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

/** Throws, naming what is missing and the fix, when `sets` holds 'real' and the set can be neither read nor built. */
export function requireRealFaces(command: string, sets: readonly string[], alternative: string): void {
  if (!sets.includes('real') || readRealFacesIndex() !== undefined) return;
  const missing = REAL_FACES_BUILD_DEPENDENCIES.filter((p) => !resolvable(p));
  if (missing.length === 0) return;
  throw new Error(
    `${command}: the real-face set is not built (${realFacesDir()}), and building it needs ${missing.join(', ')}, ` +
      `dev dependencies of webgpu-lrpo: run from a git checkout after \`npm ci\` (or \`npm install ${missing.join(' ')}\` here), or ${alternative}.`,
  );
}

/** Throws BrisqueModelError (naming the files looked for and the fix) when BRISQUE's model is not installed. */
export function requireBrisqueModel(command: string): void {
  try {
    brisqueModelPaths();
  } catch (e) {
    (e as Error).message = `${command}: ${(e as Error).message}`;
    throw e;
  }
}
