// Issue 17 item 2: a hostile or broken safetensors file cannot reach Object.prototype, cannot make
// one tensor shadow another, cannot alias or hide bytes, and a path that is not a regular file is
// refused before anything is read (a FIFO without a writer must not block). Every error names the path.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-hostile-'));

/** A safetensors file from a raw header string (so names such as __proto__ stay as written) and data. */
function rawFile(name: string, headerJson: string, data: Uint8Array): string {
  const json = headerJson + ' '.repeat((8 - (Buffer.byteLength(headerJson) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), data]));
  return path;
}
const f32 = (offsets: [number, number], shape = [(offsets[1] - offsets[0]) / 4]) =>
  JSON.stringify({ dtype: 'F32', shape, data_offsets: offsets });

beforeAll(async () => {
  await T.setBackend('cpu');
});
afterAll(async () => {
  await T.shutdown();
});

describe('names that would reach a prototype are refused, and nothing is polluted', () => {
  it.each([
    ['__proto__.polluted', '__proto__'],
    ['constructor.prototype.polluted', 'constructor'],
    ['a.prototype', 'prototype'],
    ['toString.polluted', undefined], // an inherited name is an ordinary own key of a fresh record
  ])('%s', async (name, segment) => {
    const path = rawFile(`proto-${segment ?? 'tostring'}.safetensors`, `{"${name}": ${f32([0, 4])}}`, Buffer.alloc(4));
    const before = memory();
    if (segment === undefined) {
      const { tree } = await T.loadSafetensors(path);
      expect(Object.keys(tree)).toEqual(['toString']);
      expect(Object.hasOwn(tree, 'toString')).toBe(true);
      T.dispose(tree);
    } else {
      const load = T.loadSafetensors(path);
      await expect(load).rejects.toThrow(T.SafetensorsError);
      await expect(T.loadSafetensors(path)).rejects.toThrow(
        new RegExp(`proto-${segment}\\.safetensors.*segment '${segment}'.*do not load it`),
      );
    }
    expect(memory()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype.toString as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a policy checkpoint with a __proto__ tensor is refused by loadCheckpoint too', async () => {
    const path = rawFile(
      'ckpt-proto.safetensors',
      `{"__metadata__": {"format": "webgpu-lrpo/policy"}, "params.__proto__.x": ${f32([0, 4])}}`,
      Buffer.alloc(4),
    );
    await expect(L.loadCheckpoint(path)).rejects.toThrow(/ckpt-proto\.safetensors.*'__proto__'/);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

const memory = () => T.memory().cpu;

describe('the header must describe the data exactly', () => {
  it('colliding names (a tensor and a group of the same name) are refused, naming both', async () => {
    const path = rawFile('collide.safetensors', `{"a": ${f32([0, 4])}, "a.b": ${f32([4, 8])}}`, Buffer.alloc(8));
    await expect(T.loadSafetensors(path)).rejects.toThrow(/collide\.safetensors.*'a' and 'a\.b' collide/);
  });
  it('empty name segments are refused', async () => {
    const path = rawFile('empty-seg.safetensors', `{"a..b": ${f32([0, 4])}}`, Buffer.alloc(4));
    await expect(T.loadSafetensors(path)).rejects.toThrow(/empty-seg\.safetensors.*empty segment/);
  });
  it('overlapping data_offsets are refused', async () => {
    const path = rawFile('overlap.safetensors', `{"a": ${f32([0, 8])}, "b": ${f32([4, 12])}}`, Buffer.alloc(12));
    await expect(T.loadSafetensors(path)).rejects.toThrow(
      /overlap\.safetensors.*'b' with data_offsets \[4, 12\] overlaps/,
    );
  });
  it('holes between tensors and trailing bytes are refused', async () => {
    const hole = rawFile('hole.safetensors', `{"a": ${f32([0, 4])}, "b": ${f32([8, 12])}}`, Buffer.alloc(12));
    await expect(T.loadSafetensors(hole)).rejects.toThrow(/hole\.safetensors.*'b'.*leaves the bytes \[4, 8\) unused/);
    const tail = rawFile('tail.safetensors', `{"a": ${f32([0, 4])}}`, Buffer.alloc(8));
    await expect(T.loadSafetensors(tail)).rejects.toThrow(/tail\.safetensors.*cover 4 of the 8 data bytes/);
  });
  it('begin after end is refused', async () => {
    const path = rawFile(
      'reversed.safetensors',
      `{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}`,
      Buffer.alloc(4),
    );
    await expect(T.loadSafetensors(path)).rejects.toThrow(/reversed\.safetensors.*\[4, 0\]/);
  });
  it('header order does not matter when the offsets tile the data', async () => {
    const data = Buffer.alloc(8);
    data.writeFloatLE(1, 0);
    data.writeFloatLE(2, 4);
    const path = rawFile('ordered.safetensors', `{"b": ${f32([4, 8])}, "a": ${f32([0, 4])}}`, data);
    const { tree } = await T.loadSafetensors(path);
    expect(await (tree.a as T.Tensor).array()).toEqual([1]);
    expect(await (tree.b as T.Tensor).array()).toEqual([2]);
    T.dispose(tree);
  });
});

describe('only regular files are read', () => {
  it('a directory is refused, naming it', async () => {
    const sub = join(dir, 'a-folder.safetensors');
    mkdirSync(sub);
    await expect(T.loadSafetensors(sub)).rejects.toThrow(
      /a-folder\.safetensors\): it is a directory, not a regular file/,
    );
  });
  it('/dev/zero is refused before reading', async () => {
    await expect(T.loadSafetensors('/dev/zero')).rejects.toThrow(
      /\/dev\/zero\): it is a character device, not a regular file/,
    );
  });
  it('a FIFO without a writer is refused without blocking', async () => {
    const fifo = join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expect(T.loadSafetensors(fifo)).rejects.toThrow(
      /pipe\.safetensors\): it is a FIFO \(named pipe\), not a regular file/,
    );
  });
  it('a missing file is named', async () => {
    await expect(T.loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(
      /nope\.safetensors\): the file does not exist/,
    );
  });
  it('loadCheckpoint of a directory names it', async () => {
    await expect(L.loadCheckpoint(dir)).rejects.toThrow(/safetensors-hostile-\w+\): it is a directory/);
  });
});
