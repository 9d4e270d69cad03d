// writeImageGrid: rows of image batches tiled into one PNG (e.g. HQ / LQ / restored), with an
// optional text label above each row, for looking at data and results.
import { fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { ImageError } from './codecs.js';
import { FONT_HEIGHT, drawText, textWidth } from './font.js';
import { encodeImage, formatOfPath, writeBytes } from './image.js';

export interface ImageGridOptions {
  /** Pixels between and around cells (default 2). */
  readonly padding?: number;
  /** One label per row, drawn above it in a 3x5 bitmap font (A-Z, 0-9, some punctuation). */
  readonly labels?: readonly string[];
  /** Background grey level in [0, 1] (default 1, white). */
  readonly background?: number;
  /** Font pixel size (default: 1 for cells under 96 px, else 2). */
  readonly labelScale?: number;
}

/**
 * Tiles `rows` (each a batch [N, 3, H, W] in [0, 1], all with the same H and W; rows may have
 * different N) into one image, row r holding rows[r]'s images left to right, and writes it as
 * PNG (or JPEG by extension). Returns the grid's size.
 */
export async function writeImageGrid(
  path: string,
  rows: readonly Tensor[],
  options: ImageGridOptions = {},
): Promise<{ width: number; height: number }> {
  const op = 'writeImageGrid';
  const format = formatOfPath(op, path);
  if (!Array.isArray(rows) || rows.length === 0)
    throw new ImageError(`${op}: rows must be a non-empty array of [N, 3, H, W] tensors.`);
  rows.forEach((r, i) => {
    if (!(r instanceof Tensor) || r.rank !== 4 || r.shape[1] !== 3 || r.shape[0] < 1) {
      throw new ImageError(
        `${op}: rows[${i}] must be a [N, 3, H, W] tensor with N >= 1, got ${r instanceof Tensor ? fmtShape(r.shape) : String(r)}.`,
      );
    }
  });
  const [, , h, w] = rows[0].shape;
  rows.forEach((r, i) => {
    if (r.shape[2] !== h || r.shape[3] !== w) {
      throw new ImageError(
        `${op}: every row must hold ${h} x ${w} images like rows[0], but rows[${i}] is ${fmtShape(r.shape)}. Resize them to one size first.`,
      );
    }
  });
  const labels = options.labels;
  if (labels !== undefined && labels.length !== rows.length) {
    throw new ImageError(
      `${op}: got ${labels.length} labels for ${rows.length} rows; pass one label per row (or none).`,
    );
  }
  const pad = options.padding ?? 2;
  if (!Number.isInteger(pad) || pad < 0)
    throw new ImageError(`${op}: padding must be a non-negative integer, got ${pad}.`);
  const bg = options.background ?? 1;
  const scale = options.labelScale ?? (w < 96 ? 1 : 2);
  const band = labels ? FONT_HEIGHT * scale + pad : 0;
  const cols = Math.max(...rows.map((r) => r.shape[0]));
  const width = pad + cols * (w + pad);
  const rowHeight = band + h + pad;
  const height = pad + rows.length * rowHeight;
  const plane = width * height;
  const grid = new Float32Array(3 * plane).fill(bg);
  const values = await Promise.all(rows.map((r) => r.data()));
  rows.forEach((r, ri) => {
    const src = values[ri];
    const top = pad + ri * rowHeight + band;
    for (let n = 0; n < r.shape[0]; n++) {
      const left = pad + n * (w + pad);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < h; y++) {
          const srcRow = ((n * 3 + c) * h + y) * w;
          const dstRow = c * plane + (top + y) * width + left;
          for (let x = 0; x < w; x++) grid[dstRow + x] = src[srcRow + x];
        }
      }
    }
    if (labels) {
      const ink: [number, number, number] = bg > 0.5 ? [0, 0, 0] : [1, 1, 1];
      const text = labels[ri];
      const fits = Math.floor((width - pad) / (4 * scale));
      drawText(
        grid,
        width,
        height,
        textWidth(text, scale) > width - pad ? text.slice(0, fits) : text,
        pad,
        pad + ri * rowHeight,
        scale,
        ink,
      );
    }
  });
  await writeBytes(op, path, encodeImage(op, { width, height, data: grid }, format));
  return { width, height };
}
