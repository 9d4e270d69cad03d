// tfjs weight manifests and shards: dequantization, shard concatenation, and the errors for
// missing, truncated or undecodable files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../src/index.js';
import { halfToFloat, readTfjsWeights, readTfjsWeightsHost, WeightsError } from '../src/io/tfjs-weights.js';

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'lrpo-tfjs-weights-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const le16 = (xs: number[]) => new Uint8Array(new Uint16Array(xs).buffer);
const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);
const i32 = (xs: number[]) => new Uint8Array(new Int32Array(xs).buffer);

/** Writes a manifest and two shards that split one weight across the shard boundary. */
async function writeModel(name: string, mutate: (m: any) => void = () => {}): Promise<string> {
  const bytes = new Uint8Array([
    ...[0, 128, 255], // a: uint8 {scale, min}
    ...le16([0, 65535]), // b: uint16 {min, max}
    ...le16([0x3c00, 0xc000, 0x0001, 0x7c00]), // c: float16 1, -2, smallest subnormal, +inf
    ...f32([1.5, -2.25]), // d: float32
    ...i32([7, -3]), // e: int32
  ]);
  const manifest = [
    {
      paths: [`${name}-shard1`, `${name}-shard2`],
      weights: [
        { name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'b', shape: [2, 1], dtype: 'float32', quantization: { dtype: 'uint16', min: -1, max: 1 } },
        { name: 'c', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'd', shape: [2], dtype: 'float32' },
        { name: 'e', shape: [2], dtype: 'int32' },
      ],
    },
  ];
  mutate(manifest);
  await writeFile(join(dir, `${name}-shard1`), bytes.subarray(0, 10));
  await writeFile(join(dir, `${name}-shard2`), bytes.subarray(10));
  const path = join(dir, `${name}-weights_manifest.json`);
  await writeFile(path, JSON.stringify(manifest));
  return path;
}

describe('readTfjsWeights', () => {
  it('dequantizes uint8 as q * scale + min', async () => {
    const w = readTfjsWeights(await writeModel('u8'), { backend: 'cpu' });
    expect(Array.from(await w.a.data())).toEqual([-1, 63, 126.5]);
    expect(w.a.dtype).toBe('float32');
  });

  it('dequantizes uint16 given {min, max} with scale = (max - min) / 65535, reading across shards', async () => {
    const w = readTfjsWeights(await writeModel('u16'), { backend: 'cpu' });
    expect(w.b.shape).toEqual([2, 1]);
    expect(Array.from(await w.b.data())).toEqual([-1, 1]);
  });

  it('decodes float16, float32 and int32 weights', async () => {
    const w = readTfjsWeights(await writeModel('f16'), { backend: 'cpu' });
    expect(Array.from(await w.c.data())).toEqual([1, -2, Math.fround(2 ** -24), Infinity]);
    expect(Array.from(await w.d.data())).toEqual([1.5, -2.25]);
    expect(w.e.dtype).toBe('int32');
    expect(Array.from(await w.e.data())).toEqual([7, -3]);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('decodes the face-recognition model exactly as tfjs-core io.decodeWeights does', async () => {
    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    const modelDir = join(require.resolve('@vladmandic/face-api/package.json'), '..', 'model');
    const manifestPath = join(modelDir, 'face_recognition_model-weights_manifest.json');
    const ours = readTfjsWeightsHost(manifestPath);
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const bin = readFileSync(join(modelDir, manifest[0].paths[0]));
    const theirs = tf.io.decodeWeights(
      bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      manifest[0].weights,
    );
    expect(ours.size).toBe(Object.keys(theirs).length);
    for (const [name, w] of ours) {
      expect(w.shape).toEqual(theirs[name].shape);
      const expected = theirs[name].dataSync();
      let mismatches = 0;
      for (let i = 0; i < expected.length; i++) if (!Object.is(w.values[i], expected[i])) mismatches++;
      expect(mismatches, name).toBe(0);
    }
    Object.values(theirs).forEach((t) => t.dispose());
  });
});

describe('readTfjsWeights errors', () => {
  it('names a missing manifest and the fix', () => {
    expect(() => readTfjsWeights(join(dir, 'nope.json'))).toThrow(/nope\.json does not exist.*npm install/);
  });

  it('names a missing shard', async () => {
    const path = await writeModel('missing', (m) => (m[0].paths[1] = 'missing-shard9'));
    expect(() => readTfjsWeights(path)).toThrow(WeightsError);
    expect(() => readTfjsWeights(path)).toThrow(/missing-shard9.*is missing/);
  });

  it('reports shards whose size does not match the manifest', async () => {
    const path = await writeModel('short', (m) => (m[0].weights[0].shape = [4]));
    expect(() => readTfjsWeights(path)).toThrow(/hold 31 bytes but the manifest's weights need 32/);
  });

  it('rejects unknown weight and quantization dtypes', async () => {
    const p1 = await writeModel('str', (m) => (m[0].weights[3].dtype = 'string'));
    expect(() => readTfjsWeights(p1)).toThrow(/weight "d" has dtype "string"/);
    const p2 = await writeModel('i8', (m) => (m[0].weights[0].quantization.dtype = 'int8'));
    expect(() => readTfjsWeights(p2)).toThrow(/quantization dtype "int8"; supported are uint8, uint16 and float16/);
  });

  it('rejects a file that is not a manifest', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"format": "layers-model"}');
    expect(() => readTfjsWeights(path)).toThrow(/not a tfjs weights manifest/);
    await writeFile(path, '{oops');
    expect(() => readTfjsWeights(path)).toThrow(/not valid JSON/);
  });
});
