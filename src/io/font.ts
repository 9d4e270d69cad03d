// A 3x5 pixel bitmap font (upper-case letters, digits, a little punctuation) so image grids can
// carry labels without a font file or a text renderer.

/** Glyph rows, top to bottom, each three pixels wide ('1' = ink). Lower case maps to upper case. */
const GLYPHS: Record<string, string> = {
  A: '010 101 111 101 101',
  B: '110 101 110 101 110',
  C: '011 100 100 100 011',
  D: '110 101 101 101 110',
  E: '111 100 110 100 111',
  F: '111 100 110 100 100',
  G: '011 100 101 101 011',
  H: '101 101 111 101 101',
  I: '111 010 010 010 111',
  J: '001 001 001 101 010',
  K: '101 101 110 101 101',
  L: '100 100 100 100 111',
  M: '101 111 111 101 101',
  N: '110 101 101 101 101',
  O: '010 101 101 101 010',
  P: '110 101 110 100 100',
  Q: '010 101 101 110 011',
  R: '110 101 110 101 101',
  S: '011 100 010 001 110',
  T: '111 010 010 010 010',
  U: '101 101 101 101 111',
  V: '101 101 101 101 010',
  W: '101 101 111 111 101',
  X: '101 101 010 101 101',
  Y: '101 101 010 010 010',
  Z: '111 001 010 100 111',
  '0': '111 101 101 101 111',
  '1': '010 110 010 010 111',
  '2': '110 001 010 100 111',
  '3': '110 001 010 001 110',
  '4': '101 101 111 001 001',
  '5': '111 100 110 001 110',
  '6': '011 100 111 101 111',
  '7': '111 001 010 010 010',
  '8': '111 101 111 101 111',
  '9': '111 101 111 001 110',
  ' ': '000 000 000 000 000',
  '.': '000 000 000 000 010',
  ',': '000 000 000 010 100',
  '-': '000 000 111 000 000',
  '=': '000 111 000 111 000',
  '/': '001 001 010 100 100',
  ':': '000 010 000 010 000',
  '(': '010 100 100 100 010',
  ')': '010 001 001 001 010',
  '+': '000 010 111 010 000',
  _: '000 000 000 000 111',
  '%': '101 001 010 100 101',
  '?': '110 001 010 000 010',
  '!': '010 010 010 000 010',
  "'": '010 010 000 000 000',
  '#': '101 111 101 111 101',
};

/** Glyph size in font pixels, and the advance from one character to the next. */
export const FONT_WIDTH = 3;
export const FONT_HEIGHT = 5;
export const FONT_ADVANCE = 4;

/** Width in pixels of `text` drawn at `scale` (no trailing gap). */
export const textWidth = (text: string, scale: number): number => Math.max(0, text.length * FONT_ADVANCE - 1) * scale;

/**
 * Draws `text` into float CHW planes (width `width`, height `height`) with its top-left corner at
 * (x, y), each font pixel a `scale` x `scale` square of `color`; clipped at the edges. Characters
 * without a glyph draw as '?'.
 */
export function drawText(
  planes: Float32Array,
  width: number,
  height: number,
  text: string,
  x: number,
  y: number,
  scale: number,
  color: readonly [number, number, number],
): void {
  const plane = width * height;
  [...text.toUpperCase()].forEach((ch, k) => {
    const rows = (GLYPHS[ch] ?? GLYPHS['?']).split(' ');
    for (let gy = 0; gy < FONT_HEIGHT; gy++) {
      for (let gx = 0; gx < FONT_WIDTH; gx++) {
        if (rows[gy][gx] !== '1') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + (k * FONT_ADVANCE + gx) * scale + sx;
            const py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            for (let c = 0; c < 3; c++) planes[c * plane + py * width + px] = color[c];
          }
        }
      }
    }
  });
}
