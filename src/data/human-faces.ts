// A small real-photo set kept apart from the evaluation faces (issue 16; too few to train on, used
// to choose restore's strength): the grid of ~108 face crops in the screenshot
// `assets/screenshot-facematch.jpg` of the npm package @vladmandic/human 3.3.6
// (`scripts/make-human-faces.ts --fetch` puts it in the cache; set-up does not, docs/faces.md says
// why). Each cell's clean centre (the similarity and age labels cut away) gets face-api's 68
// landmarks, the same FFHQ alignment as the evaluation set (ffhq-align.ts), reflected and blurred
// where the alignment square leaves the cell (FFHQ's own padding recipe), and a face-api descriptor. Crops whose descriptor is near any evaluation face
// are dropped (same author: people may repeat), and the rest are split by identity cluster.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeFaceApiWeights, loadFaceApiModules, type Tfjs } from '../io/face-api-reference.js';
import { decodeImage, decodePng, encodePng, type RgbImage } from '../io/codecs.js';
import { packageRoot } from '../io/package-paths.js';
import { bilinearAt, ffhqQuad, reduceToRgb, sampleQuad } from './ffhq-align.js';
import { readCompleteIndex, readRealFacesIndex, realFacesDir } from './real-faces.js';

/** Where the set comes from, as recorded in its index. */
export const HUMAN_FACES_SOURCE = Object.freeze({
  package: '@vladmandic/human',
  version: '3.3.6',
  file: 'assets/screenshot-facematch.jpg',
  sha256: '0d3e56e29cf588faf2d5515f10ab18ad0f1bab4959b7e3cc885bd43f1d305465',
});

/** Bumped whenever the recipe changes, so stale caches rebuild. */
export const HUMAN_FACES_VERSION = 1;
/** Side of the stored crops (the evaluation set's smaller size; training resizes from it like evaluation). */
export const HUMAN_FACE_SIZE = 64;
/**
 * face-api's usual same-person threshold on the Euclidean distance of its descriptors: a crop
 * closer than this to any evaluation face is dropped, and crops closer than this to each other
 * share an identity cluster (so a person never sits in both splits).
 */
export const SAME_IDENTITY_DISTANCE = 0.6;

/** The grid: 18 cells per row, 6 rows, cell tops measured from the screenshot's separators. */
const GRID = { columns: 18, pitch: 1920 / 18, rowTops: [283, 395, 507, 620, 732, 845], height: 107 } as const;
/** The clean part of a cell, relative to its corner: no label at the top-left, no age line at the bottom. */
const CLEAN = { x: 4, y: 18, width: 98, height: 72 } as const;
/** The aligned crop is rendered at this side before the antialiased reduction. */
const RENDER_SIZE = 192;

export class HumanFacesError extends Error {
  override name = 'HumanFacesError';
}

/** The cache folder: <package>/node_modules/.cache/webgpu-lrpo/human-faces (`scripts/make-human-faces.ts --fetch` puts the screenshot there). */
export const humanFacesDir = (): string => join(packageRoot(), 'node_modules', '.cache', 'webgpu-lrpo', 'human-faces');
/** The screenshot's path in the cache. */
export const humanScreenshotPath = (dir = humanFacesDir()): string => join(dir, 'screenshot-facematch.jpg');

export interface HumanFaceEntry {
  /** `r<row>c<column>` of the grid. */
  readonly id: string;
  readonly file: string;
  readonly split: 'train' | 'validation';
  /** Identity cluster: the smallest grid index among crops within SAME_IDENTITY_DISTANCE (transitively). */
  readonly cluster: number;
  /** Distance to the nearest evaluation face's descriptor, and which face that is. */
  readonly evalDistance: number;
  readonly nearestEval: string;
}

export interface HumanFacesIndex {
  readonly version: number;
  readonly source: typeof HUMAN_FACES_SOURCE;
  readonly size: number;
  readonly faces: readonly HumanFaceEntry[];
  /** Crops left out because they look like an evaluation face. */
  readonly excluded: readonly { readonly id: string; readonly nearestEval: string; readonly evalDistance: number }[];
}

// ---------------------------------------------------------------------------------------------
// Pure parts: identity clusters and the split (tested on their own).

