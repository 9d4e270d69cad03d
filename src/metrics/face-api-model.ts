// Where face-api's shipped weight manifests live: inside the installed npm package (no network).
import { join } from 'node:path';
import { faceApiDir } from '../io/package-paths.js';
import { WeightsError } from '../io/tfjs-weights.js';

/** The path of `manifest` in @vladmandic/face-api's model folder; `op` names the caller in the error. */
export function faceApiManifestPath(op: string, manifest: string): string {
  const dir = faceApiDir(
    () =>
      new WeightsError(
        `${op}: the package @vladmandic/face-api is not installed; run \`npm install\` (it ships the weights).`,
      ),
  );
  return join(dir, 'model', manifest);
}
