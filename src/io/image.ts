// Image files <-> NCHW float32 tensors in [0, 1] (RGB): readImage, writeImage, and the host-side
// conversions between 8-bit HWC pixels and float CHW planes that every image path goes through.
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { BackendName } from '../kernels/backend.js';
import { fmtShape } from '../tensor/errors.js';
import { tensor } from '../tensor/ops/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { decodeImage, encodeJpeg, encodePng, ImageError, type ImageFormat, type RgbImage } from './codecs.js';
import { readRegularFile } from './regular-file.js';

/** Float RGB planes on the host: `data` is 3 x height x width, row-major (CHW), values in [0, 1]. */
export interface ImageCHW {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** 8-bit HWC RGB -> float CHW in [0, 1] (value / 255). */
export function rgbToCHW(img: RgbImage): ImageCHW {
  const { width, height, data } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = data[3 * i] / 255;
    out[plane + i] = data[3 * i + 1] / 255;
    out[2 * plane + i] = data[3 * i + 2] / 255;
  }
  return { width, height, data: out };
}

/**
 * Float CHW -> 8-bit HWC RGB, rounding value * 255 to the nearest byte. Values must lie in
 * [0, 1] up to `tolerance` (then clamped); anything else, or NaN, throws naming the first bad value.
 */
export function chwToRgb(op: string, img: ImageCHW, tolerance = 1e-3): RgbImage {
  const { width, height, data } = img;
  const plane = width * height;
  if (data.length !== 3 * plane) {
    throw new ImageError(`${op}: expected 3 x ${height} x ${width} = ${3 * plane} values, got ${data.length}.`);
  }
  const out = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = data[c * plane + i];
      if (!(v >= -tolerance && v <= 1 + tolerance)) {
        const y = Math.floor(i / width);
        throw new ImageError(
          `${op}: image values must be in [0, 1], found ${v} at channel ${c}, row ${y}, column ${i - y * width}. ` +
            `Clamp first (clamp(x, 0, 1)) or rescale images in [0, 255] or [-1, 1] to [0, 1].`,
        );
      }
      out[3 * i + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { width, height, data: out };
}

/** Checks a tensor is one RGB image, [3, H, W] or [1, 3, H, W], and returns H and W. */
export function imageDims(op: string, x: Tensor, what = 'image'): { height: number; width: number } {
  if (!(x instanceof Tensor)) throw new ImageError(`${op}: ${what} must be a Tensor, got ${String(x)}.`);
  const s = x.shape;
  const ok = (s.length === 3 && s[0] === 3) || (s.length === 4 && s[0] === 1 && s[1] === 3);
  if (!ok) {
    throw new ImageError(
      `${op}: ${what} must be one RGB image of shape [3, H, W] or [1, 3, H, W], got ${fmtShape(s)}. ` +
        (s.length === 4 && s[1] === 3
          ? `Write a batch with writeImageGrid, or slice one image out first.`
          : `Images are NCHW with 3 channels.`),
    );
  }
  return { height: s[s.length - 2], width: s[s.length - 1] };
}

/** Reads one RGB image tensor back to host CHW planes (float32). */
export async function tensorToCHW(op: string, x: Tensor, what = 'image'): Promise<ImageCHW> {
  const { height, width } = imageDims(op, x, what);
  const values = await x.data();
  return {
    width,
    height,
    data: values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>),
  };
}

/** Host CHW planes -> a [1, 3, H, W] float32 tensor. */
export const chwToTensor = (img: ImageCHW, backend?: BackendName): Tensor =>
  tensor(img.data, { shape: [1, 3, img.height, img.width], dtype: 'float32', ...(backend ? { backend } : {}) });

/** The format a file name asks for, from its extension. */
export function formatOfPath(op: string, path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new ImageError(
    `${op}: cannot tell the format of ${path} from its extension "${ext}"; use .png, .jpg or .jpeg.`,
  );
}

/** Reads a PNG or JPEG file's bytes and decodes them to 8-bit RGB (gray replicated, alpha dropped). */
export async function readRgb(path: string, op = 'readImage'): Promise<RgbImage> {
  const bytes = await readRegularFile(path, (what) => {
    throw new ImageError(
      `${op}: cannot read ${path}: ${what}. Check the path (relative paths resolve from ${process.cwd()}).`,
    );
  });
  try {
    return decodeImage(bytes, path);
  } catch (e) {
    throw new ImageError(`${op}: ${(e as Error).message}`);
  }
}

/** Reads a PNG or JPEG file as host CHW planes in [0, 1]. */
export async function readImageCHW(path: string): Promise<ImageCHW> {
  return rgbToCHW(await readRgb(path, 'readImageCHW'));
}

export interface ReadImageOptions {
  /** Where the tensor lives; defaults to the current backend. */
  readonly backend?: BackendName;
}

/**
 * Reads a PNG or JPEG file (format from its signature) as a [1, 3, H, W] float32 tensor with
 * values in [0, 1]: grayscale becomes three equal channels, alpha is dropped.
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<Tensor> {
  return chwToTensor(rgbToCHW(await readRgb(path)), options.backend);
}

export interface WriteImageOptions {
  /** JPEG quality in [1, 100] when the path ends in .jpg/.jpeg (default 95). */
  readonly quality?: number;
}

/** Encodes host CHW planes as PNG or JPEG bytes. */
export function encodeImage(op: string, img: ImageCHW, format: ImageFormat, quality = 95): Uint8Array {
  const rgb = chwToRgb(op, img);
  return format === 'png' ? encodePng(rgb) : encodeJpeg(rgb, quality);
}

/**
 * Writes one image tensor, [3, H, W] or [1, 3, H, W] with values in [0, 1], as PNG (lossless
 * at 8 bits) or JPEG, chosen by the extension. Throws on other shapes or out-of-range values.
 */
export async function writeImage(path: string, image: Tensor, options: WriteImageOptions = {}): Promise<void> {
  const format = formatOfPath('writeImage', path);
  const img = await tensorToCHW('writeImage', image);
  await writeBytes('writeImage', path, encodeImage('writeImage', img, format, options.quality));
}

/** Writes bytes, turning file-system failures into an ImageError that names the path. */
export async function writeBytes(op: string, path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (e) {
    throw new ImageError(
      `${op}: cannot write ${path}: ${(e as Error).message}. Check that the folder exists and is writable.`,
    );
  }
}
