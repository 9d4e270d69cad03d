// Loads TensorFlow.js as one self-contained CommonJS bundle, built with esbuild at start-up.
// Why: tfjs-core's Node build (dist/tf-core.node.js) registers no gradients, and the file that
// does (dist/register_all_gradients.js) is ES modules with extensionless and directory imports
// that Node cannot load. Bundling tfjs-core, its gradients and both backends together gives one
// copy of tfjs with tf.grad working, as a bundler-built web app would have.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TF } from '../case.js';

const ENTRY = [
  "export * from '@tensorflow/tfjs-core';",
  "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
  "import '@tensorflow/tfjs-backend-cpu';",
  // Registers the 'webgpu' backend only if navigator.gpu exists when this runs.
  "import '@tensorflow/tfjs-backend-webgpu';",
].join('\n');

/** Builds the bundle into a temporary file, requires it, and deletes the file. */
export async function requireTfjsBundle(): Promise<TF> {
  const outfile = join(tmpdir(), `webgpu-lrpo-bench-tfjs-${process.pid}.cjs`);
  try {
    await build({
      stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      // CommonJS: tfjs's Node platform code calls require('util') etc., which an ESM bundle cannot.
      format: 'cjs',
      platform: 'node',
      // The ES module builds ('module'), which carry the gradient registrations.
      mainFields: ['module', 'main'],
      outfile,
      logLevel: 'warning',
    });
    return createRequire(import.meta.url)(outfile) as TF;
  } finally {
    rmSync(outfile, { force: true });
  }
}
