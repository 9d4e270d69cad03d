// Image files as tensors: PNG/JPEG round trips, grids, and the errors for bad files and bad tensors.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { setBackend, tensor, uniform, key, type Tensor } from '../src/index.js';
import {
  decodeImage,
  decodeJpeg,
  decodePng,
  encodeJpeg,
  encodePng,
  ImageError,
  MAX_IMAGE_PIXELS,
  type RgbImage,
} from '../src/io/codecs.js';
import { readImage, writeImage } from '../src/io/image.js';
import { writeImageGrid } from '../src/io/grid.js';

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lrpo-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A smooth test picture with some edges, 8-bit RGB. */
function testPicture(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      data[i] = Math.round(255 * (x / (w - 1)));
      data[i + 1] = Math.round(255 * (y / (h - 1)));
      data[i + 2] = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (w / 4) ** 2 ? 220 : 40;
    }
  }
  return { width: w, height: h, data };
}

const psnr = (a: ArrayLike<number>, b: ArrayLike<number>, peak: number): number => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((peak * peak) / (se / a.length));
};

/** Image bytes quantised to the 8-bit grid as floats, so a PNG round trip is exact. */
const quantised = (k: number, shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = new Float32Array(n);
  for (let i = 0; i < n; i++) u[i] = ((i * 37 + k * 11) % 256) / 255;
  return tensor(u, { shape });
};

