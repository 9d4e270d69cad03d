// PNG and JPEG bytes <-> 8-bit RGB pixels on the host, through pure-JS codecs (pngjs, jpeg-js):
// no native build and no network, so images load wherever Node runs.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An 8-bit RGB image on the host: `data` is height x width x 3, row-major (HWC). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Image file formats we read and write. */
export type ImageFormat = 'png' | 'jpeg';

/** Thrown for unreadable, unsupported or malformed images; the message names the op, the file and the fix. */
export class ImageError extends Error {
  override name = 'ImageError';
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/** The format announced by the file's first bytes (not its name), or undefined. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const starts = (magic: readonly number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(PNG_MAGIC)) return 'png';
  if (starts(JPEG_MAGIC)) return 'jpeg';
  return undefined;
}

/** Describes the first bytes of an unrecognised file, so an error can say what was found. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = Buffer.from(bytes.subarray(0, 16)).toString('latin1');
  const printable = /^[\x20-\x7e\r\n\t]+$/.test(text) ? ` ("${text.replace(/\s+/g, ' ').trim()}...", text?)` : '';
  return `${bytes.length} bytes starting ${head}${printable}`;
}

function checkRgb(op: string, img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`${op}: width and height must be positive integers, got ${width} x ${height}.`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new ImageError(
      `${op}: expected ${width * height * 3} RGB bytes (${height} x ${width} x 3, HWC), got ` +
        `${data instanceof Uint8Array ? data.length : String(data)}. Pass 8-bit RGB without alpha.`,
    );
  }
}

/** Drops alpha from RGBA bytes (the codecs' native layout). */
function rgbaToRgb(rgba: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return rgb;
}

function rgbToRgba(rgb: Uint8Array, pixels: number): Uint8Array {
  const rgba = new Uint8Array(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    rgba[4 * i] = rgb[3 * i];
    rgba[4 * i + 1] = rgb[3 * i + 1];
    rgba[4 * i + 2] = rgb[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/**
 * The most pixels a file may declare. Its header is read before anything is decoded: the decoders
 * allocate the declared size up front, so a few hundred bytes claiming 30,000 x 30,000 pixels (a
 * decompression bomb) cost pngjs a minute and 13 GB before it failed. 8192 x 8192 is well past any
 * face photo (FFHQ: 1024) and a group photo's 20-50 megapixels.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** Refuses a declared size past MAX_IMAGE_PIXELS, before the decoder allocates it. */
function checkDeclaredSize(op: string, source: string, size: { width: number; height: number } | undefined): void {
  if (size === undefined || size.width * size.height <= MAX_IMAGE_PIXELS) return;
  const mp = (n: number) => `${(n / 1e6).toFixed(1)} MP`;
  throw new ImageError(
    `${op}: ${source} declares ${size.width} x ${size.height} pixels (${mp(size.width * size.height)}), past the ` +
      `${mp(MAX_IMAGE_PIXELS)} this reader decodes (a corrupt or hostile header, or a huge photo); ` +
      `downscale it first (faces are read at 32-1024 px).`,
  );
}

/** A PNG's size from its IHDR chunk (the first one, at byte 8), or undefined when it is not there. */
function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame headers that carry a JPEG's size. */
const isFrameHeader = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** A JPEG's size from its frame header (markers walked up to the first scan), or undefined. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 2; // past SOI
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data or the end: no frame header
    if (isFrameHeader(marker)) {
      if (at + 9 > bytes.length) return undefined;
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    }
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** Lossless PNG bytes (8-bit RGB) of an image. */
export function encodePng(img: RgbImage): Uint8Array {
  checkRgb('encodePng', img);
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

/**
 * Decodes PNG bytes to RGB: grayscale is replicated to three channels, alpha is dropped
 * (not composited), 16-bit samples are reduced to 8 bits by pngjs.
 */
export function decodePng(bytes: Uint8Array, source = 'PNG bytes'): RgbImage {
  checkDeclaredSize('decodePng', source, pngSize(bytes));
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    throw new ImageError(
      `decodePng: cannot decode ${source} (${describeBytes(bytes)}): ${(e as Error).message}. ` +
        `The file is truncated or not a PNG; re-export it as an 8-bit RGB PNG.`,
    );
  }
  return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width * png.height) };
}

/** Baseline JPEG bytes of an image at `quality` in [1, 100] (libjpeg's scale, 4:2:0 chroma). */
export function encodeJpeg(img: RgbImage, quality: number): Uint8Array {
  checkRgb('encodeJpeg', img);
  if (!Number.isFinite(quality) || quality < 1 || quality > 100) {
    throw new ImageError(`encodeJpeg: quality must be in [1, 100], got ${quality}.`);
  }
  const out = jpeg.encode(
    { width: img.width, height: img.height, data: rgbToRgba(img.data, img.width * img.height) },
    Math.round(quality),
  );
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
}

/** Decodes JPEG bytes (baseline or progressive, gray or colour) to RGB. */
export function decodeJpeg(bytes: Uint8Array, source = 'JPEG bytes'): RgbImage {
  checkDeclaredSize('decodeJpeg', source, jpegSize(bytes));
  try {
    const out = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // Past checkDeclaredSize, in case a frame header hides where jpegSize does not look.
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: 2048,
    });
    return { width: out.width, height: out.height, data: out.data };
  } catch (e) {
    throw new ImageError(
      `decodeJpeg: cannot decode ${source} (${describeBytes(bytes)}): ${(e as Error).message}. ` +
        `The file is truncated or not a JPEG (arithmetic-coded and 12-bit JPEGs are not supported); re-save it as a baseline JPEG or a PNG.`,
    );
  }
}

/** Decodes PNG or JPEG bytes, recognised by their signature. */
export function decodeImage(bytes: Uint8Array, source = 'image bytes'): RgbImage {
  const format = sniffFormat(bytes);
  if (format === 'png') return decodePng(bytes, source);
  if (format === 'jpeg') return decodeJpeg(bytes, source);
  throw new ImageError(
    `decodeImage: ${source} is neither PNG nor JPEG (found ${describeBytes(bytes)}). ` +
      `Convert it to PNG or JPEG (e.g. \`convert in.webp out.png\`).`,
  );
}