/** Union-find clusters of items whose pairwise distance is below `threshold`; each item's label is its cluster's smallest index. */
export function identityClusters(
  distance: (i: number, j: number) => number,
  count: number,
  threshold = SAME_IDENTITY_DISTANCE,
): number[] {
  const parent = Array.from({ length: count }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      if (distance(i, j) < threshold) {
        const [a, b] = [find(i), find(j)];
        parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  }
  return parent.map((_, i) => find(i));
}

/** The split of a cluster: about one cluster in five (by a hash of its label) is validation. */
export const splitOfCluster = (cluster: number): 'train' | 'validation' =>
  createHash('sha256').update(`human-faces-cluster-${cluster}`).digest()[0] % 5 === 0 ? 'validation' : 'train';

/** Euclidean distance of two descriptors. */
export const descriptorDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
};

// ---------------------------------------------------------------------------------------------
// Alignment with reflected, blurred padding.

type Vec = readonly [number, number];
interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A rectangle of an 8-bit image as float planes [3, h, w] in [0, 1]. */
function cropPlanes(img: RgbImage, r: Rect): Float64Array {
  const out = new Float64Array(3 * r.width * r.height);
  const plane = r.width * r.height;
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++)
      for (let c = 0; c < 3; c++)
        out[c * plane + y * r.width + x] = img.data[((r.y + y) * img.width + r.x + x) * 3 + c] / 255;
  return out;
}

/** A separable box blur of radius `rad` (edges clamped), run twice (close to a Gaussian). */
function boxBlur(planes: Float64Array, w: number, h: number, rad: number): Float64Array {
  let cur = planes;
  for (let pass = 0; pass < 2; pass++) {
    const tmp = new Float64Array(cur.length);
    const out = new Float64Array(cur.length);
    for (let c = 0; c < 3; c++) {
      const base = c * w * h;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let d = -rad; d <= rad; d++) s += cur[base + y * w + Math.min(w - 1, Math.max(0, x + d))];
          tmp[base + y * w + x] = s / (2 * rad + 1);
        }
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let d = -rad; d <= rad; d++) s += tmp[base + Math.min(h - 1, Math.max(0, y + d)) * w + x];
          out[base + y * w + x] = s / (2 * rad + 1);
        }
    }
    cur = out;
  }
  return cur;
}

/** Reflects a coordinate into [0, n - 1] (mirror about the edges). */
const reflect = (t: number, n: number): number => {
  const period = 2 * (n - 1);
  let m = ((t % period) + period) % period;
  if (m > n - 1) m = period - m;
  return m;
};

function bilinear(planes: Float64Array, w: number, h: number, c: number, sx: number, sy: number): number {
  const b = c * w * h;
  return bilinearAt((x, y) => planes[b + y * w + x], w, h, sx, sy);
}

/**
 * Samples the FFHQ quad (coordinates relative to the clean rectangle) into [3, side, side]:
 * inside the rectangle the pixels themselves, outside their mirror image faded into a blurred
 * copy with the distance from the edge, as FFHQ pads photos whose face is near the border.
 */
export function warpReflectPadded(
  planes: Float64Array,
  w: number,
  h: number,
  quad: { c: Vec; x: Vec; y: Vec },
  side: number,
): Float64Array {
  const quadSide = 2 * Math.hypot(quad.x[0], quad.x[1]);
  const blurred = boxBlur(planes, w, h, Math.max(1, Math.round(quadSide * 0.02)));
  const fade = Math.max(1, quadSide * 0.08);
  return sampleQuad(quad, side, (px, py) => {
    const outside = Math.max(0, -px, px - (w - 1), -py, py - (h - 1));
    const t = Math.min(1, outside / fade);
    const sx = reflect(px, w);
    const sy = reflect(py, h);
    return (c) => {
      const sharp = bilinear(planes, w, h, c, sx, sy);
      return t === 0 ? sharp : sharp + (bilinear(blurred, w, h, c, sx, sy) - sharp) * t;
    };
  });
}

const toTensor3d = (tf: Tfjs, img: RgbImage) => tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3]);

/**
 * The face box inside an FFHQ-aligned crop (the square is 4 eye distances wide; face-api's
 * descriptor net expects a detector's tight box, not the whole aligned square): the centre half,
 * a little below the middle.
 */
export function faceBoxOfAligned(img: RgbImage): RgbImage {
  const side = Math.round(img.width / 2);
  const x0 = Math.round(img.width / 4);
  const y0 = Math.round(img.height * 0.28);
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++)
    data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + side) * 3), y * side * 3);
  return { width: side, height: side, data };
}

// ---------------------------------------------------------------------------------------------

export interface BuildHumanFacesOptions {
  readonly dir?: string;
  /** The evaluation set's cache folder (its 128 px crops are described to find look-alikes). */
  readonly evalDir?: string;
  readonly verbose?: boolean;
}

