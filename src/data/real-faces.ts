// A small real-face evaluation set (issue 6), cut from the demo photos that ship in the npm
// package @vladmandic/face-api (demo/sample*.jpg): faces found by face-api's own SSD MobileNet v1
// detector, 68 landmarks by face-api's FaceLandmark68Net (both run on tfjs-core +
// tfjs-backend-cpu, bundled from face-api's TypeScript sources with esbuild, all dev
// dependencies), an FFHQ-style similarity alignment (eyes and mouth to canonical positions),
// and 64 / 128 px crops written as PNGs plus index.json to a cache folder. No network; the same
// bytes every run. For evaluation only: never train on it.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeFaceApiWeights, loadFaceApiModules, type Tfjs } from '../io/face-api-reference.js';
import { decodeImage, decodePng, encodePng, type RgbImage } from '../io/codecs.js';
import { faceApiDir, packageRoot } from '../io/package-paths.js';
import { tensor } from '../index.js';
import type { BackendName, Tensor } from '../index.js';
import { ffhqQuad, reduceToRgb, warpQuad, type Vec } from './ffhq-align.js';
import { readEnv, type EnvVar } from '../env.js';
import { requireOptions } from '../tensor/ops/operand.js';

/** Crop sides the set is made at. */
export const REAL_FACE_SIZES = [64, 128] as const;
export type RealFaceSize = (typeof REAL_FACE_SIZES)[number];

/** Bumped whenever the recipe changes, so stale caches rebuild. */
export const REAL_FACES_VERSION = 1;

/** Environment variable that overrides the cache folder. */
export const REAL_FACES_DIR_ENV = 'WEBGPU_LRPO_REAL_FACES_DIR' satisfies EnvVar;

/** Detections below this SSD score are dropped. */
const MIN_SCORE = 0.5;
/** Faces whose detection box is narrower than this (source pixels) are dropped: too small for 128 px crops. */
const MIN_BOX = 64;
/** Side of the aligned crop rendered before the antialiased reduction to each size. */
const RENDER_SIZE = 512;

/** Thrown when the set cannot be built or loaded; the message says why and what to do. */
export class RealFacesError extends Error {
  override name = 'RealFacesError';
}

/** The default cache folder: $WEBGPU_LRPO_REAL_FACES_DIR, else <package>/node_modules/.cache/webgpu-lrpo/real-faces. */
export function realFacesDir(): string {
  return readEnv(REAL_FACES_DIR_ENV) || join(packageRoot(), 'node_modules', '.cache', 'webgpu-lrpo', 'real-faces');
}

const faceApiFolder = (): string =>
  faceApiDir(
    () =>
      new RealFacesError(
        'real faces: the npm package @vladmandic/face-api is not installed, and its demo photos and model weights are the source of the set; run `npm ci` (it is a dependency).',
      ),
  );

/** One face of the set, as recorded in index.json. */
export interface RealFaceEntry {
  /** `<source file>#<face index>`, faces numbered left to right in the photo. */
  readonly id: string;
  readonly source: string;
  readonly face: number;
  /** SSD score and box [x, y, w, h] in source pixels. */
  readonly score: number;
  readonly box: readonly [number, number, number, number];
  /** Eye centres and mouth corners in source pixels: [leftEye, rightEye, mouthLeft, mouthRight]. */
  readonly anchors: readonly (readonly [number, number])[];
  /** PNG file names per size, relative to the size folder. */
  readonly file: string;
}

export interface RealFacesIndex {
  readonly version: number;
  readonly sizes: readonly number[];
  readonly faces: readonly RealFaceEntry[];
}

