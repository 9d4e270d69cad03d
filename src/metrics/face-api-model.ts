// Where face-api's shipped weight manifests live: inside the installed npm package (no network).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WeightsError } from '../io/tfjs-weights.js';

/** The path of `manifest` in @vladmandic/face-api's model folder; `op` names the caller in the error. */
export function faceApiManifestPath(op: string, manifest: string): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@vladmandic/face-api/package.json');
  } catch {
    throw new WeightsError(`${op}: the package @vladmandic/face-api is not installed; run \`npm install\` (it ships the weights).`);
  }
  return join(dirname(pkg), 'model', manifest);
}
