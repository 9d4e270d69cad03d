// Safetensors checkpoints: bit-exact round trips, a hand-made file from another writer, and clear errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();
const dir = mkdtempSync(join(tmpdir(), 'safetensors-'));

/** Builds a safetensors file byte by byte: header length, header JSON padded with spaces, data. */
function handMade(name: string, header: unknown, data: Uint8Array, pad = true): string {
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), data]));
  return path;
}

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  it('a nested tree round-trips bit-exactly (float32, int32, bool, and float64 on the CPU)', async () => {
    const f32 = new Float32Array([1.5, -0, NaN, Infinity, 1e-40, 3.4e38]);
    const tree = {
      blocks: [
        { conv: { weight: T.tensor(f32, { shape: [2, 3], backend }) } },
        { ids: T.tensor(new Int32Array([-7, 2 ** 31 - 1]), { backend }) },
      ],
      mask: T.tensor([true, false, true], { backend }),
      scalar: T.tensor(2.5, { backend }),
      ...(backend === 'cpu' ? { f64: T.tensor(new Float64Array([Math.PI, 1e-300]), { backend: 'cpu' }) } : {}),
    };
    const path = join(dir, `tree-${backend}.safetensors`);
    await T.saveSafetensors(path, tree, { metadata: { config: JSON.stringify({ width: 8 }), format: 'pt' } });
    const { tree: back, metadata } = await T.loadSafetensors(path, { backend });
    expect(metadata).toEqual({ config: '{"width":8}', format: 'pt' });
    const a = T.treeLeaves(tree);
    const b = T.treeLeaves(back);
    expect(b.length).toBe(a.length);
    const blocks = back.blocks as { conv?: { weight: T.Tensor }; ids?: T.Tensor }[];
    expect(Array.isArray(blocks)).toBe(true);
    expect(blocks[0].conv!.weight.shape).toEqual([2, 3]);
    for (const [x, y] of [
      [tree.blocks[0].conv!.weight, blocks[0].conv!.weight],
      [tree.blocks[1].ids!, blocks[1].ids!],
      [tree.mask, back.mask as T.Tensor],
      [tree.scalar, back.scalar as T.Tensor],
    ] as const) {
      expect(y.dtype).toBe(x.dtype);
      expect(y.shape).toEqual(x.shape);
      expect(y.backend).toBe(backend);
      const [dx, dy] = [await x.data(), await y.data()];
      expect(
        Buffer.from(dy.buffer, dy.byteOffset, dy.byteLength).equals(
          Buffer.from(dx.buffer, dx.byteOffset, dx.byteLength),
        ),
      ).toBe(true);
    }
    if (backend === 'cpu') expect(Array.from(await (back.f64 as T.Tensor).data())).toEqual([Math.PI, 1e-300]);
    T.disposeTree([tree, back]);
  });

  it('a hand-made file with a known header loads (offsets relative to the data start, any order)', async () => {
    const data = Buffer.alloc(4 * 4 + 4 + 2);
    [1, 2, 3, 4].forEach((v, i) => data.writeFloatLE(v, 6 + 4 * i)); // weight after the bool and int
    data.writeInt32LE(-5, 2);
    data[0] = 1;
    data[1] = 0;
    const path = handMade(
      'vector.safetensors',
      {
        __metadata__: { format: 'pt' },
        'model.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [6, 22] },
        'model.count': { dtype: 'I32', shape: [], data_offsets: [2, 6] },
        flags: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] },
      },
      data,
    );
    const { tree, metadata } = await T.loadSafetensors(path, { backend });
    const model = tree.model as { weight: T.Tensor; count: T.Tensor };
    expect(metadata).toEqual({ format: 'pt' });
    expect(await model.weight.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(model.count.shape).toEqual([]);
    expect(Array.from(await model.count.data())).toEqual([-5]);
    expect(await (tree.flags as T.Tensor).array()).toEqual([true, false]);
    T.disposeTree(tree);
  });
});

describe('errors name the file and the fix', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  it('a truncated file is refused', async () => {
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, Buffer.from([1, 2, 3]));
    await expect(T.loadSafetensors(path, { backend: 'cpu' })).rejects.toThrow(/short\.safetensors.*3 bytes.*truncated/);
    const cut = handMade('cut.safetensors', ok, Buffer.alloc(4));
    await expect(T.loadSafetensors(cut, { backend: 'cpu' })).rejects.toThrow(
      /cut\.safetensors.*\[0, 8\] outside the 4 data bytes.*write it again/,
    );
  });
  it('a header length beyond the file is refused', async () => {
    const path = join(dir, 'badlen.safetensors');
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(1000n);
    writeFileSync(path, buf);
    await expect(T.loadSafetensors(path, { backend: 'cpu' })).rejects.toThrow(
      /badlen\.safetensors.*header length field says 1000 bytes but 8 follow/,
    );
  });
  it('a dtype the engine cannot hold is refused with the supported list', async () => {
    for (const dtype of ['U8', 'I16', 'U64', 'F8_E4M3']) {
      const path = handMade(
        `${dtype}.safetensors`,
        { w: { dtype, shape: [8], data_offsets: [0, 8] } },
        Buffer.alloc(8),
      );
      await expect(T.loadSafetensors(path, { backend: 'cpu' })).rejects.toThrow(
        new RegExp(`${dtype}\\.safetensors.*"${dtype}".*supported are F32, F64, I32, BOOL, F16, BF16, I64`),
      );
    }
  });
  it('offsets out of range or not matching the shape are refused', async () => {
    const far = handMade(
      'far.safetensors',
      { w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
      Buffer.alloc(8),
    );
    await expect(T.loadSafetensors(far, { backend: 'cpu' })).rejects.toThrow(
      /far\.safetensors.*'w'.*\[8, 16\] outside/,
    );
    const size = handMade(
      'size.safetensors',
      { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
      Buffer.alloc(8),
    );
    await expect(T.loadSafetensors(size, { backend: 'cpu' })).rejects.toThrow(/needs 12 bytes/);
  });
  it('save refuses non-tensor leaves and dotted keys', async () => {
    const t = T.zeros([1], { backend: 'cpu' });
    await expect(T.saveSafetensors(join(dir, 'x.safetensors'), { step: 3, t })).rejects.toThrow(
      /'step' is number.*metadata/,
    );
    await expect(T.saveSafetensors(join(dir, 'x.safetensors'), { 'a.b': t })).rejects.toThrow(/'a\.b'.*rename/);
    t.dispose();
  });
});