export interface BuildRealFacesOptions {
  /** Output folder (default realFacesDir()). */
  readonly dir?: string;
  /** Log progress to stderr. */
  readonly verbose?: boolean;
  /** Only these demo photos (file names, e.g. ['sample1.jpg']); default all of realFaceSources(). */
  readonly sources?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// The reference detector: face-api's own code on tfjs-core + tfjs-backend-cpu.

interface Point {
  readonly x: number;
  readonly y: number;
}
type Tf = Tfjs;
interface FaceApiNets {
  readonly tf: Tf;
  readonly ssd: {
    locateFaces(
      input: unknown,
      options: { minConfidence?: number; maxResults?: number },
    ): Promise<{ score: number; box: { x: number; y: number; width: number; height: number } }[]>;
  };
  readonly landmarks: { detectLandmarks(input: unknown): Promise<{ positions: Point[] }> };
}

async function loadFaceApiNets(verbose: boolean): Promise<FaceApiNets> {
  faceApiFolder(); // a clear error when face-api itself is missing
  const { tf, modules } = await loadFaceApiModules(
    { SsdMobilenetv1: 'ssdMobilenetv1/SsdMobilenetv1.ts', FaceLandmark68Net: 'faceLandmarkNet/FaceLandmark68Net.ts' },
    (message) =>
      new RealFacesError(
        `real faces: ${message} (or build the set there with \`node --import tsx scripts/make-real-faces.ts\`).`,
      ),
  );
  type Loadable = { loadFromWeightMap(map: unknown): void };
  const ssd = new modules.SsdMobilenetv1() as FaceApiNets['ssd'] & Loadable;
  ssd.loadFromWeightMap(decodeFaceApiWeights(tf, 'ssd_mobilenetv1_model-weights_manifest.json'));
  const landmarks = new modules.FaceLandmark68Net() as FaceApiNets['landmarks'] & Loadable;
  landmarks.loadFromWeightMap(decodeFaceApiWeights(tf, 'face_landmark_68_model-weights_manifest.json'));
  if (verbose)
    process.stderr.write(
      `real faces: face-api SSD MobileNet v1 + FaceLandmark68Net on tfjs ${tf.version_core} (${tf.getBackend()})\n`,
    );
  return { tf, ssd, landmarks };
}

const meanOf = (pts: readonly Point[]): Vec => [
  pts.reduce((s, p) => s + p.x, 0) / pts.length,
  pts.reduce((s, p) => s + p.y, 0) / pts.length,
];

// ---------------------------------------------------------------------------------------------

/** The demo photos the set is cut from, sorted by name. */
export function realFaceSources(): string[] {
  const demo = join(faceApiFolder(), 'demo');
  return readdirSync(demo)
    .filter((f) => /^sample\d+\.jpg$/.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Builds the set into `dir` (default realFacesDir()): `<dir>/<size>/<id>.png` for each size in
 * REAL_FACE_SIZES and `<dir>/index.json`. Written to a temporary sibling folder and renamed, so
 * a half-built set is never seen. Returns the index.
 */
export async function buildRealFaces(options: BuildRealFacesOptions = {}): Promise<RealFacesIndex> {
  const dir = resolve(options.dir ?? realFacesDir());
  const verbose = options.verbose ?? false;
  const demo = join(faceApiFolder(), 'demo');
  const all = realFaceSources();
  const sources = options.sources ? [...options.sources] : all;
  for (const s of sources)
    if (!all.includes(s))
      throw new RealFacesError(`real faces: ${s} is not one of the demo photos (${all.join(', ')}).`);
  if (sources.length === 0)
    throw new RealFacesError(
      `real faces: no demo/sample*.jpg photos in ${demo}; reinstall @vladmandic/face-api with \`npm ci\`.`,
    );
  const nets = await loadFaceApiNets(verbose);
  const { tf } = nets;
  const faces: RealFaceEntry[] = [];
  const crops: { file: string; rgb: Map<number, RgbImage> }[] = [];
  for (const source of sources) {
    const img = decodeImage(readFileSync(join(demo, source)), source);
    const input = tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3]);
    try {
      const detections = (await nets.ssd.locateFaces(input, { minConfidence: MIN_SCORE, maxResults: 100 }))
        .filter((d) => d.box.width >= MIN_BOX && d.box.height >= MIN_BOX)
        .sort((a, b) => a.box.x - b.box.x || a.box.y - b.box.y);
      for (const [face, det] of detections.entries()) {
        const x0 = Math.max(0, Math.round(det.box.x));
        const y0 = Math.max(0, Math.round(det.box.y));
        const x1 = Math.min(img.width, Math.round(det.box.x + det.box.width));
        const y1 = Math.min(img.height, Math.round(det.box.y + det.box.height));
        const boxTensor = tf.slice(input, [y0, x0, 0], [y1 - y0, x1 - x0, 3]);
        let positions: Point[];
        try {
          positions = (await nets.landmarks.detectLandmarks(boxTensor)).positions.map((p) => ({
            x: p.x + x0,
            y: p.y + y0,
          }));
        } finally {
          boxTensor.dispose();
        }
        const leftEye = meanOf(positions.slice(36, 42));
        const rightEye = meanOf(positions.slice(42, 48));
        const mouthLeft: Vec = [positions[48].x, positions[48].y];
        const mouthRight: Vec = [positions[54].x, positions[54].y];
        const quad = ffhqQuad(leftEye, rightEye, mouthLeft, mouthRight);
        const rendered = warpQuad(img, quad, RENDER_SIZE);
        const id = `${source}#${face}`;
        const file = `${source.replace(/\.jpg$/, '')}-${face}.png`;
        crops.push({ file, rgb: new Map(REAL_FACE_SIZES.map((s) => [s, reduceToRgb(rendered, RENDER_SIZE, s)])) });
        const r = (v: number) => Math.round(v * 100) / 100;
        faces.push({
          id,
          source,
          face,
          score: Math.round(det.score * 1e4) / 1e4,
          box: [r(det.box.x), r(det.box.y), r(det.box.width), r(det.box.height)],
          anchors: [leftEye, rightEye, mouthLeft, mouthRight].map(([a, b]) => [r(a), r(b)] as const),
          file,
        });
        if (verbose)
          process.stderr.write(
            `real faces: ${id} score ${det.score.toFixed(3)} box ${Math.round(det.box.width)}x${Math.round(det.box.height)}\n`,
          );
      }
    } finally {
      input.dispose();
    }
  }
  if (faces.length === 0)
    throw new RealFacesError(`real faces: face-api's detector found no faces in ${demo}/sample*.jpg.`);
  const index: RealFacesIndex = { version: REAL_FACES_VERSION, sizes: [...REAL_FACE_SIZES], faces };
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const s of REAL_FACE_SIZES) {
      mkdirSync(join(staging, String(s)), { recursive: true });
      for (const c of crops) writeFileSync(join(staging, String(s), c.file), encodePng(c.rgb.get(s)!));
    }
    writeFileSync(join(staging, 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return index;
}

/** The index in `dir`, or undefined when it is missing, unreadable, stale or incomplete. */
export function readRealFacesIndex(dir = realFacesDir()): RealFacesIndex | undefined {
  return readCompleteIndex<RealFacesIndex>(dir, REAL_FACES_VERSION, () => REAL_FACE_SIZES);
}

/**
 * A built face set's index.json in `dir`, or undefined unless it parses, has this version and some
 * faces, and every face's file is in the folder of each of its sizes. @internal
 */
export function readCompleteIndex<I extends { readonly version: number; readonly faces: readonly { file: string }[] }>(
  dir: string,
  version: number,
  sizesOf: (index: I) => readonly number[],
): I | undefined {
  try {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as I;
    if (index.version !== version || !Array.isArray(index.faces) || index.faces.length === 0) return undefined;
    for (const s of sizesOf(index))
      for (const f of index.faces) if (!existsSync(join(dir, String(s), f.file))) return undefined;
    return index;
  } catch {
    return undefined;
  }
}

export interface LoadRealFacesOptions {
  /** Crop side (default 64). */
  readonly size?: RealFaceSize;
  /** Where the tensor lives; defaults to the current backend. */
  readonly backend?: BackendName;
  /** Cache folder (default realFacesDir()). */
  readonly dir?: string;
}

export interface RealFaces {
  /** [N, 3, S, S] float32 in [0, 1]: the caller's to dispose. */
  readonly images: Tensor;
  /** `<source file>#<face index>` per image, in batch order. */
  readonly ids: string[];
}

const building: Map<string, Promise<RealFacesIndex>> = new Map();

/**
 * The real-face evaluation set at `size` px: aligned face crops from face-api's demo photos.
 * Builds the cache on first use when it is missing (needs the dev dependencies; see
 * buildRealFaces). For evaluation only.
 */
export async function loadRealFaces(options: LoadRealFacesOptions = {}): Promise<RealFaces> {
  requireOptions('loadRealFaces', options, '{ size: 32 }');
  const size = options.size ?? 64;
  if (!(REAL_FACE_SIZES as readonly number[]).includes(size)) {
    throw new RealFacesError(`loadRealFaces: size must be one of ${REAL_FACE_SIZES.join(', ')}, got ${size}.`);
  }
  const dir = resolve(options.dir ?? realFacesDir());
  let index = readRealFacesIndex(dir);
  if (!index) {
    let pending = building.get(dir);
    if (!pending) {
      pending = buildRealFaces({ dir }).finally(() => building.delete(dir));
      building.set(dir, pending);
    }
    index = await pending;
  }
  const plane = size * size;
  const data = new Float32Array(index.faces.length * 3 * plane);
  index.faces.forEach((f, n) => {
    const path = join(dir, String(size), f.file);
    const img = decodePng(readFileSync(path), path);
    if (img.width !== size || img.height !== size) {
      throw new RealFacesError(
        `loadRealFaces: ${path} is ${img.width}x${img.height}, expected ${size}x${size}; delete ${dir} to rebuild the set.`,
      );
    }
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < plane; i++) data[(n * 3 + c) * plane + i] = img.data[i * 3 + c] / 255;
  });
  const images = tensor(data, {
    shape: [index.faces.length, 3, size, size],
    dtype: 'float32',
    ...(options.backend ? { backend: options.backend } : {}),
  });
  return { images, ids: index.faces.map((f) => f.id) };
}
