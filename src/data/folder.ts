// A user's folder of face images (FFHQ / CelebA style PNG or JPEG files) as host images and
// [N, 3, size, size] batches, refusing unreadable or wrongly sized files by name.
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { tensor } from '../index.js';
import type { BackendName, Tensor } from '../index.js';
import { ImageError } from '../io/codecs.js';
import { readRgb, rgbToCHW } from '../io/image.js';
import { resizeHostCHW } from './resize.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export interface FaceFolderOptions {
  /** Required side in pixels: every image must be size x size. */
  readonly size: number;
  /** Resize images of another (square or not) size to size x size (antialiased bilinear) instead of refusing them. */
  readonly resize?: boolean;
  /** Read at most this many files (in name order). */
  readonly limit?: number;
}

/** A folder's images on the host. */
export interface FaceFolder {
  readonly files: readonly string[];
  readonly size: number;
  /** [3, size, size] float32 in [0, 1] per file. */
  readonly images: readonly Float32Array[];
  /** Images [start, start + count) as one [N, 3, size, size] tensor (the caller's to dispose). */
  batch(start: number, count: number, options?: { readonly backend?: BackendName }): Tensor;
}

/** Image files (.png, .jpg, .jpeg, any case) directly inside `dir`, sorted by name. */
export async function listImageFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new ImageError(
      `readFaceFolder: cannot list ${dir}: ${(e as Error).message}. Pass an existing folder of PNG/JPEG images.`,
    );
  }
  return names
    .filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Reads every PNG/JPEG in `dir` as [3, size, size] planes in [0, 1]. Throws an ImageError naming
 * the file for one that cannot be decoded, or that is not size x size (unless `resize`).
 */
export async function readFaceFolder(dir: string, options: FaceFolderOptions): Promise<FaceFolder> {
  const op = 'readFaceFolder';
  const { size } = options;
  if (!Number.isInteger(size) || size < 1) throw new ImageError(`${op}: size must be a positive integer, got ${size}.`);
  let files = await listImageFiles(dir);
  if (files.length === 0)
    throw new ImageError(`${op}: ${dir} holds no .png, .jpg or .jpeg files. Point it at a folder of face images.`);
  if (options.limit !== undefined) files = files.slice(0, options.limit);
  const images: Float32Array[] = [];
  for (const file of files) {
    const img = rgbToCHW(await readRgb(file, op));
    if (img.width === size && img.height === size) {
      images.push(img.data);
    } else if (options.resize) {
      images.push(resizeHostCHW(img.data, 3, img.height, img.width, size, size, { antialias: true }));
    } else {
      throw new ImageError(
        `${op}: ${file} is ${img.width} x ${img.height} but ${size} x ${size} was asked for. ` +
          `Pass { resize: true } to resize (non-square images are stretched; crop them square first), or remove the file.`,
      );
    }
  }
  const plane = 3 * size * size;
  return {
    files,
    size,
    images,
    batch(start, count, batchOptions = {}) {
      if (
        !Number.isInteger(start) ||
        !Number.isInteger(count) ||
        start < 0 ||
        count < 1 ||
        start + count > images.length
      ) {
        throw new RangeError(`FaceFolder.batch: [${start}, ${start + count}) is outside the ${images.length} images.`);
      }
      const data = new Float32Array(count * plane);
      for (let i = 0; i < count; i++) data.set(images[start + i], i * plane);
      return tensor(data, {
        shape: [count, 3, size, size],
        dtype: 'float32',
        ...(batchOptions.backend ? { backend: batchOptions.backend } : {}),
      });
    },
  };
}