describe('codecs', () => {
  it('PNG encode/decode returns the exact bytes for any small RGB image', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (w, h, seed) => {
          const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => (seed * 31 + i * 97) % 256);
          const back = decodePng(encodePng({ width: w, height: h, data }));
          expect(back.width).toBe(w);
          expect(back.height).toBe(h);
          expect(Array.from(back.data)).toEqual(Array.from(data));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('JPEG at quality 95 reproduces a smooth picture above 30 dB PSNR', () => {
    const img = testPicture(48, 40);
    const back = decodeJpeg(encodeJpeg(img, 95));
    expect([back.width, back.height]).toEqual([48, 40]);
    expect(psnr(img.data, back.data, 255)).toBeGreaterThan(30);
  });

  it('JPEG at quality 10 loses more than JPEG at quality 90', () => {
    const img = testPicture(48, 48);
    const low = psnr(img.data, decodeJpeg(encodeJpeg(img, 10)).data, 255);
    const high = psnr(img.data, decodeJpeg(encodeJpeg(img, 90)).data, 255);
    expect(low).toBeLessThan(high - 3);
  });

  it('decodes grayscale and RGBA PNGs to RGB (gray replicated, alpha dropped)', () => {
    const gray = new PNG({ width: 2, height: 1, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    gray.data = Buffer.from([10, 200]);
    const g = decodePng(
      new Uint8Array(PNG.sync.write(gray, { colorType: 0, inputColorType: 0, inputHasAlpha: false })),
    );
    expect(Array.from(g.data)).toEqual([10, 10, 10, 200, 200, 200]);
    const rgba = new PNG({ width: 1, height: 1 });
    rgba.data = Buffer.from([1, 2, 3, 0]);
    const c = decodePng(new Uint8Array(PNG.sync.write(rgba)));
    expect(Array.from(c.data)).toEqual([1, 2, 3]);
  });

  it('refuses bytes that are neither PNG nor JPEG, saying what they start with', () => {
    expect(() => decodeImage(new TextEncoder().encode('hello, not an image'), 'x.bin')).toThrow(
      /neither PNG nor JPEG.*68 65 6c 6c.*Convert it/,
    );
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow(/empty file/);
  });

  it('refuses a truncated PNG with the fix', () => {
    const bytes = encodePng(testPicture(8, 8));
    expect(() => decodePng(bytes.subarray(0, 30), 'cut.png')).toThrow(
      /decodePng: cannot decode cut.png.*truncated or not a PNG/,
    );
  });

  // A few hundred bytes declaring 30,000 x 30,000 pixels once cost pngjs a minute and 13 GB before
  // it failed: the declared size is checked before any decoder allocates it.
  describe('declared sizes past MAX_IMAGE_PIXELS', () => {
    /** A small file of `format` whose header claims width x height. */
    const claiming = (format: 'png' | 'jpeg', width: number, height: number): Uint8Array => {
      const bytes = format === 'png' ? encodePng(testPicture(8, 8)) : encodeJpeg(testPicture(16, 16), 90);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      if (format === 'png') {
        view.setUint32(16, width); // IHDR, the first chunk
        view.setUint32(20, height);
        return bytes;
      }
      for (let at = 2; at + 4 <= bytes.length; at += 2 + view.getUint16(at + 2)) {
        if (bytes[at + 1] === 0xc0) {
          view.setUint16(at + 5, height); // baseline frame header
          view.setUint16(at + 7, width);
          return bytes;
        }
      }
      throw new Error('test: no baseline frame header in the encoded JPEG');
    };

    it.each(['png', 'jpeg'] as const)(
      '%s: refused from the header, naming the size, the limit and the fix',
      (format) => {
        for (const [w, h] of [
          [30000, 30000],
          [8193, 8192],
          [65535, 1025],
        ]) {
          const bytes = claiming(format, w, h);
          expect(bytes.length).toBeLessThan(2000);
          expect(() => decodeImage(bytes, `bomb.${format}`)).toThrow(
            new RegExp(`bomb\\.${format} declares ${w} x ${h} pixels .* past the 67\\.1 MP .*downscale it first`),
          );
        }
        expect(MAX_IMAGE_PIXELS).toBe(8192 * 8192);
      },
    );

    it('a file at the limit is not refused for its size (it fails as the bytes it is)', () => {
      // 8192 x 8192 declared over 8 x 8 of data (and a stale header checksum): the size passes, and
      // pngjs refuses the bytes.
      expect(() => decodePng(claiming('png', 8192, 8192), 'big.png')).toThrow(/decodePng: cannot decode big\.png/);
    });

    it('readImage names the file', async () => {
      const path = join(dir, 'bomb.png');
      await writeFile(path, claiming('png', 30000, 30000));
      await expect(readImage(path)).rejects.toThrow(/readImage: decodePng: .*bomb\.png declares 30000 x 30000/);
    });
  });
});

describe('readImage / writeImage', () => {
  it('a PNG written from a [1, 3, H, W] tensor on the 8-bit grid reads back exactly', async () => {
    const x = quantised(1, [1, 3, 5, 7]);
    const path = join(dir, 'exact.png');
    await writeImage(path, x);
    const y = await readImage(path, { backend: 'cpu' });
    expect(y.shape).toEqual([1, 3, 5, 7]);
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
    x.dispose();
    y.dispose();
  });

  it('accepts a [3, H, W] image and writes JPEG by extension, read back within a PSNR bound', async () => {
    const img = testPicture(32, 32);
    const planes = new Float32Array(3 * 32 * 32);
    for (let i = 0; i < 32 * 32; i++) for (let c = 0; c < 3; c++) planes[c * 1024 + i] = img.data[3 * i + c] / 255;
    const x = tensor(planes, { shape: [3, 32, 32] });
    const path = join(dir, 'pic.jpg');
    await writeImage(path, x, { quality: 92 });
    expect(Array.from((await readFile(path)).subarray(0, 2))).toEqual([0xff, 0xd8]);
    const y = await readImage(path);
    expect(psnr(planes, await y.data(), 1)).toBeGreaterThan(28);
    x.dispose();
    y.dispose();
  });

  it('names the path and the fix for a missing file', async () => {
    await expect(readImage(join(dir, 'nope.png'))).rejects.toThrow(
      /readImage: cannot read .*nope\.png: the file does not exist\. Check the path/,
    );
  });

  // readFile on these never returns (/dev/zero is endless, a FIFO waits for a writer): a folder of
  // faces with such an entry once hung readFaceFolder and restore.
  it('refuses a directory, /dev/zero and a FIFO without reading them', async () => {
    const zero = join(dir, 'zero.png');
    await symlink('/dev/zero', zero);
    const fifo = join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const folder = join(dir, 'folder.png');
    await mkdir(folder);
    for (const [path, kind] of [
      [zero, 'a character device'],
      [fifo, 'a FIFO \\(named pipe\\)'],
      [folder, 'a directory'],
    ]) {
      await expect(readImage(path)).rejects.toThrow(
        new RegExp(
          `readImage: cannot read .*${path.split('/').pop()!.replace('.', '\\.')}: it is ${kind}, not a regular file`,
        ),
      );
    }
    await Promise.all([zero, fifo].map((p) => rm(p)));
    await rm(folder, { recursive: true });
  });

  it('names the path for garbage bytes', async () => {
    const path = join(dir, 'garbage.png');
    await writeFile(
      path,
      Uint8Array.from({ length: 64 }, (_, i) => (i * 53) % 256),
    );
    await expect(readImage(path)).rejects.toThrow(ImageError);
    await expect(readImage(path)).rejects.toThrow(/garbage\.png is neither PNG nor JPEG/);
  });

  it('refuses values outside [0, 1], naming the first one and the fix', async () => {
    const x = tensor([0.5, 1.7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { shape: [1, 3, 2, 2] });
    await expect(writeImage(join(dir, 'bad.png'), x)).rejects.toThrow(
      /found 1\.7.* at channel 0, row 0, column 1.*Clamp first/,
    );
    const nan = tensor([NaN, 0, 0], { shape: [3, 1, 1] });
    await expect(writeImage(join(dir, 'nan.png'), nan)).rejects.toThrow(/found NaN/);
    x.dispose();
    nan.dispose();
  });

  it('refuses a wrong channel count or a batch, and an unknown extension', async () => {
    const four = uniform(key(0), [1, 4, 2, 2]);
    await expect(writeImage(join(dir, 'a.png'), four)).rejects.toThrow(
      /must be one RGB image of shape \[3, H, W\] or \[1, 3, H, W\], got \[1, 4, 2, 2\]/,
    );
    const batch = uniform(key(0), [2, 3, 2, 2]);
    await expect(writeImage(join(dir, 'b.png'), batch)).rejects.toThrow(/writeImageGrid/);
    await expect(writeImage(join(dir, 'c.bmp'), uniform(key(1), [3, 2, 2]))).rejects.toThrow(
      /extension "\.bmp"; use \.png/,
    );
    four.dispose();
    batch.dispose();
  });
});

describe('writeImageGrid', () => {
  it('tiles rows of different lengths with padding and room for labels', async () => {
    const a = quantised(2, [3, 3, 8, 8]);
    const b = quantised(3, [2, 3, 8, 8]);
    const path = join(dir, 'grid.png');
    const { width, height } = await writeImageGrid(path, [a, b], { padding: 2, labels: ['HQ', 'LQ 1'], background: 1 });
    expect(width).toBe(2 + 3 * 10);
    expect(height).toBe(2 + 2 * (5 + 2 + 8 + 2));
    const grid = await readImage(path);
    expect(grid.shape).toEqual([1, 3, height, width]);
    const g = await grid.data();
    const at = (c: number, y: number, x: number) => g[(c * height + y) * width + x];
    const av = await a.data();
    // First pixel of row 0's first image sits below the label band.
    expect(at(0, 2 + 5 + 2, 2)).toBeCloseTo(av[0], 6);
    // The missing third image of row 1 is background.
    expect(at(1, height - 4, width - 4)).toBe(1);
    // The label is drawn in black ink above row 0.
    expect(
      Array.from({ length: 5 * 11 }, (_, i) => at(0, 2 + Math.floor(i / 11), 2 + (i % 11))).some((v) => v === 0),
    ).toBe(true);
    for (const t of [a, b, grid]) t.dispose();
  });

  it('refuses rows of different image sizes and a label count that does not match', async () => {
    const a = uniform(key(0), [1, 3, 4, 4]);
    const b = uniform(key(1), [1, 3, 5, 5]);
    await expect(writeImageGrid(join(dir, 'g.png'), [a, b])).rejects.toThrow(/rows\[1\] is \[1, 3, 5, 5\]/);
    await expect(writeImageGrid(join(dir, 'g.png'), [a], { labels: ['x', 'y'] })).rejects.toThrow(
      /2 labels for 1 rows/,
    );
    a.dispose();
    b.dispose();
  });
});
