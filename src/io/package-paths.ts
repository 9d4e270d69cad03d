// Where this package's files are on disk, and where the installed @vladmandic/face-api is (its
// model weights and demo photos are used in place: no network, no copies).
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The package root: this file is src/io/package-paths.ts, or dist/io/package-paths.js once built. */
export const packageRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The folder of the installed @vladmandic/face-api package (its src/, model/ and demo/). When it
 * is not installed, throws `missing()` when given (the caller's error, saying what needs it), else
 * the resolver's own error.
 */
export function faceApiDir(missing?: () => Error): string {
  try {
    return dirname(require.resolve('@vladmandic/face-api/package.json'));
  } catch (e) {
    throw missing ? missing() : e;
  }
}