/**
 * Builds the set from the cached screenshot into `dir`: `<dir>/64/<id>.png` and `<dir>/index.json`
 * (staged and renamed, so a half-built set is never seen). Same bytes on every rebuild: tfjs's CPU
 * backend, host float64 resampling.
 */
export async function buildHumanFaces(options: BuildHumanFacesOptions = {}): Promise<HumanFacesIndex> {
  const dir = resolve(options.dir ?? humanFacesDir());
  const say = (m: string) => options.verbose && process.stderr.write(`human faces: ${m}\n`);
  const shot = humanScreenshotPath(dir);
  if (!existsSync(shot))
    throw new HumanFacesError(
      `human faces: ${shot} is missing; set-up does not fetch it (docs/faces.md says why): run \`npx tsx scripts/make-human-faces.ts --fetch\`, or \`npm pack ${HUMAN_FACES_SOURCE.package}@${HUMAN_FACES_SOURCE.version}\` and copy its assets/screenshot-facematch.jpg there.`,
    );
  const bytes = readFileSync(shot);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== HUMAN_FACES_SOURCE.sha256)
    throw new HumanFacesError(
      `human faces: ${shot} has sha256 ${sha}, expected ${HUMAN_FACES_SOURCE.sha256}; replace it with assets/screenshot-facematch.jpg of ${HUMAN_FACES_SOURCE.package}@${HUMAN_FACES_SOURCE.version}.`,
    );
  const evalDir = resolve(options.evalDir ?? realFacesDir());
  const evalIndex = readRealFacesIndex(evalDir);
  if (!evalIndex)
    throw new HumanFacesError(
      `human faces: the evaluation set is not built in ${evalDir}; build it first (scripts/make-real-faces.ts) so look-alikes can be excluded.`,
    );

  const { tf, modules } = await loadFaceApiModules(
    {
      FaceLandmark68Net: 'faceLandmarkNet/FaceLandmark68Net.ts',
      FaceRecognitionNet: 'faceRecognitionNet/FaceRecognitionNet.ts',
    },
    (m) => new HumanFacesError(`human faces: ${m}`),
  );
  type Loadable = { loadFromWeightMap(map: unknown): void };
  const landmarkNet = new modules.FaceLandmark68Net() as {
    detectLandmarks(input: unknown): Promise<{ positions: { x: number; y: number }[] }>;
  } & Loadable;
  landmarkNet.loadFromWeightMap(decodeFaceApiWeights(tf, 'face_landmark_68_model-weights_manifest.json'));
  const recognition = new modules.FaceRecognitionNet() as {
    computeFaceDescriptor(input: unknown): Promise<Float32Array>;
  } & Loadable;
  recognition.loadFromWeightMap(decodeFaceApiWeights(tf, 'face_recognition_model-weights_manifest.json'));
  const describe = async (img: RgbImage): Promise<Float32Array> => {
    const t = toTensor3d(tf, img);
    try {
      return Float32Array.from(await recognition.computeFaceDescriptor(t));
    } finally {
      t.dispose();
    }
  };

  const evalDescriptors: { id: string; d: Float32Array }[] = [];
  for (const f of evalIndex.faces)
    evalDescriptors.push({
      id: f.id,
      d: await describe(faceBoxOfAligned(decodePng(readFileSync(join(evalDir, '128', f.file)), f.file))),
    });
  say(`described ${evalDescriptors.length} evaluation faces`);

  const shotImg = decodeImage(bytes, shot);
  const cells: { id: string; rgb: RgbImage; descriptor: Float32Array }[] = [];
  for (const [row, top] of GRID.rowTops.entries()) {
    for (let col = 0; col < GRID.columns; col++) {
      const rect: Rect = {
        x: Math.round(col * GRID.pitch) + CLEAN.x,
        y: top + CLEAN.y,
        width: CLEAN.width,
        height: CLEAN.height,
      };
      const clean = cropPlanes(shotImg, rect);
      const cleanRgb: RgbImage = {
        width: rect.width,
        height: rect.height,
        data: new Uint8Array(rect.width * rect.height * 3),
      };
      for (let y = 0; y < rect.height; y++)
        cleanRgb.data.set(
          shotImg.data.subarray(
            ((rect.y + y) * shotImg.width + rect.x) * 3,
            ((rect.y + y) * shotImg.width + rect.x + rect.width) * 3,
          ),
          y * rect.width * 3,
        );
      const input = toTensor3d(tf, cleanRgb);
      let pts: { x: number; y: number }[];
      try {
        pts = (await landmarkNet.detectLandmarks(input)).positions;
      } finally {
        input.dispose();
      }
      const mean = (a: number, b: number): Vec => [
        pts.slice(a, b).reduce((s, p) => s + p.x, 0) / (b - a),
        pts.slice(a, b).reduce((s, p) => s + p.y, 0) / (b - a),
      ];
      const quad = ffhqQuad(mean(36, 42), mean(42, 48), [pts[48].x, pts[48].y], [pts[54].x, pts[54].y]);
      const rendered = warpReflectPadded(clean, rect.width, rect.height, quad, RENDER_SIZE);
      const id = `r${row}c${col}`;
      cells.push({
        id,
        rgb: reduceToRgb(rendered, RENDER_SIZE, HUMAN_FACE_SIZE),
        descriptor: await describe(faceBoxOfAligned(reduceToRgb(rendered, RENDER_SIZE, 128))),
      });
    }
  }
  say(`aligned and described ${cells.length} grid cells`);

  const nearest = cells.map((c) => {
    let best = { id: '', distance: Infinity };
    for (const e of evalDescriptors) {
      const d = descriptorDistance(c.descriptor, e.d);
      if (d < best.distance) best = { id: e.id, distance: d };
    }
    return best;
  });
  say(`nearest evaluation face distance per cell: ${nearest.map((n) => n.distance.toFixed(2)).join(' ')}`);
  const kept = cells.map((_, i) => i).filter((i) => nearest[i].distance >= SAME_IDENTITY_DISTANCE);
  const clusters = identityClusters(
    (a, b) => descriptorDistance(cells[kept[a]].descriptor, cells[kept[b]].descriptor),
    kept.length,
  );
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  const faces: HumanFaceEntry[] = kept.map((i, k) => {
    const cluster = kept[clusters[k]];
    return {
      id: cells[i].id,
      file: `${cells[i].id}.png`,
      split: splitOfCluster(cluster),
      cluster,
      evalDistance: r4(nearest[i].distance),
      nearestEval: nearest[i].id,
    };
  });
  const excluded = cells
    .map((c, i) => ({ id: c.id, nearestEval: nearest[i].id, evalDistance: r4(nearest[i].distance) }))
    .filter((e) => e.evalDistance < SAME_IDENTITY_DISTANCE);
  const index: HumanFacesIndex = {
    version: HUMAN_FACES_VERSION,
    source: HUMAN_FACES_SOURCE,
    size: HUMAN_FACE_SIZE,
    faces,
    excluded,
  };
  say(
    `${faces.length} kept (${faces.filter((f) => f.split === 'train').length} train, ${faces.filter((f) => f.split === 'validation').length} validation, ${new Set(faces.map((f) => f.cluster)).size} identity clusters), ${excluded.length} excluded as look-alikes of evaluation faces`,
  );

  const staging = join(dir, `64.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const f of faces) writeFileSync(join(staging, f.file), encodePng(cells.find((c) => c.id === f.id)!.rgb));
  rmSync(join(dir, '64'), { recursive: true, force: true });
  renameSync(staging, join(dir, '64'));
  mkdirSync(dirname(join(dir, 'index.json')), { recursive: true });
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
  return index;
}

/** The index in `dir`, or undefined when it is missing, stale or incomplete. */
export function readHumanFacesIndex(dir = humanFacesDir()): HumanFacesIndex | undefined {
  return readCompleteIndex<HumanFacesIndex>(dir, HUMAN_FACES_VERSION, (index) => [index.size]);
}

/** The crops of one split as [3, 64, 64] float planes in [0, 1], in index order, with their ids. */
export function loadHumanFaces(
  split: 'train' | 'validation',
  dir = humanFacesDir(),
): { ids: string[]; images: Float32Array[] } {
  const index = readHumanFacesIndex(dir);
  if (!index)
    throw new HumanFacesError(
      `human faces: no complete set in ${dir}; build it with \`npx tsx scripts/make-human-faces.ts\`.`,
    );
  const chosen = index.faces.filter((f) => f.split === split);
  const plane = index.size * index.size;
  const images = chosen.map((f) => {
    const img = decodePng(readFileSync(join(dir, String(index.size), f.file)), f.file);
    const out = new Float32Array(3 * plane);
    for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = img.data[i * 3 + c] / 255;
    return out;
  });
  return { ids: chosen.map((f) => f.id), images };
}
