// Loading a user's folder of face images: sizes checked per file, resizing on request.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldIn, key, setBackend, tensor } from '../src/index.js';
import { readFaceFolder } from '../src/data/folder.js';
import { faceDataset } from '../src/data/faces.js';
import { chwToRgb } from '../src/io/image.js';
import { encodeJpeg, encodePng } from '../src/io/codecs.js';
import { folderPairs } from '../src/train/eval-sets.js';
import { degradationFor } from '../src/train/demo-data.js';
import { pairsFromImages } from '../src/train/pairs.js';

let dir: string;
const ds = faceDataset({ split: 'test', size: 32, count: 3 });
const png = (i: number) => encodePng(chwToRgb('test', { width: 32, height: 32, data: ds.get(i).hq }));

beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lrpo-folder-'));
  await writeFile(join(dir, 'a.png'), png(0));
  await writeFile(join(dir, 'b.PNG'), png(1));
  await writeFile(join(dir, 'c.jpg'), encodeJpeg(chwToRgb('test', { width: 32, height: 32, data: ds.get(2).hq }), 95));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readFaceFolder', () => {
  it('reads every PNG/JPEG of the requested size, in name order, and batches them', async () => {
    const folder = await readFaceFolder(dir, { size: 32 });
    expect(folder.files.map((f) => f.slice(dir.length + 1))).toEqual(['a.png', 'b.PNG', 'c.jpg']);
    const x = folder.batch(0, 3);
    expect(x.shape).toEqual([3, 3, 32, 32]);
    const v = await x.data();
    const want = ds.get(0).hq;
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(v[i] - want[i]));
    expect(maxErr).toBeLessThanOrEqual(0.5 / 255 + 1e-6); // PNG: 8-bit rounding only
    x.dispose();
  });

  it('refuses a wrongly sized file, naming it and the fix', async () => {
    const sub = await mkdtemp(join(dir, 'mixed-'));
    await writeFile(join(sub, 'ok.png'), png(0));
    await writeFile(
      join(sub, 'wide.png'),
      encodePng({ width: 40, height: 32, data: new Uint8Array(40 * 32 * 3).fill(128) }),
    );
    await expect(readFaceFolder(sub, { size: 32 })).rejects.toThrow(
      /wide\.png is 40 x 32 but 32 x 32 was asked for\. Pass \{ resize: true \}/,
    );
    const resized = await readFaceFolder(sub, { size: 16, resize: true });
    const x = resized.batch(0, 2);
    expect(x.shape).toEqual([2, 3, 16, 16]);
    for (const val of (await x.data()).subarray(3 * 256)) expect(val).toBeCloseTo(128 / 255, 5);
    x.dispose();
  });

  it('names an unreadable file', async () => {
    const sub = await mkdtemp(join(dir, 'bad-'));
    await writeFile(join(sub, 'broken.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    await expect(readFaceFolder(sub, { size: 32 })).rejects.toThrow(
      /readFaceFolder: decodeJpeg: cannot decode .*broken\.jpg/,
    );
  });

  it('refuses a missing or image-less folder', async () => {
    await expect(readFaceFolder(join(dir, 'missing'), { size: 32 })).rejects.toThrow(/cannot list .*missing/);
    const empty = await mkdtemp(join(dir, 'empty-'));
    await expect(readFaceFolder(empty, { size: 32 })).rejects.toThrow(/holds no \.png, \.jpg or \.jpeg files/);
  });
});

describe('folderPairs', () => {
  it('holds every tenth image out and degrades the rest as a tensor of them would be', async () => {
    const sub = await mkdtemp(join(dir, 'twelve-'));
    const faces = faceDataset({ split: 'train', size: 32, count: 12 });
    for (let i = 0; i < 12; i++)
      await writeFile(
        join(sub, `f${String(i).padStart(2, '0')}.png`),
        encodePng(chwToRgb('test', { width: 32, height: 32, data: faces.get(i).hq })),
      );
    const train = await folderPairs(sub, 'train', { size: 32, count: 20 });
    const test = await folderPairs(sub, 'test', { size: 32, count: 20 });
    expect(train.ids.map((f) => f.slice(sub.length + 1))).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11].map((i) => `f${String(i).padStart(2, '0')}.png`),
    );
    expect(test.ids.map((f) => f.slice(sub.length + 1))).toEqual(['f09.png']);
    // The pairs as the loader made them before it kept the images on the host: one tensor of all.
    const images = tensor(Float32Array.from(train.hq), { shape: [11, 3, 32, 32], dtype: 'float32' });
    const want = await pairsFromImages(foldIn(key(0), 1), images, train.ids, 32, degradationFor(32));
    images.dispose();
    expect(train.lq).toEqual(want.lq);
  });
});
