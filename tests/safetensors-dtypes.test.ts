// The ecosystem's dtypes in hand-written files with known values: F16 and BF16 load exactly as
// float32 (denormals, infinities, NaN, -0 included), I64 as int32 or an error naming the value.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-dtypes-'));
beforeAll(() => T.setBackend('cpu'));
afterAll(() => T.shutdown());

/** One tensor `w` of `dtype` and `shape` with the given little-endian bytes. */
function oneTensor(name: string, dtype: string, shape: number[], data: Buffer): string {
  let json = JSON.stringify({ w: { dtype, shape, data_offsets: [0, data.byteLength] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), data]));
  return path;
}

const u16s = (bits: number[]) => {
  const b = Buffer.alloc(bits.length * 2);
  bits.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
};
const i64s = (values: bigint[]) => {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(v, i * 8));
  return b;
};

async function loadW(path: string): Promise<T.Tensor> {
  const { tree } = await T.loadSafetensors(path, { backend: 'cpu' });
  return tree.w as T.Tensor;
}

/**
 * Each 2-byte float format: [bits, exact value] for one, a sign, the smallest (and for F16 the
 * largest) denormal, the smallest normal, the largest finite, 1/3 rounded, the infinities and -0;
 * and NaN encodings (quiet and signalling, either sign).
 */
const HALF_FORMATS = {
  F16: {
    values: [
      [0x3c00, 1],
      [0xc000, -2],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x7bff, 65504],
      [0x3555, 0.333251953125],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x0000, 0],
      [0x8000, -0],
    ],
    nans: [0x7e00, 0xfe00, 0x7c01, 0x7fff],
  },
  BF16: {
    values: [
      [0x3f80, 1],
      [0xc040, -3],
      [0x0001, 2 ** -133],
      [0x0080, 2 ** -126],
      [0x7f7f, 3.3895313892515355e38],
      [0x3eab, 0.333984375],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x8000, -0],
    ],
    nans: [0x7fc0, 0xffc1],
  },
} satisfies Record<string, { values: [number, number][]; nans: number[] }>;

describe.each(Object.keys(HALF_FORMATS) as (keyof typeof HALF_FORMATS)[])('%s', (format) => {
  const { values, nans } = HALF_FORMATS[format];
  it('loads as float32 with the exact value of every word', async () => {
    const w = await loadW(oneTensor(`${format}.safetensors`, format, [values.length], u16s(values.map(([b]) => b))));
    expect(w.dtype).toBe('float32');
    expect(Array.from(await w.data())).toEqual(values.map(([, v]) => v)); // toEqual tells -0 from 0
    w.dispose();
  });
  it('NaNs load as NaN', async () => {
    const w = await loadW(oneTensor(`${format}-nan.safetensors`, format, [2, nans.length / 2], u16s(nans)));
    expect(w.shape).toEqual([2, nans.length / 2]);
    expect(Array.from(await w.data()).every(Number.isNaN)).toBe(true);
    w.dispose();
  });
});

describe('I64', () => {
  it('loads as int32 when every value fits', async () => {
    const values = [-5n, 0n, 2n ** 31n - 1n, -(2n ** 31n)];
    const w = await loadW(oneTensor('i64.safetensors', 'I64', [4], i64s(values)));
    expect(w.dtype).toBe('int32');
    expect(Array.from(await w.data())).toEqual(values.map(Number));
    w.dispose();
  });
  it('a value beyond int32 is an error naming the tensor, the element and the value; nothing leaks', async () => {
    const before = T.memory();
    const big = oneTensor('i64-big.safetensors', 'I64', [3], i64s([1n, 2n, 2n ** 31n]));
    await expect(T.loadSafetensors(big, { backend: 'cpu' })).rejects.toThrow(
      /i64-big\.safetensors.*tensor 'w' \[3\]: element 2 is 2147483648, outside int32 \[-2147483648, 2147483647\].*store it as I32/,
    );
    const small = oneTensor('i64-small.safetensors', 'I64', [1], i64s([-(2n ** 40n)]));
    await expect(T.loadSafetensors(small, { backend: 'cpu' })).rejects.toThrow(
      /element 0 is -1099511627776, outside int32/,
    );
    expect(T.memory()).toEqual(before);
  });
  it('a byte count that does not match 8 bytes per element is refused as before', async () => {
    const path = oneTensor('i64-size.safetensors', 'I64', [2], Buffer.alloc(8));
    await expect(T.loadSafetensors(path, { backend: 'cpu' })).rejects.toThrow(/'w' \(I64 \[2\]\) needs 16 bytes/);
  });
});
