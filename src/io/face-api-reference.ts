// face-api's own networks, from its TypeScript sources bundled with esbuild onto tfjs-core and
// tfjs-backend-cpu (all dev dependencies): the detector that builds the real-face set, and the
// reference our ports are tested against. Nothing of ours is on this path: weights are decoded
// by tfjs's own decodeWeights.
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { faceApiDir, packageRoot } from './package-paths.js';

const require = createRequire(import.meta.url);

/** What face-api's `dist/tfjs.esm` import becomes: tfjs-core with the chained tensor methods (x.div, x.as3D) full tfjs installs. */
const TFJS_CORE_ONLY = [
  "export * from '@tensorflow/tfjs-core';",
  "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
].join('\n');

export type Tfjs = typeof import('@tensorflow/tfjs-core');

/**
 * tfjs backends face-api's networks can run on: the package bundled with them (a dev
 * dependency), and how the backend starts once loaded. 'webgpu' needs navigator.gpu installed
 * before loading (bench/engines/tfjs.ts does it); 'wasm' is XNNPACK, the bench's CPU peer.
 */
const TFJS_BACKENDS = {
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', start: async () => undefined },
  wasm: {
    pkg: '@tensorflow/tfjs-backend-wasm',
    // The .wasm binaries stay in the package: the bundle lives in a temp folder.
    start: async (backend: { setWasmPaths(prefix: string): void }) =>
      backend.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`),
  },
  webgpu: { pkg: '@tensorflow/tfjs-backend-webgpu', start: async () => undefined },
} as const;

export type FaceApiBackend = keyof typeof TFJS_BACKENDS;

/**
 * Bundles the named classes from face-api's sources (name -> path under face-api's src/, e.g.
 * { FaceLandmark68Net: 'faceLandmarkNet/FaceLandmark68Net.ts' }), loads the bundle and starts
 * tfjs's `backend` (default: the CPU). Throws `missing(...)` when esbuild or tfjs are not installed.
 */
export async function loadFaceApiModules(
  classes: Readonly<Record<string, string>>,
  missing: (message: string) => Error = (m) => new Error(m),
  backend: FaceApiBackend = 'cpu',
): Promise<{ tf: Tfjs; modules: Record<string, new () => unknown> }> {
  const { pkg, start } = TFJS_BACKENDS[backend];
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
    require.resolve('@tensorflow/tfjs-core');
    require.resolve(pkg);
  } catch {
    throw missing(
      `face-api's own networks need the dev dependencies esbuild, @tensorflow/tfjs-core and ${pkg}; run \`npm ci\` in the package checkout.`,
    );
  }
  const outfile = join(tmpdir(), `webgpu-lrpo-face-api-${process.pid}-${Date.now()}.cjs`);
  try {
    await esbuild.build({
      stdin: {
        contents: [
          ...Object.entries(classes).map(
            ([name, path]) => `export { ${name} } from ${JSON.stringify(join(faceApiDir(), 'src', path))};`,
          ),
          "export * as tf from '@tensorflow/tfjs-core';",
          `export * as backend from '${pkg}';`, // an export, so the registration is not tree-shaken
        ].join('\n'),
        resolveDir: packageRoot(),
        loader: 'ts',
      },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      outfile,
      logLevel: 'error',
      plugins: [
        {
          name: 'tfjs-core-only',
          setup(b) {
            b.onResolve({ filter: /dist\/tfjs\.esm(\.js)?$/ }, () => ({ path: 'tfjs', namespace: 'tfjs-core-only' }));
            b.onLoad({ filter: /.*/, namespace: 'tfjs-core-only' }, () => ({
              contents: TFJS_CORE_ONLY,
              resolveDir: packageRoot(),
              loader: 'js',
            }));
          },
        },
      ],
    });
    const mod = require(outfile);
    const tf = mod.tf as Tfjs;
    await start(mod.backend);
    if (!(await tf.setBackend(backend)))
      throw missing(`tfjs could not start its ${backend} backend for face-api's networks.`);
    return { tf, modules: mod };
  } finally {
    rmSync(outfile, { force: true });
  }
}

/** A face-api model's weights (by manifest file name in its model/ folder), decoded by tfjs itself. */
export function decodeFaceApiWeights(tf: Tfjs, manifestName: string): ReturnType<Tfjs['io']['decodeWeights']> {
  const modelDir = join(faceApiDir(), 'model');
  const manifest = JSON.parse(readFileSync(join(modelDir, manifestName), 'utf8'));
  const bin = Buffer.concat(manifest[0].paths.map((p: string) => readFileSync(join(modelDir, p))));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
}
